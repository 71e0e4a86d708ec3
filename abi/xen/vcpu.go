package xen

// The vcpu_op hypercall: VCPUOP_* commands, their arguments and the
// runstate area (xen/include/public/vcpu.h). The call is
// vcpu_op(cmd, vcpuid, extra_arg).

// vcpu_op commands (VCPUOP_* in vcpu.h).
const (
	// VCPUOpInitialise is VCPUOP_initialise: set a vCPU's initial state
	// (vcpu_guest_context for PV, vcpu_hvm_context for HVM). Linux PVH
	// starts secondary CPUs with INIT/SIPI instead.
	VCPUOpInitialise = 0
	// VCPUOpUp is VCPUOP_up: make an initialised vCPU runnable.
	VCPUOpUp = 1
	// VCPUOpDown is VCPUOP_down: make a vCPU non-runnable.
	VCPUOpDown = 2
	// VCPUOpIsUp is VCPUOP_is_up: returns 1 if the vCPU is up, else 0.
	VCPUOpIsUp = 3
	// VCPUOpGetRunstateInfo is VCPUOP_get_runstate_info: fills a
	// VCPURunstateInfo.
	VCPUOpGetRunstateInfo = 4
	// VCPUOpRegisterRunstateMemoryArea is
	// VCPUOP_register_runstate_memory_area
	// (VCPURegisterRunstateMemoryArea): a guest-virtual address Xen keeps
	// updated with the vCPU's VCPURunstateInfo. Linux BUGs if it fails.
	VCPUOpRegisterRunstateMemoryArea = 5
	// VCPUOpSetPeriodicTimer is VCPUOP_set_periodic_timer
	// (VCPUSetPeriodicTimer).
	VCPUOpSetPeriodicTimer = 6
	// VCPUOpStopPeriodicTimer is VCPUOP_stop_periodic_timer (argument NULL).
	VCPUOpStopPeriodicTimer = 7
	// VCPUOpSetSingleshotTimer is VCPUOP_set_singleshot_timer
	// (VCPUSetSingleshotTimer): VIRQ_TIMER fires at the given system time.
	VCPUOpSetSingleshotTimer = 8
	// VCPUOpStopSingleshotTimer is VCPUOP_stop_singleshot_timer (argument
	// NULL).
	VCPUOpStopSingleshotTimer = 9
	// VCPUOpRegisterVCPUInfo is VCPUOP_register_vcpu_info
	// (VCPURegisterVCPUInfo): move the vCPU's VCPUInfo to a guest page.
	// Allowed once per vCPU; Linux panics if it fails.
	VCPUOpRegisterVCPUInfo = 10
	// VCPUOpSendNMI is VCPUOP_send_nmi (argument NULL).
	VCPUOpSendNMI = 11
	// VCPUOpGetPhysid is VCPUOP_get_physid (VCPUGetPhysid).
	VCPUOpGetPhysid = 12
	// VCPUOpRegisterVCPUTimeMemoryArea is
	// VCPUOP_register_vcpu_time_memory_area (VCPURegisterTimeMemoryArea): a
	// guest-virtual address for a secondary copy of the vCPU's VCPUTimeInfo.
	VCPUOpRegisterVCPUTimeMemoryArea = 13
	// VCPUOpRegisterRunstatePhysArea is VCPUOP_register_runstate_phys_area:
	// like 5, but Addr is a guest-physical address (~0 unregisters); the
	// area may not cross a page. Signalled by XENFEAT_runstate_phys_area.
	VCPUOpRegisterRunstatePhysArea = 14
	// VCPUOpRegisterVCPUTimePhysArea is VCPUOP_register_vcpu_time_phys_area:
	// like 13 with a guest-physical address. Signalled by
	// XENFEAT_vcpu_time_phys_area.
	VCPUOpRegisterVCPUTimePhysArea = 15
)

