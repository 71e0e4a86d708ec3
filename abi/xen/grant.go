package xen

// Grant tables: the shared entries a domain fills to grant another domain
// access to its pages, and the grant_table_op hypercall
// (xen/include/public/grant_table.h). The call is
// grant_table_op(cmd, arg, count): arg points at an array of count
// structures of the command's type.

// grant_table_op commands (GNTTABOP_* in grant_table.h).
const (
	// GnttabOpMapGrantRef is GNTTABOP_map_grant_ref (GnttabMapGrantRef).
	GnttabOpMapGrantRef = 0
	// GnttabOpUnmapGrantRef is GNTTABOP_unmap_grant_ref (GnttabUnmapGrantRef).
	GnttabOpUnmapGrantRef = 1
	// GnttabOpSetupTable is GNTTABOP_setup_table (GnttabSetupTable): size
	// the caller's table and list its frames (PV; auto-translated guests map
	// frames with XENMEM_add_to_physmap instead).
	GnttabOpSetupTable = 2
	// GnttabOpDumpTable is GNTTABOP_dump_table (GnttabDumpTable): debug
	// dump to Xen's console.
	GnttabOpDumpTable = 3
	// GnttabOpTransfer is GNTTABOP_transfer (GnttabTransfer).
	GnttabOpTransfer = 4
	// GnttabOpCopy is GNTTABOP_copy (GnttabCopy).
	GnttabOpCopy = 5
	// GnttabOpQuerySize is GNTTABOP_query_size (GnttabQuerySize).
	GnttabOpQuerySize = 6
	// GnttabOpUnmapAndReplace is GNTTABOP_unmap_and_replace
	// (GnttabUnmapAndReplace).
	GnttabOpUnmapAndReplace = 7
	// GnttabOpSetVersion is GNTTABOP_set_version (GnttabSetVersion).
	GnttabOpSetVersion = 8
	// GnttabOpGetStatusFrames is GNTTABOP_get_status_frames
	// (GnttabGetStatusFrames).
	GnttabOpGetStatusFrames = 9
	// GnttabOpGetVersion is GNTTABOP_get_version (GnttabGetVersion).
	GnttabOpGetVersion = 10
	// GnttabOpSwapGrantRef is GNTTABOP_swap_grant_ref (GnttabSwapGrantRef).
	GnttabOpSwapGrantRef = 11
	// GnttabOpCacheFlush is GNTTABOP_cache_flush (GnttabCacheFlush).
	GnttabOpCacheFlush = 12
)

// Reserved grant references (grant_table.h): the toolstack sets these up
// before the guest boots, and they survive a grant-table reset.
const (
	// GnttabNrReservedEntries is GNTTAB_NR_RESERVED_ENTRIES.
	GnttabNrReservedEntries = 8
	// GnttabReservedConsole is GNTTAB_RESERVED_CONSOLE: grants the console
	// ring to the console backend.
	GnttabReservedConsole = 0
	// GnttabReservedXenstore is GNTTAB_RESERVED_XENSTORE: grants the
	// xenstore ring to xenstored.
	GnttabReservedXenstore = 1
)

// Grant entry flags (GTF_* in grant_table.h), in the flags field of a grant
// entry. The low two bits are the entry type.
const (
	// GTFInvalid is GTF_invalid: the entry grants nothing.
	GTFInvalid = 0 << 0
	// GTFPermitAccess is GTF_permit_access: domid may map or copy the frame.
	GTFPermitAccess = 1 << 0
	// GTFAcceptTransfer is GTF_accept_transfer: domid may transfer a page
	// into the frame.
	GTFAcceptTransfer = 2 << 0
	// GTFTransitive is GTF_transitive (v2 only): domid may use another
	// domain's grant through this one.
	GTFTransitive = 3 << 0
	// GTFTypeMask is GTF_type_mask: the type bits.
	GTFTypeMask = 3 << 0

	// GTFReadonly is GTF_readonly (bit 2): access is read-only.
	GTFReadonly = 1 << 2
	// GTFReading is GTF_reading (bit 3): set by Xen while the grant is
	// mapped or copied for reading.
	GTFReading = 1 << 3
	// GTFWriting is GTF_writing (bit 4): set by Xen while the grant is
	// mapped or copied for writing.
	GTFWriting = 1 << 4
	// GTFPWT is GTF_PWT (bit 5): map write-through.
	GTFPWT = 1 << 5
	// GTFPCD is GTF_PCD (bit 6): map cache-disabled.
	GTFPCD = 1 << 6
	// GTFPAT is GTF_PAT (bit 7): the PAT bit of the mapping.
	GTFPAT = 1 << 7
	// GTFSubPage is GTF_sub_page (bit 8, v2): only part of the page is
	// granted.
	GTFSubPage = 1 << 8

	// GTFTransferCommitted is GTF_transfer_committed (bit 2, accept_transfer
	// entries): Xen has committed to a transfer.
	GTFTransferCommitted = 1 << 2
	// GTFTransferCompleted is GTF_transfer_completed (bit 3,
	// accept_transfer entries): the transfer finished; frame holds the MFN.
	GTFTransferCompleted = 1 << 3
)

