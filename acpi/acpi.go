// Package acpi reads the host's ACPI tables and builds the ones hv gives
// dom0: a new RSDP (revision 2) and XSDT listing a new MADT, which
// describes dom0's vCPUs and the host's IO-APICs and interrupt source
// overrides, and the host tables dom0 may use in place (FADT, SSDTs, MCFG,
// ...), as Xen's PVH dom0 builder does (xen/arch/x86/hvm/dom0_build.c,
// pvh_setup_acpi_madt / pvh_setup_acpi_xsdt / pvh_acpi_table_allowed).
//
// Pure: the host's memory is reached through Reader, so host tests and the
// fuzz target feed it crafted tables. Every length, count and offset from
// the firmware is checked before use; malformed tables give an error, never
// a panic. References: ACPI 6.5 §5.2.5 (RSDP), §5.2.6 (system description
// table header), §5.2.7/§5.2.8 (RSDT/XSDT), §5.2.9 (FADT), §5.2.12 (MADT).
package acpi

import (
	"encoding/binary"
	"errors"
	"fmt"
)

var le = binary.LittleEndian

// Reader reads host physical memory (firmware tables); it reports false if
// any byte of the range cannot be read.
type Reader interface {
	ReadAt(pa uint64, p []byte) bool
}

// Sizes and limits.
const (
	RSDPv1Size = 20
	RSDPv2Size = 36
	HeaderSize = 36
	// MaxTables bounds the entries of an RSDT/XSDT read; MaxTableSize
	// bounds a table hv reads whole (MADT, FADT, the root tables).
	MaxTables    = 256
	MaxTableSize = 64 << 10
)

// Errors.
var (
	ErrNoRSDP     = errors.New("acpi: no RSDP found")
	ErrBadRSDP    = errors.New("acpi: malformed RSDP")
	ErrBadTable   = errors.New("acpi: malformed table")
	ErrUnreadable = errors.New("acpi: table not readable")
)

// Header is a system description table header (ACPI §5.2.6).
type Header struct {
	Signature       [4]byte
	Length          uint32
	Revision        uint8
	Checksum        uint8
	OEMID           [6]byte
	OEMTableID      [8]byte
	OEMRevision     uint32
	CreatorID       uint32
	CreatorRevision uint32
}

func decodeHeader(b []byte) Header {
	var h Header
	copy(h.Signature[:], b[0:4])
	h.Length = le.Uint32(b[4:])
	h.Revision = b[8]
	h.Checksum = b[9]
	copy(h.OEMID[:], b[10:16])
	copy(h.OEMTableID[:], b[16:24])
	h.OEMRevision = le.Uint32(b[24:])
	h.CreatorID = le.Uint32(b[28:])
	h.CreatorRevision = le.Uint32(b[32:])
	return h
}

func (h *Header) encode(b []byte) {
	copy(b[0:4], h.Signature[:])
	le.PutUint32(b[4:], h.Length)
	b[8] = h.Revision
	b[9] = 0
	copy(b[10:16], h.OEMID[:])
	copy(b[16:24], h.OEMTableID[:])
	le.PutUint32(b[24:], h.OEMRevision)
	le.PutUint32(b[28:], h.CreatorID)
	le.PutUint32(b[32:], h.CreatorRevision)
}

// Sig returns the signature as a string.
func (h *Header) Sig() string { return string(h.Signature[:]) }

// Sum is the 8-bit sum of b; a table is valid when its sum is 0.
func Sum(b []byte) uint8 {
	var s uint8
	for _, c := range b {
		s += c
	}
	return s
}

// setChecksum makes the sum of b zero by adjusting b[at].
func setChecksum(b []byte, at int) {
	b[at] = 0
	b[at] = -Sum(b)
}

// RSDP is the root system description pointer (ACPI §5.2.5.3).
type RSDP struct {
	Addr     uint64 // where it was found
	OEMID    [6]byte
	Revision uint8
	RSDT     uint32
	XSDT     uint64 // revision >= 2 only
}

