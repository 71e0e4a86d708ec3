package xen

// The domctl hypercall (__HYPERVISOR_domctl, 36): the toolstack's control
// of one domain, from xen/include/public/domctl.h at Xen 4.17
// (XEN_DOMCTL_INTERFACE_VERSION 0x15; see docs dom0-toolstack.md §C.3 for
// how later versions differ). The argument is one struct xen_domctl: a
// command, the interface version, the target domain and a 128-byte union
// holding the command's structure (the Xendomctl* types below, each
// encoded into XenDomctl.U). Only a privileged caller (the control domain)
// may issue it. Guest handles are 64-bit guest addresses
// (XEN_GUEST_HANDLE_64); uint64_aligned_t fields are 8-byte aligned in
// both the 32- and 64-bit ABIs, so there is one layout.

// DomctlInterfaceVersion is XEN_DOMCTL_INTERFACE_VERSION of Xen 4.17. A
// domctl whose interface_version differs is refused with -EACCES.
const DomctlInterfaceVersion = 0x15

// XEN_DOMCTL_* commands (xen_domctl.cmd). GoZen serves the ones with a
// structure below; the others are listed so that a toolstack can name them.
const (
	DomctlCreateDomain         = 1  // XEN_DOMCTL_createdomain: XenDomctlCreateDomain; OUT domain
	DomctlDestroyDomain        = 2  // XEN_DOMCTL_destroydomain
	DomctlPauseDomain          = 3  // XEN_DOMCTL_pausedomain
	DomctlUnpauseDomain        = 4  // XEN_DOMCTL_unpausedomain
	DomctlGetDomainInfo        = 5  // XEN_DOMCTL_getdomaininfo: XenDomctlGetDomainInfo (OUT)
	DomctlSetVCPUAffinity      = 9  // XEN_DOMCTL_setvcpuaffinity: XenDomctlVCPUAffinity
	DomctlShadowOp             = 10 // XEN_DOMCTL_shadow_op
	DomctlMaxMem               = 11 // XEN_DOMCTL_max_mem: XenDomctlMaxMem
	DomctlSetVCPUContext       = 12 // XEN_DOMCTL_setvcpucontext
	DomctlGetVCPUContext       = 13 // XEN_DOMCTL_getvcpucontext
	DomctlGetVCPUInfo          = 14 // XEN_DOMCTL_getvcpuinfo
	DomctlMaxVCPUs             = 15 // XEN_DOMCTL_max_vcpus: XenDomctlMaxVCPUs
	DomctlSchedulerOp          = 16 // XEN_DOMCTL_scheduler_op: XenDomctlSchedulerOp
	DomctlSetDomainHandle      = 17 // XEN_DOMCTL_setdomainhandle: XenDomctlSetDomainHandle
	DomctlSetTimeOffset        = 24 // XEN_DOMCTL_settimeoffset
	DomctlGetVCPUAffinity      = 25 // XEN_DOMCTL_getvcpuaffinity
	DomctlGetHVMContext        = 33 // XEN_DOMCTL_gethvmcontext: XenDomctlHVMContext
	DomctlSetHVMContext        = 34 // XEN_DOMCTL_sethvmcontext: XenDomctlHVMContext
	DomctlSetTSCInfo           = 60 // XEN_DOMCTL_settscinfo
	DomctlSetNodeAffinity      = 68 // XEN_DOMCTL_setnodeaffinity
	DomctlGetCPUPolicy         = 82 // XEN_DOMCTL_get_cpu_policy
	DomctlSetCPUPolicy         = 83 // XEN_DOMCTL_set_cpu_policy
	DomctlGetPagingMempoolSize = 85 // XEN_DOMCTL_get_paging_mempool_size
	DomctlSetPagingMempoolSize = 86 // XEN_DOMCTL_set_paging_mempool_size
	// DomctlGdbsxGuestMemIO is XEN_DOMCTL_gdbsx_guestmemio:
	// XenDomctlGdbsxMemIO, a read or write of another domain's memory
	// through a buffer of the caller's (Xen's gdbsx debugger; GoZen's
	// domain builder writes a new domain's kernel with it).
	DomctlGdbsxGuestMemIO = 1000
)

