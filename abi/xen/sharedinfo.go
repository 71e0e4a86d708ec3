package xen

import "math/bits"

// The shared-info page and the per-vCPU vcpu_info/vcpu_time_info blocks
// (xen/include/public/xen.h, with the x86 parts from arch-x86/xen.h and
// arch-x86/xen-x86_64.h). Layouts are those of x86-64, where xen_ulong_t
// and unsigned long are 64 bits.
//
// Xen and the guest update these in place and concurrently: event delivery
// sets single bits with locked operations, and the time fields are guarded
// by a version counter. The Encode/Decode methods are for building or
// inspecting a whole copy; code that updates live guest memory should use
// the offset constants and write only the fields it owns.

// XenLegacyMaxVCPUs is XEN_LEGACY_MAX_VCPUS (arch-x86/xen.h): the number of
// vcpu_info slots in shared_info. vCPUs beyond it must register a vcpu_info
// elsewhere with VCPUOP_register_vcpu_info.
const XenLegacyMaxVCPUs = 32

// EvtchnWords is the length of shared_info's evtchn_pending and
// evtchn_mask arrays: sizeof(xen_ulong_t)*8 = 64 words of 64 bits.
const EvtchnWords = 64

// Evtchn2LNrChannels is EVTCHN_2L_NR_CHANNELS (event_channel.h): the
// number of ports of the 2-level event-channel ABI on x86-64, 64*64.
const Evtchn2LNrChannels = 4096

// pvclock flags (XEN_PVCLOCK_* in xen.h), in VCPUTimeInfo.Flags.
const (
	// XenPVClockTSCStableBit is XEN_PVCLOCK_TSC_STABLE_BIT (1<<0): the TSC
	// is synchronised across vCPUs, so a guest may skip its
	// monotonicity fix-ups. Linux registers a time area only if it is set.
	XenPVClockTSCStableBit = 1 << 0
	// XenPVClockGuestStopped is XEN_PVCLOCK_GUEST_STOPPED (1<<1): the guest
	// was paused by the host (for soft-lockup detectors).
	XenPVClockGuestStopped = 1 << 1
)

// Sizes in bytes of the shared structures on x86-64.
const (
	VCPUTimeInfoSize   = 32   // struct vcpu_time_info
	ArchVCPUInfoSize   = 16   // struct arch_vcpu_info
	VCPUInfoSize       = 64   // struct vcpu_info
	ArchSharedInfoSize = 48   // struct arch_shared_info
	SharedInfoSize     = 3136 // struct shared_info
)

// Offsets of the fields of struct vcpu_info, for in-place updates.
const (
	// VCPUInfoUpcallPendingOffset is offsetof(vcpu_info, evtchn_upcall_pending).
	VCPUInfoUpcallPendingOffset = 0
	// VCPUInfoUpcallMaskOffset is offsetof(vcpu_info, evtchn_upcall_mask).
	VCPUInfoUpcallMaskOffset = 1
	// VCPUInfoPendingSelOffset is offsetof(vcpu_info, evtchn_pending_sel).
	VCPUInfoPendingSelOffset = 8
	// VCPUInfoArchOffset is offsetof(vcpu_info, arch).
	VCPUInfoArchOffset = 16
	// VCPUInfoTimeOffset is offsetof(vcpu_info, time).
	VCPUInfoTimeOffset = 32
)

// Offsets of the fields of struct shared_info on x86-64, for in-place
// updates.
const (
	// SharedInfoVCPUInfoOffset is offsetof(shared_info, vcpu_info): slot i
	// is at SharedInfoVCPUInfoOffset + i*VCPUInfoSize.
	SharedInfoVCPUInfoOffset = 0
	// SharedInfoEvtchnPendingOffset is offsetof(shared_info, evtchn_pending):
	// port p is bit p%64 of the uint64 at this offset + 8*(p/64).
	SharedInfoEvtchnPendingOffset = 2048
	// SharedInfoEvtchnMaskOffset is offsetof(shared_info, evtchn_mask),
	// laid out like evtchn_pending.
	SharedInfoEvtchnMaskOffset = 2560
	// SharedInfoWcVersionOffset is offsetof(shared_info, wc_version).
	SharedInfoWcVersionOffset = 3072
	// SharedInfoWcSecOffset is offsetof(shared_info, wc_sec).
	SharedInfoWcSecOffset = 3076
	// SharedInfoWcNsecOffset is offsetof(shared_info, wc_nsec).
	SharedInfoWcNsecOffset = 3080
	// SharedInfoWcSecHiOffset is offsetof(shared_info, wc_sec_hi).
	SharedInfoWcSecHiOffset = 3084
	// SharedInfoArchOffset is offsetof(shared_info, arch).
	SharedInfoArchOffset = 3088
)

