// Package vioapic emulates an IO-APIC for a guest that mirrors one host
// IO-APIC, as Xen's xen/arch/x86/hvm/vioapic.c does for a PVH dom0 (one
// vIO-APIC per host IO-APIC, same base address, pin count and GSI base;
// see ../shared/docs/dom0-toolstack.md §A.3). The guest programs its own
// vectors and destinations; hv programs the physical pin with its own
// vector and forwards the physical line here.
//
// Register model (Intel 82093AA IO-APIC datasheet, and the version 0x20
// IO-APIC of later chipsets, which adds the EOI register):
//
//   - MMIO: IOREGSEL at +0x00 (8 bits), IOWIN at +0x10 (32 bits), and for
//     version 0x20 the EOI register at +0x40 (write a vector: as if the
//     local APIC had broadcast an EOI for it to this IO-APIC).
//   - Indirect registers: 0x00 IOAPICID (ID in bits 27:24), 0x01 IOAPICVER
//     (version, max redirection entry = pins-1 in bits 23:16), 0x02
//     IOAPICARB (reads as the ID), 0x10+2n / 0x11+2n the low and high
//     halves of redirection entry n.
//   - RTE: vector 7:0, delivery mode 10:8, destination mode 11, delivery
//     status 12 (read-only, always 0: delivery is instant), polarity 13,
//     remote IRR 14 (read-only), trigger mode 15, mask 16, destination
//     63:56 (the high half is kept as written).
//
// Line semantics follow Xen's vioapic_irq_positive_edge, vioapic_deliver,
// vioapic_write_redirent and vioapic_update_EOI: an edge-triggered pin
// delivers on each Assert while unmasked (an edge while masked is lost); a
// level-triggered pin delivers once, setting remote IRR, and not again
// until the guest's EOI for its vector clears remote IRR; if the line is
// still asserted and the pin unmasked then, it is delivered again. A level
// line asserted while masked is delivered when the guest unmasks the pin.
// Assert and Deassert are logical (asserted = active): the host has
// already accounted for polarity when it programmed the physical pin.
//
// Hostile accesses never panic: unknown offsets and registers read as 0
// and ignore writes, IOREGSEL values past the last RTE select nothing, and
// accesses of odd sizes are cut down or ignored (FuzzMMIO).
//
// # What the wiring does (hv/dom0_irq.go)
//
// Trap dom0's accesses to each host IO-APIC page and call Read/Write; keep
// the page out of dom0's p2m. In OnUnmask, route the GSI (base + pin) to
// an hv vector with the RTE's trigger mode and polarity on the physical
// IO-APIC; in OnMask, mask it. On the physical interrupt, for a level line
// mask the physical pin, then Assert the pin here; in OnEOI, Deassert it
// and unmask the physical pin, so a device still asserting interrupts
// again. Deliver injects the vector through dom0's local APIC model
// (which must call EOI with the vector when dom0 EOIs a level interrupt,
// i.e. one whose TMR bit is set).
package vioapic

import "fmt"

// MMIO offsets from the IO-APIC's base.
const (
	RegSelect = 0x00 // IOREGSEL
	RegWindow = 0x10 // IOWIN
	RegEOI    = 0x40 // EOI register (version 0x20)
	// Size is the MMIO window Xen emulates (VIOAPIC_MEM_LENGTH); hv traps
	// the whole 4 KiB page, and offsets past Size read as 0.
	Size = 0x100
)

// Indirect register indexes (IOREGSEL values).
const (
	IndexID    = 0x00
	IndexVer   = 0x01
	IndexArb   = 0x02
	IndexRedir = 0x10 // RTE n: low half 0x10+2n, high half 0x11+2n
)

// Versions the model can report.
const (
	Version11 = 0x11 // 82093AA-compatible, no EOI register
	Version20 = 0x20 // with the EOI register at +0x40
)

// MaxPins is the most redirection entries an 8-bit IOREGSEL can reach.
const MaxPins = (0x100 - IndexRedir) / 2

// RTE is a 64-bit redirection table entry.
type RTE uint64

// RTE fields.
const (
	RTEVector         RTE = 0xff
	RTEDeliveryMode   RTE = 7 << 8
	RTEDestLogical    RTE = 1 << 11
	RTEDeliveryStatus RTE = 1 << 12 // read-only
	RTEActiveLow      RTE = 1 << 13
	RTERemoteIRR      RTE = 1 << 14 // read-only
	RTELevel          RTE = 1 << 15
	RTEMasked         RTE = 1 << 16
	rteDestShift          = 56
	rteReadOnly           = RTEDeliveryStatus | RTERemoteIRR
)

