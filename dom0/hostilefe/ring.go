// Package hostilefe is a hostile PV front end: from a domU's userspace
// (gntalloc for the shared pages, the event-channel device, xenstore) it
// connects to dom0's xen-blkback and xen-netback as blkfront and netfront
// do, then misbehaves — rings granted then revoked, unknown protocols,
// malformed requests (bad operations, segment counts, grant references,
// sector ranges, sizes and offsets), grants revoked while the back end
// maps them, a flood of event notifications, a producer index pushed past
// the ring — and checks that each is answered with the back end's error
// (or, for the last ones, that the back end stops serving this domain).
// Scenario xl-hostile-io runs it (dom0/cmd/hostilefe) in a domU whose own
// front ends are not loaded, beside a well-behaved domU.
//
// The layouts are Xen's public io/ring.h, io/blkif.h and io/netif.h for
// x86-64 ("x86_64-abi"); ring_test.go checks them against the C offsets.
package hostilefe

import (
	"sync/atomic"
	"unsafe"
)

// PageSize is the size of a ring page.
const PageSize = 4096

// ringHeader is the size of a shared ring's header (req_prod, req_event,
// rsp_prod, rsp_event, then padding to 64 bytes); the entries follow.
const ringHeader = 64

// Offsets of the shared ring's indexes.
const (
	offReqProd  = 0
	offReqEvent = 4
	offRspProd  = 8
	offRspEvent = 12
)

// ringSize is __RING_SIZE: the largest power of two that many entries of
// entry bytes fit in a page after the header.
func ringSize(entry int) uint32 {
	n := uint32((PageSize - ringHeader) / entry)
	s := uint32(1)
	for s*2 <= n {
		s *= 2
	}
	return s
}

// frontRing is the front end's view of a shared ring page
// (SHARED_RING_INIT and FRONT_RING_INIT, RING_PUSH_REQUESTS,
// RING_GET_RESPONSE).
type frontRing struct {
	page       []byte
	entry      int
	size       uint32
	reqProdPvt uint32
	rspCons    uint32
}

func newFrontRing(page []byte, entry int) *frontRing {
	for i := range page[:PageSize] {
		page[i] = 0
	}
	r := &frontRing{page: page, entry: entry, size: ringSize(entry)}
	atomic.StoreUint32(r.idx(offReqEvent), 1)
	atomic.StoreUint32(r.idx(offRspEvent), 1)
	return r
}

func (r *frontRing) idx(off int) *uint32 { return (*uint32)(unsafe.Pointer(&r.page[off])) }

func (r *frontRing) slot(i uint32) []byte {
	off := ringHeader + int(i&(r.size-1))*r.entry
	return r.page[off : off+r.entry]
}

// push puts one request in the next slot and publishes it.
func (r *frontRing) push(req []byte) {
	s := r.slot(r.reqProdPvt)
	for i := range s {
		s[i] = 0
	}
	copy(s, req)
	r.reqProdPvt++
	atomic.StoreUint32(r.idx(offReqProd), r.reqProdPvt)
}

// setReqProd publishes a producer index of the caller's choosing.
func (r *frontRing) setReqProd(v uint32) { atomic.StoreUint32(r.idx(offReqProd), v) }

// response returns the next unconsumed response, if the back end has
// produced one.
func (r *frontRing) response() ([]byte, bool) {
	if atomic.LoadUint32(r.idx(offRspProd)) == r.rspCons {
		return nil, false
	}
	s := append([]byte(nil), r.slot(r.rspCons)...)
	r.rspCons++
	atomic.StoreUint32(r.idx(offRspEvent), r.rspCons+1)
	return s, true
}
