package hv

import (
	"encoding/binary"
	"fmt"
	"sort"

	"gozen/hv/x86"
)

// Hypercalls served so far. Numbers and semantics are Xen's
// (xen/include/public/xen.h) where Xen has the call; gozen_op is GoZen's
// own test interface until the Xen timer ABI lands.
const (
	hcXenVersion = 17
	hcConsoleIO  = 18
	hcSchedOp    = 29
	hcGoZenOp    = 64

	xenverVersion = 0
	consoleWrite  = 0
	consoleRead   = 1
	schedYield    = 0
	schedBlock    = 1
	schedShutdown = 2

	gozenTimer  = 1
	gozenReport = 2

	// XenVersion is what xen_version(XENVER_version) answers.
	XenVersion = 4<<16 | 17

	maxConsoleWrite = 4096
	maxReport       = 1 << 20
)

// Xen error numbers (xen/include/public/errno.h).
const (
	errEFAULT = 14
	errEINVAL = 22
	errENOSYS = 38
)

// hypercallArgs returns the call number and arguments per the guest's mode:
// 64-bit RAX; RDI, RSI, RDX, R10, R8 — 32-bit EAX; EBX, ECX, EDX, ESI, EDI.
func hypercallArgs(r *x86.Regs, mode x86.Mode) (nr uint64, a [5]uint64) {
	if mode == x86.Mode64 {
		return r[x86.RAX], [5]uint64{r[x86.RDI], r[x86.RSI], r[x86.RDX], r[x86.R10], r[x86.R8]}
	}
	m := uint64(0xffffffff)
	return r[x86.RAX] & m, [5]uint64{r[x86.RBX] & m, r[x86.RCX] & m, r[x86.RDX] & m, r[x86.RSI] & m, r[x86.RDI] & m}
}

func (h *Hypervisor) hypercall(v *VCPU) {
	r := v.arch.Regs()
	mode := v.arch.Mode()
	nr, a := hypercallArgs(r, mode)
	if nr < uint64(len(h.hcCount)) {
		h.hcCount[nr]++
		if nr == hcVCPUOp && a[0] < 16 {
			h.vcpuOpCount[a[0]]++
		}
	}
	ret := h.dispatch(v, nr, a)
	if v.dom.state != DomainRunning {
		return
	}
	if mode != x86.Mode64 {
		ret = int64(int32(ret))
		r[x86.RAX] = uint64(uint32(ret))
		return
	}
	r[x86.RAX] = uint64(ret)
}

func (h *Hypervisor) dispatch(v *VCPU, nr uint64, a [5]uint64) int64 {
	if v.arch.CPL() != 0 {
		return -errEPERM // HVM guests make hypercalls from kernel mode only
	}
	switch nr {
	case hcXenVersion:
		return h.xenVersion(v, a[0], a[1])
	case hcConsoleIO:
		switch a[0] {
		case consoleWrite:
			n := a[1]
			if n > maxConsoleWrite {
				return -errEINVAL
			}
			buf := make([]byte, n)
			if !h.copyIn(v, a[2], buf) {
				return -errEFAULT
			}
			v.dom.console.write(h.out, v.dom.name, buf, h.env.Now())
			return 0
		case consoleRead:
			return 0
		}
		return -errENOSYS
	case hcSchedOp:
		return h.schedOp(v, a[0], a[1])
	case hcMemoryOp:
		return h.memoryOp(v, a[0], a[1])
	case hcHVMOp:
		return h.hvmOp(v, a[0], a[1])
	case hcVCPUOp:
		return h.vcpuOp(v, a[0], a[1], a[2])
	case hcVMAssist:
		return h.vmAssist(a[0], a[1])
	case hcSetTimerOp:
		if a[0] == 0 {
			v.timer, v.xen.xenTimer = 0, false
			return 0
		}
		h.setXenTimer(v, int64(a[0]))
		return 0
	case hcEventChannelOp:
		return h.eventChannelOp(v, a[0], a[1])
	case hcGrantTableOp:
		return h.grantTableOp(v, a[0], a[1], a[2])
	case hcGoZenOp:
		switch a[0] {
		case gozenTimer:
			us := a[1]
			if us > 3600e6 {
				return -errEINVAL
			}
			v.timer = deadline(h.env.Now() + int64(us)*1000)
			v.xen.xenTimer = false
			v.timerFired = false
			return 0
		case gozenReport:
			return h.report(v, uint32(a[1]), a[2], a[3])
		}
		return -errENOSYS
	}
	return -errENOSYS
}

// report takes a sample array from the guest (test ABI) and logs its median.
func (h *Hypervisor) report(v *VCPU, key uint32, gva, count uint64) int64 {
	if count == 0 || count > maxReport {
		return -errEINVAL
	}
	buf := make([]byte, 4*count)
	if !h.copyIn(v, gva, buf) {
		return -errEFAULT
	}
	vals := make([]uint32, count)
	for i := range vals {
		vals[i] = binary.LittleEndian.Uint32(buf[4*i:])
	}
	v.dom.reports[key] = vals
	s := append([]uint32(nil), vals...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	v.dom.console.flush(h.out, v.dom.name)
	h.logf("domain %d %q report %d: %d samples, median %d, min %d, p90 %d",
		v.dom.id, v.dom.name, key, count, s[len(s)/2], s[0], s[len(s)*9/10])
	return 0
}

var _ = fmt.Sprint
