package xen

// The memory_op hypercall: XENMEM_* commands and their arguments
// (xen/include/public/memory.h). A guest handle field is a 64-bit guest
// address on x86-64; xen_pfn_t and xen_ulong_t are 64 bits.

// memory_op commands (XENMEM_* in memory.h). The first hypercall argument
// is the command; the second points at the command's structure.
const (
	// XenmemIncreaseReservation is XENMEM_increase_reservation
	// (XenMemoryReservation): allocate extents; returns how many succeeded.
	XenmemIncreaseReservation = 0
	// XenmemDecreaseReservation is XENMEM_decrease_reservation
	// (XenMemoryReservation): free the listed GMFN extents; returns how many.
	XenmemDecreaseReservation = 1
	// XenmemMaximumRAMPage is XENMEM_maximum_ram_page (argument NULL):
	// returns the highest machine frame of RAM. Never fails.
	XenmemMaximumRAMPage = 2
	// XenmemCurrentReservation is XENMEM_current_reservation
	// (XenMemoryDomain): returns the domain's current page count.
	XenmemCurrentReservation = 3
	// XenmemMaximumReservation is XENMEM_maximum_reservation
	// (XenMemoryDomain): returns the domain's page limit.
	XenmemMaximumReservation = 4
	// XenmemMachphysMfnList is XENMEM_machphys_mfn_list
	// (XenMachphysMfnList, PV).
	XenmemMachphysMfnList = 5
	// XenmemPopulatePhysmap is XENMEM_populate_physmap
	// (XenMemoryReservation): back the listed GPFN extents with memory;
	// returns how many succeeded.
	XenmemPopulatePhysmap = 6
	// XenmemAddToPhysmap is XENMEM_add_to_physmap (XenAddToPhysmap): map a
	// shared-info, grant-table or other frame at a GPFN. Linux PVH maps
	// its shared_info this way and BUGs if it fails.
	XenmemAddToPhysmap = 7
	// XenmemTranslateGPFNList is XENMEM_translate_gpfn_list, removed; the
	// number stays reserved (memory.h keeps it commented out).
	XenmemTranslateGPFNList = 8
	// XenmemMemoryMap is XENMEM_memory_map (XenMemoryMap): copy the
	// domain's E820 map into the guest's buffer. Linux PVH uses it when
	// start_info carries no map (always for dom0) and BUGs on failure.
	XenmemMemoryMap = 9
	// XenmemMachineMemoryMap is XENMEM_machine_memory_map (XenMemoryMap,
	// privileged): the host's E820 map.
	XenmemMachineMemoryMap = 10
	// XenmemExchange is XENMEM_exchange (XenMemoryExchange).
	XenmemExchange = 11
	// XenmemMachphysMapping is XENMEM_machphys_mapping (XenMachphysMapping, PV).
	XenmemMachphysMapping = 12
	// XenmemSetMemoryMap is XENMEM_set_memory_map (XenForeignMemoryMap,
	// toolstack).
	XenmemSetMemoryMap = 13
	// XenmemMaximumGPFN is XENMEM_maximum_gpfn (XenMemoryDomain): returns
	// the highest GFN in use.
	XenmemMaximumGPFN = 14
	// XenmemRemoveFromPhysmap is XENMEM_remove_from_physmap
	// (XenRemoveFromPhysmap).
	XenmemRemoveFromPhysmap = 15
	// XenmemSetPodTarget is XENMEM_set_pod_target (XenPodTarget, toolstack).
	XenmemSetPodTarget = 16
	// XenmemGetPodTarget is XENMEM_get_pod_target (XenPodTarget, toolstack).
	XenmemGetPodTarget = 17
	// XenmemGetSharingFreedPages is XENMEM_get_sharing_freed_pages.
	XenmemGetSharingFreedPages = 18
	// XenmemGetSharingSharedPages is XENMEM_get_sharing_shared_pages.
	XenmemGetSharingSharedPages = 19
	// XenmemPagingOp is XENMEM_paging_op (toolstack).
	XenmemPagingOp = 20
	// XenmemAccessOp is XENMEM_access_op (toolstack).
	XenmemAccessOp = 21
	// XenmemSharingOp is XENMEM_sharing_op (toolstack).
	XenmemSharingOp = 22
	// XenmemAddToPhysmapBatch is XENMEM_add_to_physmap_batch
	// (XenAddToPhysmapBatch).
	XenmemAddToPhysmapBatch = 23
	// XenmemClaimPages is XENMEM_claim_pages (XenMemoryReservation,
	// toolstack).
	XenmemClaimPages = 24
	// XenmemMachphysCompatMfnList is XENMEM_machphys_compat_mfn_list (PV).
	XenmemMachphysCompatMfnList = 25
	// XenmemGetVnumainfo is XENMEM_get_vnumainfo (XenVnumaTopologyInfo).
	XenmemGetVnumainfo = 26
	// XenmemReservedDeviceMemoryMap is XENMEM_reserved_device_memory_map
	// (toolstack).
	XenmemReservedDeviceMemoryMap = 27
	// XenmemAcquireResource is XENMEM_acquire_resource
	// (XenMemAcquireResource): map another domain's resource pages.
	XenmemAcquireResource = 28
)

