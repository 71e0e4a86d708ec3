package xen

// The sysctl hypercall (__HYPERVISOR_sysctl, 35): the toolstack's view of
// the whole host, from xen/include/public/sysctl.h at Xen 4.17
// (XEN_SYSCTL_INTERFACE_VERSION 0x15, unchanged up to 4.20). The argument
// is one struct xen_sysctl: a command, the interface version and a
// 128-byte union holding the command's structure. Control domain only.

// SysctlInterfaceVersion is XEN_SYSCTL_INTERFACE_VERSION of Xen 4.17. A
// sysctl whose interface_version differs is refused with -EACCES.
const SysctlInterfaceVersion = 0x15

// XEN_SYSCTL_* commands (xen_sysctl.cmd).
const (
	SysctlReadconsole       = 1  // XEN_SYSCTL_readconsole: XenSysctlReadconsole
	SysctlTbufOp            = 2  // XEN_SYSCTL_tbuf_op
	SysctlPhysinfo          = 3  // XEN_SYSCTL_physinfo: XenSysctlPhysinfo (OUT)
	SysctlSchedID           = 4  // XEN_SYSCTL_sched_id
	SysctlPerfcOp           = 5  // XEN_SYSCTL_perfc_op
	SysctlGetdomaininfolist = 6  // XEN_SYSCTL_getdomaininfolist: XenSysctlGetdomaininfolist
	SysctlDebugKeys         = 7  // XEN_SYSCTL_debug_keys
	SysctlGetcpuinfo        = 8  // XEN_SYSCTL_getcpuinfo
	SysctlAvailheap         = 9  // XEN_SYSCTL_availheap
	SysctlGetCPUPolicy      = 25 // XEN_SYSCTL_get_cpu_policy
)

// XEN_SYSCTL_PHYSCAP_* (xen_sysctl_physinfo.capabilities).
const (
	PhyscapHVM             = 1 << 0 // XEN_SYSCTL_PHYSCAP_hvm
	PhyscapPV              = 1 << 1 // XEN_SYSCTL_PHYSCAP_pv
	PhyscapDirectIO        = 1 << 2 // XEN_SYSCTL_PHYSCAP_directio
	PhyscapHAP             = 1 << 3 // XEN_SYSCTL_PHYSCAP_hap
	PhyscapShadow          = 1 << 4 // XEN_SYSCTL_PHYSCAP_shadow
	PhyscapIOMMUHAPPtShare = 1 << 5 // XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share
	PhyscapVmtrace         = 1 << 6 // XEN_SYSCTL_PHYSCAP_vmtrace
	PhyscapVPMU            = 1 << 7 // XEN_SYSCTL_PHYSCAP_vpmu
	PhyscapGnttabV1        = 1 << 8 // XEN_SYSCTL_PHYSCAP_gnttab_v1
	PhyscapGnttabV2        = 1 << 9 // XEN_SYSCTL_PHYSCAP_gnttab_v2
)

// Sizes of the sysctl structures.
const (
	XenSysctlSize                  = 136 // struct xen_sysctl
	XenSysctlUnionSize             = 128 // xen_sysctl.u
	XenSysctlReadconsoleSize       = 24  // struct xen_sysctl_readconsole
	XenSysctlPhysinfoSize          = 112 // struct xen_sysctl_physinfo
	XenSysctlGetdomaininfolistSize = 24  // struct xen_sysctl_getdomaininfolist
)

// XenSysctl is struct xen_sysctl (136 bytes), the argument of
// __HYPERVISOR_sysctl.
type XenSysctl struct {
	Cmd              uint32                   // cmd: XEN_SYSCTL_*
	InterfaceVersion uint32                   // interface_version: SysctlInterfaceVersion
	U                [XenSysctlUnionSize]byte // u: the command's structure
}

// Encode writes x into b[:XenSysctlSize]. It panics if b is shorter.
func (x *XenSysctl) Encode(b []byte) {
	_ = b[XenSysctlSize-1]
	le.PutUint32(b[0:], x.Cmd)
	le.PutUint32(b[4:], x.InterfaceVersion)
	copy(b[8:XenSysctlSize], x.U[:])
}