// Runstates (RUNSTATE_* in vcpu.h), VCPURunstateInfo.State and the index
// into VCPURunstateInfo.Time.
const (
	// RunstateRunning is RUNSTATE_running: on a physical CPU.
	RunstateRunning = 0
	// RunstateRunnable is RUNSTATE_runnable: runnable, waiting for a CPU.
	RunstateRunnable = 1
	// RunstateBlocked is RUNSTATE_blocked: blocked (idle).
	RunstateBlocked = 2
	// RunstateOffline is RUNSTATE_offline: neither runnable nor blocked
	// (down, or paused by the toolstack).
	RunstateOffline = 3
)

// XenRunstateUpdate is XEN_RUNSTATE_UPDATE (bit 63), set in
// VCPURunstateInfo.StateEntryTime of the guest's registered copy while
// Xen updates it, once the guest enabled
// VMASST_TYPE_runstate_update_flag.
const XenRunstateUpdate = 1 << 63

// VCPUSshottmrFuture is VCPU_SSHOTTMR_future (bit 0 of
// VCPUSetSingleshotTimer.Flags): fail with -ETIME if the timeout has
// already passed. Xen may ignore it; without it a past deadline fires at
// once. Linux passes 0 and BUGs on any error.
const VCPUSshottmrFuture = 1 << 0

// Encoded sizes in bytes of the vcpu_op structures.
const (
	VCPURunstateInfoSize               = 48 // struct vcpu_runstate_info
	VCPURegisterRunstateMemoryAreaSize = 8  // struct vcpu_register_runstate_memory_area
	VCPUSetPeriodicTimerSize           = 8  // struct vcpu_set_periodic_timer
	VCPUSetSingleshotTimerSize         = 16 // struct vcpu_set_singleshot_timer
	VCPURegisterVCPUInfoSize           = 16 // struct vcpu_register_vcpu_info
	VCPUGetPhysidSize                  = 8  // struct vcpu_get_physid
	VCPURegisterTimeMemoryAreaSize     = 8  // struct vcpu_register_time_memory_area
)

// VCPURunstateInfo is struct vcpu_runstate_info (48 bytes): where a vCPU
// is, since when, and how long it has spent in each state. The Time
// entries add up to system time.
type VCPURunstateInfo struct {
	State          int32     // RUNSTATE_*
	StateEntryTime uint64    // system time (ns) the state was entered; bit 63 is XenRunstateUpdate
	Time           [4]uint64 // ns spent in each RUNSTATE_*
}

// Encode writes v into b[:VCPURunstateInfoSize], with zeros in the padding.
// It panics if b is shorter.
func (v *VCPURunstateInfo) Encode(b []byte) {
	_ = b[VCPURunstateInfoSize-1]
	le.PutUint32(b[0:], uint32(v.State))
	clear(b[4:8]) // padding
	le.PutUint64(b[8:], v.StateEntryTime)
	for i, v := range v.Time {
		le.PutUint64(b[16+8*i:], v)
	}
}

// Decode reads v from the first VCPURunstateInfoSize bytes of b, or returns
// an error if b is shorter.
func (v *VCPURunstateInfo) Decode(b []byte) error {
	if len(b) < VCPURunstateInfoSize {
		return shortError("vcpu_runstate_info", VCPURunstateInfoSize, len(b))
	}
	v.State = int32(le.Uint32(b[0:]))
	v.StateEntryTime = le.Uint64(b[8:])
	for i := range v.Time {
		v.Time[i] = le.Uint64(b[16+8*i:])
	}
	return nil
}

// AppendBinary appends the encoding of v to b (encoding.BinaryAppender).
func (v *VCPURunstateInfo) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, VCPURunstateInfoSize, v), nil
}

// MarshalBinary returns the VCPURunstateInfoSize-byte encoding of v.
func (v *VCPURunstateInfo) MarshalBinary() ([]byte, error) { return v.AppendBinary(nil) }

