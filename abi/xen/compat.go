package xen

// Xen's 32-bit ("compat") layouts of the hypercall structures whose i386
// layout differs from the x86-64 one. Xen serves a 32-bit caller — for an
// HVM or PVH guest, any vCPU not in 64-bit mode when it makes the call
// (hvm_hypercall, hvm_guest_x86_mode() != 8) — with these layouts: the
// structures marked "!" in xen/include/xlat.lst, built from the public
// headers under the i386 ABI (#pragma pack(4) in the generated compat
// headers). Three rules make them differ:
//
//   - guest handles (XEN_GUEST_HANDLE) are 32-bit pointers;
//   - unsigned long, xen_ulong_t and xen_pfn_t are 32 bits;
//   - uint64_t is aligned to 4 bytes, not 8.
//
// The structures whose layout is the same in both ABIs (event channels,
// grant map/unmap/query_size/set_version/get_version, xen_hvm_param,
// vcpu_register_vcpu_info, vcpu_time_info, feature_info, sched_shutdown;
// the "?" lines of xlat.lst) have no compat type.
//
// Each CompatX is a defined type over the native X, so the two convert
// freely (CompatX(x), X(c)): the hypervisor decodes a 32-bit caller's
// bytes with the compat type and then works on the native value, as Xen's
// XLAT_* macros do. Decoding zero-extends the 32-bit fields; encoding
// keeps their low 32 bits.

// CompatPFNSize is the size of a compat xen_pfn_t (and compat_ulong_t):
// the elements of the extent list of CompatXenMemoryReservation and of the
// frame list of CompatGnttabSetupTable.
const CompatPFNSize = 4

// Sizes of the compat structures (i386 sizeof).
const (
	CompatSchedPollSize              = 16 // struct compat_sched_poll
	CompatXenMemoryReservationSize   = 20 // struct compat_xen_memory_reservation
	CompatXenAddToPhysmapSize        = 16 // struct compat_xen_add_to_physmap
	CompatXenMemoryMapSize           = 8  // struct compat_xen_memory_map
	CompatVCPURunstateInfoSize       = 44 // struct compat_vcpu_runstate_info
	CompatVCPUSetSingleshotTimerSize = 12 // struct compat_vcpu_set_singleshot_timer
	CompatGnttabSetupTableSize       = 16 // struct compat_gnttab_setup_table
	CompatGnttabCopySize             = 24 // struct compat_gnttab_copy
	CompatXenPlatformParametersSize  = 4  // struct compat_xen_platform_parameters
)

// CompatSchedPoll is struct compat_sched_poll (16 bytes), the 32-bit layout of SchedPoll.
// The ports handle is a 32-bit pointer and timeout, a uint64_t, sits at offset 8 (i386 aligns it to 4).
type CompatSchedPoll SchedPoll

// Encode writes x into b[:CompatSchedPollSize] in the 32-bit layout. It panics if b is
// shorter.
func (x *CompatSchedPoll) Encode(b []byte) {
	_ = b[CompatSchedPollSize-1]
	le.PutUint32(b[0:], uint32(x.Ports))
	le.PutUint32(b[4:], x.NrPorts)
	le.PutUint64(b[8:], x.Timeout)
}

// Decode reads x from the first CompatSchedPollSize bytes of b (32-bit layout), or
// returns an error if b is shorter.
func (x *CompatSchedPoll) Decode(b []byte) error {
	if len(b) < CompatSchedPollSize {
		return shortError("compat_sched_poll", CompatSchedPollSize, len(b))
	}
	x.Ports = uint64(le.Uint32(b[0:]))
	x.NrPorts = le.Uint32(b[4:])
	x.Timeout = le.Uint64(b[8:])
	return nil
}

// AppendBinary appends the 32-bit encoding of x to b (encoding.BinaryAppender).
func (x *CompatSchedPoll) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, CompatSchedPollSize, x), nil
}

