package xen

// The xen_version hypercall: XENVER_* commands and their argument buffers
// (xen/include/public/version.h), and the feature bits XENVER_get_features
// reports (xen/include/public/features.h).

// xen_version commands (XENVER_* in version.h). All return 0 on success
// except XenverVersion, XenverPagesize and the *2/build_id commands, which
// return a value.
const (
	// XenverVersion is XENVER_version: argument NULL; returns
	// major<<16 | minor.
	XenverVersion = 0
	// XenverExtraversion is XENVER_extraversion: fills a
	// XenExtraversionLen-byte buffer with a NUL-terminated string such as
	// ".0" or "-unstable".
	XenverExtraversion = 1
	// XenverCompileInfo is XENVER_compile_info: fills a XenCompileInfo.
	XenverCompileInfo = 2
	// XenverCapabilities is XENVER_capabilities: fills a
	// XenCapabilitiesInfoLen-byte string such as "hvm-3.0-x86_64".
	XenverCapabilities = 3
	// XenverChangeset is XENVER_changeset: fills a XenChangesetInfoLen-byte
	// string.
	XenverChangeset = 4
	// XenverPlatformParameters is XENVER_platform_parameters: fills a
	// XenPlatformParameters.
	XenverPlatformParameters = 5
	// XenverGetFeatures is XENVER_get_features: argument is a
	// XenFeatureInfo; fills Submap for SubmapIdx.
	XenverGetFeatures = 6
	// XenverPagesize is XENVER_pagesize: argument NULL; returns the page
	// size (4096 on x86).
	XenverPagesize = 7
	// XenverGuestHandle is XENVER_guest_handle: fills a 16-byte
	// xen_domain_handle_t (the domain's UUID).
	XenverGuestHandle = 8
	// XenverCommandline is XENVER_commandline: fills a
	// XenCommandlineLen-byte string (Xen's own command line).
	XenverCommandline = 9
	// XenverBuildID is XENVER_build_id: xen_varbuf; returns the length.
	XenverBuildID = 10
	// XenverExtraversion2 is XENVER_extraversion2: xen_varbuf form of
	// XENVER_extraversion, not truncated, without a NUL.
	XenverExtraversion2 = 11
	// XenverCapabilities2 is XENVER_capabilities2: xen_varbuf form.
	XenverCapabilities2 = 12
	// XenverChangeset2 is XENVER_changeset2: xen_varbuf form.
	XenverChangeset2 = 13
	// XenverCommandline2 is XENVER_commandline2: xen_varbuf form.
	XenverCommandline2 = 14
)

// Sizes of the fixed xen_version buffers (version.h).
const (
	// XenExtraversionLen is XEN_EXTRAVERSION_LEN, sizeof(xen_extraversion_t).
	XenExtraversionLen = 16
	// XenCapabilitiesInfoLen is XEN_CAPABILITIES_INFO_LEN,
	// sizeof(xen_capabilities_info_t).
	XenCapabilitiesInfoLen = 1024
	// XenChangesetInfoLen is XEN_CHANGESET_INFO_LEN,
	// sizeof(xen_changeset_info_t).
	XenChangesetInfoLen = 64
	// XenCommandlineLen is sizeof(xen_commandline_t).
	XenCommandlineLen = 1024
	// XenDomainHandleLen is sizeof(xen_domain_handle_t) (xen.h), the buffer
	// XENVER_guest_handle fills.
	XenDomainHandleLen = 16
	// XenVarbufHeaderSize is offsetof(struct xen_varbuf, buf): the uint32
	// length that precedes the data of a xen_varbuf.
	XenVarbufHeaderSize = 4
)

