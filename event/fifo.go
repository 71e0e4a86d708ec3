package event

import "gozen/abi/xen"

// fifoABI is the FIFO ABI (Xen's event_fifo.c): one 32-bit event word per
// port in guest event-array pages, and per vCPU a control block holding a
// READY bitmap and the heads of 16 priority queues. The hypervisor keeps
// each queue's tail itself (vcpuState.tail) and links a newly pending event
// after it; it never walks the guest's lists.
type fifoABI struct {
	arrays []uint64 // event-array page frames, in port order
}

func (*fifoABI) Name() string  { return "FIFO" }
func (*fifoABI) MaxPorts() int { return xen.EvtchnFIFONrChannels }

// word returns the 4 bytes of port's event word, or nil if its event-array
// page has not been added (or is no longer RAM).
func (f *fifoABI) word(t *Table, port uint32) []byte {
	if port >= uint32(len(f.arrays))*xen.EvtchnFIFOEventWordsPerPage {
		return nil
	}
	p := t.mem.Page(f.arrays[port/xen.EvtchnFIFOEventWordsPerPage])
	if p == nil {
		return nil
	}
	off := (port % xen.EvtchnFIFOEventWordsPerPage) * 4
	return p[off : off+4]
}

// controlBlock returns vCPU v's control block, or nil.
func (t *Table) controlBlock(v uint32) []byte {
	vs := &t.vcpus[v]
	if !vs.cbSet {
		return nil
	}
	p := t.mem.Page(vs.cbGFN)
	if p == nil {
		return nil
	}
	return p[vs.cbOff : vs.cbOff+xen.EvtchnFIFOControlBlockSize]
}

func (*fifoABI) init(t *Table, port uint32) { t.chans[port].prio = xen.EvtchnFIFOPriorityDefault }

// setPending sets PENDING and, if the event is neither masked nor already
// linked, links it at the tail of queue (vcpu, priority): LINK of the old
// tail's word if that is still linked, else the queue's head in the control
// block, in which case the queue's READY bit is set and, if it was clear,
// an upcall is marked pending.
func (f *fifoABI) setPending(t *Table, vcpu, port uint32) {
	ch := &t.chans[port]
	w := f.word(t, port)
	cb := t.controlBlock(vcpu)
	if w == nil || cb == nil {
		// Deliver when the event-array page or the control block
		// appears (Xen drops the event in the second case).
		ch.pending = true
		return
	}
	ch.pending = false
	old := le32(w)
	put32(w, old|FIFOPending)
	if old&FIFOPending == 0 {
		t.portPending(port)
	}
	if old&(FIFOMasked|FIFOLinked) != 0 {
		return
	}
	put32(w, old|FIFOPending|FIFOLinked)

	prio := uint32(ch.prio)
	// If the event was the tail of the queue it was last on, that queue
	// is empty now (the guest unlinked it): forget the tail, so that
	// linking to it later cannot corrupt the queue the event joins now.
	if ch.lastVCPU < uint32(len(t.vcpus)) && ch.lastPrio < xen.EvtchnFIFOMaxQueues {
		if oq := &t.vcpus[ch.lastVCPU].tail[ch.lastPrio]; *oq == port {
			*oq = 0
		}
	}
	ch.lastVCPU, ch.lastPrio = vcpu, uint8(prio)

	q := &t.vcpus[vcpu].tail[prio]
	linked := false
	if *q != 0 && *q != port {
		if tw := f.word(t, *q); tw != nil {
			if tv := le32(tw); tv&FIFOLinked != 0 {
				put32(tw, tv&^(FIFOBusy|xen.EvtchnFIFOLinkMask)|port)
				linked = true
			}
		}
	}
	if !linked {
		put32(cb[xen.EvtchnFIFOControlBlockHeadOffset+4*prio:], port)
	}
	*q = port
	if !linked && !testAndSetBit(cb[xen.EvtchnFIFOControlBlockReadyOffset:xen.EvtchnFIFOControlBlockReadyOffset+4], prio) {
		t.markEventsPending(vcpu)
	}
}

// clearPending clears PENDING only: the guest unlinks events that are no
// longer pending itself.
func (f *fifoABI) clearPending(t *Table, port uint32) {
	t.chans[port].pending = false
	if w := f.word(t, port); w != nil {
		put32(w, le32(w)&^FIFOPending)
	}
}

func (f *fifoABI) unmask(t *Table, port uint32) {
	w := f.word(t, port)
	if w == nil {
		return
	}
	v := le32(w) &^ FIFOMasked
	put32(w, v)
	if v&FIFOPending != 0 {
		f.setPending(t, t.chans[port].vcpu, port)
	}
}

func (f *fifoABI) isPending(t *Table, port uint32) bool {
	if t.chans[port].pending {
		return true
	}
	w := f.word(t, port)
	return w != nil && le32(w)&FIFOPending != 0
}