// ParseRSDP decodes an RSDP from b (at least RSDPv1Size bytes; RSDPv2Size
// for revision 2 and later), checking its signature and checksums.
func ParseRSDP(b []byte) (RSDP, error) {
	var r RSDP
	if len(b) < RSDPv1Size || string(b[:8]) != "RSD PTR " || Sum(b[:RSDPv1Size]) != 0 {
		return r, ErrBadRSDP
	}
	copy(r.OEMID[:], b[9:15])
	r.Revision = b[15]
	r.RSDT = le.Uint32(b[16:])
	if r.Revision >= 2 {
		if len(b) < RSDPv2Size {
			return r, ErrBadRSDP
		}
		n := le.Uint32(b[20:])
		if n < RSDPv2Size || n > uint32(len(b)) || Sum(b[:n]) != 0 {
			return r, ErrBadRSDP
		}
		r.XSDT = le.Uint64(b[24:])
	}
	return r, nil
}

// readRSDP reads and parses the RSDP at pa.
func readRSDP(m Reader, pa uint64) (RSDP, error) {
	var b [RSDPv2Size]byte
	if !m.ReadAt(pa, b[:RSDPv1Size]) {
		return RSDP{}, ErrBadRSDP
	}
	if b[15] >= 2 && !m.ReadAt(pa, b[:]) {
		return RSDP{}, ErrBadRSDP
	}
	r, err := ParseRSDP(b[:])
	r.Addr = pa
	return r, err
}

// FindRSDP looks for the RSDP where a BIOS puts it (ACPI §5.2.5.1): the
// first KiB of the EBDA, whose segment is the word at 0x40E, then the BIOS
// area 0xE0000-0xFFFFF, on 16-byte boundaries. A candidate must have a
// valid checksum. On UEFI machines there is no BIOS area: the RSDP comes
// from the boot loader (multiboot2's ACPI tags) instead.
func FindRSDP(m Reader) (uint64, error) {
	var w [2]byte
	if m.ReadAt(0x40E, w[:]) {
		if ebda := uint64(le.Uint16(w[:])) << 4; ebda >= 0x80000 && ebda < 0xA0000 {
			if pa, ok := scanRSDP(m, ebda, ebda+1024); ok {
				return pa, nil
			}
		}
	}
	if pa, ok := scanRSDP(m, 0xE0000, 0x100000); ok {
		return pa, nil
	}
	return 0, ErrNoRSDP
}

func scanRSDP(m Reader, lo, hi uint64) (uint64, bool) {
	var buf [4096]byte
	for base := lo; base < hi; base += uint64(len(buf)) {
		n := min(uint64(len(buf)), hi-base)
		if !m.ReadAt(base, buf[:n]) {
			continue
		}
		for off := uint64(0); off+RSDPv1Size <= n; off += 16 {
			if string(buf[off:off+8]) != "RSD PTR " {
				continue
			}
			if _, err := readRSDP(m, base+off); err == nil {
				return base + off, true
			}
		}
	}
	return 0, false
}

// readTable reads the whole table at pa (at most MaxTableSize bytes).
func readTable(m Reader, pa uint64) ([]byte, Header, error) {
	var hb [HeaderSize]byte
	if pa == 0 || !m.ReadAt(pa, hb[:]) {
		return nil, Header{}, fmt.Errorf("%w at %#x", ErrUnreadable, pa)
	}
	h := decodeHeader(hb[:])
	if h.Length < HeaderSize || h.Length > MaxTableSize {
		return nil, h, fmt.Errorf("%w: %q at %#x has length %d", ErrBadTable, h.Sig(), pa, h.Length)
	}
	b := make([]byte, h.Length)
	if !m.ReadAt(pa, b) {
		return nil, h, fmt.Errorf("%w: %q at %#x (%d bytes)", ErrUnreadable, h.Sig(), pa, h.Length)
	}
	return b, h, nil
}

