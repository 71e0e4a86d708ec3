package xen

// The event_channel_op hypercall: EVTCHNOP_* commands, their arguments and
// the FIFO event-channel ABI (xen/include/public/event_channel.h). The call
// is event_channel_op(cmd, arg). Ports (evtchn_port_t) are uint32.

// event_channel_op commands (EVTCHNOP_* in event_channel.h).
const (
	// EvtchnOpBindInterdomain is EVTCHNOP_bind_interdomain
	// (EvtchnBindInterdomain).
	EvtchnOpBindInterdomain = 0
	// EvtchnOpBindVirq is EVTCHNOP_bind_virq (EvtchnBindVirq).
	EvtchnOpBindVirq = 1
	// EvtchnOpBindPirq is EVTCHNOP_bind_pirq (EvtchnBindPirq).
	EvtchnOpBindPirq = 2
	// EvtchnOpClose is EVTCHNOP_close (EvtchnClose).
	EvtchnOpClose = 3
	// EvtchnOpSend is EVTCHNOP_send (EvtchnSend): notify the remote end.
	EvtchnOpSend = 4
	// EvtchnOpStatus is EVTCHNOP_status (EvtchnStatus).
	EvtchnOpStatus = 5
	// EvtchnOpAllocUnbound is EVTCHNOP_alloc_unbound (EvtchnAllocUnbound).
	EvtchnOpAllocUnbound = 6
	// EvtchnOpBindIPI is EVTCHNOP_bind_ipi (EvtchnBindIPI).
	EvtchnOpBindIPI = 7
	// EvtchnOpBindVCPU is EVTCHNOP_bind_vcpu (EvtchnBindVCPU): change the
	// vCPU a port notifies.
	EvtchnOpBindVCPU = 8
	// EvtchnOpUnmask is EVTCHNOP_unmask (EvtchnUnmask): unmask, and
	// re-raise the port if it is pending.
	EvtchnOpUnmask = 9
	// EvtchnOpReset is EVTCHNOP_reset (EvtchnReset): close all of a
	// domain's ports; for DOMID_SELF also return to the 2-level ABI.
	EvtchnOpReset = 10
	// EvtchnOpInitControl is EVTCHNOP_init_control (EvtchnInitControl):
	// switch to the FIFO ABI and register a vCPU's control block.
	EvtchnOpInitControl = 11
	// EvtchnOpExpandArray is EVTCHNOP_expand_array (EvtchnExpandArray):
	// add a page to the FIFO event array.
	EvtchnOpExpandArray = 12
	// EvtchnOpSetPriority is EVTCHNOP_set_priority (EvtchnSetPriority, FIFO
	// only).
	EvtchnOpSetPriority = 13
	// EvtchnOpResetCont is EVTCHNOP_reset_cont, the continuation of
	// EVTCHNOP_reset; event_channel.h defines it only inside Xen (__XEN__).
	EvtchnOpResetCont = 14
)

// Channel states (EVTCHNSTAT_* in event_channel.h), EvtchnStatus.Status.
const (
	// EvtchnStatClosed is EVTCHNSTAT_closed: not in use.
	EvtchnStatClosed = 0
	// EvtchnStatUnbound is EVTCHNSTAT_unbound: waiting for an interdomain
	// connection.
	EvtchnStatUnbound = 1
	// EvtchnStatInterdomain is EVTCHNSTAT_interdomain: connected to a
	// remote domain.
	EvtchnStatInterdomain = 2
	// EvtchnStatPirq is EVTCHNSTAT_pirq: bound to a physical IRQ.
	EvtchnStatPirq = 3
	// EvtchnStatVirq is EVTCHNSTAT_virq: bound to a virtual IRQ.
	EvtchnStatVirq = 4
	// EvtchnStatIPI is EVTCHNSTAT_ipi: bound to a virtual IPI.
	EvtchnStatIPI = 5
)

// BindPirqWillShare is BIND_PIRQ__WILL_SHARE, a flag in
// EvtchnBindPirq.Flags.
const BindPirqWillShare = 1