// Flags of GnttabMapGrantRef.Flags (GNTMAP_* in grant_table.h).
const (
	// GNTMAPDeviceMap is GNTMAP_device_map: map for device (DMA) access.
	GNTMAPDeviceMap = 1 << 0
	// GNTMAPHostMap is GNTMAP_host_map: map for CPU access at HostAddr.
	GNTMAPHostMap = 1 << 1
	// GNTMAPReadonly is GNTMAP_readonly: map read-only.
	GNTMAPReadonly = 1 << 2
	// GNTMAPApplicationMap is GNTMAP_application_map: the host mapping is
	// usable by the current application, not only the kernel.
	GNTMAPApplicationMap = 1 << 3
	// GNTMAPContainsPTE is GNTMAP_contains_pte: HostAddr is the machine
	// address of the PTE to update (PV).
	GNTMAPContainsPTE = 1 << 4
	// GNTMAPCanFail is GNTMAP_can_fail (bit 5). Xen never gave it a meaning
	// or an implementation and dropped it from grant_table.h in 4.16; older
	// headers (4.0 to 4.15) define it, so guests built against them may set
	// it.
	GNTMAPCanFail = 1 << 5
	// GNTMAPGuestAvail0 is _GNTMAP_guest_avail0: the first of the bits the
	// guest may have Xen copy into available PTE bits
	// (XENFEAT_gnttab_map_avail_bits).
	GNTMAPGuestAvail0 = 16
	// GNTMAPGuestAvailMask is GNTMAP_guest_avail_mask: bits 31-16.
	GNTMAPGuestAvailMask = 0xffff0000
)

// Flags of GnttabCopy.Flags (GNTCOPY_* in grant_table.h).
const (
	// GNTCopySourceGref is GNTCOPY_source_gref: Source.U is a grant
	// reference, not a GMFN.
	GNTCopySourceGref = 1 << 0
	// GNTCopyDestGref is GNTCOPY_dest_gref: Dest.U is a grant reference.
	GNTCopyDestGref = 1 << 1
	// GNTCopyCanFail is GNTCOPY_can_fail (bit 2). Xen never implemented it
	// and dropped it from grant_table.h in 4.3; older headers (4.0 to 4.2)
	// define it.
	GNTCopyCanFail = 1 << 2
)

// Operations of GnttabCacheFlush.Op (GNTTAB_CACHE_* in grant_table.h).
const (
	// GnttabCacheClean is GNTTAB_CACHE_CLEAN.
	GnttabCacheClean = 1 << 0
	// GnttabCacheInval is GNTTAB_CACHE_INVAL.
	GnttabCacheInval = 1 << 1
	// GnttabCacheSourceGref is GNTTAB_CACHE_SOURCE_GREF: A is a grant
	// reference rather than a device bus address.
	GnttabCacheSourceGref = 1 << 31
)

// Grant status codes (GNTST_* in grant_table.h), returned in the status
// fields of the grant_table_op structures. The hypercall itself returns 0
// when it could process the array, even if entries failed.
const (
	// GNTSTOkay is GNTST_okay: normal return.
	GNTSTOkay = 0
	// GNTSTGeneralError is GNTST_general_error.
	GNTSTGeneralError = -1
	// GNTSTBadDomain is GNTST_bad_domain: unrecognised domain id.
	GNTSTBadDomain = -2
	// GNTSTBadGntref is GNTST_bad_gntref: bad grant reference.
	GNTSTBadGntref = -3
	// GNTSTBadHandle is GNTST_bad_handle: bad mapping handle.
	GNTSTBadHandle = -4
	// GNTSTBadVirtAddr is GNTST_bad_virt_addr: bad virtual address to map.
	GNTSTBadVirtAddr = -5
	// GNTSTBadDevAddr is GNTST_bad_dev_addr: bad device address to unmap.
	GNTSTBadDevAddr = -6
	// GNTSTNoDeviceSpace is GNTST_no_device_space: out of I/O MMU space.
	GNTSTNoDeviceSpace = -7
	// GNTSTPermissionDenied is GNTST_permission_denied.
	GNTSTPermissionDenied = -8
	// GNTSTBadPage is GNTST_bad_page: page invalid for the operation.
	GNTSTBadPage = -9
	// GNTSTBadCopyArg is GNTST_bad_copy_arg: copy crosses a page boundary.
	GNTSTBadCopyArg = -10
	// GNTSTAddressTooBig is GNTST_address_too_big: transfer address too large.
	GNTSTAddressTooBig = -11
	// GNTSTEagain is GNTST_eagain: not done; try again.
	GNTSTEagain = -12
	// GNTSTNoSpace is GNTST_no_space: out of space (handles etc).
	GNTSTNoSpace = -13
)

// gnttabErrorMsgs is GNTTABOP_error_msgs, indexed by -status.
var gnttabErrorMsgs = [...]string{
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

// GnttabStatusString returns the message grant_table.h's
// GNTTABOP_error_msgs gives for a GNTST_* status, or "" for a status it
// does not list.
func GnttabStatusString(status int16) string {
	i := -int(status)
	if i < 0 || i >= len(gnttabErrorMsgs) {
		return ""
	}
	return gnttabErrorMsgs[i]
}

// Encoded sizes in bytes of the grant-table structures on x86-64.
const (
	GrantEntryV1Size          = 8  // struct grant_entry_v1
	GrantEntryHeaderSize      = 4  // struct grant_entry_header
	GrantEntryV2Size          = 16 // union grant_entry_v2
	GrantStatusSize           = 2  // grant_status_t, one v2 status entry
	GnttabMapGrantRefSize     = 32 // struct gnttab_map_grant_ref
	GnttabUnmapGrantRefSize   = 24 // struct gnttab_unmap_grant_ref
	GnttabSetupTableSize      = 24 // struct gnttab_setup_table
	GnttabDumpTableSize       = 4  // struct gnttab_dump_table
	GnttabTransferSize        = 24 // struct gnttab_transfer
	GnttabCopyPtrSize         = 16 // struct gnttab_copy_ptr
	GnttabCopySize            = 40 // struct gnttab_copy
	GnttabQuerySizeSize       = 16 // struct gnttab_query_size
	GnttabUnmapAndReplaceSize = 24 // struct gnttab_unmap_and_replace
	GnttabSetVersionSize      = 4  // struct gnttab_set_version
	GnttabGetStatusFramesSize = 16 // struct gnttab_get_status_frames
	GnttabGetVersionSize      = 8  // struct gnttab_get_version
	GnttabSwapGrantRefSize    = 12 // struct gnttab_swap_grant_ref
	GnttabCacheFlushSize      = 16 // struct gnttab_cache_flush
)

// GrantEntryV1 is struct grant_entry_v1 (8 bytes), one entry of a version-1
// grant table.
type GrantEntryV1 struct {
	Flags uint16 // GTF_* type and flags (written by guest and Xen)
	DomID uint16 // the domain being granted access
	Frame uint32 // GFN granted (permit_access, accept_transfer), or MFN (transfer_completed)
}

// Encode writes e into b[:GrantEntryV1Size]. It panics if b is shorter.
func (e *GrantEntryV1) Encode(b []byte) {
	_ = b[GrantEntryV1Size-1]
	le.PutUint16(b[0:], e.Flags)
	le.PutUint16(b[2:], e.DomID)
	le.PutUint32(b[4:], e.Frame)
}

// Decode reads e from the first GrantEntryV1Size bytes of b, or returns an
// error if b is shorter.
func (e *GrantEntryV1) Decode(b []byte) error {
	if len(b) < GrantEntryV1Size {
		return shortError("grant_entry_v1", GrantEntryV1Size, len(b))
	}
	e.Flags = le.Uint16(b[0:])
	e.DomID = le.Uint16(b[2:])
	e.Frame = le.Uint32(b[4:])
	return nil
}

// AppendBinary appends the encoding of e to b (encoding.BinaryAppender).
func (e *GrantEntryV1) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, GrantEntryV1Size, e), nil
}

