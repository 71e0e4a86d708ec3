package hv

import (
	"encoding/binary"

	"gozen/hv/x86"
	"gozen/loader"
)

// Xen hypercalls. The numbers and structures are Xen's
// (xen/include/public/*.h); abi/xen has them with layout tests. Argument
// structures are copied in and out through copyIn/copyOut, the one place
// guest pointers are followed: through the guest's own page tables, with
// sizes fixed by the ABI or checked against a limit first.

// Hypercall numbers (xen.h).
const (
	hcMemoryOp       = 12
	hcSetTimerOp     = 15
	hcGrantTableOp   = 20
	hcVMAssist       = 21
	hcVCPUOp         = 24
	hcEventChannelOp = 32
	hcPhysdevOp      = 33
	hcHVMOp          = 34
)

// More Xen error numbers (errno.h).
const (
	errEPERM      = 1
	errENOENT     = 2
	errESRCH      = 3
	errENOMEM     = 12
	errEBUSY      = 16
	errEEXIST     = 17
	errENOSPC     = 28
	errETIME      = 62
	errEOPNOTSUPP = 95
)

// domidSelf is DOMID_SELF.
const domidSelf = 0x7FF0

// copyIn reads a hypercall argument from guest-virtual memory.
func (h *Hypervisor) copyIn(v *VCPU, gva uint64, p []byte) bool {
	return x86.ReadVirt(v.dom.mem, v.arch.Paging(), gva, p, false) == nil
}

// copyOut writes a hypercall result to guest-virtual memory.
func (h *Hypervisor) copyOut(v *VCPU, gva uint64, p []byte) bool {
	return x86.WriteVirt(v.dom.mem, v.arch.Paging(), gva, p, false) == nil
}

var le = binary.LittleEndian

// selfDomid accepts DOMID_SELF or the caller's own ID.
func selfDomid(d *Domain, id uint16) bool { return id == domidSelf || id == d.id }

// xenVersion implements xen_version (version.h).
func (h *Hypervisor) xenVersion(v *VCPU, cmd, arg uint64) int64 {
	switch cmd {
	case 0: // XENVER_version
		return XenVersion
	case 1: // XENVER_extraversion: char[16]
		var b [16]byte
		copy(b[:], ".0-gozen")
		return okOrFault(h.copyOut(v, arg, b[:]))
	case 3: // XENVER_capabilities: char[1024]
		var b [1024]byte
		copy(b[:], "hvm-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p")
		return okOrFault(h.copyOut(v, arg, b[:]))
	case 4: // XENVER_changeset: char[64]
		var b [64]byte
		copy(b[:], "GoZen")
		return okOrFault(h.copyOut(v, arg, b[:]))
	case 5: // XENVER_platform_parameters: {virt_start}
		var b [8]byte
		le.PutUint64(b[:], 0xFFFF800000000000)
		return okOrFault(h.copyOut(v, arg, b[:]))
	case 6: // XENVER_get_features: {submap_idx, submap}
		var b [8]byte
		if !h.copyIn(v, arg, b[:]) {
			return -errEFAULT
		}
		var submap uint32
		if le.Uint32(b[0:]) == 0 {
			submap = 1<<0 | // writable_page_tables
				1<<2 | // auto_translated_physmap
				1<<8 | // hvm_callback_vector
				1<<9 // hvm_safe_pvclock
		}
		le.PutUint32(b[4:], submap)
		return okOrFault(h.copyOut(v, arg, b[:]))
	case 7: // XENVER_pagesize
		return pageSize
	case 8: // XENVER_guest_handle: xen_domain_handle_t (16 bytes)
		var b [16]byte
		return okOrFault(h.copyOut(v, arg, b[:]))
	}
	return -errENOSYS
}

func okOrFault(ok bool) int64 {
	if ok {
		return 0
	}
	return -errEFAULT
}

