package grant

import "fmt"

// The constants below mirror Xen's public ABI (xen/include/public/
// grant_table.h, xen.h and errno.h). The same values will also live in
// gozen/abi/xen; this package deliberately does not import it, so it stays
// a leaf that can be tested on the host on its own. Keep the two in step.

// PageSize is the size of a page and of a grant table frame.
const PageSize = 4096

// EntrySize is sizeof(grant_entry_v1_t): {flags u16 @0, domid u16 @2,
// frame u32 @4}.
const EntrySize = 8

// EntriesPerFrame is the number of v1 grant entries in one table frame.
const EntriesPerFrame = PageSize / EntrySize

// Grant entry flags (grant_entry_v1.flags, GTF_*).
const (
	GTFInvalid        = 0      // GTF_invalid: grants nothing
	GTFPermitAccess   = 1      // GTF_permit_access: @domid may map/access @frame
	GTFAcceptTransfer = 2      // GTF_accept_transfer (not supported here)
	GTFTransitive     = 3      // GTF_transitive (v2 only)
	GTFTypeMask       = 3      // GTF_type_mask
	GTFReadonly       = 1 << 2 // GTF_readonly: @domid may only read [GST]
	GTFReading        = 1 << 3 // GTF_reading: mapped/accessed for reading [XEN]
	GTFWriting        = 1 << 4 // GTF_writing: mapped/accessed for writing [XEN]
	GTFPWT            = 1 << 5 // GTF_PWT (x86 cache attribute) [GST]
	GTFPCD            = 1 << 6 // GTF_PCD [GST]
	GTFPAT            = 1 << 7 // GTF_PAT [GST]
	GTFSubPage        = 1 << 8 // GTF_sub_page: copy-only subrange (v2) [GST]
)

// Map flags (gnttab_map_grant_ref.flags, GNTMAP_*).
const (
	GNTMAPDeviceMap      = 1 << 0 // GNTMAP_device_map
	GNTMAPHostMap        = 1 << 1 // GNTMAP_host_map
	GNTMAPReadonly       = 1 << 2 // GNTMAP_readonly
	GNTMAPApplicationMap = 1 << 3 // GNTMAP_application_map
	GNTMAPContainsPTE    = 1 << 4 // GNTMAP_contains_pte
	GNTMAPCanFail        = 1 << 5 // GNTMAP_can_fail
)

// Copy flags (gnttab_copy.flags, GNTCOPY_*).
const (
	GNTCopySourceGref = 1 << 0 // GNTCOPY_source_gref: source.u is a grant ref
	GNTCopyDestGref   = 1 << 1 // GNTCOPY_dest_gref: dest.u is a grant ref
	GNTCopyCanFail    = 1 << 2 // GNTCOPY_can_fail (ignored, as in Xen)
)

// GNTTABOP_* sub-operation numbers of HYPERVISOR_grant_table_op.
const (
	GnttabOpMapGrantRef     = 0
	GnttabOpUnmapGrantRef   = 1
	GnttabOpSetupTable      = 2
	GnttabOpDumpTable       = 3
	GnttabOpTransfer        = 4
	GnttabOpCopy            = 5
	GnttabOpQuerySize       = 6
	GnttabOpUnmapAndReplace = 7
	GnttabOpSetVersion      = 8
	GnttabOpGetStatusFrames = 9
	GnttabOpGetVersion      = 10
	GnttabOpSwapGrantRef    = 11
	GnttabOpCacheFlush      = 12
)

// XENMAPIDX_grant_table_status: the bit of XENMEM_add_to_physmap's idx
// (space XENMAPSPACE_grant_table) that asks for a v2 status frame. With v1
// only, such an index is simply out of range (FrameMFN returns EINVAL), as
// in Xen.
const MapIdxGrantTableStatus = 1 << 31

// Status codes (GNTST_*), returned per operation in the op's status field.
const (
	GNTSTOkay             int16 = 0   // GNTST_okay
	GNTSTGeneralError     int16 = -1  // GNTST_general_error
	GNTSTBadDomain        int16 = -2  // GNTST_bad_domain
	GNTSTBadGntref        int16 = -3  // GNTST_bad_gntref
	GNTSTBadHandle        int16 = -4  // GNTST_bad_handle
	GNTSTBadVirtAddr      int16 = -5  // GNTST_bad_virt_addr
	GNTSTBadDevAddr       int16 = -6  // GNTST_bad_dev_addr
	GNTSTNoDeviceSpace    int16 = -7  // GNTST_no_device_space
	GNTSTPermissionDenied int16 = -8  // GNTST_permission_denied
	GNTSTBadPage          int16 = -9  // GNTST_bad_page
	GNTSTBadCopyArg       int16 = -10 // GNTST_bad_copy_arg
	GNTSTAddressTooBig    int16 = -11 // GNTST_address_too_big
	GNTSTEagain           int16 = -12 // GNTST_eagain
	GNTSTNoSpace          int16 = -13 // GNTST_no_space (Xen >= 4.16: out of maptrack handles)
)

var statusNames = [...]string{ // GNTTABOP_error_msgs, indexed by -status
	"okay",
	"undefined error",
	"unrecognised domain id",
	"invalid grant reference",
	"invalid mapping handle",
	"invalid virtual address",
	"invalid device address",
	"no spare translation slot in the I/O MMU",
	"permission denied",
	"bad page",
	"copy arguments cross page boundary",
	"page address size too large",
	"operation not done; try again",
	"out of space",
}

// StatusString describes a GNTST_* code as Xen's GNTTABOP_error_msgs do.
func StatusString(st int16) string {
	if st <= 0 && int(-st) < len(statusNames) {
		return statusNames[-st]
	}
	return fmt.Sprintf("bad status %d", st)
}

// Domain ids (domid_t).
const (
	DomIDFirstReserved = 0x7FF0 // DOMID_FIRST_RESERVED: ids from here on are special
	DomIDSelf          = 0x7FF0 // DOMID_SELF: the calling domain
)

// Errno is a Xen error number (XEN_E* of errno.h, the x86 Linux values),
// positive; a hypercall returns its negation. Zero means success. It mirrors
// abi/xen.Errno, so the hypercall layer can convert with xen.Errno(e).
type Errno int

// Error numbers used by this package.
const (
	EPERM      Errno = 1
	ESRCH      Errno = 3
	ENOMEM     Errno = 12
	EBUSY      Errno = 16
	EEXIST     Errno = 17
	EINVAL     Errno = 22
	ENOSYS     Errno = 38
	EOPNOTSUPP Errno = 95
)

var errnoNames = map[Errno]string{
	EPERM: "EPERM", ESRCH: "ESRCH", ENOMEM: "ENOMEM", EBUSY: "EBUSY",
	EEXIST: "EEXIST", EINVAL: "EINVAL", ENOSYS: "ENOSYS", EOPNOTSUPP: "EOPNOTSUPP",
}

func (e Errno) Error() string {
	if n, ok := errnoNames[e]; ok {
		return n
	}
	return fmt.Sprintf("errno %d", int(e))
}
