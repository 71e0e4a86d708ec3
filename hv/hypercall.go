package hv

import (
	"runtime"
	"runtime/debug"
	"sort"

	"gozen/abi/xen"
	"gozen/event"
	"gozen/hv/x86"
	"gozen/hypercall"
	"gozen/loader"
)

// Hypercalls enter here from a VMMCALL exit. Package hypercall decodes and
// checks the arguments; this file is the core's side of its Guest
// interface: a vCPU of a domain, and the operations on their state.

// XenVersion is what xen_version(XENVER_version) answers: Xen 4.17, the
// interface generation Linux 6.1 knows.
const XenVersion = 4<<16 | 17

// xenInfo is what xen_version reports.
var xenInfo = hypercall.Info{
	Major: XenVersion >> 16, Minor: XenVersion & 0xffff,
	ExtraVersion: ".0-gozen",
	Capabilities: "hvm-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p",
	Changeset:    "GoZen",
	VirtStart:    0xFFFF800000000000,
	Features: 1<<xen.XenfeatWritablePageTables |
		1<<xen.XenfeatAutoTranslatedPhysmap |
		1<<xen.XenfeatHVMCallbackVector |
		1<<xen.XenfeatHVMSafePVClock,
	// XENVER_compile_info: the Go toolchain, and the commit time when the
	// build recorded version-control information.
	Compiler:    runtime.Version(),
	CompileBy:   "gozen",
	CompileDate: vcsTime(),
}

// vcsTime is the commit time the Go toolchain stamped into the build
// (vcs.time), or "" without one.
func vcsTime() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.time" {
				return s.Value
			}
		}
	}
	return ""
}

// hypercall serves the hypercall v just made and puts the result in RAX.
func (h *Hypervisor) hypercall(v *VCPU) {
	r := v.arch.Regs()
	mode := v.arch.Mode()
	nr, a := hypercall.Args(r, mode)
	ret := h.hc.Call((*guest)(v), nr, a)
	if v.dom.state != DomainRunning {
		return // it shut down or crashed: its registers no longer matter
	}
	r[x86.RAX] = hypercall.Return(ret, mode)
}

// guest is a vCPU as package hypercall sees it (hypercall.Guest).
type guest VCPU

func (g *guest) v() *VCPU                   { return (*VCPU)(g) }
func (g *guest) h() *Hypervisor             { return g.dom.hv }
func (g *guest) DomID() uint16              { return g.dom.id }
func (g *guest) VCPU() int                  { return g.id }
func (g *guest) NumVCPUs() int              { return len(g.dom.vcpus) }
func (g *guest) Kernel() bool               { return g.arch.CPL() == 0 }
func (g *guest) Mode() x86.Mode             { return g.arch.Mode() }
func (g *guest) SystemTime() int64          { return g.h().systemTime() }
func (g *guest) TimeInfo() xen.VCPUTimeInfo { return g.h().timeInfo() }

// CopyIn reads guest-virtual memory through the guest's own page tables:
// the one way hypercall arguments come in.
func (g *guest) CopyIn(gva uint64, p []byte) bool {
	return x86.ReadVirt(g.dom.mem, g.paging(), gva, p, false) == nil
}

// CopyInv reads guest-virtual memory into several buffers in turn, with
// one page walk per region (x86.ReadVirtv).
func (g *guest) CopyInv(gva uint64, dsts [][]byte) bool {
	return x86.ReadVirtv(g.dom.mem, g.paging(), gva, dsts, false) == nil
}

// CopyOut writes guest-virtual memory through the guest's page tables.
func (g *guest) CopyOut(gva uint64, p []byte) bool {
	return x86.WriteVirt(g.dom.mem, g.paging(), gva, p, false) == nil
}

// paging is the state hypercall copies walk with: explicit supervisor
// accesses, which SMAP lets reach user pages while the caller has RFLAGS.AC
// set (Xen's hvm_copy checks the guest's EFLAGS the same way).
func (g *guest) paging() x86.Paging {
	pg := g.arch.Paging()
	pg.AC = g.arch.RFlags()&(1<<18) != 0
	return pg
}

func (g *guest) ConsoleWrite(p []byte) {
	g.dom.consoleWrite(p)
}

// Yield ends the slice and lets any other runnable vCPU go next.
func (g *guest) Yield() {
	g.state = VCPURunnable
	g.h().rq.Yield(g.v())
}

func (g *guest) Block() {
	v := g.v()
	if !v.upcallPending() && !v.timerFired {
		v.state = VCPUBlocked
	}
	v.timerFired = false
}

func (g *guest) Shutdown(reason uint32) {
	if g.h().dom0Shutdown(g.dom, reason, "SCHEDOP_shutdown("+ShutdownName(reason)+")") {
		return
	}
	g.h().shutdownDomain(g.dom, reason)
}

func (g *guest) Poll(ports []uint32, timeout uint64) {
	v := g.v()
	for _, p := range ports {
		if v.dom.ev.IsPending(p) {
			return
		}
	}
	// Its own timeout, separate from the vCPU's one-shot timer (which
	// keeps running, as in Xen).
	if timeout != 0 {
		v.xen.pollTimer = g.h().deadlineFromSystem(int64(timeout))
	}
	v.xen.polling = true
	v.state = VCPUBlocked
}

