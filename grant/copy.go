package grant

import "gozen/abi/xen"

// CopyPtr is one side of struct gnttab_copy.
type CopyPtr struct {
	// Ref is the grant ref (the union u.ref) when the op's flags say this
	// side is a grant reference; GFN (u.gmfn) is the caller's guest frame
	// otherwise. A decoder of the guest struct may fill both from the union.
	Ref    uint32
	GFN    uint64
	Domid  uint16 // owner of Ref; must be DOMID_SELF for a GFN
	Offset uint16
}

// CopyOp is struct gnttab_copy.
type CopyOp struct {
	Src, Dst CopyPtr
	Len      uint16
	Flags    uint16 // GNTCOPY_*
	Status   int16  // out: GNTST_*
}

// Copy performs GNTTABOP_copy for each op in turn on behalf of caller,
// setting each op's Status. The bytes move through Mem.Page of the frames'
// owners; a grant is pinned (GTF_reading, and GTF_writing for the
// destination) only while its op runs.
func (s *System) Copy(caller *Domain, ops []CopyOp) {
	s.lock()
	defer s.unlock()
	for i := range ops {
		ops[i].Status = s.copyOne(caller, &ops[i])
	}
}

// copyBuf is one claimed side of a copy (gnttab_copy_buf).
type copyBuf struct {
	dom      *Domain
	ref      uint32
	page     *[PageSize]byte
	readonly bool
	haveGrnt bool
}

// copyOne is gnttab_copy_one; the checks come in Xen's order.
func (s *System) copyOne(ld *Domain, op *CopyOp) int16 {
	if op.Len == 0 {
		return xen.GNTSTOkay
	}
	if !s.alive(ld) {
		return xen.GNTSTBadDomain
	}
	srcGref := op.Flags&xen.GNTCopySourceGref != 0
	dstGref := op.Flags&xen.GNTCopyDestGref != 0

	// gnttab_copy_lock_domains
	src, st := s.copyDomain(ld, op.Src.Domid, srcGref)
	if st != xen.GNTSTOkay {
		return st
	}
	dst, st := s.copyDomain(ld, op.Dst.Domid, dstGref)
	if st != xen.GNTSTOkay {
		return st
	}

	sb := copyBuf{dom: src, readonly: true}
	if st := s.claim(ld, &sb, &op.Src, srcGref); st != xen.GNTSTOkay {
		return st
	}
	defer s.release(&sb)
	db := copyBuf{dom: dst}
	if st := s.claim(ld, &db, &op.Dst, dstGref); st != xen.GNTSTOkay {
		return st
	}
	defer s.release(&db)

	// gnttab_copy_buf. (A v1 grant always covers the whole page, so Xen's
	// sub-page bounds checks cannot fail here.)
	so, do, n := int(op.Src.Offset), int(op.Dst.Offset), int(op.Len)
	if so+n > PageSize || do+n > PageSize {
		return xen.GNTSTBadCopyArg
	}
	copy(db.page[do:do+n], sb.page[so:so+n])
	return xen.GNTSTOkay
}

// copyDomain is gnttab_copy_lock_domain: only DOMID_SELF may be addressed
// by frame.
func (s *System) copyDomain(ld *Domain, domid uint16, isGref bool) (*Domain, int16) {
	if domid != xen.DomIDSelf && !isGref {
		return nil, xen.GNTSTPermissionDenied
	}
	d := s.byAnyID(ld, domid)
	if d == nil {
		return nil, xen.GNTSTBadDomain
	}
	return d, xen.GNTSTOkay
}

// claim is gnttab_copy_claim_buf.
func (s *System) claim(ld *Domain, b *copyBuf, p *CopyPtr, isGref bool) int16 {
	if isGref {
		page, st := s.acquireForCopy(b.dom, p.Ref, ld.ID, b.readonly)
		if st != xen.GNTSTOkay {
			return st
		}
		b.ref, b.page, b.haveGrnt = p.Ref, page, true
		return xen.GNTSTOkay
	}
	page, _, st := b.dom.pagedFrame(p.GFN)
	if st != xen.GNTSTOkay {
		return st
	}
	b.page = page
	return xen.GNTSTOkay
}

// release is gnttab_copy_release_buf / release_grant_for_copy.
func (s *System) release(b *copyBuf) {
	if !b.haveGrnt {
		return
	}
	b.haveGrnt = false
	act := &b.dom.active[b.ref]
	if b.readonly {
		act.hostR--
	} else {
		act.hostW--
	}
	b.dom.reduceStatusForPin(b.ref, act, b.readonly)
}

// acquireForCopy is acquire_grant_for_copy for a v1 table: pin rd's entry
// gref for ldom and return the page behind it.
func (s *System) acquireForCopy(rd *Domain, gref uint32, ldom uint16, readonly bool) (*[PageSize]byte, int16) {
	if gref >= rd.nrEntries() {
		return nil, xen.GNTSTBadGntref
	}
	act := &rd.active[gref]
	cnt := &act.hostW
	if readonly {
		cnt = &act.hostR
	}
	if act.pinned() && (act.domid != ldom || *cnt >= pinLimit) {
		return nil, xen.GNTSTGeneralError
	}
	var page *[PageSize]byte
	if !act.pinned() || (!readonly && act.hostW == 0) {
		if st := rd.setStatus(gref, act, readonly, false, ldom); st != xen.GNTSTOkay {
			return nil, st
		}
		gfn := uint64(loadFrame(rd.frameField(gref)))
		if act.pinned() && gfn != act.gfn {
			// Upgrading a read pin to write, but the entry now names
			// another frame than the pinned one: Xen fails this too (it
			// compares the mfns). Do not even look at the new frame.
			rd.reduceStatusForPin(gref, act, readonly)
			return nil, xen.GNTSTGeneralError
		}
		pg, mfn, st := rd.pagedFrame(gfn)
		if st != xen.GNTSTOkay {
			rd.reduceStatusForPin(gref, act, readonly)
			return nil, st
		}
		if !act.pinned() {
			act.domid, act.gfn, act.mfn = ldom, gfn, mfn
		} else if mfn != act.mfn {
			// The entry now names another frame than the one pinned.
			rd.reduceStatusForPin(gref, act, readonly)
			return nil, xen.GNTSTGeneralError
		}
		page = pg
	} else {
		// Already pinned for reading by ldom: use the pinned frame. Xen
		// uses the pinned mfn directly; here memory is reached by gfn, so
		// make sure the gfn still leads to that frame.
		pg, mfn, st := rd.pagedFrame(act.gfn)
		if st != xen.GNTSTOkay || mfn != act.mfn {
			return nil, xen.GNTSTBadPage
		}
		page = pg
	}
	*cnt++
	return page, xen.GNTSTOkay
}