// XEN_DOMCTL_CDF_* flags (xen_domctl_createdomain.flags).
const (
	DomctlCDFHVM         = 1 << 0 // XEN_DOMCTL_CDF_hvm: an HVM (PVH) guest
	DomctlCDFHAP         = 1 << 1 // XEN_DOMCTL_CDF_hap: hardware-assisted paging
	DomctlCDFS3Integrity = 1 << 2 // XEN_DOMCTL_CDF_s3_integrity
	DomctlCDFOOSOff      = 1 << 3 // XEN_DOMCTL_CDF_oos_off
	DomctlCDFXSDomain    = 1 << 4 // XEN_DOMCTL_CDF_xs_domain
	DomctlCDFIOMMU       = 1 << 5 // XEN_DOMCTL_CDF_iommu
	DomctlCDFNestedVirt  = 1 << 6 // XEN_DOMCTL_CDF_nested_virt
	DomctlCDFVPMU        = 1 << 7 // XEN_DOMCTL_CDF_vpmu (XEN_DOMCTL_CDF_MAX)
)

// XEN_X86_EMU_* (struct xen_arch_domainconfig.emulation_flags,
// arch-x86/xen.h): what Xen emulates for an HVM domain. A PVH domain has
// the local APIC only.
const (
	X86EmuLAPIC   = 1 << 0  // XEN_X86_EMU_LAPIC
	X86EmuHPET    = 1 << 1  // XEN_X86_EMU_HPET
	X86EmuPM      = 1 << 2  // XEN_X86_EMU_PM
	X86EmuRTC     = 1 << 3  // XEN_X86_EMU_RTC
	X86EmuIOAPIC  = 1 << 4  // XEN_X86_EMU_IOAPIC
	X86EmuPIC     = 1 << 5  // XEN_X86_EMU_PIC
	X86EmuVGA     = 1 << 6  // XEN_X86_EMU_VGA
	X86EmuIOMMU   = 1 << 7  // XEN_X86_EMU_IOMMU
	X86EmuPIT     = 1 << 8  // XEN_X86_EMU_PIT
	X86EmuUsePIRQ = 1 << 9  // XEN_X86_EMU_USE_PIRQ
	X86EmuVPCI    = 1 << 10 // XEN_X86_EMU_VPCI
)

// XEN_DOMINF_* (xen_domctl_getdomaininfo.flags).
const (
	DominfDying    = 1 << 0 // XEN_DOMINF_dying: being destroyed
	DominfHVMGuest = 1 << 1 // XEN_DOMINF_hvm_guest
	DominfShutdown = 1 << 2 // XEN_DOMINF_shutdown: the guest shut down (code in the high bits)
	DominfPaused   = 1 << 3 // XEN_DOMINF_paused: paused by the toolstack
	DominfBlocked  = 1 << 4 // XEN_DOMINF_blocked: every vCPU waits for an event
	DominfRunning  = 1 << 5 // XEN_DOMINF_running: a vCPU is on a CPU
	DominfDebugged = 1 << 6 // XEN_DOMINF_debugged
	DominfXSDomain = 1 << 7 // XEN_DOMINF_xs_domain
	DominfHAP      = 1 << 8 // XEN_DOMINF_hap
	// DominfShutdownMask and DominfShutdownShift place the SHUTDOWN_*
	// reason: (flags >> shift) & mask (XEN_DOMINF_shutdownmask/shift).
	DominfShutdownMask  = 255
	DominfShutdownShift = 16
)

// XenInvalidMaxVCPUID is XEN_INVALID_MAX_VCPU_ID: max_vcpu_id of a domain
// without vCPUs.
const XenInvalidMaxVCPUID = ^uint32(0)

// XEN_VCPUAFFINITY_* (xen_domctl_vcpuaffinity.flags).
const (
	VCPUAffinityHard  = 1 << 0 // XEN_VCPUAFFINITY_HARD
	VCPUAffinitySoft  = 1 << 1 // XEN_VCPUAFFINITY_SOFT
	VCPUAffinityForce = 1 << 2 // XEN_VCPUAFFINITY_FORCE
)

// Schedulers (XEN_SCHEDULER_*) and XEN_DOMCTL_SCHEDOP_* commands.
const (
	SchedulerCredit   = 5 // XEN_SCHEDULER_CREDIT: weight and cap, what GoZen's fair share is
	SchedulerCredit2  = 6 // XEN_SCHEDULER_CREDIT2
	SchedulerARINC653 = 7 // XEN_SCHEDULER_ARINC653
	SchedulerRTDS     = 8 // XEN_SCHEDULER_RTDS
	SchedulerNull     = 9 // XEN_SCHEDULER_NULL

	DomctlSchedopPutinfo     = 0 // XEN_DOMCTL_SCHEDOP_putinfo
	DomctlSchedopGetinfo     = 1 // XEN_DOMCTL_SCHEDOP_getinfo
	DomctlSchedopPutvcpuinfo = 2 // XEN_DOMCTL_SCHEDOP_putvcpuinfo
	DomctlSchedopGetvcpuinfo = 3 // XEN_DOMCTL_SCHEDOP_getvcpuinfo
)

