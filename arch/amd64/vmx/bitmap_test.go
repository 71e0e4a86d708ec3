package vmx

import (
	"testing"
	"unsafe"
)

func TestIOBitmap(t *testing.T) {
	m := IOBitmap(make([]byte, IOBitmapSize))
	m.InterceptAll()
	m.Allow(0x3f8, 8)
	m.Allow(0xfffe, 10) // cut at 0xffff
	for _, c := range []struct {
		port uint16
		want bool
	}{{0x3f7, true}, {0x3f8, false}, {0x3ff, false}, {0x400, true}, {0xfffd, true}, {0xfffe, false}, {0xffff, false}, {0x7fff, true}, {0x8000, true}} {
		if got := m.Intercepted(c.port); got != c.want {
			t.Errorf("port %#x intercepted %v, want %v", c.port, got, c.want)
		}
	}
	// Port 0x8000 is the first bit of bitmap B, the second page.
	m.Allow(0x8000, 1)
	if m[4096]&1 != 0 || m[4095] != 0xff {
		t.Errorf("port 0x8000 is not bit 0 of bitmap B")
	}
	m.Intercept(0x3f8, 1)
	if !m.Intercepted(0x3f8) || m.Intercepted(0x3f9) {
		t.Error("Intercept")
	}
	// A short map never panics; ports beyond it read as intercepted.
	s := IOBitmap(make([]byte, 2))
	s.Allow(0, 100)
	if s.Intercepted(15) || !s.Intercepted(16) {
		t.Error("short map")
	}
}

func TestMSRBitmap(t *testing.T) {
	m := MSRBitmap(make([]byte, MSRBitmapSize))
	m.InterceptAll()
	if !m.Allow(0xC0000082, true, true) || !m.Allow(0x174, true, false) {
		t.Fatal("Allow refused covered MSRs")
	}
	if m.Allow(0x40000000, true, true) {
		t.Error("an MSR outside both ranges was allowed")
	}
	// LSTAR: bit 0x82 of the high read bitmap (byte 1024+16, bit 2) and of
	// the high write bitmap (byte 3072+16, bit 2).
	if m[1024+16]&4 != 0 || m[3072+16]&4 != 0 {
		t.Errorf("LSTAR bits: read %#x write %#x", m[1024+16], m[3072+16])
	}
	for _, c := range []struct {
		msr   uint32
		write bool
		want  bool
	}{{0xC0000082, false, false}, {0xC0000082, true, false}, {0x174, false, false}, {0x174, true, true},
		{0x175, false, true}, {0x40000000, false, true}, {0xC0000080, true, true}} {
		if got := m.Intercepted(c.msr, c.write); got != c.want {
			t.Errorf("MSR %#x write=%v intercepted %v, want %v", c.msr, c.write, got, c.want)
		}
	}
	m.Allow(0x174, false, false)
	if !m.Intercepted(0x174, false) {
		t.Error("Allow(false, false) did not intercept again")
	}
}

func TestMSRList(t *testing.T) {
	if unsafe.Sizeof(msrEntry{}) != 16 || unsafe.Offsetof(msrEntry{}.Value) != 8 {
		t.Errorf("msrEntry is %d bytes, value at %d; SDM table 25-14 says 16 and 8", unsafe.Sizeof(msrEntry{}), unsafe.Offsetof(msrEntry{}.Value))
	}
	p := make([]byte, 4096)
	l := msrList(p, 2)
	l[1] = msrEntry{Index: 0xC0000082, Value: 0x1122334455667788}
	if p[16] != 0x82 || p[19] != 0xC0 || p[24] != 0x88 || p[31] != 0x11 {
		t.Errorf("entry 1 bytes % x", p[16:32])
	}
}

