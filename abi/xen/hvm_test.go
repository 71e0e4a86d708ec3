package xen

import (
	"testing"
	"unsafe"
)

// hvm_op numbers and structures from xen/include/public/hvm/hvm_op.h;
// parameters from xen/include/public/hvm/params.h (x86 definitions).

func TestHVMOpConstants(t *testing.T) {
	checkConsts(t, []constCase{
		{"HVMOP_set_param", HVMOpSetParam, 0},
		{"HVMOP_get_param", HVMOpGetParam, 1},
		{"~HVMOP_set_pci_intx_level (interface < 0x00040900)", HVMOpSetPCIIntxLevel, 2},
		{"~HVMOP_set_isa_irq_level (interface < 0x00040900)", HVMOpSetISAIRQLevel, 3},
		{"~HVMOP_set_pci_link_route (interface < 0x00040900)", HVMOpSetPCILinkRoute, 4},
		{"HVMOP_flush_tlbs", HVMOpFlushTLBs, 5},
		{"HVMOP_pagetable_dying", HVMOpPagetableDying, 9},
		{"HVMOP_get_time", HVMOpGetTime, 10},
		{"HVMOP_xentrace", HVMOpXentrace, 11},
		{"HVMOP_set_mem_access", HVMOpSetMemAccess, 12},
		{"HVMOP_get_mem_access", HVMOpGetMemAccess, 13},
		{"HVMOP_get_mem_type", HVMOpGetMemType, 15},
		{"HVMOP_set_evtchn_upcall_vector", HVMOpSetEvtchnUpcallVector, 23},
		{"HVMOP_guest_request_vm_event", HVMOpGuestRequestVMEvent, 24},
		{"HVMOP_altp2m", HVMOpAltp2m, 25},
		{"HVMMEM_ram_rw", HVMMemRAMRW, 0},
		{"HVMMEM_ram_ro", HVMMemRAMRO, 1},
		{"HVMMEM_mmio_dm", HVMMemMMIODM, 2},
		{"HVMMEM_unused", HVMMemUnused, 3},
		{"HVMMEM_ioreq_server", HVMMemIoreqServer, 4},
	})
}