// Encoding of the memory_op command word. These come from Xen's internal
// xen/include/xen/hypercall.h, not from the public headers: Xen looks only
// at the low bits of the first argument, and keeps the extent at which a
// preempted reservation call resumes in the bits above.
const (
	// MemopExtentShift is MEMOP_EXTENT_SHIFT: cmd>>6 is the start extent.
	MemopExtentShift = 6
	// MemopCmdMask is MEMOP_CMD_MASK: cmd&0x3f is the XENMEM_* command.
	MemopCmdMask = 1<<MemopExtentShift - 1
)

// XENMEMF_* flags for XenMemoryReservation.MemFlags (memory.h).
const (
	// XenmemfAddressBitsMask is the mask XENMEMF_get_address_bits applies:
	// bits 0-7 hold the maximum address width of the allocation (0 = any).
	XenmemfAddressBitsMask = 0xff
	// XenmemfPopulateOnDemand is XENMEMF_populate_on_demand.
	XenmemfPopulateOnDemand = 1 << 16
	// XenmemfExactNodeRequest is XENMEMF_exact_node_request.
	XenmemfExactNodeRequest = 1 << 17
	// XenmemfVnode is XENMEMF_vnode: the node in bits 8-15 is virtual.
	XenmemfVnode = 1 << 18
)

// XenmemfNode returns XENMEMF_node(node): the node number plus one in bits
// 8-15 (0 there means "any node").
func XenmemfNode(node uint32) uint32 { return (node + 1) << 8 }

// XenmemfGetNode returns XENMEMF_get_node(flags): the node encoded by
// XenmemfNode, or 0xff if flags name no node.
func XenmemfGetNode(flags uint32) uint32 { return (flags>>8 - 1) & 0xff }

// Map spaces for XenAddToPhysmap.Space (XENMAPSPACE_* in memory.h).
const (
	// XenmapspaceSharedInfo is XENMAPSPACE_shared_info: Idx 0 is the
	// shared_info page.
	XenmapspaceSharedInfo = 0
	// XenmapspaceGrantTable is XENMAPSPACE_grant_table: Idx is a grant-table
	// frame number, or'ed with XenmapidxGrantTableStatus for a v2 status
	// frame.
	XenmapspaceGrantTable = 1
	// XenmapspaceGMFN is XENMAPSPACE_gmfn: Idx is a GMFN of the domain to
	// move to Gpfn.
	XenmapspaceGMFN = 2
	// XenmapspaceGMFNRange is XENMAPSPACE_gmfn_range: like GMFN for Size
	// pages (XENMEM_add_to_physmap only).
	XenmapspaceGMFNRange = 3
	// XenmapspaceGMFNForeign is XENMAPSPACE_gmfn_foreign: a GMFN of another
	// domain (XENMEM_add_to_physmap_batch only).
	XenmapspaceGMFNForeign = 4
	// XenmapspaceDevMMIO is XENMAPSPACE_dev_mmio: a device MMIO region (Arm
	// only).
	XenmapspaceDevMMIO = 5
)

// XenmapidxGrantTableStatus is XENMAPIDX_grant_table_status (bit 31): in
// XenAddToPhysmap.Idx with XENMAPSPACE_grant_table, selects a grant status
// frame (v2) instead of a shared frame.
const XenmapidxGrantTableStatus = 0x80000000

// Resource types and ids for XenMemAcquireResource (memory.h).
const (
	// XenmemResourceIoreqServer is XENMEM_resource_ioreq_server.
	XenmemResourceIoreqServer = 0
	// XenmemResourceGrantTable is XENMEM_resource_grant_table.
	XenmemResourceGrantTable = 1
	// XenmemResourceVmtraceBuf is XENMEM_resource_vmtrace_buf.
	XenmemResourceVmtraceBuf = 2

	// XenmemResourceGrantTableIDShared is XENMEM_resource_grant_table_id_shared.
	XenmemResourceGrantTableIDShared = 0
	// XenmemResourceGrantTableIDStatus is XENMEM_resource_grant_table_id_status.
	XenmemResourceGrantTableIDStatus = 1

	// XenmemResourceIoreqServerFrameBufioreq is
	// XENMEM_resource_ioreq_server_frame_bufioreq; frame 1+n is ioreq page n
	// (XENMEM_resource_ioreq_server_frame_ioreq(n)).
	XenmemResourceIoreqServerFrameBufioreq = 0
)

