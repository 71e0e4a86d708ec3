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
	return h.addEventsMax(d, 0)
}

// addEventsMax is addEvents with a highest port (createdomain's
// max_evtchn_port; 0: the default).
func (h *Hypervisor) addEventsMax(d *Domain, maxPort uint32) error {
	ed, err := h.events.AddDomain(event.Config{
		ID: d.id, VCPUs: len(d.vcpus), Mem: evMem{d}, Notifier: evNotifier{h}, Handle: d,
		Privileged: d.privileged, MaxPort: maxPort,
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

// xenError wraps a negative Xen errno as a Go error.
type xenError int

func (e xenError) Error() string { return "xen error " + strconv.Itoa(int(-e)) }