// memoryOp implements memory_op (memory.h).
func (h *Hypervisor) memoryOp(v *VCPU, cmd, arg uint64) int64 {
	d := v.dom
	switch cmd & 0x3f { // MEMOP_CMD_MASK
	case 2: // XENMEM_maximum_ram_page
		return int64(d.memSize/pageSize - 1)
	case 3, 4: // XENMEM_current_reservation, XENMEM_maximum_reservation: arg -> domid
		var b [2]byte
		if !h.copyIn(v, arg, b[:]) {
			return -errEFAULT
		}
		if !selfDomid(d, le.Uint16(b[:])) {
			return -errESRCH
		}
		return int64(d.memSize / pageSize)
	case 7: // XENMEM_add_to_physmap
		var b [24]byte
		if !h.copyIn(v, arg, b[:]) {
			return -errEFAULT
		}
		if !selfDomid(d, le.Uint16(b[0:])) {
			return -errESRCH
		}
		space, idx, gfn := le.Uint32(b[4:]), le.Uint64(b[8:]), le.Uint64(b[16:])
		switch space {
		case 0: // XENMAPSPACE_shared_info
			if idx != 0 {
				return -errEINVAL
			}
			return h.mapSharedInfo(d, gfn)
		case 1: // XENMAPSPACE_grant_table
			return h.mapGrantFrame(v, idx, gfn)
		}
		return -errENOSYS
	case 9: // XENMEM_memory_map: {nr_entries u32, buffer}
		var b [16]byte
		if !h.copyIn(v, arg, b[:]) {
			return -errEFAULT
		}
		mm := loader.GuestMemoryMap(d.memSize)
		n := int(le.Uint32(b[0:]))
		if n > len(mm) {
			n = len(mm)
		}
		// XENMEM_memory_map returns packed 20-byte e820 entries
		// {addr u64, size u64, type u32}, not start_info's 24-byte ones.
		out := make([]byte, 20*n)
		for i := 0; i < n; i++ {
			le.PutUint64(out[20*i:], mm[i].Addr)
			le.PutUint64(out[20*i+8:], mm[i].Size)
			le.PutUint32(out[20*i+16:], mm[i].Type)
		}
		if !h.copyOut(v, le.Uint64(b[8:]), out) {
			return -errEFAULT
		}
		le.PutUint32(b[0:], uint32(n))
		return okOrFault(h.copyOut(v, arg, b[:4]))
	}
	return -errENOSYS
}

// hvmOp implements hvm_op (hvm_op.h).
func (h *Hypervisor) hvmOp(v *VCPU, cmd, arg uint64) int64 {
	d := v.dom
	switch cmd {
	case 0, 1: // HVMOP_set_param, HVMOP_get_param: {domid u16, index u32@4, value u64@8}
		var b [16]byte
		if !h.copyIn(v, arg, b[:]) {
			return -errEFAULT
		}
		if !selfDomid(d, le.Uint16(b[0:])) {
			return -errESRCH
		}
		idx := le.Uint32(b[4:])
		if idx >= numParams {
			return -errEINVAL
		}
		if cmd == 1 {
			le.PutUint64(b[8:], d.xen.params[idx])
			return okOrFault(h.copyOut(v, arg, b[:]))
		}
		val := le.Uint64(b[8:])
		switch idx {
		case paramCallbackIRQ:
			if val == 0 {
				d.xen.upcallVector = 0
			} else if val>>callbackTypeShift == callbackVector && val&0xff >= 0x10 {
				d.xen.upcallVector = uint8(val)
			} else {
				// GSI and PCI INTx callbacks need an emulated interrupt
				// controller, which PVH domains do not have.
				return -errEINVAL
			}
			d.xen.params[idx] = val
			return 0
		}
		return -errEPERM // the rest are set by the domain builder
	case 9: // HVMOP_pagetable_dying
		return -errENOSYS
	case 10: // HVMOP_get_time: {now u64}
		var b [8]byte
		le.PutUint64(b[:], uint64(h.systemTime()))
		return okOrFault(h.copyOut(v, arg, b[:]))
	}
	return -errENOSYS
}