// UnmarshalBinary decodes v from b, which must be exactly
// VCPURunstateInfoSize bytes long.
func (v *VCPURunstateInfo) UnmarshalBinary(b []byte) error {
	if err := exactLength("vcpu_runstate_info", VCPURunstateInfoSize, b); err != nil {
		return err
	}
	return v.Decode(b)
}

// VCPURegisterRunstateMemoryArea is struct
// vcpu_register_runstate_memory_area (8 bytes). Addr is the union of a
// guest handle, a pointer and a uint64 "p": a guest-virtual address for
// op 5, a guest-physical one for op 14.
type VCPURegisterRunstateMemoryArea struct {
	Addr uint64 // addr (union of h, v and p)
}

// Encode writes a into b[:VCPURegisterRunstateMemoryAreaSize]. It panics if
// b is shorter.
func (a *VCPURegisterRunstateMemoryArea) Encode(b []byte) {
	_ = b[VCPURegisterRunstateMemoryAreaSize-1]
	le.PutUint64(b[0:], a.Addr)
}

// Decode reads a from the first VCPURegisterRunstateMemoryAreaSize bytes of
// b, or returns an error if b is shorter.
func (a *VCPURegisterRunstateMemoryArea) Decode(b []byte) error {
	if len(b) < VCPURegisterRunstateMemoryAreaSize {
		return shortError("vcpu_register_runstate_memory_area", VCPURegisterRunstateMemoryAreaSize, len(b))
	}
	a.Addr = le.Uint64(b[0:])
	return nil
}

// AppendBinary appends the encoding of a to b (encoding.BinaryAppender).
func (a *VCPURegisterRunstateMemoryArea) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, VCPURegisterRunstateMemoryAreaSize, a), nil
}

// MarshalBinary returns the VCPURegisterRunstateMemoryAreaSize-byte encoding of a.
func (a *VCPURegisterRunstateMemoryArea) MarshalBinary() ([]byte, error) { return a.AppendBinary(nil) }

// UnmarshalBinary decodes a from b, which must be exactly
// VCPURegisterRunstateMemoryAreaSize bytes long.
func (a *VCPURegisterRunstateMemoryArea) UnmarshalBinary(b []byte) error {
	if err := exactLength("vcpu_register_runstate_memory_area", VCPURegisterRunstateMemoryAreaSize, b); err != nil {
		return err
	}
	return a.Decode(b)
}

// VCPUSetPeriodicTimer is struct vcpu_set_periodic_timer (8 bytes).
type VCPUSetPeriodicTimer struct {
	PeriodNs uint64 // periods below 1 ms may be refused
}

// Encode writes t into b[:VCPUSetPeriodicTimerSize]. It panics if b is
// shorter.
func (t *VCPUSetPeriodicTimer) Encode(b []byte) {
	_ = b[VCPUSetPeriodicTimerSize-1]
	le.PutUint64(b[0:], t.PeriodNs)
}

// Decode reads t from the first VCPUSetPeriodicTimerSize bytes of b, or
// returns an error if b is shorter.
func (t *VCPUSetPeriodicTimer) Decode(b []byte) error {
	if len(b) < VCPUSetPeriodicTimerSize {
		return shortError("vcpu_set_periodic_timer", VCPUSetPeriodicTimerSize, len(b))
	}
	t.PeriodNs = le.Uint64(b[0:])
	return nil
}

// AppendBinary appends the encoding of t to b (encoding.BinaryAppender).
func (t *VCPUSetPeriodicTimer) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, VCPUSetPeriodicTimerSize, t), nil
}

// MarshalBinary returns the VCPUSetPeriodicTimerSize-byte encoding of t.
func (t *VCPUSetPeriodicTimer) MarshalBinary() ([]byte, error) { return t.AppendBinary(nil) }

// UnmarshalBinary decodes t from b, which must be exactly
// VCPUSetPeriodicTimerSize bytes long.
func (t *VCPUSetPeriodicTimer) UnmarshalBinary(b []byte) error {
	if err := exactLength("vcpu_set_periodic_timer", VCPUSetPeriodicTimerSize, b); err != nil {
		return err
	}
	return t.Decode(b)
}