func (f *fifoABI) isMasked(t *Table, port uint32) bool {
	w := f.word(t, port)
	return w == nil || le32(w)&FIFOMasked != 0
}

func (f *fifoABI) isBusy(t *Table, port uint32) bool {
	w := f.word(t, port)
	return w != nil && le32(w)&FIFOLinked != 0
}

func (*fifoABI) setPriority(t *Table, port, priority uint32) int {
	if priority > xen.EvtchnFIFOPriorityMin {
		return -int(xen.EINVAL)
	}
	t.chans[port].prio = uint8(priority)
	return 0
}

// InitControl registers vCPU vcpu's FIFO control block at frame gfn, offset
// (EVTCHNOP_init_control) and returns the link bits (17). The first call
// switches the domain from the 2-level ABI to FIFO: ports keep their
// bindings, their 2-level pending state is carried over (delivered once
// their event-array page is added) and their priority becomes the default.
// Errors: -ENOENT for a bad vCPU, -EINVAL for an offset that is not 8-byte
// aligned or lets the 72-byte block cross the page, a frame that is not
// RAM, or a vCPU that already has a control block.
func (t *Table) InitControl(vcpu uint32, gfn uint64, offset uint32) (linkBits uint32, err int) {
	s := t.sys
	s.mu.Lock()
	defer s.unlock()
	if t.dead {
		return 0, -int(xen.EINVAL)
	}
	if vcpu >= uint32(len(t.vcpus)) {
		return 0, -int(xen.ENOENT)
	}
	if offset > pageSize-xen.EvtchnFIFOControlBlockSize || offset%8 != 0 {
		return 0, -int(xen.EINVAL)
	}
	vs := &t.vcpus[vcpu]
	if t.fifo != nil && vs.cbSet {
		return 0, -int(xen.EINVAL)
	}
	if t.mem.Page(gfn) == nil {
		return 0, -int(xen.EINVAL)
	}
	vs.cbGFN, vs.cbOff, vs.cbSet = gfn, offset, true
	if t.fifo == nil {
		t.switchToFIFO()
	} else {
		t.replayPending(1, uint32(len(t.chans)), &vcpu)
	}
	return xen.EvtchnFIFOLinkBits, 0
}

// switchToFIFO is Xen's setup_event_array + setup_ports.
func (t *Table) switchToFIFO() {
	p := t.sharedPage()
	l := twoLevel{t.compat}
	for port := uint32(1); port < uint32(len(t.chans)) && port < uint32(l.MaxPorts()); port++ {
		ch := &t.chans[port]
		if p != nil && testBit(l.pendingBits(p), port) {
			ch.pending = true
		}
		ch.prio = xen.EvtchnFIFOPriorityDefault
		ch.lastVCPU, ch.lastPrio = 0, 0
	}
	for v := range t.vcpus {
		t.vcpus[v].tail = [xen.EvtchnFIFOMaxQueues]uint32{}
	}
	t.fifo = &fifoABI{arrays: make([]uint64, 0, 4)}
	t.ops = t.fifo
}

// ExpandArray adds an event-array page at frame gfn, giving the next 1024
// ports an event word (EVTCHNOP_expand_array); events recorded for them
// are delivered. Errors: -EOPNOTSUPP under the 2-level ABI, -ENOSPC when
// the array already has 128 pages, -EINVAL if gfn is not RAM.
func (t *Table) ExpandArray(gfn uint64) int {
	s := t.sys
	s.mu.Lock()
	defer s.unlock()
	if t.dead || t.fifo == nil {
		return -int(xen.EOPNOTSUPP)
	}
	f := t.fifo
	if len(f.arrays) >= fifoMaxArrayPages {
		return -int(xen.ENOSPC)
	}
	if t.mem.Page(gfn) == nil {
		return -int(xen.EINVAL)
	}
	from := uint32(len(f.arrays)) * xen.EvtchnFIFOEventWordsPerPage
	f.arrays = append(f.arrays, gfn)
	t.replayPending(from, from+xen.EvtchnFIFOEventWordsPerPage, nil)
	return 0
}

// fifoDestroy returns the table to the 2-level ABI (Xen's
// evtchn_fifo_destroy + evtchn_2l_init).
func (t *Table) fifoDestroy() {
	if t.fifo == nil {
		return
	}
	for v := range t.vcpus {
		vs := &t.vcpus[v]
		vs.cbSet, vs.cbGFN, vs.cbOff = false, 0, 0
		vs.tail = [xen.EvtchnFIFOMaxQueues]uint32{}
	}
	for p := range t.chans {
		ch := &t.chans[p]
		ch.lastVCPU, ch.lastPrio = 0, 0
		ch.pending = false
	}
	t.fifo = nil
	t.ops = twoLevel{t.compat}
}
