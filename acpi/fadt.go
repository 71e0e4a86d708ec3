package acpi

import "fmt"

// Generic address space IDs (ACPI §5.2.3.2).
const (
	SpaceMemory = 0
	SpaceIO     = 1
)

// FADT offsets (ACPI §5.2.9, table 5.9).
const (
	fadtFirmwareCtrl = 36
	fadtDSDT         = 40
	fadtPM1aCnt      = 64
	fadtPM1bCnt      = 68
	fadtPM1CntLen    = 89
	fadtFlags        = 112
	fadtResetReg     = 116
	fadtResetValue   = 128
	fadtXFirmware    = 132
	fadtXDSDT        = 140
	fadtXPM1aCnt     = 172
	fadtXPM1bCnt     = 184
	// FADTHWReduced is the flags bit of a hardware-reduced ACPI platform,
	// which has no PM1 registers.
	FADTHWReduced = 1 << 20
)

// FADT is what hv needs of the host's FADT: where DSDT and FACS are (dom0
// reaches them through the FADT itself) and the power-management control
// ports hv traps for power-off (issue 9 item 8).
type FADT struct {
	Header     Header
	FACS, DSDT uint64 // the X_ fields when present and non-zero
	Flags      uint32
	// PM1aCnt and PM1bCnt are the PM1 control blocks' I/O ports (0: none
	// or not in I/O space); PM1CntLen their width in bytes.
	PM1aCnt, PM1bCnt uint16
	PM1CntLen        uint8
	// ResetPort/ResetValue: the reset register when it is an I/O port.
	ResetPort  uint16
	ResetValue uint8
}

// ParseFADT decodes a FADT; fields past the table's length are absent
// (revision 1 tables are 116 bytes).
func ParseFADT(b []byte) (*FADT, error) {
	if len(b) < fadtPM1CntLen+1 {
		return nil, fmt.Errorf("%w: FADT of %d bytes", ErrBadTable, len(b))
	}
	h := decodeHeader(b)
	if h.Sig() != "FACP" || int(h.Length) != len(b) {
		return nil, fmt.Errorf("%w: not a FADT (%q, length %d of %d)", ErrBadTable, h.Sig(), h.Length, len(b))
	}
	f := &FADT{Header: h}
	f.FACS = uint64(le.Uint32(b[fadtFirmwareCtrl:]))
	f.DSDT = uint64(le.Uint32(b[fadtDSDT:]))
	f.PM1aCnt = port32(le.Uint32(b[fadtPM1aCnt:]))
	f.PM1bCnt = port32(le.Uint32(b[fadtPM1bCnt:]))
	f.PM1CntLen = b[fadtPM1CntLen]
	if len(b) >= fadtFlags+4 {
		f.Flags = le.Uint32(b[fadtFlags:])
	}
	if len(b) >= fadtResetValue+1 {
		if p, ok := gasPort(b[fadtResetReg:]); ok {
			f.ResetPort, f.ResetValue = p, b[fadtResetValue]
		}
	}
	if len(b) >= fadtXFirmware+8 {
		if x := le.Uint64(b[fadtXFirmware:]); x != 0 {
			f.FACS = x
		}
	}
	if len(b) >= fadtXDSDT+8 {
		if x := le.Uint64(b[fadtXDSDT:]); x != 0 {
			f.DSDT = x
		}
	}
	if len(b) >= fadtXPM1aCnt+12 {
		if p, ok := gasPort(b[fadtXPM1aCnt:]); ok {
			f.PM1aCnt = p
		}
	}
	if len(b) >= fadtXPM1bCnt+12 {
		if p, ok := gasPort(b[fadtXPM1bCnt:]); ok {
			f.PM1bCnt = p
		}
	}
	return f, nil
}

// port32 is a legacy FADT port field: an I/O port below 0x10000, or 0.
func port32(v uint32) uint16 {
	if v > 0xffff {
		return 0
	}
	return uint16(v)
}

// gasPort decodes a generic address structure (12 bytes) in I/O space.
func gasPort(g []byte) (uint16, bool) {
	if g[0] != SpaceIO {
		return 0, false
	}
	a := le.Uint64(g[4:])
	if a == 0 || a > 0xffff {
		return 0, false
	}
	return uint16(a), true
}