func TestHVMParams(t *testing.T) {
	checkConsts(t, []constCase{
		{"HVM_PARAM_CALLBACK_IRQ", HVMParamCallbackIRQ, 0},
		{"HVM_PARAM_STORE_PFN", HVMParamStorePFN, 1},
		{"HVM_PARAM_STORE_EVTCHN", HVMParamStoreEvtchn, 2},
		{"HVM_PARAM_PAE_ENABLED", HVMParamPAEEnabled, 4},
		{"HVM_PARAM_IOREQ_PFN", HVMParamIoreqPFN, 5},
		{"HVM_PARAM_BUFIOREQ_PFN", HVMParamBufioreqPFN, 6},
		{"HVM_PARAM_VIRIDIAN", HVMParamViridian, 9},
		{"HVM_PARAM_TIMER_MODE", HVMParamTimerMode, 10},
		{"HVM_PARAM_HPET_ENABLED", HVMParamHPETEnabled, 11},
		{"HVM_PARAM_IDENT_PT", HVMParamIdentPT, 12},
		{"HVM_PARAM_DM_DOMAIN", HVMParamDMDomain, 13},
		{"HVM_PARAM_ACPI_S_STATE", HVMParamACPISState, 14},
		{"HVM_PARAM_VM86_TSS", HVMParamVM86TSS, 15},
		{"HVM_PARAM_VPT_ALIGN", HVMParamVPTAlign, 16},
		{"HVM_PARAM_CONSOLE_PFN", HVMParamConsolePFN, 17},
		{"HVM_PARAM_CONSOLE_EVTCHN", HVMParamConsoleEvtchn, 18},
		{"HVM_PARAM_ACPI_IOPORTS_LOCATION", HVMParamACPIIoportsLocation, 19},
		{"HVM_PARAM_MEMORY_EVENT_CR0", HVMParamMemoryEventCR0, 20},
		{"HVM_PARAM_MEMORY_EVENT_CR3", HVMParamMemoryEventCR3, 21},
		{"HVM_PARAM_MEMORY_EVENT_CR4", HVMParamMemoryEventCR4, 22},
		{"HVM_PARAM_MEMORY_EVENT_INT3", HVMParamMemoryEventINT3, 23},
		{"HVM_PARAM_NESTEDHVM", HVMParamNestedHVM, 24},
		{"HVM_PARAM_MEMORY_EVENT_SINGLE_STEP", HVMParamMemoryEventSingleStep, 25},
		{"HVM_PARAM_BUFIOREQ_EVTCHN", HVMParamBufioreqEvtchn, 26},
		{"HVM_PARAM_PAGING_RING_PFN", HVMParamPagingRingPFN, 27},
		{"HVM_PARAM_MONITOR_RING_PFN", HVMParamMonitorRingPFN, 28},
		{"HVM_PARAM_SHARING_RING_PFN", HVMParamSharingRingPFN, 29},
		{"HVM_PARAM_MEMORY_EVENT_MSR", HVMParamMemoryEventMSR, 30},
		{"HVM_PARAM_TRIPLE_FAULT_REASON", HVMParamTripleFaultReason, 31},
		{"HVM_PARAM_IOREQ_SERVER_PFN", HVMParamIoreqServerPFN, 32},
		{"HVM_PARAM_NR_IOREQ_SERVER_PAGES", HVMParamNrIoreqServerPages, 33},
		{"HVM_PARAM_VM_GENERATION_ID_ADDR", HVMParamVMGenerationIDAddr, 34},
		{"HVM_PARAM_ALTP2M", HVMParamAltp2m, 35},
		{"HVM_PARAM_X87_FIP_WIDTH", HVMParamX87FIPWidth, 36},
		{"HVM_PARAM_VM86_TSS_SIZED", HVMParamVM86TSSSized, 37},
		{"HVM_PARAM_MCA_CAP", HVMParamMCACap, 38},
		{"HVM_NR_PARAMS", HVMNrParams, 39},
		{"HVM_PARAM_CALLBACK_IRQ_TYPE_MASK", HVMParamCallbackIRQTypeMask, 0xFF00000000000000},
		{"HVM_PARAM_CALLBACK_TYPE_GSI", HVMParamCallbackTypeGSI, 0},
		{"HVM_PARAM_CALLBACK_TYPE_PCI_INTX", HVMParamCallbackTypePCIIntx, 1},
		{"HVM_PARAM_CALLBACK_TYPE_VECTOR", HVMParamCallbackTypeVector, 2},
		{"~HVM_PARAM_CALLBACK_TYPE_PPI (Arm only)", HVMParamCallbackTypePPI, 2},
		{"HVMPTM_delay_for_missed_ticks", HVMPTMDelayForMissedTicks, 0},
		{"HVMPTM_no_delay_for_missed_ticks", HVMPTMNoDelayForMissedTicks, 1},
		{"HVMPTM_no_missed_ticks_pending", HVMPTMNoMissedTicksPending, 2},
		{"HVMPTM_one_missed_tick_pending", HVMPTMOneMissedTickPending, 3},
		{"XEN_ALTP2M_disabled", XenAltp2mDisabled, 0},
		{"XEN_ALTP2M_mixed", XenAltp2mMixed, 1},
		{"XEN_ALTP2M_external", XenAltp2mExternal, 2},
		{"XEN_ALTP2M_limited", XenAltp2mLimited, 3},
		{"XEN_HVM_MCA_CAP_LMCE", XenHVMMCACapLMCE, 1},
	})
}

func TestCallbackVia(t *testing.T) {
	// What Linux writes for the global vector callback.
	v := CallbackVia(HVMParamCallbackTypeVector, HypervisorCallbackVector)
	if v != 0x02000000000000f3 {
		t.Errorf("CallbackVia(vector, 0xf3) = %#x, want 0x02000000000000f3", v)
	}
	if CallbackViaType(v) != HVMParamCallbackTypeVector || CallbackViaVector(v) != 0xf3 {
		t.Errorf("type %d vector %#x", CallbackViaType(v), CallbackViaVector(v))
	}
	if v&HVMParamCallbackIRQTypeMask != 2<<56 {
		t.Errorf("type bits %#x", v&HVMParamCallbackIRQTypeMask)
	}
	// A GSI, and an argument too wide for 56 bits.
	if v := CallbackVia(HVMParamCallbackTypeGSI, 0xff00000000000028); v != 0x28 {
		t.Errorf("CallbackVia(gsi, overwide 40) = %#x, want 0x28", v)
	}
	seg, bus, devfn, pin := CallbackViaPCIIntx(CallbackVia(HVMParamCallbackTypePCIIntx, 0x0001_0002_1803))
	if seg != 1 || bus != 2 || devfn != 0x18 || pin != 3 {
		t.Errorf("CallbackViaPCIIntx = %d %d %#x %d", seg, bus, devfn, pin)
	}
}

// struct xen_hvm_param, from xen/include/public/hvm/hvm_op.h.
func TestXenHVMParamLayout(t *testing.T) {
	var v XenHVMParam
	checkLayout(t, "xen_hvm_param", unsafe.Sizeof(v), 16, []fieldOff{
		{"domid", unsafe.Offsetof(v.DomID), 0},
		{"pad", unsafe.Offsetof(v.Pad), 2},
		{"index", unsafe.Offsetof(v.Index), 4},
		{"value", unsafe.Offsetof(v.Value), 8},
	})
	if XenHVMParamSize != 16 {
		t.Errorf("XenHVMParamSize = %d, want 16", XenHVMParamSize)
	}
}