// vcpuOp implements vcpu_op (vcpu.h).
func (h *Hypervisor) vcpuOp(v *VCPU, cmd, id, arg uint64) int64 {
	d := v.dom
	if id >= uint64(len(d.vcpus)) {
		return -errENOENT
	}
	t := d.vcpus[id]
	switch cmd {
	case 3: // VCPUOP_is_up
		if t.state == VCPUDown || t.state == VCPUDead {
			return 0
		}
		return 1
	case 4: // VCPUOP_get_runstate_info
		var b [runstateSize]byte
		le.PutUint32(b[0:], uint32(t.xen.runstate))
		le.PutUint64(b[8:], uint64(t.xen.stateEntry))
		for i, x := range t.xen.stateTime {
			le.PutUint64(b[16+8*i:], uint64(x))
		}
		return okOrFault(h.copyOut(v, arg, b[:]))
	case 5: // VCPUOP_register_runstate_memory_area: {addr}
		var b [8]byte
		if !h.copyIn(v, arg, b[:]) {
			return -errEFAULT
		}
		t.xen.runstateGVA = le.Uint64(b[:])
		h.setRunstate(t, t.xen.runstate)
		return 0
	case 6: // VCPUOP_set_periodic_timer: no periodic timers
		return -errENOSYS
	case 7: // VCPUOP_stop_periodic_timer
		return 0
	case 8: // VCPUOP_set_singleshot_timer: {timeout_abs_ns u64, flags u32}
		if t != v {
			return -errEINVAL
		}
		var b [16]byte
		if !h.copyIn(v, arg, b[:]) {
			return -errEFAULT
		}
		deadline := int64(le.Uint64(b[0:]))
		if le.Uint32(b[8:])&1 != 0 && deadline < h.systemTime() { // VCPU_SSHOTTMR_future
			return -errETIME
		}
		h.setXenTimer(v, deadline)
		return 0
	case 9: // VCPUOP_stop_singleshot_timer
		if t != v {
			return -errEINVAL
		}
		v.timer, v.xen.xenTimer = 0, false
		return 0
	case 10: // VCPUOP_register_vcpu_info: {mfn u64, offset u32}
		var b [16]byte
		if !h.copyIn(v, arg, b[:]) {
			return -errEFAULT
		}
		return h.registerVCPUInfo(t, le.Uint64(b[0:]), uint64(le.Uint32(b[8:])))
	case 13: // VCPUOP_register_vcpu_time_memory_area: {addr}
		var b [8]byte
		if !h.copyIn(v, arg, b[:]) {
			return -errEFAULT
		}
		var ti [timeInfoSize]byte
		h.writeTimeInfo(ti[:])
		return okOrFault(h.copyOut(v, le.Uint64(b[:]), ti[:]))
	}
	return -errENOSYS
}

// setXenTimer arms v's one-shot timer for guest system time deadline; a
// deadline already past fires at once (Linux BUGs on anything else).
func (h *Hypervisor) setXenTimer(v *VCPU, deadline int64) {
	v.timer = h.deadlineFromSystem(deadline)
	v.xen.xenTimer = true
	v.timerFired = false
}

// schedOp implements sched_op (sched.h).
func (h *Hypervisor) schedOp(v *VCPU, cmd, arg uint64) int64 {
	switch cmd {
	case schedYield:
		v.state = VCPURunnable // ends the slice; the scheduler picks again
		return 0
	case schedBlock:
		if !v.upcallPending() && !v.timerFired {
			v.state = VCPUBlocked
		}
		v.timerFired = false
		return 0
	case schedShutdown:
		var b [4]byte
		if !h.copyIn(v, arg, b[:]) {
			return -errEFAULT
		}
		h.shutdownDomain(v.dom, le.Uint32(b[:]))
		return 0
	case 3: // SCHEDOP_poll: {ports, nr_ports u32@8, timeout u64@16}
		var b [24]byte
		if !h.copyIn(v, arg, b[:]) {
			return -errEFAULT
		}
		ready, e := h.pollReady(v, le.Uint64(b[0:]), le.Uint32(b[8:]))
		if e != 0 || ready {
			return e
		}
		// Its own timeout, separate from the vCPU's single-shot timer
		// (which keeps running, as in Xen).
		if to := le.Uint64(b[16:]); to != 0 {
			v.xen.pollTimer = h.deadlineFromSystem(int64(to))
		}
		v.xen.polling = true
		v.state = VCPUBlocked
		return 0
	case 5: // SCHEDOP_shutdown_code
		return 0
	}
	return -errENOSYS
}

// vmAssist implements vm_assist: only the runstate update flag (5) exists
// for PVH guests.
func (h *Hypervisor) vmAssist(cmd, typ uint64) int64 {
	if typ != 5 || cmd > 1 {
		return -errEINVAL
	}
	return 0
}