// MarshalBinary returns the GrantEntryV1Size-byte encoding of e.
func (e *GrantEntryV1) MarshalBinary() ([]byte, error) { return e.AppendBinary(nil) }

// UnmarshalBinary decodes e from b, which must be exactly GrantEntryV1Size
// bytes long.
func (e *GrantEntryV1) UnmarshalBinary(b []byte) error {
	if err := exactLength("grant_entry_v1", GrantEntryV1Size, b); err != nil {
		return err
	}
	return e.Decode(b)
}

// GrantEntryHeader is struct grant_entry_header (4 bytes), the common
// start of every version-2 entry.
type GrantEntryHeader struct {
	Flags uint16 // GTF_*
	DomID uint16 // domid
}

// Encode writes h into b[:GrantEntryHeaderSize]. It panics if b is shorter.
func (h *GrantEntryHeader) Encode(b []byte) {
	_ = b[GrantEntryHeaderSize-1]
	le.PutUint16(b[0:], h.Flags)
	le.PutUint16(b[2:], h.DomID)
}

// Decode reads h from the first GrantEntryHeaderSize bytes of b, or returns
// an error if b is shorter.
func (h *GrantEntryHeader) Decode(b []byte) error {
	if len(b) < GrantEntryHeaderSize {
		return shortError("grant_entry_header", GrantEntryHeaderSize, len(b))
	}
	h.Flags = le.Uint16(b[0:])
	h.DomID = le.Uint16(b[2:])
	return nil
}

// AppendBinary appends the encoding of h to b (encoding.BinaryAppender).
func (h *GrantEntryHeader) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, GrantEntryHeaderSize, h), nil
}

// MarshalBinary returns the GrantEntryHeaderSize-byte encoding of h.
func (h *GrantEntryHeader) MarshalBinary() ([]byte, error) { return h.AppendBinary(nil) }

// UnmarshalBinary decodes h from b, which must be exactly
// GrantEntryHeaderSize bytes long.
func (h *GrantEntryHeader) UnmarshalBinary(b []byte) error {
	if err := exactLength("grant_entry_header", GrantEntryHeaderSize, b); err != nil {
		return err
	}
	return h.Decode(b)
}

// GrantEntryV2 is union grant_entry_v2 (16 bytes), one entry of a
// version-2 grant table. The union's members share a header and a frame
// at offset 8; Aux holds the 32 bits between them, whose meaning depends on
// the entry type (see the accessor methods):
//
//	full_page:  hdr, pad0 u32 @4, frame u64 @8
//	sub_page:   hdr, page_off u16 @4, length u16 @6, frame u64 @8
//	transitive: hdr, trans_domid u16 @4, pad0 u16 @6, gref u32 @8
type GrantEntryV2 struct {
	Flags uint16 // hdr.flags: GTF_*
	DomID uint16 // hdr.domid
	Aux   uint32 // pad0, page_off|length<<16, or trans_domid|pad0<<16
	Frame uint64 // frame; for transitive entries gref is in the low 32 bits
}

// PageOff returns sub_page.page_off: the first granted byte in the page.
func (e *GrantEntryV2) PageOff() uint16 { return uint16(e.Aux) }

// Length returns sub_page.length: the number of granted bytes.
func (e *GrantEntryV2) Length() uint16 { return uint16(e.Aux >> 16) }

// TransDomID returns transitive.trans_domid: the domain whose grant is
// used.
func (e *GrantEntryV2) TransDomID() uint16 { return uint16(e.Aux) }

// Gref returns transitive.gref: the grant reference in TransDomID's table.
func (e *GrantEntryV2) Gref() uint32 { return uint32(e.Frame) }

// Encode writes e into b[:GrantEntryV2Size]. It panics if b is shorter.
func (e *GrantEntryV2) Encode(b []byte) {
	_ = b[GrantEntryV2Size-1]
	le.PutUint16(b[0:], e.Flags)
	le.PutUint16(b[2:], e.DomID)
	le.PutUint32(b[4:], e.Aux)
	le.PutUint64(b[8:], e.Frame)
}