// MarshalBinary returns the CompatSchedPollSize-byte encoding of x.
func (x *CompatSchedPoll) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly CompatSchedPollSize bytes
// long.
func (x *CompatSchedPoll) UnmarshalBinary(b []byte) error {
	if err := exactLength("compat_sched_poll", CompatSchedPollSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// CompatXenMemoryReservation is struct compat_xen_memory_reservation (20 bytes), the 32-bit layout of XenMemoryReservation.
// extent_start is a 32-bit handle to an array of compat xen_pfn_t (CompatPFNSize bytes each) and nr_extents an unsigned long.
type CompatXenMemoryReservation XenMemoryReservation

// Encode writes x into b[:CompatXenMemoryReservationSize] in the 32-bit layout. It panics if b is
// shorter.
func (x *CompatXenMemoryReservation) Encode(b []byte) {
	_ = b[CompatXenMemoryReservationSize-1]
	le.PutUint32(b[0:], uint32(x.ExtentStart))
	le.PutUint32(b[4:], uint32(x.NrExtents))
	le.PutUint32(b[8:], x.ExtentOrder)
	le.PutUint32(b[12:], x.MemFlags)
	le.PutUint16(b[16:], x.DomID)
	clear(b[18:20])
}

// Decode reads x from the first CompatXenMemoryReservationSize bytes of b (32-bit layout), or
// returns an error if b is shorter.
func (x *CompatXenMemoryReservation) Decode(b []byte) error {
	if len(b) < CompatXenMemoryReservationSize {
		return shortError("compat_xen_memory_reservation", CompatXenMemoryReservationSize, len(b))
	}
	x.ExtentStart = uint64(le.Uint32(b[0:]))
	x.NrExtents = uint64(le.Uint32(b[4:]))
	x.ExtentOrder = le.Uint32(b[8:])
	x.MemFlags = le.Uint32(b[12:])
	x.DomID = le.Uint16(b[16:])
	return nil
}

// AppendBinary appends the 32-bit encoding of x to b (encoding.BinaryAppender).
func (x *CompatXenMemoryReservation) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, CompatXenMemoryReservationSize, x), nil
}

// MarshalBinary returns the CompatXenMemoryReservationSize-byte encoding of x.
func (x *CompatXenMemoryReservation) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly CompatXenMemoryReservationSize bytes
// long.
func (x *CompatXenMemoryReservation) UnmarshalBinary(b []byte) error {
	if err := exactLength("compat_xen_memory_reservation", CompatXenMemoryReservationSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// CompatXenAddToPhysmap is struct compat_xen_add_to_physmap (16 bytes), the 32-bit layout of XenAddToPhysmap.
// idx (xen_ulong_t) and gpfn (xen_pfn_t) are 32 bits.
type CompatXenAddToPhysmap XenAddToPhysmap

// Encode writes x into b[:CompatXenAddToPhysmapSize] in the 32-bit layout. It panics if b is
// shorter.
func (x *CompatXenAddToPhysmap) Encode(b []byte) {
	_ = b[CompatXenAddToPhysmapSize-1]
	le.PutUint16(b[0:], x.DomID)
	le.PutUint16(b[2:], x.Size)
	le.PutUint32(b[4:], x.Space)
	le.PutUint32(b[8:], uint32(x.Idx))
	le.PutUint32(b[12:], uint32(x.GPFN))
}

// Decode reads x from the first CompatXenAddToPhysmapSize bytes of b (32-bit layout), or
// returns an error if b is shorter.
func (x *CompatXenAddToPhysmap) Decode(b []byte) error {
	if len(b) < CompatXenAddToPhysmapSize {
		return shortError("compat_xen_add_to_physmap", CompatXenAddToPhysmapSize, len(b))
	}
	x.DomID = le.Uint16(b[0:])
	x.Size = le.Uint16(b[2:])
	x.Space = le.Uint32(b[4:])
	x.Idx = uint64(le.Uint32(b[8:]))
	x.GPFN = uint64(le.Uint32(b[12:]))
	return nil
}

// AppendBinary appends the 32-bit encoding of x to b (encoding.BinaryAppender).
func (x *CompatXenAddToPhysmap) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, CompatXenAddToPhysmapSize, x), nil
}