// VCPUSetSingleshotTimer is struct vcpu_set_singleshot_timer (16 bytes).
type VCPUSetSingleshotTimer struct {
	TimeoutAbsNs uint64 // absolute system time, ns
	Flags        uint32 // VCPUSshottmr* flags
}

// Encode writes t into b[:VCPUSetSingleshotTimerSize], with zeros in the
// padding. It panics if b is shorter.
func (t *VCPUSetSingleshotTimer) Encode(b []byte) {
	_ = b[VCPUSetSingleshotTimerSize-1]
	le.PutUint64(b[0:], t.TimeoutAbsNs)
	le.PutUint32(b[8:], t.Flags)
	clear(b[12:16]) // padding
}

// Decode reads t from the first VCPUSetSingleshotTimerSize bytes of b, or
// returns an error if b is shorter.
func (t *VCPUSetSingleshotTimer) Decode(b []byte) error {
	if len(b) < VCPUSetSingleshotTimerSize {
		return shortError("vcpu_set_singleshot_timer", VCPUSetSingleshotTimerSize, len(b))
	}
	t.TimeoutAbsNs = le.Uint64(b[0:])
	t.Flags = le.Uint32(b[8:])
	return nil
}

// AppendBinary appends the encoding of t to b (encoding.BinaryAppender).
func (t *VCPUSetSingleshotTimer) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, VCPUSetSingleshotTimerSize, t), nil
}

// MarshalBinary returns the VCPUSetSingleshotTimerSize-byte encoding of t.
func (t *VCPUSetSingleshotTimer) MarshalBinary() ([]byte, error) { return t.AppendBinary(nil) }

// UnmarshalBinary decodes t from b, which must be exactly
// VCPUSetSingleshotTimerSize bytes long.
func (t *VCPUSetSingleshotTimer) UnmarshalBinary(b []byte) error {
	if err := exactLength("vcpu_set_singleshot_timer", VCPUSetSingleshotTimerSize, b); err != nil {
		return err
	}
	return t.Decode(b)
}

// VCPURegisterVCPUInfo is struct vcpu_register_vcpu_info (16 bytes). For an
// HVM/PVH guest MFN is a guest frame number. The VCPUInfo must fit in the
// page at Offset.
type VCPURegisterVCPUInfo struct {
	MFN    uint64 // frame of the page to hold the vcpu_info
	Offset uint32 // offset within that page
	Rsvd   uint32 // unused
}

// Encode writes r into b[:VCPURegisterVCPUInfoSize]. It panics if b is
// shorter.
func (r *VCPURegisterVCPUInfo) Encode(b []byte) {
	_ = b[VCPURegisterVCPUInfoSize-1]
	le.PutUint64(b[0:], r.MFN)
	le.PutUint32(b[8:], r.Offset)
	le.PutUint32(b[12:], r.Rsvd)
}

// Decode reads r from the first VCPURegisterVCPUInfoSize bytes of b, or
// returns an error if b is shorter.
func (r *VCPURegisterVCPUInfo) Decode(b []byte) error {
	if len(b) < VCPURegisterVCPUInfoSize {
		return shortError("vcpu_register_vcpu_info", VCPURegisterVCPUInfoSize, len(b))
	}
	r.MFN = le.Uint64(b[0:])
	r.Offset = le.Uint32(b[8:])
	r.Rsvd = le.Uint32(b[12:])
	return nil
}

// AppendBinary appends the encoding of r to b (encoding.BinaryAppender).
func (r *VCPURegisterVCPUInfo) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, VCPURegisterVCPUInfoSize, r), nil
}

// MarshalBinary returns the VCPURegisterVCPUInfoSize-byte encoding of r.
func (r *VCPURegisterVCPUInfo) MarshalBinary() ([]byte, error) { return r.AppendBinary(nil) }