// Delivery modes (RTE bits 10:8).
const (
	DeliveryFixed  = 0
	DeliveryLowest = 1
	DeliverySMI    = 2
	DeliveryNMI    = 4
	DeliveryINIT   = 5
	DeliveryExtINT = 7
)

func (r RTE) Vector() uint8        { return uint8(r & RTEVector) }
func (r RTE) DeliveryMode() uint8  { return uint8((r & RTEDeliveryMode) >> 8) }
func (r RTE) LogicalDest() bool    { return r&RTEDestLogical != 0 }
func (r RTE) ActiveLow() bool      { return r&RTEActiveLow != 0 }
func (r RTE) RemoteIRR() bool      { return r&RTERemoteIRR != 0 }
func (r RTE) LevelTriggered() bool { return r&RTELevel != 0 }
func (r RTE) Masked() bool         { return r&RTEMasked != 0 }
func (r RTE) Dest() uint8          { return uint8(r >> rteDestShift) }

// Interrupt is one message the IO-APIC sends to the local APICs.
type Interrupt struct {
	Pin          int
	Vector       uint8
	Dest         uint8
	LogicalDest  bool
	DeliveryMode uint8
	Level        bool
}

// Host is the hypervisor side of one vIO-APIC. The IO-APIC calls it with
// no locks held, and its methods may call back into Assert and Deassert.
type Host interface {
	// Deliver sends an interrupt to the guest's local APICs.
	Deliver(irq Interrupt)
	// OnUnmask: the guest unmasked pin (or changed its trigger mode or
	// polarity while unmasked); rte is the new entry.
	OnUnmask(pin int, rte RTE)
	// OnMask: the guest masked pin.
	OnMask(pin int)
	// OnEOI: the guest's EOI cleared pin's remote IRR. It runs before the
	// IO-APIC looks at the line again, so the host can Deassert a line it
	// will re-sample by unmasking the physical pin.
	OnEOI(pin int)
}

// IOAPIC is one emulated IO-APIC. Not safe for concurrent use.
type IOAPIC struct {
	host     Host
	id       uint8
	version  uint8
	sel      uint8
	rte      []RTE
	asserted []bool
	eoiPins  []int // reused by EOI
}

// New returns an IO-APIC with the given ID (4 bits), version (Version11 or
// Version20) and pin count (1..MaxPins), every pin masked.
func New(id, version uint8, pins int, host Host) (*IOAPIC, error) {
	if version != Version11 && version != Version20 {
		return nil, fmt.Errorf("vioapic: version %#x (want 0x11 or 0x20)", version)
	}
	if pins < 1 || pins > MaxPins {
		return nil, fmt.Errorf("vioapic: %d pins (want 1..%d)", pins, MaxPins)
	}
	if host == nil {
		return nil, fmt.Errorf("vioapic: no host")
	}
	a := &IOAPIC{host: host, id: id & 0xf, version: version, rte: make([]RTE, pins), asserted: make([]bool, pins)}
	for i := range a.rte {
		a.rte[i] = RTEMasked
	}
	return a, nil
}

// Pins returns the number of redirection entries.
func (a *IOAPIC) Pins() int { return len(a.rte) }

// RTE returns pin's entry as the guest would read it (0 for a bad pin).
func (a *IOAPIC) RTE(pin int) RTE {
	if pin < 0 || pin >= len(a.rte) {
		return 0
	}
	return a.rte[pin]
}

// Read handles a guest read of size bytes (1, 2, 4 or 8) at offset off.
func (a *IOAPIC) Read(off uint64, size int) uint64 {
	var v uint32
	switch off {
	case RegSelect:
		v = uint32(a.sel)
	case RegWindow:
		v = a.readIndirect()
	}
	switch size {
	case 1:
		return uint64(v & 0xff)
	case 2:
		return uint64(v & 0xffff)
	case 4, 8:
		return uint64(v)
	}
	return 0
}

// Write handles a guest write of size bytes at offset off. IOREGSEL takes
// any size (its low byte); IOWIN and EOI take 4- or 8-byte writes (the low
// 32 bits), and ignore narrower ones, which would tear an RTE half.
func (a *IOAPIC) Write(off uint64, size int, v uint64) {
	if size != 1 && size != 2 && size != 4 && size != 8 {
		return
	}
	switch off {
	case RegSelect:
		a.sel = uint8(v)
	case RegWindow:
		if size >= 4 {
			a.writeIndirect(uint32(v))
		}
	case RegEOI:
		if a.version == Version20 && size >= 4 {
			a.EOI(uint8(v))
		}
	}
}