// MarshalBinary returns the CompatXenAddToPhysmapSize-byte encoding of x.
func (x *CompatXenAddToPhysmap) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly CompatXenAddToPhysmapSize bytes
// long.
func (x *CompatXenAddToPhysmap) UnmarshalBinary(b []byte) error {
	if err := exactLength("compat_xen_add_to_physmap", CompatXenAddToPhysmapSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// CompatXenMemoryMap is struct compat_xen_memory_map (8 bytes), the 32-bit layout of XenMemoryMap.
// The buffer handle is a 32-bit pointer; the e820 entries it points to are the same 20 bytes.
type CompatXenMemoryMap XenMemoryMap

// Encode writes x into b[:CompatXenMemoryMapSize] in the 32-bit layout. It panics if b is
// shorter.
func (x *CompatXenMemoryMap) Encode(b []byte) {
	_ = b[CompatXenMemoryMapSize-1]
	le.PutUint32(b[0:], x.NrEntries)
	le.PutUint32(b[4:], uint32(x.Buffer))
}

// Decode reads x from the first CompatXenMemoryMapSize bytes of b (32-bit layout), or
// returns an error if b is shorter.
func (x *CompatXenMemoryMap) Decode(b []byte) error {
	if len(b) < CompatXenMemoryMapSize {
		return shortError("compat_xen_memory_map", CompatXenMemoryMapSize, len(b))
	}
	x.NrEntries = le.Uint32(b[0:])
	x.Buffer = uint64(le.Uint32(b[4:]))
	return nil
}

// AppendBinary appends the 32-bit encoding of x to b (encoding.BinaryAppender).
func (x *CompatXenMemoryMap) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, CompatXenMemoryMapSize, x), nil
}

// MarshalBinary returns the CompatXenMemoryMapSize-byte encoding of x.
func (x *CompatXenMemoryMap) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly CompatXenMemoryMapSize bytes
// long.
func (x *CompatXenMemoryMap) UnmarshalBinary(b []byte) error {
	if err := exactLength("compat_xen_memory_map", CompatXenMemoryMapSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// CompatVCPURunstateInfo is struct compat_vcpu_runstate_info (44 bytes), the 32-bit layout of VCPURunstateInfo.
// state_entry_time follows state at offset 4: i386 aligns uint64_t to 4, so the structure is 44 bytes, not 48.
type CompatVCPURunstateInfo VCPURunstateInfo

// Encode writes x into b[:CompatVCPURunstateInfoSize] in the 32-bit layout. It panics if b is
// shorter.
func (x *CompatVCPURunstateInfo) Encode(b []byte) {
	_ = b[CompatVCPURunstateInfoSize-1]
	le.PutUint32(b[0:], uint32(x.State))
	le.PutUint64(b[4:], x.StateEntryTime)
	le.PutUint64(b[12:], x.Time[0])
	le.PutUint64(b[20:], x.Time[1])
	le.PutUint64(b[28:], x.Time[2])
	le.PutUint64(b[36:], x.Time[3])
}

// Decode reads x from the first CompatVCPURunstateInfoSize bytes of b (32-bit layout), or
// returns an error if b is shorter.
func (x *CompatVCPURunstateInfo) Decode(b []byte) error {
	if len(b) < CompatVCPURunstateInfoSize {
		return shortError("compat_vcpu_runstate_info", CompatVCPURunstateInfoSize, len(b))
	}
	x.State = int32(le.Uint32(b[0:]))
	x.StateEntryTime = le.Uint64(b[4:])
	x.Time[0] = le.Uint64(b[12:])
	x.Time[1] = le.Uint64(b[20:])
	x.Time[2] = le.Uint64(b[28:])
	x.Time[3] = le.Uint64(b[36:])
	return nil
}

// AppendBinary appends the 32-bit encoding of x to b (encoding.BinaryAppender).
func (x *CompatVCPURunstateInfo) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, CompatVCPURunstateInfoSize, x), nil
}

