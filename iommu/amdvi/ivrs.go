package amdvi

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The IVRS ACPI table (spec "I/O Virtualization Reporting Structure"): a
// standard 36-byte ACPI header, IVinfo (4 bytes), 8 reserved bytes, then
// IVHD blocks (one per IOMMU and per type the firmware offers: 10h, 11h,
// 40h describe the same IOMMU at growing detail) and IVMD blocks (memory
// ranges with special DMA rules).

// IVHD and IVMD block types.
const (
	IVHDType10 = 0x10 // 24-byte header: IOMMU feature reporting in the last dword
	IVHDType11 = 0x11 // 40-byte header: attributes and an EFR image
	IVHDType40 = 0x40 // as 11h, and may carry ACPI HID device entries
	IVMDAll    = 0x20 // memory definition for all devices
	IVMDOne    = 0x21 // for one device
	IVMDRange  = 0x22 // for a range of devices
)

// IVHD device entry types (spec table "IVHD Device Entry Type Codes").
const (
	DevPad        = 0x00
	DevAll        = 0x01
	DevSelect     = 0x02
	DevRangeStart = 0x03
	DevRangeEnd   = 0x04
	DevAliasSel   = 0x42
	DevAliasStart = 0x43
	DevExtSel     = 0x46
	DevExtStart   = 0x47
	DevSpecial    = 0x48
	DevACPIHID    = 0xF0
)

// Special device varieties (entry 48h).
const (
	SpecialIOAPIC = 1
	SpecialHPET   = 2
)

const (
	acpiHeaderLen = 36
	ivrsHeaderLen = 48
)

// IVRS is a parsed IVRS table.
type IVRS struct {
	Revision uint8
	// IVInfo: bit 0 EFRSup (the IVHD EFR images are valid), bits 14:8
	// PASize, 21:15 VASize, 7:5 GVASize.
	IVInfo uint32
	Blocks []IVHD
	Memory []IVMD
}

// IVHD describes one IOMMU (one block; see IVRS.IOMMUs).
type IVHD struct {
	Type      uint8
	Flags     uint8  // HtTunEn, PassPW, ResPassPW, Isoc, IotlbSup, Coherent, ...
	DeviceID  uint16 // the IOMMU's own PCI function
	CapOffset uint16 // its IOMMU capability block in that function's config space
	Base      uint64 // MMIO register window (MMIOSize bytes)
	Segment   uint16 // PCI segment group
	Info      uint16 // bits 4:0 MSI number, 12:8 UnitID
	// Feature is the last header dword: "IOMMU Feature Reporting" in type
	// 10h, "IOMMU Attributes" in 11h/40h.
	Feature  uint32
	EFR      uint64 // EFR image (types 11h/40h, valid if IVInfo bit 0)
	EFR2     uint64
	Devices  []DeviceRange
	Specials []Special
	HIDs     []ACPIHID
}

// DeviceRange is a run of device IDs the IOMMU translates for, with the
// DTE setting byte firmware wants (INITPass, EIntPass, NMIPass, SysMgt,
// Lint0/1Pass). With Alias set, the devices' DMA arrives with requester ID
// AliasTo (they sit behind a PCIe-to-PCI bridge), so AliasTo's DTE must
// give them the same translation.
type DeviceRange struct {
	First, Last uint16
	Setting     uint8
	ExtSetting  uint32 // extended entries (46h/47h): bit 31 ATS disallowed
	Alias       bool
	AliasTo     uint16
}

// Special is an IO-APIC or HPET whose interrupt messages carry DeviceID
// (entry 48h); Handle is the IO-APIC ID or HPET number.
type Special struct {
	Variety  uint8
	Handle   uint8
	DeviceID uint16
	Setting  uint8
}

// ACPIHID is an ACPI-named device (entry F0h, IVHD type 40h).
type ACPIHID struct {
	DeviceID uint16
	Setting  uint8
	HID, CID [8]byte
	UID      []byte
}

// IVMD is a memory block definition: a range that devices must reach
// untranslated (unity mapped) or that is excluded from translation.
type IVMD struct {
	Type     uint8
	Flags    uint8 // bit 0 Unity, 1 IR, 2 IW, 3 ExclusionRange
	DeviceID uint16
	AuxData  uint16 // the last device ID for type 22h
	Start    uint64
	Length   uint64
}

