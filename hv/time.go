package hv

import "gozen/abi/xen"

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

// newPVClock derives mul and shift for a TSC of hz ticks per second as Xen
// does (abi/xen.PVClockScale).
func newPVClock(anchor, hz uint64) pvclock {
	if hz == 0 {
		hz = 1_000_000_000
	}
	mul, shift := xen.PVClockScale(hz)
	return pvclock{anchor: anchor, mul: mul, shift: shift, hz: hz}
}

// nanos converts a TSC value to system time with the guest's formula.
func (c pvclock) nanos(tsc uint64) int64 {
	return int64(xen.ScaleDelta(tsc-c.anchor, c.mul, c.shift))
}

// systemTime is the current guest system time.
func (h *Hypervisor) systemTime() int64 { return h.clock.nanos(h.env.TSC()) }

// deadlineFromSystem converts an absolute guest system time into a vCPU
// timer deadline in the hypervisor's Env.Now units.
func (h *Hypervisor) deadlineFromSystem(t int64) int64 {
	now := h.env.Now()
	d := t - h.systemTime()
	if d < 0 {
		d = 0
	}
	// A deadline centuries away (a guest may pass any 64-bit value) must
	// not overflow into the past.
	d = min(d, maxTimerDelay)
	return deadline(now + d)
}

// maxTimerDelay bounds how far ahead a guest timer is kept: about 36 years.
const maxTimerDelay = 1 << 60

// deadline returns t as a timer deadline: vCPU timers use 0 for "none", so
// a deadline that happens to be 0 becomes 1.
func deadline(t int64) int64 {
	if t == 0 {
		return 1
	}
	return t
}

// Xen's time leaf, CPUID 0x40000003 (xen/arch/x86/cpuid.c
// cpuid_hypervisor_leaves, case 3), for a domain in Xen's default TSC mode
// without TSC emulation: guests read the host TSC directly (no TSC offset,
// no scaling), which is what GoZen does.
const (
	xenTimeLeafTSCSafe = 1 << 1 // host TSC is invariant: GoZen's pvclock sets TSC_STABLE
	xenTimeLeafRDTSCP  = 1 << 2 // RDTSCP available
	xenTSCModeDefault  = 0      // XEN_CPUID_TSC_MODE_DEFAULT
)

// xenTimeLeaf answers subleaf sub of the time leaf: 0 gives the TSC mode
// flags, the mode and the guest TSC frequency in kHz (incarnation 0: the
// domain has never migrated); 1 the scale from TSC to nanoseconds, the
// same mul and shift as the pvclock (the offset is 0: system time counts
// from the TSC anchor, and guest TSC is host TSC); 2 the physical CPU
// frequency in kHz, the TSC's here.
func (h *Hypervisor) xenTimeLeaf(sub uint32, rdtscp bool) (a, b, c, d uint32) {
	khz := uint32(h.clock.hz / 1000)
	switch sub {
	case 0:
		a = xenTimeLeafTSCSafe
		if rdtscp {
			a |= xenTimeLeafRDTSCP
		}
		return a, xenTSCModeDefault, khz, 0
	case 1:
		return 0, 0, h.clock.mul, uint32(int32(h.clock.shift))
	case 2:
		return khz, 0, 0, 0
	}
	return 0, 0, 0, 0
}