// FIFO event-channel ABI (event_channel.h). Each port has a 32-bit event
// word in the guest's event array pages; each vCPU has a control block
// holding the head of one queue per priority.
const (
	// EvtchnFIFOPriorityMax is EVTCHN_FIFO_PRIORITY_MAX: the highest
	// priority (0).
	EvtchnFIFOPriorityMax = 0
	// EvtchnFIFOPriorityDefault is EVTCHN_FIFO_PRIORITY_DEFAULT.
	EvtchnFIFOPriorityDefault = 7
	// EvtchnFIFOPriorityMin is EVTCHN_FIFO_PRIORITY_MIN: the lowest (15).
	EvtchnFIFOPriorityMin = 15
	// EvtchnFIFOMaxQueues is EVTCHN_FIFO_MAX_QUEUES: one queue per priority.
	EvtchnFIFOMaxQueues = EvtchnFIFOPriorityMin + 1

	// EvtchnFIFOPending is EVTCHN_FIFO_PENDING: bit number in an event word.
	EvtchnFIFOPending = 31
	// EvtchnFIFOMasked is EVTCHN_FIFO_MASKED: bit number in an event word.
	EvtchnFIFOMasked = 30
	// EvtchnFIFOLinked is EVTCHN_FIFO_LINKED: bit number in an event word.
	EvtchnFIFOLinked = 29
	// EvtchnFIFOBusy is EVTCHN_FIFO_BUSY: bit number in an event word.
	EvtchnFIFOBusy = 28

	// EvtchnFIFOLinkBits is EVTCHN_FIFO_LINK_BITS: width of the link field.
	EvtchnFIFOLinkBits = 17
	// EvtchnFIFOLinkMask is EVTCHN_FIFO_LINK_MASK: the low bits of an event
	// word holding the next port in its queue.
	EvtchnFIFOLinkMask = 1<<EvtchnFIFOLinkBits - 1
	// EvtchnFIFONrChannels is EVTCHN_FIFO_NR_CHANNELS: ports of the FIFO ABI.
	EvtchnFIFONrChannels = 1 << EvtchnFIFOLinkBits

	// EvtchnFIFOEventWordsPerPage is EVTCHN_FIFO_EVENT_WORDS_PER_PAGE: event
	// words in one 4 KiB array page. It is defined in Xen's
	// xen/common/event_fifo.c (PAGE_SIZE / sizeof(event_word_t)) and in
	// Linux's drivers/xen/events/events_fifo.c, not in the public header.
	EvtchnFIFOEventWordsPerPage = 1024
)

// Encoded sizes in bytes of the event-channel structures.
const (
	EvtchnAllocUnboundSize     = 8  // struct evtchn_alloc_unbound
	EvtchnBindInterdomainSize  = 12 // struct evtchn_bind_interdomain
	EvtchnBindVirqSize         = 12 // struct evtchn_bind_virq
	EvtchnBindPirqSize         = 12 // struct evtchn_bind_pirq
	EvtchnBindIPISize          = 8  // struct evtchn_bind_ipi
	EvtchnCloseSize            = 4  // struct evtchn_close
	EvtchnSendSize             = 4  // struct evtchn_send
	EvtchnStatusSize           = 24 // struct evtchn_status
	EvtchnBindVCPUSize         = 8  // struct evtchn_bind_vcpu
	EvtchnUnmaskSize           = 4  // struct evtchn_unmask
	EvtchnResetSize            = 2  // struct evtchn_reset
	EvtchnInitControlSize      = 24 // struct evtchn_init_control
	EvtchnExpandArraySize      = 8  // struct evtchn_expand_array
	EvtchnSetPrioritySize      = 8  // struct evtchn_set_priority
	EvtchnOpSize               = 28 // struct evtchn_op
	EvtchnFIFOControlBlockSize = 72 // struct evtchn_fifo_control_block
)

// Offsets of the fields of struct evtchn_fifo_control_block, for code that
// updates a live control block in guest memory.
const (
	// EvtchnFIFOControlBlockReadyOffset is offsetof(ready): a 32-bit word,
	// bit q set when queue q is non-empty.
	EvtchnFIFOControlBlockReadyOffset = 0
	// EvtchnFIFOControlBlockHeadOffset is offsetof(head): the 32-bit head
	// port of each of the EvtchnFIFOMaxQueues queues, by priority.
	EvtchnFIFOControlBlockHeadOffset = 8
)

// Sizes of the unions and padding inside the event-channel structures.
const (
	evtchnStatusUnionSize    = 8  // sizeof(evtchn_status.u)
	evtchnOpUnionSize        = 24 // sizeof(evtchn_op.u)
	evtchnInitControlPadSize = 7  // sizeof(evtchn_init_control._pad)
)

// EvtchnAllocUnbound is struct evtchn_alloc_unbound (8 bytes): allocate a
// port in Dom that RemoteDom may later bind to.
type EvtchnAllocUnbound struct {
	Dom       uint16 // IN: DomIDSelf unless privileged
	RemoteDom uint16 // IN: the domain allowed to connect
	Port      uint32 // OUT
}

// Encode writes a into b[:EvtchnAllocUnboundSize]. It panics if b is
// shorter.
func (a *EvtchnAllocUnbound) Encode(b []byte) {
	_ = b[EvtchnAllocUnboundSize-1]
	le.PutUint16(b[0:], a.Dom)
	le.PutUint16(b[2:], a.RemoteDom)
	le.PutUint32(b[4:], a.Port)
}

// Decode reads a from the first EvtchnAllocUnboundSize bytes of b, or
// returns an error if b is shorter.
func (a *EvtchnAllocUnbound) Decode(b []byte) error {
	if len(b) < EvtchnAllocUnboundSize {
		return shortError("evtchn_alloc_unbound", EvtchnAllocUnboundSize, len(b))
	}
	a.Dom = le.Uint16(b[0:])
	a.RemoteDom = le.Uint16(b[2:])
	a.Port = le.Uint32(b[4:])
	return nil
}

