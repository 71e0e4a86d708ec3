package main

import "testing"

// Guest-driven allocations from hv's pool stop at the reserve: an eighth of
// the pool, at least 4 MiB.
func TestReserve(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		free, pool, n uint64
		ok            bool
	}{
		{64 * mib, 128 * mib, 1, true},
		{16*mib + 4096, 128 * mib, 1, true},
		{16*mib + 4095, 128 * mib, 1, false},
		{16 * mib, 128 * mib, 1, false},
		{4*mib + 8192, 24 * mib, 2, true},
		{4*mib + 8191, 24 * mib, 2, false},
		{5*mib + 8191, 40 * mib, 2, false},
	} {
		if got := leavesReserve(c.free, c.pool, c.n); got != c.ok {
			t.Errorf("leavesReserve(free %d, pool %d, %d frames) = %v", c.free, c.pool, c.n, got)
		}
	}
}

// SVM wins when offered (no CPU offers both), VT-x otherwise, and a CPU
// with neither is refused.
func TestChooseBackend(t *testing.T) {
	for _, c := range []struct {
		svm, vmx bool
		want     string
	}{{true, false, useSVM}, {false, true, useVMX}, {true, true, useSVM}, {false, false, ""}} {
		if got := chooseBackend(c.svm, c.vmx); got != c.want {
			t.Errorf("chooseBackend(svm %v, vmx %v) = %q, want %q", c.svm, c.vmx, got, c.want)
		}
	}
}