// Decode reads x from the first XenSysctlSize bytes of b, or returns an
// error if b is shorter.
func (x *XenSysctl) Decode(b []byte) error {
	if len(b) < XenSysctlSize {
		return shortError("xen_sysctl", XenSysctlSize, len(b))
	}
	x.Cmd = le.Uint32(b[0:])
	x.InterfaceVersion = le.Uint32(b[4:])
	copy(x.U[:], b[8:XenSysctlSize])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenSysctl) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenSysctlSize, x), nil
}

// MarshalBinary returns the XenSysctlSize-byte encoding of x.
func (x *XenSysctl) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from exactly XenSysctlSize bytes.
func (x *XenSysctl) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_sysctl", XenSysctlSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenSysctlReadconsole is struct xen_sysctl_readconsole (24 bytes):
// XEN_SYSCTL_readconsole, the hypervisor's console ring (`xl dmesg`).
type XenSysctlReadconsole struct {
	Clear       uint8  // clear: non-zero empties the ring after reading
	Incremental uint8  // incremental: start at Index instead of the oldest byte
	Pad0, Pad1  uint8  // pad0, pad1
	Index       uint32 // index: IN start (if Incremental), OUT the end consumed
	Buffer      uint64 // buffer: guest handle of the destination
	Count       uint32 // count: IN the buffer's size, OUT bytes written
	Pad2        uint32 // tail padding
}

// Encode writes x into b[:XenSysctlReadconsoleSize], with zeros in the
// padding. It panics if b is shorter.
func (x *XenSysctlReadconsole) Encode(b []byte) {
	_ = b[XenSysctlReadconsoleSize-1]
	b[0], b[1], b[2], b[3] = x.Clear, x.Incremental, 0, 0
	le.PutUint32(b[4:], x.Index)
	le.PutUint64(b[8:], x.Buffer)
	le.PutUint32(b[16:], x.Count)
	clear(b[20:24])
}

// Decode reads x from the first XenSysctlReadconsoleSize bytes of b, or
// returns an error if b is shorter. The padding is not kept.
func (x *XenSysctlReadconsole) Decode(b []byte) error {
	if len(b) < XenSysctlReadconsoleSize {
		return shortError("xen_sysctl_readconsole", XenSysctlReadconsoleSize, len(b))
	}
	*x = XenSysctlReadconsole{Clear: b[0], Incremental: b[1], Index: le.Uint32(b[4:]), Buffer: le.Uint64(b[8:]), Count: le.Uint32(b[16:])}
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenSysctlReadconsole) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenSysctlReadconsoleSize, x), nil
}

// MarshalBinary returns the XenSysctlReadconsoleSize-byte encoding of x.
func (x *XenSysctlReadconsole) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from exactly XenSysctlReadconsoleSize bytes.
func (x *XenSysctlReadconsole) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_sysctl_readconsole", XenSysctlReadconsoleSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenSysctlPhysinfo is struct xen_sysctl_physinfo (112 bytes):
// XEN_SYSCTL_physinfo (`xl info`). Page counts are 4 KiB pages.
type XenSysctlPhysinfo struct {
	ThreadsPerCore   uint32    // threads_per_core
	CoresPerSocket   uint32    // cores_per_socket
	NrCPUs           uint32    // nr_cpus: online CPUs
	MaxCPUID         uint32    // max_cpu_id
	NrNodes          uint32    // nr_nodes
	MaxNodeID        uint32    // max_node_id
	CPUKHz           uint32    // cpu_khz
	Capabilities     uint32    // capabilities: XEN_SYSCTL_PHYSCAP_*
	ArchCapabilities uint32    // arch_capabilities
	Pad              uint32    // pad
	TotalPages       uint64    // total_pages
	FreePages        uint64    // free_pages
	ScrubPages       uint64    // scrub_pages
	OutstandingPages uint64    // outstanding_pages
	MaxMFN           uint64    // max_mfn
	HWCap            [8]uint32 // hw_cap
}

