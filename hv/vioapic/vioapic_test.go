package vioapic

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a Host that logs every callback.
type recorder struct {
	log   []string
	onEOI func(pin int)
}

func (r *recorder) Deliver(i Interrupt) {
	r.log = append(r.log, fmt.Sprintf("deliver pin %d vec %#x dest %d logical %v mode %d level %v", i.Pin, i.Vector, i.Dest, i.LogicalDest, i.DeliveryMode, i.Level))
}
func (r *recorder) OnUnmask(pin int, rte RTE) {
	r.log = append(r.log, fmt.Sprintf("unmask pin %d rte %#x", pin, uint64(rte)))
}
func (r *recorder) OnMask(pin int) { r.log = append(r.log, fmt.Sprintf("mask pin %d", pin)) }
func (r *recorder) OnEOI(pin int) {
	r.log = append(r.log, fmt.Sprintf("eoi pin %d", pin))
	if r.onEOI != nil {
		r.onEOI(pin)
	}
}
func (r *recorder) take() string {
	s := strings.Join(r.log, "; ")
	r.log = nil
	return s
}

func newIOAPIC(t *testing.T, version uint8, pins int) (*IOAPIC, *recorder) {
	t.Helper()
	r := &recorder{}
	a, err := New(2, version, pins, r)
	if err != nil {
		t.Fatal(err)
	}
	return a, r
}

func (a *IOAPIC) reg(sel uint8) uint32 {
	a.Write(RegSelect, 4, uint64(sel))
	return uint32(a.Read(RegWindow, 4))
}

func (a *IOAPIC) setReg(sel uint8, v uint32) {
	a.Write(RegSelect, 4, uint64(sel))
	a.Write(RegWindow, 4, uint64(v))
}

// program writes pin's RTE high half then low half, as Linux does.
func (a *IOAPIC) program(pin int, rte RTE) {
	a.setReg(uint8(IndexRedir+2*pin+1), uint32(rte>>32))
	a.setReg(uint8(IndexRedir+2*pin), uint32(rte))
}

func TestIdentityRegisters(t *testing.T) {
	a, _ := newIOAPIC(t, Version11, 24)
	if got := a.reg(IndexID); got != 2<<24 {
		t.Errorf("IOAPICID = %#x", got)
	}
	if got := a.reg(IndexVer); got != 0x00170011 {
		t.Errorf("IOAPICVER = %#x, want 0x00170011 (24 pins, version 0x11)", got)
	}
	if got := a.reg(IndexArb); got != 2<<24 {
		t.Errorf("IOAPICARB = %#x", got)
	}
	a.setReg(IndexID, 0x0f00_0000|0xabcdef)
	if got := a.reg(IndexID); got != 0x0f00_0000 {
		t.Errorf("IOAPICID after write = %#x", got)
	}
	a.setReg(IndexVer, 0)
	a.setReg(IndexArb, 0)
	if a.reg(IndexVer) != 0x00170011 {
		t.Error("IOAPICVER is writable")
	}
	b, _ := newIOAPIC(t, Version20, 120)
	if got := b.reg(IndexVer); got != 0x00770020 {
		t.Errorf("IOAPICVER = %#x, want 0x00770020", got)
	}
	// IOREGSEL reads back, 8 bits.
	a.Write(RegSelect, 4, 0x1234)
	if got := a.Read(RegSelect, 4); got != 0x34 {
		t.Errorf("IOREGSEL = %#x", got)
	}
	for _, bad := range []struct {
		v    uint8
		pins int
	}{{0x30, 24}, {0x11, 0}, {0x11, 121}} {
		if _, err := New(0, bad.v, bad.pins, &recorder{}); err == nil {
			t.Errorf("New(version %#x, %d pins) accepted", bad.v, bad.pins)
		}
	}
	if _, err := New(0, Version11, 1, nil); err == nil {
		t.Error("New without a host accepted")
	}
}

