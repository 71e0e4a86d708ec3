package npt

import (
	"testing"

	"gozen/mm/pgtable"
)

// identMachine is a fake machine whose frames below 16 MiB (where the
// allocator never goes) exist for identity RAM.
func identMachine(t *testing.T) (*fakeMachine, *Memory) {
	f := newMachine(1 << 32)
	for pa := uint64(0); pa < 0x1000000; pa += page {
		f.mem[pa] = new([page]byte)
	}
	m, err := New(f, f, f)
	if err != nil {
		t.Fatal(err)
	}
	return f, m
}

func TestIdentityRAM(t *testing.T) {
	f, m := identMachine(t)
	if err := m.AddIdentityRAM(0x1000, 0x9e000); err != nil {
		t.Fatal(err)
	}
	if err := m.AddIdentityRAM(0x400000, 0x600000); err != nil { // aligned: three 2 MiB pages
		t.Fatal(err)
	}
	if m.BigPages() != 3 {
		t.Errorf("BigPages = %d, want 3", m.BigPages())
	}
	for _, gpa := range []uint64{0x1000, 0x9e000, 0x400000, 0x5ff000, 0x9ff000} {
		hpa, ok := m.Translate(gpa + 0x10)
		if !ok || hpa != gpa+0x10 {
			t.Errorf("Translate(%#x) = %#x, %v; want identity", gpa+0x10, hpa, ok)
		}
		if k, w := m.Lookup(gpa / page); k != RAM || !w {
			t.Errorf("Lookup(%#x) = %v, %v", gpa, k, w)
		}
		_, _, size, ok := m.pt.Lookup(gpa)
		if want := uint64(pgtable.Size2M); gpa >= 0x400000 && (!ok || size != want) {
			t.Errorf("%#x: mapped %v size %d, want a 2 MiB page", gpa, ok, size)
		}
	}
	for _, gpa := range []uint64{0, 0x9f000, 0x3ff000, 0xa00000, 0x1000000} {
		if _, ok := m.Translate(gpa); ok {
			t.Errorf("Translate(%#x) succeeded outside identity RAM", gpa)
		}
		if m.IsRAM(gpa / page) {
			t.Errorf("IsRAM(%#x)", gpa)
		}
	}
	if got, want := m.Pages(), uint64(0x9e+0x600); got != want {
		t.Errorf("Pages = %#x, want %#x", got, want)
	}
	// Overlaps are refused.
	for _, r := range [][2]uint64{{0x9e000, 0x2000}, {0x3ff000, 0x2000}, {0x123, 0x1000}, {0x1000, 0}} {
		if err := m.AddIdentityRAM(r[0], r[1]); err == nil {
			t.Errorf("AddIdentityRAM(%#x, %#x) accepted", r[0], r[1])
		}
	}
	// Writes land at the machine address.
	if err := m.WritePhys(0x500010, []byte("dma")); err != nil {
		t.Fatal(err)
	}
	if string(f.Bytes(0x500010, 3)) != "dma" {
		t.Error("WritePhys did not write the machine frame at the same address")
	}
	// Ballooning keeps the identity: the hole is not freed to the pool,
	// and populating it maps the same frame again, zeroed.
	if err := m.RemoveRAM(0x500, 1); err != nil {
		t.Fatal(err)
	}
	if f.freed[0x500000] {
		t.Error("RemoveRAM gave an identity frame to the pool")
	}
	if m.IsRAM(0x500) || m.Pages() != 0x9e+0x600-1 {
		t.Error("hole not accounted")
	}
	if err := m.AddRAM(0x500, 1); err != nil {
		t.Fatal(err)
	}
	if hpa, ok := m.Translate(0x500010); !ok || hpa != 0x500010 {
		t.Errorf("after AddRAM: Translate = %#x, %v", hpa, ok)
	}
	if f.Bytes(0x500010, 1)[0] != 0 {
		t.Error("repopulated identity frame not zeroed")
	}
	tables := f.tables
	m.Release()
	if f.tables != 0 || tables == 0 {
		t.Errorf("tables left after Release: %d", f.tables)
	}
	for pa := uint64(0x1000); pa < 0x1000000; pa += page {
		if f.freed[pa] {
			t.Fatalf("Release freed identity frame %#x", pa)
		}
	}
}

func TestMapIdentity(t *testing.T) {
	_, m := identMachine(t)
	if err := m.AddIdentityRAM(0x100000, 0x100000); err != nil {
		t.Fatal(err)
	}
	if err := m.MapIdentity(0xfe000000, 0x400000); err != nil {
		t.Fatal(err)
	}
	if err := m.MapIdentity(0xa0000, 0x20000); err != nil {
		t.Fatal(err)
	}
	for _, gpa := range []uint64{0xfe000000, 0xfe3ff000, 0xa0000, 0xbf000} {
		if k, w := m.Lookup(gpa / page); k != Direct || w {
			t.Errorf("Lookup(%#x) = %v, %v; want direct, not writable by hv", gpa, k, w)
		}
		if _, ok := m.Translate(gpa); ok {
			t.Errorf("Translate(%#x) reaches device memory", gpa)
		}
		if err := m.WritePhys(gpa, []byte{1}); err == nil {
			t.Errorf("WritePhys(%#x) wrote device memory", gpa)
		}
		pa, _, _, ok := m.pt.Lookup(gpa)
		if !ok || pa != gpa {
			t.Errorf("tables map %#x to %#x, %v", gpa, pa, ok)
		}
	}
	if m.DirectPages() != 0x400+0x20 {
		t.Errorf("DirectPages = %#x", m.DirectPages())
	}
	// Not over RAM, not twice, not unaligned.
	for _, r := range [][2]uint64{{0x1ff000, 0x2000}, {0xfe001000, 0x1000}, {0xfe400001, 0x1000}, {0, 0}} {
		if err := m.MapIdentity(r[0], r[1]); err == nil {
			t.Errorf("MapIdentity(%#x, %#x) accepted", r[0], r[1])
		}
	}
	if k, _ := m.Lookup(0xfe400); k != Unbacked {
		t.Errorf("Lookup beyond = %v", k)
	}
	if NPT.MMIOLeaf() != pgtable.Present|pgtable.Writable|pgtable.User {
		t.Errorf("NPT MMIO leaf %#x", NPT.MMIOLeaf())
	}
	if l := EPT.MMIOLeaf(); l != EPTRead|EPTWrite|EPTExec {
		t.Errorf("EPT MMIO leaf %#x: want RWX, memory type UC (0), guest PAT honoured", l)
	}
}
