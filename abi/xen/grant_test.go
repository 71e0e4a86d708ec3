package xen

import (
	"testing"
	"unsafe"
)

// Grant-table numbers and structures from xen/include/public/grant_table.h
// (x86-64).

func TestGnttabConstants(t *testing.T) {
	checkConsts(t, []constCase{
		{"GNTTABOP_map_grant_ref", GnttabOpMapGrantRef, 0},
		{"GNTTABOP_unmap_grant_ref", GnttabOpUnmapGrantRef, 1},
		{"GNTTABOP_setup_table", GnttabOpSetupTable, 2},
		{"GNTTABOP_dump_table", GnttabOpDumpTable, 3},
		{"GNTTABOP_transfer", GnttabOpTransfer, 4},
		{"GNTTABOP_copy", GnttabOpCopy, 5},
		{"GNTTABOP_query_size", GnttabOpQuerySize, 6},
		{"GNTTABOP_unmap_and_replace", GnttabOpUnmapAndReplace, 7},
		{"GNTTABOP_set_version", GnttabOpSetVersion, 8},
		{"GNTTABOP_get_status_frames", GnttabOpGetStatusFrames, 9},
		{"GNTTABOP_get_version", GnttabOpGetVersion, 10},
		{"GNTTABOP_swap_grant_ref", GnttabOpSwapGrantRef, 11},
		{"GNTTABOP_cache_flush", GnttabOpCacheFlush, 12},
		{"GNTTAB_NR_RESERVED_ENTRIES", GnttabNrReservedEntries, 8},
		{"GNTTAB_RESERVED_CONSOLE", GnttabReservedConsole, 0},
		{"GNTTAB_RESERVED_XENSTORE", GnttabReservedXenstore, 1},
		{"GTF_invalid", GTFInvalid, 0},
		{"GTF_permit_access", GTFPermitAccess, 1},
		{"GTF_accept_transfer", GTFAcceptTransfer, 2},
		{"GTF_transitive", GTFTransitive, 3},
		{"GTF_type_mask", GTFTypeMask, 3},
		{"GTF_readonly", GTFReadonly, 1 << 2},
		{"GTF_reading", GTFReading, 1 << 3},
		{"GTF_writing", GTFWriting, 1 << 4},
		{"GTF_PWT", GTFPWT, 1 << 5},
		{"GTF_PCD", GTFPCD, 1 << 6},
		{"GTF_PAT", GTFPAT, 1 << 7},
		{"GTF_sub_page", GTFSubPage, 1 << 8},
		{"GTF_transfer_committed", GTFTransferCommitted, 1 << 2},
		{"GTF_transfer_completed", GTFTransferCompleted, 1 << 3},
		{"GNTMAP_device_map", GNTMAPDeviceMap, 1},
		{"GNTMAP_host_map", GNTMAPHostMap, 2},
		{"GNTMAP_readonly", GNTMAPReadonly, 4},
		{"GNTMAP_application_map", GNTMAPApplicationMap, 8},
		{"GNTMAP_contains_pte", GNTMAPContainsPTE, 16},
		{"~GNTMAP_can_fail (grant_table.h before Xen 4.16)", GNTMAPCanFail, 32},
		{"_GNTMAP_guest_avail0", GNTMAPGuestAvail0, 16},
		{"GNTMAP_guest_avail_mask", GNTMAPGuestAvailMask, 0xffff0000},
		{"GNTCOPY_source_gref", GNTCopySourceGref, 1},
		{"GNTCOPY_dest_gref", GNTCopyDestGref, 2},
		{"~GNTCOPY_can_fail (grant_table.h before Xen 4.3)", GNTCopyCanFail, 4},
		{"GNTTAB_CACHE_CLEAN", GnttabCacheClean, 1},
		{"GNTTAB_CACHE_INVAL", GnttabCacheInval, 2},
		{"GNTTAB_CACHE_SOURCE_GREF", GnttabCacheSourceGref, 0x80000000},
		{"sizeof(grant_status_t)", GrantStatusSize, 2},
	})
	checkSConsts(t, []sconstCase{
		{"GNTST_okay", GNTSTOkay, 0},
		{"GNTST_general_error", GNTSTGeneralError, -1},
		{"GNTST_bad_domain", GNTSTBadDomain, -2},
		{"GNTST_bad_gntref", GNTSTBadGntref, -3},
		{"GNTST_bad_handle", GNTSTBadHandle, -4},
		{"GNTST_bad_virt_addr", GNTSTBadVirtAddr, -5},
		{"GNTST_bad_dev_addr", GNTSTBadDevAddr, -6},
		{"GNTST_no_device_space", GNTSTNoDeviceSpace, -7},
		{"GNTST_permission_denied", GNTSTPermissionDenied, -8},
		{"GNTST_bad_page", GNTSTBadPage, -9},
		{"GNTST_bad_copy_arg", GNTSTBadCopyArg, -10},
		{"GNTST_address_too_big", GNTSTAddressTooBig, -11},
		{"GNTST_eagain", GNTSTEagain, -12},
		{"GNTST_no_space", GNTSTNoSpace, -13},
	})
}