// Encode writes x into b[:XenSysctlPhysinfoSize]. It panics if b is
// shorter.
func (x *XenSysctlPhysinfo) Encode(b []byte) {
	_ = b[XenSysctlPhysinfoSize-1]
	for i, v := range []uint32{x.ThreadsPerCore, x.CoresPerSocket, x.NrCPUs, x.MaxCPUID, x.NrNodes, x.MaxNodeID,
		x.CPUKHz, x.Capabilities, x.ArchCapabilities, x.Pad} {
		le.PutUint32(b[4*i:], v)
	}
	for i, v := range []uint64{x.TotalPages, x.FreePages, x.ScrubPages, x.OutstandingPages, x.MaxMFN} {
		le.PutUint64(b[40+8*i:], v)
	}
	for i, v := range x.HWCap {
		le.PutUint32(b[80+4*i:], v)
	}
}

// Decode reads x from the first XenSysctlPhysinfoSize bytes of b, or
// returns an error if b is shorter.
func (x *XenSysctlPhysinfo) Decode(b []byte) error {
	if len(b) < XenSysctlPhysinfoSize {
		return shortError("xen_sysctl_physinfo", XenSysctlPhysinfoSize, len(b))
	}
	for i, p := range []*uint32{&x.ThreadsPerCore, &x.CoresPerSocket, &x.NrCPUs, &x.MaxCPUID, &x.NrNodes, &x.MaxNodeID,
		&x.CPUKHz, &x.Capabilities, &x.ArchCapabilities, &x.Pad} {
		*p = le.Uint32(b[4*i:])
	}
	for i, p := range []*uint64{&x.TotalPages, &x.FreePages, &x.ScrubPages, &x.OutstandingPages, &x.MaxMFN} {
		*p = le.Uint64(b[40+8*i:])
	}
	for i := range x.HWCap {
		x.HWCap[i] = le.Uint32(b[80+4*i:])
	}
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenSysctlPhysinfo) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenSysctlPhysinfoSize, x), nil
}

// MarshalBinary returns the XenSysctlPhysinfoSize-byte encoding of x.
func (x *XenSysctlPhysinfo) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from exactly XenSysctlPhysinfoSize bytes.
func (x *XenSysctlPhysinfo) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_sysctl_physinfo", XenSysctlPhysinfoSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenSysctlGetdomaininfolist is struct xen_sysctl_getdomaininfolist (24
// bytes): XEN_SYSCTL_getdomaininfolist (`xl list`). Buffer receives up to
// MaxDomains XenDomctlGetDomainInfo, for the domains with IDs from
// FirstDomain up, in ID order; NumDomains says how many.
type XenSysctlGetdomaininfolist struct {
	FirstDomain uint16 // first_domain
	Pad         uint16
	MaxDomains  uint32 // max_domains
	Buffer      uint64 // buffer: guest handle of xen_domctl_getdomaininfo_t
	NumDomains  uint32 // num_domains (OUT)
	Pad2        uint32 // tail padding
}

// Encode writes x into b[:XenSysctlGetdomaininfolistSize], with zeros in
// the padding. It panics if b is shorter.
func (x *XenSysctlGetdomaininfolist) Encode(b []byte) {
	_ = b[XenSysctlGetdomaininfolistSize-1]
	le.PutUint16(b[0:], x.FirstDomain)
	clear(b[2:4])
	le.PutUint32(b[4:], x.MaxDomains)
	le.PutUint64(b[8:], x.Buffer)
	le.PutUint32(b[16:], x.NumDomains)
	clear(b[20:24])
}

// Decode reads x from the first XenSysctlGetdomaininfolistSize bytes of b,
// or returns an error if b is shorter. The padding is not kept.
func (x *XenSysctlGetdomaininfolist) Decode(b []byte) error {
	if len(b) < XenSysctlGetdomaininfolistSize {
		return shortError("xen_sysctl_getdomaininfolist", XenSysctlGetdomaininfolistSize, len(b))
	}
	*x = XenSysctlGetdomaininfolist{FirstDomain: le.Uint16(b[0:]), MaxDomains: le.Uint32(b[4:]),
		Buffer: le.Uint64(b[8:]), NumDomains: le.Uint32(b[16:])}
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenSysctlGetdomaininfolist) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenSysctlGetdomaininfolistSize, x), nil
}

// MarshalBinary returns the XenSysctlGetdomaininfolistSize-byte encoding of x.
func (x *XenSysctlGetdomaininfolist) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from exactly XenSysctlGetdomaininfolistSize bytes.
func (x *XenSysctlGetdomaininfolist) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_sysctl_getdomaininfolist", XenSysctlGetdomaininfolistSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}