func (g *guest) SetTimer(deadline int64) {
	v := g.v()
	if deadline == 0 {
		v.timer, v.xen.xenTimer = 0, false
		return
	}
	g.h().setXenTimer(v, deadline)
}

func (g *guest) Reservation() (current, maximum uint64) {
	return g.dom.mem.Pages(), g.dom.maxPages()
}

func (g *guest) MemoryMap() []xen.E820Entry {
	if g.dom.dom0 != nil {
		return append([]xen.E820Entry(nil), g.dom.dom0.e820...)
	}
	mm := loader.GuestMemoryMap(g.dom.memSize)
	out := make([]xen.E820Entry, len(mm))
	for i, e := range mm {
		out[i] = xen.E820Entry{Addr: e.Addr, Size: e.Size, Type: e.Type}
	}
	return out
}

func (g *guest) MapSharedInfo(gfn uint64) xen.Errno { return g.h().mapSharedInfo(g.dom, gfn) }
func (g *guest) MapGrantFrame(idx, gfn uint64) xen.Errno {
	return g.h().mapGrantFrame(g.dom, idx, gfn)
}

func (g *guest) PopulatePhysmap(gfn uint64, order uint32) bool {
	return g.h().populate(g.dom, gfn, order)
}

func (g *guest) DecreaseReservation(gfn uint64, order uint32) bool {
	return g.h().decreaseReservation(g.dom, gfn, order)
}

func (g *guest) IncreaseReservation(order uint32) bool {
	return g.h().increaseReservation(g.dom, order)
}

func (g *guest) Param(idx uint32) uint64 { return g.dom.xen.params[idx] }

func (g *guest) SetCallbackIRQ(value uint64, vector uint8) {
	g.dom.xen.params[xen.HVMParamCallbackIRQ] = value
	g.dom.xen.upcallVector = vector
	g.h().latchSharedInfoSize(g.v())
}

func (g *guest) VCPUUp(id int) bool {
	s := g.dom.vcpus[id].state
	return s != VCPUDown && s != VCPUDead
}

func (g *guest) Runstate(id int) xen.VCPURunstateInfo { return g.dom.vcpus[id].runstateInfo() }

func (g *guest) RegisterRunstateArea(id int, gva uint64) xen.Errno {
	return g.h().registerRunstateArea(g.dom.vcpus[id], gva)
}

func (g *guest) RegisterVCPUInfo(id int, gfn uint64, off uint32) xen.Errno {
	return g.h().registerVCPUInfo(g.dom.vcpus[id], gfn, uint64(off))
}

func (g *guest) TestTimer(us uint64) {
	v := g.v()
	v.timer = deadline(g.h().env.Now() + int64(us)*1000)
	v.xen.xenTimer = false
	v.timerFired = false
}

// Report logs the median of a test guest's samples.
func (g *guest) Report(key uint32, vals []uint32) {
	h, d := g.h(), g.dom
	d.reports[key] = vals
	s := append([]uint32(nil), vals...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	d.console.flush(h.out, d.name)
	h.logf("domain %d %q report %d: %d samples, median %d, min %d, p90 %d",
		d.id, d.name, key, len(s), s[len(s)/2], s[0], s[len(s)*9/10])
}

func (g *guest) Events() hypercall.EventChannels {
	if g.dom.ev == nil {
		return nil
	}
	return evtchns{g.dom.ev, g}
}

func (g *guest) Grants() hypercall.GrantTables {
	if g.dom.gnt == nil {
		return nil
	}
	return (*grantTables)(g.dom)
}

// evtchns is a domain's event channels for package hypercall.
type evtchns struct {
	*event.Domain
	g *guest
}

// BindInterdomain is EVTCHNOP_bind_interdomain; dom0 binding the console
// port of a domain whose console hv serves takes that console over
// (offerConsole).
func (e evtchns) BindInterdomain(remoteDom uint16, remotePort uint32) (uint32, int) {
	e.g.h().offerConsole(e.g.dom, remoteDom, remotePort)
	return e.Domain.BindInterdomain(remoteDom, remotePort)
}

func (e evtchns) Status(s *xen.EvtchnStatus) int {
	st, r := e.Domain.Status(s.Dom, s.Port)
	if r != 0 {
		return r
	}
	s.Status, s.VCPU = st.State, st.VCPU
	switch st.State {
	case xen.EvtchnStatUnbound:
		s.SetUnbound(st.RemoteDom)
	case xen.EvtchnStatInterdomain:
		s.SetInterdomain(st.RemoteDom, st.RemotePort)
	case xen.EvtchnStatVirq:
		s.SetVirq(st.VIRQ)
	}
	return 0
}

// setXenTimer arms v's one-shot timer for guest system time deadline; a
// deadline already past fires at once (Linux BUGs on anything else).
func (h *Hypervisor) setXenTimer(v *VCPU, deadline int64) {
	v.timer = h.deadlineFromSystem(deadline)
	v.xen.xenTimer = true
	v.timerFired = false
}
