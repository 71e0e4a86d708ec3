package acpi

import "fmt"

// MADT entry types (ACPI §5.2.12, table 5.21).
const (
	MADTLocalAPIC      = 0
	MADTIOAPIC         = 1
	MADTIntOverride    = 2
	MADTNMISource      = 3
	MADTLocalAPICNMI   = 4
	MADTLocalX2APIC    = 9
	madtFixed          = HeaderSize + 8 // header, local APIC address, flags
	madtLAPICEntrySize = 8
	madtIOAPICSize     = 12
	madtISOSize        = 10
	// MADTPCATCompat is the flags bit saying the machine also has 8259
	// PICs.
	MADTPCATCompat = 1
)

// IOAPIC is an IO-APIC entry of the MADT.
type IOAPIC struct {
	ID      uint8
	Addr    uint32
	GSIBase uint32
}

// IntOverride is an interrupt source override entry: ISA IRQ Source on bus
// Bus is GSI GSI with MPS INTI Flags (polarity, trigger mode).
type IntOverride struct {
	Bus, Source uint8
	GSI         uint32
	Flags       uint16
}

// MADT is what hv keeps of the host's MADT.
type MADT struct {
	Header    Header
	LAPICAddr uint32
	Flags     uint32
	LAPICs    int // enabled local APIC / x2APIC entries (host CPUs)
	IOAPICs   []IOAPIC
	Overrides []IntOverride
}

// ParseMADT decodes a MADT (the whole table, as long as its header says).
// Unknown entry types are skipped; an entry whose length is short for its
// type or runs past the table is an error.
func ParseMADT(b []byte) (*MADT, error) {
	if len(b) < madtFixed {
		return nil, fmt.Errorf("%w: MADT of %d bytes", ErrBadTable, len(b))
	}
	h := decodeHeader(b)
	if h.Sig() != "APIC" || int(h.Length) != len(b) {
		return nil, fmt.Errorf("%w: not a MADT (%q, length %d of %d)", ErrBadTable, h.Sig(), h.Length, len(b))
	}
	m := &MADT{Header: h, LAPICAddr: le.Uint32(b[36:]), Flags: le.Uint32(b[40:])}
	for off := madtFixed; off < len(b); {
		if len(b)-off < 2 {
			return nil, fmt.Errorf("%w: MADT entry header at offset %d cut off", ErrBadTable, off)
		}
		typ, n := b[off], int(b[off+1])
		if n < 2 || n > len(b)-off {
			return nil, fmt.Errorf("%w: MADT entry at offset %d has length %d", ErrBadTable, off, n)
		}
		e := b[off : off+n]
		short := func(want int) error {
			return fmt.Errorf("%w: MADT entry type %d at offset %d has length %d, want %d", ErrBadTable, typ, off, n, want)
		}
		switch typ {
		case MADTLocalAPIC:
			if n < madtLAPICEntrySize {
				return nil, short(madtLAPICEntrySize)
			}
			if le.Uint32(e[4:])&1 != 0 {
				m.LAPICs++
			}
		case MADTLocalX2APIC:
			if n < 16 {
				return nil, short(16)
			}
			if le.Uint32(e[8:])&1 != 0 {
				m.LAPICs++
			}
		case MADTIOAPIC:
			if n < madtIOAPICSize {
				return nil, short(madtIOAPICSize)
			}
			m.IOAPICs = append(m.IOAPICs, IOAPIC{ID: e[2], Addr: le.Uint32(e[4:]), GSIBase: le.Uint32(e[8:])})
		case MADTIntOverride:
			if n < madtISOSize {
				return nil, short(madtISOSize)
			}
			m.Overrides = append(m.Overrides, IntOverride{Bus: e[2], Source: e[3], GSI: le.Uint32(e[4:]), Flags: le.Uint16(e[8:])})
		}
		off += n
	}
	return m, nil
}