// SharedInfoVCPUOffset returns the offset in shared_info of vcpu_info slot
// vcpu, which must be below XenLegacyMaxVCPUs.
func SharedInfoVCPUOffset(vcpu int) int {
	return SharedInfoVCPUInfoOffset + vcpu*VCPUInfoSize
}

// EvtchnWordBit returns where 2-level event-channel port p lives: the
// index of its 64-bit word in evtchn_pending/evtchn_mask (which is also the
// bit to set in vcpu_info.evtchn_pending_sel) and its bit in that word.
func EvtchnWordBit(port uint32) (word, bit uint32) { return port / 64, port % 64 }

// VCPUTimeInfo is struct vcpu_time_info (xen.h), the pvclock of one vCPU
// (32 bytes). Xen makes Version odd before an update and even after it.
// System time in ns at TSC value tsc is
//
//	SystemTime + ((tsc - TSCTimestamp) << TSCShift) * TSCToSystemMul >> 32
//
// (a right shift if TSCShift is negative); see SystemTimeAt.
type VCPUTimeInfo struct {
	Version        uint32   // seqlock-style update counter
	Pad0           uint32   // pad0
	TSCTimestamp   uint64   // TSC at the last update
	SystemTime     uint64   // ns since boot at TSCTimestamp
	TSCToSystemMul uint32   // 32.32 fixed-point multiplier, TSC ticks to ns
	TSCShift       int8     // pre-shift of the TSC delta
	Flags          uint8    // XenPVClock* flags
	Pad1           [2]uint8 // pad1
}

// SystemTimeAt returns the system time in ns that t gives for TSC value
// tsc, the way guests compute it.
func (t *VCPUTimeInfo) SystemTimeAt(tsc uint64) uint64 {
	return t.SystemTime + ScaleDelta(tsc-t.TSCTimestamp, t.TSCToSystemMul, t.TSCShift)
}

// ScaleDelta converts a TSC delta to ns with a pvclock multiplier and
// shift: shift the delta (left if shift > 0, right if < 0), multiply by mul
// and keep bits 32..95 of the 96-bit product.
func ScaleDelta(delta uint64, mul uint32, shift int8) uint64 {
	if shift < 0 {
		delta >>= uint(-shift)
	} else {
		delta <<= uint(shift)
	}
	hi, lo := bits.Mul64(delta, uint64(mul))
	return hi<<32 | lo>>32
}

// PVClockScale returns the TSCToSystemMul and TSCShift that convert ticks
// of a counter running at hz to ns, chosen as Xen does (set_time_scale in
// xen/arch/x86/time.c): shift the frequency into (1e9, 2e9], then
// mul = 1e9<<32 / frequency. It returns 0, 0 for hz 0.
func PVClockScale(hz uint64) (mul uint32, shift int8) {
	const nsPerSec = 1_000_000_000
	if hz == 0 {
		return 0, 0
	}
	for hz > 2*nsPerSec {
		hz >>= 1
		shift--
	}
	for hz <= nsPerSec {
		hz <<= 1
		shift++
	}
	return uint32((nsPerSec << 32) / hz), shift
}

// Encode writes t into b[:VCPUTimeInfoSize]. It panics if b is shorter.
func (t *VCPUTimeInfo) Encode(b []byte) {
	_ = b[VCPUTimeInfoSize-1]
	le.PutUint32(b[0:], t.Version)
	le.PutUint32(b[4:], t.Pad0)
	le.PutUint64(b[8:], t.TSCTimestamp)
	le.PutUint64(b[16:], t.SystemTime)
	le.PutUint32(b[24:], t.TSCToSystemMul)
	b[28] = uint8(t.TSCShift)
	b[29] = t.Flags
	b[30] = t.Pad1[0]
	b[31] = t.Pad1[1]
}

