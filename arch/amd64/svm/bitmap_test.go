package svm

import (
	"testing"

	"gozen/hv/backend"
)

func TestMapSizes(t *testing.T) {
	// APM vol. 2 §15.10.1: the IOPM is 12 Kbytes; §15.11: the MSRPM 8 Kbytes.
	if IOPMSize != 12288 || MSRPMSize != 8192 {
		t.Fatalf("IOPMSize = %d, MSRPMSize = %d", IOPMSize, MSRPMSize)
	}
}

// setBits lists the indices of the set bits of b.
func setBits(b []byte) []int {
	var out []int
	for i, x := range b {
		for j := 0; j < 8; j++ {
			if x&(1<<j) != 0 {
				out = append(out, i*8+j)
			}
		}
	}
	return out
}

// clearBits lists the indices of the clear bits of b.
func clearBits(b []byte) []int {
	var out []int
	for i, x := range b {
		for j := 0; j < 8; j++ {
			if x&(1<<j) == 0 {
				out = append(out, i*8+j)
			}
		}
	}
	return out
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestIOPMBits checks that port n is bit n%8 of byte n/8 (APM vol. 2
// §15.10.1 "I/O Permissions Map").
func TestIOPMBits(t *testing.T) {
	m := IOPM(make([]byte, IOPMSize))
	m.InterceptAll()
	if got := clearBits(m); len(got) != 0 {
		t.Fatalf("after InterceptAll, clear bits %v", got)
	}
	for _, c := range []struct {
		port  uint16
		n     int
		clear []int // bit indices
	}{
		{0x3F8, 8, []int{0x3F8, 0x3F9, 0x3FA, 0x3FB, 0x3FC, 0x3FD, 0x3FE, 0x3FF}}, // COM1: all of byte 0x7F
		{0x80, 1, []int{0x80}},                        // byte 0x10 bit 0
		{0x61, 1, []int{0x61}},                        // byte 0x0C bit 1
		{0xCFC, 4, []int{0xCFC, 0xCFD, 0xCFE, 0xCFF}}, // byte 0x19F bits 4-7
		{0x7, 3, []int{0x7, 0x8, 0x9}},                // across bytes 0 and 1
		{0xFFFE, 5, []int{0xFFFE, 0xFFFF}},            // cut at 0xFFFF
		{0xFFFF, 1, []int{0xFFFF}},                    // last port
		{0, 1, []int{0}},                              // first port
		{0x1234, 0, nil},                              // nothing
		{0x1234, -5, nil},                             // nothing
		{0x100, maxInt, nil},                          // clamped: checked below
	} {
		m.InterceptAll()
		m.Allow(c.port, c.n)
		if c.n == maxInt {
			continue
		}
		if got := clearBits(m); !equalInts(got, c.clear) {
			t.Errorf("Allow(%#x, %d) cleared bits %#x, want %#x", c.port, c.n, got, c.clear)
		}
		for _, p := range c.clear {
			if m.Intercepted(uint16(p)) {
				t.Errorf("Allow(%#x, %d): port %#x intercepted", c.port, c.n, p)
			}
		}
		m.Intercept(c.port, c.n)
		if got := clearBits(m); len(got) != 0 {
			t.Errorf("Intercept(%#x, %d) left clear bits %#x", c.port, c.n, got)
		}
	}

	// Huge n: every port from 0x100 on, never the bits past 0xFFFF.
	m.InterceptAll()
	m.Allow(0x100, maxInt)
	got := clearBits(m)
	if len(got) != 0x10000-0x100 || got[0] != 0x100 || got[len(got)-1] != 0xFFFF {
		t.Errorf("Allow(0x100, huge) cleared %d bits", len(got))
	}
	if !m.Intercepted(0xFF) || m.Intercepted(0x100) || m.Intercepted(0xFFFF) {
		t.Error("Intercepted after Allow(0x100, huge)")
	}
	// The bits past port 0xFFFF (byte 0x2000 on) stay set.
	for i := 0x2000; i < IOPMSize; i++ {
		if m[i] != 0xFF {
			t.Fatalf("byte %#x = %#x", i, m[i])
		}
	}

	// Allow all, then intercept one port.
	m.Allow(0, 0x10000)
	m.Intercept(0x3F8, 1)
	if got := setBits(m[:0x2000]); !equalInts(got, []int{0x3F8}) {
		t.Errorf("set bits %#x, want [0x3f8]", got)
	}
	if !m.Intercepted(0x3F8) || m.Intercepted(0x3F9) || m.Intercepted(0x3F7) {
		t.Error("Intercepted around 0x3F8")
	}
}

// TestIOPMShort: a map shorter than IOPMSize treats the ports past its end
// as intercepted and never panics.
func TestIOPMShort(t *testing.T) {
	for _, size := range []int{0, 1, 100} {
		m := IOPM(make([]byte, size))
		m.InterceptAll()
		m.Allow(0, 0x10000)
		m.Intercept(0xFFF0, 0x100)
		m.Allow(0xFFFF, 1)
		for _, p := range []int{0, 7, 8, 0xFFFF, size*8 - 1, size * 8} {
			if p < 0 || p > 0xFFFF {
				continue
			}
			want := p >= size*8
			if got := m.Intercepted(uint16(p)); got != want {
				t.Errorf("size %d: Intercepted(%#x) = %v, want %v", size, p, got, want)
			}
		}
	}
	var nilMap IOPM
	nilMap.InterceptAll()
	nilMap.Allow(1, 1)
	if !nilMap.Intercepted(1) {
		t.Error("nil IOPM: port 1 not intercepted")
	}
}

// TestMSRPMBits checks bit positions given by APM vol. 2 §15.11: MSR k of a
// range has its read bit at bit 2k and its write bit at 2k+1 of the range's
// 2 KiB vector.
func TestMSRPMBits(t *testing.T) {
	m := MSRPM(make([]byte, MSRPMSize))
	for _, c := range []struct {
		msr  uint32
		byte int // byte of the read bit
		bit  int // bit of the read bit in that byte; the write bit is bit+1
	}{
		{0x0000_0000, 0x000, 0},
		{0x0000_0001, 0x000, 2},
		{0x0000_0003, 0x000, 6},
		{0x0000_0004, 0x001, 0},
		{0x0000_0010, 0x004, 0},          // TSC: 0x10*2/8
		{0x0000_001B, 0x006, 6},          // APIC_BASE
		{0x0000_0174, 0x05D, 0},          // SYSENTER_CS
		{0x0000_0277, 0x09D, 6},          // PAT
		{0x0000_1FFF, 0x7FF, 6},          // last of range 0
		{0xC000_0000, 0x800, 0},          // first of range 1
		{0xC000_0080, 0x820, 0},          // EFER: 0x800 + 0x80*2/8
		{0xC000_0081, 0x820, 2},          // STAR
		{0xC000_0082, 0x820, 4},          // LSTAR
		{0xC000_0100, 0x840, 0},          // FS_BASE
		{0xC000_0101, 0x840, 2},          // GS_BASE
		{0xC000_0102, 0x840, 4},          // KERNEL_GS_BASE
		{0xC000_1FFF, 0xFFF, 6},          // last of range 1
		{0xC001_0000, 0x1000, 0},         // first of range 2
		{0xC001_0117, 0x1045, 6},         // VM_HSAVE_PA: 0x1000 + 0x117*2/8
		{0xC001_1FFF, 0x17FF, 6},         // last of range 2
		{0xC001_0114, 0x1045, 0},         // VM_CR
		{0x0000_0C80, 0x320, 0},          // IA32_DEBUG_INTERFACE
		{0xC000_0000 + 0x1000, 0xC00, 0}, // middle of range 1
	} {
		for _, rw := range []struct{ read, write bool }{{true, false}, {false, true}, {true, true}} {
			m.InterceptAll()
			if !m.Allow(c.msr, rw.read, rw.write) {
				t.Fatalf("Allow(%#x) = false", c.msr)
			}
			var want []int
			if rw.read {
				want = append(want, c.byte*8+c.bit)
			}
			if rw.write {
				want = append(want, c.byte*8+c.bit+1)
			}
			if got := clearBits(m); !equalInts(got, want) {
				t.Errorf("Allow(%#x, %v, %v) cleared bits %#x, want %#x", c.msr, rw.read, rw.write, got, want)
			}
			if m.Intercepted(c.msr, false) == rw.read || m.Intercepted(c.msr, true) == rw.write {
				t.Errorf("Allow(%#x, %v, %v): Intercepted read %v write %v", c.msr, rw.read, rw.write,
					m.Intercepted(c.msr, false), m.Intercepted(c.msr, true))
			}
			// Allow(false, false) intercepts both again.
			m.Allow(c.msr, false, false)
			if got := clearBits(m); len(got) != 0 {
				t.Errorf("Allow(%#x, false, false) left clear bits %#x", c.msr, got)
			}
		}
	}
}

// TestMSRPMRanges walks the boundaries of every range: inside, Allow works
// and touches only its own two bits; outside, Allow fails and the MSR stays
// intercepted.
func TestMSRPMRanges(t *testing.T) {
	m := MSRPM(make([]byte, MSRPMSize))
	inside := []uint32{0, 0x1FFF, 0xC000_0000, 0xC000_1FFF, 0xC001_0000, 0xC001_1FFF}
	outside := []uint32{0x2000, 0x4000_0000, 0x4000_0001 /* Hyper-V/Xen range */, 0xBFFF_FFFF,
		0xC000_2000, 0xC000_FFFF, 0xC001_2000, 0xC002_0000, 0xFFFF_FFFF, 0x8000_0000}
	m.InterceptAll()
	// Allowing all of every range clears exactly the first 6 KiB.
	for _, base := range []uint32{0, 0xC000_0000, 0xC001_0000} {
		for k := uint32(0); k < 0x2000; k++ {
			if !m.Allow(base+k, true, true) {
				t.Fatalf("Allow(%#x) = false", base+k)
			}
		}
	}
	for i, b := range m {
		want := byte(0)
		if i >= 0x1800 {
			want = 0xFF // reserved, still set
		}
		if b != want {
			t.Fatalf("after allowing every MSR, byte %#x = %#x", i, b)
		}
	}
	for _, msr := range inside {
		if m.Intercepted(msr, false) || m.Intercepted(msr, true) {
			t.Errorf("%#x intercepted", msr)
		}
	}
	for _, msr := range outside {
		if m.Allow(msr, true, true) {
			t.Errorf("Allow(%#x) = true outside the ranges", msr)
		}
		if !m.Intercepted(msr, false) || !m.Intercepted(msr, true) {
			t.Errorf("%#x outside the ranges not intercepted", msr)
		}
	}
	// Neighbours are untouched by Allow.
	m.InterceptAll()
	m.Allow(0xC000_0080, true, true)
	for _, msr := range []uint32{0xC000_007F, 0xC000_0081} {
		if !m.Intercepted(msr, false) || !m.Intercepted(msr, true) {
			t.Errorf("neighbour %#x allowed", msr)
		}
	}
}

// TestMSRPMShort: a short or nil map never panics; MSRs past its end stay
// intercepted and cannot be allowed.
func TestMSRPMShort(t *testing.T) {
	m := MSRPM(make([]byte, 0x821))
	m.InterceptAll()
	if !m.Allow(0xC000_0080, true, true) || m.Intercepted(0xC000_0080, true) {
		t.Error("EFER in a 0x821-byte map")
	}
	if m.Allow(0xC000_0084, true, true) || !m.Intercepted(0xC000_0084, false) {
		t.Error("MSR past the end of the map")
	}
	if m.Allow(0xC001_0000, true, true) || !m.Intercepted(0xC001_0000, true) {
		t.Error("range 2 in a short map")
	}
	var nilMap MSRPM
	nilMap.InterceptAll()
	if nilMap.Allow(0, true, true) || !nilMap.Intercepted(0, false) {
		t.Error("nil MSRPM")
	}
}

func TestBitmapsDoNotAllocate(t *testing.T) {
	io := IOPM(make([]byte, IOPMSize))
	msr := MSRPM(make([]byte, MSRPMSize))
	var sink bool
	n := testing.AllocsPerRun(20, func() {
		io.InterceptAll()
		io.Allow(0x3F8, 8)
		io.Intercept(0x3F8, 1)
		sink = sink != io.Intercepted(0x3F9)
		msr.InterceptAll()
		sink = sink != msr.Allow(0xC000_0080, true, false)
		sink = sink != msr.Intercepted(0xC000_0080, true)
	})
	if n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}

func FuzzBitmaps(f *testing.F) {
	f.Add(uint16(0xFFFF), 3, uint32(0xC001_1FFF), 100)
	f.Add(uint16(0), -1, uint32(0xFFFF_FFFF), 0)
	f.Fuzz(func(t *testing.T, port uint16, n int, msr uint32, size int) {
		if size < 0 || size > IOPMSize {
			size = IOPMSize
		}
		io := IOPM(make([]byte, size))
		io.InterceptAll()
		io.Allow(port, n)
		if n > 0 && int(port)/8 < size && io.Intercepted(port) {
			t.Fatalf("port %#x still intercepted", port)
		}
		io.Intercept(port, n)
		if !io.Intercepted(port) {
			t.Fatalf("port %#x not intercepted", port)
		}
		m := MSRPM(make([]byte, min(size, MSRPMSize)))
		m.InterceptAll()
		if m.Allow(msr, true, true) == m.Intercepted(msr, false) {
			t.Fatalf("msr %#x: Allow and Intercepted disagree", msr)
		}
	})
}

const maxInt = int(^uint(0) >> 1)

// TestPassPorts: the ports given pass, all others (and those past 0xFFFF)
// are intercepted, whatever the map held before.
func TestPassPorts(t *testing.T) {
	m := IOPM(make([]byte, IOPMSize))
	m.Allow(0x20, 2) // stale permission from before: must go
	passPorts(m, []backend.PortRange{{First: 0xcf8, N: 8}, {First: 0x70, N: 2}, {First: 0xfffe, N: 10}})
	for _, c := range []struct {
		port uint16
		want bool
	}{{0xcf8, false}, {0xcff, false}, {0xd00, true}, {0xcf7, true}, {0x70, false}, {0x71, false}, {0x72, true}, {0x20, true}, {0xffff, false}} {
		if m.Intercepted(c.port) != c.want {
			t.Errorf("port %#x intercepted = %v, want %v", c.port, !c.want, c.want)
		}
	}
	for i := 0x2000; i < IOPMSize; i++ {
		if m[i] != 0xff {
			t.Fatalf("byte %#x past port 0xFFFF = %#x", i, m[i])
		}
	}
}
