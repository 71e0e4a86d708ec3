package hv

import (
	"bytes"
	"testing"
)

// writeNonZero leaves the guest pages that p fills with zeros alone, so it
// must not write them: RAM poisoned with 0xAA keeps its poison there, and
// gets p everywhere else, partial pages at either end included.
func TestWriteNonZeroSkipsZeroPages(t *testing.T) {
	env := &fakeEnv{m: &fakeMachine{frames: map[uint64]*[4096]byte{}, next: 1 << 30}}
	mem, err := env.NewGuestMemory(64)
	if err != nil {
		t.Fatal(err)
	}
	if err := mem.Populate(4 << 20); err != nil {
		t.Fatal(err)
	}
	const base = 0x100000
	poison := bytes.Repeat([]byte{0xAA}, 8*pageSize)
	if err := mem.WritePhys(base, poison); err != nil {
		t.Fatal(err)
	}
	// From base+0x800: a half page of data, a page of zeros, a page with
	// one non-zero byte, two pages of zeros, a page of data, a half page
	// of zeros.
	const gpa = base + 0x800
	p := make([]byte, 0x800+6*pageSize)
	for i := range 0x800 {
		p[i] = byte(i) | 1
	}
	p[0x800+pageSize+100] = 7
	for i := range pageSize {
		p[0x800+4*pageSize+i] = byte(i>>3) | 0x40
	}
	if err := writeNonZero(mem, gpa, p); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(p))
	if err := mem.ReadPhys(gpa, got); err != nil {
		t.Fatal(err)
	}
	// Guest pages relative to base: 0 (second half), 2 and 5 written; 1, 3,
	// 4 and 6 (first half) not.
	written := map[int]bool{0: true, 2: true, 5: true}
	for i := range p {
		pg := int((gpa + uint64(i) - base) / pageSize)
		want := p[i]
		if !written[pg] {
			want = 0xAA
		}
		if got[i] != want {
			t.Fatalf("byte %#x (guest page %d): got %#x, want %#x", i, pg, got[i], want)
		}
	}
	// Nothing before or after p was touched.
	for _, a := range []uint64{gpa - 1, gpa + uint64(len(p))} {
		var b [1]byte
		if err := mem.ReadPhys(a, b[:]); err != nil || b[0] != 0xAA {
			t.Fatalf("byte at %#x: %#x, %v; want 0xAA", a, b[0], err)
		}
	}
	// An all-zero p writes nothing, and outside RAM it is still an error
	// when there is something to write.
	if err := writeNonZero(mem, base, make([]byte, 3*pageSize)); err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	if mem.ReadPhys(base, b[:]); b[0] != 0xAA {
		t.Fatalf("an all-zero write changed %#x to %#x", base, b[0])
	}
	if err := writeNonZero(mem, 8<<20, []byte{1}); err == nil {
		t.Fatal("write beyond RAM: no error")
	}
}

// A domU whose image has pages of zeros between its code and data still
// reads back exactly its image: the skipped pages are the pool's zeros.
func TestCreateDomainImageWithZeroPages(t *testing.T) {
	code := append([]byte{}, insnHLT...)
	code = append(code, make([]byte, 3*pageSize)...)
	code = append(code, "data after the zeros"...)
	h, _, _ := newTestHV(nil)
	d, err := h.CreateDomain(DomainConfig{Name: "z", Mem: 4 << 20, Kernel: pvhELF(code), Ramdisk: make([]byte, 2*pageSize+5)})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(code))
	if err := d.mem.ReadPhys(0x100000, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, code) {
		t.Fatal("the image reads back differently")
	}
}