// AppendBinary appends the encoding of a to b (encoding.BinaryAppender).
func (a *EvtchnAllocUnbound) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, EvtchnAllocUnboundSize, a), nil
}

// MarshalBinary returns the EvtchnAllocUnboundSize-byte encoding of a.
func (a *EvtchnAllocUnbound) MarshalBinary() ([]byte, error) { return a.AppendBinary(nil) }

// UnmarshalBinary decodes a from b, which must be exactly
// EvtchnAllocUnboundSize bytes long.
func (a *EvtchnAllocUnbound) UnmarshalBinary(b []byte) error {
	if err := exactLength("evtchn_alloc_unbound", EvtchnAllocUnboundSize, b); err != nil {
		return err
	}
	return a.Decode(b)
}

// EvtchnBindInterdomain is struct evtchn_bind_interdomain (12 bytes):
// connect a new local port to an unbound port of RemoteDom.
type EvtchnBindInterdomain struct {
	RemoteDom  uint16 // IN
	RemotePort uint32 // IN
	LocalPort  uint32 // OUT
}

// Encode writes e into b[:EvtchnBindInterdomainSize], with zeros in the
// padding. It panics if b is shorter.
func (e *EvtchnBindInterdomain) Encode(b []byte) {
	_ = b[EvtchnBindInterdomainSize-1]
	le.PutUint16(b[0:], e.RemoteDom)
	clear(b[2:4]) // padding
	le.PutUint32(b[4:], e.RemotePort)
	le.PutUint32(b[8:], e.LocalPort)
}

// Decode reads e from the first EvtchnBindInterdomainSize bytes of b, or
// returns an error if b is shorter.
func (e *EvtchnBindInterdomain) Decode(b []byte) error {
	if len(b) < EvtchnBindInterdomainSize {
		return shortError("evtchn_bind_interdomain", EvtchnBindInterdomainSize, len(b))
	}
	e.RemoteDom = le.Uint16(b[0:])
	e.RemotePort = le.Uint32(b[4:])
	e.LocalPort = le.Uint32(b[8:])
	return nil
}

// AppendBinary appends the encoding of e to b (encoding.BinaryAppender).
func (e *EvtchnBindInterdomain) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, EvtchnBindInterdomainSize, e), nil
}

// MarshalBinary returns the EvtchnBindInterdomainSize-byte encoding of e.
func (e *EvtchnBindInterdomain) MarshalBinary() ([]byte, error) { return e.AppendBinary(nil) }

// UnmarshalBinary decodes e from b, which must be exactly
// EvtchnBindInterdomainSize bytes long.
func (e *EvtchnBindInterdomain) UnmarshalBinary(b []byte) error {
	if err := exactLength("evtchn_bind_interdomain", EvtchnBindInterdomainSize, b); err != nil {
		return err
	}
	return e.Decode(b)
}

// EvtchnBindVirq is struct evtchn_bind_virq (12 bytes): bind a VIRQ_* on a
// vCPU to a new port.
type EvtchnBindVirq struct {
	Virq uint32 // IN: VIRQ_*
	VCPU uint32 // IN
	Port uint32 // OUT
}

// Encode writes e into b[:EvtchnBindVirqSize]. It panics if b is shorter.
func (e *EvtchnBindVirq) Encode(b []byte) {
	_ = b[EvtchnBindVirqSize-1]
	le.PutUint32(b[0:], e.Virq)
	le.PutUint32(b[4:], e.VCPU)
	le.PutUint32(b[8:], e.Port)
}

// Decode reads e from the first EvtchnBindVirqSize bytes of b, or returns an
// error if b is shorter.
func (e *EvtchnBindVirq) Decode(b []byte) error {
	if len(b) < EvtchnBindVirqSize {
		return shortError("evtchn_bind_virq", EvtchnBindVirqSize, len(b))
	}
	e.Virq = le.Uint32(b[0:])
	e.VCPU = le.Uint32(b[4:])
	e.Port = le.Uint32(b[8:])
	return nil
}

// AppendBinary appends the encoding of e to b (encoding.BinaryAppender).
func (e *EvtchnBindVirq) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, EvtchnBindVirqSize, e), nil
}

// MarshalBinary returns the EvtchnBindVirqSize-byte encoding of e.
func (e *EvtchnBindVirq) MarshalBinary() ([]byte, error) { return e.AppendBinary(nil) }

// UnmarshalBinary decodes e from b, which must be exactly EvtchnBindVirqSize
// bytes long.
func (e *EvtchnBindVirq) UnmarshalBinary(b []byte) error {
	if err := exactLength("evtchn_bind_virq", EvtchnBindVirqSize, b); err != nil {
		return err
	}
	return e.Decode(b)
}

