package xen

import (
	"testing"
	"unsafe"
)

// memory_op numbers and structures from xen/include/public/memory.h
// (x86-64), plus MEMOP_* from Xen's internal xen/include/xen/hypercall.h
// and the packed e820 entry of xen/arch/x86/include/asm/e820.h.

func TestXenmemConstants(t *testing.T) {
	checkConsts(t, []constCase{
		{"XENMEM_increase_reservation", XenmemIncreaseReservation, 0},
		{"XENMEM_decrease_reservation", XenmemDecreaseReservation, 1},
		{"XENMEM_maximum_ram_page", XenmemMaximumRAMPage, 2},
		{"XENMEM_current_reservation", XenmemCurrentReservation, 3},
		{"XENMEM_maximum_reservation", XenmemMaximumReservation, 4},
		{"XENMEM_machphys_mfn_list", XenmemMachphysMfnList, 5},
		{"XENMEM_populate_physmap", XenmemPopulatePhysmap, 6},
		{"XENMEM_add_to_physmap", XenmemAddToPhysmap, 7},
		{"~XENMEM_translate_gpfn_list (removed)", XenmemTranslateGPFNList, 8},
		{"XENMEM_memory_map", XenmemMemoryMap, 9},
		{"XENMEM_machine_memory_map", XenmemMachineMemoryMap, 10},
		{"XENMEM_exchange", XenmemExchange, 11},
		{"XENMEM_machphys_mapping", XenmemMachphysMapping, 12},
		{"XENMEM_set_memory_map", XenmemSetMemoryMap, 13},
		{"XENMEM_maximum_gpfn", XenmemMaximumGPFN, 14},
		{"XENMEM_remove_from_physmap", XenmemRemoveFromPhysmap, 15},
		{"XENMEM_set_pod_target", XenmemSetPodTarget, 16},
		{"XENMEM_get_pod_target", XenmemGetPodTarget, 17},
		{"XENMEM_get_sharing_freed_pages", XenmemGetSharingFreedPages, 18},
		{"XENMEM_get_sharing_shared_pages", XenmemGetSharingSharedPages, 19},
		{"XENMEM_paging_op", XenmemPagingOp, 20},
		{"XENMEM_access_op", XenmemAccessOp, 21},
		{"XENMEM_sharing_op", XenmemSharingOp, 22},
		{"XENMEM_add_to_physmap_batch", XenmemAddToPhysmapBatch, 23},
		{"XENMEM_claim_pages", XenmemClaimPages, 24},
		{"XENMEM_machphys_compat_mfn_list", XenmemMachphysCompatMfnList, 25},
		{"XENMEM_get_vnumainfo", XenmemGetVnumainfo, 26},
		{"XENMEM_reserved_device_memory_map", XenmemReservedDeviceMemoryMap, 27},
		{"XENMEM_acquire_resource", XenmemAcquireResource, 28},
		{"~MEMOP_EXTENT_SHIFT (xen/hypercall.h)", MemopExtentShift, 6},
		{"~MEMOP_CMD_MASK (xen/hypercall.h)", MemopCmdMask, 0x3f},
		{"XENMEMF_get_address_bits(0xffffffff)", XenmemfAddressBitsMask, 0xff},
		{"XENMEMF_populate_on_demand", XenmemfPopulateOnDemand, 1 << 16},
		{"XENMEMF_exact_node_request", XenmemfExactNodeRequest, 1 << 17},
		{"XENMEMF_vnode", XenmemfVnode, 1 << 18},
		{"XENMAPSPACE_shared_info", XenmapspaceSharedInfo, 0},
		{"XENMAPSPACE_grant_table", XenmapspaceGrantTable, 1},
		{"XENMAPSPACE_gmfn", XenmapspaceGMFN, 2},
		{"XENMAPSPACE_gmfn_range", XenmapspaceGMFNRange, 3},
		{"XENMAPSPACE_gmfn_foreign", XenmapspaceGMFNForeign, 4},
		{"XENMAPSPACE_dev_mmio", XenmapspaceDevMMIO, 5},
		{"XENMAPIDX_grant_table_status", XenmapidxGrantTableStatus, 0x80000000},
		{"XENMEM_resource_ioreq_server", XenmemResourceIoreqServer, 0},
		{"XENMEM_resource_grant_table", XenmemResourceGrantTable, 1},
		{"XENMEM_resource_vmtrace_buf", XenmemResourceVmtraceBuf, 2},
		{"XENMEM_resource_grant_table_id_shared", XenmemResourceGrantTableIDShared, 0},
		{"XENMEM_resource_grant_table_id_status", XenmemResourceGrantTableIDStatus, 1},
		{"XENMEM_resource_ioreq_server_frame_bufioreq", XenmemResourceIoreqServerFrameBufioreq, 0},
	})
}

