package xen

import (
	"testing"
	"unsafe"
)

// Numbers from xen/include/public/xen.h (hypercalls, VIRQs, VM assists,
// domain ids) and the x86 additions in arch-x86/xen-mca.h.

func TestHypercallNumbers(t *testing.T) {
	checkConsts(t, []constCase{
		{"__HYPERVISOR_set_trap_table", HypercallSetTrapTable, 0},
		{"__HYPERVISOR_mmu_update", HypercallMMUUpdate, 1},
		{"__HYPERVISOR_set_gdt", HypercallSetGDT, 2},
		{"__HYPERVISOR_stack_switch", HypercallStackSwitch, 3},
		{"__HYPERVISOR_set_callbacks", HypercallSetCallbacks, 4},
		{"__HYPERVISOR_fpu_taskswitch", HypercallFPUTaskswitch, 5},
		{"__HYPERVISOR_sched_op_compat", HypercallSchedOpCompat, 6},
		{"__HYPERVISOR_platform_op", HypercallPlatformOp, 7},
		{"__HYPERVISOR_set_debugreg", HypercallSetDebugreg, 8},
		{"__HYPERVISOR_get_debugreg", HypercallGetDebugreg, 9},
		{"__HYPERVISOR_update_descriptor", HypercallUpdateDescriptor, 10},
		{"__HYPERVISOR_memory_op", HypercallMemoryOp, 12},
		{"__HYPERVISOR_multicall", HypercallMulticall, 13},
		{"__HYPERVISOR_update_va_mapping", HypercallUpdateVAMapping, 14},
		{"__HYPERVISOR_set_timer_op", HypercallSetTimerOp, 15},
		{"__HYPERVISOR_event_channel_op_compat", HypercallEventChannelOpCompat, 16},
		{"__HYPERVISOR_xen_version", HypercallXenVersion, 17},
		{"__HYPERVISOR_console_io", HypercallConsoleIO, 18},
		{"__HYPERVISOR_physdev_op_compat", HypercallPhysdevOpCompat, 19},
		{"__HYPERVISOR_grant_table_op", HypercallGrantTableOp, 20},
		{"__HYPERVISOR_vm_assist", HypercallVMAssist, 21},
		{"__HYPERVISOR_update_va_mapping_otherdomain", HypercallUpdateVAMappingOtherdomain, 22},
		{"__HYPERVISOR_iret", HypercallIret, 23},
		{"__HYPERVISOR_vcpu_op", HypercallVCPUOp, 24},
		{"__HYPERVISOR_set_segment_base", HypercallSetSegmentBase, 25},
		{"__HYPERVISOR_mmuext_op", HypercallMMUExtOp, 26},
		{"__HYPERVISOR_xsm_op", HypercallXSMOp, 27},
		{"__HYPERVISOR_nmi_op", HypercallNMIOp, 28},
		{"__HYPERVISOR_sched_op", HypercallSchedOp, 29},
		{"__HYPERVISOR_callback_op", HypercallCallbackOp, 30},
		{"__HYPERVISOR_xenoprof_op", HypercallXenoprofOp, 31},
		{"__HYPERVISOR_event_channel_op", HypercallEventChannelOp, 32},
		{"__HYPERVISOR_physdev_op", HypercallPhysdevOp, 33},
		{"__HYPERVISOR_hvm_op", HypercallHVMOp, 34},
		{"__HYPERVISOR_sysctl", HypercallSysctl, 35},
		{"__HYPERVISOR_domctl", HypercallDomctl, 36},
		{"__HYPERVISOR_kexec_op", HypercallKexecOp, 37},
		{"__HYPERVISOR_tmem_op", HypercallTmemOp, 38},
		{"__HYPERVISOR_argo_op", HypercallArgoOp, 39},
		{"__HYPERVISOR_xenpmu_op", HypercallXenPMUOp, 40},
		{"__HYPERVISOR_dm_op", HypercallDMOp, 41},
		{"__HYPERVISOR_hypfs_op", HypercallHypfsOp, 42},
		{"__HYPERVISOR_arch_0", HypercallArch0, 48},
		{"__HYPERVISOR_mca", HypercallArch0, 48},
		{"__HYPERVISOR_arch_1", HypercallArch1, 49},
		{"__HYPERVISOR_arch_2", HypercallArch2, 50},
		{"__HYPERVISOR_arch_3", HypercallArch3, 51},
		{"__HYPERVISOR_arch_4", HypercallArch4, 52},
		{"__HYPERVISOR_arch_5", HypercallArch5, 53},
		{"__HYPERVISOR_arch_6", HypercallArch6, 54},
		{"__HYPERVISOR_arch_7", HypercallArch7, 55},
	})
}

