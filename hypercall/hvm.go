package hypercall

import "gozen/abi/xen"

// hvmOp is hvm_op (hvm_op.h).
func hvmOp(g Guest, cmd, arg uint64) int64 {
	switch cmd {
	case xen.HVMOpSetParam, xen.HVMOpGetParam:
		var b [xen.XenHVMParamSize]byte
		var p xen.XenHVMParam
		if !g.CopyIn(arg, b[:]) || p.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		if !self(g, p.DomID) {
			// The domain builder's parameters on another domain.
			f := foreign(g, p.DomID)
			if f == nil {
				return errno(xen.ESRCH)
			}
			if p.Index >= xen.HVMNrParams {
				return errno(xen.EINVAL)
			}
			if cmd == xen.HVMOpGetParam {
				p.Value = f.Param(p.Index)
				p.Encode(b[:])
				return okOrFault(g.CopyOut(arg, b[:]))
			}
			return errno(f.SetParam(p.Index, p.Value))
		}
		if p.Index >= xen.HVMNrParams {
			return errno(xen.EINVAL)
		}
		if cmd == xen.HVMOpGetParam {
			p.Value = g.Param(p.Index)
			p.Encode(b[:])
			return okOrFault(g.CopyOut(arg, b[:]))
		}
		return setParam(g, p.Index, p.Value)
	case xen.HVMOpPagetableDying:
		// A hint for shadow paging; with nested paging there is nothing
		// to do, and Linux stops sending it after this answer.
		return errno(xen.ENOSYS)
	case xen.HVMOpGetTime:
		var b [xen.XenHVMGetTimeSize]byte
		t := xen.XenHVMGetTime{Now: uint64(g.SystemTime())}
		t.Encode(b[:])
		return okOrFault(g.CopyOut(arg, b[:]))
	}
	return errno(xen.ENOSYS)
}

// setParam is HVMOP_set_param from the guest itself. Only the event
// callback is the guest's to set; the domain builder sets the rest.
func setParam(g Guest, idx uint32, val uint64) int64 {
	if idx != xen.HVMParamCallbackIRQ {
		return errno(xen.EPERM)
	}
	switch {
	case val == 0:
		g.SetCallbackIRQ(0, 0)
	case val>>xen.HVMParamCallbackTypeShift == xen.HVMParamCallbackTypeVector && val&0xff >= 0x10:
		g.SetCallbackIRQ(val, uint8(val))
	default:
		// GSI and PCI INTx callbacks need an emulated interrupt
		// controller, which PVH domains do not have; vectors below 0x10
		// are exceptions.
		return errno(xen.EINVAL)
	}
	return 0
}
