package event

import "gozen/abi/xen"

// Table is one domain's event-channel state: its ports, its vCPUs' event
// structures and the active ABI. It is reached through its Domain (which
// embeds it); its methods are the operations that involve only this domain.
// The receiver is the calling domain for the guest operations.
type Table struct {
	dom          *Domain
	sys          *System
	mem          GuestMem
	notifier     Notifier
	portNotifier PortNotifier
	handle       DomainHandle

	maxPort uint32      // highest port the domain may allocate (config)
	chans   []channel   // valid ports; grows by portsPerBucket
	vcpus   []vcpuState // fixed at creation

	sharedGFN uint64 // shared_info frame, if sharedSet
	sharedSet bool
	compat    bool // shared_info and vcpu_info in the 32-bit layout (SetCompat)

	ops  ABI      // twoLevel{compat} or *fifoABI
	fifo *fifoABI // non-nil iff ops is FIFO
	dead bool     // removed from its System
}

// chanState is the internal state of a port (Xen's ECS_*).
type chanState uint8

const (
	csFree chanState = iota
	csReserved
	csUnbound
	csInterdomain
	csListener // interdomain with the hypervisor as the other end
	csVIRQ
	csIPI
)

// channel is one port.
type channel struct {
	state    chanState
	virq     uint8 // csVIRQ
	prio     uint8 // FIFO priority
	lastPrio uint8 // FIFO queue the event was last linked on (with lastVCPU)
	// pending records an event raised while the ABI had nowhere to store
	// it (no shared_info frame, event-array page or control block).
	pending    bool
	vcpu       uint32 // notified vCPU
	lastVCPU   uint32
	remotePort uint32  // csInterdomain
	remoteID   uint16  // csUnbound: who may bind; csInterdomain: the peer
	remote     *Domain // csInterdomain
	listener   Listener
}

// vcpuState is the per-vCPU part of the table.
type vcpuState struct {
	infoGFN uint64 // registered vcpu_info, if infoSet
	infoOff uint32
	infoSet bool
	// upcallLost is set when an upcall had to be signalled while the
	// vCPU had no vcpu_info; it is delivered when one appears.
	upcallLost bool
	cbSet      bool // FIFO control block registered
	cbGFN      uint64
	cbOff      uint32
	virq       [xen.NrVIRQs]uint32 // VIRQ → port (0: unbound)
	tail       [xen.EvtchnFIFOMaxQueues]uint32
}

// VIRQ kinds (Xen's enum virq_type).
const (
	virqVCPU = iota
	virqDomain
	virqGlobal
)

// virqKind classifies a VIRQ below xen.NrVIRQs as Xen does on x86.
func virqKind(virq uint32) int {
	switch virq {
	case xen.VIRQTimer, xen.VIRQDebug, xen.VIRQXenoprof, xen.VIRQXenPMU:
		return virqVCPU
	case xen.VIRQArgo:
		return virqDomain
	}
	return virqGlobal
}

// VCPUs returns the number of vCPUs the table was created with.
func (t *Table) VCPUs() int { return len(t.vcpus) }

// ABI returns the active delivery ABI.
func (t *Table) ABI() ABI {
	t.sys.mu.Lock()
	defer t.sys.mu.Unlock()
	return t.ops
}

// MaxPort returns the highest port the domain may allocate under the active
// ABI.
func (t *Table) MaxPort() uint32 {
	t.sys.mu.Lock()
	defer t.sys.mu.Unlock()
	return t.portLimit()
}

func (t *Table) portLimit() uint32 {
	m := uint32(t.ops.MaxPorts() - 1)
	if t.maxPort < m {
		return t.maxPort
	}
	return m
}

// SharedInfo returns the shared_info frame, if one has been set.
func (t *Table) SharedInfo() (gfn uint64, ok bool) {
	t.sys.mu.Lock()
	defer t.sys.mu.Unlock()
	return t.sharedGFN, t.sharedSet
}

// validPort is Xen's port_is_valid: the port exists in the table (it may
// still be free).
func (t *Table) validPort(port uint32) bool { return port < uint32(len(t.chans)) }

// usable is Xen's evtchn_usable: the port is bound to something.
func (c *channel) usable() bool { return c.state > csReserved }

