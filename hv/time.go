package hv

import "math/bits"

// Guest time (Xen "system time"): nanoseconds since the hypervisor started,
// computed from the TSC exactly as a guest computes it from vcpu_time_info
// (pvclock): ns = ((tsc - anchor) << shift, or >> -shift) * mul >> 32. The
// per-vCPU time info is written once with the anchor as tsc_timestamp and 0
// as system_time, and never re-anchored, so guest time is one formula of
// the TSC and can never step backwards.
type pvclock struct {
	anchor uint64 // TSC at system time 0
	mul    uint32 // tsc_to_system_mul
	shift  int8   // tsc_shift
	hz     uint64
}

// newPVClock derives mul and shift for a TSC of hz ticks per second, as Xen's
// set_time_scale does: bring hz into (1e9, 2e9] by halving or doubling, then
// mul = 2^32 * 1e9 / hz'.
func newPVClock(anchor, hz uint64) pvclock {
	if hz == 0 {
		hz = 1_000_000_000
	}
	shift := int8(0)
	t := hz
	for t > 2_000_000_000 {
		t >>= 1
		shift--
	}
	for t <= 1_000_000_000 {
		t <<= 1
		shift++
	}
	mul, _ := bits.Div64(1_000_000_000>>32, 1_000_000_000<<32, t)
	return pvclock{anchor: anchor, mul: uint32(mul), shift: shift, hz: hz}
}

// nanos converts a TSC value to system time.
func (c pvclock) nanos(tsc uint64) int64 {
	d := tsc - c.anchor
	if c.shift < 0 {
		d >>= uint(-c.shift)
	} else {
		d <<= uint(c.shift)
	}
	hi, lo := bits.Mul64(d, uint64(c.mul))
	return int64(hi<<32 | lo>>32)
}

// systemTime is the current guest system time.
func (h *Hypervisor) systemTime() int64 { return h.clock.nanos(h.env.TSC()) }

// deadlineFromSystem converts an absolute guest system time into the
// hypervisor's Env.Now units.
func (h *Hypervisor) deadlineFromSystem(t int64) int64 {
	now := h.env.Now()
	d := t - h.systemTime()
	if d < 0 {
		d = 0
	}
	return now + d
}
