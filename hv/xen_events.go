package hv

import (
	"strconv"

	"gozen/event"
)

// Wiring of package event (Xen event channels) into the core. Every event
// operation runs on the run-loop goroutine (hypercalls, timers), so the
// callbacks below may touch scheduler state directly.

// evMem gives the event package a domain's guest pages.
type evMem struct{ d *Domain }

func (m evMem) Page(gfn uint64) *[4096]byte { return m.d.page(gfn) }

// evNotifier wakes vCPUs for the event package.
type evNotifier struct{ h *Hypervisor }

// Kick implements event.Notifier: an upcall became pending for a vCPU.
func (n evNotifier) Kick(handle event.DomainHandle, vcpu int) {
	d := handle.(*Domain)
	if vcpu >= 0 && vcpu < len(d.vcpus) {
		n.h.kickVCPU(d.vcpus[vcpu])
	}
}

// PortPending implements event.PortNotifier: wakes vCPUs blocked in
// SCHEDOP_poll (any port of the domain wakes them; they recheck).
func (n evNotifier) PortPending(handle event.DomainHandle, port uint32) {
	d := handle.(*Domain)
	for _, v := range d.vcpus {
		if v.xen.polling && v.state == VCPUBlocked {
			n.h.unblock(v)
		}
	}
}

// addEvents registers d with the event system.
func (h *Hypervisor) addEvents(d *Domain) error {
	ed, err := h.events.AddDomain(event.Config{
		ID: d.id, VCPUs: len(d.vcpus), Mem: evMem{d}, Notifier: evNotifier{h}, Handle: d,
	})
	if err != nil {
		return err
	}
	d.ev = ed
	return nil
}

func (h *Hypervisor) eventsSharedInfo(d *Domain, gfn uint64) {
	d.ev.SetSharedInfo(gfn)
}

func (h *Hypervisor) eventsVCPUInfo(v *VCPU, gfn, off uint64) {
	v.dom.ev.RegisterVCPUInfo(uint32(v.id), gfn, uint32(off))
}

// consoleListener is hv's end of a domain's console event channel.
type consoleListener struct {
	h *Hypervisor
	d *Domain
}

func (c consoleListener) Notify(*event.Domain, uint32) { c.h.drainConsole(c.d) }

func (h *Hypervisor) eventsConsolePort(d *Domain) (uint32, error) {
	port, e := d.ev.BindListener(0, consoleListener{h, d})
	if e != 0 {
		return 0, xenError(e)
	}
	return port, nil
}

// raiseTimer delivers VIRQ_TIMER to v.
func (h *Hypervisor) raiseTimer(v *VCPU) {
	if v.dom.ev != nil {
		v.dom.ev.RaiseVIRQ(event.VIRQTimer, v.id)
	}
}

// pollReady reads SCHEDOP_poll's port list and reports whether one of the
// ports is already pending. Errors follow Xen's do_poll: more ports than
// the domain can have is -EINVAL, an unreadable list -EFAULT, a port out of
// range -EINVAL.
func (h *Hypervisor) pollReady(v *VCPU, ports uint64, n uint32) (bool, int64) {
	if n > 128 {
		return false, -errEINVAL
	}
	if n == 0 {
		return false, 0 // no ports: wait for the timeout (or any event)
	}
	buf := make([]byte, 4*n)
	if !h.copyIn(v, ports, buf) {
		return false, -errEFAULT
	}
	ready := false
	for i := uint32(0); i < n; i++ {
		p := le.Uint32(buf[4*i:])
		if p == 0 || p > v.dom.ev.MaxPort() {
			return false, -errEINVAL
		}
		if v.dom.ev.IsPending(p) {
			ready = true
		}
	}
	return ready, 0
}

// evtchnArgSize is the argument struct size of each EVTCHNOP (0: not served).
var evtchnArgSize = [...]int{0: 12, 1: 12, 3: 4, 4: 4, 5: 24, 6: 8, 7: 8, 8: 8, 9: 4, 10: 2, 11: 24, 12: 8, 13: 8}

