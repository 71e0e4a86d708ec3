package xenstore

import (
	"encoding/binary"
	"errors"
	"sync/atomic"
	"unsafe"

	"gozen/abi/xen"
)

// Ring serves a Conn over a xenstore_domain_interface page shared with a
// guest (xs_wire.h): requests arrive in req[] between req_cons and
// req_prod, replies and events leave through rsp[] between rsp_cons and
// rsp_prod. The indexes are free-running uint32 counters masked with
// MASK_XENSTORE_IDX.
//
// The page is guest memory that the guest may change at any moment, so:
// each index is read once per pass with an atomic load; a producer that
// claims more than XENSTORE_RING_SIZE bytes in flight breaks the ring
// (never a loop or a panic); message bytes are copied out of req[] into
// the Ring's own buffer before the header or payload is looked at, so a
// guest rewriting req[] changes nothing after the copy (no double fetch);
// and req_cons / rsp_prod are published with atomic stores after the data
// moves. Go's sync/atomic operations are sequentially consistent, which
// gives the acquire (load the producer, then read the data) and release
// (write the data, then store the producer) orders the protocol needs, as
// the rmb()/wmb() of xenstored's domain.c and Linux's xb_read/xb_write do.
type Ring struct {
	c      *Conn
	page   []byte
	in     []byte // the message being assembled: header, then payload
	broken bool
}

// Errors of NewRing.
var (
	ErrPageSize  = errors.New("xenstore: ring page smaller than xenstore_domain_interface")
	ErrPageAlign = errors.New("xenstore: ring page not 4-byte aligned")
)

// NewRing attaches c to the ring page (at least
// XenstoreDomainInterfaceSize bytes, 4-byte aligned; normally the whole
// 4 KiB page) and advertises the reconnection and error features in
// server_features, as xenstored does when it introduces a domain.
func NewRing(page []byte, c *Conn) (*Ring, error) {
	if len(page) < xen.XenstoreDomainInterfaceSize {
		return nil, ErrPageSize
	}
	if uintptr(unsafe.Pointer(&page[0]))%4 != 0 {
		return nil, ErrPageAlign
	}
	r := &Ring{c: c, page: page[:xen.XenstoreDomainInterfaceSize:xen.XenstoreDomainInterfaceSize],
		in: make([]byte, 0, xen.XsdSockmsgSize+xen.XenstorePayloadMax)}
	atomic.StoreUint32(r.word(xen.XenstoreServerFeaturesOffset),
		xen.XenstoreServerFeatureReconnection|xen.XenstoreServerFeatureError)
	return r, nil
}

func (r *Ring) word(off int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.page[off]))
}

func (r *Ring) load(off int) uint32     { return atomic.LoadUint32(r.word(off)) }
func (r *Ring) store(off int, v uint32) { atomic.StoreUint32(r.word(off), v) }

// Conn is the connection the ring serves.
func (r *Ring) Conn() *Conn { return r.c }

// Broken reports whether the guest broke the protocol (bad indexes or an
// oversized message); a broken ring is never touched again, and the host
// should log it and, as xenstored does, give up on the domain's
// connection.
func (r *Ring) Broken() bool {
	r.c.s.mu.Lock()
	defer r.c.s.mu.Unlock()
	return r.broken
}

func (r *Ring) fail(code uint32) {
	r.broken = true
	r.store(xen.XenstoreErrorOffset, code)
}