// TableRef is one table the root table lists.
type TableRef struct {
	Header Header
	Addr   uint64
}

// Host is what hv knows of the host's ACPI tables.
type Host struct {
	RSDP   RSDP
	Root   Header     // the XSDT's (or, for revision 0, the RSDT's) header
	Tables []TableRef // the root table's entries that could be read, in order
	MADT   *MADT      // nil if the host has none
	FADT   *FADT      // nil if the host has none
	// Warnings lists what was odd but not fatal (bad table checksums,
	// unreadable entries), for hv's log.
	Warnings []string
}

// ParseHost reads the RSDP at rsdp, its XSDT (or RSDT before revision 2),
// and the MADT and FADT it lists.
func ParseHost(m Reader, rsdp uint64) (*Host, error) {
	r, err := readRSDP(m, rsdp)
	if err != nil {
		return nil, err
	}
	h := &Host{RSDP: r}
	rootPA, entry := uint64(r.RSDT), 4
	if r.Revision >= 2 && r.XSDT != 0 {
		rootPA, entry = r.XSDT, 8
	}
	b, hdr, err := readTable(m, rootPA)
	if err != nil {
		return nil, fmt.Errorf("root table: %w", err)
	}
	if want := map[int]string{4: "RSDT", 8: "XSDT"}[entry]; hdr.Sig() != want {
		return nil, fmt.Errorf("%w: root table at %#x is %q, not %s", ErrBadTable, rootPA, hdr.Sig(), want)
	}
	if Sum(b) != 0 {
		h.Warnings = append(h.Warnings, hdr.Sig()+": bad checksum")
	}
	h.Root = hdr
	n := (len(b) - HeaderSize) / entry
	if n > MaxTables {
		return nil, fmt.Errorf("%w: %s lists %d tables (at most %d)", ErrBadTable, hdr.Sig(), n, MaxTables)
	}
	for i := 0; i < n; i++ {
		off := HeaderSize + i*entry
		var pa uint64
		if entry == 8 {
			pa = le.Uint64(b[off:])
		} else {
			pa = uint64(le.Uint32(b[off:]))
		}
		var tb [HeaderSize]byte
		if pa == 0 || !m.ReadAt(pa, tb[:]) {
			h.Warnings = append(h.Warnings, fmt.Sprintf("entry %d (%#x) unreadable", i, pa))
			continue
		}
		th := decodeHeader(tb[:])
		if th.Length < HeaderSize {
			h.Warnings = append(h.Warnings, fmt.Sprintf("entry %d (%q at %#x) has length %d", i, th.Sig(), pa, th.Length))
			continue
		}
		h.Tables = append(h.Tables, TableRef{Header: th, Addr: pa})
		switch th.Sig() {
		case "APIC":
			if h.MADT != nil {
				continue
			}
			tb, _, err := readTable(m, pa)
			if err != nil {
				return nil, fmt.Errorf("MADT: %w", err)
			}
			if Sum(tb) != 0 {
				h.Warnings = append(h.Warnings, "MADT: bad checksum")
			}
			mt, err := ParseMADT(tb)
			if err != nil {
				return nil, err
			}
			h.MADT = mt
		case "FACP":
			if h.FADT != nil {
				continue
			}
			tb, _, err := readTable(m, pa)
			if err != nil {
				return nil, fmt.Errorf("FADT: %w", err)
			}
			if Sum(tb) != 0 {
				h.Warnings = append(h.Warnings, "FADT: bad checksum")
			}
			f, err := ParseFADT(tb)
			if err != nil {
				return nil, err
			}
			h.FADT = f
		}
	}
	return h, nil
}

// Find returns the first table with signature sig.
func (h *Host) Find(sig string) (TableRef, bool) {
	for _, t := range h.Tables {
		if t.Header.Sig() == sig {
			return t, true
		}
	}
	return TableRef{}, false
}
