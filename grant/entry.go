package grant

import (
	"sync/atomic"

	"gozen/abi/xen"
)

func loadHdr(p *uint32) uint32   { return atomic.LoadUint32(p) }
func loadFrame(p *uint32) uint32 { return atomic.LoadUint32(p) }

// setStatusRetries bounds the compare-and-swap loop on a shared entry: a
// guest rewriting the entry faster than we can update it must not livelock
// us (Xen allows 4 retries, then fails).
const setStatusRetries = 4

// setStatus is _set_status_v1: check that entry ref grants access to ldom
// (unless the entry is already pinned, when the pin's checks stand) and set
// GTF_reading, plus GTF_writing for a writable request, which a
// GTF_readonly entry refuses. mapflag forbids GTF_sub_page (it is a v2 flag,
// but Xen checks it on v1 entries too). Every failure is
// GNTST_general_error, as in Xen.
func (d *Domain) setStatus(ref uint32, act *active, readonly, mapflag bool, ldom uint16) int16 {
	mask := uint16(xen.GTFTypeMask)
	if mapflag {
		mask |= xen.GTFSubPage
	}
	p := d.hdr(ref)
	cur := atomic.LoadUint32(p)
	for retries := 0; ; retries++ {
		flags, domid := uint16(cur), uint16(cur>>16)
		if !act.pinned() && (flags&mask != xen.GTFPermitAccess || domid != ldom) {
			return xen.GNTSTGeneralError
		}
		nflags := flags | xen.GTFReading
		if !readonly {
			if flags&xen.GTFReadonly != 0 {
				return xen.GNTSTGeneralError
			}
			nflags |= xen.GTFWriting
		}
		if atomic.CompareAndSwapUint32(p, cur, cur&^0xFFFF|uint32(nflags)) {
			return xen.GNTSTOkay
		}
		if retries == setStatusRetries {
			return xen.GNTSTGeneralError // "Shared grant entry is unstable"
		}
		cur = atomic.LoadUint32(p)
	}
}

// reduceStatusForPin is reduce_status_for_pin: after a pin was dropped (or
// not taken), clear GTF_reading if nothing pins the entry any more and, for
// a writable access, GTF_writing if no writable pin remains.
func (d *Domain) reduceStatusForPin(ref uint32, act *active, readonly bool) {
	var clear uint32
	if !act.pinned() {
		clear |= xen.GTFReading
	}
	if !readonly && act.hostW == 0 {
		clear |= xen.GTFWriting
	}
	if clear != 0 {
		atomic.AndUint32(d.hdr(ref), ^clear)
	}
}

// pagedFrame is get_paged_frame: the RAM page of d at gfn and the machine
// frame behind it, or GNTST_bad_page when gfn is not RAM of d.
func (d *Domain) pagedFrame(gfn uint64) (*[PageSize]byte, uint64, int16) {
	page := d.Mem.Page(gfn)
	if page == nil {
		return nil, 0, xen.GNTSTBadPage
	}
	mfn, ok := d.Mem.Translate(gfn)
	if !ok {
		return nil, 0, xen.GNTSTBadPage
	}
	return page, mfn, xen.GNTSTOkay
}