// Sizes of the domctl structures (x86-64 and x86-32 alike).
const (
	XenDomctlSize                = 144 // struct xen_domctl
	XenDomctlUnionSize           = 128 // xen_domctl.u
	XenDomctlCreateDomainSize    = 64  // struct xen_domctl_createdomain (4.17–4.18)
	XenDomctlGetDomainInfoSize   = 112 // struct xen_domctl_getdomaininfo
	XenDomctlMaxMemSize          = 8   // struct xen_domctl_max_mem
	XenDomctlMaxVCPUsSize        = 4   // struct xen_domctl_max_vcpus
	XenDomctlSetDomainHandleSize = 16  // struct xen_domctl_setdomainhandle
	XenctlBitmapSize             = 16  // struct xenctl_bitmap
	XenDomctlVCPUAffinitySize    = 40  // struct xen_domctl_vcpuaffinity
	XenDomctlSchedulerOpSize     = 24  // struct xen_domctl_scheduler_op
	XenDomctlHVMContextSize      = 16  // struct xen_domctl_hvmcontext
	XenDomctlGdbsxMemIOSize      = 40  // struct xen_domctl_gdbsx_memio
)

// XenDomctl is struct xen_domctl (144 bytes), the argument of
// __HYPERVISOR_domctl. U holds the command's structure.
type XenDomctl struct {
	Cmd              uint32 // cmd: XEN_DOMCTL_*
	InterfaceVersion uint32 // interface_version: DomctlInterfaceVersion
	Domain           uint16 // domain: the target (IN/OUT for createdomain)
	Pad              [3]uint16
	U                [XenDomctlUnionSize]byte // u: the command's structure
}

// Encode writes x into b[:XenDomctlSize], with zeros in the padding. It
// panics if b is shorter.
func (x *XenDomctl) Encode(b []byte) {
	_ = b[XenDomctlSize-1]
	le.PutUint32(b[0:], x.Cmd)
	le.PutUint32(b[4:], x.InterfaceVersion)
	le.PutUint16(b[8:], x.Domain)
	clear(b[10:16])
	copy(b[16:XenDomctlSize], x.U[:])
}

// Decode reads x from the first XenDomctlSize bytes of b, or returns an
// error if b is shorter. The padding is not kept.
func (x *XenDomctl) Decode(b []byte) error {
	if len(b) < XenDomctlSize {
		return shortError("xen_domctl", XenDomctlSize, len(b))
	}
	x.Cmd = le.Uint32(b[0:])
	x.InterfaceVersion = le.Uint32(b[4:])
	x.Domain = le.Uint16(b[8:])
	x.Pad = [3]uint16{}
	copy(x.U[:], b[16:XenDomctlSize])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenDomctl) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenDomctlSize, x), nil
}

// MarshalBinary returns the XenDomctlSize-byte encoding of x.
func (x *XenDomctl) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from exactly XenDomctlSize bytes.
func (x *XenDomctl) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_domctl", XenDomctlSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenDomctlCreateDomain is struct xen_domctl_createdomain (64 bytes in Xen
// 4.17 and 4.18, interface versions 0x15/0x16), XEN_DOMCTL_createdomain's
// IN structure. The new domain's ID comes back in XenDomctl.Domain (0 in
// asks the hypervisor to choose).
type XenDomctlCreateDomain struct {
	SSIDRef           uint32                   // ssidref (XSM label)
	Handle            [XenDomainHandleLen]byte // handle: the UUID
	Flags             uint32                   // flags: XEN_DOMCTL_CDF_*
	IOMMUOpts         uint32                   // iommu_opts: XEN_DOMCTL_IOMMU_*
	MaxVCPUs          uint32                   // max_vcpus
	MaxEvtchnPort     uint32                   // max_evtchn_port
	MaxGrantFrames    int32                    // max_grant_frames (<0: default)
	MaxMaptrackFrames int32                    // max_maptrack_frames (<0: default)
	GrantOpts         uint32                   // grant_opts: XEN_DOMCTL_GRANT_version(v) in bits 0-3
	VmtraceSize       uint32                   // vmtrace_size
	CPUPoolID         uint32                   // cpupool_id
	EmulationFlags    uint32                   // arch.emulation_flags: XEN_X86_EMU_*
	MiscFlags         uint32                   // arch.misc_flags: XEN_X86_MSR_RELAXED...
}

// DomctlGrantVersionMask is XEN_DOMCTL_GRANT_version_mask: the grant-table
// version bits of GrantOpts.
const DomctlGrantVersionMask = 0xf

