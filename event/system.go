package event

import (
	"errors"
	"sync"

	"gozen/abi/xen"
)

// GuestMem gives access to a domain's guest-physical memory (the shared_info
// page, vcpu_info areas and FIFO control blocks live there).
type GuestMem interface {
	// Page returns the 4 KiB page at guest frame gfn for direct
	// (atomic-free: one CPU) access, or nil if gfn is not RAM.
	Page(gfn uint64) *[4096]byte
}

// DomainHandle is an opaque value the hypervisor attaches to a domain
// (Config.Handle), typically its own domain object. The package only passes
// it back in Notifier calls.
type DomainHandle any

// Notifier is how the package asks the hypervisor to act on a vCPU: wake it
// if blocked and make it take an upcall when it can.
type Notifier interface {
	Kick(domain DomainHandle, vcpu int)
}

// PortNotifier may also be implemented by a Config.Notifier. PortPending is
// called whenever a port of the domain goes from not pending to pending,
// masked or not: this is Xen's evtchn_check_pollers hook, which is what a
// SCHEDOP_poll implementation needs.
type PortNotifier interface {
	PortPending(domain DomainHandle, port uint32)
}

// Listener is the hypervisor's end of a channel made with
// Domain.BindListener (a backend living in the hypervisor, such as a console
// or xenstore ring served by hv itself). Notify is called, without the
// package's lock held, each time the guest sends on that port.
type Listener interface {
	Notify(d *Domain, port uint32)
}

// System is the registry of domains that may bind interdomain channels to
// each other. Its zero value is not usable; call NewSystem.
type System struct {
	mu       sync.Mutex
	doms     map[uint16]*Domain
	global   [xen.NrVIRQs]*Domain // explicit global VIRQ handlers
	hardware *Domain              // default global VIRQ handler
	calls    []call               // callbacks to make once mu is released
}

// call is a deferred callback.
type call struct {
	t    *Table
	l    Listener
	vcpu int
	port uint32
	kind uint8
}

const (
	callKick = iota
	callPort
	callListener
)

// NewSystem returns an empty registry.
func NewSystem() *System {
	return &System{doms: make(map[uint16]*Domain), calls: make([]call, 0, 16)}
}

// Config describes a domain for System.AddDomain.
type Config struct {
	ID    uint16 // domain ID, below xen.DomIDFirstReserved
	VCPUs int    // number of vCPUs, 1..MaxVCPUs
	Mem   GuestMem
	// Notifier receives kicks (and, if it implements PortNotifier,
	// port-pending notes). It may be nil.
	Notifier Notifier
	Handle   DomainHandle // passed back to Notifier
	// MaxPort is the highest port the domain may allocate (Xen's
	// max_evtchn_port); 0 means DefaultMaxPort. The active ABI caps it
	// further (4095 for 2-level, 131071 for FIFO).
	MaxPort uint32
	// Privileged domains may allocate unbound ports in, query the status
	// of, and reset other domains (Xen's XSM_TARGET rule). The first
	// privileged domain added is also the default handler of global VIRQs
	// (Xen's hardware domain).
	Privileged bool
}

// Domain is one domain's entry in a System: its identity plus its event
// channel Table (embedded, so the Table methods are Domain methods too).
// Methods on Domain are the operations that may involve another domain;
// the receiver is the calling ("current") domain.
type Domain struct {
	*Table
	id         uint16
	privileged bool
}

// AddDomain creates the event-channel state of a domain and registers it.
// The domain starts with the 2-level ABI and no shared_info frame.
func (s *System) AddDomain(c Config) (*Domain, error) {
	if c.ID > maxDomainID {
		return nil, errors.New("event: reserved domain ID")
	}
	if c.VCPUs < 1 || c.VCPUs > MaxVCPUs {
		return nil, errors.New("event: bad vCPU count")
	}
	if c.Mem == nil {
		return nil, errors.New("event: no guest memory")
	}
	maxPort := c.MaxPort
	if maxPort == 0 {
		maxPort = DefaultMaxPort
	}
	if maxPort > xen.EvtchnFIFONrChannels-1 {
		maxPort = xen.EvtchnFIFONrChannels - 1
	}
	d := &Domain{id: c.ID, privileged: c.Privileged}
	t := &Table{
		dom:      d,
		sys:      s,
		mem:      c.Mem,
		notifier: c.Notifier,
		handle:   c.Handle,
		maxPort:  maxPort,
		chans:    make([]channel, portsPerBucket),
		vcpus:    make([]vcpuState, c.VCPUs),
		ops:      twoLevel{},
	}
	if pn, ok := c.Notifier.(PortNotifier); ok {
		t.portNotifier = pn
	}
	t.chans[0].state = csReserved
	d.Table = t

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.doms[c.ID]; dup {
		return nil, errors.New("event: duplicate domain ID")
	}
	s.doms[c.ID] = d
	if c.Privileged && s.hardware == nil {
		s.hardware = d
	}
	return d, nil
}

