package hv

import (
	"strings"
	"testing"

	"gozen/hv/backend"
	"gozen/hv/x86"
)

const testTSCHz = 2_000_000_000

// tscAfter returns the TSC value pitTicks PIT ticks after start.
func tscAfter(start, pitTicks uint64) uint64 { return start + pitTicks*testTSCHz/pitHz + 1 }

// Linux's quick_pit_calibrate sequence: gate high, mode 0 LSB/MSB, count
// 0xffff, then pairs of reads of which the second (the MSB) must fall.
func TestPITChannel2CountsDown(t *testing.T) {
	var p pit2
	const t0 = 1_000_000
	p.outb(pitGatePort, p.in(pitGatePort, t0, testTSCHz)&^2|1, t0, testTSCHz)
	p.outb(pitControlPort, 0xb0, t0, testTSCHz)
	p.outb(pitCh2Port, 0xff, t0, testTSCHz)
	p.outb(pitCh2Port, 0xff, t0, testTSCHz)
	read16 := func(tsc uint64) uint16 {
		lo := p.in(pitCh2Port, tsc, testTSCHz)
		hi := p.in(pitCh2Port, tsc, testTSCHz)
		return uint16(hi)<<8 | uint16(lo)
	}
	if got := read16(t0); got != 0xffff {
		t.Errorf("count at load = %#x, want 0xffff", got)
	}
	if got := read16(tscAfter(t0, 256)); got != 0xffff-256 {
		t.Errorf("count after 256 ticks = %#x, want %#x", got, 0xffff-256)
	}
	if p.in(pitGatePort, tscAfter(t0, 100), testTSCHz)&(1<<5) != 0 {
		t.Error("OUT2 high before the count ran out")
	}
	if v := p.in(pitGatePort, tscAfter(t0, 0xffff), testTSCHz); v&(1<<5) == 0 || v&3 != 1 {
		t.Errorf("port 0x61 = %#x after the count ran out: want OUT2 high, gate 1, speaker 0", v)
	}
	// Mode 0 wraps past zero and keeps counting.
	if got := read16(tscAfter(t0, 0x10000+5)); got != 0xffff-5 {
		t.Errorf("count after wrap = %#x", got)
	}
	// Counter latch: the latched value is read even though time moves on.
	p.outb(pitControlPort, 0x80, tscAfter(t0, 1000), testTSCHz)
	if got := read16(tscAfter(t0, 3000)); got != 0xffff-1000 {
		t.Errorf("latched count = %#x, want %#x", got, 0xffff-1000)
	}
	// Read-back command latching channel 2.
	p.outb(pitControlPort, 0xc8, tscAfter(t0, 2000), testTSCHz)
	if got := read16(tscAfter(t0, 3000)); got != 0xffff-2000 {
		t.Errorf("read-back latched count = %#x, want %#x", got, 0xffff-2000)
	}
	// A new control word stops the count until it is loaded again.
	p.outb(pitControlPort, 0xb6, tscAfter(t0, 4000), testTSCHz) // mode 3, LSB/MSB
	p.outb(pitCh2Port, 100, tscAfter(t0, 4000), testTSCHz)
	p.outb(pitCh2Port, 0, tscAfter(t0, 4000), testTSCHz)
	if got := read16(tscAfter(t0, 4000+130)); got != 70 {
		t.Errorf("mode 3 count = %d, want 70 (period 100)", got)
	}
	// The refresh bit toggles, so loops waiting on it end too.
	a, b := p.in(pitGatePort, t0, testTSCHz), p.in(pitGatePort, t0, testTSCHz)
	if (a^b)&(1<<4) == 0 {
		t.Error("port 0x61 bit 4 does not toggle")
	}
}

// Through the exit path: a guest reading port 0x42 in a loop sees the count
// change, and the exits are counted by port.
func TestPITAndPortCountsThroughExits(t *testing.T) {
	h, be, _ := newTestHV(nil)
	d, err := h.CreateDomain(DomainConfig{Name: "p", Mem: 4 << 20, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	v, f := d.vcpus[0], be.vcpus[0]
	io := func(port uint16, in bool, val uint64) uint64 {
		f.regs[x86.RAX] = val
		h.handleExit(v, &backend.Exit{Reason: backend.ExitIO, Port: port, Size: 1, In: in, IONextRIP: f.rip})
		return f.regs[x86.RAX]
	}
	io(pitControlPort, false, 0xb0)
	io(pitCh2Port, false, 0xff)
	io(pitCh2Port, false, 0xff)
	first := io(pitCh2Port, true, 0) | io(pitCh2Port, true, 0)<<8
	h.env.(*fakeEnv).now += 10_000_000 // fakeEnv's TSC is its clock
	h.clock.hz = 1_000_000_000
	later := io(pitCh2Port, true, 0) | io(pitCh2Port, true, 0)<<8
	if later >= first {
		t.Errorf("count did not fall: %#x then %#x", first, later)
	}
	io(0x70, true, 0)
	if got := d.io.ports.summary(2); got != "8 port I/O exits: 0x42 6, 0x43 1, 1 on other ports" {
		t.Errorf("summary %q", got)
	}
}

func TestPortCountsFull(t *testing.T) {
	var c portCounts
	for p := 0; p < 100; p++ {
		for i := 0; i <= p; i++ {
			c.add(uint16(p * 7))
		}
	}
	if c.total != 5050 || c.other == 0 {
		t.Errorf("total %d, other %d", c.total, c.other)
	}
	s := c.summary(3)
	if !strings.HasPrefix(s, "5050 port I/O exits: ") || !strings.HasSuffix(s, "on other ports") {
		t.Errorf("summary %q", s)
	}
	if allocs := testing.AllocsPerRun(100, func() { c.add(0x42) }); allocs != 0 {
		t.Errorf("add allocates %v", allocs)
	}
}