// Encode writes x into b[:XenDomctlCreateDomainSize]. It panics if b is
// shorter.
func (x *XenDomctlCreateDomain) Encode(b []byte) {
	_ = b[XenDomctlCreateDomainSize-1]
	le.PutUint32(b[0:], x.SSIDRef)
	copy(b[4:20], x.Handle[:])
	for i, v := range []uint32{x.Flags, x.IOMMUOpts, x.MaxVCPUs, x.MaxEvtchnPort, uint32(x.MaxGrantFrames),
		uint32(x.MaxMaptrackFrames), x.GrantOpts, x.VmtraceSize, x.CPUPoolID, x.EmulationFlags, x.MiscFlags} {
		le.PutUint32(b[20+4*i:], v)
	}
}

// Decode reads x from the first XenDomctlCreateDomainSize bytes of b, or
// returns an error if b is shorter.
func (x *XenDomctlCreateDomain) Decode(b []byte) error {
	if len(b) < XenDomctlCreateDomainSize {
		return shortError("xen_domctl_createdomain", XenDomctlCreateDomainSize, len(b))
	}
	x.SSIDRef = le.Uint32(b[0:])
	copy(x.Handle[:], b[4:20])
	u := func(off int) uint32 { return le.Uint32(b[off:]) }
	x.Flags, x.IOMMUOpts, x.MaxVCPUs, x.MaxEvtchnPort = u(20), u(24), u(28), u(32)
	x.MaxGrantFrames, x.MaxMaptrackFrames = int32(u(36)), int32(u(40))
	x.GrantOpts, x.VmtraceSize, x.CPUPoolID, x.EmulationFlags, x.MiscFlags = u(44), u(48), u(52), u(56), u(60)
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenDomctlCreateDomain) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenDomctlCreateDomainSize, x), nil
}

// MarshalBinary returns the XenDomctlCreateDomainSize-byte encoding of x.
func (x *XenDomctlCreateDomain) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from exactly XenDomctlCreateDomainSize bytes.
func (x *XenDomctlCreateDomain) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_domctl_createdomain", XenDomctlCreateDomainSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenDomctlGetDomainInfo is struct xen_domctl_getdomaininfo (112 bytes):
// XEN_DOMCTL_getdomaininfo's OUT structure, and each element of
// XEN_SYSCTL_getdomaininfolist's buffer.
type XenDomctlGetDomainInfo struct {
	Domain           uint16                   // domain (also echoed in xen_domctl.domain)
	Pad1             uint16                   // pad1
	Flags            uint32                   // flags: XEN_DOMINF_*, shutdown code in bits 16-23
	TotPages         uint64                   // tot_pages: pages the domain holds
	MaxPages         uint64                   // max_pages: its limit
	OutstandingPages uint64                   // outstanding_pages (claims)
	ShrPages         uint64                   // shr_pages
	PagedPages       uint64                   // paged_pages
	SharedInfoFrame  uint64                   // shared_info_frame: GMFN of shared_info
	CPUTime          uint64                   // cpu_time: ns its vCPUs ran
	NrOnlineVCPUs    uint32                   // nr_online_vcpus
	MaxVCPUID        uint32                   // max_vcpu_id (XenInvalidMaxVCPUID: none)
	SSIDRef          uint32                   // ssidref
	Handle           [XenDomainHandleLen]byte // handle: the UUID
	CPUPool          uint32                   // cpupool
	GPAddrBits       uint8                    // gpaddr_bits: guest-physical address width
	Pad2             [7]uint8                 // pad2
	EmulationFlags   uint32                   // arch_config.emulation_flags
	MiscFlags        uint32                   // arch_config.misc_flags
}

// Encode writes x into b[:XenDomctlGetDomainInfoSize], with zeros in the
// padding. It panics if b is shorter.
func (x *XenDomctlGetDomainInfo) Encode(b []byte) {
	_ = b[XenDomctlGetDomainInfoSize-1]
	le.PutUint16(b[0:], x.Domain)
	clear(b[2:4])
	le.PutUint32(b[4:], x.Flags)
	for i, v := range []uint64{x.TotPages, x.MaxPages, x.OutstandingPages, x.ShrPages, x.PagedPages, x.SharedInfoFrame, x.CPUTime} {
		le.PutUint64(b[8+8*i:], v)
	}
	le.PutUint32(b[64:], x.NrOnlineVCPUs)
	le.PutUint32(b[68:], x.MaxVCPUID)
	le.PutUint32(b[72:], x.SSIDRef)
	copy(b[76:92], x.Handle[:])
	le.PutUint32(b[92:], x.CPUPool)
	b[96] = x.GPAddrBits
	clear(b[97:104])
	le.PutUint32(b[104:], x.EmulationFlags)
	le.PutUint32(b[108:], x.MiscFlags)
}

