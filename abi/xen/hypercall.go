package xen

import "fmt"

// Hypercall numbers, virtual IRQs, VM-assist types, reserved domain ids and
// the multicall entry, from xen/include/public/xen.h.
//
// The x86-64 calling convention (xen/include/public/arch-x86/xen-x86_64.h
// and Linux's arch/x86/include/asm/xen/hypercall.h): the hypercall number is
// in rax; up to five arguments are in rdi, rsi, rdx, r10 and r8; the result
// comes back in rax, a negative Xen errno (see Errno) on failure. A guest
// pointer argument ("guest handle") is a plain 64-bit guest-virtual address;
// for an HVM/PVH guest it is translated through the guest's page tables.

// Hypercall numbers (__HYPERVISOR_* in xen.h). Entries marked "PV only" are
// not reachable from an HVM or PVH guest on real Xen.
const (
	// HypercallSetTrapTable is __HYPERVISOR_set_trap_table (PV only).
	HypercallSetTrapTable = 0
	// HypercallMMUUpdate is __HYPERVISOR_mmu_update (PV only).
	HypercallMMUUpdate = 1
	// HypercallSetGDT is __HYPERVISOR_set_gdt (PV only).
	HypercallSetGDT = 2
	// HypercallStackSwitch is __HYPERVISOR_stack_switch (PV only).
	HypercallStackSwitch = 3
	// HypercallSetCallbacks is __HYPERVISOR_set_callbacks (PV only).
	HypercallSetCallbacks = 4
	// HypercallFPUTaskswitch is __HYPERVISOR_fpu_taskswitch (PV only).
	HypercallFPUTaskswitch = 5
	// HypercallSchedOpCompat is __HYPERVISOR_sched_op_compat, the
	// pre-3.1 form of sched_op.
	HypercallSchedOpCompat = 6
	// HypercallPlatformOp is __HYPERVISOR_platform_op (dom0 only).
	HypercallPlatformOp = 7
	// HypercallSetDebugreg is __HYPERVISOR_set_debugreg (PV only).
	HypercallSetDebugreg = 8
	// HypercallGetDebugreg is __HYPERVISOR_get_debugreg (PV only).
	HypercallGetDebugreg = 9
	// HypercallUpdateDescriptor is __HYPERVISOR_update_descriptor (PV only).
	HypercallUpdateDescriptor = 10
	// HypercallMemoryOp is __HYPERVISOR_memory_op: XENMEM_* commands.
	HypercallMemoryOp = 12
	// HypercallMulticall is __HYPERVISOR_multicall: a batch of
	// MulticallEntry values.
	HypercallMulticall = 13
	// HypercallUpdateVAMapping is __HYPERVISOR_update_va_mapping (PV only).
	HypercallUpdateVAMapping = 14
	// HypercallSetTimerOp is __HYPERVISOR_set_timer_op: one-shot timer at
	// an absolute system time in ns.
	HypercallSetTimerOp = 15
	// HypercallEventChannelOpCompat is __HYPERVISOR_event_channel_op_compat,
	// which takes an EvtchnOp.
	HypercallEventChannelOpCompat = 16
	// HypercallXenVersion is __HYPERVISOR_xen_version: XENVER_* commands.
	HypercallXenVersion = 17
	// HypercallConsoleIO is __HYPERVISOR_console_io: CONSOLEIO_* commands.
	HypercallConsoleIO = 18
	// HypercallPhysdevOpCompat is __HYPERVISOR_physdev_op_compat.
	HypercallPhysdevOpCompat = 19
	// HypercallGrantTableOp is __HYPERVISOR_grant_table_op: GNTTABOP_*.
	HypercallGrantTableOp = 20
	// HypercallVMAssist is __HYPERVISOR_vm_assist: VMASST_CMD_*, VMASST_TYPE_*.
	HypercallVMAssist = 21
	// HypercallUpdateVAMappingOtherdomain is
	// __HYPERVISOR_update_va_mapping_otherdomain (PV only).
	HypercallUpdateVAMappingOtherdomain = 22
	// HypercallIret is __HYPERVISOR_iret (x86 PV only). Its slot in an HVM
	// hypercall page holds ud2.
	HypercallIret = 23
	// HypercallVCPUOp is __HYPERVISOR_vcpu_op: VCPUOP_* commands.
	HypercallVCPUOp = 24
	// HypercallSetSegmentBase is __HYPERVISOR_set_segment_base (x86-64 PV only).
	HypercallSetSegmentBase = 25
	// HypercallMMUExtOp is __HYPERVISOR_mmuext_op (PV only).
	HypercallMMUExtOp = 26
	// HypercallXSMOp is __HYPERVISOR_xsm_op.
	HypercallXSMOp = 27
	// HypercallNMIOp is __HYPERVISOR_nmi_op.
	HypercallNMIOp = 28
	// HypercallSchedOp is __HYPERVISOR_sched_op: SCHEDOP_* commands.
	HypercallSchedOp = 29
	// HypercallCallbackOp is __HYPERVISOR_callback_op.
	HypercallCallbackOp = 30
	// HypercallXenoprofOp is __HYPERVISOR_xenoprof_op (dropped in Xen 4.22).
	HypercallXenoprofOp = 31
	// HypercallEventChannelOp is __HYPERVISOR_event_channel_op: EVTCHNOP_*.
	HypercallEventChannelOp = 32
	// HypercallPhysdevOp is __HYPERVISOR_physdev_op: PHYSDEVOP_*.
	HypercallPhysdevOp = 33
	// HypercallHVMOp is __HYPERVISOR_hvm_op: HVMOP_* commands.
	HypercallHVMOp = 34
	// HypercallSysctl is __HYPERVISOR_sysctl (toolstack).
	HypercallSysctl = 35
	// HypercallDomctl is __HYPERVISOR_domctl (toolstack).
	HypercallDomctl = 36
	// HypercallKexecOp is __HYPERVISOR_kexec_op.
	HypercallKexecOp = 37
	// HypercallTmemOp is __HYPERVISOR_tmem_op (tmem is gone; always ENOSYS).
	HypercallTmemOp = 38
	// HypercallArgoOp is __HYPERVISOR_argo_op.
	HypercallArgoOp = 39
	// HypercallXenPMUOp is __HYPERVISOR_xenpmu_op.
	HypercallXenPMUOp = 40
	// HypercallDMOp is __HYPERVISOR_dm_op (device models).
	HypercallDMOp = 41
	// HypercallHypfsOp is __HYPERVISOR_hypfs_op.
	HypercallHypfsOp = 42

	// HypercallArch0 is __HYPERVISOR_arch_0; on x86 it is __HYPERVISOR_mca
	// (machine-check architecture, arch-x86/xen-mca.h).
	HypercallArch0 = 48
	// HypercallArch1 is __HYPERVISOR_arch_1; Xen on x86 uses it internally
	// as __HYPERVISOR_paging_domctl_cont (asm/hypercall.h, not public).
	HypercallArch1 = 49
	// HypercallArch2 is __HYPERVISOR_arch_2.
	HypercallArch2 = 50
	// HypercallArch3 is __HYPERVISOR_arch_3.
	HypercallArch3 = 51
	// HypercallArch4 is __HYPERVISOR_arch_4.
	HypercallArch4 = 52
	// HypercallArch5 is __HYPERVISOR_arch_5.
	HypercallArch5 = 53
	// HypercallArch6 is __HYPERVISOR_arch_6.
	HypercallArch6 = 54
	// HypercallArch7 is __HYPERVISOR_arch_7.
	HypercallArch7 = 55
)