// Encoded sizes in bytes of the memory_op structures on x86-64.
const (
	XenMemoryReservationSize  = 32 // struct xen_memory_reservation
	XenMemoryExchangeSize     = 72 // struct xen_memory_exchange
	XenMemoryDomainSize       = 2  // struct xen_memory_domain
	XenMachphysMfnListSize    = 24 // struct xen_machphys_mfn_list
	XenMachphysMappingSize    = 24 // struct xen_machphys_mapping
	XenAddToPhysmapSize       = 24 // struct xen_add_to_physmap
	XenAddToPhysmapBatchSize  = 32 // struct xen_add_to_physmap_batch
	XenRemoveFromPhysmapSize  = 16 // struct xen_remove_from_physmap
	XenMemoryMapSize          = 16 // struct xen_memory_map
	XenForeignMemoryMapSize   = 24 // struct xen_foreign_memory_map
	XenPodTargetSize          = 40 // struct xen_pod_target
	XenMemAcquireResourceSize = 32 // struct xen_mem_acquire_resource
	XenVmemrangeSize          = 24 // struct xen_vmemrange
	XenVnumaTopologyInfoSize  = 40 // struct xen_vnuma_topology_info
	E820EntrySize             = 20 // struct e820entry, packed
)

// XenMemoryReservation is struct xen_memory_reservation (32 bytes), the
// argument of XENMEM_increase_reservation, decrease_reservation,
// populate_physmap and claim_pages.
type XenMemoryReservation struct {
	ExtentStart uint64 // guest handle: array of NrExtents xen_pfn_t (IN and/or OUT)
	NrExtents   uint64 // number of extents
	ExtentOrder uint32 // each extent is 2^ExtentOrder pages
	MemFlags    uint32 // XENMEMF_* flags (address_bits before interface 0x00030209)
	DomID       uint16 // DomIDSelf unless privileged
}

// Encode writes x into b[:XenMemoryReservationSize], with zeros in the
// padding. It panics if b is shorter.
func (x *XenMemoryReservation) Encode(b []byte) {
	_ = b[XenMemoryReservationSize-1]
	le.PutUint64(b[0:], x.ExtentStart)
	le.PutUint64(b[8:], x.NrExtents)
	le.PutUint32(b[16:], x.ExtentOrder)
	le.PutUint32(b[20:], x.MemFlags)
	le.PutUint16(b[24:], x.DomID)
	clear(b[26:32]) // padding
}

// Decode reads x from the first XenMemoryReservationSize bytes of b, or
// returns an error if b is shorter.
func (x *XenMemoryReservation) Decode(b []byte) error {
	if len(b) < XenMemoryReservationSize {
		return shortError("xen_memory_reservation", XenMemoryReservationSize, len(b))
	}
	x.ExtentStart = le.Uint64(b[0:])
	x.NrExtents = le.Uint64(b[8:])
	x.ExtentOrder = le.Uint32(b[16:])
	x.MemFlags = le.Uint32(b[20:])
	x.DomID = le.Uint16(b[24:])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenMemoryReservation) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenMemoryReservationSize, x), nil
}

// MarshalBinary returns the XenMemoryReservationSize-byte encoding of x.
func (x *XenMemoryReservation) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly
// XenMemoryReservationSize bytes long.
func (x *XenMemoryReservation) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_memory_reservation", XenMemoryReservationSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenMemoryExchange is struct xen_memory_exchange (72 bytes), the argument
// of XENMEM_exchange.
type XenMemoryExchange struct {
	In          XenMemoryReservation // extents to give up
	Out         XenMemoryReservation // extents to receive
	NrExchanged uint64               // OUT: input extents exchanged so far; IN must be 0
}

// Encode writes x into b[:XenMemoryExchangeSize]. It panics if b is shorter.
func (x *XenMemoryExchange) Encode(b []byte) {
	_ = b[XenMemoryExchangeSize-1]
	x.In.Encode(b[0:32])
	x.Out.Encode(b[32:64])
	le.PutUint64(b[64:], x.NrExchanged)
}

// Decode reads x from the first XenMemoryExchangeSize bytes of b, or returns
// an error if b is shorter.
func (x *XenMemoryExchange) Decode(b []byte) error {
	if len(b) < XenMemoryExchangeSize {
		return shortError("xen_memory_exchange", XenMemoryExchangeSize, len(b))
	}
	_ = x.In.Decode(b[0:32])
	_ = x.Out.Decode(b[32:64])
	x.NrExchanged = le.Uint64(b[64:])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenMemoryExchange) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenMemoryExchangeSize, x), nil
}

