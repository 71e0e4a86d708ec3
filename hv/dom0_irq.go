package hv

// dom0's device interrupts (issue 9 item 5), on the model of Xen's
// vioapic_hwdom_map_gsi / pt_irq_create_bind / hvm_dpci_eoi for a PVH dom0
// (dom0-toolstack.md §A.3), without PIRQs:
//
//   - dom0 programs its emulated IO-APICs (hv/vioapic), one per host
//     IO-APIC at the same address and GSI base. When it unmasks a pin (or
//     changes an unmasked pin's trigger mode or polarity), hv routes the
//     physical pin (the same GSI) with dom0's trigger mode and polarity to a
//     host vector on hv's CPU (HostIRQs.RouteGSI) and unmasks it; masking
//     follows through.
//   - The physical interrupt is taken by the platform (rt), which records
//     its host vector, and for a level-triggered pin masks it before its
//     EOI. The run loop picks the vectors up (pollIRQs: before every guest
//     entry, and when woken from idle by the platform's IRQ wait) and
//     asserts the pin on dom0's vIO-APIC, which delivers dom0's own vector
//     to the local APICs its RTE names (Deliver).
//   - An edge pin is done with then. A level pin stays masked at the
//     physical IO-APIC until dom0 EOIs its vector at its local APIC (the
//     TMR bit is set, so vlapic calls OnEOI → vioapic.EOI → OnEOI below):
//     hv lowers the virtual line and unmasks the physical pin, and a device
//     still asserting its line interrupts again.

import (
	"math/bits"

	"gozen/hv/vioapic"
	"gozen/hv/vlapic"
)

// HostIRQs is the platform's interrupt controller, through which hv
// routes the host's device interrupts to dom0 (cmd/hv wires it to rt).
type HostIRQs interface {
	// IOAPICPins is the pin count of the host IO-APIC at addr (0 if the
	// platform does not drive it).
	IOAPICPins(addr uint64) int
	// RouteGSI programs gsi's physical pin, masked, with the given trigger
	// mode and polarity, to a host vector on hv's CPU, and returns it (the
	// same vector for the same GSI every time).
	RouteGSI(gsi uint32, level, activeLow bool) (vector uint8, err error)
	MaskGSI(gsi uint32)
	UnmaskGSI(gsi uint32)
	// Take moves the host vectors that fired since the last call into p
	// (bit v of p[v/64]) and reports whether there were any; Pending
	// reports whether Take would find any (cheap: called before every
	// guest entry).
	Take(p *[4]uint64) bool
	Pending() bool
	// AllocMSIVector returns a host vector for an MSI, and the message
	// address and data that send it to hv's CPU.
	AllocMSIVector() (vector uint8, addr uint64, data uint32, err error)
	// Wait blocks until an interrupt has arrived since seq (a value it
	// returned before, 0 at first) and returns the new count; hv calls it
	// from a goroutine of its own to wake the idle run loop.
	Wait(seq uint32) uint32
}

// dom0IRQ is the routing of host vectors to dom0 (Hypervisor.irq).
type dom0IRQ struct {
	d    *Domain
	host HostIRQs
	// byVector is what each host vector is: an IO-APIC pin (ioapic >= 0).
	byVector [256]irqSource
	taken    [4]uint64
	// unrouted counts host vectors that fired with nothing behind them.
	unrouted uint64
}

type irqSource struct {
	ok     bool
	msi    *pciDev // an MSI (dom0_msi.go), else an IO-APIC pin:
	ioapic int     // index into dom0State.ioapic
	pin    int
}

// irqPin is hv's state of one pin of a dom0 IO-APIC.
type irqPin struct {
	routed    bool
	vector    uint8 // host vector
	level     bool
	activeLow bool
	// inflight: a level interrupt was taken and the physical pin stays
	// masked until dom0's EOI.
	inflight bool
	failed   bool // routing failed once (logged)
}

// ioapicHost is vioapic.Host for dom0's IO-APIC number idx.
type ioapicHost struct {
	h   *Hypervisor
	d   *Domain
	idx int
}

func (c ioapicHost) io() *dom0IOAPIC { return &c.d.dom0.ioapic[c.idx] }

// Deliver sends dom0's interrupt to the local APICs its RTE names, as
// vioapic_deliver does through vlapic_lowest_prio / vlapic_match_dest.
func (c ioapicHost) Deliver(irq vioapic.Interrupt) {
	c.h.deliverToDom0(c.d, vlapic.IPI{Vector: irq.Vector, Mode: irq.DeliveryMode, Logical: irq.LogicalDest, Level: irq.Level, Dest: irq.Dest})
}

