package npt

import (
	"bytes"
	"testing"
)

// A lent frame is the domain's RAM at its gfn (reads, writes, Translate,
// Pages), the frame it replaced goes back to the pool, and neither RemoveRAM
// nor Release gives the lent frame to the pool.
func TestLend(t *testing.T) {
	f := newMachine(1 << 32)
	a, _ := f.Alloc(1, 1) // the lender's frames (a boot module's)
	b, _ := f.Alloc(1, 1)
	copy(f.Bytes(a, page), bytes.Repeat([]byte("module"), page/6))
	m, _ := New(f, f, f)
	if err := m.Populate(4 << 20); err != nil {
		t.Fatal(err)
	}
	pages := m.Pages()
	const gfn = 0x100
	old, _ := m.Translate(gfn * page)
	if err := m.Lend(gfn, a); err != nil {
		t.Fatal(err)
	}
	if !f.freed[old] {
		t.Errorf("the domain's frame %#x was not given back", old)
	}
	if hpa, ok := m.Translate(gfn*page + 8); !ok || hpa != a+8 {
		t.Errorf("Translate: %#x, %v; want %#x", hpa, ok, a+8)
	}
	got := make([]byte, 12)
	if err := m.ReadPhys(gfn*page, got); err != nil || string(got) != "modulemodule" {
		t.Errorf("ReadPhys: %q, %v", got, err)
	}
	if err := m.WritePhys(gfn*page+page-4, []byte("ABCDEFGH")); err != nil {
		t.Fatal(err)
	}
	if string(f.Bytes(a+page-4, 4)) != "ABCD" {
		t.Errorf("a write did not reach the lent frame")
	}
	if got, _ := m.Translate((gfn + 1) * page); string(f.Bytes(got, 4)) != "EFGH" {
		t.Errorf("the write's second half is not in the next frame")
	}
	if !m.IsRAM(gfn) || m.Pages() != pages || m.Lent() != 1 {
		t.Errorf("IsRAM %v, Pages %d (want %d), Lent %d", m.IsRAM(gfn), m.Pages(), pages, m.Lent())
	}
	if k, w := m.Lookup(gfn); k != RAM || !w {
		t.Errorf("Lookup: %v, %v", k, w)
	}
	// Refused: lent already, beyond RAM, unaligned, a hole.
	for _, c := range []struct{ gfn, hpa uint64 }{{gfn, b}, {(4 << 20) / page, b}, {gfn + 2, b + 8}} {
		if err := m.Lend(c.gfn, c.hpa); err == nil {
			t.Errorf("Lend(%#x, %#x): no error", c.gfn, c.hpa)
		}
	}
	if err := m.RemoveRAM(gfn+3, 1); err != nil {
		t.Fatal(err)
	}
	if err := m.Lend(gfn+3, b); err == nil {
		t.Error("Lend over a hole: no error")
	}
	// Given back by the guest: unmapped, not freed.
	if err := m.Lend(gfn+2, b); err != nil {
		t.Fatal(err)
	}
	if err := m.RemoveRAM(gfn+2, 1); err != nil {
		t.Fatal(err)
	}
	if f.freed[b] || f.mem[b] == nil || m.IsRAM(gfn+2) || m.Lent() != 1 || m.Pages() != pages-2 {
		t.Errorf("after RemoveRAM of a lent frame: freed %v, IsRAM %v, Lent %d, Pages %d (want %d)",
			f.freed[b], m.IsRAM(gfn+2), m.Lent(), m.Pages(), pages-2)
	}
	// Populated back: a frame of the pool's.
	if err := m.AddRAM(gfn+2, 1); err != nil {
		t.Fatal(err)
	}
	if hpa, _ := m.Translate((gfn + 2) * page); hpa == b {
		t.Error("AddRAM put the lent frame back")
	}
	// Runs: three frames lent upwards make one run; giving back the middle
	// one leaves two, and the others still translate.
	c, _ := f.Alloc(3, 1)
	for i := uint64(0); i < 3; i++ {
		if err := m.Lend(0x200+i, c+i*page); err != nil {
			t.Fatal(err)
		}
	}
	if len(m.lent) != 2 || m.Lent() != 4 {
		t.Fatalf("%d runs, %d frames lent; want 2 runs (gfn %#x, and 0x200-0x202), 4 frames", len(m.lent), m.Lent(), gfn)
	}
	if err := m.RemoveRAM(0x201, 1); err != nil {
		t.Fatal(err)
	}
	if len(m.lent) != 3 || m.Lent() != 3 || m.IsRAM(0x201) {
		t.Fatalf("after giving back the middle one: %d runs, %d frames, IsRAM %v", len(m.lent), m.Lent(), m.IsRAM(0x201))
	}
	for _, g := range []uint64{0x200, 0x202} {
		if hpa, _ := m.Translate(g * page); hpa != c+(g-0x200)*page {
			t.Errorf("gfn %#x translates to %#x", g, hpa)
		}
	}
	m.Release()
	for i := uint64(0); i < 3; i++ {
		if f.freed[c+i*page] {
			t.Errorf("lent frame %#x freed", c+i*page)
		}
		delete(f.mem, c+i*page)
	}
	if len(f.mem) != 2 || f.mem[a] == nil || f.mem[b] == nil || f.freed[a] || f.tables != 0 {
		t.Errorf("after Release: %d frames left (want the 2 lent ones), %d tables", len(f.mem), f.tables)
	}
}

// zeroedMachine also takes frames back as never written (ZeroedFreer).
type zeroedMachine struct {
	*fakeMachine
	zeroed map[uint64]bool
}

func (z zeroedMachine) FreeZeroed(pa, n uint64) {
	z.fakeMachine.Free(pa, n)
	for i := uint64(0); i < n; i++ {
		z.zeroed[pa+i*page] = true
	}
}

// The frame a lent one replaces was never written, and goes back as such
// to a pool that can take it so (ZeroedFreer): the pool then need not clear
// it, and the idle scrub leaves it alone.
func TestLendGivesBackZeroed(t *testing.T) {
	f := zeroedMachine{newMachine(1 << 32), map[uint64]bool{}}
	a, _ := f.Alloc(1, 1)
	m, _ := New(f, f, f)
	if err := m.Populate(4 << 20); err != nil {
		t.Fatal(err)
	}
	old, _ := m.Translate(0x100 * page)
	if err := m.Lend(0x100, a); err != nil {
		t.Fatal(err)
	}
	if !f.zeroed[old] || len(f.zeroed) != 1 {
		t.Fatalf("replaced frame %#x given back zeroed: %v (all: %v)", old, f.zeroed[old], f.zeroed)
	}
	// Release gives the domain's other frames back as written ones.
	m.Release()
	if len(f.zeroed) != 1 {
		t.Fatalf("Release gave frames back as zeroed: %v", f.zeroed)
	}
}