// MarshalBinary returns the XenMemoryExchangeSize-byte encoding of x.
func (x *XenMemoryExchange) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly
// XenMemoryExchangeSize bytes long.
func (x *XenMemoryExchange) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_memory_exchange", XenMemoryExchangeSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenMemoryDomain is struct xen_memory_domain (2 bytes), the argument of
// XENMEM_current_reservation, maximum_reservation and maximum_gpfn.
type XenMemoryDomain struct {
	DomID uint16 // domid
}

// Encode writes x into b[:XenMemoryDomainSize]. It panics if b is shorter.
func (x *XenMemoryDomain) Encode(b []byte) {
	_ = b[XenMemoryDomainSize-1]
	le.PutUint16(b[0:], x.DomID)
}

// Decode reads x from the first XenMemoryDomainSize bytes of b, or returns
// an error if b is shorter.
func (x *XenMemoryDomain) Decode(b []byte) error {
	if len(b) < XenMemoryDomainSize {
		return shortError("xen_memory_domain", XenMemoryDomainSize, len(b))
	}
	x.DomID = le.Uint16(b[0:])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenMemoryDomain) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenMemoryDomainSize, x), nil
}

// MarshalBinary returns the XenMemoryDomainSize-byte encoding of x.
func (x *XenMemoryDomain) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly
// XenMemoryDomainSize bytes long.
func (x *XenMemoryDomain) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_memory_domain", XenMemoryDomainSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenMachphysMfnList is struct xen_machphys_mfn_list (24 bytes), the
// argument of XENMEM_machphys_mfn_list (PV).
type XenMachphysMfnList struct {
	MaxExtents  uint32 // size of the ExtentStart array
	ExtentStart uint64 // guest handle: OUT array of MFNs of 2 MiB extents
	NrExtents   uint32 // OUT: number filled
}

// Encode writes x into b[:XenMachphysMfnListSize], with zeros in the
// padding. It panics if b is shorter.
func (x *XenMachphysMfnList) Encode(b []byte) {
	_ = b[XenMachphysMfnListSize-1]
	le.PutUint32(b[0:], x.MaxExtents)
	clear(b[4:8]) // padding
	le.PutUint64(b[8:], x.ExtentStart)
	le.PutUint32(b[16:], x.NrExtents)
	clear(b[20:24]) // padding
}

// Decode reads x from the first XenMachphysMfnListSize bytes of b, or
// returns an error if b is shorter.
func (x *XenMachphysMfnList) Decode(b []byte) error {
	if len(b) < XenMachphysMfnListSize {
		return shortError("xen_machphys_mfn_list", XenMachphysMfnListSize, len(b))
	}
	x.MaxExtents = le.Uint32(b[0:])
	x.ExtentStart = le.Uint64(b[8:])
	x.NrExtents = le.Uint32(b[16:])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenMachphysMfnList) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenMachphysMfnListSize, x), nil
}

// MarshalBinary returns the XenMachphysMfnListSize-byte encoding of x.
func (x *XenMachphysMfnList) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly
// XenMachphysMfnListSize bytes long.
func (x *XenMachphysMfnList) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_machphys_mfn_list", XenMachphysMfnListSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenMachphysMapping is struct xen_machphys_mapping (24 bytes), filled by
// XENMEM_machphys_mapping (PV).
type XenMachphysMapping struct {
	VStart uint64 // start of the machine-to-phys table's virtual range
	VEnd   uint64 // end of that range
	MaxMFN uint64 // highest MFN the table covers
}

// Encode writes x into b[:XenMachphysMappingSize]. It panics if b is
// shorter.
func (x *XenMachphysMapping) Encode(b []byte) {
	_ = b[XenMachphysMappingSize-1]
	le.PutUint64(b[0:], x.VStart)
	le.PutUint64(b[8:], x.VEnd)
	le.PutUint64(b[16:], x.MaxMFN)
}

// Decode reads x from the first XenMachphysMappingSize bytes of b, or
// returns an error if b is shorter.
func (x *XenMachphysMapping) Decode(b []byte) error {
	if len(b) < XenMachphysMappingSize {
		return shortError("xen_machphys_mapping", XenMachphysMappingSize, len(b))
	}
	x.VStart = le.Uint64(b[0:])
	x.VEnd = le.Uint64(b[8:])
	x.MaxMFN = le.Uint64(b[16:])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenMachphysMapping) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenMachphysMappingSize, x), nil
}