// Decode reads e from the first GrantEntryV2Size bytes of b, or returns an
// error if b is shorter.
func (e *GrantEntryV2) Decode(b []byte) error {
	if len(b) < GrantEntryV2Size {
		return shortError("grant_entry_v2", GrantEntryV2Size, len(b))
	}
	e.Flags = le.Uint16(b[0:])
	e.DomID = le.Uint16(b[2:])
	e.Aux = le.Uint32(b[4:])
	e.Frame = le.Uint64(b[8:])
	return nil
}

// AppendBinary appends the encoding of e to b (encoding.BinaryAppender).
func (e *GrantEntryV2) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, GrantEntryV2Size, e), nil
}

// MarshalBinary returns the GrantEntryV2Size-byte encoding of e.
func (e *GrantEntryV2) MarshalBinary() ([]byte, error) { return e.AppendBinary(nil) }

// UnmarshalBinary decodes e from b, which must be exactly GrantEntryV2Size
// bytes long.
func (e *GrantEntryV2) UnmarshalBinary(b []byte) error {
	if err := exactLength("grant_entry_v2", GrantEntryV2Size, b); err != nil {
		return err
	}
	return e.Decode(b)
}

// GnttabMapGrantRef is struct gnttab_map_grant_ref (32 bytes).
type GnttabMapGrantRef struct {
	HostAddr   uint64 // IN: where to map (a GPA for auto-translated guests)
	Flags      uint32 // IN: GNTMAP_*
	Ref        uint32 // IN: grant reference
	Dom        uint16 // IN: granting domain
	Status     int16  // OUT: GNTST_*
	Handle     uint32 // OUT: for unmapping
	DevBusAddr uint64 // OUT: bus address for GNTMAP_device_map
}

// Encode writes m into b[:GnttabMapGrantRefSize]. It panics if b is shorter.
func (m *GnttabMapGrantRef) Encode(b []byte) {
	_ = b[GnttabMapGrantRefSize-1]
	le.PutUint64(b[0:], m.HostAddr)
	le.PutUint32(b[8:], m.Flags)
	le.PutUint32(b[12:], m.Ref)
	le.PutUint16(b[16:], m.Dom)
	le.PutUint16(b[18:], uint16(m.Status))
	le.PutUint32(b[20:], m.Handle)
	le.PutUint64(b[24:], m.DevBusAddr)
}

// Decode reads m from the first GnttabMapGrantRefSize bytes of b, or returns
// an error if b is shorter.
func (m *GnttabMapGrantRef) Decode(b []byte) error {
	if len(b) < GnttabMapGrantRefSize {
		return shortError("gnttab_map_grant_ref", GnttabMapGrantRefSize, len(b))
	}
	m.HostAddr = le.Uint64(b[0:])
	m.Flags = le.Uint32(b[8:])
	m.Ref = le.Uint32(b[12:])
	m.Dom = le.Uint16(b[16:])
	m.Status = int16(le.Uint16(b[18:]))
	m.Handle = le.Uint32(b[20:])
	m.DevBusAddr = le.Uint64(b[24:])
	return nil
}

// AppendBinary appends the encoding of m to b (encoding.BinaryAppender).
func (m *GnttabMapGrantRef) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, GnttabMapGrantRefSize, m), nil
}

// MarshalBinary returns the GnttabMapGrantRefSize-byte encoding of m.
func (m *GnttabMapGrantRef) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary decodes m from b, which must be exactly
// GnttabMapGrantRefSize bytes long.
func (m *GnttabMapGrantRef) UnmarshalBinary(b []byte) error {
	if err := exactLength("gnttab_map_grant_ref", GnttabMapGrantRefSize, b); err != nil {
		return err
	}
	return m.Decode(b)
}

// GnttabUnmapGrantRef is struct gnttab_unmap_grant_ref (24 bytes).
type GnttabUnmapGrantRef struct {
	HostAddr   uint64 // IN
	DevBusAddr uint64 // IN
	Handle     uint32 // IN: from GnttabMapGrantRef
	Status     int16  // OUT: GNTST_*
}

// Encode writes u into b[:GnttabUnmapGrantRefSize], with zeros in the
// padding. It panics if b is shorter.
func (u *GnttabUnmapGrantRef) Encode(b []byte) {
	_ = b[GnttabUnmapGrantRefSize-1]
	le.PutUint64(b[0:], u.HostAddr)
	le.PutUint64(b[8:], u.DevBusAddr)
	le.PutUint32(b[16:], u.Handle)
	le.PutUint16(b[20:], uint16(u.Status))
	clear(b[22:24]) // padding
}

// Decode reads u from the first GnttabUnmapGrantRefSize bytes of b, or
// returns an error if b is shorter.
func (u *GnttabUnmapGrantRef) Decode(b []byte) error {
	if len(b) < GnttabUnmapGrantRefSize {
		return shortError("gnttab_unmap_grant_ref", GnttabUnmapGrantRefSize, len(b))
	}
	u.HostAddr = le.Uint64(b[0:])
	u.DevBusAddr = le.Uint64(b[8:])
	u.Handle = le.Uint32(b[16:])
	u.Status = int16(le.Uint16(b[20:]))
	return nil
}

// AppendBinary appends the encoding of u to b (encoding.BinaryAppender).
func (u *GnttabUnmapGrantRef) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, GnttabUnmapGrantRefSize, u), nil
}

// MarshalBinary returns the GnttabUnmapGrantRefSize-byte encoding of u.
func (u *GnttabUnmapGrantRef) MarshalBinary() ([]byte, error) { return u.AppendBinary(nil) }

// UnmarshalBinary decodes u from b, which must be exactly
// GnttabUnmapGrantRefSize bytes long.
func (u *GnttabUnmapGrantRef) UnmarshalBinary(b []byte) error {
	if err := exactLength("gnttab_unmap_grant_ref", GnttabUnmapGrantRefSize, b); err != nil {
		return err
	}
	return u.Decode(b)
}

