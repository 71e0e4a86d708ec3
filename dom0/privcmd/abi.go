// Package privcmd is dom0's access to the hypervisor through Linux's Xen
// devices: /dev/xen/privcmd (hypercalls, foreign mappings, resource
// mappings), /dev/xen/hypercall (locked hypercall argument buffers),
// /dev/xen/evtchn (event channels) and /dev/xen/gntdev (grant mappings).
// The ioctl numbers and argument layouts are Linux's uapi headers
// (include/uapi/xen/privcmd.h, evtchn.h, gntdev.h), with size and offset
// tests; every ioctl is _IOC(_IOC_NONE, type, nr, sizeof(arg)).
//
// The xc.Interface over it (domctl/sysctl payloads in the hypercall
// buffers) is built on these pieces.
package privcmd

// ioc is Linux's _IOC(_IOC_NONE, typ, nr, size) on x86 and arm64: size
// in bits 16-29, the type letter in 8-15, the number in 0-7, direction
// (none) 0.
func ioc(typ byte, nr, size uintptr) uintptr { return size<<16 | uintptr(typ)<<8 | nr }

// Hypercall is struct privcmd_hypercall: op and five arguments, passed to
// the hypervisor as-is (pointers are dom0 user addresses).
type Hypercall struct {
	Op  uint64
	Arg [5]uint64
}

// MmapBatchV2 is struct privcmd_mmapbatch_v2: map Num frames Arr[] of
// domain Dom at the privcmd mapping starting at Addr; Err[i] gets each
// frame's result (0 or a negative errno).
type MmapBatchV2 struct {
	Num  uint32
	Dom  uint16
	_    uint16
	Addr uint64
	Arr  uintptr // *uint64 (xen_pfn_t)
	Err  uintptr // *int32
}

// MmapResource is struct privcmd_mmap_resource: map Num frames of
// resource Type/ID of domain Dom, from frame Idx, at Addr (XENMEM_
// acquire_resource). Num 0 with Addr 0 asks for the resource's size.
type MmapResource struct {
	Dom  uint16
	_    uint16
	Type uint32
	ID   uint32
	Idx  uint32
	Num  uint64
	Addr uint64
}

// Resource types and grant-table ids (XENMEM_resource_*, public/memory.h).
const (
	ResourceIoreqServer = 0
	ResourceGrantTable  = 1
	ResourceVmtraceBuf  = 2

	GrantTableShared = 0 // XENMEM_resource_grant_table_id_shared
	GrantTableStatus = 1
)

// privcmd ioctls (privcmd.h).
var (
	IoctlHypercall    = ioc('P', 0, 48)
	IoctlMmapBatchV2  = ioc('P', 4, 32)
	IoctlRestrict     = ioc('P', 6, 2) // sizeof(domid_t)
	IoctlMmapResource = ioc('P', 7, 32)
)

// Per-frame MMAPBATCH errors Linux reports in Err (besides -errno):
// PRIVCMD_MMAPBATCH_MFN_ERROR and _PAGED_ERROR are v1's in-array flags;
// v2 reports -ENOENT for a paged-out frame, which libxc retries.

// evtchn ioctl arguments (evtchn.h).
type (
	EvtchnBindVIRQ        struct{ VIRQ uint32 }
	EvtchnBindInterdomain struct{ RemoteDomain, RemotePort uint32 }
	EvtchnBindUnboundPort struct{ RemoteDomain uint32 }
	EvtchnUnbind          struct{ Port uint32 }
	EvtchnNotify          struct{ Port uint32 }
	EvtchnRestrictDomid   struct{ Domid uint16 }
)

// evtchn ioctls: each returns the bound local port (BIND_*) or 0.
var (
	IoctlEvtchnBindVIRQ        = ioc('E', 0, 4)
	IoctlEvtchnBindInterdomain = ioc('E', 1, 8)
	IoctlEvtchnBindUnboundPort = ioc('E', 2, 4)
	IoctlEvtchnUnbind          = ioc('E', 3, 4)
	IoctlEvtchnNotify          = ioc('E', 4, 4)
	IoctlEvtchnReset           = ioc('E', 5, 0)
	IoctlEvtchnRestrictDomid   = ioc('E', 6, 2)
)

// gntdev ioctl arguments (gntdev.h).
type (
	// GntdevGrantRef is struct ioctl_gntdev_grant_ref.
	GntdevGrantRef struct{ Domid, Ref uint32 }
	// GntdevMapGrantRef is the fixed part of struct
	// ioctl_gntdev_map_grant_ref; Count GntdevGrantRef follow it (the
	// ioctl number counts one). Index comes back: the mmap offset of the
	// mapping.
	GntdevMapGrantRef struct {
		Count uint32
		_     uint32
		Index uint64
	}
	GntdevUnmapGrantRef struct {
		Index uint64
		Count uint32
		_     uint32
	}
	GntdevSetMaxGrants struct{ Count uint32 }
	GntdevUnmapNotify  struct {
		Index            uint64
		Action           uint32 // UnmapNotify*
		EventChannelPort uint32
	}
)

// gntdev unmap notifications.
const (
	UnmapNotifyClearByte = 1
	UnmapNotifySendEvent = 2
)

// gntdev ioctls.
var (
	IoctlGntdevMapGrantRef    = ioc('G', 0, 24) // with refs[1]
	IoctlGntdevUnmapGrantRef  = ioc('G', 1, 16)
	IoctlGntdevSetMaxGrants   = ioc('G', 3, 4)
	IoctlGntdevSetUnmapNotify = ioc('G', 7, 16)
)

// Device paths.
const (
	PrivcmdPath   = "/dev/xen/privcmd"
	HypercallPath = "/dev/xen/hypercall"
	EvtchnPath    = "/dev/xen/evtchn"
	GntdevPath    = "/dev/xen/gntdev"
)