func TestXenmemfNode(t *testing.T) {
	// XENMEMF_node(x) is ((x)+1)<<8; XENMEMF_get_node undoes it.
	if got := XenmemfNode(0); got != 0x100 {
		t.Errorf("XenmemfNode(0) = %#x, want 0x100", got)
	}
	if got := XenmemfNode(3) | 32; got != 0x420 {
		t.Errorf("XenmemfNode(3)|32 = %#x, want 0x420", got)
	}
	for _, n := range []uint32{0, 1, 7, 254} {
		if got := XenmemfGetNode(XenmemfNode(n) | XenmemfExactNodeRequest | 40); got != n {
			t.Errorf("XenmemfGetNode(XenmemfNode(%d)) = %d", n, got)
		}
	}
	if got := XenmemfGetNode(0); got != 0xff {
		t.Errorf("XenmemfGetNode(0) = %#x, want 0xff (no node)", got)
	}
	if cmd := uint64(5<<MemopExtentShift | XenmemPopulatePhysmap); cmd&MemopCmdMask != XenmemPopulatePhysmap || cmd>>MemopExtentShift != 5 {
		t.Errorf("memop encoding of extent 5 populate_physmap = %#x", cmd)
	}
}

// struct xen_memory_reservation, from xen/include/public/memory.h.
func TestXenMemoryReservationLayout(t *testing.T) {
	var v XenMemoryReservation
	checkLayout(t, "xen_memory_reservation", unsafe.Sizeof(v), 32, []fieldOff{
		{"extent_start", unsafe.Offsetof(v.ExtentStart), 0},
		{"nr_extents", unsafe.Offsetof(v.NrExtents), 8},
		{"extent_order", unsafe.Offsetof(v.ExtentOrder), 16},
		{"mem_flags", unsafe.Offsetof(v.MemFlags), 20},
		{"domid", unsafe.Offsetof(v.DomID), 24},
	})
	if XenMemoryReservationSize != 32 {
		t.Errorf("XenMemoryReservationSize = %d, want 32", XenMemoryReservationSize)
	}
}

func TestXenMemoryReservationEncoding(t *testing.T) {
	v := XenMemoryReservation{ExtentStart: 0x0807060504030201, NrExtents: 0x100f0e0d0c0b0a09, ExtentOrder: 0x14131211, MemFlags: 0x18171615, DomID: 0x1a19}
	checkEncoding(t, &v, &XenMemoryReservation{}, seqPattern(32, [2]int{26, 32}))
}

// struct xen_memory_exchange, from xen/include/public/memory.h.
func TestXenMemoryExchangeLayout(t *testing.T) {
	var v XenMemoryExchange
	checkLayout(t, "xen_memory_exchange", unsafe.Sizeof(v), 72, []fieldOff{
		{"in", unsafe.Offsetof(v.In), 0},
		{"out", unsafe.Offsetof(v.Out), 32},
		{"nr_exchanged", unsafe.Offsetof(v.NrExchanged), 64},
	})
	if XenMemoryExchangeSize != 72 {
		t.Errorf("XenMemoryExchangeSize = %d, want 72", XenMemoryExchangeSize)
	}
}

