package xen

import (
	"encoding/binary"
	"fmt"
)

// PVH boot ABI: the start-of-day structure a PVH guest receives in %ebx.
//
// Source: xen/include/public/arch-x86/hvm/start_info.h (layouts, magic,
// memory-map types) and xen/include/public/xen.h (SIF_* flags). All fields
// are little-endian; addresses are guest-physical.

// HVMStartInfoMagic is hvm_start_info.magic (XEN_HVM_START_MAGIC_VALUE):
// "xEn3" with the 0x80 bit of the "E" set. Linux BUGs on any other value.
const HVMStartInfoMagic = 0x336ec578

// HVMStartInfoVersion is the newest hvm_start_info version, the one with the
// memmap_paddr and memmap_entries fields. Version 0 ends at rsdp_paddr.
const HVMStartInfoVersion = 1

// Start-info flags (SIF_* in xen.h), stored in HVMStartInfo.Flags.
const (
	SIFPrivileged = 1 << 0 // the domain is privileged (may use privileged hypercalls)
	SIFInitDomain = 1 << 1 // the domain is the initial domain (dom0)
)

// Encoded sizes in bytes of the PVH boot structures.
const (
	HVMStartInfoSize    = 56 // struct hvm_start_info, version 1
	HVMStartInfoV0Size  = 40 // struct hvm_start_info, version 0 (up to rsdp_paddr)
	HVMModlistEntrySize = 32 // struct hvm_modlist_entry
	HVMMemmapEntrySize  = 24 // struct hvm_memmap_table_entry
)

// Memory-map entry types (XEN_HVM_MEMMAP_TYPE_*). They are the ACPI address
// range types, the same numbers as the E820 types.
const (
	MemmapTypeRAM      = 1 // usable RAM
	MemmapTypeReserved = 2 // reserved, not to be used by the OS
	MemmapTypeACPI     = 3 // ACPI tables, reclaimable after they are read
	MemmapTypeNVS      = 4 // ACPI non-volatile storage
	MemmapTypeUnusable = 5 // memory with detected errors
	MemmapTypeDisabled = 6 // memory not enabled for use
	MemmapTypePMEM     = 7 // persistent memory
)

// MemmapTypeName returns a short name for a memory-map type, such as "RAM"
// or "reserved", or "type N" for a number it does not know.
func MemmapTypeName(t uint32) string {
	switch t {
	case MemmapTypeRAM:
		return "RAM"
	case MemmapTypeReserved:
		return "reserved"
	case MemmapTypeACPI:
		return "ACPI"
	case MemmapTypeNVS:
		return "NVS"
	case MemmapTypeUnusable:
		return "unusable"
	case MemmapTypeDisabled:
		return "disabled"
	case MemmapTypePMEM:
		return "PMEM"
	}
	return fmt.Sprintf("type %d", t)
}

// HVMStartInfo is struct hvm_start_info, version 1 (56 bytes). A zero
// address field means "not present": nothing is ever placed at address 0.
type HVMStartInfo struct {
	Magic         uint32 // HVMStartInfoMagic
	Version       uint32 // 0 or 1; version 0 ends after RsdpPaddr
	Flags         uint32 // SIF* flags
	NrModules     uint32 // entries in the module list; Linux takes module 0 as its initrd
	ModlistPaddr  uint64 // address of NrModules HVMModlistEntry values
	CmdlinePaddr  uint64 // address of the NUL-terminated command line
	RsdpPaddr     uint64 // address of the ACPI RSDP
	MemmapPaddr   uint64 // address of MemmapEntries HVMMemmapEntry values (version >= 1)
	MemmapEntries uint32 // entries in the memory map; 0 if none is given (version >= 1)
	Reserved      uint32 // must be zero
}

// HVMModlistEntry is struct hvm_modlist_entry (32 bytes), one boot module.
type HVMModlistEntry struct {
	Paddr        uint64 // address of the module's contents
	Size         uint64 // size of the module in bytes
	CmdlinePaddr uint64 // address of the module's NUL-terminated command line, or 0
	Reserved     uint64 // must be zero
}

// HVMMemmapEntry is struct hvm_memmap_table_entry (24 bytes), one range of
// the guest-physical memory map.
type HVMMemmapEntry struct {
	Addr     uint64 // base address
	Size     uint64 // length in bytes
	Type     uint32 // MemmapType* value
	Reserved uint32 // must be zero
}

var le = binary.LittleEndian

// shortError reports a buffer too small to decode a structure from.
func shortError(what string, need, have int) error {
	return fmt.Errorf("xen: %s needs %d bytes, buffer has %d", what, need, have)
}

// Encode writes s into b[:HVMStartInfoSize] in the guest's layout. b must be
// at least HVMStartInfoSize bytes long; like encoding/binary's Put methods,
// Encode panics if it is shorter.
func (s *HVMStartInfo) Encode(b []byte) {
	_ = b[HVMStartInfoSize-1] // one bounds check, and a clear panic
	le.PutUint32(b[0:], s.Magic)
	le.PutUint32(b[4:], s.Version)
	le.PutUint32(b[8:], s.Flags)
	le.PutUint32(b[12:], s.NrModules)
	le.PutUint64(b[16:], s.ModlistPaddr)
	le.PutUint64(b[24:], s.CmdlinePaddr)
	le.PutUint64(b[32:], s.RsdpPaddr)
	le.PutUint64(b[40:], s.MemmapPaddr)
	le.PutUint32(b[48:], s.MemmapEntries)
	le.PutUint32(b[52:], s.Reserved)
}

