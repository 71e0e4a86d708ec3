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
// shared_info, and a per-vCPU selector word (Xen's event_2l.c). compat
// selects the 32-bit shared_info layout (Xen's has_32bit_shinfo): the same
// bits of the bitmaps, but 32-bit selector words, each bit covering 32
// ports, the mask at another offset and 1024 ports (BITS_PER_EVTCHN_WORD).
type twoLevel struct{ compat bool }

func (twoLevel) Name() string    { return "2-level" }
func (l twoLevel) MaxPorts() int { return l.layout().NrChannels }

func (l twoLevel) layout() *xen.SharedInfoLayout { return xen.SharedInfoLayoutOf(l.compat) }

func (twoLevel) init(*Table, uint32) {}

// pendingBits, maskBits and selBits are the bitmaps in shared_info page p
// and the selector in vcpu_info vi, in the layout in use.
func (l twoLevel) pendingBits(p *[4096]byte) []byte {
	x := l.layout()
	return p[x.EvtchnPending : x.EvtchnPending+x.BitmapBytes]
}

func (l twoLevel) maskBits(p *[4096]byte) []byte {
	x := l.layout()
	return p[x.EvtchnMask : x.EvtchnMask+x.BitmapBytes]
}

// selBit returns vcpu_info vi's selector and the bit of it that covers port.
func (l twoLevel) selBit(vi []byte, port uint32) ([]byte, uint32) {
	x := l.layout()
	return vi[x.PendingSel : x.PendingSel+x.SelBytes], port / uint32(8*x.SelBytes)
}

// setPending: set the pending bit; if it was clear and the port is not
// masked, set the vCPU's selector bit for the port's word, and if that was
// clear, mark an upcall pending.
func (l twoLevel) setPending(t *Table, vcpu, port uint32) {
	if port >= uint32(l.MaxPorts()) {
		return
	}
	p := t.sharedPage()
	if p == nil {
		t.chans[port].pending = true
		return
	}
	if testAndSetBit(l.pendingBits(p), port) {
		return
	}
	if !testBit(l.maskBits(p), port) {
		if vi := t.vcpuInfo(vcpu); vi != nil {
			if !testAndSetBit(l.selBit(vi, port)) {
				t.markEventsPending(vcpu)
			}
		} else {
			t.vcpus[vcpu].upcallLost = true
		}
	}
	t.portPending(port)
}

func (l twoLevel) clearPending(t *Table, port uint32) {
	t.chans[port].pending = false
	if port >= uint32(l.MaxPorts()) {
		return
	}
	if p := t.sharedPage(); p != nil {
		testAndClearBit(l.pendingBits(p), port)
	}
}

// unmask: clear the mask bit; if it was set and the port is pending, set
// the selector bit and mark an upcall as setPending would.
func (l twoLevel) unmask(t *Table, port uint32) {
	if port >= uint32(l.MaxPorts()) {
		return
	}
	p := t.sharedPage()
	if p == nil {
		return
	}
	if !testAndClearBit(l.maskBits(p), port) || !testBit(l.pendingBits(p), port) {
		return
	}
	v := t.chans[port].vcpu
	if vi := t.vcpuInfo(v); vi != nil {
		if !testAndSetBit(l.selBit(vi, port)) {
			t.markEventsPending(v)
		}
	} else {
		t.vcpus[v].upcallLost = true
	}
}

func (l twoLevel) isPending(t *Table, port uint32) bool {
	if port >= uint32(l.MaxPorts()) {
		return false
	}
	p := t.sharedPage()
	if p == nil {
		return t.chans[port].pending
	}
	return testBit(l.pendingBits(p), port)
}

func (l twoLevel) isMasked(t *Table, port uint32) bool {
	if port >= uint32(l.MaxPorts()) {
		return true
	}
	p := t.sharedPage()
	return p != nil && testBit(l.maskBits(p), port)
}

func (twoLevel) isBusy(*Table, uint32) bool { return false }

func (twoLevel) setPriority(*Table, uint32, uint32) int { return -int(xen.ENOSYS) }

// le32 and put32 access a little-endian guest word.
func le32(b []byte) uint32     { return binary.LittleEndian.Uint32(b) }
func put32(b []byte, v uint32) { binary.LittleEndian.PutUint32(b, v) }
