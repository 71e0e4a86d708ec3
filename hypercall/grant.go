package hypercall

import "gozen/abi/xen"

// grantTableOp is grant_table_op (grant_table.h): count structures at arg.
// Batches of more than MaxGrantOps are refused (Xen would continue them).
// A compat caller's copy and setup_table structures have 32-bit frame
// numbers and handles (xen/common/compat/grant_table.c); the others have
// one layout.
func grantTableOp(g Guest, cmd, arg, count uint64, compat bool) int64 {
	gt := g.Grants()
	if gt == nil {
		return errno(xen.ENOSYS)
	}
	if count > MaxGrantOps {
		return errno(xen.EINVAL)
	}
	n := int(count)
	switch cmd {
	case xen.GnttabOpMapGrantRef:
		return batch(g, arg, n, xen.GnttabMapGrantRefSize, gt.Map)
	case xen.GnttabOpUnmapGrantRef:
		return batch(g, arg, n, xen.GnttabUnmapGrantRefSize, gt.Unmap)
	case xen.GnttabOpCopy:
		if compat {
			return batchWith(g, arg, n, xen.CompatGnttabCopySize,
				func(c *xen.GnttabCopy) codecI { return (*xen.CompatGnttabCopy)(c) }, gt.Copy)
		}
		return batch(g, arg, n, xen.GnttabCopySize, gt.Copy)
	case xen.GnttabOpSetupTable:
		if compat {
			if n > 1 {
				return errno(xen.EINVAL) // as Xen's compat_grant_table_op
			}
			return setupTableCompat(g, gt, arg, n)
		}
		return setupTable(g, gt, arg, n)
	case xen.GnttabOpQuerySize:
		return eachOf(g, arg, n, xen.GnttabQuerySizeSize, func(b []byte) int64 {
			var q xen.GnttabQuerySize
			q.Decode(b)
			gt.QuerySize(&q)
			q.Encode(b)
			return 0
		})
	case xen.GnttabOpSetVersion:
		if n != 1 {
			return errno(xen.EINVAL)
		}
		var b [xen.GnttabSetVersionSize]byte
		var s xen.GnttabSetVersion
		if !g.CopyIn(arg, b[:]) || s.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		ver, e := gt.SetVersion(s.Version)
		s.Version = ver
		s.Encode(b[:])
		if !g.CopyOut(arg, b[:]) {
			return errno(xen.EFAULT)
		}
		return errno(e)
	case xen.GnttabOpGetVersion:
		if n != 1 {
			return errno(xen.EINVAL)
		}
		var b [xen.GnttabGetVersionSize]byte
		var s xen.GnttabGetVersion
		if !g.CopyIn(arg, b[:]) || s.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		ver, e := gt.GetVersion(s.Dom)
		if e != 0 {
			return errno(e)
		}
		s.Version = ver
		s.Encode(b[:])
		return okOrFault(g.CopyOut(arg, b[:]))
	}
	return errno(xen.ENOSYS)
}

// codec is a pointer to an abi/xen structure.
type codec[T any] interface {
	*T
	Decode(b []byte) error
	Encode(b []byte)
}

// codecI is an abi/xen structure's Encode and Decode.
type codecI interface {
	Decode(b []byte) error
	Encode(b []byte)
}

// batch serves an array of n structures of size bytes at arg: all are
// copied in and decoded, handed to op together, then encoded and copied
// back with their OUT fields filled.
func batch[T any, P codec[T]](g Guest, arg uint64, n, size int, op func([]T)) int64 {
	return batchWith(g, arg, n, size, func(t *T) codecI { return P(t) }, op)
}

// batchWith is batch with the layout chosen by view, which returns the
// codec (native or compat) for an element.
func batchWith[T any](g Guest, arg uint64, n, size int, view func(*T) codecI, op func([]T)) int64 {
	buf := make([]byte, n*size)
	if !g.CopyIn(arg, buf) {
		return errno(xen.EFAULT)
	}
	ops := make([]T, n)
	for i := range ops {
		view(&ops[i]).Decode(buf[size*i:])
	}
	op(ops)
	for i := range ops {
		view(&ops[i]).Encode(buf[size*i:])
	}
	return okOrFault(g.CopyOut(arg, buf))
}

// eachOf runs f on each of n structures of size bytes at arg, copying
// each in before and out after; it stops at the first failure.
func eachOf(g Guest, arg uint64, n, size int, f func(b []byte) int64) int64 {
	var b [64]byte
	for i := range n {
		p := arg + uint64(i*size)
		if !g.CopyIn(p, b[:size]) {
			return errno(xen.EFAULT)
		}
		if r := f(b[:size]); r != 0 {
			return r
		}
		if !g.CopyOut(p, b[:size]) {
			return errno(xen.EFAULT)
		}
	}
	return 0
}

// setupTable is GNTTABOP_setup_table: grow the table to NrFrames and list
// where its frames are. Xen gives an auto-translated guest the frames'
// guest frame numbers, so PVH guests map the frames with add_to_physmap
// first; this call mostly serves to grow the table.
func setupTable(g Guest, gt GrantTables, arg uint64, n int) int64 {
	return eachOf(g, arg, n, xen.GnttabSetupTableSize, func(b []byte) int64 {
		var s xen.GnttabSetupTable
		s.Decode(b)
		if s.NrFrames > MaxSetupFrames {
			s.Status = xen.GNTSTGeneralError
			s.Encode(b)
			return 0
		}
		frames, st := gt.SetupTable(s.Dom, s.NrFrames)
		s.Status = st
		if st == xen.GNTSTOkay {
			list := make([]byte, 8*len(frames))
			for i, f := range frames {
				le.PutUint64(list[8*i:], f)
			}
			if !g.CopyOut(s.FrameList, list) {
				s.Status = xen.GNTSTBadVirtAddr
			}
		}
		s.Encode(b)
		return 0
	})
}

// setupTableCompat is GNTTABOP_setup_table for a 32-bit caller: its frame
// list holds 32-bit frame numbers, and a frame that does not fit (the
// InvalidFrame of an unmapped table frame among them) makes the status
// GNTST_address_too_big, as Xen's compat translation does.
func setupTableCompat(g Guest, gt GrantTables, arg uint64, n int) int64 {
	return eachOf(g, arg, n, xen.CompatGnttabSetupTableSize, func(b []byte) int64 {
		var s xen.GnttabSetupTable
		c := (*xen.CompatGnttabSetupTable)(&s)
		c.Decode(b)
		if s.NrFrames > MaxSetupFrames {
			s.Status = xen.GNTSTGeneralError
			c.Encode(b)
			return 0
		}
		frames, st := gt.SetupTable(s.Dom, s.NrFrames)
		s.Status = st
		if st == xen.GNTSTOkay {
			list := make([]byte, xen.CompatPFNSize*len(frames))
			for i, f := range frames {
				if f > 0xffffffff {
					s.Status = xen.GNTSTAddressTooBig
					list = list[:xen.CompatPFNSize*i]
					break
				}
				le.PutUint32(list[xen.CompatPFNSize*i:], uint32(f))
			}
			if !g.CopyOut(s.FrameList, list) {
				s.Status = xen.GNTSTBadVirtAddr
			}
		}
		c.Encode(b)
		return 0
	})
}
