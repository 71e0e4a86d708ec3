package xen

// The 32-bit ("compat") layouts of shared_info and vcpu_info, which Xen
// uses for a guest whose shared-info format it latched as 32-bit
// (has_32bit_shinfo: an HVM guest not in 64-bit mode when it set
// HVM_PARAM_CALLBACK_IRQ or wrote the hypercall page MSR, Xen's
// hvm_latch_shinfo_size). unsigned long and xen_ulong_t are 32 bits there,
// so the event-channel words, the vCPU selector and arch_vcpu_info shrink,
// and everything after the bitmaps moves; vcpu_info stays 64 bytes with its
// time area at the same offset. vcpu_runstate_info's compat layout is
// CompatVCPURunstateInfo (compat.go).
//
// The bitmaps hold the same bits at the same bytes (port p is bit p%8 of
// byte p/8 in either layout, both little-endian), but a selector bit covers
// 32 ports instead of 64, and only CompatEvtchn2LNrChannels ports exist.

// Sizes in bytes of the compat structures (i386 sizeof).
const (
	CompatArchVCPUInfoSize   = 24   // struct compat_arch_vcpu_info: cr2, pad[5]
	CompatVCPUInfoSize       = 64   // struct compat_vcpu_info (= VCPUInfoSize)
	CompatArchSharedInfoSize = 28   // struct compat_arch_shared_info, with wc_sec_hi
	CompatSharedInfoSize     = 2344 // struct compat_shared_info
)

// CompatEvtchnWords is the length of the compat evtchn_pending and
// evtchn_mask arrays: 32 words of 32 bits.
const CompatEvtchnWords = 32

// CompatEvtchn2LNrChannels is the number of 2-level ports with the compat
// layout: BITS_PER_EVTCHN_WORD(d)^2 = 32*32 (Xen's max_evtchns).
const CompatEvtchn2LNrChannels = 1024

// Offsets in struct compat_vcpu_info. evtchn_upcall_pending and
// evtchn_upcall_mask are at VCPUInfoUpcallPendingOffset and
// VCPUInfoUpcallMaskOffset, and time at VCPUInfoTimeOffset, as in the
// 64-bit layout.
const (
	// CompatVCPUInfoPendingSelOffset is offsetof(compat_vcpu_info,
	// evtchn_pending_sel), a 32-bit word: bit i covers ports 32i..32i+31.
	CompatVCPUInfoPendingSelOffset = 4
	// CompatVCPUInfoArchOffset is offsetof(compat_vcpu_info, arch).
	CompatVCPUInfoArchOffset = 8
)

// Offsets in struct compat_shared_info. The vcpu_info slots are at
// SharedInfoVCPUOffset, as in the 64-bit layout.
const (
	// CompatSharedInfoEvtchnPendingOffset is offsetof(compat_shared_info,
	// evtchn_pending) (the same as SharedInfoEvtchnPendingOffset).
	CompatSharedInfoEvtchnPendingOffset = 2048
	// CompatSharedInfoEvtchnMaskOffset is offsetof(compat_shared_info,
	// evtchn_mask).
	CompatSharedInfoEvtchnMaskOffset = 2176
	// CompatSharedInfoWcVersionOffset is offsetof(compat_shared_info,
	// wc_version); wc_sec and wc_nsec follow.
	CompatSharedInfoWcVersionOffset = 2304
	CompatSharedInfoWcSecOffset     = 2308
	CompatSharedInfoWcNsecOffset    = 2312
	// CompatSharedInfoArchOffset is offsetof(compat_shared_info, arch).
	CompatSharedInfoArchOffset = 2316
	// CompatSharedInfoWcSecHiOffset is offsetof(compat_shared_info,
	// arch.wc_sec_hi): i386 keeps the high half of wc_sec in arch, "there's
	// no room for this field in the generic structure" (arch-x86/xen.h).
	CompatSharedInfoWcSecHiOffset = 2340
)

// SharedInfoLayout says where the fields hv and the event-channel code
// update live in one of the two layouts.
type SharedInfoLayout struct {
	EvtchnPending, EvtchnMask int // bitmap offsets in shared_info
	BitmapBytes               int // size of each bitmap
	WcVersion, WcSec, WcNsec  int // wall clock offsets in shared_info
	WcSecHi                   int
	PendingSel                int // selector offset in vcpu_info
	SelBytes                  int // selector size: 4 or 8
	NrChannels                int // 2-level ports
}

// SharedInfoLayoutOf returns the 32-bit (compat) layout or the 64-bit one.
func SharedInfoLayoutOf(compat bool) *SharedInfoLayout {
	if compat {
		return &compatSharedInfoLayout
	}
	return &nativeSharedInfoLayout
}

var (
	nativeSharedInfoLayout = SharedInfoLayout{
		EvtchnPending: SharedInfoEvtchnPendingOffset, EvtchnMask: SharedInfoEvtchnMaskOffset,
		BitmapBytes: EvtchnWords * 8,
		WcVersion:   SharedInfoWcVersionOffset, WcSec: SharedInfoWcSecOffset, WcNsec: SharedInfoWcNsecOffset,
		WcSecHi:    SharedInfoWcSecHiOffset,
		PendingSel: VCPUInfoPendingSelOffset, SelBytes: 8, NrChannels: Evtchn2LNrChannels,
	}
	compatSharedInfoLayout = SharedInfoLayout{
		EvtchnPending: CompatSharedInfoEvtchnPendingOffset, EvtchnMask: CompatSharedInfoEvtchnMaskOffset,
		BitmapBytes: CompatEvtchnWords * 4,
		WcVersion:   CompatSharedInfoWcVersionOffset, WcSec: CompatSharedInfoWcSecOffset, WcNsec: CompatSharedInfoWcNsecOffset,
		WcSecHi:    CompatSharedInfoWcSecHiOffset,
		PendingSel: CompatVCPUInfoPendingSelOffset, SelBytes: 4, NrChannels: CompatEvtchn2LNrChannels,
	}
)
