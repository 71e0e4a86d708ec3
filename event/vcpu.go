package event

import "gozen/abi/xen"

// maxGFN is the highest frame number whose byte address fits in 64 bits.
const maxGFN = 1<<52 - 1

// sharedPage returns the shared_info page, or nil if none is set or the
// frame is no longer RAM.
func (t *Table) sharedPage() *[4096]byte {
	if !t.sharedSet {
		return nil
	}
	return t.mem.Page(t.sharedGFN)
}

// vcpuInfo returns the 64 bytes of vCPU v's vcpu_info: the registered area,
// else its legacy slot in shared_info (v < 32), else nil (Xen's
// dummy_vcpu_info: nothing the guest can see).
func (t *Table) vcpuInfo(v uint32) []byte {
	if v >= uint32(len(t.vcpus)) {
		return nil
	}
	vs := &t.vcpus[v]
	if vs.infoSet {
		p := t.mem.Page(vs.infoGFN)
		if p == nil {
			return nil
		}
		return p[vs.infoOff : vs.infoOff+xen.VCPUInfoSize]
	}
	if v < xen.XenLegacyMaxVCPUs {
		if p := t.sharedPage(); p != nil {
			off := xen.SharedInfoVCPUInfoOffset + v*xen.VCPUInfoSize
			return p[off : off+xen.VCPUInfoSize]
		}
	}
	return nil
}

// markEventsPending is Xen's vcpu_mark_events_pending: set
// evtchn_upcall_pending and kick the vCPU if it was clear.
func (t *Table) markEventsPending(v uint32) {
	vi := t.vcpuInfo(v)
	if vi == nil {
		if v < uint32(len(t.vcpus)) {
			t.vcpus[v].upcallLost = true
		}
		return
	}
	if testAndSetBit(vi[xen.VCPUInfoUpcallPendingOffset:xen.VCPUInfoUpcallPendingOffset+1], 0) {
		return
	}
	if t.notifier != nil {
		t.sys.queue(call{kind: callKick, t: t, vcpu: int(v)})
	}
}

// UpcallPending reports whether vCPU vcpu's vcpu_info has
// evtchn_upcall_pending set: the hypervisor should inject the event
// callback vector when the vCPU can take interrupts. False for a vCPU
// without a vcpu_info.
func (t *Table) UpcallPending(vcpu int) bool {
	t.sys.mu.Lock()
	defer t.sys.mu.Unlock()
	if vcpu < 0 {
		return false
	}
	vi := t.vcpuInfo(uint32(vcpu))
	return vi != nil && vi[xen.VCPUInfoUpcallPendingOffset] != 0
}

// UpcallMasked reports whether vCPU vcpu's vcpu_info has
// evtchn_upcall_mask set (true for a vCPU without a vcpu_info). Xen
// ignores this flag for HVM/PVH guests using the callback vector.
func (t *Table) UpcallMasked(vcpu int) bool {
	t.sys.mu.Lock()
	defer t.sys.mu.Unlock()
	if vcpu < 0 {
		return true
	}
	vi := t.vcpuInfo(uint32(vcpu))
	return vi == nil || vi[xen.VCPUInfoUpcallMaskOffset] != 0
}

// RegisterVCPUInfo moves vCPU vcpu's vcpu_info to frame gfn at offset
// (VCPUOP_register_vcpu_info). The current contents are copied there (for a
// vCPU without one: zeros, with evtchn_upcall_mask set for vCPUs ≥ 32, as
// Xen), then every selector bit and evtchn_upcall_pending are set so that
// nothing raised before is lost. Errors: -ENOENT for a bad vCPU, -EINVAL
// for an offset that leaves the frame or a frame beyond the address space
// or not RAM, -EBUSY if already registered, -ENXIO for an area that is not
// 8-byte aligned or crosses the page.
func (t *Table) RegisterVCPUInfo(vcpu uint32, gfn uint64, offset uint32) int {
	s := t.sys
	s.mu.Lock()
	defer s.unlock()
	if t.dead {
		return -int(xen.EINVAL)
	}
	if vcpu >= uint32(len(t.vcpus)) {
		return -int(xen.ENOENT)
	}
	if gfn > maxGFN || offset >= pageSize {
		return -int(xen.EINVAL)
	}
	vs := &t.vcpus[vcpu]
	if vs.infoSet {
		return -int(xen.EBUSY)
	}
	align := uint32(8)
	if t.compat {
		align = 4
	}
	if offset > pageSize-xen.VCPUInfoSize || offset%align != 0 {
		return -int(xen.ENXIO)
	}
	p := t.mem.Page(gfn)
	if p == nil {
		return -int(xen.EINVAL)
	}
	var old [xen.VCPUInfoSize]byte
	if cur := t.vcpuInfo(vcpu); cur != nil {
		copy(old[:], cur)
	} else if vcpu >= xen.XenLegacyMaxVCPUs {
		old[xen.VCPUInfoUpcallMaskOffset] = 1
	}
	dst := p[offset : offset+xen.VCPUInfoSize]
	copy(dst, old[:])
	vs.infoGFN, vs.infoOff, vs.infoSet = gfn, offset, true
	vs.upcallLost = false
	l := xen.SharedInfoLayoutOf(t.compat)
	for i := 0; i < l.SelBytes; i++ {
		dst[l.PendingSel+i] = 0xff
	}
	t.markEventsPending(vcpu)
	return 0
}