// EvtchnBindPirq is struct evtchn_bind_pirq (12 bytes).
type EvtchnBindPirq struct {
	Pirq  uint32 // IN
	Flags uint32 // IN: BindPirqWillShare
	Port  uint32 // OUT
}

// Encode writes e into b[:EvtchnBindPirqSize]. It panics if b is shorter.
func (e *EvtchnBindPirq) Encode(b []byte) {
	_ = b[EvtchnBindPirqSize-1]
	le.PutUint32(b[0:], e.Pirq)
	le.PutUint32(b[4:], e.Flags)
	le.PutUint32(b[8:], e.Port)
}

// Decode reads e from the first EvtchnBindPirqSize bytes of b, or returns an
// error if b is shorter.
func (e *EvtchnBindPirq) Decode(b []byte) error {
	if len(b) < EvtchnBindPirqSize {
		return shortError("evtchn_bind_pirq", EvtchnBindPirqSize, len(b))
	}
	e.Pirq = le.Uint32(b[0:])
	e.Flags = le.Uint32(b[4:])
	e.Port = le.Uint32(b[8:])
	return nil
}

// AppendBinary appends the encoding of e to b (encoding.BinaryAppender).
func (e *EvtchnBindPirq) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, EvtchnBindPirqSize, e), nil
}

// MarshalBinary returns the EvtchnBindPirqSize-byte encoding of e.
func (e *EvtchnBindPirq) MarshalBinary() ([]byte, error) { return e.AppendBinary(nil) }

// UnmarshalBinary decodes e from b, which must be exactly EvtchnBindPirqSize
// bytes long.
func (e *EvtchnBindPirq) UnmarshalBinary(b []byte) error {
	if err := exactLength("evtchn_bind_pirq", EvtchnBindPirqSize, b); err != nil {
		return err
	}
	return e.Decode(b)
}

// EvtchnBindIPI is struct evtchn_bind_ipi (8 bytes): a new port that
// notifies VCPU of the same domain.
type EvtchnBindIPI struct {
	VCPU uint32 // IN
	Port uint32 // OUT
}

// Encode writes e into b[:EvtchnBindIPISize]. It panics if b is shorter.
func (e *EvtchnBindIPI) Encode(b []byte) {
	_ = b[EvtchnBindIPISize-1]
	le.PutUint32(b[0:], e.VCPU)
	le.PutUint32(b[4:], e.Port)
}

// Decode reads e from the first EvtchnBindIPISize bytes of b, or returns an
// error if b is shorter.
func (e *EvtchnBindIPI) Decode(b []byte) error {
	if len(b) < EvtchnBindIPISize {
		return shortError("evtchn_bind_ipi", EvtchnBindIPISize, len(b))
	}
	e.VCPU = le.Uint32(b[0:])
	e.Port = le.Uint32(b[4:])
	return nil
}

// AppendBinary appends the encoding of e to b (encoding.BinaryAppender).
func (e *EvtchnBindIPI) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, EvtchnBindIPISize, e), nil
}

// MarshalBinary returns the EvtchnBindIPISize-byte encoding of e.
func (e *EvtchnBindIPI) MarshalBinary() ([]byte, error) { return e.AppendBinary(nil) }

// UnmarshalBinary decodes e from b, which must be exactly EvtchnBindIPISize
// bytes long.
func (e *EvtchnBindIPI) UnmarshalBinary(b []byte) error {
	if err := exactLength("evtchn_bind_ipi", EvtchnBindIPISize, b); err != nil {
		return err
	}
	return e.Decode(b)
}

// EvtchnClose is struct evtchn_close (4 bytes).
type EvtchnClose struct {
	Port uint32 // IN
}

// Encode writes c into b[:EvtchnCloseSize]. It panics if b is shorter.
func (c *EvtchnClose) Encode(b []byte) {
	_ = b[EvtchnCloseSize-1]
	le.PutUint32(b[0:], c.Port)
}

// Decode reads c from the first EvtchnCloseSize bytes of b, or returns an
// error if b is shorter.
func (c *EvtchnClose) Decode(b []byte) error {
	if len(b) < EvtchnCloseSize {
		return shortError("evtchn_close", EvtchnCloseSize, len(b))
	}
	c.Port = le.Uint32(b[0:])
	return nil
}

// AppendBinary appends the encoding of c to b (encoding.BinaryAppender).
func (c *EvtchnClose) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, EvtchnCloseSize, c), nil
}

// MarshalBinary returns the EvtchnCloseSize-byte encoding of c.
func (c *EvtchnClose) MarshalBinary() ([]byte, error) { return c.AppendBinary(nil) }

// UnmarshalBinary decodes c from b, which must be exactly EvtchnCloseSize
// bytes long.
func (c *EvtchnClose) UnmarshalBinary(b []byte) error {
	if err := exactLength("evtchn_close", EvtchnCloseSize, b); err != nil {
		return err
	}
	return c.Decode(b)
}