// MarshalBinary returns the XenMachphysMappingSize-byte encoding of x.
func (x *XenMachphysMapping) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly
// XenMachphysMappingSize bytes long.
func (x *XenMachphysMapping) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_machphys_mapping", XenMachphysMappingSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenAddToPhysmap is struct xen_add_to_physmap (24 bytes), the argument of
// XENMEM_add_to_physmap.
type XenAddToPhysmap struct {
	DomID uint16 // domain whose physmap changes (DomIDSelf)
	Size  uint16 // pages, for XENMAPSPACE_gmfn_range
	Space uint32 // XENMAPSPACE_*
	Idx   uint64 // index into Space (see XenmapidxGrantTableStatus)
	GPFN  uint64 // where the page should appear
}

// Encode writes x into b[:XenAddToPhysmapSize]. It panics if b is shorter.
func (x *XenAddToPhysmap) Encode(b []byte) {
	_ = b[XenAddToPhysmapSize-1]
	le.PutUint16(b[0:], x.DomID)
	le.PutUint16(b[2:], x.Size)
	le.PutUint32(b[4:], x.Space)
	le.PutUint64(b[8:], x.Idx)
	le.PutUint64(b[16:], x.GPFN)
}

// Decode reads x from the first XenAddToPhysmapSize bytes of b, or returns
// an error if b is shorter.
func (x *XenAddToPhysmap) Decode(b []byte) error {
	if len(b) < XenAddToPhysmapSize {
		return shortError("xen_add_to_physmap", XenAddToPhysmapSize, len(b))
	}
	x.DomID = le.Uint16(b[0:])
	x.Size = le.Uint16(b[2:])
	x.Space = le.Uint32(b[4:])
	x.Idx = le.Uint64(b[8:])
	x.GPFN = le.Uint64(b[16:])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenAddToPhysmap) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenAddToPhysmapSize, x), nil
}

// MarshalBinary returns the XenAddToPhysmapSize-byte encoding of x.
func (x *XenAddToPhysmap) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly
// XenAddToPhysmapSize bytes long.
func (x *XenAddToPhysmap) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_add_to_physmap", XenAddToPhysmapSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenAddToPhysmapBatch is struct xen_add_to_physmap_batch (32 bytes), the
// argument of XENMEM_add_to_physmap_batch.
type XenAddToPhysmapBatch struct {
	DomID        uint16 // domain whose physmap changes
	Space        uint16 // XENMAPSPACE_*
	Size         uint16 // number of pages
	ForeignDomID uint16 // union u: foreign_domid for gmfn_foreign, else res0 (0)
	Idxs         uint64 // guest handle: Size xen_ulong_t indexes
	GPFNs        uint64 // guest handle: Size xen_pfn_t destinations
	Errs         uint64 // guest handle: OUT Size int error codes
}

// Encode writes x into b[:XenAddToPhysmapBatchSize]. It panics if b is
// shorter.
func (x *XenAddToPhysmapBatch) Encode(b []byte) {
	_ = b[XenAddToPhysmapBatchSize-1]
	le.PutUint16(b[0:], x.DomID)
	le.PutUint16(b[2:], x.Space)
	le.PutUint16(b[4:], x.Size)
	le.PutUint16(b[6:], x.ForeignDomID)
	le.PutUint64(b[8:], x.Idxs)
	le.PutUint64(b[16:], x.GPFNs)
	le.PutUint64(b[24:], x.Errs)
}

// Decode reads x from the first XenAddToPhysmapBatchSize bytes of b, or
// returns an error if b is shorter.
func (x *XenAddToPhysmapBatch) Decode(b []byte) error {
	if len(b) < XenAddToPhysmapBatchSize {
		return shortError("xen_add_to_physmap_batch", XenAddToPhysmapBatchSize, len(b))
	}
	x.DomID = le.Uint16(b[0:])
	x.Space = le.Uint16(b[2:])
	x.Size = le.Uint16(b[4:])
	x.ForeignDomID = le.Uint16(b[6:])
	x.Idxs = le.Uint64(b[8:])
	x.GPFNs = le.Uint64(b[16:])
	x.Errs = le.Uint64(b[24:])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenAddToPhysmapBatch) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenAddToPhysmapBatchSize, x), nil
}

// MarshalBinary returns the XenAddToPhysmapBatchSize-byte encoding of x.
func (x *XenAddToPhysmapBatch) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly
// XenAddToPhysmapBatchSize bytes long.
func (x *XenAddToPhysmapBatch) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_add_to_physmap_batch", XenAddToPhysmapBatchSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenRemoveFromPhysmap is struct xen_remove_from_physmap (16 bytes), the
// argument of XENMEM_remove_from_physmap.
type XenRemoveFromPhysmap struct {
	DomID uint16 // domid
	GPFN  uint64 // frame to unmap
}