// Feature bits reported by XENVER_get_features (XENFEAT_* in features.h).
// A bit number n lives in submap n/32, bit n%32.
const (
	// XenfeatWritablePageTables is XENFEAT_writable_page_tables: the
	// guest may write its page tables directly.
	XenfeatWritablePageTables = 0
	// XenfeatWritableDescriptorTables is XENFEAT_writable_descriptor_tables.
	XenfeatWritableDescriptorTables = 1
	// XenfeatAutoTranslatedPhysmap is XENFEAT_auto_translated_physmap: Xen
	// translates guest-physical to machine addresses (HVM/PVH). Linux PVH
	// requires it for grant-table mapping.
	XenfeatAutoTranslatedPhysmap = 2
	// XenfeatSupervisorModeKernel is XENFEAT_supervisor_mode_kernel: the
	// guest kernel runs in ring 0.
	XenfeatSupervisorModeKernel = 3
	// XenfeatPAEPgdirAbove4GB is XENFEAT_pae_pgdir_above_4gb.
	XenfeatPAEPgdirAbove4GB = 4
	// XenfeatMMUPTUpdatePreserveAD is XENFEAT_mmu_pt_update_preserve_ad.
	XenfeatMMUPTUpdatePreserveAD = 5
	// XenfeatHighmemAssist is XENFEAT_highmem_assist.
	XenfeatHighmemAssist = 6
	// XenfeatGnttabMapAvailBits is XENFEAT_gnttab_map_avail_bits:
	// GNTTABOP_map_grant_ref honours the GNTMAP_guest_avail bits.
	XenfeatGnttabMapAvailBits = 7
	// XenfeatHVMCallbackVector is XENFEAT_hvm_callback_vector: the
	// HVM_PARAM_CALLBACK_IRQ vector type is available. Linux PVH needs it.
	XenfeatHVMCallbackVector = 8
	// XenfeatHVMSafePVClock is XENFEAT_hvm_safe_pvclock: the pvclock in
	// vcpu_info may be used by an HVM guest.
	XenfeatHVMSafePVClock = 9
	// XenfeatHVMPirqs is XENFEAT_hvm_pirqs: physical IRQs over event
	// channels for HVM (never set for PVH).
	XenfeatHVMPirqs = 10
	// XenfeatDom0 is XENFEAT_dom0: operation as dom0 is supported.
	XenfeatDom0 = 11
	// XenfeatGrantMapIdentity is XENFEAT_grant_map_identity. features.h
	// keeps it only inside a comment, as deprecated; do not advertise it.
	XenfeatGrantMapIdentity = 12
	// XenfeatMemoryOpVnodeSupported is XENFEAT_memory_op_vnode_supported.
	XenfeatMemoryOpVnodeSupported = 13
	// XenfeatARMSMCCCSupported is XENFEAT_ARM_SMCCC_supported (Arm only).
	XenfeatARMSMCCCSupported = 14
	// XenfeatLinuxRSDPUnrestricted is XENFEAT_linux_rsdp_unrestricted: the
	// PVH RSDP may lie anywhere, not only below 1 MiB.
	XenfeatLinuxRSDPUnrestricted = 15
	// XenfeatNotDirectMapped is XENFEAT_not_direct_mapped: gfn != mfn.
	XenfeatNotDirectMapped = 16
	// XenfeatDirectMapped is XENFEAT_direct_mapped: gfn == mfn.
	XenfeatDirectMapped = 17
	// XenfeatRunstatePhysArea is XENFEAT_runstate_phys_area:
	// VCPUOP_register_runstate_phys_area is available.
	XenfeatRunstatePhysArea = 18
	// XenfeatVCPUTimePhysArea is XENFEAT_vcpu_time_phys_area:
	// VCPUOP_register_vcpu_time_phys_area is available.
	XenfeatVCPUTimePhysArea = 19
	// XenfeatDMMSIXAllWrites is XENFEAT_dm_msix_all_writes (device models).
	XenfeatDMMSIXAllWrites = 20

	// XenfeatNrSubmaps is XENFEAT_NR_SUBMAPS: the number of 32-bit submaps.
	XenfeatNrSubmaps = 1
)

// FeatureSubmap returns submap idx (the value XENVER_get_features puts in
// XenFeatureInfo.Submap) of the feature set made of the given XENFEAT_*
// bit numbers.
func FeatureSubmap(idx uint32, features ...uint) uint32 {
	var m uint32
	for _, f := range features {
		if uint32(f/32) == idx {
			m |= 1 << (f % 32)
		}
	}
	return m
}

// XenFeatureInfoSize is sizeof(struct xen_feature_info).
const XenFeatureInfoSize = 8

// XenFeatureInfo is struct xen_feature_info (version.h), the argument of
// XENVER_get_features.
type XenFeatureInfo struct {
	SubmapIdx uint32 // IN: which 32-bit submap to return
	Submap    uint32 // OUT: the submap
}

// Encode writes f into b[:XenFeatureInfoSize]. It panics if b is shorter.
func (f *XenFeatureInfo) Encode(b []byte) {
	_ = b[XenFeatureInfoSize-1]
	le.PutUint32(b[0:], f.SubmapIdx)
	le.PutUint32(b[4:], f.Submap)
}

// Decode reads f from the first XenFeatureInfoSize bytes of b, or returns
// an error if b is shorter.
func (f *XenFeatureInfo) Decode(b []byte) error {
	if len(b) < XenFeatureInfoSize {
		return shortError("xen_feature_info", XenFeatureInfoSize, len(b))
	}
	*f = XenFeatureInfo{SubmapIdx: le.Uint32(b[0:]), Submap: le.Uint32(b[4:])}
	return nil
}

// AppendBinary appends the encoding of f to b (encoding.BinaryAppender).
func (f *XenFeatureInfo) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenFeatureInfoSize, f), nil
}

