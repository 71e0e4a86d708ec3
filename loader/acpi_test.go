package loader

import (
	"encoding/binary"
	"strings"
	"testing"

	"gozen/abi/xen"
)

// acpiGuest reads ACPI tables the way an OS does: from the RSDP, following
// physical addresses, checking each header's signature, length and
// checksum. mem is guest memory from address 0.
type acpiGuest struct {
	t   *testing.T
	mem []byte
}

func sum8(b []byte) (s byte) {
	for _, x := range b {
		s += x
	}
	return
}

// table returns the table at gpa after checking its header.
func (g acpiGuest) table(gpa uint64, sig string) []byte {
	g.t.Helper()
	if gpa == 0 || gpa+36 > uint64(len(g.mem)) {
		g.t.Fatalf("%s at %#x: outside memory", sig, gpa)
	}
	n := uint64(binary.LittleEndian.Uint32(g.mem[gpa+4:]))
	if n < 36 || gpa+n > uint64(len(g.mem)) {
		g.t.Fatalf("%s at %#x: length %d", sig, gpa, n)
	}
	tb := g.mem[gpa : gpa+n]
	if string(tb[:4]) != sig {
		g.t.Fatalf("table at %#x has signature %q, want %q", gpa, tb[:4], sig)
	}
	if sum8(tb) != 0 {
		g.t.Errorf("%s checksum: bytes sum to %#x", sig, sum8(tb))
	}
	if string(tb[10:16]) != "GOZEN " || string(tb[16:24]) != "GOZENPVH" {
		g.t.Errorf("%s OEM fields %q %q", sig, tb[10:16], tb[16:24])
	}
	return tb
}