// Encode writes x into b[:XenRemoveFromPhysmapSize], with zeros in the
// padding. It panics if b is shorter.
func (x *XenRemoveFromPhysmap) Encode(b []byte) {
	_ = b[XenRemoveFromPhysmapSize-1]
	le.PutUint16(b[0:], x.DomID)
	clear(b[2:8]) // padding
	le.PutUint64(b[8:], x.GPFN)
}

// Decode reads x from the first XenRemoveFromPhysmapSize bytes of b, or
// returns an error if b is shorter.
func (x *XenRemoveFromPhysmap) Decode(b []byte) error {
	if len(b) < XenRemoveFromPhysmapSize {
		return shortError("xen_remove_from_physmap", XenRemoveFromPhysmapSize, len(b))
	}
	x.DomID = le.Uint16(b[0:])
	x.GPFN = le.Uint64(b[8:])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenRemoveFromPhysmap) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenRemoveFromPhysmapSize, x), nil
}

// MarshalBinary returns the XenRemoveFromPhysmapSize-byte encoding of x.
func (x *XenRemoveFromPhysmap) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly
// XenRemoveFromPhysmapSize bytes long.
func (x *XenRemoveFromPhysmap) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_remove_from_physmap", XenRemoveFromPhysmapSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenMemoryMap is struct xen_memory_map (16 bytes), the argument of
// XENMEM_memory_map and XENMEM_machine_memory_map. Buffer holds E820
// entries in the packed 20-byte BIOS format (E820Entry), not the 24-byte
// hvm_memmap_table_entry of start_info.
type XenMemoryMap struct {
	NrEntries uint32 // IN: capacity of Buffer; OUT: entries stored
	Buffer    uint64 // guest handle: array of E820 entries
}

// Encode writes x into b[:XenMemoryMapSize], with zeros in the padding. It
// panics if b is shorter.
func (x *XenMemoryMap) Encode(b []byte) {
	_ = b[XenMemoryMapSize-1]
	le.PutUint32(b[0:], x.NrEntries)
	clear(b[4:8]) // padding
	le.PutUint64(b[8:], x.Buffer)
}

// Decode reads x from the first XenMemoryMapSize bytes of b, or returns an
// error if b is shorter.
func (x *XenMemoryMap) Decode(b []byte) error {
	if len(b) < XenMemoryMapSize {
		return shortError("xen_memory_map", XenMemoryMapSize, len(b))
	}
	x.NrEntries = le.Uint32(b[0:])
	x.Buffer = le.Uint64(b[8:])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenMemoryMap) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenMemoryMapSize, x), nil
}

// MarshalBinary returns the XenMemoryMapSize-byte encoding of x.
func (x *XenMemoryMap) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly XenMemoryMapSize
// bytes long.
func (x *XenMemoryMap) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_memory_map", XenMemoryMapSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenForeignMemoryMap is struct xen_foreign_memory_map (24 bytes), the
// argument of XENMEM_set_memory_map.
type XenForeignMemoryMap struct {
	DomID uint16       // domid
	Map   XenMemoryMap // map
}

// Encode writes x into b[:XenForeignMemoryMapSize], with zeros in the
// padding. It panics if b is shorter.
func (x *XenForeignMemoryMap) Encode(b []byte) {
	_ = b[XenForeignMemoryMapSize-1]
	le.PutUint16(b[0:], x.DomID)
	clear(b[2:8]) // padding
	x.Map.Encode(b[8:24])
}

// Decode reads x from the first XenForeignMemoryMapSize bytes of b, or
// returns an error if b is shorter.
func (x *XenForeignMemoryMap) Decode(b []byte) error {
	if len(b) < XenForeignMemoryMapSize {
		return shortError("xen_foreign_memory_map", XenForeignMemoryMapSize, len(b))
	}
	x.DomID = le.Uint16(b[0:])
	_ = x.Map.Decode(b[8:24])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenForeignMemoryMap) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenForeignMemoryMapSize, x), nil
}

// MarshalBinary returns the XenForeignMemoryMapSize-byte encoding of x.
func (x *XenForeignMemoryMap) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly
// XenForeignMemoryMapSize bytes long.
func (x *XenForeignMemoryMap) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_foreign_memory_map", XenForeignMemoryMapSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenPodTarget is struct xen_pod_target (40 bytes), the argument of
// XENMEM_set_pod_target and get_pod_target (toolstack only).
type XenPodTarget struct {
	TargetPages   uint64 // IN
	TotPages      uint64 // OUT
	PodCachePages uint64 // OUT
	PodEntries    uint64 // OUT
	DomID         uint16 // IN
}

// Encode writes x into b[:XenPodTargetSize], with zeros in the padding. It
// panics if b is shorter.
func (x *XenPodTarget) Encode(b []byte) {
	_ = b[XenPodTargetSize-1]
	le.PutUint64(b[0:], x.TargetPages)
	le.PutUint64(b[8:], x.TotPages)
	le.PutUint64(b[16:], x.PodCachePages)
	le.PutUint64(b[24:], x.PodEntries)
	le.PutUint16(b[32:], x.DomID)
	clear(b[34:40]) // padding
}

