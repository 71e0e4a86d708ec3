package hypercall

import "gozen/abi/xen"

// vcpuOp is vcpu_op (vcpu.h) on vCPU id of the caller's domain.
func vcpuOp(g Guest, cmd, id, arg uint64, compat bool) int64 {
	if id >= uint64(g.NumVCPUs()) {
		return errno(xen.ENOENT)
	}
	vid := int(id)
	switch cmd {
	case xen.VCPUOpIsUp:
		if g.VCPUUp(vid) {
			return 1
		}
		return 0
	case xen.VCPUOpUp:
		return errno(g.BringUp(vid))
	case xen.VCPUOpDown:
		g.TakeDown(vid)
		return 0
	case xen.VCPUOpSendNMI:
		g.SendNMI(vid)
		return 0
	case xen.VCPUOpGetRunstateInfo:
		var b [xen.VCPURunstateInfoSize]byte
		r := g.Runstate(vid)
		if compat {
			out := b[:xen.CompatVCPURunstateInfoSize]
			(*xen.CompatVCPURunstateInfo)(&r).Encode(out)
			return okOrFault(g.CopyOut(arg, out))
		}
		r.Encode(b[:])
		return okOrFault(g.CopyOut(arg, b[:]))
	case xen.VCPUOpRegisterRunstateMemoryArea:
		var b [xen.VCPURegisterRunstateMemoryAreaSize]byte
		var r xen.VCPURegisterRunstateMemoryArea
		if !g.CopyIn(arg, b[:]) || r.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		return errno(g.RegisterRunstateArea(vid, r.Addr))
	case xen.VCPUOpSetPeriodicTimer:
		return errno(xen.ENOSYS) // GoZen has one-shot timers only
	case xen.VCPUOpStopPeriodicTimer:
		return 0
	case xen.VCPUOpSetSingleshotTimer:
		if vid != g.VCPU() {
			return errno(xen.EINVAL)
		}
		var b [xen.VCPUSetSingleshotTimerSize]byte
		var t xen.VCPUSetSingleshotTimer
		in := argBuf(b[:], compat, xen.CompatVCPUSetSingleshotTimerSize)
		if !g.CopyIn(arg, in) {
			return errno(xen.EFAULT)
		}
		if compat {
			(*xen.CompatVCPUSetSingleshotTimer)(&t).Decode(in)
		} else {
			t.Decode(in)
		}
		deadline := int64(t.TimeoutAbsNs)
		if t.Flags&xen.VCPUSshottmrFuture != 0 && deadline < g.SystemTime() {
			return errno(xen.ETIME)
		}
		if deadline == 0 {
			deadline = 1 // in the past: fire at once, not "no timer"
		}
		g.SetTimer(deadline)
		return 0
	case xen.VCPUOpStopSingleshotTimer:
		if vid != g.VCPU() {
			return errno(xen.EINVAL)
		}
		g.SetTimer(0)
		return 0
	case xen.VCPUOpRegisterVCPUInfo:
		var b [xen.VCPURegisterVCPUInfoSize]byte
		var r xen.VCPURegisterVCPUInfo
		if !g.CopyIn(arg, b[:]) || r.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		if r.Offset > 4096-xen.VCPUInfoSize {
			return errno(xen.EINVAL)
		}
		return errno(g.RegisterVCPUInfo(vid, r.MFN, r.Offset))
	case xen.VCPUOpRegisterVCPUTimeMemoryArea:
		var b [xen.VCPURegisterTimeMemoryAreaSize]byte
		var r xen.VCPURegisterTimeMemoryArea
		if !g.CopyIn(arg, b[:]) || r.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		var ti [xen.VCPUTimeInfoSize]byte
		t := g.TimeInfo()
		t.Encode(ti[:])
		return okOrFault(g.CopyOut(r.Addr, ti[:]))
	}
	return errno(xen.ENOSYS)
}