// Decode reads t from the first VCPUTimeInfoSize bytes of b, or returns an
// error if b is shorter.
func (t *VCPUTimeInfo) Decode(b []byte) error {
	if len(b) < VCPUTimeInfoSize {
		return shortError("vcpu_time_info", VCPUTimeInfoSize, len(b))
	}
	*t = VCPUTimeInfo{
		Version:        le.Uint32(b[0:]),
		Pad0:           le.Uint32(b[4:]),
		TSCTimestamp:   le.Uint64(b[8:]),
		SystemTime:     le.Uint64(b[16:]),
		TSCToSystemMul: le.Uint32(b[24:]),
		TSCShift:       int8(b[28]),
		Flags:          b[29],
		Pad1:           [2]uint8{b[30], b[31]},
	}
	return nil
}

// AppendBinary appends the encoding of t to b (encoding.BinaryAppender).
func (t *VCPUTimeInfo) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, VCPUTimeInfoSize, t), nil
}

// MarshalBinary returns the VCPUTimeInfoSize-byte encoding of t.
func (t *VCPUTimeInfo) MarshalBinary() ([]byte, error) { return t.AppendBinary(nil) }

// UnmarshalBinary decodes t from b, which must be exactly VCPUTimeInfoSize
// bytes long.
func (t *VCPUTimeInfo) UnmarshalBinary(b []byte) error {
	if err := exactLength("vcpu_time_info", VCPUTimeInfoSize, b); err != nil {
		return err
	}
	return t.Decode(b)
}

// ArchVCPUInfo is struct arch_vcpu_info (arch-x86/xen-x86_64.h), 16 bytes.
type ArchVCPUInfo struct {
	CR2 uint64 // PV guests: faulting address of the last page fault
	Pad uint64 // makes vcpu_info 64 bytes
}

// Encode writes a into b[:ArchVCPUInfoSize]. It panics if b is shorter.
func (a *ArchVCPUInfo) Encode(b []byte) {
	_ = b[ArchVCPUInfoSize-1]
	le.PutUint64(b[0:], a.CR2)
	le.PutUint64(b[8:], a.Pad)
}

// Decode reads a from the first ArchVCPUInfoSize bytes of b, or returns an
// error if b is shorter.
func (a *ArchVCPUInfo) Decode(b []byte) error {
	if len(b) < ArchVCPUInfoSize {
		return shortError("arch_vcpu_info", ArchVCPUInfoSize, len(b))
	}
	*a = ArchVCPUInfo{CR2: le.Uint64(b[0:]), Pad: le.Uint64(b[8:])}
	return nil
}

// AppendBinary appends the encoding of a to b (encoding.BinaryAppender).
func (a *ArchVCPUInfo) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, ArchVCPUInfoSize, a), nil
}

// MarshalBinary returns the ArchVCPUInfoSize-byte encoding of a.
func (a *ArchVCPUInfo) MarshalBinary() ([]byte, error) { return a.AppendBinary(nil) }

// UnmarshalBinary decodes a from b, which must be exactly ArchVCPUInfoSize
// bytes long.
func (a *ArchVCPUInfo) UnmarshalBinary(b []byte) error {
	if err := exactLength("arch_vcpu_info", ArchVCPUInfoSize, b); err != nil {
		return err
	}
	return a.Decode(b)
}

// VCPUInfo is struct vcpu_info (xen.h), 64 bytes on x86: the event and
// time state of one vCPU, in shared_info or wherever the guest registered
// it with VCPUOP_register_vcpu_info.
//
// To raise 2-level event port p for this vCPU, Xen sets bit p/64 of
// EvtchnPendingSel and then EvtchnUpcallPending=1; the upcall is delivered
// only while EvtchnUpcallMask is 0.
type VCPUInfo struct {
	EvtchnUpcallPending uint8        // set by Xen when an event is pending
	EvtchnUpcallMask    uint8        // set by the guest to hold off upcalls
	EvtchnPendingSel    uint64       // which evtchn_pending words to scan
	Arch                ArchVCPUInfo // arch
	Time                VCPUTimeInfo // time: the pvclock
}