// Decode reads x from the first XenDomctlGetDomainInfoSize bytes of b, or
// returns an error if b is shorter. The padding is not kept.
func (x *XenDomctlGetDomainInfo) Decode(b []byte) error {
	if len(b) < XenDomctlGetDomainInfoSize {
		return shortError("xen_domctl_getdomaininfo", XenDomctlGetDomainInfoSize, len(b))
	}
	*x = XenDomctlGetDomainInfo{Domain: le.Uint16(b[0:]), Flags: le.Uint32(b[4:])}
	for i, p := range []*uint64{&x.TotPages, &x.MaxPages, &x.OutstandingPages, &x.ShrPages, &x.PagedPages, &x.SharedInfoFrame, &x.CPUTime} {
		*p = le.Uint64(b[8+8*i:])
	}
	x.NrOnlineVCPUs = le.Uint32(b[64:])
	x.MaxVCPUID = le.Uint32(b[68:])
	x.SSIDRef = le.Uint32(b[72:])
	copy(x.Handle[:], b[76:92])
	x.CPUPool = le.Uint32(b[92:])
	x.GPAddrBits = b[96]
	x.EmulationFlags = le.Uint32(b[104:])
	x.MiscFlags = le.Uint32(b[108:])
	return nil
}

// ShutdownCode is the SHUTDOWN_* reason in Flags (meaningful with
// DominfShutdown).
func (x *XenDomctlGetDomainInfo) ShutdownCode() uint32 {
	return x.Flags >> DominfShutdownShift & DominfShutdownMask
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenDomctlGetDomainInfo) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenDomctlGetDomainInfoSize, x), nil
}

// MarshalBinary returns the XenDomctlGetDomainInfoSize-byte encoding of x.
func (x *XenDomctlGetDomainInfo) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from exactly XenDomctlGetDomainInfoSize bytes.
func (x *XenDomctlGetDomainInfo) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_domctl_getdomaininfo", XenDomctlGetDomainInfoSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenDomctlSetDomainHandle is struct xen_domctl_setdomainhandle (16
// bytes): XEN_DOMCTL_setdomainhandle gives a domain the toolstack's UUID,
// which getdomaininfo then reports (init-dom0less sets it on the domains
// the hypervisor built at boot).
type XenDomctlSetDomainHandle struct {
	Handle [XenDomainHandleLen]byte // handle: xen_domain_handle_t
}

// Encode writes x into b[:XenDomctlSetDomainHandleSize]. It panics if b is shorter.
func (x *XenDomctlSetDomainHandle) Encode(b []byte) {
	copy(b[:XenDomctlSetDomainHandleSize], x.Handle[:])
}

// Decode reads x from b, or returns an error if b is shorter than
// XenDomctlSetDomainHandleSize.
func (x *XenDomctlSetDomainHandle) Decode(b []byte) error {
	if len(b) < XenDomctlSetDomainHandleSize {
		return shortError("xen_domctl_setdomainhandle", XenDomctlSetDomainHandleSize, len(b))
	}
	copy(x.Handle[:], b)
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenDomctlSetDomainHandle) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenDomctlSetDomainHandleSize, x), nil
}

// MarshalBinary returns the XenDomctlSetDomainHandleSize-byte encoding of x.
func (x *XenDomctlSetDomainHandle) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from exactly XenDomctlSetDomainHandleSize bytes.
func (x *XenDomctlSetDomainHandle) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_domctl_setdomainhandle", XenDomctlSetDomainHandleSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenDomctlMaxMem is struct xen_domctl_max_mem (8 bytes): XEN_DOMCTL_max_mem.
type XenDomctlMaxMem struct {
	MaxMemKB uint64 // max_memkb: the domain's memory limit in KiB
}

// Encode writes x into b[:XenDomctlMaxMemSize]. It panics if b is shorter.
func (x *XenDomctlMaxMem) Encode(b []byte) { le.PutUint64(b[:XenDomctlMaxMemSize], x.MaxMemKB) }

// Decode reads x from b, or returns an error if b is shorter than
// XenDomctlMaxMemSize.
func (x *XenDomctlMaxMem) Decode(b []byte) error {
	if len(b) < XenDomctlMaxMemSize {
		return shortError("xen_domctl_max_mem", XenDomctlMaxMemSize, len(b))
	}
	x.MaxMemKB = le.Uint64(b)
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenDomctlMaxMem) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenDomctlMaxMemSize, x), nil
}