// Decode reads s from the first HVMStartInfoSize bytes of b. It returns an
// error if b is shorter; it does not check the magic or the version (a
// version-0 producer leaves the last 16 bytes undefined).
func (s *HVMStartInfo) Decode(b []byte) error {
	if len(b) < HVMStartInfoSize {
		return shortError("hvm_start_info", HVMStartInfoSize, len(b))
	}
	*s = HVMStartInfo{
		Magic:         le.Uint32(b[0:]),
		Version:       le.Uint32(b[4:]),
		Flags:         le.Uint32(b[8:]),
		NrModules:     le.Uint32(b[12:]),
		ModlistPaddr:  le.Uint64(b[16:]),
		CmdlinePaddr:  le.Uint64(b[24:]),
		RsdpPaddr:     le.Uint64(b[32:]),
		MemmapPaddr:   le.Uint64(b[40:]),
		MemmapEntries: le.Uint32(b[48:]),
		Reserved:      le.Uint32(b[52:]),
	}
	return nil
}

// AppendBinary appends the encoding of s to b (encoding.BinaryAppender).
func (s *HVMStartInfo) AppendBinary(b []byte) ([]byte, error) {
	n := len(b)
	b = append(b, make([]byte, HVMStartInfoSize)...)
	s.Encode(b[n:])
	return b, nil
}

// MarshalBinary returns the HVMStartInfoSize-byte encoding of s
// (encoding.BinaryMarshaler).
func (s *HVMStartInfo) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// UnmarshalBinary decodes s from b, which must be exactly HVMStartInfoSize
// bytes long (encoding.BinaryUnmarshaler).
func (s *HVMStartInfo) UnmarshalBinary(b []byte) error {
	if len(b) != HVMStartInfoSize {
		return fmt.Errorf("xen: hvm_start_info is %d bytes, got %d", HVMStartInfoSize, len(b))
	}
	return s.Decode(b)
}

// Encode writes e into b[:HVMModlistEntrySize]. It panics if b is shorter.
func (e *HVMModlistEntry) Encode(b []byte) {
	_ = b[HVMModlistEntrySize-1]
	le.PutUint64(b[0:], e.Paddr)
	le.PutUint64(b[8:], e.Size)
	le.PutUint64(b[16:], e.CmdlinePaddr)
	le.PutUint64(b[24:], e.Reserved)
}

// Decode reads e from the first HVMModlistEntrySize bytes of b, or returns an
// error if b is shorter.
func (e *HVMModlistEntry) Decode(b []byte) error {
	if len(b) < HVMModlistEntrySize {
		return shortError("hvm_modlist_entry", HVMModlistEntrySize, len(b))
	}
	*e = HVMModlistEntry{
		Paddr:        le.Uint64(b[0:]),
		Size:         le.Uint64(b[8:]),
		CmdlinePaddr: le.Uint64(b[16:]),
		Reserved:     le.Uint64(b[24:]),
	}
	return nil
}

// AppendBinary appends the encoding of e to b (encoding.BinaryAppender).
func (e *HVMModlistEntry) AppendBinary(b []byte) ([]byte, error) {
	n := len(b)
	b = append(b, make([]byte, HVMModlistEntrySize)...)
	e.Encode(b[n:])
	return b, nil
}

// MarshalBinary returns the HVMModlistEntrySize-byte encoding of e.
func (e *HVMModlistEntry) MarshalBinary() ([]byte, error) { return e.AppendBinary(nil) }

// UnmarshalBinary decodes e from b, which must be exactly
// HVMModlistEntrySize bytes long.
func (e *HVMModlistEntry) UnmarshalBinary(b []byte) error {
	if len(b) != HVMModlistEntrySize {
		return fmt.Errorf("xen: hvm_modlist_entry is %d bytes, got %d", HVMModlistEntrySize, len(b))
	}
	return e.Decode(b)
}

// Encode writes e into b[:HVMMemmapEntrySize]. It panics if b is shorter.
func (e *HVMMemmapEntry) Encode(b []byte) {
	_ = b[HVMMemmapEntrySize-1]
	le.PutUint64(b[0:], e.Addr)
	le.PutUint64(b[8:], e.Size)
	le.PutUint32(b[16:], e.Type)
	le.PutUint32(b[20:], e.Reserved)
}

// Decode reads e from the first HVMMemmapEntrySize bytes of b, or returns an
// error if b is shorter.
func (e *HVMMemmapEntry) Decode(b []byte) error {
	if len(b) < HVMMemmapEntrySize {
		return shortError("hvm_memmap_table_entry", HVMMemmapEntrySize, len(b))
	}
	*e = HVMMemmapEntry{
		Addr:     le.Uint64(b[0:]),
		Size:     le.Uint64(b[8:]),
		Type:     le.Uint32(b[16:]),
		Reserved: le.Uint32(b[20:]),
	}
	return nil
}

// AppendBinary appends the encoding of e to b (encoding.BinaryAppender).
func (e *HVMMemmapEntry) AppendBinary(b []byte) ([]byte, error) {
	n := len(b)
	b = append(b, make([]byte, HVMMemmapEntrySize)...)
	e.Encode(b[n:])
	return b, nil
}

// MarshalBinary returns the HVMMemmapEntrySize-byte encoding of e.
func (e *HVMMemmapEntry) MarshalBinary() ([]byte, error) { return e.AppendBinary(nil) }

// UnmarshalBinary decodes e from b, which must be exactly
// HVMMemmapEntrySize bytes long.
func (e *HVMMemmapEntry) UnmarshalBinary(b []byte) error {
	if len(b) != HVMMemmapEntrySize {
		return fmt.Errorf("xen: hvm_memmap_table_entry is %d bytes, got %d", HVMMemmapEntrySize, len(b))
	}
	return e.Decode(b)
}
