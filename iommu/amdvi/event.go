package amdvi

import (
	"fmt"
	"strings"
)

// EventCode is an event log entry's type (spec "Event Log", EventCode in
// bits 63:60 of the first quadword).
type EventCode uint8

const (
	EvIllegalDevTableEntry EventCode = 0x1
	EvIOPageFault          EventCode = 0x2
	EvDevTabHardwareError  EventCode = 0x3
	EvPageTabHardwareError EventCode = 0x4
	EvIllegalCommandError  EventCode = 0x5
	EvCommandHardwareError EventCode = 0x6
	EvIOTLBInvTimeout      EventCode = 0x7
	EvInvalidDeviceRequest EventCode = 0x8
)

var eventNames = [...]string{
	EvIllegalDevTableEntry: "ILLEGAL_DEV_TABLE_ENTRY",
	EvIOPageFault:          "IO_PAGE_FAULT",
	EvDevTabHardwareError:  "DEV_TAB_HARDWARE_ERROR",
	EvPageTabHardwareError: "PAGE_TAB_HARDWARE_ERROR",
	EvIllegalCommandError:  "ILLEGAL_COMMAND_ERROR",
	EvCommandHardwareError: "COMMAND_HARDWARE_ERROR",
	EvIOTLBInvTimeout:      "IOTLB_INV_TIMEOUT",
	EvInvalidDeviceRequest: "INVALID_DEVICE_REQUEST",
}

func (c EventCode) String() string {
	if int(c) < len(eventNames) && eventNames[c] != "" {
		return eventNames[c]
	}
	return fmt.Sprintf("EVENT_%#x", uint8(c))
}

// Event flag bits, as EventFlags numbers them (bits 27:16 of the first
// quadword, i.e. bits 59:48). Not every event type defines every bit.
const (
	EvFlagGN uint16 = 1 << 0 // guest (PASID) request
	EvFlagNX uint16 = 1 << 1 // execute request
	EvFlagUS uint16 = 1 << 2 // user request
	EvFlagI  uint16 = 1 << 3 // interrupt request, not DMA
	EvFlagPR uint16 = 1 << 4 // the page was present (a permission fault)
	EvFlagRW uint16 = 1 << 5 // write (else read)
	EvFlagPE uint16 = 1 << 6 // permission bits were the cause
	EvFlagRZ uint16 = 1 << 7 // a reserved bit was set in an entry
	EvFlagTR uint16 = 1 << 8 // a translation request (ATS)
)

// EventSize is the size of one event log entry.
const EventSize = 16

// Event is one decoded event log entry.
type Event struct {
	Code     EventCode
	DeviceID uint16 // requester, bus<<8|dev<<3|fn
	// Domain holds DomainID for IO_PAGE_FAULT and PAGE_TAB_HARDWARE_ERROR
	// (with GN=0), else the PASID; 20 bits.
	Domain  uint32
	Flags   uint16
	Address uint64 // the DMA address, or the table/command address the event is about
	Raw     [2]uint64
}

// ParseEvent decodes a raw entry. It accepts any bit pattern.
func ParseEvent(raw [2]uint64) Event {
	q0 := raw[0]
	return Event{
		Code:     EventCode(q0 >> 60),
		DeviceID: uint16(q0),
		Domain:   uint32(q0>>32)&0xffff | uint32(q0>>16&0xf)<<16,
		Flags:    uint16(q0>>48) & 0xfff,
		Address:  raw[1],
		Raw:      raw,
	}
}

func (e Event) access() string {
	var parts []string
	if e.Flags&EvFlagI != 0 {
		parts = append(parts, "interrupt")
	} else if e.Flags&EvFlagRW != 0 {
		parts = append(parts, "write")
	} else {
		parts = append(parts, "read")
	}
	if e.Code == EvIOPageFault {
		if e.Flags&EvFlagPR != 0 {
			parts = append(parts, "permission")
		} else {
			parts = append(parts, "not present")
		}
	}
	if e.Flags&EvFlagRZ != 0 {
		parts = append(parts, "reserved bit set")
	}
	if e.Flags&EvFlagTR != 0 {
		parts = append(parts, "translation request")
	}
	return strings.Join(parts, ", ")
}

// String names the device as bus:dev.fn and the address, e.g.
// "IOMMU fault: device 00:03.0 IO_PAGE_FAULT domain 0x1 address 0xdead000 (write, not present)".
func (e Event) String() string {
	dev := BDF(e.DeviceID)
	switch e.Code {
	case EvIOPageFault:
		return fmt.Sprintf("IOMMU fault: device %v %v domain %#x address %#x (%s)", dev, e.Code, e.Domain, e.Address, e.access())
	case EvIllegalDevTableEntry:
		return fmt.Sprintf("IOMMU fault: device %v %v address %#x (%s)", dev, e.Code, e.Address, e.access())
	case EvDevTabHardwareError:
		return fmt.Sprintf("IOMMU fault: device %v %v device table address %#x (%s)", dev, e.Code, e.Address, e.access())
	case EvPageTabHardwareError:
		return fmt.Sprintf("IOMMU fault: device %v %v domain %#x page table address %#x (%s)", dev, e.Code, e.Domain, e.Address, e.access())
	case EvIllegalCommandError, EvCommandHardwareError:
		return fmt.Sprintf("IOMMU error: %v command address %#x", e.Code, e.Address)
	case EvIOTLBInvTimeout:
		return fmt.Sprintf("IOMMU fault: device %v %v command address %#x", dev, e.Code, e.Address)
	case EvInvalidDeviceRequest:
		return fmt.Sprintf("IOMMU fault: device %v %v address %#x flags %#x", dev, e.Code, e.Address, e.Flags)
	}
	return fmt.Sprintf("IOMMU event: device %v %v address %#x raw %#016x %#016x", dev, e.Code, e.Address, e.Raw[0], e.Raw[1])
}