// freePort finds (and if needed creates) the lowest free port, as Xen's
// get_free_port. A free port whose FIFO event is still linked is busy and
// skipped.
func (t *Table) freePort() (uint32, int) {
	if t.dead {
		return 0, -int(xen.EINVAL)
	}
	limit := t.portLimit()
	for p := uint32(1); p <= limit; p++ {
		if p < uint32(len(t.chans)) {
			if t.chans[p].state == csFree && !t.ops.isBusy(t, p) {
				return p, 0
			}
			continue
		}
		n := len(t.chans) + portsPerBucket
		grown := make([]channel, n)
		copy(grown, t.chans)
		t.chans = grown
		return p, 0
	}
	return 0, -int(xen.ENOSPC)
}

// closePort is Xen's evtchn_close.
func (t *Table) closePort(port uint32) int {
	if !t.validPort(port) {
		return -int(xen.EINVAL)
	}
	ch := &t.chans[port]
	switch ch.state {
	case csFree, csReserved:
		return -int(xen.EINVAL)
	case csVIRQ:
		v := uint32(0)
		if virqKind(uint32(ch.virq)) == virqVCPU {
			v = ch.vcpu
		}
		if v < uint32(len(t.vcpus)) && t.vcpus[v].virq[ch.virq] == port {
			t.vcpus[v].virq[ch.virq] = 0
		}
	case csInterdomain:
		if rd := ch.remote; rd != nil && rd.Table != nil && rd.validPort(ch.remotePort) {
			rch := &rd.chans[ch.remotePort]
			if rch.state == csInterdomain && rch.remote == t.dom && rch.remotePort == port {
				rch.state = csUnbound
				rch.remote = nil
				rch.remoteID = t.dom.id
				rch.remotePort = 0
			}
		}
	}
	t.freeChannel(port)
	return 0
}

// freeChannel is Xen's evtchn_free.
func (t *Table) freeChannel(port uint32) {
	ch := &t.chans[port]
	if ch.usable() {
		t.ops.clearPending(t, port)
	}
	*ch = channel{lastVCPU: ch.lastVCPU, lastPrio: ch.lastPrio}
}

// setPending is Xen's evtchn_port_set_pending.
func (t *Table) setPending(vcpu uint32, port uint32) {
	if !t.validPort(port) || vcpu >= uint32(len(t.vcpus)) || !t.chans[port].usable() {
		return
	}
	t.ops.setPending(t, vcpu, port)
}

// portPending queues the poller note for a port that became pending.
func (t *Table) portPending(port uint32) {
	if t.portNotifier != nil {
		t.sys.queue(call{kind: callPort, t: t, port: port})
	}
}

// BindVIRQ binds VIRQ virq for vCPU vcpu to a new port
// (EVTCHNOP_bind_virq). Per-vCPU VIRQs (timer, debug, ...) may be bound once
// per vCPU; other VIRQs only with vcpu 0, and global ones only by their
// handler domain (see System.SetGlobalVIRQHandler). Errors: -EINVAL for a
// bad VIRQ or a non-zero vcpu with a non-per-vCPU VIRQ, -ENOENT for a bad
// vCPU, -EBUSY for a global VIRQ this domain does not handle, -EEXIST when
// already bound, -ENOSPC.
func (t *Table) BindVIRQ(virq, vcpu uint32) (uint32, int) {
	s := t.sys
	s.mu.Lock()
	defer s.unlock()
	if t.dead || virq >= xen.NrVIRQs {
		return 0, -int(xen.EINVAL)
	}
	kind := virqKind(virq)
	if kind != virqVCPU && vcpu != 0 {
		return 0, -int(xen.EINVAL)
	}
	if vcpu >= uint32(len(t.vcpus)) {
		return 0, -int(xen.ENOENT)
	}
	if kind == virqGlobal && s.globalHandler(virq) != t.dom {
		return 0, -int(xen.EBUSY)
	}
	if t.vcpus[vcpu].virq[virq] != 0 {
		return 0, -int(xen.EEXIST)
	}
	port, rc := t.freePort()
	if rc != 0 {
		return 0, rc
	}
	ch := &t.chans[port]
	ch.state = csVIRQ
	ch.vcpu = vcpu
	ch.virq = uint8(virq)
	t.ops.init(t, port)
	t.vcpus[vcpu].virq[virq] = port
	return port, 0
}

// BindIPI binds a new port for inter-processor notifications to vCPU vcpu
// (EVTCHNOP_bind_ipi). Errors: -ENOENT for a bad vCPU, -ENOSPC.
func (t *Table) BindIPI(vcpu uint32) (uint32, int) {
	s := t.sys
	s.mu.Lock()
	defer s.unlock()
	if t.dead {
		return 0, -int(xen.EINVAL)
	}
	if vcpu >= uint32(len(t.vcpus)) {
		return 0, -int(xen.ENOENT)
	}
	port, rc := t.freePort()
	if rc != 0 {
		return 0, rc
	}
	ch := &t.chans[port]
	ch.state = csIPI
	ch.vcpu = vcpu
	t.ops.init(t, port)
	return port, 0
}