// hypercallNames maps each hypercall number to the name after
// __HYPERVISOR_. Number 11 has never been assigned; 43-47 are unused.
var hypercallNames = map[uint64]string{
	HypercallSetTrapTable:               "set_trap_table",
	HypercallMMUUpdate:                  "mmu_update",
	HypercallSetGDT:                     "set_gdt",
	HypercallStackSwitch:                "stack_switch",
	HypercallSetCallbacks:               "set_callbacks",
	HypercallFPUTaskswitch:              "fpu_taskswitch",
	HypercallSchedOpCompat:              "sched_op_compat",
	HypercallPlatformOp:                 "platform_op",
	HypercallSetDebugreg:                "set_debugreg",
	HypercallGetDebugreg:                "get_debugreg",
	HypercallUpdateDescriptor:           "update_descriptor",
	HypercallMemoryOp:                   "memory_op",
	HypercallMulticall:                  "multicall",
	HypercallUpdateVAMapping:            "update_va_mapping",
	HypercallSetTimerOp:                 "set_timer_op",
	HypercallEventChannelOpCompat:       "event_channel_op_compat",
	HypercallXenVersion:                 "xen_version",
	HypercallConsoleIO:                  "console_io",
	HypercallPhysdevOpCompat:            "physdev_op_compat",
	HypercallGrantTableOp:               "grant_table_op",
	HypercallVMAssist:                   "vm_assist",
	HypercallUpdateVAMappingOtherdomain: "update_va_mapping_otherdomain",
	HypercallIret:                       "iret",
	HypercallVCPUOp:                     "vcpu_op",
	HypercallSetSegmentBase:             "set_segment_base",
	HypercallMMUExtOp:                   "mmuext_op",
	HypercallXSMOp:                      "xsm_op",
	HypercallNMIOp:                      "nmi_op",
	HypercallSchedOp:                    "sched_op",
	HypercallCallbackOp:                 "callback_op",
	HypercallXenoprofOp:                 "xenoprof_op",
	HypercallEventChannelOp:             "event_channel_op",
	HypercallPhysdevOp:                  "physdev_op",
	HypercallHVMOp:                      "hvm_op",
	HypercallSysctl:                     "sysctl",
	HypercallDomctl:                     "domctl",
	HypercallKexecOp:                    "kexec_op",
	HypercallTmemOp:                     "tmem_op",
	HypercallArgoOp:                     "argo_op",
	HypercallXenPMUOp:                   "xenpmu_op",
	HypercallDMOp:                       "dm_op",
	HypercallHypfsOp:                    "hypfs_op",
	HypercallArch0:                      "arch_0",
	HypercallArch1:                      "arch_1",
	HypercallArch2:                      "arch_2",
	HypercallArch3:                      "arch_3",
	HypercallArch4:                      "arch_4",
	HypercallArch5:                      "arch_5",
	HypercallArch6:                      "arch_6",
	HypercallArch7:                      "arch_7",
}