// EvtchnSend is struct evtchn_send (4 bytes).
type EvtchnSend struct {
	Port uint32 // IN
}

// Encode writes s into b[:EvtchnSendSize]. It panics if b is shorter.
func (s *EvtchnSend) Encode(b []byte) {
	_ = b[EvtchnSendSize-1]
	le.PutUint32(b[0:], s.Port)
}

// Decode reads s from the first EvtchnSendSize bytes of b, or returns an
// error if b is shorter.
func (s *EvtchnSend) Decode(b []byte) error {
	if len(b) < EvtchnSendSize {
		return shortError("evtchn_send", EvtchnSendSize, len(b))
	}
	s.Port = le.Uint32(b[0:])
	return nil
}

// AppendBinary appends the encoding of s to b (encoding.BinaryAppender).
func (s *EvtchnSend) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, EvtchnSendSize, s), nil
}

// MarshalBinary returns the EvtchnSendSize-byte encoding of s.
func (s *EvtchnSend) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// UnmarshalBinary decodes s from b, which must be exactly EvtchnSendSize
// bytes long.
func (s *EvtchnSend) UnmarshalBinary(b []byte) error {
	if err := exactLength("evtchn_send", EvtchnSendSize, b); err != nil {
		return err
	}
	return s.Decode(b)
}

// EvtchnStatus is struct evtchn_status (24 bytes). U holds the union u,
// whose meaning depends on Status; use the accessor methods.
type EvtchnStatus struct {
	Dom    uint16                      // IN: DomIDSelf unless privileged
	Port   uint32                      // IN
	Status uint32                      // OUT: EVTCHNSTAT_*
	VCPU   uint32                      // OUT: vCPU the port notifies
	U      [evtchnStatusUnionSize]byte // u: see the accessors
}

// UnboundDom returns u.unbound.dom: for EVTCHNSTAT_unbound, the domain
// allowed to connect.
func (s *EvtchnStatus) UnboundDom() uint16 { return le.Uint16(s.U[0:]) }

// InterdomainDom returns u.interdomain.dom: for EVTCHNSTAT_interdomain, the
// remote domain.
func (s *EvtchnStatus) InterdomainDom() uint16 { return le.Uint16(s.U[0:]) }

// InterdomainPort returns u.interdomain.port: the remote port.
func (s *EvtchnStatus) InterdomainPort() uint32 { return le.Uint32(s.U[4:]) }

// Pirq returns u.pirq, for EVTCHNSTAT_pirq.
func (s *EvtchnStatus) Pirq() uint32 { return le.Uint32(s.U[0:]) }

// Virq returns u.virq, for EVTCHNSTAT_virq.
func (s *EvtchnStatus) Virq() uint32 { return le.Uint32(s.U[0:]) }

// SetUnbound sets Status to EVTCHNSTAT_unbound and u.unbound.dom to dom.
func (s *EvtchnStatus) SetUnbound(dom uint16) {
	s.Status = EvtchnStatUnbound
	s.U = [evtchnStatusUnionSize]byte{}
	le.PutUint16(s.U[0:], dom)
}

// SetInterdomain sets Status to EVTCHNSTAT_interdomain and u.interdomain.
func (s *EvtchnStatus) SetInterdomain(dom uint16, port uint32) {
	s.Status = EvtchnStatInterdomain
	s.U = [evtchnStatusUnionSize]byte{}
	le.PutUint16(s.U[0:], dom)
	le.PutUint32(s.U[4:], port)
}

// SetPirq sets Status to EVTCHNSTAT_pirq and u.pirq.
func (s *EvtchnStatus) SetPirq(pirq uint32) {
	s.Status = EvtchnStatPirq
	s.U = [evtchnStatusUnionSize]byte{}
	le.PutUint32(s.U[0:], pirq)
}

// SetVirq sets Status to EVTCHNSTAT_virq and u.virq.
func (s *EvtchnStatus) SetVirq(virq uint32) {
	s.Status = EvtchnStatVirq
	s.U = [evtchnStatusUnionSize]byte{}
	le.PutUint32(s.U[0:], virq)
}

// Encode writes s into b[:EvtchnStatusSize], with zeros in the padding. It
// panics if b is shorter.
func (s *EvtchnStatus) Encode(b []byte) {
	_ = b[EvtchnStatusSize-1]
	le.PutUint16(b[0:], s.Dom)
	clear(b[2:4]) // padding
	le.PutUint32(b[4:], s.Port)
	le.PutUint32(b[8:], s.Status)
	le.PutUint32(b[12:], s.VCPU)
	copy(b[16:24], s.U[:])
}

// Decode reads s from the first EvtchnStatusSize bytes of b, or returns an
// error if b is shorter.
func (s *EvtchnStatus) Decode(b []byte) error {
	if len(b) < EvtchnStatusSize {
		return shortError("evtchn_status", EvtchnStatusSize, len(b))
	}
	s.Dom = le.Uint16(b[0:])
	s.Port = le.Uint32(b[4:])
	s.Status = le.Uint32(b[8:])
	s.VCPU = le.Uint32(b[12:])
	copy(s.U[:], b[16:24])
	return nil
}