// eventChannelOp implements event_channel_op (event_channel.h).
func (h *Hypervisor) eventChannelOp(v *VCPU, cmd, arg uint64) int64 {
	ev := v.dom.ev
	if ev == nil {
		return -errENOSYS
	}
	var b [24]byte
	if cmd >= uint64(len(evtchnArgSize)) || evtchnArgSize[cmd] == 0 {
		return -errENOSYS
	}
	size := evtchnArgSize[cmd]
	if !h.copyIn(v, arg, b[:size]) {
		return -errEFAULT
	}
	var r int
	out := false
	switch cmd {
	case 0: // EVTCHNOP_bind_interdomain {remote_dom u16, remote_port u32@4, local_port u32@8}
		var p uint32
		p, r = ev.BindInterdomain(le.Uint16(b[0:]), le.Uint32(b[4:]))
		le.PutUint32(b[8:], p)
		out = true
	case 1: // EVTCHNOP_bind_virq {virq, vcpu, port}
		var p uint32
		p, r = ev.BindVIRQ(le.Uint32(b[0:]), le.Uint32(b[4:]))
		le.PutUint32(b[8:], p)
		out = true
	case 3: // EVTCHNOP_close
		r = ev.Close(le.Uint32(b[0:]))
	case 4: // EVTCHNOP_send
		r = ev.Send(le.Uint32(b[0:]))
	case 5: // EVTCHNOP_status {dom u16, port u32@4, status u32@8, vcpu u32@12, u@16}
		var st event.Status
		st, r = ev.Status(le.Uint16(b[0:]), le.Uint32(b[4:]))
		le.PutUint32(b[8:], st.State)
		le.PutUint32(b[12:], st.VCPU)
		switch st.State {
		case 1: // unbound: {dom}
			le.PutUint16(b[16:], st.RemoteDom)
		case 2: // interdomain: {dom, port}
			le.PutUint16(b[16:], st.RemoteDom)
			le.PutUint32(b[20:], st.RemotePort)
		case 4: // virq
			le.PutUint32(b[16:], st.VIRQ)
		}
		out = true
	case 6: // EVTCHNOP_alloc_unbound {dom u16, remote_dom u16, port u32@4}
		var p uint32
		p, r = ev.AllocUnbound(le.Uint16(b[0:]), le.Uint16(b[2:]))
		le.PutUint32(b[4:], p)
		out = true
	case 7: // EVTCHNOP_bind_ipi {vcpu, port}
		var p uint32
		p, r = ev.BindIPI(le.Uint32(b[0:]))
		le.PutUint32(b[4:], p)
		out = true
	case 8: // EVTCHNOP_bind_vcpu {port, vcpu}
		r = ev.BindVCPU(le.Uint32(b[0:]), le.Uint32(b[4:]))
	case 9: // EVTCHNOP_unmask
		r = ev.Unmask(le.Uint32(b[0:]))
	case 10: // EVTCHNOP_reset {dom}
		r = ev.Reset(le.Uint16(b[0:]))
	case 11: // EVTCHNOP_init_control {control_gfn, offset u32@8, vcpu u32@12, link_bits u8@16}
		var lb uint32
		lb, r = ev.InitControl(le.Uint32(b[12:]), le.Uint64(b[0:]), le.Uint32(b[8:]))
		b[16] = uint8(lb)
		out = true
	case 12: // EVTCHNOP_expand_array {array_gfn}
		r = ev.ExpandArray(le.Uint64(b[0:]))
	case 13: // EVTCHNOP_set_priority {port, priority}
		r = ev.SetPriority(le.Uint32(b[0:]), le.Uint32(b[4:]))
	}
	if r != 0 {
		return int64(r)
	}
	if out && !h.copyOut(v, arg, b[:size]) {
		return -errEFAULT
	}
	return 0
}

// xenError wraps a negative Xen errno as a Go error.
type xenError int

func (e xenError) Error() string { return "xen error " + strconv.Itoa(int(-e)) }
