package hv

import "testing"

func TestPVClockScale(t *testing.T) {
	for _, hz := range []uint64{2_592_000_000, 1_000_000_000, 3_999_999_999, 400_000_000, 62_500_000} {
		c := newPVClock(1000, hz)
		if c.shift < -32 || c.shift > 32 {
			t.Fatalf("hz %d: shift %d", hz, c.shift)
		}
		// One second of ticks is one second, to within 1 ppm.
		got := c.nanos(1000 + hz)
		if diff := got - 1_000_000_000; diff < -1000 || diff > 1000 {
			t.Errorf("hz %d: 1 s of ticks = %d ns (mul %#x shift %d)", hz, got, c.mul, c.shift)
		}
		// Monotonic in the TSC.
		prev := int64(-1)
		for tsc := uint64(1000); tsc < 1000+hz/10; tsc += hz / 1000 {
			n := c.nanos(tsc)
			if n < prev {
				t.Fatalf("hz %d: time went back at %d", hz, tsc)
			}
			prev = n
		}
	}
}

// CPUID 0x40000003 reports the same TSC frequency and TSC-to-ns scale as
// the pvclock a guest reads, in Xen's layout.
func TestXenTimeLeaf(t *testing.T) {
	h, _, _ := newTestHV()
	h.clock = newPVClock(0, 2_093_132_000)
	if a, b, c, d := h.cpuid(nil, 0x40000003, 0); a&xenTimeLeafTSCSafe == 0 || a&1 != 0 || b != 0 || c != 2_093_132 || d != 0 {
		t.Errorf("subleaf 0 = %#x %#x %d %#x, want TSC safe, no vtsc, mode 0, 2093132 kHz", a, b, c, d)
	}
	if a, b, c, d := h.cpuid(nil, 0x40000003, 1); a != 0 || b != 0 || c != h.clock.mul || int32(d) != int32(h.clock.shift) {
		t.Errorf("subleaf 1 = %#x %#x %#x %#x, want offset 0, mul %#x, shift %d", a, b, c, d, h.clock.mul, h.clock.shift)
	}
	if a, _, _, _ := h.cpuid(nil, 0x40000003, 2); a != 2_093_132 {
		t.Errorf("subleaf 2 = %d kHz", a)
	}
	if a, b, c, d := h.cpuid(nil, 0x40000003, 3); a|b|c|d != 0 {
		t.Errorf("subleaf 3 not zero")
	}
}