// AppendBinary appends the encoding of s to b (encoding.BinaryAppender).
func (s *EvtchnStatus) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, EvtchnStatusSize, s), nil
}

// MarshalBinary returns the EvtchnStatusSize-byte encoding of s.
func (s *EvtchnStatus) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// UnmarshalBinary decodes s from b, which must be exactly EvtchnStatusSize
// bytes long.
func (s *EvtchnStatus) UnmarshalBinary(b []byte) error {
	if err := exactLength("evtchn_status", EvtchnStatusSize, b); err != nil {
		return err
	}
	return s.Decode(b)
}

// EvtchnBindVCPU is struct evtchn_bind_vcpu (8 bytes).
type EvtchnBindVCPU struct {
	Port uint32 // IN
	VCPU uint32 // IN: the vCPU to notify from now on
}

// Encode writes e into b[:EvtchnBindVCPUSize]. It panics if b is shorter.
func (e *EvtchnBindVCPU) Encode(b []byte) {
	_ = b[EvtchnBindVCPUSize-1]
	le.PutUint32(b[0:], e.Port)
	le.PutUint32(b[4:], e.VCPU)
}

// Decode reads e from the first EvtchnBindVCPUSize bytes of b, or returns an
// error if b is shorter.
func (e *EvtchnBindVCPU) Decode(b []byte) error {
	if len(b) < EvtchnBindVCPUSize {
		return shortError("evtchn_bind_vcpu", EvtchnBindVCPUSize, len(b))
	}
	e.Port = le.Uint32(b[0:])
	e.VCPU = le.Uint32(b[4:])
	return nil
}

// AppendBinary appends the encoding of e to b (encoding.BinaryAppender).
func (e *EvtchnBindVCPU) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, EvtchnBindVCPUSize, e), nil
}

// MarshalBinary returns the EvtchnBindVCPUSize-byte encoding of e.
func (e *EvtchnBindVCPU) MarshalBinary() ([]byte, error) { return e.AppendBinary(nil) }

// UnmarshalBinary decodes e from b, which must be exactly EvtchnBindVCPUSize
// bytes long.
func (e *EvtchnBindVCPU) UnmarshalBinary(b []byte) error {
	if err := exactLength("evtchn_bind_vcpu", EvtchnBindVCPUSize, b); err != nil {
		return err
	}
	return e.Decode(b)
}

// EvtchnUnmask is struct evtchn_unmask (4 bytes).
type EvtchnUnmask struct {
	Port uint32 // IN
}

// Encode writes u into b[:EvtchnUnmaskSize]. It panics if b is shorter.
func (u *EvtchnUnmask) Encode(b []byte) {
	_ = b[EvtchnUnmaskSize-1]
	le.PutUint32(b[0:], u.Port)
}

// Decode reads u from the first EvtchnUnmaskSize bytes of b, or returns an
// error if b is shorter.
func (u *EvtchnUnmask) Decode(b []byte) error {
	if len(b) < EvtchnUnmaskSize {
		return shortError("evtchn_unmask", EvtchnUnmaskSize, len(b))
	}
	u.Port = le.Uint32(b[0:])
	return nil
}

// AppendBinary appends the encoding of u to b (encoding.BinaryAppender).
func (u *EvtchnUnmask) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, EvtchnUnmaskSize, u), nil
}

// MarshalBinary returns the EvtchnUnmaskSize-byte encoding of u.
func (u *EvtchnUnmask) MarshalBinary() ([]byte, error) { return u.AppendBinary(nil) }

// UnmarshalBinary decodes u from b, which must be exactly EvtchnUnmaskSize
// bytes long.
func (u *EvtchnUnmask) UnmarshalBinary(b []byte) error {
	if err := exactLength("evtchn_unmask", EvtchnUnmaskSize, b); err != nil {
		return err
	}
	return u.Decode(b)
}

// EvtchnReset is struct evtchn_reset (2 bytes).
type EvtchnReset struct {
	Dom uint16 // IN: DomIDSelf unless privileged
}

// Encode writes r into b[:EvtchnResetSize]. It panics if b is shorter.
func (r *EvtchnReset) Encode(b []byte) {
	_ = b[EvtchnResetSize-1]
	le.PutUint16(b[0:], r.Dom)
}

// Decode reads r from the first EvtchnResetSize bytes of b, or returns an
// error if b is shorter.
func (r *EvtchnReset) Decode(b []byte) error {
	if len(b) < EvtchnResetSize {
		return shortError("evtchn_reset", EvtchnResetSize, len(b))
	}
	r.Dom = le.Uint16(b[0:])
	return nil
}