// MarshalBinary returns the CompatVCPURunstateInfoSize-byte encoding of x.
func (x *CompatVCPURunstateInfo) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly CompatVCPURunstateInfoSize bytes
// long.
func (x *CompatVCPURunstateInfo) UnmarshalBinary(b []byte) error {
	if err := exactLength("compat_vcpu_runstate_info", CompatVCPURunstateInfoSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// CompatVCPUSetSingleshotTimer is struct compat_vcpu_set_singleshot_timer (12 bytes), the 32-bit layout of VCPUSetSingleshotTimer.
// No tail padding: 12 bytes.
type CompatVCPUSetSingleshotTimer VCPUSetSingleshotTimer

// Encode writes x into b[:CompatVCPUSetSingleshotTimerSize] in the 32-bit layout. It panics if b is
// shorter.
func (x *CompatVCPUSetSingleshotTimer) Encode(b []byte) {
	_ = b[CompatVCPUSetSingleshotTimerSize-1]
	le.PutUint64(b[0:], x.TimeoutAbsNs)
	le.PutUint32(b[8:], x.Flags)
}

// Decode reads x from the first CompatVCPUSetSingleshotTimerSize bytes of b (32-bit layout), or
// returns an error if b is shorter.
func (x *CompatVCPUSetSingleshotTimer) Decode(b []byte) error {
	if len(b) < CompatVCPUSetSingleshotTimerSize {
		return shortError("compat_vcpu_set_singleshot_timer", CompatVCPUSetSingleshotTimerSize, len(b))
	}
	x.TimeoutAbsNs = le.Uint64(b[0:])
	x.Flags = le.Uint32(b[8:])
	return nil
}

// AppendBinary appends the 32-bit encoding of x to b (encoding.BinaryAppender).
func (x *CompatVCPUSetSingleshotTimer) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, CompatVCPUSetSingleshotTimerSize, x), nil
}

// MarshalBinary returns the CompatVCPUSetSingleshotTimerSize-byte encoding of x.
func (x *CompatVCPUSetSingleshotTimer) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly CompatVCPUSetSingleshotTimerSize bytes
// long.
func (x *CompatVCPUSetSingleshotTimer) UnmarshalBinary(b []byte) error {
	if err := exactLength("compat_vcpu_set_singleshot_timer", CompatVCPUSetSingleshotTimerSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// CompatGnttabSetupTable is struct compat_gnttab_setup_table (16 bytes), the 32-bit layout of GnttabSetupTable.
// frame_list is a 32-bit handle to an array of compat xen_pfn_t (CompatPFNSize bytes each).
type CompatGnttabSetupTable GnttabSetupTable

// Encode writes x into b[:CompatGnttabSetupTableSize] in the 32-bit layout. It panics if b is
// shorter.
func (x *CompatGnttabSetupTable) Encode(b []byte) {
	_ = b[CompatGnttabSetupTableSize-1]
	le.PutUint16(b[0:], x.Dom)
	le.PutUint32(b[4:], x.NrFrames)
	le.PutUint16(b[8:], uint16(x.Status))
	le.PutUint32(b[12:], uint32(x.FrameList))
	clear(b[2:4])
	clear(b[10:12])
}

// Decode reads x from the first CompatGnttabSetupTableSize bytes of b (32-bit layout), or
// returns an error if b is shorter.
func (x *CompatGnttabSetupTable) Decode(b []byte) error {
	if len(b) < CompatGnttabSetupTableSize {
		return shortError("compat_gnttab_setup_table", CompatGnttabSetupTableSize, len(b))
	}
	x.Dom = le.Uint16(b[0:])
	x.NrFrames = le.Uint32(b[4:])
	x.Status = int16(le.Uint16(b[8:]))
	x.FrameList = uint64(le.Uint32(b[12:]))
	return nil
}

// AppendBinary appends the 32-bit encoding of x to b (encoding.BinaryAppender).
func (x *CompatGnttabSetupTable) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, CompatGnttabSetupTableSize, x), nil
}