func TestACPITables(t *testing.T) {
	for _, n := range []int{1, 2, 7, ACPIMaxVCPUs} {
		blob, rsdp, err := ACPITables(ACPIBase, n)
		if err != nil {
			t.Fatalf("%d vCPUs: %v", n, err)
		}
		if rsdp != ACPIBase || len(blob) > ACPILimit {
			t.Fatalf("%d vCPUs: RSDP at %#x, %d bytes", n, rsdp, len(blob))
		}
		mem := make([]byte, 1<<20)
		copy(mem[ACPIBase:], blob)
		g := acpiGuest{t, mem}
		le := binary.LittleEndian

		// RSDP (ACPI 6.0 table 5-27): both checksums, revision 2, length 36.
		r := mem[rsdp : rsdp+36]
		if string(r[:8]) != "RSD PTR " || r[15] != 2 || le.Uint32(r[20:]) != 36 {
			t.Fatalf("RSDP % x", r)
		}
		if sum8(r[:20]) != 0 || sum8(r) != 0 {
			t.Errorf("RSDP checksums: %#x %#x", sum8(r[:20]), sum8(r))
		}

		// XSDT and RSDT list the same two tables.
		xsdt := g.table(le.Uint64(r[24:]), "XSDT")
		rsdt := g.table(uint64(le.Uint32(r[16:])), "RSDT")
		if len(xsdt) != 36+2*8 || len(rsdt) != 36+2*4 {
			t.Fatalf("XSDT %d bytes, RSDT %d bytes", len(xsdt), len(rsdt))
		}
		var fadt, madt []byte
		for i := 0; i < 2; i++ {
			x := le.Uint64(xsdt[36+8*i:])
			if uint64(le.Uint32(rsdt[36+4*i:])) != x {
				t.Errorf("RSDT entry %d differs from the XSDT's %#x", i, x)
			}
			switch sig := string(mem[x : x+4]); sig {
			case "FACP":
				fadt = g.table(x, sig)
			case "APIC":
				madt = g.table(x, sig)
			default:
				t.Errorf("unexpected table %q", sig)
			}
		}
		if fadt == nil || madt == nil {
			t.Fatal("the XSDT lacks the FADT or the MADT")
		}

		// FADT (table 5-33), revision 6, 276 bytes.
		if fadt[8] != 6 || len(fadt) != 276 || fadt[131] != 0 {
			t.Errorf("FADT revision %d.%d, %d bytes", fadt[8], fadt[131], len(fadt))
		}
		flags := le.Uint32(fadt[112:])
		if flags&(1<<20) == 0 {
			t.Errorf("FADT flags %#x: HW_REDUCED_ACPI (bit 20) not set", flags)
		}
		boot := le.Uint16(fadt[109:])
		if boot&1 != 0 || boot&2 != 0 || boot&(1<<2) == 0 || boot&(1<<5) == 0 {
			t.Errorf("IAPC_BOOT_ARCH %#x: want no legacy devices, no 8042, VGA and CMOS RTC not present", boot)
		}
		// No FACS, SCI, SMI command port or fixed-hardware register blocks.
		if le.Uint32(fadt[36:]) != 0 || le.Uint64(fadt[132:]) != 0 || le.Uint16(fadt[46:]) != 0 || le.Uint32(fadt[48:]) != 0 {
			t.Errorf("FADT has a FACS, SCI or SMI command port")
		}
		for off := 56; off < 88; off += 4 {
			if le.Uint32(fadt[off:]) != 0 {
				t.Errorf("FADT register block at offset %d is %#x", off, le.Uint32(fadt[off:]))
			}
		}
		for off := 148; off < 268; off++ {
			if fadt[off] != 0 {
				t.Errorf("FADT extended register block byte %d is %#x", off, fadt[off])
				break
			}
		}
		dsdtAddr := le.Uint64(fadt[140:])
		if uint64(le.Uint32(fadt[40:])) != dsdtAddr {
			t.Errorf("FADT DSDT %#x, X_DSDT %#x", le.Uint32(fadt[40:]), dsdtAddr)
		}
		if dsdt := g.table(dsdtAddr, "DSDT"); len(dsdt) != 36 || dsdt[8] != 2 {
			t.Errorf("DSDT: %d bytes, revision %d", len(dsdt), dsdt[8])
		}

		// MADT (table 5-43): local APIC address, flags without PCAT_COMPAT,
		// then exactly n processor local APICs, enabled, IDs 0..n-1; no I/O
		// APIC or anything else.
		if le.Uint32(madt[36:]) != 0xFEE00000 || le.Uint32(madt[40:]) != 0 {
			t.Errorf("MADT local APIC address %#x, flags %#x", le.Uint32(madt[36:]), le.Uint32(madt[40:]))
		}
		cpus := 0
		for e := madt[44:]; len(e) > 0; {
			if len(e) < 2 || e[1] < 2 || int(e[1]) > len(e) {
				t.Fatalf("MADT entry truncated: % x", e)
			}
			if e[0] != 0 || e[1] != 8 {
				t.Errorf("MADT entry type %d length %d, want only local APICs (type 0, 8 bytes)", e[0], e[1])
			} else if e[2] != byte(cpus) || e[3] != byte(cpus) || le.Uint32(e[4:]) != 1 {
				t.Errorf("MADT local APIC %d: UID %d, APIC ID %d, flags %#x", cpus, e[2], e[3], le.Uint32(e[4:]))
			}
			cpus++
			e = e[e[1]:]
		}
		if cpus != n {
			t.Errorf("MADT has %d local APICs, want %d", cpus, n)
		}

		// Every table lies in the range the memory map marks ACPI.
		var acpi *xen.HVMMemmapEntry
		for _, e := range GuestMemoryMap(256 << 20) {
			if e.Type == xen.MemmapTypeACPI {
				acpi = &e
			}
		}
		if acpi == nil || acpi.Addr > rsdp || acpi.Addr+acpi.Size < rsdp+uint64(len(blob)) {
			t.Errorf("ACPI memory map entry %+v does not cover the tables [%#x+%#x)", acpi, rsdp, len(blob))
		}
	}
}

func TestACPITablesErrors(t *testing.T) {
	for _, tc := range []struct {
		base uint64
		n    int
		want string
	}{
		{ACPIBase, 0, "0 vCPUs"},
		{ACPIBase, ACPIMaxVCPUs + 1, "vCPUs, want 1.."},
		{ACPIBase + 8, 1, "not 16-byte aligned"},
		{1<<32 - 0x100, 1, "below 4 GiB"},
	} {
		if _, _, err := ACPITables(tc.base, tc.n); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ACPITables(%#x, %d): %v, want %q", tc.base, tc.n, err, tc.want)
		}
	}
	// The largest MADT fits in the page, and its APIC IDs in a byte (255
	// is the broadcast ID).
	if acpiMADTOff+madtFixedSize+ACPIMaxVCPUs*madtLAPICSize > ACPILimit || ACPIMaxVCPUs > 255 {
		t.Errorf("ACPIMaxVCPUs = %d does not fit", ACPIMaxVCPUs)
	}
}
