package hypercall

import "gozen/abi/xen"

// eventChannelOp is event_channel_op (event_channel.h): each command's
// structure is copied in, decoded, served, and copied back if it has OUT
// fields.
func eventChannelOp(g Guest, cmd, arg uint64) int64 {
	ev := g.Events()
	if ev == nil {
		return errno(xen.ENOSYS)
	}
	var b [xen.EvtchnStatusSize]byte // the largest structure served
	in := func(size int) bool { return g.CopyIn(arg, b[:size]) }
	out := func(size int) int64 { return okOrFault(g.CopyOut(arg, b[:size])) }
	switch cmd {
	case xen.EvtchnOpBindInterdomain:
		var x xen.EvtchnBindInterdomain
		if !in(xen.EvtchnBindInterdomainSize) || x.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		p, r := ev.BindInterdomain(x.RemoteDom, x.RemotePort)
		if r != 0 {
			return int64(r)
		}
		x.LocalPort = p
		x.Encode(b[:])
		return out(xen.EvtchnBindInterdomainSize)
	case xen.EvtchnOpBindVirq:
		var x xen.EvtchnBindVirq
		if !in(xen.EvtchnBindVirqSize) || x.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		p, r := ev.BindVIRQ(x.Virq, x.VCPU)
		if r != 0 {
			return int64(r)
		}
		x.Port = p
		x.Encode(b[:])
		return out(xen.EvtchnBindVirqSize)
	case xen.EvtchnOpClose:
		var x xen.EvtchnClose
		if !in(xen.EvtchnCloseSize) || x.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		return int64(ev.Close(x.Port))
	case xen.EvtchnOpSend:
		var x xen.EvtchnSend
		if !in(xen.EvtchnSendSize) || x.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		return int64(ev.Send(x.Port))
	case xen.EvtchnOpStatus:
		var x xen.EvtchnStatus
		if !in(xen.EvtchnStatusSize) || x.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		x.Status, x.VCPU, x.U = 0, 0, [len(x.U)]byte{}
		if r := ev.Status(&x); r != 0 {
			return int64(r)
		}
		x.Encode(b[:])
		return out(xen.EvtchnStatusSize)
	case xen.EvtchnOpAllocUnbound:
		var x xen.EvtchnAllocUnbound
		if !in(xen.EvtchnAllocUnboundSize) || x.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		p, r := ev.AllocUnbound(x.Dom, x.RemoteDom)
		if r != 0 {
			return int64(r)
		}
		x.Port = p
		x.Encode(b[:])
		return out(xen.EvtchnAllocUnboundSize)
	case xen.EvtchnOpBindIPI:
		var x xen.EvtchnBindIPI
		if !in(xen.EvtchnBindIPISize) || x.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		p, r := ev.BindIPI(x.VCPU)
		if r != 0 {
			return int64(r)
		}
		x.Port = p
		x.Encode(b[:])
		return out(xen.EvtchnBindIPISize)
	case xen.EvtchnOpBindVCPU:
		var x xen.EvtchnBindVCPU
		if !in(xen.EvtchnBindVCPUSize) || x.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		return int64(ev.BindVCPU(x.Port, x.VCPU))
	case xen.EvtchnOpUnmask:
		var x xen.EvtchnUnmask
		if !in(xen.EvtchnUnmaskSize) || x.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		return int64(ev.Unmask(x.Port))
	case xen.EvtchnOpReset:
		var x xen.EvtchnReset
		if !in(xen.EvtchnResetSize) || x.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		return int64(ev.Reset(x.Dom))
	case xen.EvtchnOpInitControl:
		var x xen.EvtchnInitControl
		if !in(xen.EvtchnInitControlSize) || x.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		lb, r := ev.InitControl(x.VCPU, x.ControlGFN, x.Offset)
		if r != 0 {
			return int64(r)
		}
		x.LinkBits = uint8(lb)
		x.Encode(b[:])
		return out(xen.EvtchnInitControlSize)
	case xen.EvtchnOpExpandArray:
		var x xen.EvtchnExpandArray
		if !in(xen.EvtchnExpandArraySize) || x.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		return int64(ev.ExpandArray(x.ArrayGFN))
	case xen.EvtchnOpSetPriority:
		var x xen.EvtchnSetPriority
		if !in(xen.EvtchnSetPrioritySize) || x.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		return int64(ev.SetPriority(x.Port, x.Priority))
	}
	return errno(xen.ENOSYS)
}
