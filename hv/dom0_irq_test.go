package hv

import (
	"testing"

	"gozen/acpi"
	"gozen/hv/vioapic"
	"gozen/hv/vlapic"
)

// fakeIRQs is a host interrupt controller: GSIs routed to vectors from
// 0x30 up, each pin's mask, and the vectors that fired. Like rt, it masks
// a level pin when its interrupt fires.
type fakeIRQs struct {
	vec     map[uint32]uint8
	level   map[uint32]bool
	low     map[uint32]bool
	masked  map[uint32]bool
	routes  int
	msis    int
	pending [4]uint64
}

func newFakeIRQs() *fakeIRQs {
	return &fakeIRQs{vec: map[uint32]uint8{}, level: map[uint32]bool{}, low: map[uint32]bool{}, masked: map[uint32]bool{}}
}

func (f *fakeIRQs) IOAPICPins(addr uint64) int { return 24 }
func (f *fakeIRQs) RouteGSI(gsi uint32, level, low bool) (uint8, error) {
	v, ok := f.vec[gsi]
	if !ok {
		v = uint8(0x30 + len(f.vec))
		f.vec[gsi] = v
	}
	f.level[gsi], f.low[gsi], f.masked[gsi] = level, low, true
	f.routes++
	return v, nil
}
func (f *fakeIRQs) MaskGSI(gsi uint32)   { f.masked[gsi] = true }
func (f *fakeIRQs) UnmaskGSI(gsi uint32) { f.masked[gsi] = false }
func (f *fakeIRQs) Pending() bool        { return f.pending != [4]uint64{} }
func (f *fakeIRQs) Take(p *[4]uint64) bool {
	*p, f.pending = f.pending, [4]uint64{}
	return *p != [4]uint64{}
}
func (f *fakeIRQs) Wait(seq uint32) uint32 { select {} }
func (f *fakeIRQs) AllocMSIVector() (uint8, uint64, uint32, error) {
	v := uint8(0x90 + f.msis)
	f.msis++
	return v, 0xfee00000, uint32(v), nil
}

// fire is GSI gsi's physical interrupt (it must be unmasked, as on the
// hardware).
func (f *fakeIRQs) fire(t *testing.T, gsi uint32) {
	t.Helper()
	if f.masked[gsi] {
		t.Fatalf("GSI %d fired while masked", gsi)
	}
	v := f.vec[gsi]
	if f.level[gsi] {
		f.masked[gsi] = true
	}
	f.pending[v/64] |= 1 << (v % 64)
}

// dom0WithIRQs is a dom0 with two vCPUs (APICs enabled) and one IO-APIC
// wired to a fake host.
func dom0WithIRQs(t *testing.T) (*Hypervisor, *Domain, *fakeIRQs, *vioapic.IOAPIC) {
	return dom0WithIRQsPorts(t, nil)
}

func dom0WithIRQsPorts(t *testing.T, ports HostPorts) (*Hypervisor, *Domain, *fakeIRQs, *vioapic.IOAPIC) {
	h, _, c := dom0HV(t)
	f := newFakeIRQs()
	c.IRQs = f
	c.Ports = ports
	c.ACPI = &acpi.Host{RSDP: acpi.RSDP{Revision: 2}, MADT: &acpi.MADT{IOAPICs: []acpi.IOAPIC{{ID: 0, Addr: 0xfec00000}}}}
	d, err := h.CreateDomain(DomainConfig{Name: "dom0", VCPUs: 2, Kernel: pvhELF(insnHLT), Dom0: c})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range d.vcpus {
		v.lapic.Write(vlapic.RegSVR, 0x1ff, 0)
	}
	return h, d, f, d.dom0ioapic(0xfec00000)
}

// setRTE programs pin as dom0 does, through IOREGSEL/IOWIN.
func setRTE(a *vioapic.IOAPIC, pin int, rte vioapic.RTE) {
	a.Write(vioapic.RegSelect, 4, uint64(vioapic.IndexRedir+2*pin+1))
	a.Write(vioapic.RegWindow, 4, uint64(rte>>32))
	a.Write(vioapic.RegSelect, 4, uint64(vioapic.IndexRedir+2*pin))
	a.Write(vioapic.RegWindow, 4, uint64(uint32(rte)))
}

