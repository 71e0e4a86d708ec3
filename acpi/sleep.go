package acpi

import "bytes"

// SleepType finds the \_Sx_ sleep-state object name (e.g. "_S5_") in AML
// (a DSDT's or SSDT's body) and returns its SLP_TYPa and SLP_TYPb values,
// the first two elements of its package (ACPI 6.5 §7.4.2, "\_Sx (System
// States)"). It understands the form every firmware hv has met uses, a
// Name of a Package of integer constants:
//
//	NameOp(0x08) ['\'] "_S5_" PackageOp(0x12) PkgLength NumElements
//	   {ZeroOp(0x00) | OneOp(0x01) | BytePrefix(0x0A) b | WordPrefix(0x0B) w ...}
//
// and reports false for anything else (a Method computing it, a missing
// object): the caller then knows nothing about that state. It never reads
// outside aml.
func SleepType(aml []byte, name string) (a, b uint8, ok bool) {
	if len(name) != 4 {
		return 0, 0, false
	}
	for from := 0; from < len(aml); {
		i := bytes.Index(aml[from:], []byte(name))
		if i < 0 {
			return 0, 0, false
		}
		i += from
		from = i + 1
		// NameOp right before the name, or before a root prefix.
		switch {
		case i >= 1 && aml[i-1] == 0x08:
		case i >= 2 && aml[i-1] == '\\' && aml[i-2] == 0x08:
		default:
			continue
		}
		p := i + 4
		if p >= len(aml) || aml[p] != 0x12 {
			continue
		}
		p++
		if p >= len(aml) {
			return 0, 0, false
		}
		p += 1 + int(aml[p]>>6) // PkgLength: bits 7-6 count the bytes that follow
		if p >= len(aml) {
			return 0, 0, false
		}
		n := int(aml[p]) // NumElements
		p++
		if n < 2 {
			continue
		}
		var v [2]uint8
		good := true
		for k := 0; k < 2 && good; k++ {
			x, used, ok := amlInteger(aml[p:])
			if !ok || x > 7 {
				good = false
				break
			}
			v[k] = uint8(x)
			p += used
		}
		if good {
			return v[0], v[1], true
		}
	}
	return 0, 0, false
}

// amlInteger decodes one integer constant term: its value and the bytes it
// takes.
func amlInteger(b []byte) (v uint64, n int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	switch b[0] {
	case 0x00: // ZeroOp
		return 0, 1, true
	case 0x01: // OneOp
		return 1, 1, true
	case 0x0A: // BytePrefix
		if len(b) < 2 {
			return 0, 0, false
		}
		return uint64(b[1]), 2, true
	case 0x0B: // WordPrefix
		if len(b) < 3 {
			return 0, 0, false
		}
		return uint64(b[1]) | uint64(b[2])<<8, 3, true
	case 0x0C: // DWordPrefix
		if len(b) < 5 {
			return 0, 0, false
		}
		return uint64(b[1]) | uint64(b[2])<<8 | uint64(b[3])<<16 | uint64(b[4])<<24, 5, true
	}
	return 0, 0, false
}
