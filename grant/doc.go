// Package grant implements Xen grant tables, version 1, for GoZen: the
// GNTTABOP_* operations a PVH/HVM guest uses to share its pages with other
// domains (split drivers: blkfront/blkback, netfront/netback, xenstore and
// console rings).
//
// Xen's numbers (GTF_*, GNTMAP_*, GNTCOPY_*, GNTST_*, DOMID_* and the error
// numbers, as xen.Errno) are those of gozen/abi/xen, the only package
// outside the standard library that this one imports, so it runs under
// `go test` on the host.
//
// It follows xen/common/grant_table.c closely, restricted to what a
// translated (HVM/PVH, "paging_mode_external") guest may do:
//
//   - A domain's grant table is nr_frames pages of 512 grant_entry_v1
//     {flags u16, domid u16, frame u32}. The pages belong to the hypervisor
//     (they come from a FrameSource); the guest maps them into its physmap
//     with XENMEM_add_to_physmap(XENMAPSPACE_grant_table, idx, gpfn), for
//     which the hypervisor asks Domain.FrameMFN(idx). That grows the table
//     up to its maximum, as gnttab_get_shared_frame_mfn/gnttab_grow_table
//     do. Tables start with one frame (INITIAL_NR_GRANT_FRAMES) and may grow
//     to 64 (Xen's gnttab_max_frames default) unless configured otherwise.
//
//   - Map/Unmap (GNTTABOP_map_grant_ref / unmap_grant_ref) with
//     GNTMAP_host_map only: host_addr is a guest-physical address in the
//     mapper's physmap, where the granter's frame is mapped via
//     Mem.MapForeign (Xen's create_grant_p2m_mapping). Every mapping gets a
//     maptrack handle; the granter's entry is "pinned" (Xen's active grant
//     entry with its per-kind counters) and GTF_reading/GTF_writing are set
//     in the shared entry with a compare-and-swap, exactly as
//     _set_status_v1 does, and cleared when the last (writable) pin goes
//     (reduce_status_for_pin).
//
//   - Copy (GNTTABOP_copy): per-op status; either side is a grant ref (of
//     any domain that granted it to the caller) or, with DOMID_SELF only, a
//     gfn of the caller. Grants are pinned for the duration of the op.
//
//   - SetVersion/GetVersion: only v1 exists; SetVersion(2) fails as Xen does
//     for a domain whose max grant version is 1.
//
//   - QuerySize and SetupTable.
//
// Not implemented (the hypercall layer should answer -ENOSYS or a failing
// status): GNTTABOP_transfer, unmap_and_replace, dump_table,
// get_status_frames, swap_grant_ref, cache_flush, transitive and sub-page
// grants (v2 features).
//
// # Status codes
//
// Where this package's choice of GNTST_* differs from a naive reading of
// the interface, it is Xen's: an entry that is not GTF_permit_access for
// the mapper (wrong type, wrong domid) and a writable request on a
// GTF_readonly entry both give GNTST_general_error (_set_status_v1); running
// out of maptrack handles gives GNTST_no_space (Xen >= 4.16; older Xen said
// GNTST_no_device_space); a frame that is not RAM of the granter gives
// GNTST_bad_page; an unknown domain gives GNTST_bad_domain. Copy uses
// GNTST_permission_denied for a gfn operand whose domid is not DOMID_SELF
// and GNTST_bad_copy_arg for offset+len beyond the page.
//
// # Domain death
//
// ReleaseDomain(d) undoes every mapping d holds of other domains' grants
// (gnttab_release_mappings). If some of d's own grants are still mapped by
// other domains, d cannot vanish yet: like a Xen "zombie" domain it stays
// registered (its domid is not reusable, it is not found by new map and
// copy operations, which fail with GNTST_bad_domain), its grant table frames
// stay allocated so the mappers' unmaps still update them, and the machine
// frames the others map must not be freed or reused: the hypervisor can ask
// MFNMapped(mfn) per frame or InUse(domid) for the domain as a whole. When
// the last foreign mapping of a released domain goes, the domain leaves the
// registry and Config.OnGone is called with its table frames, which the
// hypervisor then frees (this package never frees frames itself).
//
// # Concurrency
//
// One mutex per System serialises all operations. Mem and FrameSource
// methods are called with it held, so they must not call back into the
// System; OnGone is called after it is released. The shared entries are
// read and updated with atomic operations on their 32-bit {flags, domid}
// word, because guests write them concurrently (Xen's guest_cmpxchg).
package grant