// EventLog reads the event log ring: the IOMMU writes entries at the tail
// and advances the tail register; software reads from the head and writes
// the head register back. Not safe for concurrent use.
type EventLog struct {
	m    MMIO
	mem  Memory
	base uint64
	size uint32 // bytes
	head uint32
	// zeroAt is the head offset+1 where the last Poll met an entry that
	// was still zero (the tail register can move before the entry lands);
	// staleAt where it met a written entry the tail register did not cover.
	zeroAt, staleAt uint32
}

// NewEventLog returns the reader for the event log at base (entries long,
// as given to Enable). It assumes the head register is 0.
func NewEventLog(m MMIO, mem Memory, base uint64, entries int) (*EventLog, error) {
	if _, ok := ringLog2(entries); !ok {
		return nil, fmt.Errorf("amdvi: event log of %d entries (want a power of two in 256..32768)", entries)
	}
	if err := checkBase("event log", base); err != nil {
		return nil, err
	}
	size := uint32(entries) * EventSize
	for off := uint64(0); off < uint64(size); off += 4096 {
		if mem.Table(base+off) == nil {
			return nil, fmt.Errorf("amdvi: event log page %#x not reachable", base+off)
		}
	}
	return &EventLog{m: m, mem: mem, base: base, size: size}, nil
}

// Poll hands every new entry to fn, oldest first, clears each entry in
// memory, and writes the head register back. It reads at most one ring's
// worth per call, so a tail register that keeps moving (or lies) cannot
// keep it looping. It returns how many entries it consumed.
//
// Two races are covered. The tail register may move before the entry
// lands: an entry still zero is looked at again on the next Poll and
// skipped if still empty then (Linux's iommu_poll_events waits likewise).
// And QEMU 7.2 writes entries but never advances the tail register: when
// the register says the log is empty but the entry at the head is not
// zero on two consecutive Polls, Poll takes the non-zero entries from the
// head on.
func (l *EventLog) Poll(fn func(Event)) int {
	tail := uint32(l.m.Read64(RegEventLogTail)&headTailMask) & (l.size - 1)
	max := int(l.size / EventSize)
	n := 0
	if l.head == tail {
		if l.entry(l.head) == [2]uint64{} {
			l.staleAt = 0
			return 0
		}
		if l.staleAt != l.head+1 {
			l.staleAt = l.head + 1
			return 0
		}
		// The tail register is stale: take entries while they are there.
		for n < max {
			raw := l.entry(l.head)
			if raw == [2]uint64{} {
				break
			}
			l.consume(raw, fn)
			n++
		}
		l.staleAt = 0
		l.m.Write64(RegEventLogHead, uint64(l.head))
		return n
	}
	l.staleAt = 0
	for l.head != tail && n < max {
		raw := l.entry(l.head)
		if raw == [2]uint64{} && l.zeroAt != l.head+1 {
			l.zeroAt = l.head + 1
			break
		}
		l.zeroAt = 0
		l.consume(raw, fn)
		n++
	}
	if n > 0 {
		l.m.Write64(RegEventLogHead, uint64(l.head))
	}
	return n
}

func (l *EventLog) slot(off uint32) (*[512]uint64, int) {
	return l.mem.Table(l.base + uint64(off)&^0xfff), int(off&0xfff) / 8
}

func (l *EventLog) entry(off uint32) [2]uint64 {
	p, i := l.slot(off)
	return [2]uint64{p[i], p[i+1]}
}

// consume clears the entry at the head, advances the head and reports the
// entry unless it was empty.
func (l *EventLog) consume(raw [2]uint64, fn func(Event)) {
	p, i := l.slot(l.head)
	p[i], p[i+1] = 0, 0
	l.head = (l.head + EventSize) & (l.size - 1)
	if raw != [2]uint64{} {
		fn(ParseEvent(raw))
	}
}

// Overflowed reports whether the IOMMU found the log full and stopped
// logging (Status.EventOverflow); Restart resumes it.
func (l *EventLog) Overflowed() bool { return l.m.Read64(RegStatus)&StEventOverflow != 0 }

// Restart follows the spec's event log restart procedure after an
// overflow: disable logging, wait (bounded) for EventLogRun to clear,
// empty the ring (head = tail = 0), clear EventOverflow, re-enable. Events
// still in the ring are dropped: Poll first.
func (l *EventLog) Restart() error {
	ctl := l.m.Read64(RegControl)
	l.m.Write64(RegControl, ctl&^CtlEventLogEn)
	stopped := false
	for i := 0; i < 1000; i++ {
		if l.m.Read64(RegStatus)&StEventLogRun == 0 {
			stopped = true
			break
		}
	}
	if !stopped {
		return fmt.Errorf("amdvi: event log did not stop (status %#x)", l.m.Read64(RegStatus))
	}
	l.m.Write64(RegEventLogHead, 0)
	l.m.Write64(RegEventLogTail, 0)
	l.head, l.zeroAt, l.staleAt = 0, 0, 0
	for off := uint64(0); off < uint64(l.size); off += 8 {
		l.mem.Table(l.base + off&^0xfff)[(off&0xfff)/8] = 0
	}
	l.m.Write64(RegStatus, StEventOverflow)
	l.m.Write64(RegControl, ctl|CtlEventLogEn)
	return nil
}