func TestRTEReadWrite(t *testing.T) {
	a, r := newIOAPIC(t, Version11, 24)
	for pin := 0; pin < 24; pin++ {
		if a.reg(uint8(IndexRedir+2*pin)) != uint32(RTEMasked) || a.reg(uint8(IndexRedir+2*pin+1)) != 0 {
			t.Fatalf("pin %d not masked at reset", pin)
		}
	}
	// Read-only bits: delivery status and remote IRR are not writable.
	a.setReg(IndexRedir+2*5, uint32(RTEMasked|RTEDeliveryStatus|RTERemoteIRR|RTELevel|0x31))
	if got := a.reg(IndexRedir + 2*5); got != uint32(RTEMasked|RTELevel|0x31) {
		t.Errorf("RTE low after writing RO bits = %#x", got)
	}
	a.setReg(IndexRedir+2*5+1, 0x0300_0000)
	if a.RTE(5).Dest() != 3 || a.RTE(5).Vector() != 0x31 || !a.RTE(5).LevelTriggered() {
		t.Errorf("RTE %#x", a.RTE(5))
	}
	if r.take() != "" {
		t.Error("callbacks for writes to a masked pin")
	}
	a.setReg(IndexRedir+2*5, uint32(RTELevel|RTEActiveLow|RTEDestLogical|DeliveryLowest<<8|0x31))
	if got := r.take(); got != "unmask pin 5 rte 0x30000000000a931" {
		t.Errorf("unmask: %q", got)
	}
	// Rewriting the vector while unmasked: no callback; changing trigger: OnUnmask again.
	a.setReg(IndexRedir+2*5, uint32(RTELevel|RTEActiveLow|RTEDestLogical|DeliveryLowest<<8|0x41))
	if got := r.take(); got != "" {
		t.Errorf("vector change: %q", got)
	}
	a.setReg(IndexRedir+2*5, uint32(RTEActiveLow|0x41))
	if got := r.take(); got != "unmask pin 5 rte 0x300000000002041" {
		t.Errorf("trigger change: %q", got)
	}
	a.setReg(IndexRedir+2*5, uint32(RTEMasked|0x41))
	if got := r.take(); got != "mask pin 5" {
		t.Errorf("mask: %q", got)
	}
	if a.RTE(24) != 0 || a.RTE(-1) != 0 {
		t.Error("RTE of a bad pin")
	}
}

func TestEdgeTriggered(t *testing.T) {
	a, r := newIOAPIC(t, Version11, 24)
	a.program(4, 0x0100_0000_0000_0000|0x24) // unmasked, edge, dest 1
	r.take()
	a.Assert(4)
	a.Assert(4)
	if got := r.take(); got != "deliver pin 4 vec 0x24 dest 1 logical false mode 0 level false; deliver pin 4 vec 0x24 dest 1 logical false mode 0 level false" {
		t.Errorf("edges: %q", got)
	}
	if a.RTE(4).RemoteIRR() {
		t.Error("edge pin has remote IRR")
	}
	a.setReg(IndexRedir+8, uint32(RTEMasked|0x24))
	r.take()
	a.Assert(4) // lost while masked
	a.setReg(IndexRedir+8, 0x24)
	if got := r.take(); got != "unmask pin 4 rte 0x100000000000024" {
		t.Errorf("edge while masked then unmask: %q", got)
	}
	if pins := a.EOI(0x24); len(pins) != 0 {
		t.Errorf("EOI for an edge vector reported pins %v", pins)
	}
}