func TestGnttabStatusString(t *testing.T) {
	for st, want := range map[int16]string{
		GNTSTOkay:             "okay",
		GNTSTGeneralError:     "undefined error",
		GNTSTNoDeviceSpace:    "no spare translation slot in the I/O MMU",
		GNTSTPermissionDenied: "permission denied",
		GNTSTNoSpace:          "out of space",
		-14:                   "",
		1:                     "",
		-32768:                "",
	} {
		if got := GnttabStatusString(st); got != want {
			t.Errorf("GnttabStatusString(%d) = %q, want %q", st, got, want)
		}
	}
	if len(gnttabErrorMsgs) != -GNTSTNoSpace+1 {
		t.Errorf("%d messages for %d statuses", len(gnttabErrorMsgs), -GNTSTNoSpace+1)
	}
}

func TestGrantEntryV2Accessors(t *testing.T) {
	// sub_page: page_off@4 = 0x100, length@6 = 0x80.
	var sub GrantEntryV2
	if err := sub.Decode([]byte{0x01, 0x01, 5, 0, 0x00, 0x01, 0x80, 0x00, 9, 8, 7, 6, 5, 4, 3, 2}); err != nil {
		t.Fatal(err)
	}
	if sub.Flags != GTFPermitAccess|GTFSubPage || sub.DomID != 5 || sub.PageOff() != 0x100 || sub.Length() != 0x80 || sub.Frame != 0x0203040506070809 {
		t.Errorf("sub_page decoded as %+v off %#x len %#x", sub, sub.PageOff(), sub.Length())
	}
	// transitive: trans_domid@4 = 3, gref@8 = 0x44.
	var tr GrantEntryV2
	if err := tr.Decode([]byte{0x03, 0, 1, 0, 3, 0, 0, 0, 0x44, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if tr.Flags&GTFTypeMask != GTFTransitive || tr.TransDomID() != 3 || tr.Gref() != 0x44 {
		t.Errorf("transitive decoded as %+v", tr)
	}
}

// struct grant_entry_v1, from xen/include/public/grant_table.h.
func TestGrantEntryV1Layout(t *testing.T) {
	var v GrantEntryV1
	checkLayout(t, "grant_entry_v1", unsafe.Sizeof(v), 8, []fieldOff{
		{"flags", unsafe.Offsetof(v.Flags), 0},
		{"domid", unsafe.Offsetof(v.DomID), 2},
		{"frame", unsafe.Offsetof(v.Frame), 4},
	})
	if GrantEntryV1Size != 8 {
		t.Errorf("GrantEntryV1Size = %d, want 8", GrantEntryV1Size)
	}
}

func TestGrantEntryV1Encoding(t *testing.T) {
	v := GrantEntryV1{Flags: 0x0201, DomID: 0x0403, Frame: 0x08070605}
	checkEncoding(t, &v, &GrantEntryV1{}, seqPattern(8))
}

// struct grant_entry_header, from xen/include/public/grant_table.h.
func TestGrantEntryHeaderLayout(t *testing.T) {
	var v GrantEntryHeader
	checkLayout(t, "grant_entry_header", unsafe.Sizeof(v), 4, []fieldOff{
		{"flags", unsafe.Offsetof(v.Flags), 0},
		{"domid", unsafe.Offsetof(v.DomID), 2},
	})
	if GrantEntryHeaderSize != 4 {
		t.Errorf("GrantEntryHeaderSize = %d, want 4", GrantEntryHeaderSize)
	}
}

func TestGrantEntryHeaderEncoding(t *testing.T) {
	v := GrantEntryHeader{Flags: 0x0201, DomID: 0x0403}
	checkEncoding(t, &v, &GrantEntryHeader{}, seqPattern(4))
}

// union grant_entry_v2, from xen/include/public/grant_table.h.
func TestGrantEntryV2Layout(t *testing.T) {
	var v GrantEntryV2
	checkLayout(t, "grant_entry_v2", unsafe.Sizeof(v), 16, []fieldOff{
		{"hdr.flags", unsafe.Offsetof(v.Flags), 0},
		{"hdr.domid", unsafe.Offsetof(v.DomID), 2},
		{"full_page.pad0", unsafe.Offsetof(v.Aux), 4},
		{"full_page.frame", unsafe.Offsetof(v.Frame), 8},
	})
	if GrantEntryV2Size != 16 {
		t.Errorf("GrantEntryV2Size = %d, want 16", GrantEntryV2Size)
	}
}

func TestGrantEntryV2Encoding(t *testing.T) {
	v := GrantEntryV2{Flags: 0x0201, DomID: 0x0403, Aux: 0x08070605, Frame: 0x100f0e0d0c0b0a09}
	checkEncoding(t, &v, &GrantEntryV2{}, seqPattern(16))
}

// struct gnttab_map_grant_ref, from xen/include/public/grant_table.h.
func TestGnttabMapGrantRefLayout(t *testing.T) {
	var v GnttabMapGrantRef
	checkLayout(t, "gnttab_map_grant_ref", unsafe.Sizeof(v), 32, []fieldOff{
		{"host_addr", unsafe.Offsetof(v.HostAddr), 0},
		{"flags", unsafe.Offsetof(v.Flags), 8},
		{"ref", unsafe.Offsetof(v.Ref), 12},
		{"dom", unsafe.Offsetof(v.Dom), 16},
		{"status", unsafe.Offsetof(v.Status), 18},
		{"handle", unsafe.Offsetof(v.Handle), 20},
		{"dev_bus_addr", unsafe.Offsetof(v.DevBusAddr), 24},
	})
	if GnttabMapGrantRefSize != 32 {
		t.Errorf("GnttabMapGrantRefSize = %d, want 32", GnttabMapGrantRefSize)
	}
}

func TestGnttabMapGrantRefEncoding(t *testing.T) {
	v := GnttabMapGrantRef{HostAddr: 0x0807060504030201, Flags: 0x0c0b0a09, Ref: 0x100f0e0d, Dom: 0x1211, Status: 0x1413, Handle: 0x18171615, DevBusAddr: 0x201f1e1d1c1b1a19}
	checkEncoding(t, &v, &GnttabMapGrantRef{}, seqPattern(32))
}

// struct gnttab_unmap_grant_ref, from xen/include/public/grant_table.h.
func TestGnttabUnmapGrantRefLayout(t *testing.T) {
	var v GnttabUnmapGrantRef
	checkLayout(t, "gnttab_unmap_grant_ref", unsafe.Sizeof(v), 24, []fieldOff{
		{"host_addr", unsafe.Offsetof(v.HostAddr), 0},
		{"dev_bus_addr", unsafe.Offsetof(v.DevBusAddr), 8},
		{"handle", unsafe.Offsetof(v.Handle), 16},
		{"status", unsafe.Offsetof(v.Status), 20},
	})
	if GnttabUnmapGrantRefSize != 24 {
		t.Errorf("GnttabUnmapGrantRefSize = %d, want 24", GnttabUnmapGrantRefSize)
	}
}

func TestGnttabUnmapGrantRefEncoding(t *testing.T) {
	v := GnttabUnmapGrantRef{HostAddr: 0x0807060504030201, DevBusAddr: 0x100f0e0d0c0b0a09, Handle: 0x14131211, Status: 0x1615}
	checkEncoding(t, &v, &GnttabUnmapGrantRef{}, seqPattern(24, [2]int{22, 24}))
}

// struct gnttab_setup_table, from xen/include/public/grant_table.h.
func TestGnttabSetupTableLayout(t *testing.T) {
	var v GnttabSetupTable
	checkLayout(t, "gnttab_setup_table", unsafe.Sizeof(v), 24, []fieldOff{
		{"dom", unsafe.Offsetof(v.Dom), 0},
		{"nr_frames", unsafe.Offsetof(v.NrFrames), 4},
		{"status", unsafe.Offsetof(v.Status), 8},
		{"frame_list", unsafe.Offsetof(v.FrameList), 16},
	})
	if GnttabSetupTableSize != 24 {
		t.Errorf("GnttabSetupTableSize = %d, want 24", GnttabSetupTableSize)
	}
}

func TestGnttabSetupTableEncoding(t *testing.T) {
	v := GnttabSetupTable{Dom: 0x0201, NrFrames: 0x08070605, Status: 0x0a09, FrameList: 0x1817161514131211}
	checkEncoding(t, &v, &GnttabSetupTable{}, seqPattern(24, [2]int{2, 4}, [2]int{10, 16}))
}

// struct gnttab_dump_table, from xen/include/public/grant_table.h.
func TestGnttabDumpTableLayout(t *testing.T) {
	var v GnttabDumpTable
	checkLayout(t, "gnttab_dump_table", unsafe.Sizeof(v), 4, []fieldOff{
		{"dom", unsafe.Offsetof(v.Dom), 0},
		{"status", unsafe.Offsetof(v.Status), 2},
	})
	if GnttabDumpTableSize != 4 {
		t.Errorf("GnttabDumpTableSize = %d, want 4", GnttabDumpTableSize)
	}
}

func TestGnttabDumpTableEncoding(t *testing.T) {
	v := GnttabDumpTable{Dom: 0x0201, Status: 0x0403}
	checkEncoding(t, &v, &GnttabDumpTable{}, seqPattern(4))
}

// struct gnttab_transfer, from xen/include/public/grant_table.h.
func TestGnttabTransferLayout(t *testing.T) {
	var v GnttabTransfer
	checkLayout(t, "gnttab_transfer", unsafe.Sizeof(v), 24, []fieldOff{
		{"mfn", unsafe.Offsetof(v.MFN), 0},
		{"domid", unsafe.Offsetof(v.DomID), 8},
		{"ref", unsafe.Offsetof(v.Ref), 12},
		{"status", unsafe.Offsetof(v.Status), 16},
	})
	if GnttabTransferSize != 24 {
		t.Errorf("GnttabTransferSize = %d, want 24", GnttabTransferSize)
	}
}

func TestGnttabTransferEncoding(t *testing.T) {
	v := GnttabTransfer{MFN: 0x0807060504030201, DomID: 0x0a09, Ref: 0x100f0e0d, Status: 0x1211}
	checkEncoding(t, &v, &GnttabTransfer{}, seqPattern(24, [2]int{10, 12}, [2]int{18, 24}))
}

// struct gnttab_copy_ptr, from xen/include/public/grant_table.h.
func TestGnttabCopyPtrLayout(t *testing.T) {
	var v GnttabCopyPtr
	checkLayout(t, "gnttab_copy_ptr", unsafe.Sizeof(v), 16, []fieldOff{
		{"u", unsafe.Offsetof(v.U), 0},
		{"domid", unsafe.Offsetof(v.DomID), 8},
		{"offset", unsafe.Offsetof(v.Offset), 10},
	})
	if GnttabCopyPtrSize != 16 {
		t.Errorf("GnttabCopyPtrSize = %d, want 16", GnttabCopyPtrSize)
	}
}

func TestGnttabCopyPtrEncoding(t *testing.T) {
	v := GnttabCopyPtr{U: 0x0807060504030201, DomID: 0x0a09, Offset: 0x0c0b}
	checkEncoding(t, &v, &GnttabCopyPtr{}, seqPattern(16, [2]int{12, 16}))
}

// struct gnttab_copy, from xen/include/public/grant_table.h.
func TestGnttabCopyLayout(t *testing.T) {
	var v GnttabCopy
	checkLayout(t, "gnttab_copy", unsafe.Sizeof(v), 40, []fieldOff{
		{"source", unsafe.Offsetof(v.Source), 0},
		{"dest", unsafe.Offsetof(v.Dest), 16},
		{"len", unsafe.Offsetof(v.Len), 32},
		{"flags", unsafe.Offsetof(v.Flags), 34},
		{"status", unsafe.Offsetof(v.Status), 36},
	})
	if GnttabCopySize != 40 {
		t.Errorf("GnttabCopySize = %d, want 40", GnttabCopySize)
	}
}

func TestGnttabCopyEncoding(t *testing.T) {
	v := GnttabCopy{Source: GnttabCopyPtr{U: 0x0807060504030201, DomID: 0x0a09, Offset: 0x0c0b}, Dest: GnttabCopyPtr{U: 0x1817161514131211, DomID: 0x1a19, Offset: 0x1c1b}, Len: 0x2221, Flags: 0x2423, Status: 0x2625}
	checkEncoding(t, &v, &GnttabCopy{}, seqPattern(40, [2]int{12, 16}, [2]int{28, 32}, [2]int{38, 40}))
}

// struct gnttab_query_size, from xen/include/public/grant_table.h.
func TestGnttabQuerySizeLayout(t *testing.T) {
	var v GnttabQuerySize
	checkLayout(t, "gnttab_query_size", unsafe.Sizeof(v), 16, []fieldOff{
		{"dom", unsafe.Offsetof(v.Dom), 0},
		{"nr_frames", unsafe.Offsetof(v.NrFrames), 4},
		{"max_nr_frames", unsafe.Offsetof(v.MaxNrFrames), 8},
		{"status", unsafe.Offsetof(v.Status), 12},
	})
	if GnttabQuerySizeSize != 16 {
		t.Errorf("GnttabQuerySizeSize = %d, want 16", GnttabQuerySizeSize)
	}
}

func TestGnttabQuerySizeEncoding(t *testing.T) {
	v := GnttabQuerySize{Dom: 0x0201, NrFrames: 0x08070605, MaxNrFrames: 0x0c0b0a09, Status: 0x0e0d}
	checkEncoding(t, &v, &GnttabQuerySize{}, seqPattern(16, [2]int{2, 4}, [2]int{14, 16}))
}

// struct gnttab_unmap_and_replace, from xen/include/public/grant_table.h.
func TestGnttabUnmapAndReplaceLayout(t *testing.T) {
	var v GnttabUnmapAndReplace
	checkLayout(t, "gnttab_unmap_and_replace", unsafe.Sizeof(v), 24, []fieldOff{
		{"host_addr", unsafe.Offsetof(v.HostAddr), 0},
		{"new_addr", unsafe.Offsetof(v.NewAddr), 8},
		{"handle", unsafe.Offsetof(v.Handle), 16},
		{"status", unsafe.Offsetof(v.Status), 20},
	})
	if GnttabUnmapAndReplaceSize != 24 {
		t.Errorf("GnttabUnmapAndReplaceSize = %d, want 24", GnttabUnmapAndReplaceSize)
	}
}

func TestGnttabUnmapAndReplaceEncoding(t *testing.T) {
	v := GnttabUnmapAndReplace{HostAddr: 0x0807060504030201, NewAddr: 0x100f0e0d0c0b0a09, Handle: 0x14131211, Status: 0x1615}
	checkEncoding(t, &v, &GnttabUnmapAndReplace{}, seqPattern(24, [2]int{22, 24}))
}

// struct gnttab_set_version, from xen/include/public/grant_table.h.
func TestGnttabSetVersionLayout(t *testing.T) {
	var v GnttabSetVersion
	checkLayout(t, "gnttab_set_version", unsafe.Sizeof(v), 4, []fieldOff{
		{"version", unsafe.Offsetof(v.Version), 0},
	})
	if GnttabSetVersionSize != 4 {
		t.Errorf("GnttabSetVersionSize = %d, want 4", GnttabSetVersionSize)
	}
}

func TestGnttabSetVersionEncoding(t *testing.T) {
	v := GnttabSetVersion{Version: 0x04030201}
	checkEncoding(t, &v, &GnttabSetVersion{}, seqPattern(4))
}

// struct gnttab_get_status_frames, from xen/include/public/grant_table.h.
func TestGnttabGetStatusFramesLayout(t *testing.T) {
	var v GnttabGetStatusFrames
	checkLayout(t, "gnttab_get_status_frames", unsafe.Sizeof(v), 16, []fieldOff{
		{"nr_frames", unsafe.Offsetof(v.NrFrames), 0},
		{"dom", unsafe.Offsetof(v.Dom), 4},
		{"status", unsafe.Offsetof(v.Status), 6},
		{"frame_list", unsafe.Offsetof(v.FrameList), 8},
	})
	if GnttabGetStatusFramesSize != 16 {
		t.Errorf("GnttabGetStatusFramesSize = %d, want 16", GnttabGetStatusFramesSize)
	}
}

func TestGnttabGetStatusFramesEncoding(t *testing.T) {
	v := GnttabGetStatusFrames{NrFrames: 0x04030201, Dom: 0x0605, Status: 0x0807, FrameList: 0x100f0e0d0c0b0a09}
	checkEncoding(t, &v, &GnttabGetStatusFrames{}, seqPattern(16))
}

// struct gnttab_get_version, from xen/include/public/grant_table.h.
func TestGnttabGetVersionLayout(t *testing.T) {
	var v GnttabGetVersion
	checkLayout(t, "gnttab_get_version", unsafe.Sizeof(v), 8, []fieldOff{
		{"dom", unsafe.Offsetof(v.Dom), 0},
		{"pad", unsafe.Offsetof(v.Pad), 2},
		{"version", unsafe.Offsetof(v.Version), 4},
	})
	if GnttabGetVersionSize != 8 {
		t.Errorf("GnttabGetVersionSize = %d, want 8", GnttabGetVersionSize)
	}
}

func TestGnttabGetVersionEncoding(t *testing.T) {
	v := GnttabGetVersion{Dom: 0x0201, Pad: 0x0403, Version: 0x08070605}
	checkEncoding(t, &v, &GnttabGetVersion{}, seqPattern(8))
}

// struct gnttab_swap_grant_ref, from xen/include/public/grant_table.h.
func TestGnttabSwapGrantRefLayout(t *testing.T) {
	var v GnttabSwapGrantRef
	checkLayout(t, "gnttab_swap_grant_ref", unsafe.Sizeof(v), 12, []fieldOff{
		{"ref_a", unsafe.Offsetof(v.RefA), 0},
		{"ref_b", unsafe.Offsetof(v.RefB), 4},
		{"status", unsafe.Offsetof(v.Status), 8},
	})
	if GnttabSwapGrantRefSize != 12 {
		t.Errorf("GnttabSwapGrantRefSize = %d, want 12", GnttabSwapGrantRefSize)
	}
}

func TestGnttabSwapGrantRefEncoding(t *testing.T) {
	v := GnttabSwapGrantRef{RefA: 0x04030201, RefB: 0x08070605, Status: 0x0a09}
	checkEncoding(t, &v, &GnttabSwapGrantRef{}, seqPattern(12, [2]int{10, 12}))
}

// struct gnttab_cache_flush, from xen/include/public/grant_table.h.
func TestGnttabCacheFlushLayout(t *testing.T) {
	var v GnttabCacheFlush
	checkLayout(t, "gnttab_cache_flush", unsafe.Sizeof(v), 16, []fieldOff{
		{"a", unsafe.Offsetof(v.A), 0},
		{"offset", unsafe.Offsetof(v.Offset), 8},
		{"length", unsafe.Offsetof(v.Length), 10},
		{"op", unsafe.Offsetof(v.Op), 12},
	})
	if GnttabCacheFlushSize != 16 {
		t.Errorf("GnttabCacheFlushSize = %d, want 16", GnttabCacheFlushSize)
	}
}

func TestGnttabCacheFlushEncoding(t *testing.T) {
	v := GnttabCacheFlush{A: 0x0807060504030201, Offset: 0x0a09, Length: 0x0c0b, Op: 0x100f0e0d}
	checkEncoding(t, &v, &GnttabCacheFlush{}, seqPattern(16))
}
