package hypercall

import "gozen/abi/xen"

// schedOp is sched_op (sched.h).
func schedOp(g Guest, cmd, arg uint64, compat bool) int64 {
	switch cmd {
	case xen.SchedOpYield:
		g.Yield()
		return 0
	case xen.SchedOpBlock:
		g.Block()
		return 0
	case xen.SchedOpShutdown:
		var b [xen.SchedShutdownSize]byte
		var s xen.SchedShutdown
		if !g.CopyIn(arg, b[:]) || s.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		g.Shutdown(s.Reason)
		return 0
	case xen.SchedOpPoll:
		var b [xen.SchedPollSize]byte
		var p xen.SchedPoll
		in := argBuf(b[:], compat, xen.CompatSchedPollSize)
		if !g.CopyIn(arg, in) {
			return errno(xen.EFAULT)
		}
		if compat {
			(*xen.CompatSchedPoll)(&p).Decode(in)
		} else {
			p.Decode(in)
		}
		return poll(g, &p)
	case xen.SchedOpRemoteShutdown:
		// The control domain's shutdown of another domain (Xen's
		// XSM_DM_PRIV check: -EPERM for a domU).
		var b [xen.SchedRemoteShutdownSize]byte
		var s xen.SchedRemoteShutdown
		if !g.CopyIn(arg, b[:]) || s.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		ts := toolstack(g)
		if ts == nil {
			return errno(xen.EPERM)
		}
		if s.DomainID >= xen.DomIDFirstReserved {
			return errno(xen.ESRCH)
		}
		return errno(ts.RemoteShutdown(s.DomainID, s.Reason))
	case xen.SchedOpShutdownCode:
		// The reason a later shutdown would carry; GoZen reports the one
		// SCHEDOP_shutdown gives, so only the argument is checked.
		var b [xen.SchedShutdownSize]byte
		return okOrFault(g.CopyIn(arg, b[:]))
	}
	return errno(xen.ENOSYS)
}

// poll checks SCHEDOP_poll's port list as Xen's do_poll does: more ports
// than MaxPollPorts is -EINVAL, an unreadable list -EFAULT, a port the
// domain cannot have -EINVAL. A domain without event channels has nothing
// to poll.
func poll(g Guest, p *xen.SchedPoll) int64 {
	ev := g.Events()
	if ev == nil {
		return errno(xen.ENOSYS)
	}
	if p.NrPorts > MaxPollPorts {
		return errno(xen.EINVAL)
	}
	var buf [4 * MaxPollPorts]byte
	var ports [MaxPollPorts]uint32
	n := int(p.NrPorts)
	if !g.CopyIn(p.Ports, buf[:4*n]) {
		return errno(xen.EFAULT)
	}
	for i := range n {
		port := le.Uint32(buf[4*i:])
		if port == 0 || port > ev.MaxPort() {
			return errno(xen.EINVAL)
		}
		ports[i] = port
	}
	g.Poll(ports[:n], p.Timeout)
	return 0
}
