package grant

import (
	"fmt"

	"gozen/abi/xen"
)

// Xen's grant-table ABI (GTF_*, GNTMAP_*, GNTCOPY_*, GNTST_*, DOMID_* and
// the error numbers) comes from gozen/abi/xen; this file only adds what
// this package builds on it.

// PageSize is the size of a page and of a grant table frame.
const PageSize = 4096

// EntriesPerFrame is the number of v1 grant entries (xen.GrantEntryV1Size
// bytes each) in one table frame.
const EntriesPerFrame = PageSize / xen.GrantEntryV1Size

// MapIdxGrantTableStatus is XENMAPIDX_grant_table_status: the bit of
// XENMEM_add_to_physmap's idx (space XENMAPSPACE_grant_table) that asks for
// a v2 status frame. With v1 only, such an index is simply out of range
// (FrameMFN returns EINVAL), as in Xen. It is xen.XenmapidxGrantTableStatus
// under the name package hv uses.
const MapIdxGrantTableStatus = xen.XenmapidxGrantTableStatus

// StatusString describes a GNTST_* code as Xen's GNTTABOP_error_msgs do
// (xen.GnttabStatusString), or as "bad status N" for a code they do not
// list.
func StatusString(st int16) string {
	if s := xen.GnttabStatusString(st); s != "" {
		return s
	}
	return fmt.Sprintf("bad status %d", st)
}