func TestXenMemoryExchangeEncoding(t *testing.T) {
	v := XenMemoryExchange{In: XenMemoryReservation{ExtentStart: 0x0807060504030201, NrExtents: 0x100f0e0d0c0b0a09, ExtentOrder: 0x14131211, MemFlags: 0x18171615, DomID: 0x1a19}, Out: XenMemoryReservation{ExtentStart: 0x2827262524232221, NrExtents: 0x302f2e2d2c2b2a29, ExtentOrder: 0x34333231, MemFlags: 0x38373635, DomID: 0x3a39}, NrExchanged: 0x4847464544434241}
	checkEncoding(t, &v, &XenMemoryExchange{}, seqPattern(72, [2]int{26, 32}, [2]int{58, 64}))
}

// struct xen_memory_domain, from xen/include/public/memory.h.
func TestXenMemoryDomainLayout(t *testing.T) {
	var v XenMemoryDomain
	checkLayout(t, "xen_memory_domain", unsafe.Sizeof(v), 2, []fieldOff{
		{"domid", unsafe.Offsetof(v.DomID), 0},
	})
	if XenMemoryDomainSize != 2 {
		t.Errorf("XenMemoryDomainSize = %d, want 2", XenMemoryDomainSize)
	}
}

func TestXenMemoryDomainEncoding(t *testing.T) {
	v := XenMemoryDomain{DomID: 0x0201}
	checkEncoding(t, &v, &XenMemoryDomain{}, seqPattern(2))
}

// struct xen_machphys_mfn_list, from xen/include/public/memory.h.
func TestXenMachphysMfnListLayout(t *testing.T) {
	var v XenMachphysMfnList
	checkLayout(t, "xen_machphys_mfn_list", unsafe.Sizeof(v), 24, []fieldOff{
		{"max_extents", unsafe.Offsetof(v.MaxExtents), 0},
		{"extent_start", unsafe.Offsetof(v.ExtentStart), 8},
		{"nr_extents", unsafe.Offsetof(v.NrExtents), 16},
	})
	if XenMachphysMfnListSize != 24 {
		t.Errorf("XenMachphysMfnListSize = %d, want 24", XenMachphysMfnListSize)
	}
}

func TestXenMachphysMfnListEncoding(t *testing.T) {
	v := XenMachphysMfnList{MaxExtents: 0x04030201, ExtentStart: 0x100f0e0d0c0b0a09, NrExtents: 0x14131211}
	checkEncoding(t, &v, &XenMachphysMfnList{}, seqPattern(24, [2]int{4, 8}, [2]int{20, 24}))
}

// struct xen_machphys_mapping, from xen/include/public/memory.h.
func TestXenMachphysMappingLayout(t *testing.T) {
	var v XenMachphysMapping
	checkLayout(t, "xen_machphys_mapping", unsafe.Sizeof(v), 24, []fieldOff{
		{"v_start", unsafe.Offsetof(v.VStart), 0},
		{"v_end", unsafe.Offsetof(v.VEnd), 8},
		{"max_mfn", unsafe.Offsetof(v.MaxMFN), 16},
	})
	if XenMachphysMappingSize != 24 {
		t.Errorf("XenMachphysMappingSize = %d, want 24", XenMachphysMappingSize)
	}
}

func TestXenMachphysMappingEncoding(t *testing.T) {
	v := XenMachphysMapping{VStart: 0x0807060504030201, VEnd: 0x100f0e0d0c0b0a09, MaxMFN: 0x1817161514131211}
	checkEncoding(t, &v, &XenMachphysMapping{}, seqPattern(24))
}