// GnttabSetupTable is struct gnttab_setup_table (24 bytes).
type GnttabSetupTable struct {
	Dom       uint16 // IN
	NrFrames  uint32 // IN
	Status    int16  // OUT: GNTST_*
	FrameList uint64 // guest handle: OUT NrFrames xen_pfn_t
}

// Encode writes s into b[:GnttabSetupTableSize], with zeros in the padding.
// It panics if b is shorter.
func (s *GnttabSetupTable) Encode(b []byte) {
	_ = b[GnttabSetupTableSize-1]
	le.PutUint16(b[0:], s.Dom)
	clear(b[2:4]) // padding
	le.PutUint32(b[4:], s.NrFrames)
	le.PutUint16(b[8:], uint16(s.Status))
	clear(b[10:16]) // padding
	le.PutUint64(b[16:], s.FrameList)
}

// Decode reads s from the first GnttabSetupTableSize bytes of b, or returns
// an error if b is shorter.
func (s *GnttabSetupTable) Decode(b []byte) error {
	if len(b) < GnttabSetupTableSize {
		return shortError("gnttab_setup_table", GnttabSetupTableSize, len(b))
	}
	s.Dom = le.Uint16(b[0:])
	s.NrFrames = le.Uint32(b[4:])
	s.Status = int16(le.Uint16(b[8:]))
	s.FrameList = le.Uint64(b[16:])
	return nil
}

// AppendBinary appends the encoding of s to b (encoding.BinaryAppender).
func (s *GnttabSetupTable) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, GnttabSetupTableSize, s), nil
}

// MarshalBinary returns the GnttabSetupTableSize-byte encoding of s.
func (s *GnttabSetupTable) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// UnmarshalBinary decodes s from b, which must be exactly
// GnttabSetupTableSize bytes long.
func (s *GnttabSetupTable) UnmarshalBinary(b []byte) error {
	if err := exactLength("gnttab_setup_table", GnttabSetupTableSize, b); err != nil {
		return err
	}
	return s.Decode(b)
}

// GnttabDumpTable is struct gnttab_dump_table (4 bytes).
type GnttabDumpTable struct {
	Dom    uint16 // IN
	Status int16  // OUT: GNTST_*
}

// Encode writes d into b[:GnttabDumpTableSize]. It panics if b is shorter.
func (d *GnttabDumpTable) Encode(b []byte) {
	_ = b[GnttabDumpTableSize-1]
	le.PutUint16(b[0:], d.Dom)
	le.PutUint16(b[2:], uint16(d.Status))
}

// Decode reads d from the first GnttabDumpTableSize bytes of b, or returns
// an error if b is shorter.
func (d *GnttabDumpTable) Decode(b []byte) error {
	if len(b) < GnttabDumpTableSize {
		return shortError("gnttab_dump_table", GnttabDumpTableSize, len(b))
	}
	d.Dom = le.Uint16(b[0:])
	d.Status = int16(le.Uint16(b[2:]))
	return nil
}

// AppendBinary appends the encoding of d to b (encoding.BinaryAppender).
func (d *GnttabDumpTable) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, GnttabDumpTableSize, d), nil
}

// MarshalBinary returns the GnttabDumpTableSize-byte encoding of d.
func (d *GnttabDumpTable) MarshalBinary() ([]byte, error) { return d.AppendBinary(nil) }

// UnmarshalBinary decodes d from b, which must be exactly
// GnttabDumpTableSize bytes long.
func (d *GnttabDumpTable) UnmarshalBinary(b []byte) error {
	if err := exactLength("gnttab_dump_table", GnttabDumpTableSize, b); err != nil {
		return err
	}
	return d.Decode(b)
}

// GnttabTransfer is struct gnttab_transfer (24 bytes).
type GnttabTransfer struct {
	MFN    uint64 // IN: frame to give away
	DomID  uint16 // IN: receiving domain
	Ref    uint32 // IN: its accept_transfer grant
	Status int16  // OUT: GNTST_*
}

// Encode writes x into b[:GnttabTransferSize], with zeros in the padding. It
// panics if b is shorter.
func (x *GnttabTransfer) Encode(b []byte) {
	_ = b[GnttabTransferSize-1]
	le.PutUint64(b[0:], x.MFN)
	le.PutUint16(b[8:], x.DomID)
	clear(b[10:12]) // padding
	le.PutUint32(b[12:], x.Ref)
	le.PutUint16(b[16:], uint16(x.Status))
	clear(b[18:24]) // padding
}

// Decode reads x from the first GnttabTransferSize bytes of b, or returns an
// error if b is shorter.
func (x *GnttabTransfer) Decode(b []byte) error {
	if len(b) < GnttabTransferSize {
		return shortError("gnttab_transfer", GnttabTransferSize, len(b))
	}
	x.MFN = le.Uint64(b[0:])
	x.DomID = le.Uint16(b[8:])
	x.Ref = le.Uint32(b[12:])
	x.Status = int16(le.Uint16(b[16:]))
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *GnttabTransfer) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, GnttabTransferSize, x), nil
}