// MarshalBinary returns the XenDomctlMaxMemSize-byte encoding of x.
func (x *XenDomctlMaxMem) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from exactly XenDomctlMaxMemSize bytes.
func (x *XenDomctlMaxMem) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_domctl_max_mem", XenDomctlMaxMemSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenDomctlMaxVCPUs is struct xen_domctl_max_vcpus (4 bytes):
// XEN_DOMCTL_max_vcpus.
type XenDomctlMaxVCPUs struct {
	Max uint32 // max: the number of vCPUs
}

// Encode writes x into b[:XenDomctlMaxVCPUsSize]. It panics if b is shorter.
func (x *XenDomctlMaxVCPUs) Encode(b []byte) { le.PutUint32(b[:XenDomctlMaxVCPUsSize], x.Max) }

// Decode reads x from b, or returns an error if b is shorter than
// XenDomctlMaxVCPUsSize.
func (x *XenDomctlMaxVCPUs) Decode(b []byte) error {
	if len(b) < XenDomctlMaxVCPUsSize {
		return shortError("xen_domctl_max_vcpus", XenDomctlMaxVCPUsSize, len(b))
	}
	x.Max = le.Uint32(b)
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenDomctlMaxVCPUs) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenDomctlMaxVCPUsSize, x), nil
}

// MarshalBinary returns the XenDomctlMaxVCPUsSize-byte encoding of x.
func (x *XenDomctlMaxVCPUs) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from exactly XenDomctlMaxVCPUsSize bytes.
func (x *XenDomctlMaxVCPUs) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_domctl_max_vcpus", XenDomctlMaxVCPUsSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenctlBitmap is struct xenctl_bitmap (16 bytes, xen.h): a guest buffer
// of NrBits bits.
type XenctlBitmap struct {
	Bitmap uint64 // bitmap: guest handle of the bytes
	NrBits uint32 // nr_bits
	Pad    uint32
}

// XenDomctlVCPUAffinity is struct xen_domctl_vcpuaffinity (40 bytes):
// XEN_DOMCTL_setvcpuaffinity and getvcpuaffinity.
type XenDomctlVCPUAffinity struct {
	VCPU       uint32       // vcpu
	Flags      uint32       // flags: XEN_VCPUAFFINITY_*
	CPUMapHard XenctlBitmap // cpumap_hard (IN/OUT)
	CPUMapSoft XenctlBitmap // cpumap_soft (IN/OUT)
}

// Encode writes x into b[:XenDomctlVCPUAffinitySize], with zeros in the
// padding. It panics if b is shorter.
func (x *XenDomctlVCPUAffinity) Encode(b []byte) {
	_ = b[XenDomctlVCPUAffinitySize-1]
	le.PutUint32(b[0:], x.VCPU)
	le.PutUint32(b[4:], x.Flags)
	for i, m := range []XenctlBitmap{x.CPUMapHard, x.CPUMapSoft} {
		o := 8 + XenctlBitmapSize*i
		le.PutUint64(b[o:], m.Bitmap)
		le.PutUint32(b[o+8:], m.NrBits)
		clear(b[o+12 : o+16])
	}
}

// Decode reads x from the first XenDomctlVCPUAffinitySize bytes of b, or
// returns an error if b is shorter.
func (x *XenDomctlVCPUAffinity) Decode(b []byte) error {
	if len(b) < XenDomctlVCPUAffinitySize {
		return shortError("xen_domctl_vcpuaffinity", XenDomctlVCPUAffinitySize, len(b))
	}
	x.VCPU = le.Uint32(b[0:])
	x.Flags = le.Uint32(b[4:])
	for i, m := range []*XenctlBitmap{&x.CPUMapHard, &x.CPUMapSoft} {
		o := 8 + XenctlBitmapSize*i
		*m = XenctlBitmap{Bitmap: le.Uint64(b[o:]), NrBits: le.Uint32(b[o+8:])}
	}
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenDomctlVCPUAffinity) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenDomctlVCPUAffinitySize, x), nil
}

// MarshalBinary returns the XenDomctlVCPUAffinitySize-byte encoding of x.
func (x *XenDomctlVCPUAffinity) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from exactly XenDomctlVCPUAffinitySize bytes.
func (x *XenDomctlVCPUAffinity) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_domctl_vcpuaffinity", XenDomctlVCPUAffinitySize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenDomctlSchedulerOp is struct xen_domctl_scheduler_op (24 bytes):
// XEN_DOMCTL_scheduler_op. Weight and Cap are the union's credit (and
// credit2) member, u.credit.weight at 8 and u.credit.cap at 10; the rtds
// and per-vCPU members share the same 16 bytes (U keeps them whole).
type XenDomctlSchedulerOp struct {
	SchedID uint32   // sched_id: XEN_SCHEDULER_*
	Cmd     uint32   // cmd: XEN_DOMCTL_SCHEDOP_*
	U       [16]byte // u: the union (credit: weight u16 @0, cap u16 @2)
}