// BindVCPU changes the vCPU notified for port (EVTCHNOP_bind_vcpu). Allowed
// for unbound and interdomain ports and for VIRQs that are not per-vCPU.
// Errors: -ENOENT for a bad vCPU, -EINVAL for an invalid port or a port in
// another state.
func (t *Table) BindVCPU(port, vcpu uint32) int {
	s := t.sys
	s.mu.Lock()
	defer s.unlock()
	if t.dead {
		return -int(xen.EINVAL)
	}
	if vcpu >= uint32(len(t.vcpus)) {
		return -int(xen.ENOENT)
	}
	if !t.validPort(port) {
		return -int(xen.EINVAL)
	}
	ch := &t.chans[port]
	switch ch.state {
	case csVIRQ:
		if virqKind(uint32(ch.virq)) == virqVCPU {
			return -int(xen.EINVAL)
		}
	case csUnbound, csInterdomain, csListener:
	default:
		return -int(xen.EINVAL)
	}
	ch.vcpu = vcpu
	return 0
}

// Unmask unmasks port and, if it is pending, signals it again
// (EVTCHNOP_unmask). Errors: -EINVAL for an invalid port.
func (t *Table) Unmask(port uint32) int {
	s := t.sys
	s.mu.Lock()
	defer s.unlock()
	if t.dead || !t.validPort(port) {
		return -int(xen.EINVAL)
	}
	if t.chans[port].usable() {
		t.ops.unmask(t, port)
	}
	return 0
}

// SetPriority sets a port's FIFO priority (EVTCHNOP_set_priority), 0
// (highest) to 15. Errors: -EINVAL for an invalid port or priority, -ENOSYS
// under the 2-level ABI.
func (t *Table) SetPriority(port, priority uint32) int {
	s := t.sys
	s.mu.Lock()
	defer s.unlock()
	if t.dead || !t.validPort(port) {
		return -int(xen.EINVAL)
	}
	return t.ops.setPriority(t, port, priority)
}

// RaiseVIRQ is the hypervisor raising a VIRQ in this domain: for a per-vCPU
// VIRQ (timer, debug) on vCPU vcpu, for any other the port bound through
// vCPU 0, delivered to whichever vCPU it is bound to (vcpu is ignored).
// It reports whether a bound port was found.
func (t *Table) RaiseVIRQ(virq uint32, vcpu int) bool {
	s := t.sys
	s.mu.Lock()
	defer s.unlock()
	if virqKind(virq) == virqVCPU {
		if vcpu < 0 || vcpu >= len(t.vcpus) {
			return false
		}
		return t.raiseVIRQ(virq, uint32(vcpu))
	}
	return t.raiseVIRQ(virq, 0)
}

func (t *Table) raiseVIRQ(virq, vcpu uint32) bool {
	if t.dead || virq >= xen.NrVIRQs || vcpu >= uint32(len(t.vcpus)) {
		return false
	}
	port := t.vcpus[vcpu].virq[virq]
	if port == 0 || !t.validPort(port) {
		return false
	}
	if virqKind(virq) != virqVCPU {
		vcpu = t.chans[port].vcpu
	}
	t.setPending(vcpu, port)
	return true
}

// VIRQEnabled reports whether the guest has bound virq (for a per-vCPU VIRQ,
// on vCPU vcpu), as Xen's evtchn_virq_enabled.
func (t *Table) VIRQEnabled(virq uint32, vcpu int) bool {
	s := t.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	if virq >= xen.NrVIRQs || vcpu < 0 || vcpu >= len(t.vcpus) {
		return false
	}
	if virqKind(virq) != virqVCPU {
		vcpu = 0
	}
	return t.vcpus[vcpu].virq[virq] != 0
}

// IsPending reports whether port is bound and pending (for SCHEDOP_poll).
func (t *Table) IsPending(port uint32) bool {
	s := t.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	return t.validPort(port) && t.chans[port].usable() && t.ops.isPending(t, port)
}

// IsMasked reports whether port is masked; ports that are invalid or not
// bound count as masked.
func (t *Table) IsMasked(port uint32) bool {
	s := t.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	return !t.validPort(port) || !t.chans[port].usable() || t.ops.isMasked(t, port)
}