// Decode reads x from the first XenPodTargetSize bytes of b, or returns an
// error if b is shorter.
func (x *XenPodTarget) Decode(b []byte) error {
	if len(b) < XenPodTargetSize {
		return shortError("xen_pod_target", XenPodTargetSize, len(b))
	}
	x.TargetPages = le.Uint64(b[0:])
	x.TotPages = le.Uint64(b[8:])
	x.PodCachePages = le.Uint64(b[16:])
	x.PodEntries = le.Uint64(b[24:])
	x.DomID = le.Uint16(b[32:])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenPodTarget) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenPodTargetSize, x), nil
}

// MarshalBinary returns the XenPodTargetSize-byte encoding of x.
func (x *XenPodTarget) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly XenPodTargetSize
// bytes long.
func (x *XenPodTarget) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_pod_target", XenPodTargetSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenMemAcquireResource is struct xen_mem_acquire_resource (32 bytes), the
// argument of XENMEM_acquire_resource.
type XenMemAcquireResource struct {
	DomID     uint16 // IN: domain owning the resource
	Type      uint16 // IN: XENMEM_resource_*
	ID        uint32 // IN: type-specific id (XENMEM_resource_grant_table_id_*)
	NrFrames  uint32 // IN/OUT: frames to map (0 with FrameList 0: query size)
	Pad       uint32 // must be zero
	Frame     uint64 // IN: first frame of the resource to map
	FrameList uint64 // guest handle: xen_pfn_t array (GFNs in for HVM, MFNs out for PV)
}

// Encode writes x into b[:XenMemAcquireResourceSize]. It panics if b is
// shorter.
func (x *XenMemAcquireResource) Encode(b []byte) {
	_ = b[XenMemAcquireResourceSize-1]
	le.PutUint16(b[0:], x.DomID)
	le.PutUint16(b[2:], x.Type)
	le.PutUint32(b[4:], x.ID)
	le.PutUint32(b[8:], x.NrFrames)
	le.PutUint32(b[12:], x.Pad)
	le.PutUint64(b[16:], x.Frame)
	le.PutUint64(b[24:], x.FrameList)
}

// Decode reads x from the first XenMemAcquireResourceSize bytes of b, or
// returns an error if b is shorter.
func (x *XenMemAcquireResource) Decode(b []byte) error {
	if len(b) < XenMemAcquireResourceSize {
		return shortError("xen_mem_acquire_resource", XenMemAcquireResourceSize, len(b))
	}
	x.DomID = le.Uint16(b[0:])
	x.Type = le.Uint16(b[2:])
	x.ID = le.Uint32(b[4:])
	x.NrFrames = le.Uint32(b[8:])
	x.Pad = le.Uint32(b[12:])
	x.Frame = le.Uint64(b[16:])
	x.FrameList = le.Uint64(b[24:])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenMemAcquireResource) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenMemAcquireResourceSize, x), nil
}

// MarshalBinary returns the XenMemAcquireResourceSize-byte encoding of x.
func (x *XenMemAcquireResource) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly
// XenMemAcquireResourceSize bytes long.
func (x *XenMemAcquireResource) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_mem_acquire_resource", XenMemAcquireResourceSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenVmemrange is struct xen_vmemrange (24 bytes), one vNUMA memory range.
type XenVmemrange struct {
	Start uint64 // start
	End   uint64 // end
	Flags uint32 // flags
	NID   uint32 // virtual node
}

// Encode writes x into b[:XenVmemrangeSize]. It panics if b is shorter.
func (x *XenVmemrange) Encode(b []byte) {
	_ = b[XenVmemrangeSize-1]
	le.PutUint64(b[0:], x.Start)
	le.PutUint64(b[8:], x.End)
	le.PutUint32(b[16:], x.Flags)
	le.PutUint32(b[20:], x.NID)
}

// Decode reads x from the first XenVmemrangeSize bytes of b, or returns an
// error if b is shorter.
func (x *XenVmemrange) Decode(b []byte) error {
	if len(b) < XenVmemrangeSize {
		return shortError("xen_vmemrange", XenVmemrangeSize, len(b))
	}
	x.Start = le.Uint64(b[0:])
	x.End = le.Uint64(b[8:])
	x.Flags = le.Uint32(b[16:])
	x.NID = le.Uint32(b[20:])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenVmemrange) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenVmemrangeSize, x), nil
}

