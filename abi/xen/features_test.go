package xen

import (
	"testing"
	"unsafe"
)

// XENVER_* commands and buffer sizes from xen/include/public/version.h;
// XENFEAT_* bit numbers from xen/include/public/features.h.

func TestXenverConstants(t *testing.T) {
	checkConsts(t, []constCase{
		{"XENVER_version", XenverVersion, 0},
		{"XENVER_extraversion", XenverExtraversion, 1},
		{"XENVER_compile_info", XenverCompileInfo, 2},
		{"XENVER_capabilities", XenverCapabilities, 3},
		{"XENVER_changeset", XenverChangeset, 4},
		{"XENVER_platform_parameters", XenverPlatformParameters, 5},
		{"XENVER_get_features", XenverGetFeatures, 6},
		{"XENVER_pagesize", XenverPagesize, 7},
		{"XENVER_guest_handle", XenverGuestHandle, 8},
		{"XENVER_commandline", XenverCommandline, 9},
		{"XENVER_build_id", XenverBuildID, 10},
		{"XENVER_extraversion2", XenverExtraversion2, 11},
		{"XENVER_capabilities2", XenverCapabilities2, 12},
		{"XENVER_changeset2", XenverChangeset2, 13},
		{"XENVER_commandline2", XenverCommandline2, 14},
		{"XEN_EXTRAVERSION_LEN", XenExtraversionLen, 16},
		{"XEN_CAPABILITIES_INFO_LEN", XenCapabilitiesInfoLen, 1024},
		{"XEN_CHANGESET_INFO_LEN", XenChangesetInfoLen, 64},
		{"sizeof(xen_commandline_t)", XenCommandlineLen, 1024},
		{"sizeof(xen_domain_handle_t)", XenDomainHandleLen, 16},
		{"offsetof(struct xen_varbuf, buf)", XenVarbufHeaderSize, 4},
	})
}

func TestXenfeatBits(t *testing.T) {
	checkConsts(t, []constCase{
		{"XENFEAT_writable_page_tables", XenfeatWritablePageTables, 0},
		{"XENFEAT_writable_descriptor_tables", XenfeatWritableDescriptorTables, 1},
		{"XENFEAT_auto_translated_physmap", XenfeatAutoTranslatedPhysmap, 2},
		{"XENFEAT_supervisor_mode_kernel", XenfeatSupervisorModeKernel, 3},
		{"XENFEAT_pae_pgdir_above_4gb", XenfeatPAEPgdirAbove4GB, 4},
		{"XENFEAT_mmu_pt_update_preserve_ad", XenfeatMMUPTUpdatePreserveAD, 5},
		{"XENFEAT_highmem_assist", XenfeatHighmemAssist, 6},
		{"XENFEAT_gnttab_map_avail_bits", XenfeatGnttabMapAvailBits, 7},
		{"XENFEAT_hvm_callback_vector", XenfeatHVMCallbackVector, 8},
		{"XENFEAT_hvm_safe_pvclock", XenfeatHVMSafePVClock, 9},
		{"XENFEAT_hvm_pirqs", XenfeatHVMPirqs, 10},
		{"XENFEAT_dom0", XenfeatDom0, 11},
		{"~XENFEAT_grant_map_identity (commented out in features.h)", XenfeatGrantMapIdentity, 12},
		{"XENFEAT_memory_op_vnode_supported", XenfeatMemoryOpVnodeSupported, 13},
		{"XENFEAT_ARM_SMCCC_supported", XenfeatARMSMCCCSupported, 14},
		{"XENFEAT_linux_rsdp_unrestricted", XenfeatLinuxRSDPUnrestricted, 15},
		{"XENFEAT_not_direct_mapped", XenfeatNotDirectMapped, 16},
		{"XENFEAT_direct_mapped", XenfeatDirectMapped, 17},
		{"XENFEAT_runstate_phys_area", XenfeatRunstatePhysArea, 18},
		{"XENFEAT_vcpu_time_phys_area", XenfeatVCPUTimePhysArea, 19},
		{"XENFEAT_dm_msix_all_writes", XenfeatDMMSIXAllWrites, 20},
		{"XENFEAT_NR_SUBMAPS", XenfeatNrSubmaps, 1},
	})
}