// deliverToDom0 takes a fixed, lowest-priority or NMI message for dom0's
// local APICs (from its IO-APIC, or an MSI).
func (h *Hypervisor) deliverToDom0(d *Domain, ipi vlapic.IPI) {
	apics := d.apics[:0]
	for _, t := range d.vcpus {
		apics = append(apics, t.lapic)
	}
	d.apics = apics
	d.ipiTargets = vlapic.Targets(ipi, -1, apics, d.ipiTargets)
	for _, i := range d.ipiTargets {
		t := d.vcpus[i]
		if t.state == VCPUDead {
			continue
		}
		switch ipi.Mode {
		case vlapic.ModeFixed, vlapic.ModeLowest:
			if t.lapic.Accept(ipi.Vector, ipi.Level) {
				h.kickVCPU(t)
			}
		case vlapic.ModeNMI:
			t.nmiPending = true
			h.kickVCPU(t)
		}
		// SMI, INIT, ExtINT from an IO-APIC pin: not offered (Xen's
		// vioapic_deliver logs them as unsupported too).
	}
}

// OnUnmask routes and unmasks the physical pin with dom0's trigger mode
// and polarity.
func (c ioapicHost) OnUnmask(pin int, rte vioapic.RTE) {
	io := c.io()
	p := &io.pins[pin]
	irq := c.h.irq
	if irq == nil {
		return
	}
	level, low := rte.LevelTriggered(), rte.ActiveLow()
	if !p.routed || p.level != level || p.activeLow != low {
		gsi := io.gsiBase + uint32(pin)
		vec, err := irq.host.RouteGSI(gsi, level, low)
		if err != nil {
			if !p.failed {
				p.failed = true
				c.h.logf("dom0: GSI %d cannot be routed: %v; its interrupts are lost", gsi, err)
			}
			return
		}
		if p.routed && p.vector != vec {
			irq.byVector[p.vector] = irqSource{}
		}
		p.routed, p.vector, p.level, p.activeLow = true, vec, level, low
		if !level {
			p.inflight = false
		}
		irq.byVector[vec] = irqSource{ok: true, ioapic: c.idx, pin: pin}
		c.h.logf("dom0: GSI %d routed (%s, active %s): host vector %#x, dom0's vector %#x", gsi, trigger(level), polarity(low), vec, rte.Vector())
	}
	if !p.inflight {
		irq.host.UnmaskGSI(io.gsiBase + uint32(pin))
	}
}

// OnMask masks the physical pin.
func (c ioapicHost) OnMask(pin int) {
	io := c.io()
	if c.h.irq != nil && io.pins[pin].routed {
		c.h.irq.host.MaskGSI(io.gsiBase + uint32(pin))
	}
}

// OnEOI is dom0's EOI of a level pin's vector: the virtual line drops and
// the physical pin is unmasked, so a line still asserted fires again.
func (c ioapicHost) OnEOI(pin int) {
	io := c.io()
	p := &io.pins[pin]
	p.inflight = false
	io.a.Deassert(pin)
	if c.h.irq != nil && p.routed && !io.a.RTE(pin).Masked() {
		c.h.irq.host.UnmaskGSI(io.gsiBase + uint32(pin))
	}
}

// dom0EOI is dom0's local APIC retiring a level-triggered vector: every
// IO-APIC of dom0 hears it (the broadcast EOI of an xAPIC without
// directed EOI; Xen's vlapic_EOI_set → vioapic_update_EOI).
func (s *dom0State) dom0EOI(vector uint8) {
	for i := range s.ioapic {
		s.ioapic[i].a.EOI(vector)
	}
}

// pollIRQs hands the host interrupts that arrived to dom0. It reports
// whether it woke a vCPU of dom0 other than cur (the caller may end cur's
// slice so dom0 gets to it soon).
func (h *Hypervisor) pollIRQs(cur *VCPU) bool {
	irq := h.irq
	if irq == nil || !irq.host.Pending() {
		return false
	}
	if !irq.host.Take(&irq.taken) {
		return false
	}
	d := irq.d
	alive := d.state == DomainRunning || d.state == DomainPaused
	var blocked [8]bool // which of dom0's first vCPUs were blocked
	for i, v := range d.vcpus {
		if i < len(blocked) {
			blocked[i] = v.state == VCPUBlocked
		}
	}
	for w, word := range irq.taken {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &^= 1 << b
			src := irq.byVector[w*64+b]
			if !src.ok || !alive {
				irq.unrouted++
				continue
			}
			if src.msi != nil {
				if src.msi.ctrl&msiCtrlEnable != 0 {
					h.deliverToDom0(d, src.msi.msiIPI())
				}
				continue
			}
			io := &d.dom0.ioapic[src.ioapic]
			p := &io.pins[src.pin]
			if p.level {
				p.inflight = true // the platform masked the pin
			}
			io.a.Assert(src.pin)
		}
	}
	woke := false
	for i, v := range d.vcpus {
		if i < len(blocked) && blocked[i] && v.state != VCPUBlocked && v != cur {
			woke = true
		}
	}
	return woke
}

// startIRQWait starts the goroutine that wakes the idle run loop when a
// host interrupt arrives.
func (h *Hypervisor) startIRQWait(host HostIRQs) {
	go func() {
		var seq uint32
		for {
			seq = host.Wait(seq)
			h.kick()
		}
	}()
}

func trigger(level bool) string {
	if level {
		return "level"
	}
	return "edge"
}

func polarity(low bool) string {
	if low {
		return "low"
	}
	return "high"
}