// MarshalBinary returns the GnttabTransferSize-byte encoding of x.
func (x *GnttabTransfer) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly GnttabTransferSize
// bytes long.
func (x *GnttabTransfer) UnmarshalBinary(b []byte) error {
	if err := exactLength("gnttab_transfer", GnttabTransferSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// GnttabCopyPtr is struct gnttab_copy_ptr (16 bytes), one end of a
// GnttabCopy. U is the union of a grant reference (in its low 32 bits,
// when the matching GNTCOPY_*_gref flag is set) and a GMFN.
type GnttabCopyPtr struct {
	U      uint64 // u.ref or u.gmfn
	DomID  uint16 // domid
	Offset uint16 // byte offset in the page
}

// Encode writes p into b[:GnttabCopyPtrSize], with zeros in the padding. It
// panics if b is shorter.
func (p *GnttabCopyPtr) Encode(b []byte) {
	_ = b[GnttabCopyPtrSize-1]
	le.PutUint64(b[0:], p.U)
	le.PutUint16(b[8:], p.DomID)
	le.PutUint16(b[10:], p.Offset)
	clear(b[12:16]) // padding
}

// Decode reads p from the first GnttabCopyPtrSize bytes of b, or returns an
// error if b is shorter.
func (p *GnttabCopyPtr) Decode(b []byte) error {
	if len(b) < GnttabCopyPtrSize {
		return shortError("gnttab_copy_ptr", GnttabCopyPtrSize, len(b))
	}
	p.U = le.Uint64(b[0:])
	p.DomID = le.Uint16(b[8:])
	p.Offset = le.Uint16(b[10:])
	return nil
}

// AppendBinary appends the encoding of p to b (encoding.BinaryAppender).
func (p *GnttabCopyPtr) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, GnttabCopyPtrSize, p), nil
}

// MarshalBinary returns the GnttabCopyPtrSize-byte encoding of p.
func (p *GnttabCopyPtr) MarshalBinary() ([]byte, error) { return p.AppendBinary(nil) }

// UnmarshalBinary decodes p from b, which must be exactly GnttabCopyPtrSize
// bytes long.
func (p *GnttabCopyPtr) UnmarshalBinary(b []byte) error {
	if err := exactLength("gnttab_copy_ptr", GnttabCopyPtrSize, b); err != nil {
		return err
	}
	return p.Decode(b)
}

// GnttabCopy is struct gnttab_copy (40 bytes): copy Len bytes between two
// possibly granted pages. Neither end may cross a page boundary.
type GnttabCopy struct {
	Source GnttabCopyPtr // IN
	Dest   GnttabCopyPtr // IN
	Len    uint16        // IN
	Flags  uint16        // IN: GNTCOPY_*
	Status int16         // OUT: GNTST_*
}

// Encode writes c into b[:GnttabCopySize], with zeros in the padding. It
// panics if b is shorter.
func (c *GnttabCopy) Encode(b []byte) {
	_ = b[GnttabCopySize-1]
	c.Source.Encode(b[0:16])
	c.Dest.Encode(b[16:32])
	le.PutUint16(b[32:], c.Len)
	le.PutUint16(b[34:], c.Flags)
	le.PutUint16(b[36:], uint16(c.Status))
	clear(b[38:40]) // padding
}

// Decode reads c from the first GnttabCopySize bytes of b, or returns an
// error if b is shorter.
func (c *GnttabCopy) Decode(b []byte) error {
	if len(b) < GnttabCopySize {
		return shortError("gnttab_copy", GnttabCopySize, len(b))
	}
	_ = c.Source.Decode(b[0:16])
	_ = c.Dest.Decode(b[16:32])
	c.Len = le.Uint16(b[32:])
	c.Flags = le.Uint16(b[34:])
	c.Status = int16(le.Uint16(b[36:]))
	return nil
}

// AppendBinary appends the encoding of c to b (encoding.BinaryAppender).
func (c *GnttabCopy) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, GnttabCopySize, c), nil
}

// MarshalBinary returns the GnttabCopySize-byte encoding of c.
func (c *GnttabCopy) MarshalBinary() ([]byte, error) { return c.AppendBinary(nil) }

// UnmarshalBinary decodes c from b, which must be exactly GnttabCopySize
// bytes long.
func (c *GnttabCopy) UnmarshalBinary(b []byte) error {
	if err := exactLength("gnttab_copy", GnttabCopySize, b); err != nil {
		return err
	}
	return c.Decode(b)
}

// GnttabQuerySize is struct gnttab_query_size (16 bytes). Linux asks it for
// the maximum number of grant frames, and assumes 4 if it fails.
type GnttabQuerySize struct {
	Dom         uint16 // IN
	NrFrames    uint32 // OUT: current size in frames
	MaxNrFrames uint32 // OUT: maximum size in frames
	Status      int16  // OUT: GNTST_*
}

// Encode writes q into b[:GnttabQuerySizeSize], with zeros in the padding.
// It panics if b is shorter.
func (q *GnttabQuerySize) Encode(b []byte) {
	_ = b[GnttabQuerySizeSize-1]
	le.PutUint16(b[0:], q.Dom)
	clear(b[2:4]) // padding
	le.PutUint32(b[4:], q.NrFrames)
	le.PutUint32(b[8:], q.MaxNrFrames)
	le.PutUint16(b[12:], uint16(q.Status))
	clear(b[14:16]) // padding
}

// Decode reads q from the first GnttabQuerySizeSize bytes of b, or returns
// an error if b is shorter.
func (q *GnttabQuerySize) Decode(b []byte) error {
	if len(b) < GnttabQuerySizeSize {
		return shortError("gnttab_query_size", GnttabQuerySizeSize, len(b))
	}
	q.Dom = le.Uint16(b[0:])
	q.NrFrames = le.Uint32(b[4:])
	q.MaxNrFrames = le.Uint32(b[8:])
	q.Status = int16(le.Uint16(b[12:]))
	return nil
}

// AppendBinary appends the encoding of q to b (encoding.BinaryAppender).
func (q *GnttabQuerySize) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, GnttabQuerySizeSize, q), nil
}

// MarshalBinary returns the GnttabQuerySizeSize-byte encoding of q.
func (q *GnttabQuerySize) MarshalBinary() ([]byte, error) { return q.AppendBinary(nil) }

// UnmarshalBinary decodes q from b, which must be exactly
// GnttabQuerySizeSize bytes long.
func (q *GnttabQuerySize) UnmarshalBinary(b []byte) error {
	if err := exactLength("gnttab_query_size", GnttabQuerySizeSize, b); err != nil {
		return err
	}
	return q.Decode(b)
}