func TestFeatureSubmap(t *testing.T) {
	// The minimum a Linux PVH guest needs, plus writable page tables.
	m := FeatureSubmap(0, XenfeatWritablePageTables, XenfeatAutoTranslatedPhysmap,
		XenfeatHVMCallbackVector, XenfeatHVMSafePVClock)
	if m != 0x305 {
		t.Errorf("FeatureSubmap(0, 0, 2, 8, 9) = %#x, want 0x305", m)
	}
	if m := FeatureSubmap(1, 2, 33, 63); m != 1<<1|1<<31 {
		t.Errorf("FeatureSubmap(1, 2, 33, 63) = %#x", m)
	}
	if m := FeatureSubmap(0); m != 0 {
		t.Errorf("FeatureSubmap(0) = %#x", m)
	}
}

func TestCStrings(t *testing.T) {
	var b [XenExtraversionLen]byte
	for i := range b {
		b[i] = 'x'
	}
	if n := PutCString(b[:], ".0-gozen"); n != 8 || CString(b[:]) != ".0-gozen" || b[8] != 0 || b[15] != 0 {
		t.Errorf("PutCString short: n=%d %q", n, b)
	}
	if n := PutCString(b[:], "0123456789abcdefXYZ"); n != 15 || CString(b[:]) != "0123456789abcde" || b[15] != 0 {
		t.Errorf("PutCString long: n=%d %q", n, b)
	}
	if n := PutCString(nil, "x"); n != 0 {
		t.Errorf("PutCString(nil) = %d", n)
	}
	if s := CString([]byte("abc")); s != "abc" {
		t.Errorf("CString without NUL = %q", s)
	}
}

// struct xen_feature_info, from xen/include/public/version.h.
func TestXenFeatureInfoLayout(t *testing.T) {
	var v XenFeatureInfo
	checkLayout(t, "xen_feature_info", unsafe.Sizeof(v), 8, []fieldOff{
		{"submap_idx", unsafe.Offsetof(v.SubmapIdx), 0},
		{"submap", unsafe.Offsetof(v.Submap), 4},
	})
	if XenFeatureInfoSize != 8 {
		t.Errorf("XenFeatureInfoSize = %d, want 8", XenFeatureInfoSize)
	}
}

func TestXenFeatureInfoEncoding(t *testing.T) {
	v := XenFeatureInfo{SubmapIdx: 0x04030201, Submap: 0x08070605}
	checkEncoding(t, &v, &XenFeatureInfo{}, seqPattern(8))
}

// struct xen_platform_parameters, from xen/include/public/version.h.
func TestXenPlatformParametersLayout(t *testing.T) {
	var v XenPlatformParameters
	checkLayout(t, "xen_platform_parameters", unsafe.Sizeof(v), 8, []fieldOff{
		{"virt_start", unsafe.Offsetof(v.VirtStart), 0},
	})
	if XenPlatformParametersSize != 8 {
		t.Errorf("XenPlatformParametersSize = %d, want 8", XenPlatformParametersSize)
	}
}

func TestXenPlatformParametersEncoding(t *testing.T) {
	v := XenPlatformParameters{VirtStart: 0x0807060504030201}
	checkEncoding(t, &v, &XenPlatformParameters{}, seqPattern(8))
}

// struct xen_compile_info, from xen/include/public/version.h.
func TestXenCompileInfoLayout(t *testing.T) {
	var v XenCompileInfo
	checkLayout(t, "xen_compile_info", unsafe.Sizeof(v), 144, []fieldOff{
		{"compiler", unsafe.Offsetof(v.Compiler), 0},
		{"compile_by", unsafe.Offsetof(v.CompileBy), 64},
		{"compile_domain", unsafe.Offsetof(v.CompileDomain), 80},
		{"compile_date", unsafe.Offsetof(v.CompileDate), 112},
	})
	if XenCompileInfoSize != 144 {
		t.Errorf("XenCompileInfoSize = %d, want 144", XenCompileInfoSize)
	}
}

func TestXenCompileInfoEncoding(t *testing.T) {
	v := XenCompileInfo{Compiler: [64]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64}, CompileBy: [16]byte{65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80}, CompileDomain: [32]byte{81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112}, CompileDate: [32]byte{113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144}}
	checkEncoding(t, &v, &XenCompileInfo{}, seqPattern(144))
}