// AppendBinary appends the encoding of r to b (encoding.BinaryAppender).
func (r *EvtchnReset) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, EvtchnResetSize, r), nil
}

// MarshalBinary returns the EvtchnResetSize-byte encoding of r.
func (r *EvtchnReset) MarshalBinary() ([]byte, error) { return r.AppendBinary(nil) }

// UnmarshalBinary decodes r from b, which must be exactly EvtchnResetSize
// bytes long.
func (r *EvtchnReset) UnmarshalBinary(b []byte) error {
	if err := exactLength("evtchn_reset", EvtchnResetSize, b); err != nil {
		return err
	}
	return r.Decode(b)
}

// EvtchnInitControl is struct evtchn_init_control (24 bytes), the argument
// of EVTCHNOP_init_control.
type EvtchnInitControl struct {
	ControlGFN uint64                          // IN: page holding the control block
	Offset     uint32                          // IN: offset of the block in that page
	VCPU       uint32                          // IN
	LinkBits   uint8                           // OUT: EVTCHN_FIFO_LINK_BITS as Xen implements it
	Pad        [evtchnInitControlPadSize]uint8 // _pad
}

// Encode writes c into b[:EvtchnInitControlSize]. It panics if b is shorter.
func (c *EvtchnInitControl) Encode(b []byte) {
	_ = b[EvtchnInitControlSize-1]
	le.PutUint64(b[0:], c.ControlGFN)
	le.PutUint32(b[8:], c.Offset)
	le.PutUint32(b[12:], c.VCPU)
	b[16] = c.LinkBits
	copy(b[17:24], c.Pad[:])
}

// Decode reads c from the first EvtchnInitControlSize bytes of b, or returns
// an error if b is shorter.
func (c *EvtchnInitControl) Decode(b []byte) error {
	if len(b) < EvtchnInitControlSize {
		return shortError("evtchn_init_control", EvtchnInitControlSize, len(b))
	}
	c.ControlGFN = le.Uint64(b[0:])
	c.Offset = le.Uint32(b[8:])
	c.VCPU = le.Uint32(b[12:])
	c.LinkBits = b[16]
	copy(c.Pad[:], b[17:24])
	return nil
}

// AppendBinary appends the encoding of c to b (encoding.BinaryAppender).
func (c *EvtchnInitControl) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, EvtchnInitControlSize, c), nil
}

// MarshalBinary returns the EvtchnInitControlSize-byte encoding of c.
func (c *EvtchnInitControl) MarshalBinary() ([]byte, error) { return c.AppendBinary(nil) }

// UnmarshalBinary decodes c from b, which must be exactly
// EvtchnInitControlSize bytes long.
func (c *EvtchnInitControl) UnmarshalBinary(b []byte) error {
	if err := exactLength("evtchn_init_control", EvtchnInitControlSize, b); err != nil {
		return err
	}
	return c.Decode(b)
}

// EvtchnExpandArray is struct evtchn_expand_array (8 bytes).
type EvtchnExpandArray struct {
	ArrayGFN uint64 // IN: the next event-array page
}

// Encode writes x into b[:EvtchnExpandArraySize]. It panics if b is shorter.
func (x *EvtchnExpandArray) Encode(b []byte) {
	_ = b[EvtchnExpandArraySize-1]
	le.PutUint64(b[0:], x.ArrayGFN)
}

// Decode reads x from the first EvtchnExpandArraySize bytes of b, or returns
// an error if b is shorter.
func (x *EvtchnExpandArray) Decode(b []byte) error {
	if len(b) < EvtchnExpandArraySize {
		return shortError("evtchn_expand_array", EvtchnExpandArraySize, len(b))
	}
	x.ArrayGFN = le.Uint64(b[0:])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *EvtchnExpandArray) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, EvtchnExpandArraySize, x), nil
}

// MarshalBinary returns the EvtchnExpandArraySize-byte encoding of x.
func (x *EvtchnExpandArray) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly
// EvtchnExpandArraySize bytes long.
func (x *EvtchnExpandArray) UnmarshalBinary(b []byte) error {
	if err := exactLength("evtchn_expand_array", EvtchnExpandArraySize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// EvtchnSetPriority is struct evtchn_set_priority (8 bytes).
type EvtchnSetPriority struct {
	Port     uint32 // IN
	Priority uint32 // IN: EvtchnFIFOPriorityMax..EvtchnFIFOPriorityMin
}

// Encode writes p into b[:EvtchnSetPrioritySize]. It panics if b is shorter.
func (p *EvtchnSetPriority) Encode(b []byte) {
	_ = b[EvtchnSetPrioritySize-1]
	le.PutUint32(b[0:], p.Port)
	le.PutUint32(b[4:], p.Priority)
}

// Decode reads p from the first EvtchnSetPrioritySize bytes of b, or returns
// an error if b is shorter.
func (p *EvtchnSetPriority) Decode(b []byte) error {
	if len(b) < EvtchnSetPrioritySize {
		return shortError("evtchn_set_priority", EvtchnSetPrioritySize, len(b))
	}
	p.Port = le.Uint32(b[0:])
	p.Priority = le.Uint32(b[4:])
	return nil
}

// AppendBinary appends the encoding of p to b (encoding.BinaryAppender).
func (p *EvtchnSetPriority) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, EvtchnSetPrioritySize, p), nil
}