// MarshalBinary returns the XenVmemrangeSize-byte encoding of x.
func (x *XenVmemrange) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly XenVmemrangeSize
// bytes long.
func (x *XenVmemrange) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_vmemrange", XenVmemrangeSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenVnumaTopologyInfo is struct xen_vnuma_topology_info (40 bytes), the
// argument of XENMEM_get_vnumainfo. The three handles are unions with a
// uint64 pad, so each occupies 8 bytes.
type XenVnumaTopologyInfo struct {
	DomID        uint16 // IN
	Pad          uint16 // pad
	NrVnodes     uint32 // IN/OUT
	NrVCPUs      uint32 // IN/OUT
	NrVmemranges uint32 // IN/OUT
	Vdistance    uint64 // guest handle: NrVnodes*NrVnodes uint distances
	VCPUToVnode  uint64 // guest handle: NrVCPUs uint node numbers
	Vmemrange    uint64 // guest handle: NrVmemranges XenVmemrange
}

// Encode writes x into b[:XenVnumaTopologyInfoSize]. It panics if b is
// shorter.
func (x *XenVnumaTopologyInfo) Encode(b []byte) {
	_ = b[XenVnumaTopologyInfoSize-1]
	le.PutUint16(b[0:], x.DomID)
	le.PutUint16(b[2:], x.Pad)
	le.PutUint32(b[4:], x.NrVnodes)
	le.PutUint32(b[8:], x.NrVCPUs)
	le.PutUint32(b[12:], x.NrVmemranges)
	le.PutUint64(b[16:], x.Vdistance)
	le.PutUint64(b[24:], x.VCPUToVnode)
	le.PutUint64(b[32:], x.Vmemrange)
}

// Decode reads x from the first XenVnumaTopologyInfoSize bytes of b, or
// returns an error if b is shorter.
func (x *XenVnumaTopologyInfo) Decode(b []byte) error {
	if len(b) < XenVnumaTopologyInfoSize {
		return shortError("xen_vnuma_topology_info", XenVnumaTopologyInfoSize, len(b))
	}
	x.DomID = le.Uint16(b[0:])
	x.Pad = le.Uint16(b[2:])
	x.NrVnodes = le.Uint32(b[4:])
	x.NrVCPUs = le.Uint32(b[8:])
	x.NrVmemranges = le.Uint32(b[12:])
	x.Vdistance = le.Uint64(b[16:])
	x.VCPUToVnode = le.Uint64(b[24:])
	x.Vmemrange = le.Uint64(b[32:])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenVnumaTopologyInfo) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenVnumaTopologyInfoSize, x), nil
}

// MarshalBinary returns the XenVnumaTopologyInfoSize-byte encoding of x.
func (x *XenVnumaTopologyInfo) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly
// XenVnumaTopologyInfoSize bytes long.
func (x *XenVnumaTopologyInfo) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_vnuma_topology_info", XenVnumaTopologyInfoSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// E820Entry is one entry of the buffer XENMEM_memory_map fills: the BIOS
// INT 15h/E820 format, struct e820entry in Xen's
// xen/arch/x86/include/asm/e820.h, declared packed, so 20 bytes with Type at
// offset 16 and no padding. (The Go struct is 24 bytes in memory; its
// encoding is E820EntrySize bytes.) Types are the MemmapType* values.
type E820Entry struct {
	Addr uint64 // addr: base address
	Size uint64 // size: length in bytes
	Type uint32 // type: MemmapType* value
}

// Encode writes e into b[:E820EntrySize]. It panics if b is shorter.
func (e *E820Entry) Encode(b []byte) {
	_ = b[E820EntrySize-1]
	le.PutUint64(b[0:], e.Addr)
	le.PutUint64(b[8:], e.Size)
	le.PutUint32(b[16:], e.Type)
}

// Decode reads e from the first E820EntrySize bytes of b, or returns an
// error if b is shorter.
func (e *E820Entry) Decode(b []byte) error {
	if len(b) < E820EntrySize {
		return shortError("e820entry", E820EntrySize, len(b))
	}
	e.Addr = le.Uint64(b[0:])
	e.Size = le.Uint64(b[8:])
	e.Type = le.Uint32(b[16:])
	return nil
}

// AppendBinary appends the encoding of e to b (encoding.BinaryAppender).
func (e *E820Entry) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, E820EntrySize, e), nil
}

// MarshalBinary returns the E820EntrySize-byte encoding of e.
func (e *E820Entry) MarshalBinary() ([]byte, error) { return e.AppendBinary(nil) }

// UnmarshalBinary decodes e from b, which must be exactly E820EntrySize
// bytes long.
func (e *E820Entry) UnmarshalBinary(b []byte) error {
	if err := exactLength("e820entry", E820EntrySize, b); err != nil {
		return err
	}
	return e.Decode(b)
}