// struct xen_add_to_physmap, from xen/include/public/memory.h.
func TestXenAddToPhysmapLayout(t *testing.T) {
	var v XenAddToPhysmap
	checkLayout(t, "xen_add_to_physmap", unsafe.Sizeof(v), 24, []fieldOff{
		{"domid", unsafe.Offsetof(v.DomID), 0},
		{"size", unsafe.Offsetof(v.Size), 2},
		{"space", unsafe.Offsetof(v.Space), 4},
		{"idx", unsafe.Offsetof(v.Idx), 8},
		{"gpfn", unsafe.Offsetof(v.GPFN), 16},
	})
	if XenAddToPhysmapSize != 24 {
		t.Errorf("XenAddToPhysmapSize = %d, want 24", XenAddToPhysmapSize)
	}
}

func TestXenAddToPhysmapEncoding(t *testing.T) {
	v := XenAddToPhysmap{DomID: 0x0201, Size: 0x0403, Space: 0x08070605, Idx: 0x100f0e0d0c0b0a09, GPFN: 0x1817161514131211}
	checkEncoding(t, &v, &XenAddToPhysmap{}, seqPattern(24))
}

// struct xen_add_to_physmap_batch, from xen/include/public/memory.h.
func TestXenAddToPhysmapBatchLayout(t *testing.T) {
	var v XenAddToPhysmapBatch
	checkLayout(t, "xen_add_to_physmap_batch", unsafe.Sizeof(v), 32, []fieldOff{
		{"domid", unsafe.Offsetof(v.DomID), 0},
		{"space", unsafe.Offsetof(v.Space), 2},
		{"size", unsafe.Offsetof(v.Size), 4},
		{"u.foreign_domid", unsafe.Offsetof(v.ForeignDomID), 6},
		{"idxs", unsafe.Offsetof(v.Idxs), 8},
		{"gpfns", unsafe.Offsetof(v.GPFNs), 16},
		{"errs", unsafe.Offsetof(v.Errs), 24},
	})
	if XenAddToPhysmapBatchSize != 32 {
		t.Errorf("XenAddToPhysmapBatchSize = %d, want 32", XenAddToPhysmapBatchSize)
	}
}

func TestXenAddToPhysmapBatchEncoding(t *testing.T) {
	v := XenAddToPhysmapBatch{DomID: 0x0201, Space: 0x0403, Size: 0x0605, ForeignDomID: 0x0807, Idxs: 0x100f0e0d0c0b0a09, GPFNs: 0x1817161514131211, Errs: 0x201f1e1d1c1b1a19}
	checkEncoding(t, &v, &XenAddToPhysmapBatch{}, seqPattern(32))
}

// struct xen_remove_from_physmap, from xen/include/public/memory.h.
func TestXenRemoveFromPhysmapLayout(t *testing.T) {
	var v XenRemoveFromPhysmap
	checkLayout(t, "xen_remove_from_physmap", unsafe.Sizeof(v), 16, []fieldOff{
		{"domid", unsafe.Offsetof(v.DomID), 0},
		{"gpfn", unsafe.Offsetof(v.GPFN), 8},
	})
	if XenRemoveFromPhysmapSize != 16 {
		t.Errorf("XenRemoveFromPhysmapSize = %d, want 16", XenRemoveFromPhysmapSize)
	}
}

func TestXenRemoveFromPhysmapEncoding(t *testing.T) {
	v := XenRemoveFromPhysmap{DomID: 0x0201, GPFN: 0x100f0e0d0c0b0a09}
	checkEncoding(t, &v, &XenRemoveFromPhysmap{}, seqPattern(16, [2]int{2, 8}))
}

// struct xen_memory_map, from xen/include/public/memory.h.
func TestXenMemoryMapLayout(t *testing.T) {
	var v XenMemoryMap
	checkLayout(t, "xen_memory_map", unsafe.Sizeof(v), 16, []fieldOff{
		{"nr_entries", unsafe.Offsetof(v.NrEntries), 0},
		{"buffer", unsafe.Offsetof(v.Buffer), 8},
	})
	if XenMemoryMapSize != 16 {
		t.Errorf("XenMemoryMapSize = %d, want 16", XenMemoryMapSize)
	}
}