// MarshalBinary returns the EvtchnSetPrioritySize-byte encoding of p.
func (p *EvtchnSetPriority) MarshalBinary() ([]byte, error) { return p.AppendBinary(nil) }

// UnmarshalBinary decodes p from b, which must be exactly
// EvtchnSetPrioritySize bytes long.
func (p *EvtchnSetPriority) UnmarshalBinary(b []byte) error {
	if err := exactLength("evtchn_set_priority", EvtchnSetPrioritySize, b); err != nil {
		return err
	}
	return p.Decode(b)
}

// EvtchnOp is struct evtchn_op (28 bytes), the argument of the
// pre-3.2 event_channel_op_compat hypercall: a command followed by the
// union of the argument structures (alloc_unbound to unmask), whose
// encoding U holds.
type EvtchnOp struct {
	Cmd uint32                  // EVTCHNOP_*
	U   [evtchnOpUnionSize]byte // u: the encoded argument structure
}

// Encode writes o into b[:EvtchnOpSize]. It panics if b is shorter.
func (o *EvtchnOp) Encode(b []byte) {
	_ = b[EvtchnOpSize-1]
	le.PutUint32(b[0:], o.Cmd)
	copy(b[4:28], o.U[:])
}

// Decode reads o from the first EvtchnOpSize bytes of b, or returns an error
// if b is shorter.
func (o *EvtchnOp) Decode(b []byte) error {
	if len(b) < EvtchnOpSize {
		return shortError("evtchn_op", EvtchnOpSize, len(b))
	}
	o.Cmd = le.Uint32(b[0:])
	copy(o.U[:], b[4:28])
	return nil
}

// AppendBinary appends the encoding of o to b (encoding.BinaryAppender).
func (o *EvtchnOp) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, EvtchnOpSize, o), nil
}

// MarshalBinary returns the EvtchnOpSize-byte encoding of o.
func (o *EvtchnOp) MarshalBinary() ([]byte, error) { return o.AppendBinary(nil) }

// UnmarshalBinary decodes o from b, which must be exactly EvtchnOpSize bytes
// long.
func (o *EvtchnOp) UnmarshalBinary(b []byte) error {
	if err := exactLength("evtchn_op", EvtchnOpSize, b); err != nil {
		return err
	}
	return o.Decode(b)
}

// EvtchnFIFOControlBlock is struct evtchn_fifo_control_block (72 bytes),
// one vCPU's FIFO control block in guest memory.
type EvtchnFIFOControlBlock struct {
	Ready uint32                      // bit q set: queue q is non-empty
	Rsvd  uint32                      // _rsvd
	Head  [EvtchnFIFOMaxQueues]uint32 // first port of each priority queue
}

// Encode writes c into b[:EvtchnFIFOControlBlockSize]. It panics if b is
// shorter.
func (c *EvtchnFIFOControlBlock) Encode(b []byte) {
	_ = b[EvtchnFIFOControlBlockSize-1]
	le.PutUint32(b[0:], c.Ready)
	le.PutUint32(b[4:], c.Rsvd)
	for i, v := range c.Head {
		le.PutUint32(b[8+4*i:], v)
	}
}

// Decode reads c from the first EvtchnFIFOControlBlockSize bytes of b, or
// returns an error if b is shorter.
func (c *EvtchnFIFOControlBlock) Decode(b []byte) error {
	if len(b) < EvtchnFIFOControlBlockSize {
		return shortError("evtchn_fifo_control_block", EvtchnFIFOControlBlockSize, len(b))
	}
	c.Ready = le.Uint32(b[0:])
	c.Rsvd = le.Uint32(b[4:])
	for i := range c.Head {
		c.Head[i] = le.Uint32(b[8+4*i:])
	}
	return nil
}

// AppendBinary appends the encoding of c to b (encoding.BinaryAppender).
func (c *EvtchnFIFOControlBlock) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, EvtchnFIFOControlBlockSize, c), nil
}

// MarshalBinary returns the EvtchnFIFOControlBlockSize-byte encoding of c.
func (c *EvtchnFIFOControlBlock) MarshalBinary() ([]byte, error) { return c.AppendBinary(nil) }

// UnmarshalBinary decodes c from b, which must be exactly
// EvtchnFIFOControlBlockSize bytes long.
func (c *EvtchnFIFOControlBlock) UnmarshalBinary(b []byte) error {
	if err := exactLength("evtchn_fifo_control_block", EvtchnFIFOControlBlockSize, b); err != nil {
		return err
	}
	return c.Decode(b)
}