// Lookup returns the registered domain with the given ID, or nil.
func (s *System) Lookup(id uint16) *Domain {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.doms[id]
}

// RemoveDomain tears a domain's event channels down (its interdomain peers
// go back to unbound, as in Xen's evtchn_destroy) and unregisters it. Every
// later operation on d fails with -EINVAL. Removing twice is harmless.
func (s *System) RemoveDomain(d *Domain) {
	if d == nil || d.Table == nil || d.sys != s {
		return
	}
	s.mu.Lock()
	defer s.unlock()
	t := d.Table
	if t.dead {
		return
	}
	for p := uint32(len(t.chans)) - 1; p > 0; p-- {
		t.closePort(p)
	}
	t.fifoDestroy()
	for i := range s.global {
		if s.global[i] == d {
			s.global[i] = nil
		}
	}
	if s.hardware == d {
		s.hardware = nil
	}
	if s.doms[d.id] == d {
		delete(s.doms, d.id)
	}
	t.dead = true
}

// SetGlobalVIRQHandler makes d the domain that may bind, and receives, the
// global VIRQ virq (Xen's set_global_virq_handler). A nil d restores the
// default (the first privileged domain). It returns -EINVAL for a VIRQ that
// is not global or a domain that is not registered here.
func (s *System) SetGlobalVIRQHandler(virq uint32, d *Domain) int {
	if virq >= xen.NrVIRQs || virqKind(virq) != virqGlobal {
		return -int(xen.EINVAL)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d != nil && (d.Table == nil || d.sys != s || s.doms[d.id] != d) {
		return -int(xen.EINVAL)
	}
	s.global[virq] = d
	return 0
}

// RaiseGlobalVIRQ raises a global VIRQ (such as xen.VIRQConsole) in its
// handler domain (Xen's send_global_virq). It reports whether a bound port
// was found.
func (s *System) RaiseGlobalVIRQ(virq uint32) bool {
	if virq >= xen.NrVIRQs || virqKind(virq) != virqGlobal {
		return false
	}
	s.mu.Lock()
	defer s.unlock()
	d := s.globalHandler(virq)
	if d == nil {
		return false
	}
	return d.raiseVIRQ(virq, 0)
}

func (s *System) globalHandler(virq uint32) *Domain {
	if d := s.global[virq]; d != nil {
		return d
	}
	return s.hardware
}

// resolve maps a domain ID from a hypercall (xen.DomIDSelf allowed) to a
// registered domain.
func (s *System) resolve(self *Domain, id uint16) *Domain {
	if id == xen.DomIDSelf {
		return self
	}
	return s.doms[id]
}

// queue queues a callback to run once the lock is released.
func (s *System) queue(c call) { s.calls = append(s.calls, c) }

// unlock runs the queued callbacks, each without the lock held, then
// releases the lock.
func (s *System) unlock() {
	for len(s.calls) > 0 {
		c := s.calls[0]
		n := copy(s.calls, s.calls[1:])
		s.calls[n] = call{}
		s.calls = s.calls[:n]
		s.mu.Unlock()
		switch c.kind {
		case callKick:
			c.t.notifier.Kick(c.t.handle, c.vcpu)
		case callPort:
			c.t.portNotifier.PortPending(c.t.handle, c.port)
		case callListener:
			c.l.Notify(c.t.dom, c.port)
		}
		s.mu.Lock()
	}
	s.mu.Unlock()
}

// ID returns the domain's ID.
func (d *Domain) ID() uint16 { return d.id }

// Privileged reports whether the domain was configured as privileged.
func (d *Domain) Privileged() bool { return d.privileged }

// mayControl is Xen's XSM_TARGET default: a domain may act on itself, and a
// privileged domain on any domain.
func (d *Domain) mayControl(target *Domain) bool {
	return target == d || d.privileged
}

// Status describes one port (EVTCHNOP_status). State is one of the
// xen.EvtchnStat* constants; the other fields are filled as the state says:
//
//	xen.EvtchnStatUnbound:     RemoteDom = the domain allowed to bind it
//	xen.EvtchnStatInterdomain: RemoteDom, RemotePort = the other end
//	                           (xen.DomIDXen, 0 for a Listener channel)
//	xen.EvtchnStatVirq:        VIRQ
//
// VCPU is the vCPU notified for the port.
type Status struct {
	State      uint32
	VCPU       uint32
	RemoteDom  uint16
	RemotePort uint32
	VIRQ       uint32
}

// AllocUnbound allocates a port in domain dom (xen.DomIDSelf or an ID) that
// domain remote (xen.DomIDSelf meaning the caller) may later bind with
// BindInterdomain (EVTCHNOP_alloc_unbound). Errors: -ESRCH for an unknown
// dom, -ENOSPC when dom has no free port, -EPERM when the caller may not act
// on dom.
func (d *Domain) AllocUnbound(dom, remote uint16) (uint32, int) {
	s := d.sys
	s.mu.Lock()
	defer s.unlock()
	if d.dead {
		return 0, -int(xen.EINVAL)
	}
	target := s.resolve(d, dom)
	if target == nil {
		return 0, -int(xen.ESRCH)
	}
	t := target.Table
	port, rc := t.freePort()
	if rc != 0 {
		return 0, rc
	}
	if !d.mayControl(target) {
		return 0, -int(xen.EPERM)
	}
	if remote == xen.DomIDSelf {
		remote = d.id
	}
	ch := &t.chans[port]
	ch.state = csUnbound
	ch.remoteID = remote
	t.ops.init(t, port)
	return port, 0
}

// BindInterdomain connects a new local port to port remotePort of domain
// remoteDom, which must be unbound and allocated for the caller
// (EVTCHNOP_bind_interdomain). Like Xen, it conservatively marks the new
// local port pending, in case the remote end signalled while unbound.
// Errors: -ESRCH for an unknown remoteDom, -ENOSPC when the caller has no
// free port, -EINVAL when the remote port is invalid, not unbound, or not
// offered to the caller.
func (d *Domain) BindInterdomain(remoteDom uint16, remotePort uint32) (uint32, int) {
	s := d.sys
	s.mu.Lock()
	defer s.unlock()
	if d.dead {
		return 0, -int(xen.EINVAL)
	}
	rd := s.resolve(d, remoteDom)
	if rd == nil {
		return 0, -int(xen.ESRCH)
	}
	lt, rt := d.Table, rd.Table
	lport, rc := lt.freePort()
	if rc != 0 {
		return 0, rc
	}
	if !rt.validPort(remotePort) {
		return 0, -int(xen.EINVAL)
	}
	rch := &rt.chans[remotePort]
	if rch.state != csUnbound || rch.remoteID != d.id {
		return 0, -int(xen.EINVAL)
	}
	lch := &lt.chans[lport]
	lch.state = csInterdomain
	lch.remote = rd
	lch.remoteID = rd.id
	lch.remotePort = remotePort
	lt.ops.init(lt, lport)

	rch.state = csInterdomain
	rch.remote = d
	rch.remoteID = d.id
	rch.remotePort = lport

	lt.setPending(lch.vcpu, lport)
	return lport, 0
}

// BindListener allocates a port whose other end is the hypervisor itself:
// each EVTCHNOP_send on it calls l.Notify, and the hypervisor signals the
// guest with Signal. The port notifies vCPU vcpu. Status reports it as
// interdomain with xen.DomIDXen, port 0. The guest may close it like any
// interdomain port. Errors: -ENOENT for a bad vCPU, -ENOSPC, -EINVAL for a
// nil listener or a removed domain.
func (d *Domain) BindListener(vcpu uint32, l Listener) (uint32, int) {
	s := d.sys
	s.mu.Lock()
	defer s.unlock()
	if d.dead || l == nil {
		return 0, -int(xen.EINVAL)
	}
	t := d.Table
	if vcpu >= uint32(len(t.vcpus)) {
		return 0, -int(xen.ENOENT)
	}
	port, rc := t.freePort()
	if rc != 0 {
		return 0, rc
	}
	ch := &t.chans[port]
	ch.state = csListener
	ch.listener = l
	ch.vcpu = vcpu
	t.ops.init(t, port)
	return port, 0
}

// Signal is the hypervisor end of a Listener channel notifying the guest:
// it marks the port pending. It returns -EINVAL if port is not a Listener
// channel of d.
func (d *Domain) Signal(port uint32) int {
	s := d.sys
	s.mu.Lock()
	defer s.unlock()
	t := d.Table
	if d.dead || !t.validPort(port) || t.chans[port].state != csListener {
		return -int(xen.EINVAL)
	}
	t.setPending(t.chans[port].vcpu, port)
	return 0
}

// OfferListener turns Listener port port of d into an unbound port that
// domain remote may bind with BindInterdomain: the hypervisor hands the
// channel's far end over to a back end in that domain (hv gives a
// boot-built domain's console to dom0's xenconsoled this way). The guest's
// end keeps its number, vCPU and pending state. It returns -EINVAL if port
// is not a Listener channel of d.
func (d *Domain) OfferListener(port uint32, remote uint16) int {
	s := d.sys
	s.mu.Lock()
	defer s.unlock()
	t := d.Table
	if d.dead || !t.validPort(port) || t.chans[port].state != csListener {
		return -int(xen.EINVAL)
	}
	ch := &t.chans[port]
	ch.state = csUnbound
	ch.listener = nil
	ch.remoteID = remote
	return 0
}

// Close closes a port (EVTCHNOP_close). Closing one end of an interdomain
// channel turns the other end back into an unbound port offered to the
// closer. Errors: -EINVAL for an invalid, reserved or already free port.
func (d *Domain) Close(port uint32) int {
	s := d.sys
	s.mu.Lock()
	defer s.unlock()
	if d.dead {
		return -int(xen.EINVAL)
	}
	return d.closePort(port)
}

// Send signals the other end of port (EVTCHNOP_send): the peer's port for
// an interdomain channel, this very port for an IPI, the hypervisor for a
// Listener channel; sending on an unbound port is silently dropped. Errors:
// -EINVAL for an invalid port or one in any other state.
func (d *Domain) Send(port uint32) int {
	s := d.sys
	s.mu.Lock()
	defer s.unlock()
	t := d.Table
	if d.dead || !t.validPort(port) {
		return -int(xen.EINVAL)
	}
	ch := &t.chans[port]
	switch ch.state {
	case csInterdomain:
		if ch.remote == nil || ch.remote.Table == nil || !ch.remote.validPort(ch.remotePort) {
			return -int(xen.EINVAL) // cannot happen: peers are kept consistent
		}
		rt := ch.remote.Table
		if rt.chans[ch.remotePort].state != csInterdomain {
			return -int(xen.EINVAL) // cannot happen: peers are kept consistent
		}
		rt.setPending(rt.chans[ch.remotePort].vcpu, ch.remotePort)
	case csIPI:
		t.setPending(ch.vcpu, port)
	case csListener:
		s.queue(call{kind: callListener, t: t, l: ch.listener, port: port})
	case csUnbound:
		// silently dropped, as in Xen
	default:
		return -int(xen.EINVAL)
	}
	return 0
}

// Status reports the state of port in domain dom (EVTCHNOP_status).
// Errors: -ESRCH for an unknown dom, -EINVAL for an invalid port, -EPERM
// when the caller may not inspect dom.
func (d *Domain) Status(dom uint16, port uint32) (Status, int) {
	s := d.sys
	s.mu.Lock()
	defer s.unlock()
	if d.dead {
		return Status{}, -int(xen.EINVAL)
	}
	target := s.resolve(d, dom)
	if target == nil {
		return Status{}, -int(xen.ESRCH)
	}
	t := target.Table
	if !t.validPort(port) {
		return Status{}, -int(xen.EINVAL)
	}
	if !d.mayControl(target) {
		return Status{}, -int(xen.EPERM)
	}
	return t.chans[port].status(), 0
}

// status is the channel as EVTCHNOP_status reports it.
func (ch *channel) status() Status {
	st := Status{VCPU: ch.vcpu}
	switch ch.state {
	case csUnbound:
		st.State = xen.EvtchnStatUnbound
		st.RemoteDom = ch.remoteID
	case csInterdomain:
		st.State = xen.EvtchnStatInterdomain
		st.RemoteDom = ch.remoteID
		st.RemotePort = ch.remotePort
	case csListener:
		st.State = xen.EvtchnStatInterdomain
		st.RemoteDom = xen.DomIDXen
	case csVIRQ:
		st.State = xen.EvtchnStatVirq
		st.VIRQ = uint32(ch.virq)
	case csIPI:
		st.State = xen.EvtchnStatIPI
	default:
		st.State = xen.EvtchnStatClosed
	}
	return st
}

// Reset closes every port of domain dom and, if it uses FIFO, returns it to
// the 2-level ABI (EVTCHNOP_reset). Errors: -ESRCH for an unknown dom,
// -EPERM when the caller may not act on dom.
func (d *Domain) Reset(dom uint16) int {
	s := d.sys
	s.mu.Lock()
	defer s.unlock()
	if d.dead {
		return -int(xen.EINVAL)
	}
	target := s.resolve(d, dom)
	if target == nil {
		return -int(xen.ESRCH)
	}
	if !d.mayControl(target) {
		return -int(xen.EPERM)
	}
	t := target.Table
	for p := uint32(1); p < uint32(len(t.chans)); p++ {
		t.closePort(p)
	}
	t.fifoDestroy()
	return 0
}