// HypercallName returns the name of hypercall nr as it appears after
// __HYPERVISOR_ in xen.h ("memory_op", "hvm_op", ...), or "hypercall N" for
// a number xen.h does not define. It is meant for logs and traces.
func HypercallName(nr uint64) string {
	if s, ok := hypercallNames[nr]; ok {
		return s
	}
	return fmt.Sprintf("hypercall %d", nr)
}

// Virtual interrupts (VIRQ_* in xen.h), bound to event channels with
// EVTCHNOP_bind_virq. "Per-vCPU" ones are bound once on each vCPU;
// "global" ones by one domain at a time.
const (
	// VIRQTimer is VIRQ_TIMER (per-vCPU): timebase update or timeout.
	VIRQTimer = 0
	// VIRQDebug is VIRQ_DEBUG (per-vCPU): request to dump debug info.
	VIRQDebug = 1
	// VIRQConsole is VIRQ_CONSOLE (global): bytes received on the
	// emergency console (CONSOLEIO_read has input for dom0).
	VIRQConsole = 2
	// VIRQDomExc is VIRQ_DOM_EXC (global): exceptional event for some
	// domain, such as a shutdown.
	VIRQDomExc = 3
	// VIRQTbuf is VIRQ_TBUF (global): trace buffer has records.
	VIRQTbuf = 4
	// VIRQDebugger is VIRQ_DEBUGGER (global): a domain paused for debugging.
	VIRQDebugger = 6
	// VIRQXenoprof is VIRQ_XENOPROF (per-vCPU): new oprofile sample.
	VIRQXenoprof = 7
	// VIRQConRing is VIRQ_CON_RING (global): bytes received on the console.
	VIRQConRing = 8
	// VIRQPCPUState is VIRQ_PCPU_STATE (global): physical CPU state changed.
	VIRQPCPUState = 9
	// VIRQMemEvent is VIRQ_MEM_EVENT (global): a memory event occurred.
	VIRQMemEvent = 10
	// VIRQArgo is VIRQ_ARGO (per-domain): Argo message notification.
	VIRQArgo = 11
	// VIRQEnomem is VIRQ_ENOMEM (global): Xen is low on heap memory.
	VIRQEnomem = 12
	// VIRQXenPMU is VIRQ_XENPMU (per-vCPU): PMC interrupt.
	VIRQXenPMU = 13

	// VIRQArch0 is VIRQ_ARCH_0; on x86 it is VIRQ_MCA (global, dom0:
	// machine-check event; arch-x86/xen-mca.h).
	VIRQArch0 = 16
	// VIRQArch1 is VIRQ_ARCH_1.
	VIRQArch1 = 17
	// VIRQArch2 is VIRQ_ARCH_2.
	VIRQArch2 = 18
	// VIRQArch3 is VIRQ_ARCH_3.
	VIRQArch3 = 19
	// VIRQArch4 is VIRQ_ARCH_4.
	VIRQArch4 = 20
	// VIRQArch5 is VIRQ_ARCH_5.
	VIRQArch5 = 21
	// VIRQArch6 is VIRQ_ARCH_6.
	VIRQArch6 = 22
	// VIRQArch7 is VIRQ_ARCH_7.
	VIRQArch7 = 23

	// NrVIRQs is NR_VIRQS: VIRQ numbers are below this.
	NrVIRQs = 24
)