// UnmarshalBinary decodes r from b, which must be exactly
// VCPURegisterVCPUInfoSize bytes long.
func (r *VCPURegisterVCPUInfo) UnmarshalBinary(b []byte) error {
	if err := exactLength("vcpu_register_vcpu_info", VCPURegisterVCPUInfoSize, b); err != nil {
		return err
	}
	return r.Decode(b)
}

// VCPUGetPhysid is struct vcpu_get_physid (8 bytes). On x86 bits 31-0 are
// the APIC id and bits 63-32 the ACPI id of the physical CPU.
type VCPUGetPhysid struct {
	PhysID uint64 // phys_id: APIC id | ACPI id<<32
}

// Encode writes p into b[:VCPUGetPhysidSize]. It panics if b is shorter.
func (p *VCPUGetPhysid) Encode(b []byte) {
	_ = b[VCPUGetPhysidSize-1]
	le.PutUint64(b[0:], p.PhysID)
}

// Decode reads p from the first VCPUGetPhysidSize bytes of b, or returns an
// error if b is shorter.
func (p *VCPUGetPhysid) Decode(b []byte) error {
	if len(b) < VCPUGetPhysidSize {
		return shortError("vcpu_get_physid", VCPUGetPhysidSize, len(b))
	}
	p.PhysID = le.Uint64(b[0:])
	return nil
}

// AppendBinary appends the encoding of p to b (encoding.BinaryAppender).
func (p *VCPUGetPhysid) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, VCPUGetPhysidSize, p), nil
}

// MarshalBinary returns the VCPUGetPhysidSize-byte encoding of p.
func (p *VCPUGetPhysid) MarshalBinary() ([]byte, error) { return p.AppendBinary(nil) }

// UnmarshalBinary decodes p from b, which must be exactly VCPUGetPhysidSize
// bytes long.
func (p *VCPUGetPhysid) UnmarshalBinary(b []byte) error {
	if err := exactLength("vcpu_get_physid", VCPUGetPhysidSize, b); err != nil {
		return err
	}
	return p.Decode(b)
}

// VCPURegisterTimeMemoryArea is struct vcpu_register_time_memory_area (8
// bytes): the address of a VCPUTimeInfo (virtual for op 13, physical for
// op 15).
type VCPURegisterTimeMemoryArea struct {
	Addr uint64 // addr (union of h, v and p)
}

// Encode writes a into b[:VCPURegisterTimeMemoryAreaSize]. It panics if b is
// shorter.
func (a *VCPURegisterTimeMemoryArea) Encode(b []byte) {
	_ = b[VCPURegisterTimeMemoryAreaSize-1]
	le.PutUint64(b[0:], a.Addr)
}

// Decode reads a from the first VCPURegisterTimeMemoryAreaSize bytes of b,
// or returns an error if b is shorter.
func (a *VCPURegisterTimeMemoryArea) Decode(b []byte) error {
	if len(b) < VCPURegisterTimeMemoryAreaSize {
		return shortError("vcpu_register_time_memory_area", VCPURegisterTimeMemoryAreaSize, len(b))
	}
	a.Addr = le.Uint64(b[0:])
	return nil
}

// AppendBinary appends the encoding of a to b (encoding.BinaryAppender).
func (a *VCPURegisterTimeMemoryArea) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, VCPURegisterTimeMemoryAreaSize, a), nil
}

// MarshalBinary returns the VCPURegisterTimeMemoryAreaSize-byte encoding of a.
func (a *VCPURegisterTimeMemoryArea) MarshalBinary() ([]byte, error) { return a.AppendBinary(nil) }

// UnmarshalBinary decodes a from b, which must be exactly
// VCPURegisterTimeMemoryAreaSize bytes long.
func (a *VCPURegisterTimeMemoryArea) UnmarshalBinary(b []byte) error {
	if err := exactLength("vcpu_register_time_memory_area", VCPURegisterTimeMemoryAreaSize, b); err != nil {
		return err
	}
	return a.Decode(b)
}
