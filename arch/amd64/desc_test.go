package amd64

import "testing"

func TestTSSDescriptor(t *testing.T) {
	lo, hi := TSSDescriptor(0xffff_8000_1234_5678, TSSSize-1)
	// limit 0x67, base bits 0..23 = 0x345678, type 0x89, base 24..31 = 0x12.
	if want := uint64(0x12_0_0_89_345678_0067); lo != want {
		t.Errorf("lo = %#x, want %#x", lo, want)
	}
	if hi != 0xffff8000 {
		t.Errorf("hi = %#x", hi)
	}
}

func TestIDTGate(t *testing.T) {
	lo, hi := IDTGate(0x1122_3344_5566_7788, SelKernelCode, 2, GateInterrupt)
	if want := uint64(0x5566_8E02_0008_7788); lo != want {
		t.Errorf("lo = %#x, want %#x", lo, want)
	}
	if hi != 0x11223344 {
		t.Errorf("hi = %#x", hi)
	}
}

func TestTSSLayout(t *testing.T) {
	var tss TSS
	tss.SetIST(1, 0x1000)
	tss.SetIST(7, 0x7000)
	tss.SetRSP0(0xabc)
	tss.DisableIOMap()
	if tss[36] != 0x00 || tss[37] != 0x10 || tss.IST(1) != 0x1000 || tss.IST(7) != 0x7000 {
		t.Errorf("IST layout wrong: % x", tss[36:92])
	}
	if tss[4] != 0xbc || tss[5] != 0x0a {
		t.Errorf("RSP0 layout wrong")
	}
	if tss[102] != 104 || tss[103] != 0 {
		t.Errorf("iomap base wrong")
	}
	tss.SetIST(0, 1)
	tss.SetIST(8, 1)
	if tss.IST(0) != 0 || tss.IST(8) != 0 {
		t.Errorf("out-of-range IST not ignored")
	}
}

func TestSegmentDescriptors(t *testing.T) {
	// Long-mode code: L (bit 53) set, D (bit 54) clear, DPL 0, present.
	d := uint64(DescKernelCode64)
	if d&(1<<53) == 0 || d&(1<<54) != 0 || (d>>45)&3 != 0 || d&(1<<47) == 0 {
		t.Errorf("kernel code descriptor wrong: %#x", d)
	}
	if (uint64(DescUserCode64)>>45)&3 != 3 {
		t.Errorf("user code DPL wrong")
	}
}

func TestDescriptorPointer(t *testing.T) {
	var b [10]byte
	DescriptorPointer{Limit: 0x0fff, Base: 0x0102030405060708}.Encode(&b)
	want := [10]byte{0xff, 0x0f, 8, 7, 6, 5, 4, 3, 2, 1}
	if b != want {
		t.Errorf("got % x", b)
	}
}