func TestVPIDs(t *testing.T) {
	var a VPIDs
	a.Init()
	if a.Generation() != 0 {
		t.Error("generation before the first Alloc")
	}
	v, all := a.Alloc()
	if v != 1 || !all || a.Generation() != 1 {
		t.Errorf("first Alloc = %d, %v (gen %d); want 1, flush", v, all, a.Generation())
	}
	for want := uint16(2); want != 0; want++ { // 2 .. 0xffff
		v, all = a.Alloc()
		if v != want || all {
			t.Fatalf("Alloc = %d, %v; want %d", v, all, want)
		}
	}
	v, all = a.Alloc()
	if v != 1 || !all || a.Generation() != 2 {
		t.Errorf("after 0xffff: %d, %v, gen %d; want 1, flush, gen 2", v, all, a.Generation())
	}
}

func TestEPTP(t *testing.T) {
	if got := EPTP(0x1234000); got != 0x123401e {
		t.Errorf("EPTP = %#x, want root | WB (6) | walk length 3<<3", got)
	}
}

// eptTranslate walks tables the way mm/npt builds them: 4 KiB and 2 MiB
// leaves, a missing entry fails. The tables here are Go memory, whose
// addresses stand for physical ones (as the direct map makes them).
func TestEPTTranslate(t *testing.T) {
	type table [512]uint64
	alloc := func() (*table, uint64) {
		buf := make([]byte, 2*4096)
		pa := (uint64(uintptr(unsafe.Pointer(&buf[0]))) + 4095) &^ 4095
		keep = append(keep, buf)
		return (*table)(unsafe.Pointer(uintptr(pa))), pa
	}
	pml4, root := alloc()
	pdpt, pdptPA := alloc()
	pd, pdPA := alloc()
	pt, ptPA := alloc()
	const rwx = 7
	pml4[0] = pdptPA | rwx
	pdpt[0] = pdPA | rwx
	pd[0] = ptPA | rwx               // GPA 0-2 MiB: 4 KiB pages
	pd[1] = 0x4000_0000 | 1<<7 | rwx // GPA 2-4 MiB: one 2 MiB leaf at 1 GiB
	pt[5] = 0x7777_0000 | rwx        // GPA 0x5000
	for _, c := range []struct {
		gpa, hpa uint64
		ok       bool
	}{{0x5020, 0x7777_0020, true}, {0x6000, 0, false}, {0x20_1234, 0x4000_1234, true}, {0x40_0000, 0, false}, {1 << 39, 0, false}} {
		hpa, ok := eptTranslate(EPTP(root), c.gpa)
		if hpa != c.hpa || ok != c.ok {
			t.Errorf("eptTranslate(%#x) = %#x, %v; want %#x, %v", c.gpa, hpa, ok, c.hpa, c.ok)
		}
	}
}

var keep [][]byte

// TSC_AUX joins the switched MSRs only on a CPU that has it: loading a
// missing MSR at VM exit would abort VMX.
func TestGuestMSRs(t *testing.T) {
	cpuid := func(ext1EDX, leaf7ECX uint32) func(leaf, sub uint32) (a, b, c, d uint32) {
		return func(leaf, sub uint32) (a, b, c, d uint32) {
			switch leaf {
			case 0:
				return 7, 0, 0, 0
			case 7:
				return 0, 0, leaf7ECX, 0
			case 0x80000000:
				return 0x80000008, 0, 0, 0
			case 0x80000001:
				return 0, 0, 0, ext1EDX
			}
			return 0, 0, 0, 0
		}
	}
	has := func(l []uint32) bool { return len(l) > 0 && l[len(l)-1] == msrTSCAux }
	if l := guestMSRs(cpuid(0, 0)); has(l) || len(l) != len(switchedMSRs) {
		t.Errorf("no RDTSCP/RDPID: %#x", l)
	}
	if l := guestMSRs(cpuid(1<<27, 0)); !has(l) {
		t.Errorf("RDTSCP: %#x", l)
	}
	if l := guestMSRs(cpuid(0, 1<<22)); !has(l) {
		t.Errorf("RDPID: %#x", l)
	}
}
