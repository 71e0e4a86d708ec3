package amdvi

import "testing"

func TestTranslatedDTEBits(t *testing.T) {
	d, err := TranslatedDTE(0x1234_5678_9000, 4, 0x42, PermRW)
	if err != nil {
		t.Fatal(err)
	}
	// V (0) | TV (1) | Mode 4 (11:9) | root (51:12) | IR (61) | IW (62).
	want := DTE{0x6000_1234_5678_9803, 0x42, 0, 0}
	if d != want {
		t.Errorf("DTE = %#x, want %#x", d, want)
	}
	if !d.Valid() || d.Levels() != 4 || d.Root() != 0x1234_5678_9000 || d.DomainID() != 0x42 || d.Perm() != PermRW {
		t.Errorf("accessors disagree: valid %v levels %d root %#x dom %#x perm %v", d.Valid(), d.Levels(), d.Root(), d.DomainID(), d.Perm())
	}
	ro, _ := TranslatedDTE(0x1000, 3, 1, PermRead)
	if ro[0] != 0x2000_0000_0000_1603 {
		t.Errorf("read-only DTE q0 = %#x", ro[0])
	}
	for _, bad := range []struct {
		root   uint64
		levels int
	}{{0x1800, 4}, {1 << 52, 4}, {0x1000, 0}, {0x1000, 7}} {
		if _, err := TranslatedDTE(bad.root, bad.levels, 1, PermRW); err == nil {
			t.Errorf("TranslatedDTE(%#x, %d) accepted", bad.root, bad.levels)
		}
	}
}

func TestBlockedDTE(t *testing.T) {
	if b := BlockedDTE(); b != (DTE{3, 0, 0, 0}) {
		t.Errorf("BlockedDTE = %#x, want V|TV only", b)
	}
	if BlockedDTE().Perm() != 0 {
		t.Error("blocked entry grants DMA")
	}
}

// QEMU 7.2's amdvi_validate_dte rejects a DTE with any of these bits set
// (AMDVI_DTE_{LOWER,MIDDLE,UPPER}_QUAD_RESERVED, and all of quadword 3).
func TestDTEPassesQEMUReservedCheck(t *testing.T) {
	const q0Res, q1Res, q2Res = 0x80300000000000fc, 0x100, 0x08f0000000000000
	for dom := 0; dom < 256; dom++ {
		for levels := 1; levels <= 6; levels++ {
			d, err := TranslatedDTE(0x000f_ffff_ffff_f000, levels, uint16(dom), PermRW)
			if err != nil {
				t.Fatal(err)
			}
			if d[0]&q0Res != 0 || d[1]&q1Res != 0 || d[2]&q2Res != 0 || d[3] != 0 {
				t.Fatalf("domain %d levels %d: %#x sets a bit QEMU 7.2 rejects", dom, levels, d)
			}
		}
	}
	b := BlockedDTE()
	if b[0]&q0Res != 0 || b[1]&q1Res != 0 || b[2]&q2Res != 0 || b[3] != 0 {
		t.Fatalf("BlockedDTE sets a bit QEMU 7.2 rejects")
	}
}

func TestDeviceTableSizing(t *testing.T) {
	for _, c := range []struct {
		maxID   uint16
		entries int
		field   uint64
	}{
		{0, 128, 0},
		{127, 128, 0},
		{0xff, 256, 1},         // bus 0 only: 8 KiB
		{0x0118, 384, 2},       // bus 1
		{0xffff, 65536, 0x1ff}, // every ID: 2 MiB, Size 511
	} {
		n := DeviceTableEntries(c.maxID)
		if n != c.entries {
			t.Errorf("DeviceTableEntries(%#x) = %d, want %d", c.maxID, n, c.entries)
		}
		f, ok := devTableSizeField(n)
		if !ok || f != c.field {
			t.Errorf("size field for %d entries = %d %v, want %d", n, f, ok, c.field)
		}
	}
	if DTESize != 32 {
		t.Errorf("DTESize = %d", DTESize)
	}
}

func TestDeviceTableSetGet(t *testing.T) {
	mem := newFakeMem()
	const base = 0x200000
	mem.region(base, 3)
	dt := &DeviceTable{Base: base, Entries: 384, Mem: mem}
	d, _ := TranslatedDTE(0x5000, 4, 7, PermRW)
	d[2], d[3] = 0x1111, 0x2222
	if err := dt.Set(0x0118, d); err != nil { // 01:03.0
		t.Fatal(err)
	}
	// 0x118 * 32 = 0x2300: page base+0x2000, quadword 0x300/8 = 96.
	p := mem.frames[base+0x2000]
	if p[96] != d[0] || p[97] != 7 || p[98] != 0x1111 || p[99] != 0x2222 {
		t.Errorf("entry in memory = %#x, want %#x", p[96:100], d)
	}
	got, err := dt.Get(0x0118)
	if err != nil || got != d {
		t.Errorf("Get = %#x, %v", got, err)
	}
	if err := dt.Set(384, d); err == nil {
		t.Error("Set past the table's end accepted")
	}
	if err := dt.Fill(BlockedDTE()); err != nil {
		t.Fatal(err)
	}
	for id := 0; id < 384; id++ {
		if e, _ := dt.Get(uint16(id)); e != BlockedDTE() {
			t.Fatalf("after Fill, entry %d = %#x", id, e)
		}
	}
	var nilTable *DeviceTable
	if _, err := nilTable.Get(0); err == nil {
		t.Error("nil table Get succeeded")
	}
}

func TestBDFString(t *testing.T) {
	for id, want := range map[uint16]string{0x0018: "00:03.0", 0x00a0: "00:14.0", 0xffff: "ff:1f.7", 0x0119: "01:03.1"} {
		if got := BDF(id).String(); got != want {
			t.Errorf("BDF(%#x) = %s, want %s", id, got, want)
		}
	}
}