var errShort = errors.New("amdvi: IVRS table truncated")

// ParseIVRS parses an IVRS table from its raw bytes (header included).
// It checks the signature, length and checksum and every block and entry
// length; any inconsistency is an error, never a panic or an endless loop.
// Unknown block types are skipped by their length, unknown 4- and 8-byte
// entries by their implied size; an unknown variable-length entry stops
// the parse with an error, as its size cannot be known.
func ParseIVRS(b []byte) (*IVRS, error) {
	if len(b) < ivrsHeaderLen {
		return nil, errShort
	}
	if string(b[0:4]) != "IVRS" {
		return nil, fmt.Errorf("amdvi: table signature %q is not IVRS", b[0:4])
	}
	n := binary.LittleEndian.Uint32(b[4:8])
	if n < ivrsHeaderLen || uint64(n) > uint64(len(b)) {
		return nil, fmt.Errorf("amdvi: IVRS length %d (have %d bytes)", n, len(b))
	}
	b = b[:n]
	var sum uint8
	for _, c := range b {
		sum += c
	}
	if sum != 0 {
		return nil, fmt.Errorf("amdvi: IVRS checksum off by %#x", sum)
	}
	t := &IVRS{Revision: b[8], IVInfo: binary.LittleEndian.Uint32(b[36:40])}
	for off := ivrsHeaderLen; off < len(b); {
		if len(b)-off < 4 {
			return nil, fmt.Errorf("amdvi: IVRS has %d stray bytes at %#x", len(b)-off, off)
		}
		typ := b[off]
		l := int(binary.LittleEndian.Uint16(b[off+2 : off+4]))
		if l < 4 || l > len(b)-off {
			return nil, fmt.Errorf("amdvi: IVRS block type %#x at %#x has length %d", typ, off, l)
		}
		blk := b[off : off+l]
		switch typ {
		case IVHDType10, IVHDType11, IVHDType40:
			h, err := parseIVHD(blk)
			if err != nil {
				return nil, fmt.Errorf("%w (IVHD type %#x at %#x)", err, typ, off)
			}
			t.Blocks = append(t.Blocks, h)
		case IVMDAll, IVMDOne, IVMDRange:
			if l < 32 {
				return nil, fmt.Errorf("amdvi: IVMD at %#x has length %d", off, l)
			}
			t.Memory = append(t.Memory, IVMD{
				Type:     typ,
				Flags:    blk[1],
				DeviceID: binary.LittleEndian.Uint16(blk[4:6]),
				AuxData:  binary.LittleEndian.Uint16(blk[6:8]),
				Start:    binary.LittleEndian.Uint64(blk[16:24]),
				Length:   binary.LittleEndian.Uint64(blk[24:32]),
			})
		}
		off += l
	}
	return t, nil
}

