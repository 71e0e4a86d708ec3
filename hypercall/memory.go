package hypercall

import "gozen/abi/xen"

// memoryOp is memory_op (memory.h). The command word's upper bits hold
// the extent a continued reservation call resumes at. A compat caller's
// reservation, add_to_physmap and memory_map structures have 32-bit
// handles, frame numbers and counts (xen/common/compat/memory.c).
func memoryOp(g Guest, cmd, arg uint64, compat bool) int64 {
	switch cmd & xen.MemopCmdMask {
	case xen.XenmemIncreaseReservation, xen.XenmemDecreaseReservation, xen.XenmemPopulatePhysmap:
		return reservation(g, cmd&xen.MemopCmdMask, cmd>>xen.MemopExtentShift, arg, compat)
	case xen.XenmemMaximumRAMPage:
		_, max := g.Reservation()
		return int64(max) - 1
	case xen.XenmemCurrentReservation, xen.XenmemMaximumReservation:
		var b [xen.XenMemoryDomainSize]byte
		var m xen.XenMemoryDomain
		if !g.CopyIn(arg, b[:]) || m.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		var cur, max uint64
		if self(g, m.DomID) {
			cur, max = g.Reservation()
		} else if f := foreign(g, m.DomID); f != nil {
			cur, max = f.Reservation()
		} else {
			return errno(xen.ESRCH)
		}
		if cmd&xen.MemopCmdMask == xen.XenmemCurrentReservation {
			return int64(cur)
		}
		return int64(max)
	case xen.XenmemAddToPhysmap:
		var b [xen.XenAddToPhysmapSize]byte
		var x xen.XenAddToPhysmap
		in := argBuf(b[:], compat, xen.CompatXenAddToPhysmapSize)
		if !g.CopyIn(arg, in) {
			return errno(xen.EFAULT)
		}
		if compat {
			(*xen.CompatXenAddToPhysmap)(&x).Decode(in)
		} else {
			x.Decode(in)
		}
		return addToPhysmap(g, &x)
	case xen.XenmemMemoryMap:
		var b [xen.XenMemoryMapSize]byte
		var m xen.XenMemoryMap
		in := argBuf(b[:], compat, xen.CompatXenMemoryMapSize)
		if !g.CopyIn(arg, in) {
			return errno(xen.EFAULT)
		}
		if compat {
			(*xen.CompatXenMemoryMap)(&m).Decode(in)
		} else {
			m.Decode(in)
		}
		mm := g.MemoryMap()
		n := len(mm)
		if uint64(m.NrEntries) < uint64(n) {
			n = int(m.NrEntries)
		}
		// Packed 20-byte e820 entries, not start_info's 24-byte ones.
		out := make([]byte, xen.E820EntrySize*n)
		for i := range n {
			mm[i].Encode(out[xen.E820EntrySize*i:])
		}
		if !g.CopyOut(m.Buffer, out) {
			return errno(xen.EFAULT)
		}
		// Only nr_entries goes back: offset 0 in both layouts.
		le.PutUint32(b[:], uint32(n))
		return okOrFault(g.CopyOut(arg, b[:4]))
	case xen.XenmemAddToPhysmapBatch, xen.XenmemRemoveFromPhysmap, xen.XenmemAcquireResource:
		if compat {
			// The toolstack's calls come from a 64-bit dom0; their
			// compat layouts are not served.
			return errno(xen.ENOSYS)
		}
		switch cmd & xen.MemopCmdMask {
		case xen.XenmemAddToPhysmapBatch:
			return addToPhysmapBatch(g, arg)
		case xen.XenmemRemoveFromPhysmap:
			return removeFromPhysmap(g, arg)
		}
		return acquireResource(g, arg)
	}
	return errno(xen.ENOSYS)
}

// foreign is domain domid for a control-domain caller's memory or
// parameter call on it, or nil (the call is then -ESRCH: a domU may name
// only itself, and the control domain only a domain that exists).
func foreign(g Guest, domid uint16) ForeignDomain {
	ts := toolstack(g)
	if ts == nil || domid >= xen.DomIDFirstReserved {
		return nil
	}
	return ts.Foreign(domid)
}

