package event

import (
	"encoding/binary"

	"gozen/abi/xen"
)

// ABI is a delivery ABI: how "port p is pending / masked" is represented in
// guest memory (Xen's struct evtchn_port_ops). The two implementations are
// the 2-level bitmaps and the FIFO queues; Table.ABI returns the active one.
// Its operations are internal: they run with the System lock held and with
// a port already checked to be valid.
type ABI interface {
	// Name is "2-level" or "FIFO".
	Name() string
	// MaxPorts is the number of ports the ABI can represent.
	MaxPorts() int

	init(t *Table, port uint32) // a port was just bound
	setPending(t *Table, vcpu, port uint32)
	clearPending(t *Table, port uint32)
	unmask(t *Table, port uint32)
	isPending(t *Table, port uint32) bool
	isMasked(t *Table, port uint32) bool
	isBusy(t *Table, port uint32) bool // free but not reusable yet
	setPriority(t *Table, port, priority uint32) int
}

// twoLevel is the 2-level ABI: evtchn_pending and evtchn_mask bitmaps in
// shared_info, and a per-vCPU selector word (Xen's event_2l.c).
type twoLevel struct{}

func (twoLevel) Name() string  { return "2-level" }
func (twoLevel) MaxPorts() int { return xen.Evtchn2LNrChannels }

func (twoLevel) init(*Table, uint32) {}

// setPending: set the pending bit; if it was clear and the port is not
// masked, set the selector bit port/64 of the vCPU, and if that was clear,
// mark an upcall pending.
func (twoLevel) setPending(t *Table, vcpu, port uint32) {
	if port >= xen.Evtchn2LNrChannels {
		return
	}
	p := t.sharedPage()
	if p == nil {
		t.chans[port].pending = true
		return
	}
	if testAndSetBit(p[xen.SharedInfoEvtchnPendingOffset:xen.SharedInfoEvtchnPendingOffset+sharedBitmapSize], port) {
		return
	}
	if !testBit(p[xen.SharedInfoEvtchnMaskOffset:xen.SharedInfoEvtchnMaskOffset+sharedBitmapSize], port) {
		if vi := t.vcpuInfo(vcpu); vi != nil {
			if !testAndSetBit(vi[xen.VCPUInfoPendingSelOffset:xen.VCPUInfoPendingSelOffset+8], port/64) {
				t.markEventsPending(vcpu)
			}
		} else {
			t.vcpus[vcpu].upcallLost = true
		}
	}
	t.portPending(port)
}

func (twoLevel) clearPending(t *Table, port uint32) {
	t.chans[port].pending = false
	if port >= xen.Evtchn2LNrChannels {
		return
	}
	if p := t.sharedPage(); p != nil {
		testAndClearBit(p[xen.SharedInfoEvtchnPendingOffset:xen.SharedInfoEvtchnPendingOffset+sharedBitmapSize], port)
	}
}

// unmask: clear the mask bit; if it was set and the port is pending, set
// the selector bit and mark an upcall as setPending would.
func (twoLevel) unmask(t *Table, port uint32) {
	if port >= xen.Evtchn2LNrChannels {
		return
	}
	p := t.sharedPage()
	if p == nil {
		return
	}
	if !testAndClearBit(p[xen.SharedInfoEvtchnMaskOffset:xen.SharedInfoEvtchnMaskOffset+sharedBitmapSize], port) ||
		!testBit(p[xen.SharedInfoEvtchnPendingOffset:xen.SharedInfoEvtchnPendingOffset+sharedBitmapSize], port) {
		return
	}
	v := t.chans[port].vcpu
	if vi := t.vcpuInfo(v); vi != nil {
		if !testAndSetBit(vi[xen.VCPUInfoPendingSelOffset:xen.VCPUInfoPendingSelOffset+8], port/64) {
			t.markEventsPending(v)
		}
	} else {
		t.vcpus[v].upcallLost = true
	}
}

func (twoLevel) isPending(t *Table, port uint32) bool {
	if port >= xen.Evtchn2LNrChannels {
		return false
	}
	p := t.sharedPage()
	if p == nil {
		return t.chans[port].pending
	}
	return testBit(p[xen.SharedInfoEvtchnPendingOffset:xen.SharedInfoEvtchnPendingOffset+sharedBitmapSize], port)
}

func (twoLevel) isMasked(t *Table, port uint32) bool {
	if port >= xen.Evtchn2LNrChannels {
		return true
	}
	p := t.sharedPage()
	return p != nil && testBit(p[xen.SharedInfoEvtchnMaskOffset:xen.SharedInfoEvtchnMaskOffset+sharedBitmapSize], port)
}

func (twoLevel) isBusy(*Table, uint32) bool { return false }

func (twoLevel) setPriority(*Table, uint32, uint32) int { return -int(xen.ENOSYS) }

// le32 and put32 access a little-endian guest word.
func le32(b []byte) uint32     { return binary.LittleEndian.Uint32(b) }
func put32(b []byte, v uint32) { binary.LittleEndian.PutUint32(b, v) }