// Weight is u.credit.weight.
func (x *XenDomctlSchedulerOp) Weight() uint16 { return le.Uint16(x.U[0:]) }

// Cap is u.credit.cap: percent of one CPU, 0 for none.
func (x *XenDomctlSchedulerOp) Cap() uint16 { return le.Uint16(x.U[2:]) }

// SetCredit sets u.credit (and clears the rest of the union).
func (x *XenDomctlSchedulerOp) SetCredit(weight, cap uint16) {
	x.U = [16]byte{}
	le.PutUint16(x.U[0:], weight)
	le.PutUint16(x.U[2:], cap)
}

// Encode writes x into b[:XenDomctlSchedulerOpSize]. It panics if b is
// shorter.
func (x *XenDomctlSchedulerOp) Encode(b []byte) {
	_ = b[XenDomctlSchedulerOpSize-1]
	le.PutUint32(b[0:], x.SchedID)
	le.PutUint32(b[4:], x.Cmd)
	copy(b[8:24], x.U[:])
}

// Decode reads x from the first XenDomctlSchedulerOpSize bytes of b, or
// returns an error if b is shorter.
func (x *XenDomctlSchedulerOp) Decode(b []byte) error {
	if len(b) < XenDomctlSchedulerOpSize {
		return shortError("xen_domctl_scheduler_op", XenDomctlSchedulerOpSize, len(b))
	}
	x.SchedID = le.Uint32(b[0:])
	x.Cmd = le.Uint32(b[4:])
	copy(x.U[:], b[8:24])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenDomctlSchedulerOp) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenDomctlSchedulerOpSize, x), nil
}

// MarshalBinary returns the XenDomctlSchedulerOpSize-byte encoding of x.
func (x *XenDomctlSchedulerOp) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from exactly XenDomctlSchedulerOpSize bytes.
func (x *XenDomctlSchedulerOp) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_domctl_scheduler_op", XenDomctlSchedulerOpSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenDomctlHVMContext is struct xen_domctl_hvmcontext (16 bytes):
// XEN_DOMCTL_gethvmcontext and sethvmcontext. A get with Buffer 0 asks
// for the size; otherwise Size is the buffer's size in and the bytes
// written out. The buffer holds HVM save records (hvmsave.go).
type XenDomctlHVMContext struct {
	Size   uint32 // size (IN/OUT)
	Pad    uint32
	Buffer uint64 // buffer: guest handle
}

// Encode writes x into b[:XenDomctlHVMContextSize], with zeros in the
// padding. It panics if b is shorter.
func (x *XenDomctlHVMContext) Encode(b []byte) {
	_ = b[XenDomctlHVMContextSize-1]
	le.PutUint32(b[0:], x.Size)
	clear(b[4:8])
	le.PutUint64(b[8:], x.Buffer)
}

// Decode reads x from the first XenDomctlHVMContextSize bytes of b, or
// returns an error if b is shorter.
func (x *XenDomctlHVMContext) Decode(b []byte) error {
	if len(b) < XenDomctlHVMContextSize {
		return shortError("xen_domctl_hvmcontext", XenDomctlHVMContextSize, len(b))
	}
	*x = XenDomctlHVMContext{Size: le.Uint32(b[0:]), Buffer: le.Uint64(b[8:])}
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenDomctlHVMContext) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenDomctlHVMContextSize, x), nil
}

// MarshalBinary returns the XenDomctlHVMContextSize-byte encoding of x.
func (x *XenDomctlHVMContext) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from exactly XenDomctlHVMContextSize bytes.
func (x *XenDomctlHVMContext) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_domctl_hvmcontext", XenDomctlHVMContextSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenDomctlGetVCPUInfoSize is sizeof(struct xen_domctl_getvcpuinfo).
const XenDomctlGetVCPUInfoSize = 24

// XenDomctlGetVCPUInfo is struct xen_domctl_getvcpuinfo (24 bytes):
// XEN_DOMCTL_getvcpuinfo (`xl vcpu-list`).
type XenDomctlGetVCPUInfo struct {
	VCPU    uint32 // vcpu (IN)
	Online  uint8  // online: not hot-unplugged (brought up)
	Blocked uint8  // blocked: waiting for an event
	Running uint8  // running: on a physical CPU now
	Pad     uint8
	CPUTime uint64 // cpu_time: ns it has run
	CPU     uint32 // cpu: the physical CPU it is on or last ran on
	Pad2    uint32
}