func parseIVHD(b []byte) (IVHD, error) {
	hdr := 24
	if b[0] != IVHDType10 {
		hdr = 40
	}
	if len(b) < hdr {
		return IVHD{}, fmt.Errorf("amdvi: IVHD of %d bytes shorter than its %d-byte header", len(b), hdr)
	}
	le := binary.LittleEndian
	h := IVHD{
		Type:      b[0],
		Flags:     b[1],
		DeviceID:  le.Uint16(b[4:6]),
		CapOffset: le.Uint16(b[6:8]),
		Base:      le.Uint64(b[8:16]),
		Segment:   le.Uint16(b[16:18]),
		Info:      le.Uint16(b[18:20]),
		Feature:   le.Uint32(b[20:24]),
	}
	if hdr == 40 {
		h.EFR = le.Uint64(b[24:32])
		h.EFR2 = le.Uint64(b[32:40])
	}
	var open *DeviceRange
	for off := hdr; off < len(b); {
		typ := b[off]
		var size int
		switch {
		case typ < 0x40:
			size = 4
		case typ < 0x80:
			size = 8
		case typ == DevACPIHID:
			if len(b)-off < 22 {
				return IVHD{}, fmt.Errorf("amdvi: ACPI HID entry at %#x truncated", off)
			}
			size = 22 + int(b[off+21])
		default:
			return IVHD{}, fmt.Errorf("amdvi: unknown variable-length device entry %#x at %#x", typ, off)
		}
		if len(b)-off < size {
			return IVHD{}, fmt.Errorf("amdvi: device entry %#x at %#x truncated", typ, off)
		}
		e := b[off : off+size]
		id := le.Uint16(e[1:3])
		switch typ {
		case DevAll:
			h.Devices = append(h.Devices, DeviceRange{First: 0, Last: 0xffff, Setting: e[3]})
		case DevSelect:
			h.Devices = append(h.Devices, DeviceRange{First: id, Last: id, Setting: e[3]})
		case DevAliasSel:
			h.Devices = append(h.Devices, DeviceRange{First: id, Last: id, Setting: e[3], Alias: true, AliasTo: le.Uint16(e[5:7])})
		case DevExtSel:
			h.Devices = append(h.Devices, DeviceRange{First: id, Last: id, Setting: e[3], ExtSetting: le.Uint32(e[4:8])})
		case DevRangeStart, DevAliasStart, DevExtStart:
			// A start while a range is open replaces it, as Linux's
			// init_iommu_from_acpi does.
			r := DeviceRange{First: id, Setting: e[3]}
			if typ == DevAliasStart {
				r.Alias, r.AliasTo = true, le.Uint16(e[5:7])
			}
			if typ == DevExtStart {
				r.ExtSetting = le.Uint32(e[4:8])
			}
			open = &r
		case DevRangeEnd:
			if open == nil {
				return IVHD{}, fmt.Errorf("amdvi: end of range %v at %#x without a start", BDF(id), off)
			}
			if id < open.First {
				return IVHD{}, fmt.Errorf("amdvi: range %v..%v at %#x ends before it starts", BDF(open.First), BDF(id), off)
			}
			open.Last = id
			h.Devices = append(h.Devices, *open)
			open = nil
		case DevSpecial:
			h.Specials = append(h.Specials, Special{Variety: e[7], Handle: e[4], DeviceID: le.Uint16(e[5:7]), Setting: e[3]})
		case DevACPIHID:
			var a ACPIHID
			a.DeviceID, a.Setting = id, e[3]
			copy(a.HID[:], e[4:12])
			copy(a.CID[:], e[12:20])
			a.UID = append([]byte(nil), e[22:]...)
			h.HIDs = append(h.HIDs, a)
		}
		off += size
	}
	if open != nil {
		return IVHD{}, fmt.Errorf("amdvi: range from %v never ends", BDF(open.First))
	}
	return h, nil
}

// IOMMUs returns one block per IOMMU (per segment and IOMMU device ID):
// the one of the highest type, since firmware may describe each IOMMU
// three times (10h, 11h, 40h) and an OS uses the newest type it knows
// (Linux's get_highest_supported_ivhd_type).
func (t *IVRS) IOMMUs() []IVHD {
	var out []IVHD
	for _, h := range t.Blocks {
		dup := false
		for i := range out {
			if out[i].Segment == h.Segment && out[i].DeviceID == h.DeviceID && out[i].Base == h.Base {
				dup = true
				if h.Type > out[i].Type {
					out[i] = h
				}
			}
		}
		if !dup {
			out = append(out, h)
		}
	}
	return out
}

// MaxDeviceID returns the highest device ID the IOMMU must hold a DTE
// for: its device entries, alias targets and special devices (for sizing
// the device table with DeviceTableEntries).
func (h *IVHD) MaxDeviceID() uint16 {
	m := h.DeviceID
	for _, d := range h.Devices {
		m = max(m, d.Last)
		if d.Alias {
			m = max(m, d.AliasTo)
		}
	}
	for _, s := range h.Specials {
		m = max(m, s.DeviceID)
	}
	for _, a := range h.HIDs {
		m = max(m, a.DeviceID)
	}
	return m
}

// Covers reports whether device id is behind this IOMMU.
func (h *IVHD) Covers(id uint16) bool {
	for _, d := range h.Devices {
		if id >= d.First && id <= d.Last {
			return true
		}
	}
	return false
}