func TestXenMemoryMapEncoding(t *testing.T) {
	v := XenMemoryMap{NrEntries: 0x04030201, Buffer: 0x100f0e0d0c0b0a09}
	checkEncoding(t, &v, &XenMemoryMap{}, seqPattern(16, [2]int{4, 8}))
}

// struct xen_foreign_memory_map, from xen/include/public/memory.h.
func TestXenForeignMemoryMapLayout(t *testing.T) {
	var v XenForeignMemoryMap
	checkLayout(t, "xen_foreign_memory_map", unsafe.Sizeof(v), 24, []fieldOff{
		{"domid", unsafe.Offsetof(v.DomID), 0},
		{"map", unsafe.Offsetof(v.Map), 8},
	})
	if XenForeignMemoryMapSize != 24 {
		t.Errorf("XenForeignMemoryMapSize = %d, want 24", XenForeignMemoryMapSize)
	}
}

func TestXenForeignMemoryMapEncoding(t *testing.T) {
	v := XenForeignMemoryMap{DomID: 0x0201, Map: XenMemoryMap{NrEntries: 0x0c0b0a09, Buffer: 0x1817161514131211}}
	checkEncoding(t, &v, &XenForeignMemoryMap{}, seqPattern(24, [2]int{2, 8}, [2]int{12, 16}))
}

// struct xen_pod_target, from xen/include/public/memory.h.
func TestXenPodTargetLayout(t *testing.T) {
	var v XenPodTarget
	checkLayout(t, "xen_pod_target", unsafe.Sizeof(v), 40, []fieldOff{
		{"target_pages", unsafe.Offsetof(v.TargetPages), 0},
		{"tot_pages", unsafe.Offsetof(v.TotPages), 8},
		{"pod_cache_pages", unsafe.Offsetof(v.PodCachePages), 16},
		{"pod_entries", unsafe.Offsetof(v.PodEntries), 24},
		{"domid", unsafe.Offsetof(v.DomID), 32},
	})
	if XenPodTargetSize != 40 {
		t.Errorf("XenPodTargetSize = %d, want 40", XenPodTargetSize)
	}
}

func TestXenPodTargetEncoding(t *testing.T) {
	v := XenPodTarget{TargetPages: 0x0807060504030201, TotPages: 0x100f0e0d0c0b0a09, PodCachePages: 0x1817161514131211, PodEntries: 0x201f1e1d1c1b1a19, DomID: 0x2221}
	checkEncoding(t, &v, &XenPodTarget{}, seqPattern(40, [2]int{34, 40}))
}

// struct xen_mem_acquire_resource, from xen/include/public/memory.h.
func TestXenMemAcquireResourceLayout(t *testing.T) {
	var v XenMemAcquireResource
	checkLayout(t, "xen_mem_acquire_resource", unsafe.Sizeof(v), 32, []fieldOff{
		{"domid", unsafe.Offsetof(v.DomID), 0},
		{"type", unsafe.Offsetof(v.Type), 2},
		{"id", unsafe.Offsetof(v.ID), 4},
		{"nr_frames", unsafe.Offsetof(v.NrFrames), 8},
		{"pad", unsafe.Offsetof(v.Pad), 12},
		{"frame", unsafe.Offsetof(v.Frame), 16},
		{"frame_list", unsafe.Offsetof(v.FrameList), 24},
	})
	if XenMemAcquireResourceSize != 32 {
		t.Errorf("XenMemAcquireResourceSize = %d, want 32", XenMemAcquireResourceSize)
	}
}

func TestXenMemAcquireResourceEncoding(t *testing.T) {
	v := XenMemAcquireResource{DomID: 0x0201, Type: 0x0403, ID: 0x08070605, NrFrames: 0x0c0b0a09, Pad: 0x100f0e0d, Frame: 0x1817161514131211, FrameList: 0x201f1e1d1c1b1a19}
	checkEncoding(t, &v, &XenMemAcquireResource{}, seqPattern(32))
}

