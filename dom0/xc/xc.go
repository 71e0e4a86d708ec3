// Package xc is what dom0's toolstack needs from the hypervisor, at Go
// level: libxc's role (Xen tools/libs/ctrl and tools/libs/guest). The
// Interface is implemented over /dev/xen/privcmd (domctl and sysctl
// hypercalls, MMAPBATCH_V2 foreign mappings, MMAP_RESOURCE grant frames)
// in dom0, and by package xcfake in memory for host tests: the domain
// builder and xl are written against the interface only.
//
// Domain IDs are uint32 (Xen's domid_t is 16 bits; the wider type keeps
// DOMID_* constants and arithmetic simple). Errors wrap the errno the
// hypervisor returned (syscall.Errno, as Xen's -E* values), so callers can
// test them with errors.Is(err, syscall.ESRCH) and so on.
package xc

import (
	"fmt"

	"gozen/abi/xen"
)

// PageSize is the size of a guest frame.
const PageSize = 4096

// Interface is libxc for GoZen's toolstack. Every method may be called
// from one goroutine at a time per Interface; implementations say if they
// allow more.
type Interface interface {
	// CreateDomain creates a paused, empty domain (XEN_DOMCTL_createdomain)
	// and returns its ID.
	CreateDomain(c CreateConfig) (uint32, error)
	// DestroyDomain destroys dom (XEN_DOMCTL_destroydomain): its vCPUs
	// stop, its memory is freed once nothing maps it any more.
	DestroyDomain(dom uint32) error
	// Pause and Unpause stop and restart dom's vCPUs
	// (XEN_DOMCTL_pausedomain/unpausedomain).
	Pause(dom uint32) error
	Unpause(dom uint32) error
	// ShutdownDomain shuts dom down with a SHUTDOWN_* reason, as if its
	// guest had asked (xc_domain_shutdown: SCHEDOP_remote_shutdown).
	ShutdownDomain(dom uint32, reason uint32) error

	// DomainInfo returns dom's state (XEN_DOMCTL_getdomaininfo, exact
	// match): ESRCH if there is no such domain.
	DomainInfo(dom uint32) (DomainInfo, error)
	// ListDomains returns every domain, dom0 first, by ID
	// (XEN_SYSCTL_getdomaininfolist).
	ListDomains() ([]DomainInfo, error)

	// SetHandle gives dom the UUID its DomainInfo reports
	// (XEN_DOMCTL_setdomainhandle; xc_domain_sethandle).
	SetHandle(dom uint32, uuid [16]byte) error
	// SetMaxMem sets dom's memory ceiling in KiB (XEN_DOMCTL_max_mem).
	SetMaxMem(dom uint32, kib uint64) error
	// SetMaxVCPUs sets dom's vCPU count (XEN_DOMCTL_max_vcpus).
	SetMaxVCPUs(dom uint32, n int) error

	// Populate gives dom 2^order fresh zeroed frames from each gfn, which
	// is 2^order-aligned (XENMEM_populate_physmap with domid dom and
	// extent_order order: 9 asks for 2 MiB extents, which the hypervisor
	// may back with a superpage).
	Populate(dom uint32, order uint, gfns []uint64) error
	// MapForeign maps dom's frames gfns, in order, into dom0 as one
	// writable buffer of len(gfns) pages (IOCTL_PRIVCMD_MMAPBATCH_V2).
	// Every page must map; release it with Unmap.
	MapForeign(dom uint32, gfns []uint64) ([]byte, error)
	// WriteGuest copies data into dom's memory at guest-physical gpa
	// while dom is being built (created, never unpaused), without mapping
	// its frames: XEN_DOMCTL_gdbsx_guestmemio, whose guest-virtual
	// address is guest-physical before the domain's vCPU 0 turns paging
	// on. Every frame must be populated. A hypervisor without it
	// (Xen built without CONFIG_GDBSX: ENOSYS) or one that refuses a
	// domain that has run (EOPNOTSUPP) leaves MapForeign as the way.
	WriteGuest(dom uint32, gpa uint64, data []byte) error
	// MapGrantTable maps frame frame of dom's (version 1) grant table
	// into dom0 (IOCTL_PRIVCMD_MMAP_RESOURCE, XENMEM_resource_grant_table,
	// the shared frames); release it with Unmap.
	MapGrantTable(dom uint32, frame int) ([]byte, error)
	// Unmap releases a buffer MapForeign or MapGrantTable returned.
	Unmap(b []byte) error

	// SetParam and GetParam set and read dom's HVM parameters
	// (HVMOP_set_param/get_param, xen.HVMParam*).
	SetParam(dom uint32, param uint32, value uint64) error
	GetParam(dom uint32, param uint32) (uint64, error)

	// AllocUnbound allocates an event channel of dom that remote may bind
	// (EVTCHNOP_alloc_unbound{dom, remote_dom}) and returns its port.
	AllocUnbound(dom, remote uint32) (uint32, error)

	// SetVCPUContext sets vCPU vcpu of (paused) dom to start from ctx
	// (XEN_DOMCTL_sethvmcontext with the HEADER, CPU and END records,
	// as libxc's bootlate_hvm does).
	SetVCPUContext(dom uint32, vcpu int, ctx VCPUContext) error

	// SchedParams and SetSchedParams read and set dom's CPU share
	// (XEN_DOMCTL_scheduler_op, credit: weight and cap).
	SchedParams(dom uint32) (Sched, error)
	SetSchedParams(dom uint32, s Sched) error

	// VCPUs describes each of dom's vCPUs (XEN_DOMCTL_getvcpuinfo for
	// 0..max_vcpu_id), for xl vcpu-list.
	VCPUs(dom uint32) ([]VCPUInfo, error)

	// PhysInfo describes the host (XEN_SYSCTL_physinfo).
	PhysInfo() (PhysInfo, error)
	// Version is the hypervisor's version (__HYPERVISOR_xen_version:
	// XENVER_version, extraversion, capabilities, commandline).
	Version() (Version, error)
	// ReadConsole returns the hypervisor's log (XEN_SYSCTL_readconsole),
	// and clears it with clear.
	ReadConsole(clear bool) (string, error)
}