// vm_assist commands and types (VMASST_* in xen.h).
const (
	// VMAsstCmdEnable is VMASST_CMD_enable, the first argument of vm_assist.
	VMAsstCmdEnable = 0
	// VMAsstCmdDisable is VMASST_CMD_disable.
	VMAsstCmdDisable = 1

	// VMAsstType4GBSegments is VMASST_TYPE_4gb_segments (x86-32 PV).
	VMAsstType4GBSegments = 0
	// VMAsstType4GBSegmentsNotify is VMASST_TYPE_4gb_segments_notify
	// (x86-32 PV).
	VMAsstType4GBSegmentsNotify = 1
	// VMAsstTypeWritablePagetables is VMASST_TYPE_writable_pagetables (PV).
	VMAsstTypeWritablePagetables = 2
	// VMAsstTypePAEExtendedCR3 is VMASST_TYPE_pae_extended_cr3 (PV).
	VMAsstTypePAEExtendedCR3 = 3
	// VMAsstTypeArchitecturalIOPL is VMASST_TYPE_architectural_iopl (PV).
	VMAsstTypeArchitecturalIOPL = 4
	// VMAsstTypeRunstateUpdateFlag is VMASST_TYPE_runstate_update_flag (all
	// guests): set XenRunstateUpdate in the guest's registered
	// VCPURunstateInfo while it is being updated. Linux enables it.
	VMAsstTypeRunstateUpdateFlag = 5
	// VMAsstTypeM2PStrict is VMASST_TYPE_m2p_strict (x86-64 PV).
	VMAsstTypeM2PStrict = 32
)

// Domain ids (domid_t, 16 bits). Ids from DomIDFirstReserved up are never
// given to an ordinary domain (xen.h).
const (
	// DomIDFirstReserved is DOMID_FIRST_RESERVED.
	DomIDFirstReserved = 0x7FF0
	// DomIDSelf is DOMID_SELF: the calling domain.
	DomIDSelf = 0x7FF0
	// DomIDIO is DOMID_IO: the owner of I/O memory, for PV page-table updates.
	DomIDIO = 0x7FF1
	// DomIDXen is DOMID_XEN: Xen's own heap, mappable by privileged domains.
	DomIDXen = 0x7FF2
	// DomIDCOW is DOMID_COW: the owner of shared (copy-on-write) pages.
	DomIDCOW = 0x7FF3
	// DomIDInvalid is DOMID_INVALID: an unknown owner.
	DomIDInvalid = 0x7FF4
	// DomIDAny is DOMID_ANY: no specific domain requested (pick one, or
	// match any).
	DomIDAny = 0x7FF5
	// DomIDIdle is DOMID_IDLE: the idle domain.
	DomIDIdle = 0x7FFF
	// DomIDMask is DOMID_MASK: the bits a valid domain id may use.
	DomIDMask = 0x7FFF
)

// MulticallEntrySize is the size in bytes of struct multicall_entry on
// x86-64.
const MulticallEntrySize = 64

// MulticallEntry is struct multicall_entry (xen.h), one call in the array
// passed to HYPERVISOR_multicall. All fields are xen_ulong_t (64 bits on
// x86-64). Xen itself honours only the first five arguments.
type MulticallEntry struct {
	Op     uint64    // hypercall number
	Result uint64    // OUT: the call's return value
	Args   [6]uint64 // arguments, in register order
}

// Encode writes m into b[:MulticallEntrySize]. It panics if b is shorter.
func (m *MulticallEntry) Encode(b []byte) {
	_ = b[MulticallEntrySize-1]
	le.PutUint64(b[0:], m.Op)
	le.PutUint64(b[8:], m.Result)
	for i, a := range m.Args {
		le.PutUint64(b[16+8*i:], a)
	}
}

// Decode reads m from the first MulticallEntrySize bytes of b, or returns
// an error if b is shorter.
func (m *MulticallEntry) Decode(b []byte) error {
	if len(b) < MulticallEntrySize {
		return shortError("multicall_entry", MulticallEntrySize, len(b))
	}
	m.Op = le.Uint64(b[0:])
	m.Result = le.Uint64(b[8:])
	for i := range m.Args {
		m.Args[i] = le.Uint64(b[16+8*i:])
	}
	return nil
}

// AppendBinary appends the encoding of m to b (encoding.BinaryAppender).
func (m *MulticallEntry) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, MulticallEntrySize, m), nil
}

// MarshalBinary returns the MulticallEntrySize-byte encoding of m.
func (m *MulticallEntry) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary decodes m from b, which must be exactly
// MulticallEntrySize bytes long.
func (m *MulticallEntry) UnmarshalBinary(b []byte) error {
	if err := exactLength("multicall_entry", MulticallEntrySize, b); err != nil {
		return err
	}
	return m.Decode(b)
}