func TestLevelTriggeredOncePerEOI(t *testing.T) {
	a, r := newIOAPIC(t, Version11, 24)
	a.program(16, RTELevel|RTEActiveLow|0x51)
	r.take()
	a.Assert(16)
	a.Assert(16) // still asserted: no second delivery before EOI
	if got := r.take(); got != "deliver pin 16 vec 0x51 dest 0 logical false mode 0 level true" {
		t.Fatalf("assert: %q", got)
	}
	if !a.RTE(16).RemoteIRR() || a.reg(IndexRedir+32)&uint32(RTERemoteIRR) == 0 {
		t.Error("remote IRR not set / not visible")
	}
	if pins := a.EOI(0x52); len(pins) != 0 || !a.RTE(16).RemoteIRR() {
		t.Error("EOI of another vector cleared remote IRR")
	}
	// EOI with the line still asserted: delivered again.
	pins := a.EOI(0x51)
	if len(pins) != 1 || pins[0] != 16 {
		t.Errorf("EOI pins %v", pins)
	}
	if got := r.take(); got != "eoi pin 16; deliver pin 16 vec 0x51 dest 0 logical false mode 0 level true" {
		t.Errorf("EOI while asserted: %q", got)
	}
	// Deasserted before EOI: no redelivery.
	a.Deassert(16)
	a.EOI(0x51)
	if got := r.take(); got != "eoi pin 16" {
		t.Errorf("EOI after deassert: %q", got)
	}
	if a.RTE(16).RemoteIRR() || a.Asserted(16) {
		t.Error("state after EOI")
	}
	// The host's OnEOI deasserts (hv's flow): no redelivery either.
	r.onEOI = func(pin int) { a.Deassert(pin) }
	a.Assert(16)
	a.EOI(0x51)
	if got := r.take(); got != "deliver pin 16 vec 0x51 dest 0 logical false mode 0 level true; eoi pin 16" {
		t.Errorf("OnEOI deasserting: %q", got)
	}
	// ... and the physical line firing again re-delivers.
	a.Assert(16)
	if got := r.take(); got != "deliver pin 16 vec 0x51 dest 0 logical false mode 0 level true" {
		t.Errorf("re-assert: %q", got)
	}
}

func TestLevelMaskedWhileAsserted(t *testing.T) {
	a, r := newIOAPIC(t, Version11, 24)
	a.program(9, RTEMasked|RTELevel|0x61)
	a.Assert(9)
	if got := r.take(); got != "" {
		t.Fatalf("masked level pin delivered: %q", got)
	}
	// Unmasking with the line asserted delivers at once (Xen's vioapic_write_redirent).
	a.setReg(IndexRedir+18, uint32(RTELevel|0x61))
	if got := r.take(); got != "unmask pin 9 rte 0x8061; deliver pin 9 vec 0x61 dest 0 logical false mode 0 level true" {
		t.Errorf("unmask while asserted: %q", got)
	}
	// Masked while waiting for EOI: the EOI still clears remote IRR, no delivery.
	a.setReg(IndexRedir+18, uint32(RTEMasked|RTELevel|0x61))
	r.take()
	a.EOI(0x61)
	if got := r.take(); got != "eoi pin 9" {
		t.Errorf("EOI while masked: %q", got)
	}
	// Switching the pin to edge clears remote IRR.
	a.setReg(IndexRedir+18, uint32(RTELevel|0x61))
	r.take()
	if !a.RTE(9).RemoteIRR() {
		t.Fatal("no remote IRR after unmasking an asserted line")
	}
	a.setReg(IndexRedir+18, uint32(0x61))
	if a.RTE(9).RemoteIRR() {
		t.Error("edge pin kept remote IRR")
	}
}

func TestEOIBroadcastAndRegister(t *testing.T) {
	a, r := newIOAPIC(t, Version20, 24)
	for _, pin := range []int{3, 10, 20} {
		a.program(pin, RTELevel|0x70)
		a.Assert(pin)
	}
	a.program(11, RTELevel|0x71)
	a.Assert(11)
	r.take()
	for _, pin := range []int{3, 10, 20} {
		a.Deassert(pin)
	}
	a.Write(RegEOI, 4, 0x70) // version 0x20's EOI register
	if got := r.take(); got != "eoi pin 3; eoi pin 10; eoi pin 20" {
		t.Errorf("EOI register: %q", got)
	}
	if !a.RTE(11).RemoteIRR() {
		t.Error("EOI of 0x70 cleared pin 11 (vector 0x71)")
	}
	b, rb := newIOAPIC(t, Version11, 24)
	b.program(1, RTELevel|0x70)
	b.Assert(1)
	rb.take()
	b.Write(RegEOI, 4, 0x70) // no EOI register in version 0x11
	if !b.RTE(1).RemoteIRR() || rb.take() != "" {
		t.Error("version 0x11 honoured the EOI register")
	}
}