func TestDom0LevelIRQWaitsForEOI(t *testing.T) {
	h, d, f, a := dom0WithIRQs(t)
	v := d.vcpus[0]
	setRTE(a, 11, vioapic.RTELevel|vioapic.RTEActiveLow|0x41)
	if _, ok := f.vec[11]; !ok || !f.level[11] || !f.low[11] || f.masked[11] {
		t.Fatalf("GSI 11 after dom0 unmasked it: routed %v level %v low %v masked %v", ok, f.level[11], f.low[11], f.masked[11])
	}
	f.fire(t, 11)
	h.pollIRQs(nil)
	if !v.lapic.InRequest(0x41) {
		t.Fatal("dom0's vector 0x41 not requested at its APIC")
	}
	if !a.RTE(11).RemoteIRR() {
		t.Error("remote IRR not set")
	}
	// dom0 takes it; the pin stays masked at the host until its EOI.
	v.lapic.Ack(0x41)
	if !f.masked[11] {
		t.Fatal("level pin unmasked before dom0's EOI")
	}
	v.lapic.Write(vlapic.RegEOI, 0, 0)
	if f.masked[11] || a.RTE(11).RemoteIRR() {
		t.Fatalf("after EOI: host masked %v, remote IRR %v", f.masked[11], a.RTE(11).RemoteIRR())
	}
	// The device still asserts its line: it fires again and is delivered again.
	f.fire(t, 11)
	h.pollIRQs(nil)
	if !v.lapic.InRequest(0x41) {
		t.Fatal("second interrupt not delivered")
	}
	// dom0 masking the pin while it waits for an EOI keeps the host pin
	// masked; unmasking does not unmask the host pin before the EOI.
	v.lapic.Ack(0x41)
	setRTE(a, 11, vioapic.RTELevel|vioapic.RTEActiveLow|vioapic.RTEMasked|0x41)
	setRTE(a, 11, vioapic.RTELevel|vioapic.RTEActiveLow|0x41)
	if !f.masked[11] {
		t.Error("host pin unmasked before dom0's EOI")
	}
	v.lapic.Write(vlapic.RegEOI, 0, 0)
	if f.masked[11] {
		t.Error("host pin still masked after dom0's EOI")
	}
}

func TestDom0EdgeIRQRoutingFollowsDom0(t *testing.T) {
	h, d, f, a := dom0WithIRQs(t)
	v0, v1 := d.vcpus[0], d.vcpus[1]
	setRTE(a, 4, 0x52) // edge, active high, physical destination APIC 0
	if f.level[4] || f.low[4] || f.masked[4] {
		t.Fatalf("GSI 4: level %v low %v masked %v", f.level[4], f.low[4], f.masked[4])
	}
	f.fire(t, 4)
	h.pollIRQs(nil)
	if !v0.lapic.InRequest(0x52) || v1.lapic.InRequest(0x52) {
		t.Fatal("edge interrupt not delivered to APIC 0 alone")
	}
	if f.masked[4] {
		t.Error("edge pin masked after delivery")
	}
	// Retargeted to APIC 1 with another vector: no new route, the next
	// interrupt goes there.
	routes := f.routes
	setRTE(a, 4, 1<<56|0x53)
	f.fire(t, 4)
	h.pollIRQs(nil)
	if !v1.lapic.InRequest(0x53) || f.routes != routes {
		t.Errorf("after retargeting: APIC 1 has 0x53 %v, routes %d -> %d", v1.lapic.InRequest(0x53), routes, f.routes)
	}
	// dom0 masks it: the host pin is masked too.
	setRTE(a, 4, vioapic.RTEMasked|1<<56|0x53)
	if !f.masked[4] {
		t.Error("dom0's mask did not reach the host pin")
	}
	// Switching to level (as dom0's ACPI _PRS may) reprograms the host pin.
	setRTE(a, 4, vioapic.RTELevel|1<<56|0x53)
	if !f.level[4] || f.masked[4] {
		t.Errorf("after level: host level %v masked %v", f.level[4], f.masked[4])
	}
}

func TestDom0IRQWakesHaltedVCPU(t *testing.T) {
	h, d, f, a := dom0WithIRQs(t)
	v := d.vcpus[0]
	setRTE(a, 2, 0x30)
	h.rq.Remove(v)
	v.state = VCPUBlocked
	f.fire(t, 2)
	if !h.pollIRQs(d.vcpus[1]) || v.state != VCPURunnable {
		t.Errorf("halted vCPU not woken: state %v", v.state)
	}
	// A vector nothing is routed to is counted and dropped.
	f.pending[0xa0/64] |= 1 << (0xa0 % 64)
	h.pollIRQs(nil)
	if h.irq.unrouted != 1 {
		t.Errorf("unrouted = %d", h.irq.unrouted)
	}
}