// MarshalBinary returns the CompatGnttabSetupTableSize-byte encoding of x.
func (x *CompatGnttabSetupTable) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly CompatGnttabSetupTableSize bytes
// long.
func (x *CompatGnttabSetupTable) UnmarshalBinary(b []byte) error {
	if err := exactLength("compat_gnttab_setup_table", CompatGnttabSetupTableSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// CompatGnttabCopy is struct compat_gnttab_copy (24 bytes), the 32-bit layout of GnttabCopy.
// Each side's u (grant_ref_t or xen_pfn_t) is 32 bits, so a side is 8 bytes and the whole 24.
type CompatGnttabCopy GnttabCopy

// Encode writes x into b[:CompatGnttabCopySize] in the 32-bit layout. It panics if b is
// shorter.
func (x *CompatGnttabCopy) Encode(b []byte) {
	_ = b[CompatGnttabCopySize-1]
	le.PutUint32(b[0:], uint32(x.Source.U))
	le.PutUint16(b[4:], x.Source.DomID)
	le.PutUint16(b[6:], x.Source.Offset)
	le.PutUint32(b[8:], uint32(x.Dest.U))
	le.PutUint16(b[12:], x.Dest.DomID)
	le.PutUint16(b[14:], x.Dest.Offset)
	le.PutUint16(b[16:], x.Len)
	le.PutUint16(b[18:], x.Flags)
	le.PutUint16(b[20:], uint16(x.Status))
	clear(b[22:24])
}

// Decode reads x from the first CompatGnttabCopySize bytes of b (32-bit layout), or
// returns an error if b is shorter.
func (x *CompatGnttabCopy) Decode(b []byte) error {
	if len(b) < CompatGnttabCopySize {
		return shortError("compat_gnttab_copy", CompatGnttabCopySize, len(b))
	}
	x.Source.U = uint64(le.Uint32(b[0:]))
	x.Source.DomID = le.Uint16(b[4:])
	x.Source.Offset = le.Uint16(b[6:])
	x.Dest.U = uint64(le.Uint32(b[8:]))
	x.Dest.DomID = le.Uint16(b[12:])
	x.Dest.Offset = le.Uint16(b[14:])
	x.Len = le.Uint16(b[16:])
	x.Flags = le.Uint16(b[18:])
	x.Status = int16(le.Uint16(b[20:]))
	return nil
}

// AppendBinary appends the 32-bit encoding of x to b (encoding.BinaryAppender).
func (x *CompatGnttabCopy) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, CompatGnttabCopySize, x), nil
}

// MarshalBinary returns the CompatGnttabCopySize-byte encoding of x.
func (x *CompatGnttabCopy) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly CompatGnttabCopySize bytes
// long.
func (x *CompatGnttabCopy) UnmarshalBinary(b []byte) error {
	if err := exactLength("compat_gnttab_copy", CompatGnttabCopySize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// CompatXenPlatformParameters is struct compat_xen_platform_parameters (4 bytes), the 32-bit layout of XenPlatformParameters.
// virt_start is an unsigned long.
type CompatXenPlatformParameters XenPlatformParameters

// Encode writes x into b[:CompatXenPlatformParametersSize] in the 32-bit layout. It panics if b is
// shorter.
func (x *CompatXenPlatformParameters) Encode(b []byte) {
	_ = b[CompatXenPlatformParametersSize-1]
	le.PutUint32(b[0:], uint32(x.VirtStart))
}

// Decode reads x from the first CompatXenPlatformParametersSize bytes of b (32-bit layout), or
// returns an error if b is shorter.
func (x *CompatXenPlatformParameters) Decode(b []byte) error {
	if len(b) < CompatXenPlatformParametersSize {
		return shortError("compat_xen_platform_parameters", CompatXenPlatformParametersSize, len(b))
	}
	x.VirtStart = uint64(le.Uint32(b[0:]))
	return nil
}

// AppendBinary appends the 32-bit encoding of x to b (encoding.BinaryAppender).
func (x *CompatXenPlatformParameters) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, CompatXenPlatformParametersSize, x), nil
}

// MarshalBinary returns the CompatXenPlatformParametersSize-byte encoding of x.
func (x *CompatXenPlatformParameters) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly CompatXenPlatformParametersSize bytes
// long.
func (x *CompatXenPlatformParameters) UnmarshalBinary(b []byte) error {
	if err := exactLength("compat_xen_platform_parameters", CompatXenPlatformParametersSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}