func (a *IOAPIC) redirIndex() (pin int, high bool, ok bool) {
	if a.sel < IndexRedir {
		return 0, false, false
	}
	pin = int(a.sel-IndexRedir) / 2
	if pin >= len(a.rte) {
		return 0, false, false
	}
	return pin, a.sel&1 == 1, true
}

func (a *IOAPIC) readIndirect() uint32 {
	switch a.sel {
	case IndexID, IndexArb:
		return uint32(a.id) << 24
	case IndexVer:
		return uint32(a.version) | uint32(len(a.rte)-1)<<16
	}
	pin, high, ok := a.redirIndex()
	if !ok {
		return 0
	}
	if high {
		return uint32(a.rte[pin] >> 32)
	}
	return uint32(a.rte[pin])
}

func (a *IOAPIC) writeIndirect(v uint32) {
	if a.sel == IndexID {
		a.id = uint8(v>>24) & 0xf
		return
	}
	pin, high, ok := a.redirIndex()
	if !ok {
		return // IOAPICVER, IOAPICARB and unknown registers are read-only
	}
	old := a.rte[pin]
	if high {
		a.rte[pin] = old&0xffffffff | RTE(v)<<32
		return
	}
	n := old&^0xffffffff | RTE(v)&^rteReadOnly | old&RTERemoteIRR
	if !n.LevelTriggered() {
		n &^= RTERemoteIRR // Xen: an edge pin has no remote IRR
	}
	a.rte[pin] = n
	switch {
	case old.Masked() && !n.Masked():
		a.host.OnUnmask(pin, n)
	case !old.Masked() && n.Masked():
		a.host.OnMask(pin)
	case !n.Masked() && (old^n)&(RTELevel|RTEActiveLow) != 0:
		a.host.OnUnmask(pin, n)
	}
	// The callbacks may have changed the pin; look at it afresh.
	a.maybeDeliverLevel(pin)
}

// maybeDeliverLevel delivers a level pin whose line is asserted, when it is
// unmasked and not waiting for an EOI.
func (a *IOAPIC) maybeDeliverLevel(pin int) {
	r := a.rte[pin]
	if r.LevelTriggered() && !r.Masked() && !r.RemoteIRR() && a.asserted[pin] {
		a.rte[pin] |= RTERemoteIRR
		a.deliver(pin)
	}
}

func (a *IOAPIC) deliver(pin int) {
	r := a.rte[pin]
	a.host.Deliver(Interrupt{
		Pin:          pin,
		Vector:       r.Vector(),
		Dest:         r.Dest(),
		LogicalDest:  r.LogicalDest(),
		DeliveryMode: r.DeliveryMode(),
		Level:        r.LevelTriggered(),
	})
}

// Assert raises pin's line (the host saw its physical interrupt). An edge
// pin delivers now if unmasked; a level pin delivers unless masked or
// still waiting for an EOI. Bad pins are ignored.
func (a *IOAPIC) Assert(pin int) {
	if pin < 0 || pin >= len(a.rte) {
		return
	}
	if !a.rte[pin].LevelTriggered() {
		if !a.rte[pin].Masked() {
			a.deliver(pin)
		}
		return
	}
	a.asserted[pin] = true
	a.maybeDeliverLevel(pin)
}

// Deassert lowers pin's line. Bad pins are ignored.
func (a *IOAPIC) Deassert(pin int) {
	if pin < 0 || pin >= len(a.rte) {
		return
	}
	a.asserted[pin] = false
}

// Asserted reports pin's line level.
func (a *IOAPIC) Asserted(pin int) bool {
	return pin >= 0 && pin < len(a.rte) && a.asserted[pin]
}

// EOI handles an EOI for vector from the guest's local APIC (broadcast to
// every IO-APIC, or directed through the version 0x20 EOI register). Every
// level pin with remote IRR set and this vector has remote IRR cleared and
// is reported to Host.OnEOI; a pin still asserted and unmasked is then
// delivered again. It returns those pins (the physical pins hv may now
// unmask); the slice is reused by the next call. Host.OnEOI must not call
// EOI.
func (a *IOAPIC) EOI(vector uint8) []int {
	a.eoiPins = a.eoiPins[:0]
	for pin, r := range a.rte {
		if r.LevelTriggered() && r.RemoteIRR() && r.Vector() == vector {
			a.rte[pin] &^= RTERemoteIRR
			a.eoiPins = append(a.eoiPins, pin)
		}
	}
	pins := a.eoiPins
	for _, pin := range pins {
		a.host.OnEOI(pin)
	}
	for _, pin := range pins {
		a.maybeDeliverLevel(pin)
	}
	return pins
}