// Encode writes v into b[:VCPUInfoSize]. The padding after
// EvtchnUpcallMask is written as zero. It panics if b is shorter.
func (v *VCPUInfo) Encode(b []byte) {
	_ = b[VCPUInfoSize-1]
	b[0] = v.EvtchnUpcallPending
	b[1] = v.EvtchnUpcallMask
	clear(b[2:8])
	le.PutUint64(b[8:], v.EvtchnPendingSel)
	v.Arch.Encode(b[16:32])
	v.Time.Encode(b[32:64])
}

// Decode reads v from the first VCPUInfoSize bytes of b, or returns an
// error if b is shorter.
func (v *VCPUInfo) Decode(b []byte) error {
	if len(b) < VCPUInfoSize {
		return shortError("vcpu_info", VCPUInfoSize, len(b))
	}
	*v = VCPUInfo{
		EvtchnUpcallPending: b[0],
		EvtchnUpcallMask:    b[1],
		EvtchnPendingSel:    le.Uint64(b[8:]),
	}
	_ = v.Arch.Decode(b[16:32])
	_ = v.Time.Decode(b[32:64])
	return nil
}

// AppendBinary appends the encoding of v to b (encoding.BinaryAppender).
func (v *VCPUInfo) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, VCPUInfoSize, v), nil
}

// MarshalBinary returns the VCPUInfoSize-byte encoding of v.
func (v *VCPUInfo) MarshalBinary() ([]byte, error) { return v.AppendBinary(nil) }

// UnmarshalBinary decodes v from b, which must be exactly VCPUInfoSize
// bytes long.
func (v *VCPUInfo) UnmarshalBinary(b []byte) error {
	if err := exactLength("vcpu_info", VCPUInfoSize, b); err != nil {
		return err
	}
	return v.Decode(b)
}

// ArchSharedInfo is struct arch_shared_info (arch-x86/xen.h), 48 bytes on
// x86-64. It describes a PV guest's physical-to-machine table; HVM and PVH
// guests leave it alone.
type ArchSharedInfo struct {
	MaxPFN                uint64 // valid entries in the p2m table
	PFNToMFNFrameListList uint64 // frame of the 3-level p2m list; 0 unset, ~0 invalid
	NMIReason             uint64 // nmi_reason
	P2MCR3                uint64 // cr3 of the address space of P2MVaddr; 0 if none
	P2MVaddr              uint64 // virtual address of the linear p2m list
	P2MGeneration         uint64 // odd while the guest updates the p2m mapping
}

// Encode writes a into b[:ArchSharedInfoSize]. It panics if b is shorter.
func (a *ArchSharedInfo) Encode(b []byte) {
	_ = b[ArchSharedInfoSize-1]
	le.PutUint64(b[0:], a.MaxPFN)
	le.PutUint64(b[8:], a.PFNToMFNFrameListList)
	le.PutUint64(b[16:], a.NMIReason)
	le.PutUint64(b[24:], a.P2MCR3)
	le.PutUint64(b[32:], a.P2MVaddr)
	le.PutUint64(b[40:], a.P2MGeneration)
}

// Decode reads a from the first ArchSharedInfoSize bytes of b, or returns
// an error if b is shorter.
func (a *ArchSharedInfo) Decode(b []byte) error {
	if len(b) < ArchSharedInfoSize {
		return shortError("arch_shared_info", ArchSharedInfoSize, len(b))
	}
	*a = ArchSharedInfo{
		MaxPFN:                le.Uint64(b[0:]),
		PFNToMFNFrameListList: le.Uint64(b[8:]),
		NMIReason:             le.Uint64(b[16:]),
		P2MCR3:                le.Uint64(b[24:]),
		P2MVaddr:              le.Uint64(b[32:]),
		P2MGeneration:         le.Uint64(b[40:]),
	}
	return nil
}

// AppendBinary appends the encoding of a to b (encoding.BinaryAppender).
func (a *ArchSharedInfo) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, ArchSharedInfoSize, a), nil
}

// MarshalBinary returns the ArchSharedInfoSize-byte encoding of a.
func (a *ArchSharedInfo) MarshalBinary() ([]byte, error) { return a.AppendBinary(nil) }