// GnttabUnmapAndReplace is struct gnttab_unmap_and_replace (24 bytes).
type GnttabUnmapAndReplace struct {
	HostAddr uint64 // IN
	NewAddr  uint64 // IN
	Handle   uint32 // IN
	Status   int16  // OUT: GNTST_*
}

// Encode writes u into b[:GnttabUnmapAndReplaceSize], with zeros in the
// padding. It panics if b is shorter.
func (u *GnttabUnmapAndReplace) Encode(b []byte) {
	_ = b[GnttabUnmapAndReplaceSize-1]
	le.PutUint64(b[0:], u.HostAddr)
	le.PutUint64(b[8:], u.NewAddr)
	le.PutUint32(b[16:], u.Handle)
	le.PutUint16(b[20:], uint16(u.Status))
	clear(b[22:24]) // padding
}

// Decode reads u from the first GnttabUnmapAndReplaceSize bytes of b, or
// returns an error if b is shorter.
func (u *GnttabUnmapAndReplace) Decode(b []byte) error {
	if len(b) < GnttabUnmapAndReplaceSize {
		return shortError("gnttab_unmap_and_replace", GnttabUnmapAndReplaceSize, len(b))
	}
	u.HostAddr = le.Uint64(b[0:])
	u.NewAddr = le.Uint64(b[8:])
	u.Handle = le.Uint32(b[16:])
	u.Status = int16(le.Uint16(b[20:]))
	return nil
}

// AppendBinary appends the encoding of u to b (encoding.BinaryAppender).
func (u *GnttabUnmapAndReplace) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, GnttabUnmapAndReplaceSize, u), nil
}

// MarshalBinary returns the GnttabUnmapAndReplaceSize-byte encoding of u.
func (u *GnttabUnmapAndReplace) MarshalBinary() ([]byte, error) { return u.AppendBinary(nil) }

// UnmarshalBinary decodes u from b, which must be exactly
// GnttabUnmapAndReplaceSize bytes long.
func (u *GnttabUnmapAndReplace) UnmarshalBinary(b []byte) error {
	if err := exactLength("gnttab_unmap_and_replace", GnttabUnmapAndReplaceSize, b); err != nil {
		return err
	}
	return u.Decode(b)
}

// GnttabSetVersion is struct gnttab_set_version (4 bytes).
type GnttabSetVersion struct {
	Version uint32 // IN: 1 or 2; OUT: the version now in use
}

// Encode writes v into b[:GnttabSetVersionSize]. It panics if b is shorter.
func (v *GnttabSetVersion) Encode(b []byte) {
	_ = b[GnttabSetVersionSize-1]
	le.PutUint32(b[0:], v.Version)
}

// Decode reads v from the first GnttabSetVersionSize bytes of b, or returns
// an error if b is shorter.
func (v *GnttabSetVersion) Decode(b []byte) error {
	if len(b) < GnttabSetVersionSize {
		return shortError("gnttab_set_version", GnttabSetVersionSize, len(b))
	}
	v.Version = le.Uint32(b[0:])
	return nil
}

// AppendBinary appends the encoding of v to b (encoding.BinaryAppender).
func (v *GnttabSetVersion) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, GnttabSetVersionSize, v), nil
}

// MarshalBinary returns the GnttabSetVersionSize-byte encoding of v.
func (v *GnttabSetVersion) MarshalBinary() ([]byte, error) { return v.AppendBinary(nil) }

// UnmarshalBinary decodes v from b, which must be exactly
// GnttabSetVersionSize bytes long.
func (v *GnttabSetVersion) UnmarshalBinary(b []byte) error {
	if err := exactLength("gnttab_set_version", GnttabSetVersionSize, b); err != nil {
		return err
	}
	return v.Decode(b)
}

// GnttabGetStatusFrames is struct gnttab_get_status_frames (16 bytes).
type GnttabGetStatusFrames struct {
	NrFrames  uint32 // IN
	Dom       uint16 // IN
	Status    int16  // OUT: GNTST_*
	FrameList uint64 // guest handle: OUT NrFrames uint64
}

// Encode writes g into b[:GnttabGetStatusFramesSize]. It panics if b is
// shorter.
func (g *GnttabGetStatusFrames) Encode(b []byte) {
	_ = b[GnttabGetStatusFramesSize-1]
	le.PutUint32(b[0:], g.NrFrames)
	le.PutUint16(b[4:], g.Dom)
	le.PutUint16(b[6:], uint16(g.Status))
	le.PutUint64(b[8:], g.FrameList)
}

// Decode reads g from the first GnttabGetStatusFramesSize bytes of b, or
// returns an error if b is shorter.
func (g *GnttabGetStatusFrames) Decode(b []byte) error {
	if len(b) < GnttabGetStatusFramesSize {
		return shortError("gnttab_get_status_frames", GnttabGetStatusFramesSize, len(b))
	}
	g.NrFrames = le.Uint32(b[0:])
	g.Dom = le.Uint16(b[4:])
	g.Status = int16(le.Uint16(b[6:]))
	g.FrameList = le.Uint64(b[8:])
	return nil
}

// AppendBinary appends the encoding of g to b (encoding.BinaryAppender).
func (g *GnttabGetStatusFrames) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, GnttabGetStatusFramesSize, g), nil
}

// MarshalBinary returns the GnttabGetStatusFramesSize-byte encoding of g.
func (g *GnttabGetStatusFrames) MarshalBinary() ([]byte, error) { return g.AppendBinary(nil) }

// UnmarshalBinary decodes g from b, which must be exactly
// GnttabGetStatusFramesSize bytes long.
func (g *GnttabGetStatusFrames) UnmarshalBinary(b []byte) error {
	if err := exactLength("gnttab_get_status_frames", GnttabGetStatusFramesSize, b); err != nil {
		return err
	}
	return g.Decode(b)
}