// Service does what one event-channel notification from the guest asks:
// it honours a reconnection request, writes queued output into rsp[],
// takes the complete requests in req[] (while the connection has fewer
// than its "outstanding" limit of unwritten replies), handles them, and
// writes their replies. It returns whether the guest should be notified
// (indexes moved). The host calls it on every notification from the guest
// and after Hooks.Notify for this Conn, and again while Waiting says so.
//
// After publishing req_cons it looks at req_prod again, as a ring
// consumer must (RING_FINAL_CHECK_FOR_REQUESTS): a guest that adds a
// request while the previous ones are still being taken sees req_cons
// behind its old req_prod and, as Linux's xb_write does, sends no
// notification, so a request that arrived meanwhile would otherwise wait
// for an unrelated event. At most serviceBudget requests are handled per
// call, so one busy guest cannot hold the store; Waiting then reports the
// rest.
func (r *Ring) Service() (notify bool) {
	s := r.c.s
	s.mu.Lock()
	defer func() {
		s.current = nil
		s.flushNotify()
		s.mu.Unlock()
	}()
	if r.broken || r.c.closed {
		return false
	}
	if r.load(xen.XenstoreConnectionOffset) == xen.XenstoreReconnect {
		r.reconnect()
		notify = true
	}
	notify = r.flush() || notify
	handled := 0
	for !r.broken && !r.c.closed && !r.c.busy() && handled < serviceBudget {
		prod := r.load(xen.XenstoreReqProdOffset)
		cons := r.load(xen.XenstoreReqConsOffset)
		if prod-cons > xen.XenstoreRingSize {
			r.fail(xen.XenstoreErrorRingidx)
			return notify
		}
		if cons == prod {
			break // and req_prod was read after req_cons was published
		}
		for cons != prod && !r.broken && !r.c.closed && !r.c.busy() && handled < serviceBudget {
			need := xen.XsdSockmsgSize - len(r.in)
			if need <= 0 {
				need = xen.XsdSockmsgSize + int(binary.LittleEndian.Uint32(r.in[12:])) - len(r.in)
			}
			off := xen.MaskXenstoreIdx(cons)
			n := min(int(prod-cons), need, int(xen.XenstoreRingSize-off))
			base := xen.XenstoreReqOffset + int(off)
			r.in = append(r.in, r.page[base:base+n]...)
			cons += uint32(n)
			r.store(xen.XenstoreReqConsOffset, cons) // after the copy: the guest may reuse the bytes
			notify = true
			if len(r.in) < xen.XsdSockmsgSize {
				continue
			}
			plen := binary.LittleEndian.Uint32(r.in[12:])
			if plen > xen.XenstorePayloadMax {
				r.fail(xen.XenstoreErrorProto)
				return notify
			}
			if len(r.in) < xen.XsdSockmsgSize+int(plen) {
				continue
			}
			_ = r.c.process(r.in) // framing was checked above; process copies the payload
			r.in = r.in[:0]
			handled++
			r.flush()
		}
	}
	return notify
}

// serviceBudget is how many requests one Service handles at most.
const serviceBudget = 64

// Waiting reports whether the guest has requests in req[] that Service
// left for lack of budget: the host should call Service again (without
// waiting for a notification, which the guest will not send). A
// connection over its "outstanding" limit is not waiting: the guest
// notifies when it reads the full rsp[] ring.
func (r *Ring) Waiting() bool {
	s := r.c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.broken || r.c.closed || r.c.busy() {
		return false
	}
	return r.load(xen.XenstoreReqProdOffset) != r.load(xen.XenstoreReqConsOffset)
}

// flush writes as much queued output into rsp[] as there is room for.
func (r *Ring) flush() bool {
	cons := r.load(xen.XenstoreRspConsOffset)
	prod := r.load(xen.XenstoreRspProdOffset)
	if prod-cons > xen.XenstoreRingSize {
		r.fail(xen.XenstoreErrorRingidx)
		return false
	}
	wrote := false
	for prod-cons < xen.XenstoreRingSize {
		off := xen.MaskXenstoreIdx(prod)
		room := min(xen.XenstoreRingSize-(prod-cons), xen.XenstoreRingSize-off)
		base := xen.XenstoreRspOffset + int(off)
		n := r.c.readOutput(r.page[base : base+int(room)])
		if n == 0 {
			break
		}
		prod += uint32(n)
		wrote = true
	}
	if wrote {
		r.store(xen.XenstoreRspProdOffset, prod) // after the data
	}
	return wrote
}

// reconnect is the XENSTORE_RECONNECT handshake (xs_wire.h): the guest
// asks for a fresh connection, so its watches, transactions, partial
// request and queued output go, the indexes restart at 0 and the
// connection is marked XENSTORE_CONNECTED again.
func (r *Ring) reconnect() {
	c := r.c
	c.resetWatches()
	c.out, c.outOff, c.outReplies, c.outEventBytes = nil, 0, 0, 0
	r.in = r.in[:0]
	for _, off := range []int{xen.XenstoreReqConsOffset, xen.XenstoreReqProdOffset,
		xen.XenstoreRspConsOffset, xen.XenstoreRspProdOffset, xen.XenstoreErrorOffset} {
		r.store(off, 0)
	}
	r.store(xen.XenstoreConnectionOffset, xen.XenstoreConnected)
}