// UnmarshalBinary decodes a from b, which must be exactly
// ArchSharedInfoSize bytes long.
func (a *ArchSharedInfo) UnmarshalBinary(b []byte) error {
	if err := exactLength("arch_shared_info", ArchSharedInfoSize, b); err != nil {
		return err
	}
	return a.Decode(b)
}

// SharedInfo is struct shared_info (xen.h), 3136 bytes on x86-64: the page
// a guest maps with XENMEM_add_to_physmap(XENMAPSPACE_shared_info). The
// rest of its 4 KiB page is unused.
//
// Wall-clock time is WcSecHi<<32|WcSec seconds plus WcNsec ns since the Unix
// epoch at system time 0, guarded by WcVersion like VCPUTimeInfo.Version.
type SharedInfo struct {
	VCPUInfo      [XenLegacyMaxVCPUs]VCPUInfo // vcpu_info: vCPUs 0-31
	EvtchnPending [EvtchnWords]uint64         // 2-level ABI: pending bit per port
	EvtchnMask    [EvtchnWords]uint64         // 2-level ABI: mask bit per port
	WcVersion     uint32                      // odd while the wall clock is updated
	WcSec         uint32                      // low 32 bits of the seconds
	WcNsec        uint32                      // wc_nsec
	WcSecHi       uint32                      // high 32 bits of the seconds (x86-64 only)
	Arch          ArchSharedInfo              // arch
}

// Encode writes s into b[:SharedInfoSize]. It panics if b is shorter.
func (s *SharedInfo) Encode(b []byte) {
	_ = b[SharedInfoSize-1]
	for i := range s.VCPUInfo {
		s.VCPUInfo[i].Encode(b[SharedInfoVCPUOffset(i):])
	}
	for i := range EvtchnWords {
		le.PutUint64(b[SharedInfoEvtchnPendingOffset+8*i:], s.EvtchnPending[i])
		le.PutUint64(b[SharedInfoEvtchnMaskOffset+8*i:], s.EvtchnMask[i])
	}
	le.PutUint32(b[SharedInfoWcVersionOffset:], s.WcVersion)
	le.PutUint32(b[SharedInfoWcSecOffset:], s.WcSec)
	le.PutUint32(b[SharedInfoWcNsecOffset:], s.WcNsec)
	le.PutUint32(b[SharedInfoWcSecHiOffset:], s.WcSecHi)
	s.Arch.Encode(b[SharedInfoArchOffset:])
}

// Decode reads s from the first SharedInfoSize bytes of b, or returns an
// error if b is shorter.
func (s *SharedInfo) Decode(b []byte) error {
	if len(b) < SharedInfoSize {
		return shortError("shared_info", SharedInfoSize, len(b))
	}
	for i := range s.VCPUInfo {
		_ = s.VCPUInfo[i].Decode(b[SharedInfoVCPUOffset(i):])
	}
	for i := range EvtchnWords {
		s.EvtchnPending[i] = le.Uint64(b[SharedInfoEvtchnPendingOffset+8*i:])
		s.EvtchnMask[i] = le.Uint64(b[SharedInfoEvtchnMaskOffset+8*i:])
	}
	s.WcVersion = le.Uint32(b[SharedInfoWcVersionOffset:])
	s.WcSec = le.Uint32(b[SharedInfoWcSecOffset:])
	s.WcNsec = le.Uint32(b[SharedInfoWcNsecOffset:])
	s.WcSecHi = le.Uint32(b[SharedInfoWcSecHiOffset:])
	_ = s.Arch.Decode(b[SharedInfoArchOffset:])
	return nil
}

// AppendBinary appends the encoding of s to b (encoding.BinaryAppender).
func (s *SharedInfo) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, SharedInfoSize, s), nil
}

// MarshalBinary returns the SharedInfoSize-byte encoding of s.
func (s *SharedInfo) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// UnmarshalBinary decodes s from b, which must be exactly SharedInfoSize
// bytes long.
func (s *SharedInfo) UnmarshalBinary(b []byte) error {
	if err := exactLength("shared_info", SharedInfoSize, b); err != nil {
		return err
	}
	return s.Decode(b)
}