// CreateConfig is xen_domctl_createdomain at Go level.
type CreateConfig struct {
	UUID     [16]byte // the domain handle
	Flags    uint32   // CDF*
	MaxVCPUs int
	// MaxEvtchnPort, MaxGrantFrames, MaxMaptrackFrames: libxl's defaults
	// (1023 for 2-level event channels is what Linux uses; 64 and 1024
	// frames) when zero.
	MaxEvtchnPort     uint32
	MaxGrantFrames    uint32
	MaxMaptrackFrames uint32
	EmulationFlags    uint32 // arch.emulation_flags: EmuLAPIC for PVH
}

// xen_domctl_createdomain flags and x86 emulation flags (public/domctl.h,
// arch-x86/xen.h).
const (
	CDFHVM   = xen.DomctlCDFHVM
	CDFHAP   = xen.DomctlCDFHAP
	CDFIOMMU = xen.DomctlCDFIOMMU

	EmuLAPIC = xen.X86EmuLAPIC // the only device a PVH domain has
)

// PVHCreateConfig is what libxl passes for a PVH domain with n vCPUs
// (libxl_create.c, libxl_x86.c): HVM container, hardware paging, a local
// APIC and nothing else emulated.
func PVHCreateConfig(uuid [16]byte, n int) CreateConfig {
	return CreateConfig{UUID: uuid, Flags: CDFHVM | CDFHAP, MaxVCPUs: n,
		MaxEvtchnPort: 1023, MaxGrantFrames: 64, MaxMaptrackFrames: 1024, EmulationFlags: EmuLAPIC}
}

// DomainInfo is xen_domctl_getdomaininfo at Go level.
type DomainInfo struct {
	ID    uint32
	Flags uint32 // XEN_DOMINF_* (DomInf*), the shutdown reason in bits 16+
	// TotPages is the frames dom holds; MaxPages its ceiling (max_mem in
	// pages).
	TotPages, MaxPages uint64
	SharedInfoFrame    uint64
	CPUTimeNS          uint64 // total CPU time of its vCPUs
	OnlineVCPUs        int
	MaxVCPUID          int
	Handle             [16]byte
	CPUPool            uint32
}

// XEN_DOMINF_* flags (public/domctl.h).
const (
	DomInfDying      = xen.DominfDying
	DomInfHVM        = xen.DominfHVMGuest
	DomInfShutdown   = xen.DominfShutdown
	DomInfPaused     = xen.DominfPaused
	DomInfBlocked    = xen.DominfBlocked
	DomInfRunning    = xen.DominfRunning
	DomInfDebugged   = xen.DominfDebugged
	DomInfXSEnforced = xen.DominfXSDomain
	DomInfHAP        = xen.DominfHAP

	DomInfShutdownShift = xen.DominfShutdownShift
	DomInfShutdownMask  = xen.DominfShutdownMask
)

// SHUTDOWN_* reasons (public/sched.h).
const (
	ShutdownPoweroff  = xen.ShutdownPoweroff
	ShutdownReboot    = xen.ShutdownReboot
	ShutdownSuspend   = xen.ShutdownSuspend
	ShutdownCrash     = xen.ShutdownCrash
	ShutdownWatchdog  = xen.ShutdownWatchdog
	ShutdownSoftReset = xen.ShutdownSoftReset
)

// Dying, Shutdown, ... test the flags.
func (d DomainInfo) Dying() bool      { return d.Flags&DomInfDying != 0 }
func (d DomainInfo) IsShutdown() bool { return d.Flags&DomInfShutdown != 0 }
func (d DomainInfo) Paused() bool     { return d.Flags&DomInfPaused != 0 }
func (d DomainInfo) Blocked() bool    { return d.Flags&DomInfBlocked != 0 }
func (d DomainInfo) Running() bool    { return d.Flags&DomInfRunning != 0 }