// MarshalBinary returns the XenFeatureInfoSize-byte encoding of f.
func (f *XenFeatureInfo) MarshalBinary() ([]byte, error) { return f.AppendBinary(nil) }

// UnmarshalBinary decodes f from b, which must be exactly
// XenFeatureInfoSize bytes long.
func (f *XenFeatureInfo) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_feature_info", XenFeatureInfoSize, b); err != nil {
		return err
	}
	return f.Decode(b)
}

// XenPlatformParametersSize is sizeof(struct xen_platform_parameters) on
// x86-64.
const XenPlatformParametersSize = 8

// XenPlatformParameters is struct xen_platform_parameters (version.h),
// filled by XENVER_platform_parameters. For HVM/PVH guests the value is
// meaningless; Xen still succeeds, and Linux still calls it.
type XenPlatformParameters struct {
	VirtStart uint64 // start of the hypervisor's virtual-address hole
}

// Encode writes p into b[:XenPlatformParametersSize]. It panics if b is
// shorter.
func (p *XenPlatformParameters) Encode(b []byte) {
	_ = b[XenPlatformParametersSize-1]
	le.PutUint64(b[0:], p.VirtStart)
}

// Decode reads p from the first XenPlatformParametersSize bytes of b, or
// returns an error if b is shorter.
func (p *XenPlatformParameters) Decode(b []byte) error {
	if len(b) < XenPlatformParametersSize {
		return shortError("xen_platform_parameters", XenPlatformParametersSize, len(b))
	}
	p.VirtStart = le.Uint64(b[0:])
	return nil
}

// AppendBinary appends the encoding of p to b (encoding.BinaryAppender).
func (p *XenPlatformParameters) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenPlatformParametersSize, p), nil
}

// MarshalBinary returns the XenPlatformParametersSize-byte encoding of p.
func (p *XenPlatformParameters) MarshalBinary() ([]byte, error) { return p.AppendBinary(nil) }

// UnmarshalBinary decodes p from b, which must be exactly
// XenPlatformParametersSize bytes long.
func (p *XenPlatformParameters) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_platform_parameters", XenPlatformParametersSize, b); err != nil {
		return err
	}
	return p.Decode(b)
}

// XenCompileInfoSize is sizeof(struct xen_compile_info).
const XenCompileInfoSize = 144

// XenCompileInfo is struct xen_compile_info (version.h), filled by
// XENVER_compile_info. Each field is a NUL-padded string, truncated to fit.
type XenCompileInfo struct {
	Compiler      [64]byte // compiler: the compiler that built Xen
	CompileBy     [16]byte // compile_by: the user who built it
	CompileDomain [32]byte // compile_domain: the build host's domain
	CompileDate   [32]byte // compile_date
}

// Encode writes c into b[:XenCompileInfoSize]. It panics if b is shorter.
func (c *XenCompileInfo) Encode(b []byte) {
	_ = b[XenCompileInfoSize-1]
	copy(b[0:64], c.Compiler[:])
	copy(b[64:80], c.CompileBy[:])
	copy(b[80:112], c.CompileDomain[:])
	copy(b[112:144], c.CompileDate[:])
}

// Decode reads c from the first XenCompileInfoSize bytes of b, or returns
// an error if b is shorter.
func (c *XenCompileInfo) Decode(b []byte) error {
	if len(b) < XenCompileInfoSize {
		return shortError("xen_compile_info", XenCompileInfoSize, len(b))
	}
	copy(c.Compiler[:], b[0:64])
	copy(c.CompileBy[:], b[64:80])
	copy(c.CompileDomain[:], b[80:112])
	copy(c.CompileDate[:], b[112:144])
	return nil
}

// AppendBinary appends the encoding of c to b (encoding.BinaryAppender).
func (c *XenCompileInfo) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenCompileInfoSize, c), nil
}

// MarshalBinary returns the XenCompileInfoSize-byte encoding of c.
func (c *XenCompileInfo) MarshalBinary() ([]byte, error) { return c.AppendBinary(nil) }

// UnmarshalBinary decodes c from b, which must be exactly
// XenCompileInfoSize bytes long.
func (c *XenCompileInfo) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_compile_info", XenCompileInfoSize, b); err != nil {
		return err
	}
	return c.Decode(b)
}

// PutCString copies s into dst as a NUL-terminated, NUL-padded C string,
// truncating s so the terminator always fits (the way Xen fills the fixed
// xen_version buffers). It returns the number of bytes of s copied. A
// zero-length dst receives nothing.
func PutCString(dst []byte, s string) int {
	if len(dst) == 0 {
		return 0
	}
	n := copy(dst[:len(dst)-1], s)
	clear(dst[n:])
	return n
}

// CString returns the bytes of b up to its first NUL (all of b if there is
// none), as a string.
func CString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