// reserver is the reservation calls of a domain: the caller's own
// (Physmap) or another's (ForeignDomain).
type reserver interface {
	PopulatePhysmap(gfn uint64, order uint32) bool
	DecreaseReservation(gfn uint64, order uint32) bool
	IncreaseReservation(order uint32) bool
}

// argBuf is the part of b (sized for the native layout) that an argument
// structure fills: compatSize bytes for a 32-bit caller. The caller then
// decodes it with the native type or its compat view (abi/xen compat.go);
// Decode cannot fail on a buffer of the right size. (Not an interface: the
// structure would escape to the heap on every call.)
func argBuf(b []byte, compat bool, compatSize int) []byte {
	if compat {
		return b[:compatSize]
	}
	return b
}

// self reports whether domid names the caller (DOMID_SELF or its own ID).
func self(g Guest, domid uint16) bool { return domid == xen.DomIDSelf || domid == g.DomID() }

// addToPhysmap is XENMEM_add_to_physmap for the spaces a PVH guest uses.
func addToPhysmap(g Guest, x *xen.XenAddToPhysmap) int64 {
	if !self(g, x.DomID) {
		return errno(xen.ESRCH)
	}
	if x.GPFN >= 1<<(47-12) {
		return errno(xen.EINVAL) // beyond the guest-physical space
	}
	switch x.Space {
	case xen.XenmapspaceSharedInfo:
		if x.Idx != 0 {
			return errno(xen.EINVAL)
		}
		return errno(g.MapSharedInfo(x.GPFN))
	case xen.XenmapspaceGrantTable:
		if x.Idx&xen.XenmapidxGrantTableStatus != 0 || x.Idx >= 1<<16 {
			return errno(xen.EINVAL) // v1 has no status frames
		}
		return errno(g.MapGrantFrame(x.Idx, x.GPFN))
	}
	return errno(xen.ENOSYS)
}

// reservation serves XENMEM_increase_reservation, decrease_reservation and
// populate_physmap. It returns how many extents are done in total (start
// included); the guest retries the rest, which is how Xen reports a
// partial success too. A bad argument structure is -EFAULT, another
// domain -ESRCH, an extent order above MaxExtentOrder -EINVAL.
//
// A compat caller's extent list holds 32-bit frame numbers.
func reservation(g Guest, cmd, start, arg uint64, compat bool) int64 {
	var b [xen.XenMemoryReservationSize]byte
	var r xen.XenMemoryReservation
	in := argBuf(b[:], compat, xen.CompatXenMemoryReservationSize)
	if !g.CopyIn(arg, in) {
		return errno(xen.EFAULT)
	}
	if compat {
		(*xen.CompatXenMemoryReservation)(&r).Decode(in)
	} else {
		r.Decode(in)
	}
	pfnSize := uint64(8)
	if compat {
		pfnSize = xen.CompatPFNSize
	}
	var target reserver = g
	if !self(g, r.DomID) {
		f := foreign(g, r.DomID)
		if f == nil {
			return errno(xen.ESRCH)
		}
		target = f
	}
	if r.ExtentOrder > MaxExtentOrder {
		return errno(xen.EINVAL)
	}
	if start >= r.NrExtents {
		return int64(start)
	}
	end := r.NrExtents
	if end-start > MaxExtents {
		end = start + MaxExtents
	}
	done := start
	var e [8]byte // a xen_pfn_t, zero-extended for a compat caller
	for ; done < end; done++ {
		if cmd == xen.XenmemIncreaseReservation {
			// An auto-translated guest's list is neither read nor written.
			if !target.IncreaseReservation(r.ExtentOrder) {
				break
			}
			continue
		}
		if !g.CopyIn(r.ExtentStart+pfnSize*done, e[:pfnSize]) {
			if done == start {
				return errno(xen.EFAULT)
			}
			break
		}
		gfn := le.Uint64(e[:])
		if gfn&(1<<r.ExtentOrder-1) != 0 || gfn >= 1<<(47-12) {
			break // unaligned or beyond the guest-physical space
		}
		var ok bool
		if cmd == xen.XenmemPopulatePhysmap {
			ok = target.PopulatePhysmap(gfn, r.ExtentOrder)
		} else {
			ok = target.DecreaseReservation(gfn, r.ExtentOrder)
		}
		if !ok {
			break
		}
	}
	return int64(done)
}