// Encode writes x into b[:XenDomctlGetVCPUInfoSize], with zeros in the
// padding. It panics if b is shorter.
func (x *XenDomctlGetVCPUInfo) Encode(b []byte) {
	_ = b[XenDomctlGetVCPUInfoSize-1]
	le.PutUint32(b[0:], x.VCPU)
	b[4], b[5], b[6], b[7] = x.Online, x.Blocked, x.Running, 0
	le.PutUint64(b[8:], x.CPUTime)
	le.PutUint32(b[16:], x.CPU)
	clear(b[20:24])
}

// Decode reads x from the first XenDomctlGetVCPUInfoSize bytes of b, or
// returns an error if b is shorter. The padding is not kept.
func (x *XenDomctlGetVCPUInfo) Decode(b []byte) error {
	if len(b) < XenDomctlGetVCPUInfoSize {
		return shortError("xen_domctl_getvcpuinfo", XenDomctlGetVCPUInfoSize, len(b))
	}
	*x = XenDomctlGetVCPUInfo{VCPU: le.Uint32(b[0:]), Online: b[4], Blocked: b[5], Running: b[6],
		CPUTime: le.Uint64(b[8:]), CPU: le.Uint32(b[16:])}
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenDomctlGetVCPUInfo) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenDomctlGetVCPUInfoSize, x), nil
}

// MarshalBinary returns the XenDomctlGetVCPUInfoSize-byte encoding of x.
func (x *XenDomctlGetVCPUInfo) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from exactly XenDomctlGetVCPUInfoSize bytes.
func (x *XenDomctlGetVCPUInfo) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_domctl_getvcpuinfo", XenDomctlGetVCPUInfoSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenDomctlGdbsxMemIO is struct xen_domctl_gdbsx_memio (40 bytes):
// XEN_DOMCTL_gdbsx_guestmemio copies Len bytes between the domain's memory
// at guest-virtual GVA and the caller's buffer at UVA (a virtual address
// of the calling process), into the domain when GWr is non-zero. Remain
// is what was not copied; Xen answers -EFAULT when it is not 0 (and then
// does not copy the structure back).
type XenDomctlGdbsxMemIO struct {
	PGD3Val uint64 // pgd3val: for 32-bit PV guests' page tables; unused
	GVA     uint64 // gva: where in the domain
	UVA     uint64 // uva: the caller's buffer
	Len     uint32 // len: bytes to copy
	GWr     uint8  // gwr: 1 writes to the domain, 0 reads from it
	Remain  uint32 // remain (OUT): bytes not copied
}

// Encode writes x into b[:XenDomctlGdbsxMemIOSize], with zeros in the
// padding. It panics if b is shorter.
func (x *XenDomctlGdbsxMemIO) Encode(b []byte) {
	_ = b[XenDomctlGdbsxMemIOSize-1]
	le.PutUint64(b[0:], x.PGD3Val)
	le.PutUint64(b[8:], x.GVA)
	le.PutUint64(b[16:], x.UVA)
	le.PutUint32(b[24:], x.Len)
	b[28] = x.GWr
	clear(b[29:32])
	le.PutUint32(b[32:], x.Remain)
	clear(b[36:40])
}

// Decode reads x from the first XenDomctlGdbsxMemIOSize bytes of b, or
// returns an error if b is shorter.
func (x *XenDomctlGdbsxMemIO) Decode(b []byte) error {
	if len(b) < XenDomctlGdbsxMemIOSize {
		return shortError("xen_domctl_gdbsx_memio", XenDomctlGdbsxMemIOSize, len(b))
	}
	x.PGD3Val, x.GVA, x.UVA = le.Uint64(b[0:]), le.Uint64(b[8:]), le.Uint64(b[16:])
	x.Len, x.GWr, x.Remain = le.Uint32(b[24:]), b[28], le.Uint32(b[32:])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenDomctlGdbsxMemIO) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenDomctlGdbsxMemIOSize, x), nil
}

// MarshalBinary returns the XenDomctlGdbsxMemIOSize-byte encoding of x.
func (x *XenDomctlGdbsxMemIO) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from exactly XenDomctlGdbsxMemIOSize bytes.
func (x *XenDomctlGdbsxMemIO) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_domctl_gdbsx_memio", XenDomctlGdbsxMemIOSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}