// SetCompat selects the layout of the domain's shared_info and vcpu_info
// for 2-level events: the 32-bit (compat) one when compat is set, else the
// 64-bit one. The hypervisor calls it when it latches the guest's format
// (Xen's hvm_latch_shinfo_size). The bits already in guest memory stay
// where they are, as in Xen; with the compat layout ports from 1024 up can
// no longer be allocated or signalled.
func (t *Table) SetCompat(compat bool) {
	t.sys.mu.Lock()
	defer t.sys.mu.Unlock()
	t.compat = compat
	if t.fifo == nil {
		t.ops = twoLevel{compat}
	}
}

// SetSharedInfo tells the table that the domain's shared_info page is now
// guest frame gfn (XENMEM_add_to_physmap, XENMAPSPACE_shared_info).
//
// The first time, the event fields of the page (evtchn_pending,
// evtchn_mask, and the first 16 bytes of each legacy vcpu_info slot: upcall
// flags and selector) are cleared, as Xen's page starts zeroed; the
// hypervisor's other fields (time, wallclock) are left alone. Moving it to
// another frame copies the whole old page there, as the same Xen page
// would appear at the new address. Events recorded while there was no page
// are then delivered. Errors: -EINVAL if gfn is not RAM.
func (t *Table) SetSharedInfo(gfn uint64) int {
	s := t.sys
	s.mu.Lock()
	defer s.unlock()
	if t.dead {
		return -int(xen.EINVAL)
	}
	p := t.mem.Page(gfn)
	if p == nil {
		return -int(xen.EINVAL)
	}
	if t.sharedSet && t.sharedGFN == gfn {
		return 0
	}
	var old *[4096]byte
	if t.sharedSet {
		old = t.mem.Page(t.sharedGFN)
	}
	if old != nil {
		if old != p {
			*p = *old
		}
	} else {
		l := xen.SharedInfoLayoutOf(t.compat)
		clear(p[l.EvtchnPending : l.EvtchnMask+l.BitmapBytes])
		for v := 0; v < xen.XenLegacyMaxVCPUs; v++ {
			off := xen.SharedInfoVCPUInfoOffset + v*xen.VCPUInfoSize
			clear(p[off : off+vcpuInfoEventBytes])
		}
	}
	t.sharedGFN, t.sharedSet = gfn, true

	if t.fifo == nil {
		t.replayPending(1, uint32(len(t.chans)), nil)
	}
	for v := range t.vcpus {
		if t.vcpus[v].upcallLost && t.vcpuInfo(uint32(v)) != nil {
			t.vcpus[v].upcallLost = false
			t.markEventsPending(uint32(v))
		}
	}
	return 0
}

// replayPending re-raises recorded events of ports [from, to), only those
// notifying vCPU *only if only is non-nil.
func (t *Table) replayPending(from, to uint32, only *uint32) {
	if to > uint32(len(t.chans)) {
		to = uint32(len(t.chans))
	}
	for p := from; p < to; p++ {
		ch := &t.chans[p]
		if !ch.pending || !ch.usable() || (only != nil && ch.vcpu != *only) {
			continue
		}
		ch.pending = false
		t.setPending(ch.vcpu, p)
	}
}

// Bit helpers over little-endian guest bytes: bit n of a []byte is bit n%8
// of byte n/8, which is also bit n of an array of little-endian words.

func testBit(b []byte, n uint32) bool { return b[n/8]&(1<<(n%8)) != 0 }

func testAndSetBit(b []byte, n uint32) bool {
	m := byte(1) << (n % 8)
	old := b[n/8]&m != 0
	b[n/8] |= m
	return old
}

func testAndClearBit(b []byte, n uint32) bool {
	m := byte(1) << (n % 8)
	old := b[n/8]&m != 0
	b[n/8] &^= m
	return old
}
