package main

import (
	"errors"
	"sync/atomic"
	"unsafe"

	"gozen/abi/xen"
)

// errBroken is what a console ring whose indexes make no sense gives: the
// guest claims more bytes in flight than the ring holds.
var errBroken = errors.New("console ring indexes out of range")

// consRing is the backend side of a xencons_interface page (io/console.h)
// shared with a guest: it reads the guest's output from out[] and writes
// input into in[]. The guest may change the page at any time, so each
// index is loaded once per pass with an atomic load, bytes are copied out
// before use, and the indexes the backend owns (out_cons, in_prod) are
// published with atomic stores after the data.
type consRing struct {
	page []byte
}

func newConsRing(page []byte) (*consRing, error) {
	if len(page) < xen.XenconsInterfaceSize {
		return nil, errors.New("console page too small")
	}
	if uintptr(unsafe.Pointer(&page[0]))%4 != 0 {
		return nil, errors.New("console page not 4-byte aligned")
	}
	return &consRing{page: page}, nil
}

func (r *consRing) word(off int) *uint32 { return (*uint32)(unsafe.Pointer(&r.page[off])) }

// drain appends the guest's pending output to buf, consumes it, and
// returns buf.
func (r *consRing) drain(buf []byte) ([]byte, error) {
	prod := atomic.LoadUint32(r.word(xen.XenconsOutProdOffset))
	cons := atomic.LoadUint32(r.word(xen.XenconsOutConsOffset))
	if prod-cons > xen.XenconsOutSize {
		return buf, errBroken
	}
	for ; cons != prod; cons++ {
		buf = append(buf, r.page[xen.XenconsOutOffset+int(xen.MaskXenconsOut(cons))])
	}
	atomic.StoreUint32(r.word(xen.XenconsOutConsOffset), cons)
	return buf, nil
}

// feed writes as much of b into in[] as there is room for and returns how
// much.
func (r *consRing) feed(b []byte) (int, error) {
	cons := atomic.LoadUint32(r.word(xen.XenconsInConsOffset))
	prod := atomic.LoadUint32(r.word(xen.XenconsInProdOffset))
	if prod-cons > xen.XenconsInSize {
		return 0, errBroken
	}
	n := 0
	for ; n < len(b) && prod-cons < xen.XenconsInSize; n++ {
		r.page[xen.XenconsInOffset+int(xen.MaskXenconsIn(prod))] = b[n]
		prod++
	}
	atomic.StoreUint32(r.word(xen.XenconsInProdOffset), prod)
	return n, nil
}
