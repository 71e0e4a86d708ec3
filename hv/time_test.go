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
