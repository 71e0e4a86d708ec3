package acpi

import "fmt"

// ReadTable returns the bytes of the table t refers to (header included),
// for tables this package does not parse itself (the IOMMU's IVRS).
func ReadTable(m Reader, t TableRef) ([]byte, error) {
	b, _, err := readTable(m, t.Addr)
	return b, err
}

// MCFGEntry is one PCI Express enhanced configuration (ECAM) window of the
// MCFG table (PCI Firmware Specification 3.x, "MCFG Table Description"):
// the functions of buses StartBus..EndBus of Segment have 4 KiB of
// configuration space each, at Base + bus<<20 | dev<<15 | fn<<12.
type MCFGEntry struct {
	Base             uint64
	Segment          uint16
	StartBus, EndBus uint8
}

// mcfgEntriesAt is where the MCFG's entries start: the header and 8
// reserved bytes.
const mcfgEntriesAt = HeaderSize + 8

// ParseMCFG parses an MCFG table's bytes.
func ParseMCFG(b []byte) ([]MCFGEntry, error) {
	if len(b) < mcfgEntriesAt || string(b[:4]) != "MCFG" {
		return nil, fmt.Errorf("%w: not an MCFG table", ErrBadTable)
	}
	n := int(le.Uint32(b[4:8]))
	if n < mcfgEntriesAt || n > len(b) || (n-mcfgEntriesAt)%16 != 0 {
		return nil, fmt.Errorf("%w: MCFG of length %d", ErrBadTable, n)
	}
	var out []MCFGEntry
	for off := mcfgEntriesAt; off < n; off += 16 {
		e := MCFGEntry{Base: le.Uint64(b[off:]), Segment: le.Uint16(b[off+8:]), StartBus: b[off+10], EndBus: b[off+11]}
		if e.EndBus < e.StartBus {
			return nil, fmt.Errorf("%w: MCFG buses %d-%d", ErrBadTable, e.StartBus, e.EndBus)
		}
		out = append(out, e)
	}
	return out, nil
}

// ConfigPage returns the address of the 4 KiB ECAM page of function
// bus:dev.fn (bdf = bus<<8 | dev<<3 | fn) on segment seg, if an entry
// covers it.
func ConfigPage(es []MCFGEntry, seg uint16, bdf uint16) (uint64, bool) {
	bus := uint8(bdf >> 8)
	for _, e := range es {
		if e.Segment == seg && bus >= e.StartBus && bus <= e.EndBus {
			return e.Base + uint64(bus-e.StartBus)<<20 + uint64(bdf&0xff)<<12, true
		}
	}
	return 0, false
}