// struct xen_vmemrange, from xen/include/public/memory.h.
func TestXenVmemrangeLayout(t *testing.T) {
	var v XenVmemrange
	checkLayout(t, "xen_vmemrange", unsafe.Sizeof(v), 24, []fieldOff{
		{"start", unsafe.Offsetof(v.Start), 0},
		{"end", unsafe.Offsetof(v.End), 8},
		{"flags", unsafe.Offsetof(v.Flags), 16},
		{"nid", unsafe.Offsetof(v.NID), 20},
	})
	if XenVmemrangeSize != 24 {
		t.Errorf("XenVmemrangeSize = %d, want 24", XenVmemrangeSize)
	}
}

func TestXenVmemrangeEncoding(t *testing.T) {
	v := XenVmemrange{Start: 0x0807060504030201, End: 0x100f0e0d0c0b0a09, Flags: 0x14131211, NID: 0x18171615}
	checkEncoding(t, &v, &XenVmemrange{}, seqPattern(24))
}

// struct xen_vnuma_topology_info, from xen/include/public/memory.h.
func TestXenVnumaTopologyInfoLayout(t *testing.T) {
	var v XenVnumaTopologyInfo
	checkLayout(t, "xen_vnuma_topology_info", unsafe.Sizeof(v), 40, []fieldOff{
		{"domid", unsafe.Offsetof(v.DomID), 0},
		{"pad", unsafe.Offsetof(v.Pad), 2},
		{"nr_vnodes", unsafe.Offsetof(v.NrVnodes), 4},
		{"nr_vcpus", unsafe.Offsetof(v.NrVCPUs), 8},
		{"nr_vmemranges", unsafe.Offsetof(v.NrVmemranges), 12},
		{"vdistance", unsafe.Offsetof(v.Vdistance), 16},
		{"vcpu_to_vnode", unsafe.Offsetof(v.VCPUToVnode), 24},
		{"vmemrange", unsafe.Offsetof(v.Vmemrange), 32},
	})
	if XenVnumaTopologyInfoSize != 40 {
		t.Errorf("XenVnumaTopologyInfoSize = %d, want 40", XenVnumaTopologyInfoSize)
	}
}

func TestXenVnumaTopologyInfoEncoding(t *testing.T) {
	v := XenVnumaTopologyInfo{DomID: 0x0201, Pad: 0x0403, NrVnodes: 0x08070605, NrVCPUs: 0x0c0b0a09, NrVmemranges: 0x100f0e0d, Vdistance: 0x1817161514131211, VCPUToVnode: 0x201f1e1d1c1b1a19, Vmemrange: 0x2827262524232221}
	checkEncoding(t, &v, &XenVnumaTopologyInfo{}, seqPattern(40))
}

// struct e820entry, from xen/arch/x86/include/asm/e820.h (not public; declared packed).
func TestE820EntryLayout(t *testing.T) {
	var v E820Entry
	// The C struct is packed: 20 bytes; Go pads the Go struct to 24.
	checkLayout(t, "e820entry", unsafe.Sizeof(v), 24, []fieldOff{
		{"addr", unsafe.Offsetof(v.Addr), 0},
		{"size", unsafe.Offsetof(v.Size), 8},
		{"type", unsafe.Offsetof(v.Type), 16},
	})
	if E820EntrySize != 20 {
		t.Errorf("E820EntrySize = %d, want 20", E820EntrySize)
	}
}

func TestE820EntryEncoding(t *testing.T) {
	v := E820Entry{Addr: 0x0807060504030201, Size: 0x100f0e0d0c0b0a09, Type: 0x14131211}
	checkEncoding(t, &v, &E820Entry{}, seqPattern(20))
}