func TestXenHVMParamEncoding(t *testing.T) {
	v := XenHVMParam{DomID: 0x0201, Pad: 0x0403, Index: 0x08070605, Value: 0x100f0e0d0c0b0a09}
	checkEncoding(t, &v, &XenHVMParam{}, seqPattern(16))
}

// struct xen_hvm_pagetable_dying, from xen/include/public/hvm/hvm_op.h.
func TestXenHVMPagetableDyingLayout(t *testing.T) {
	var v XenHVMPagetableDying
	checkLayout(t, "xen_hvm_pagetable_dying", unsafe.Sizeof(v), 16, []fieldOff{
		{"domid", unsafe.Offsetof(v.DomID), 0},
		{"pad", unsafe.Offsetof(v.Pad), 2},
		{"gpa", unsafe.Offsetof(v.GPA), 8},
	})
	if XenHVMPagetableDyingSize != 16 {
		t.Errorf("XenHVMPagetableDyingSize = %d, want 16", XenHVMPagetableDyingSize)
	}
}

func TestXenHVMPagetableDyingEncoding(t *testing.T) {
	v := XenHVMPagetableDying{DomID: 0x0201, Pad: [3]uint16{0x0403, 0x0605, 0x0807}, GPA: 0x100f0e0d0c0b0a09}
	checkEncoding(t, &v, &XenHVMPagetableDying{}, seqPattern(16))
}

// struct xen_hvm_get_time, from xen/include/public/hvm/hvm_op.h.
func TestXenHVMGetTimeLayout(t *testing.T) {
	var v XenHVMGetTime
	checkLayout(t, "xen_hvm_get_time", unsafe.Sizeof(v), 8, []fieldOff{
		{"now", unsafe.Offsetof(v.Now), 0},
	})
	if XenHVMGetTimeSize != 8 {
		t.Errorf("XenHVMGetTimeSize = %d, want 8", XenHVMGetTimeSize)
	}
}

func TestXenHVMGetTimeEncoding(t *testing.T) {
	v := XenHVMGetTime{Now: 0x0807060504030201}
	checkEncoding(t, &v, &XenHVMGetTime{}, seqPattern(8))
}

// struct xen_hvm_get_mem_type, from xen/include/public/hvm/hvm_op.h.
func TestXenHVMGetMemTypeLayout(t *testing.T) {
	var v XenHVMGetMemType
	checkLayout(t, "xen_hvm_get_mem_type", unsafe.Sizeof(v), 16, []fieldOff{
		{"domid", unsafe.Offsetof(v.DomID), 0},
		{"mem_type", unsafe.Offsetof(v.MemType), 2},
		{"pad", unsafe.Offsetof(v.Pad), 4},
		{"pfn", unsafe.Offsetof(v.PFN), 8},
	})
	if XenHVMGetMemTypeSize != 16 {
		t.Errorf("XenHVMGetMemTypeSize = %d, want 16", XenHVMGetMemTypeSize)
	}
}

func TestXenHVMGetMemTypeEncoding(t *testing.T) {
	v := XenHVMGetMemType{DomID: 0x0201, MemType: 0x0403, Pad: [2]uint16{0x0605, 0x0807}, PFN: 0x100f0e0d0c0b0a09}
	checkEncoding(t, &v, &XenHVMGetMemType{}, seqPattern(16))
}

// struct xen_hvm_evtchn_upcall_vector, from xen/include/public/hvm/hvm_op.h.
func TestXenHVMEvtchnUpcallVectorLayout(t *testing.T) {
	var v XenHVMEvtchnUpcallVector
	checkLayout(t, "xen_hvm_evtchn_upcall_vector", unsafe.Sizeof(v), 8, []fieldOff{
		{"vcpu", unsafe.Offsetof(v.VCPU), 0},
		{"vector", unsafe.Offsetof(v.Vector), 4},
	})
	if XenHVMEvtchnUpcallVectorSize != 8 {
		t.Errorf("XenHVMEvtchnUpcallVectorSize = %d, want 8", XenHVMEvtchnUpcallVectorSize)
	}
}

func TestXenHVMEvtchnUpcallVectorEncoding(t *testing.T) {
	v := XenHVMEvtchnUpcallVector{VCPU: 0x04030201, Vector: 0x05}
	checkEncoding(t, &v, &XenHVMEvtchnUpcallVector{}, seqPattern(8, [2]int{5, 8}))
}