func TestHostileAccesses(t *testing.T) {
	a, r := newIOAPIC(t, Version11, 24)
	a.setReg(IndexRedir+2*24, 0x12) // one past the last RTE
	a.setReg(0xff, 0x34)
	a.setReg(0x05, 0x56)
	if a.reg(IndexRedir+2*24) != 0 || a.reg(0xff) != 0 || a.reg(0x05) != 0 {
		t.Error("registers past the table read non-zero")
	}
	for _, off := range []uint64{0x04, 0x08, 0x14, 0x20, 0x40, 0xfc, 0x100, 0xfff, 1 << 40} {
		a.Write(off, 4, 0xffffffff)
		if v := a.Read(off, 4); v != 0 {
			t.Errorf("offset %#x reads %#x", off, v)
		}
	}
	// Narrow window writes are dropped; odd sizes are ignored.
	a.Write(RegSelect, 1, IndexRedir)
	a.Write(RegWindow, 2, 0)
	a.Write(RegWindow, 3, 0)
	a.Write(RegWindow, 0, 0)
	if !a.RTE(0).Masked() {
		t.Error("narrow write unmasked pin 0")
	}
	if v := a.Read(RegWindow, 1); v != uint64(RTEMasked&0xff) {
		t.Errorf("byte read of the window = %#x", v)
	}
	if v := a.Read(RegWindow, 3); v != 0 {
		t.Errorf("3-byte read = %#x", v)
	}
	a.Assert(-1)
	a.Assert(24)
	a.Deassert(1 << 30)
	if r.take() != "" {
		t.Error("callbacks from hostile accesses")
	}
}

// FuzzMMIO runs a random sequence of guest accesses and host events and
// checks the invariants: no panic, delivery status always reads 0, only
// unmasked pins deliver, a level pin delivers at most once between EOIs
// of its vector, and only level pins hold remote IRR.
func FuzzMMIO(f *testing.F) {
	f.Add([]byte{0, 0x10, 4, 0, 0x80, 0x51, 1, 0x10, 4, 3, 0, 0x51, 0, 0, 0, 0, 5, 0x51})
	f.Add([]byte{0, 0x11, 2, 0xff, 0xff, 0xff, 1, 0x40, 4, 0x20})
	f.Fuzz(func(t *testing.T, ops []byte) {
		h := &checker{t: t}
		a, err := New(1, Version20, 24, h)
		if err != nil {
			t.Fatal(err)
		}
		h.a = a
		for len(ops) >= 6 {
			op, x, size, v := ops[0]%6, ops[1], int(ops[2]%9), uint64(ops[3])|uint64(ops[4])<<8|uint64(ops[5])<<24
			ops = ops[6:]
			switch op {
			case 0:
				a.Write(uint64(x)&0x7f, size, uint64(x))
			case 1:
				a.Write(uint64(x)&0x7f, size, v)
			case 2:
				a.Read(uint64(x)&0x7f, size)
			case 3:
				a.Assert(int(x) % 30)
			case 4:
				a.Deassert(int(x) % 30)
			case 5:
				for _, pin := range a.EOI(x) {
					h.pending[pin] = false
				}
			}
			for pin := 0; pin < a.Pins(); pin++ {
				lo := a.reg(uint8(IndexRedir + 2*pin))
				if lo&uint32(RTEDeliveryStatus) != 0 {
					t.Fatalf("pin %d delivery status set", pin)
				}
				r := a.RTE(pin)
				if r.RemoteIRR() && !r.LevelTriggered() {
					t.Fatalf("edge pin %d has remote IRR", pin)
				}
				if !r.RemoteIRR() {
					h.pending[pin] = false // a guest write (edge mode) may clear it too
				}
			}
			a.Write(RegSelect, 1, uint64(x)) // restore a random select
		}
	})
}

type checker struct {
	t       *testing.T
	a       *IOAPIC
	pending [MaxPins]bool // level pin delivered, EOI not yet seen
}

func (c *checker) Deliver(i Interrupt) {
	r := c.a.RTE(i.Pin)
	if r.Masked() {
		c.t.Fatalf("masked pin %d delivered", i.Pin)
	}
	if i.Level {
		if c.pending[i.Pin] {
			c.t.Fatalf("level pin %d delivered twice without an EOI", i.Pin)
		}
		c.pending[i.Pin] = true
	}
}
func (c *checker) OnUnmask(int, RTE) {}
func (c *checker) OnMask(int)        {}
func (c *checker) OnEOI(pin int)     { c.pending[pin] = false }