// ShutdownReason is the SHUTDOWN_* code of a shut-down domain.
func (d DomainInfo) ShutdownReason() uint32 {
	return d.Flags >> DomInfShutdownShift & DomInfShutdownMask
}

// Crashed reports a domain that shut down with SHUTDOWN_crash.
func (d DomainInfo) Crashed() bool { return d.IsShutdown() && d.ShutdownReason() == ShutdownCrash }

// StateString is xl list's state column (xl_info.c list_domains): r
// running, b blocked, p paused, s shut down, then the shutdown reason's
// letter ('-' poweroff, r reboot, s suspend, c crash, w watchdog, S soft
// reset; '-' when not shut down), d dying; '-' for each that is not so.
func (d DomainInfo) StateString() string {
	flag := func(on bool, c byte) byte {
		if on {
			return c
		}
		return '-'
	}
	reason := byte('-')
	if d.IsShutdown() {
		const letters = "-rscwS"
		reason = '?'
		if r := d.ShutdownReason(); r < uint32(len(letters)) {
			reason = letters[r]
		}
	}
	return string([]byte{flag(d.Running(), 'r'), flag(d.Blocked(), 'b'), flag(d.Paused(), 'p'),
		flag(d.IsShutdown(), 's'), reason, flag(d.Dying(), 'd')})
}

// VCPUContext is a vCPU's start state, the parts of struct hvm_hw_cpu
// libxc sets for a PVH entry (xg_dom_x86.c vcpu_hvm). Segments are flat.
type VCPUContext struct {
	RIP, RSP, RBX, RSI  uint64
	CR0, CR3, CR4, EFER uint64
	CS, DS, SS, TR      Segment // ES, FS, GS as DS
}

// Segment is a segment register's hidden state (hvm_hw_cpu's *_base,
// *_limit, *_arbytes and selector).
type Segment struct {
	Sel     uint16
	Base    uint64
	Limit   uint32
	Arbytes uint32 // the VMCB attribute layout Xen uses (type, s, dpl, p, avl, l, db, g)
}

// CR0 bits for the PVH entry.
const (
	CR0PE = 1 << 0
	CR0ET = 1 << 4
)

// PVHEntryContext is the start state of Xen's PVH boot ABI
// (docs/misc/pvh.pandoc): 32-bit protected mode, paging off, flat 4 GiB
// code (arbytes 0xc9b: execute/read, accessed, present, 32-bit, 4 KiB
// granularity) and data (0xc93) segments, a busy 32-bit TSS of 0x67
// bytes, CR0 = PE|ET, %ebx = the hvm_start_info's address, at entry.
func PVHEntryContext(entry, startInfo uint64) VCPUContext {
	flat := func(ar uint32) Segment { return Segment{Limit: 0xFFFFFFFF, Arbytes: ar} }
	return VCPUContext{
		RIP: entry, RBX: startInfo,
		CR0: CR0PE | CR0ET,
		CS:  flat(0xc9b), DS: flat(0xc93), SS: flat(0xc93),
		TR: Segment{Limit: 0x67, Arbytes: 0x8b},
	}
}

// Sched is a domain's CPU share in the credit scheduler's terms.
type Sched struct {
	Weight int // relative share, 1..65535 (256 by default)
	Cap    int // at most this % of one CPU; 0 for no cap
}

// VCPUInfo is xen_domctl_getvcpuinfo at Go level.
type VCPUInfo struct {
	ID        int
	Online    bool
	Blocked   bool
	Running   bool
	CPUTimeNS uint64
	CPU       int // the physical CPU it last ran on
}

// Version is what xen_version reports.
type Version struct {
	Major, Minor int
	Extra        string // XENVER_extraversion, such as ".0" or "-gozen"
	Caps         string // XENVER_capabilities, such as "hvm-3.0-x86_64"
	Commandline  string // XENVER_commandline
}

// PhysInfo is xen_sysctl_physinfo at Go level: what `xl info` prints.
type PhysInfo struct {
	NrCPUs, NrNodes, CoresPerSocket, ThreadsPerCore, Sockets int
	CPUkHz                                                   uint64
	TotalPages, FreePages, ScrubPages                        uint64
	Capabilities                                             uint32 // XEN_SYSCTL_PHYSCAP_*
	HWCap                                                    [8]uint32
	MaxCPUID                                                 int
}

// XEN_SYSCTL_PHYSCAP_* flags.
const (
	PhysCapHVM = xen.PhyscapHVM
	PhysCapPV  = xen.PhyscapPV
)

// Error is a failed operation: what, on which domain, and the errno.
type Error struct {
	Op  string
	Dom uint32
	Err error // a syscall.Errno in practice
}

func (e *Error) Error() string { return fmt.Sprintf("%s of domain %d: %v", e.Op, e.Dom, e.Err) }
func (e *Error) Unwrap() error { return e.Err }
