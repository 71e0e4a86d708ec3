package hv

import (
	"bytes"
	"testing"

	"gozen/loader"
)

// With KernelAt and RamdiskAt, the pages of the image and ramdisk that fill
// guest pages completely are the module's own frames in the domU (no copy),
// the partial ones are copies, and the guest reads its image back as it is.
func TestCreateDomainLendsModuleFrames(t *testing.T) {
	code := append([]byte{}, insnHLT...)
	for i := 0; len(code) < 3*pageSize+100; i++ {
		code = append(code, byte(i*7+1))
	}
	elf := pvhELFAt(code, 0x1000) // file offset and address agree modulo a page
	rd := bytes.Repeat([]byte("ramdisk!"), 2*pageSize/8+3)
	h, _, _ := newTestHV(nil)
	m := h.env.(*fakeEnv).m
	put := func(b []byte) uint64 { // b in "machine" frames, as a boot module
		n := (len(b) + pageSize - 1) / pageSize
		pa, _ := m.Alloc(uint64(n), 1)
		for i := 0; i < n; i++ {
			copy(m.frames[pa+uint64(i)*pageSize][:], b[i*pageSize:])
		}
		return pa
	}
	kAt, rAt := put(elf), put(rd)
	d, err := h.CreateDomain(DomainConfig{Name: "lend", Mem: 4 << 20, Kernel: elf, KernelAt: kAt, Ramdisk: rd, RamdiskAt: rAt})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(code))
	if err := d.mem.ReadPhys(0x100000, got); err != nil || !bytes.Equal(got, code) {
		t.Fatalf("the image reads back differently (%v)", err)
	}
	for i := uint64(0); i < 4; i++ {
		hpa, _ := d.mem.Translate(0x100000 + i*pageSize)
		if lentPage := hpa == kAt+0x1000+i*pageSize; lentPage != (i < 3) {
			t.Errorf("guest page %d of the image at %#x: lent %v, want %v", i, hpa, lentPage, i < 3)
		}
	}
	img, _ := loader.ParseELF(elf)
	mods, err := img.PlaceModules(4<<20, []loader.Module{{Data: rd}})
	if err != nil {
		t.Fatal(err)
	}
	gotRD := make([]byte, len(rd))
	if err := d.mem.ReadPhys(mods[0].Paddr, gotRD); err != nil || !bytes.Equal(gotRD, rd) {
		t.Fatalf("the ramdisk reads back differently (%v)", err)
	}
	// 3 image pages and the ramdisk's 2 full pages.
	if n := d.mem.Lent(); n != 5 {
		t.Errorf("%d frames lent, want 5", n)
	}
	// A second domain from the same bytes without the addresses copies.
	d2, err := h.CreateDomain(DomainConfig{Name: "copy", Mem: 4 << 20, Kernel: elf, Ramdisk: rd})
	if err != nil {
		t.Fatal(err)
	}
	if n := d2.mem.Lent(); n != 0 {
		t.Errorf("%d frames lent without KernelAt/RamdiskAt", n)
	}
	if err := d2.mem.ReadPhys(0x100000, got); err != nil || !bytes.Equal(got, code) {
		t.Fatalf("the copied image reads back differently (%v)", err)
	}
}

func TestSegmentsShareBytes(t *testing.T) {
	seg := func(off, n uint64) loader.Segment { return loader.Segment{Offset: off, Data: make([]byte, n)} }
	for _, c := range []struct {
		segs []loader.Segment
		want bool
	}{
		{[]loader.Segment{seg(0x1000, 0x1800), seg(0x2800, 0x1000)}, false}, // adjacent, one page shared but no byte
		{[]loader.Segment{seg(0x1000, 0x2000), seg(0x2fff, 0x1000)}, true},
		{[]loader.Segment{seg(0x1000, 0x1000), seg(0x5000, 0), seg(0x0, 0x3000)}, true},
		{[]loader.Segment{seg(0x1000, 0x1000), seg(0x1000, 0)}, false}, // no data
	} {
		if got := segmentsShareBytes(c.segs); got != c.want {
			t.Errorf("%v: %v, want %v", c.segs, got, c.want)
		}
	}
}
