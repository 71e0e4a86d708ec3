package event

import "gozen/abi/xen"

// Snapshot is a domain's event-channel state as a debugger wants it (what
// Xen's 'e' debug key prints): per vCPU what the guest sees in its
// vcpu_info and, under FIFO, its control block; per bound port its binding
// and its pending, masked and linked bits as they are in guest memory now.
type Snapshot struct {
	ABI   string // "2-level" or "FIFO"
	VCPUs []VCPUSnapshot
	Ports []PortSnapshot // bound ports (unbound-for-a-remote included), in port order
}

// VCPUSnapshot is one vCPU's event delivery state.
type VCPUSnapshot struct {
	NoInfo        bool // no vcpu_info (upcalls wait for one)
	UpcallPending bool // evtchn_upcall_pending
	UpcallMask    bool // evtchn_upcall_mask
	UpcallLost    bool // an upcall was raised while it had no vcpu_info
	// FIFO only: whether a control block is registered, its READY word
	// and, for each priority whose HEAD or hypervisor-side tail is set,
	// both (Heads[i], Tails[i]).
	ControlBlock bool
	Ready        uint32
	Heads, Tails [xen.EvtchnFIFOMaxQueues]uint32
}

// PortSnapshot is one port.
type PortSnapshot struct {
	Port uint32
	Status
	Pending, Masked bool
	Linked          bool   // FIFO: on a queue
	Link            uint32 // FIFO: the next port in its queue
	Priority        uint8  // FIFO
	Stored          bool   // raised while the ABI had nowhere to store it
}

// Snapshot returns the domain's event-channel state. It only reads.
func (t *Table) Snapshot() Snapshot {
	s := t.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := Snapshot{ABI: t.ops.Name(), VCPUs: make([]VCPUSnapshot, len(t.vcpus))}
	for v := range t.vcpus {
		vs := &snap.VCPUs[v]
		vi := t.vcpuInfo(uint32(v))
		vs.NoInfo = vi == nil
		if vi != nil {
			vs.UpcallPending = vi[xen.VCPUInfoUpcallPendingOffset] != 0
			vs.UpcallMask = vi[xen.VCPUInfoUpcallMaskOffset] != 0
		}
		vs.UpcallLost = t.vcpus[v].upcallLost
		if t.fifo == nil {
			continue
		}
		vs.Tails = t.vcpus[v].tail
		if cb := t.controlBlock(uint32(v)); cb != nil {
			vs.ControlBlock = true
			vs.Ready = le32(cb[xen.EvtchnFIFOControlBlockReadyOffset:])
			for q := range vs.Heads {
				vs.Heads[q] = le32(cb[xen.EvtchnFIFOControlBlockHeadOffset+4*q:])
			}
		}
	}
	for port := uint32(1); port < uint32(len(t.chans)); port++ {
		ch := &t.chans[port]
		if !ch.usable() {
			continue
		}
		p := PortSnapshot{Port: port, Status: ch.status(), Priority: ch.prio, Stored: ch.pending,
			Pending: t.ops.isPending(t, port), Masked: t.ops.isMasked(t, port)}
		if t.fifo != nil {
			if w := t.fifo.word(t, port); w != nil {
				p.Linked = le32(w)&FIFOLinked != 0
				p.Link = le32(w) & xen.EvtchnFIFOLinkMask
			}
		}
		snap.Ports = append(snap.Ports, p)
	}
	return snap
}
