package acpi

import "testing"

// qemuMCFG is QEMU q35's MCFG: one window at 0xB0000000, buses 0-255.
func qemuMCFG() []byte {
	b := make([]byte, mcfgEntriesAt+16)
	copy(b, "MCFG")
	le.PutUint32(b[4:], uint32(len(b)))
	le.PutUint64(b[mcfgEntriesAt:], 0xb0000000)
	b[mcfgEntriesAt+10], b[mcfgEntriesAt+11] = 0, 255
	return b
}

func TestParseMCFG(t *testing.T) {
	es, err := ParseMCFG(qemuMCFG())
	if err != nil || len(es) != 1 || es[0] != (MCFGEntry{Base: 0xb0000000, EndBus: 255}) {
		t.Fatalf("ParseMCFG = %+v, %v", es, err)
	}
	// 00:03.0 and 01:00.2.
	if pa, ok := ConfigPage(es, 0, 0x0018); !ok || pa != 0xb0018000 {
		t.Errorf("00:03.0 at %#x %v", pa, ok)
	}
	if pa, ok := ConfigPage(es, 0, 0x0102); !ok || pa != 0xb0102000 {
		t.Errorf("01:00.2 at %#x %v", pa, ok)
	}
	if _, ok := ConfigPage(es, 1, 0x0018); ok {
		t.Error("segment 1 found")
	}
	// A window starting at bus 16: bus 16 is its first MiB.
	if pa, ok := ConfigPage([]MCFGEntry{{Base: 0xe0000000, StartBus: 16, EndBus: 31}}, 0, 0x1008); !ok || pa != 0xe0008000 {
		t.Errorf("10:01.0 at %#x %v", pa, ok)
	}
	if _, ok := ConfigPage([]MCFGEntry{{Base: 0xe0000000, StartBus: 16, EndBus: 31}}, 0, 0x2008); ok {
		t.Error("bus 0x20 outside the window found")
	}
	for _, bad := range [][]byte{qemuMCFG()[:40], append(qemuMCFG(), 1)} {
		le.PutUint32(bad[4:], uint32(len(bad)))
		if _, err := ParseMCFG(bad); err == nil {
			t.Errorf("length %d accepted", len(bad))
		}
	}
}

func TestDom0XSDTDropsIOMMUTables(t *testing.T) {
	for _, sig := range []string{"IVRS", "DMAR", "HPET"} {
		if Dom0Allowed(sig) {
			t.Errorf("%s passed to dom0", sig)
		}
	}
}