// GnttabGetVersion is struct gnttab_get_version (8 bytes).
type GnttabGetVersion struct {
	Dom     uint16 // IN
	Pad     uint16 // pad
	Version uint32 // OUT
}

// Encode writes v into b[:GnttabGetVersionSize]. It panics if b is shorter.
func (v *GnttabGetVersion) Encode(b []byte) {
	_ = b[GnttabGetVersionSize-1]
	le.PutUint16(b[0:], v.Dom)
	le.PutUint16(b[2:], v.Pad)
	le.PutUint32(b[4:], v.Version)
}

// Decode reads v from the first GnttabGetVersionSize bytes of b, or returns
// an error if b is shorter.
func (v *GnttabGetVersion) Decode(b []byte) error {
	if len(b) < GnttabGetVersionSize {
		return shortError("gnttab_get_version", GnttabGetVersionSize, len(b))
	}
	v.Dom = le.Uint16(b[0:])
	v.Pad = le.Uint16(b[2:])
	v.Version = le.Uint32(b[4:])
	return nil
}

// AppendBinary appends the encoding of v to b (encoding.BinaryAppender).
func (v *GnttabGetVersion) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, GnttabGetVersionSize, v), nil
}

// MarshalBinary returns the GnttabGetVersionSize-byte encoding of v.
func (v *GnttabGetVersion) MarshalBinary() ([]byte, error) { return v.AppendBinary(nil) }

// UnmarshalBinary decodes v from b, which must be exactly
// GnttabGetVersionSize bytes long.
func (v *GnttabGetVersion) UnmarshalBinary(b []byte) error {
	if err := exactLength("gnttab_get_version", GnttabGetVersionSize, b); err != nil {
		return err
	}
	return v.Decode(b)
}

// GnttabSwapGrantRef is struct gnttab_swap_grant_ref (12 bytes).
type GnttabSwapGrantRef struct {
	RefA   uint32 // IN
	RefB   uint32 // IN
	Status int16  // OUT: GNTST_*
}

// Encode writes s into b[:GnttabSwapGrantRefSize], with zeros in the
// padding. It panics if b is shorter.
func (s *GnttabSwapGrantRef) Encode(b []byte) {
	_ = b[GnttabSwapGrantRefSize-1]
	le.PutUint32(b[0:], s.RefA)
	le.PutUint32(b[4:], s.RefB)
	le.PutUint16(b[8:], uint16(s.Status))
	clear(b[10:12]) // padding
}

// Decode reads s from the first GnttabSwapGrantRefSize bytes of b, or
// returns an error if b is shorter.
func (s *GnttabSwapGrantRef) Decode(b []byte) error {
	if len(b) < GnttabSwapGrantRefSize {
		return shortError("gnttab_swap_grant_ref", GnttabSwapGrantRefSize, len(b))
	}
	s.RefA = le.Uint32(b[0:])
	s.RefB = le.Uint32(b[4:])
	s.Status = int16(le.Uint16(b[8:]))
	return nil
}

// AppendBinary appends the encoding of s to b (encoding.BinaryAppender).
func (s *GnttabSwapGrantRef) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, GnttabSwapGrantRefSize, s), nil
}

// MarshalBinary returns the GnttabSwapGrantRefSize-byte encoding of s.
func (s *GnttabSwapGrantRef) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// UnmarshalBinary decodes s from b, which must be exactly
// GnttabSwapGrantRefSize bytes long.
func (s *GnttabSwapGrantRef) UnmarshalBinary(b []byte) error {
	if err := exactLength("gnttab_swap_grant_ref", GnttabSwapGrantRefSize, b); err != nil {
		return err
	}
	return s.Decode(b)
}

// GnttabCacheFlush is struct gnttab_cache_flush (16 bytes). A is the union
// of a device bus address and (with GnttabCacheSourceGref) a grant
// reference in its low 32 bits.
type GnttabCacheFlush struct {
	A      uint64 // a.dev_bus_addr or a.ref
	Offset uint16 // offset from the start of the grant
	Length uint16 // bytes within the grant
	Op     uint32 // GNTTAB_CACHE_*
}

// Encode writes f into b[:GnttabCacheFlushSize]. It panics if b is shorter.
func (f *GnttabCacheFlush) Encode(b []byte) {
	_ = b[GnttabCacheFlushSize-1]
	le.PutUint64(b[0:], f.A)
	le.PutUint16(b[8:], f.Offset)
	le.PutUint16(b[10:], f.Length)
	le.PutUint32(b[12:], f.Op)
}

// Decode reads f from the first GnttabCacheFlushSize bytes of b, or returns
// an error if b is shorter.
func (f *GnttabCacheFlush) Decode(b []byte) error {
	if len(b) < GnttabCacheFlushSize {
		return shortError("gnttab_cache_flush", GnttabCacheFlushSize, len(b))
	}
	f.A = le.Uint64(b[0:])
	f.Offset = le.Uint16(b[8:])
	f.Length = le.Uint16(b[10:])
	f.Op = le.Uint32(b[12:])
	return nil
}

// AppendBinary appends the encoding of f to b (encoding.BinaryAppender).
func (f *GnttabCacheFlush) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, GnttabCacheFlushSize, f), nil
}

// MarshalBinary returns the GnttabCacheFlushSize-byte encoding of f.
func (f *GnttabCacheFlush) MarshalBinary() ([]byte, error) { return f.AppendBinary(nil) }

// UnmarshalBinary decodes f from b, which must be exactly
// GnttabCacheFlushSize bytes long.
func (f *GnttabCacheFlush) UnmarshalBinary(b []byte) error {
	if err := exactLength("gnttab_cache_flush", GnttabCacheFlushSize, b); err != nil {
		return err
	}
	return f.Decode(b)
}