func TestHypercallName(t *testing.T) {
	for nr, want := range map[uint64]string{
		0: "set_trap_table", 12: "memory_op", 17: "xen_version", 18: "console_io",
		20: "grant_table_op", 24: "vcpu_op", 29: "sched_op", 32: "event_channel_op",
		34: "hvm_op", 42: "hypfs_op", 48: "arch_0", 55: "arch_7",
		11: "hypercall 11", 43: "hypercall 43", 56: "hypercall 56", 1 << 40: "hypercall 1099511627776",
	} {
		if got := HypercallName(nr); got != want {
			t.Errorf("HypercallName(%d) = %q, want %q", nr, got, want)
		}
	}
	if len(hypercallNames) != 50 {
		t.Errorf("%d hypercall names, want 50 (0-10, 12-42, 48-55)", len(hypercallNames))
	}
}

func TestVIRQs(t *testing.T) {
	checkConsts(t, []constCase{
		{"VIRQ_TIMER", VIRQTimer, 0},
		{"VIRQ_DEBUG", VIRQDebug, 1},
		{"VIRQ_CONSOLE", VIRQConsole, 2},
		{"VIRQ_DOM_EXC", VIRQDomExc, 3},
		{"VIRQ_TBUF", VIRQTbuf, 4},
		{"VIRQ_DEBUGGER", VIRQDebugger, 6},
		{"VIRQ_XENOPROF", VIRQXenoprof, 7},
		{"VIRQ_CON_RING", VIRQConRing, 8},
		{"VIRQ_PCPU_STATE", VIRQPCPUState, 9},
		{"VIRQ_MEM_EVENT", VIRQMemEvent, 10},
		{"VIRQ_ARGO", VIRQArgo, 11},
		{"VIRQ_ENOMEM", VIRQEnomem, 12},
		{"VIRQ_XENPMU", VIRQXenPMU, 13},
		{"VIRQ_ARCH_0", VIRQArch0, 16},
		{"VIRQ_MCA", VIRQArch0, 16},
		{"VIRQ_ARCH_1", VIRQArch1, 17},
		{"VIRQ_ARCH_2", VIRQArch2, 18},
		{"VIRQ_ARCH_3", VIRQArch3, 19},
		{"VIRQ_ARCH_4", VIRQArch4, 20},
		{"VIRQ_ARCH_5", VIRQArch5, 21},
		{"VIRQ_ARCH_6", VIRQArch6, 22},
		{"VIRQ_ARCH_7", VIRQArch7, 23},
		{"NR_VIRQS", NrVIRQs, 24},
	})
}

func TestVMAssist(t *testing.T) {
	checkConsts(t, []constCase{
		{"VMASST_CMD_enable", VMAsstCmdEnable, 0},
		{"VMASST_CMD_disable", VMAsstCmdDisable, 1},
		{"VMASST_TYPE_4gb_segments", VMAsstType4GBSegments, 0},
		{"VMASST_TYPE_4gb_segments_notify", VMAsstType4GBSegmentsNotify, 1},
		{"VMASST_TYPE_writable_pagetables", VMAsstTypeWritablePagetables, 2},
		{"VMASST_TYPE_pae_extended_cr3", VMAsstTypePAEExtendedCR3, 3},
		{"VMASST_TYPE_architectural_iopl", VMAsstTypeArchitecturalIOPL, 4},
		{"VMASST_TYPE_runstate_update_flag", VMAsstTypeRunstateUpdateFlag, 5},
		{"VMASST_TYPE_m2p_strict", VMAsstTypeM2PStrict, 32},
	})
}

func TestDomIDs(t *testing.T) {
	checkConsts(t, []constCase{
		{"DOMID_FIRST_RESERVED", DomIDFirstReserved, 0x7FF0},
		{"DOMID_SELF", DomIDSelf, 0x7FF0},
		{"DOMID_IO", DomIDIO, 0x7FF1},
		{"DOMID_XEN", DomIDXen, 0x7FF2},
		{"DOMID_COW", DomIDCOW, 0x7FF3},
		{"DOMID_INVALID", DomIDInvalid, 0x7FF4},
		{"DOMID_ANY", DomIDAny, 0x7FF5},
		{"DOMID_IDLE", DomIDIdle, 0x7FFF},
		{"DOMID_MASK", DomIDMask, 0x7FFF},
	})
}

// struct multicall_entry, from xen/include/public/xen.h (xen_ulong_t is 64
// bits on x86-64).
func TestMulticallEntryLayout(t *testing.T) {
	var v MulticallEntry
	checkLayout(t, "multicall_entry", unsafe.Sizeof(v), 64, []fieldOff{
		{"op", unsafe.Offsetof(v.Op), 0},
		{"result", unsafe.Offsetof(v.Result), 8},
		{"args", unsafe.Offsetof(v.Args), 16},
	})
	if MulticallEntrySize != 64 {
		t.Errorf("MulticallEntrySize = %d, want 64", MulticallEntrySize)
	}
}

func TestMulticallEntryEncoding(t *testing.T) {
	v := MulticallEntry{Op: 0x0807060504030201, Result: 0x100f0e0d0c0b0a09, Args: [6]uint64{
		0x1817161514131211, 0x201f1e1d1c1b1a19, 0x2827262524232221,
		0x302f2e2d2c2b2a29, 0x3837363534333231, 0x403f3e3d3c3b3a39,
	}}
	checkEncoding(t, &v, &MulticallEntry{}, seqPattern(64))
}
