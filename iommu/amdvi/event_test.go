package amdvi

import (
	"strings"
	"testing"
)

// rawEvent builds an entry as the spec lays it out: DeviceID in bits
// 15:0, PASID[19:16] in 19:16, DomainID/PASID[15:0] in 47:32, flags in
// 59:48, EventCode in 63:60, the address in the second quadword.
func rawEvent(code EventCode, dev uint16, dom uint32, flags uint16, addr uint64) [2]uint64 {
	return [2]uint64{uint64(code)<<60 | uint64(flags)<<48 | uint64(dom&0xffff)<<32 | uint64(dom>>16&0xf)<<16 | uint64(dev), addr}
}

func TestEventStrings(t *testing.T) {
	for _, c := range []struct {
		raw  [2]uint64
		want string
	}{
		{rawEvent(EvIOPageFault, 0x0018, 1, EvFlagRW, 0xdead000),
			"IOMMU fault: device 00:03.0 IO_PAGE_FAULT domain 0x1 address 0xdead000 (write, not present)"},
		{rawEvent(EvIOPageFault, 0x0110, 0x12345, EvFlagPR, 0x1000),
			"IOMMU fault: device 01:02.0 IO_PAGE_FAULT domain 0x12345 address 0x1000 (read, permission)"},
		{rawEvent(EvIOPageFault, 0x00a0, 0, EvFlagI|EvFlagRW, 0xfee00000),
			"IOMMU fault: device 00:14.0 IO_PAGE_FAULT domain 0x0 address 0xfee00000 (interrupt, not present)"},
		{rawEvent(EvIllegalDevTableEntry, 0x0019, 0, EvFlagRZ, 0x200320),
			"IOMMU fault: device 00:03.1 ILLEGAL_DEV_TABLE_ENTRY address 0x200320 (read, reserved bit set)"},
		{rawEvent(EvDevTabHardwareError, 0x0018, 0, 0, 0x200300),
			"IOMMU fault: device 00:03.0 DEV_TAB_HARDWARE_ERROR device table address 0x200300 (read)"},
		{rawEvent(EvPageTabHardwareError, 0x0018, 2, EvFlagTR, 0x555000),
			"IOMMU fault: device 00:03.0 PAGE_TAB_HARDWARE_ERROR domain 0x2 page table address 0x555000 (read, translation request)"},
		{rawEvent(EvIllegalCommandError, 0, 0, 0, 0x300040),
			"IOMMU error: ILLEGAL_COMMAND_ERROR command address 0x300040"},
		{rawEvent(EvCommandHardwareError, 0, 0, 0, 0x300050),
			"IOMMU error: COMMAND_HARDWARE_ERROR command address 0x300050"},
		{rawEvent(EvIOTLBInvTimeout, 0x0300, 0, 0, 0x300060),
			"IOMMU fault: device 03:00.0 IOTLB_INV_TIMEOUT command address 0x300060"},
		{rawEvent(EvInvalidDeviceRequest, 0x0300, 0, 0x200, 0x7000),
			"IOMMU fault: device 03:00.0 INVALID_DEVICE_REQUEST address 0x7000 flags 0x200"},
		{rawEvent(0xc, 0x0300, 0, 0, 0x7000),
			"IOMMU event: device 03:00.0 EVENT_0xc address 0x7000 raw 0xc000000000000300 0x0000000000007000"},
	} {
		e := ParseEvent(c.raw)
		if got := e.String(); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
	e := ParseEvent(rawEvent(EvIOPageFault, 0xbeef, 0xfabcd, 0xfff, 0x1234))
	if e.Code != EvIOPageFault || e.DeviceID != 0xbeef || e.Domain != 0xfabcd || e.Flags != 0xfff || e.Address != 0x1234 {
		t.Errorf("fields: %+v", e)
	}
}

type evlogFixture struct {
	m   *fakeMMIO
	mem *fakeMem
	l   *EventLog
}

const evBase = 0x500000

func newEvlog(t *testing.T) *evlogFixture {
	mem := newFakeMem()
	mem.region(evBase, 1)
	m := newFakeMMIO()
	l, err := NewEventLog(m, mem, evBase, 256)
	if err != nil {
		t.Fatal(err)
	}
	return &evlogFixture{m, mem, l}
}

// post writes an event at the IOMMU's tail and advances the tail register.
func (f *evlogFixture) post(raw [2]uint64, moveTail bool) {
	tail := uint32(f.m.regs[RegEventLogTail])
	f.mem.write64(evBase+uint64(tail), raw[0])
	f.mem.write64(evBase+uint64(tail)+8, raw[1])
	if moveTail {
		f.m.regs[RegEventLogTail] = uint64((tail + 16) % 4096)
	}
}

func (f *evlogFixture) poll() []string {
	var out []string
	f.l.Poll(func(e Event) { out = append(out, e.String()) })
	return out
}

func TestEventLogPoll(t *testing.T) {
	f := newEvlog(t)
	if got := f.poll(); len(got) != 0 {
		t.Fatalf("empty log gave %v", got)
	}
	for i := 0; i < 3; i++ {
		f.post(rawEvent(EvIOPageFault, uint16(i), 1, 0, uint64(i)<<12), true)
	}
	got := f.poll()
	if len(got) != 3 || !strings.Contains(got[0], "device 00:00.0") || !strings.Contains(got[2], "device 00:00.2 IO_PAGE_FAULT domain 0x1 address 0x2000") {
		t.Fatalf("events %q", got)
	}
	if h := f.m.regs[RegEventLogHead]; h != 0x30 {
		t.Errorf("head register %#x, want 0x30", h)
	}
	if f.mem.read64(evBase) != 0 || f.mem.read64(evBase+0x28) != 0 {
		t.Error("consumed entries not cleared")
	}
	// Wrap: fill to the end of the ring and around.
	for i := 0; i < 300; i++ {
		f.post(rawEvent(EvIOPageFault, 7, 1, 0, uint64(i)), true)
		if i%50 == 49 {
			if n := len(f.poll()); n != 50 {
				t.Fatalf("poll after %d: %d events", i, n)
			}
		}
	}
	if n := len(f.poll()); n != 0 {
		t.Errorf("%d events left", n)
	}
	if h, tl := f.m.regs[RegEventLogHead], f.m.regs[RegEventLogTail]; h != tl || h != (3+300)*16%4096 {
		t.Errorf("head %#x tail %#x", h, tl)
	}
}

func TestEventLogTailBeforeEntry(t *testing.T) {
	f := newEvlog(t)
	f.m.regs[RegEventLogTail] = 0x10 // tail moved, entry not written yet
	if got := f.poll(); len(got) != 0 {
		t.Fatalf("got %v from an unwritten entry", got)
	}
	f.mem.write64(evBase, rawEvent(EvIOPageFault, 3, 1, 0, 0x9000)[0])
	f.mem.write64(evBase+8, 0x9000)
	if got := f.poll(); len(got) != 1 || !strings.Contains(got[0], "0x9000") {
		t.Fatalf("late entry: %v", got)
	}
	// An entry that never arrives is skipped on the second look.
	f.m.regs[RegEventLogTail] = 0x30
	f.mem.write64(evBase+0x20, rawEvent(EvIOPageFault, 4, 1, 0, 0xa000)[0])
	if got := f.poll(); len(got) != 0 {
		t.Fatalf("first look at an empty entry gave %v", got)
	}
	if got := f.poll(); len(got) != 1 || !strings.Contains(got[0], "00:00.4") {
		t.Fatalf("second look: %v", got)
	}
}

// QEMU 7.2 writes entries without moving the tail register.
func TestEventLogStaleTail(t *testing.T) {
	f := newEvlog(t)
	f.post(rawEvent(EvIOPageFault, 0x18, 1, EvFlagRW, 0xdead000), false)
	f.post(rawEvent(EvIOPageFault, 0x18, 1, EvFlagRW, 0xdeae000), false) // same slot: overwrite
	f.mem.write64(evBase+0x10, rawEvent(EvIOPageFault, 0x20, 1, 0, 0xbeef000)[0])
	f.mem.write64(evBase+0x18, 0xbeef000)
	if got := f.poll(); len(got) != 0 {
		t.Fatalf("first poll took unconfirmed entries: %v", got)
	}
	got := f.poll()
	if len(got) != 2 || got[0] != "IOMMU fault: device 00:03.0 IO_PAGE_FAULT domain 0x1 address 0xdeae000 (write, not present)" || !strings.Contains(got[1], "00:04.0") {
		t.Fatalf("stale-tail poll: %q", got)
	}
	if f.m.regs[RegEventLogHead] != 0x20 {
		t.Errorf("head register %#x", f.m.regs[RegEventLogHead])
	}
}

func TestEventLogBoundedByRing(t *testing.T) {
	f := newEvlog(t)
	// Every entry written and the tail register lying one short of a full
	// circle: one Poll reads at most the ring once.
	for off := uint64(0); off < 4096; off += 16 {
		f.mem.write64(evBase+off, rawEvent(EvIOPageFault, 1, 1, 0, off)[0])
	}
	f.m.regs[RegEventLogTail] = 0xfff0
	if n := f.l.Poll(func(Event) {}); n != 255 {
		t.Errorf("Poll read %d entries, want 255", n)
	}
}

func TestEventLogRestart(t *testing.T) {
	f := newEvlog(t)
	f.post(rawEvent(EvIOPageFault, 1, 1, 0, 0), true)
	f.m.regs[RegStatus] = StEventOverflow | StEventLogRun
	f.m.regs[RegControl] = CtlIommuEn | CtlEventLogEn | CtlCmdBufEn
	f.m.onWrite = func(off uint32, v uint64) {
		if off == RegControl && v&CtlEventLogEn == 0 {
			f.m.regs[RegStatus] &^= StEventLogRun
		}
	}
	if !f.l.Overflowed() {
		t.Fatal("overflow not seen")
	}
	if err := f.l.Restart(); err != nil {
		t.Fatal(err)
	}
	want := []regWrite{
		{RegControl, CtlIommuEn | CtlCmdBufEn},
		{RegEventLogHead, 0},
		{RegEventLogTail, 0},
		{RegStatus, StEventOverflow},
		{RegControl, CtlIommuEn | CtlCmdBufEn | CtlEventLogEn},
	}
	if len(f.m.writes) != len(want) {
		t.Fatalf("writes %#x", f.m.writes)
	}
	for i := range want {
		if f.m.writes[i] != want[i] {
			t.Errorf("write %d = %#x, want %#x", i, f.m.writes[i], want[i])
		}
	}
	if f.mem.read64(evBase) != 0 {
		t.Error("ring not cleared")
	}
	// A log that never stops running is an error.
	f.m.onWrite = nil
	f.m.regs[RegStatus] = StEventLogRun
	if err := f.l.Restart(); err == nil {
		t.Error("Restart with EventLogRun stuck succeeded")
	}
}
