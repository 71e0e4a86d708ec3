package xen

import (
	"bytes"
	"testing"
	"unsafe"
)

// shared_info, vcpu_info and vcpu_time_info from xen/include/public/xen.h;
// arch_vcpu_info from arch-x86/xen-x86_64.h; arch_shared_info and
// XEN_LEGACY_MAX_VCPUS from arch-x86/xen.h. All for x86-64.

func TestSharedInfoConstants(t *testing.T) {
	checkConsts(t, []constCase{
		{"XEN_LEGACY_MAX_VCPUS", XenLegacyMaxVCPUs, 32},
		{"sizeof(xen_ulong_t) * 8", EvtchnWords, 64},
		{"EVTCHN_2L_NR_CHANNELS", Evtchn2LNrChannels, 4096},
		{"XEN_PVCLOCK_TSC_STABLE_BIT", XenPVClockTSCStableBit, 1},
		{"XEN_PVCLOCK_GUEST_STOPPED", XenPVClockGuestStopped, 2},
		{"offsetof(struct vcpu_info, evtchn_upcall_pending)", VCPUInfoUpcallPendingOffset, 0},
		{"offsetof(struct vcpu_info, evtchn_upcall_mask)", VCPUInfoUpcallMaskOffset, 1},
		{"offsetof(struct vcpu_info, evtchn_pending_sel)", VCPUInfoPendingSelOffset, 8},
		{"offsetof(struct vcpu_info, arch)", VCPUInfoArchOffset, 16},
		{"offsetof(struct vcpu_info, time)", VCPUInfoTimeOffset, 32},
		{"offsetof(struct shared_info, vcpu_info)", SharedInfoVCPUInfoOffset, 0},
		{"offsetof(struct shared_info, evtchn_pending)", SharedInfoEvtchnPendingOffset, 2048},
		{"offsetof(struct shared_info, evtchn_mask)", SharedInfoEvtchnMaskOffset, 2560},
		{"offsetof(struct shared_info, wc_version)", SharedInfoWcVersionOffset, 3072},
		{"offsetof(struct shared_info, wc_sec)", SharedInfoWcSecOffset, 3076},
		{"offsetof(struct shared_info, wc_nsec)", SharedInfoWcNsecOffset, 3080},
		{"offsetof(struct shared_info, wc_sec_hi)", SharedInfoWcSecHiOffset, 3084},
		{"offsetof(struct shared_info, arch)", SharedInfoArchOffset, 3088},
	})
	if Evtchn2LNrChannels != EvtchnWords*64 {
		t.Errorf("2-level channels %d != %d words * 64", Evtchn2LNrChannels, EvtchnWords)
	}
	if got := SharedInfoVCPUOffset(31); got != 1984 {
		t.Errorf("SharedInfoVCPUOffset(31) = %d, want 1984", got)
	}
	if w, b := EvtchnWordBit(130); w != 2 || b != 2 {
		t.Errorf("EvtchnWordBit(130) = %d, %d", w, b)
	}
}

// TestSharedInfoEncoding sets fields at the edges of each region and checks
// where their bytes land.
func TestSharedInfoEncoding(t *testing.T) {
	var s SharedInfo
	s.VCPUInfo[0].EvtchnUpcallPending = 1
	s.VCPUInfo[1].EvtchnPendingSel = 0x0102030405060708
	s.VCPUInfo[31].Time.Version = 0xa1a2a3a4
	s.EvtchnPending[0] = 1
	s.EvtchnPending[63] = 0x8000000000000000
	s.EvtchnMask[2] = 0xf0
	s.WcVersion, s.WcSec, s.WcNsec, s.WcSecHi = 2, 0x11223344, 999999999, 1
	s.Arch.P2MGeneration = 0xb1b2b3b4b5b6b7b8

	want := make([]byte, SharedInfoSize)
	want[0] = 1
	copy(want[64+8:], []byte{8, 7, 6, 5, 4, 3, 2, 1})
	copy(want[31*64+32:], []byte{0xa4, 0xa3, 0xa2, 0xa1})
	want[2048] = 1
	want[2048+63*8+7] = 0x80
	want[2560+16] = 0xf0
	copy(want[3072:], []byte{2, 0, 0, 0, 0x44, 0x33, 0x22, 0x11, 0xff, 0xc9, 0x9a, 0x3b, 1, 0, 0, 0})
	copy(want[3088+40:], []byte{0xb8, 0xb7, 0xb6, 0xb5, 0xb4, 0xb3, 0xb2, 0xb1})

	checkEncoding(t, &s, &SharedInfo{}, want)

	// Encode covers all 3136 bytes, padding included.
	b := bytes.Repeat([]byte{0xEE}, SharedInfoSize)
	(&SharedInfo{}).Encode(b)
	if !bytes.Equal(b, make([]byte, SharedInfoSize)) {
		t.Errorf("zero SharedInfo does not encode to zeros")
	}
}

func TestPVClock(t *testing.T) {
	for _, c := range []struct {
		hz    uint64
		mul   uint32
		shift int8
	}{
		{1_000_000_000, 0x80000000, 1},
		{2_000_000_000, 0x80000000, 0},
		{3_000_000_000, 0xaaaaaaaa, -1},
		{100_000_000, 0xa0000000, 4},
		{0, 0, 0},
	} {
		mul, shift := PVClockScale(c.hz)
		if mul != c.mul || shift != c.shift {
			t.Errorf("PVClockScale(%d) = %#x, %d; want %#x, %d", c.hz, mul, shift, c.mul, c.shift)
		}
	}
	if got := ScaleDelta(1000, 0x80000000, 1); got != 1000 {
		t.Errorf("1 GHz: 1000 ticks = %d ns", got)
	}
	if got := ScaleDelta(3000, 0xaaaaaaaa, -1); got != 999 {
		t.Errorf("3 GHz: 3000 ticks = %d ns, want 999 (truncated)", got)
	}
	if got := ScaleDelta(1<<40, 0xffffffff, 0); got != 1<<40-1<<8 {
		t.Errorf("96-bit product: got %d", got)
	}
	ti := VCPUTimeInfo{TSCTimestamp: 5000, SystemTime: 1_000_000, TSCToSystemMul: 0x80000000, TSCShift: 1}
	if got := ti.SystemTimeAt(6000); got != 1_001_000 {
		t.Errorf("SystemTimeAt = %d, want 1001000", got)
	}
}

// struct vcpu_time_info, from xen/include/public/xen.h.
func TestVCPUTimeInfoLayout(t *testing.T) {
	var v VCPUTimeInfo
	checkLayout(t, "vcpu_time_info", unsafe.Sizeof(v), 32, []fieldOff{
		{"version", unsafe.Offsetof(v.Version), 0},
		{"pad0", unsafe.Offsetof(v.Pad0), 4},
		{"tsc_timestamp", unsafe.Offsetof(v.TSCTimestamp), 8},
		{"system_time", unsafe.Offsetof(v.SystemTime), 16},
		{"tsc_to_system_mul", unsafe.Offsetof(v.TSCToSystemMul), 24},
		{"tsc_shift", unsafe.Offsetof(v.TSCShift), 28},
		{"flags", unsafe.Offsetof(v.Flags), 29},
		{"pad1", unsafe.Offsetof(v.Pad1), 30},
	})
	if VCPUTimeInfoSize != 32 {
		t.Errorf("VCPUTimeInfoSize = %d, want 32", VCPUTimeInfoSize)
	}
}

func TestVCPUTimeInfoEncoding(t *testing.T) {
	v := VCPUTimeInfo{Version: 0x04030201, Pad0: 0x08070605, TSCTimestamp: 0x100f0e0d0c0b0a09, SystemTime: 0x1817161514131211, TSCToSystemMul: 0x1c1b1a19, TSCShift: 0x1d, Flags: 0x1e, Pad1: [2]uint8{0x1f, 0x20}}
	checkEncoding(t, &v, &VCPUTimeInfo{}, seqPattern(32))
}

// struct arch_vcpu_info, from xen/include/public/arch-x86/xen-x86_64.h.
func TestArchVCPUInfoLayout(t *testing.T) {
	var v ArchVCPUInfo
	checkLayout(t, "arch_vcpu_info", unsafe.Sizeof(v), 16, []fieldOff{
		{"cr2", unsafe.Offsetof(v.CR2), 0},
		{"pad", unsafe.Offsetof(v.Pad), 8},
	})
	if ArchVCPUInfoSize != 16 {
		t.Errorf("ArchVCPUInfoSize = %d, want 16", ArchVCPUInfoSize)
	}
}

func TestArchVCPUInfoEncoding(t *testing.T) {
	v := ArchVCPUInfo{CR2: 0x0807060504030201, Pad: 0x100f0e0d0c0b0a09}
	checkEncoding(t, &v, &ArchVCPUInfo{}, seqPattern(16))
}

// struct vcpu_info, from xen/include/public/xen.h.
func TestVCPUInfoLayout(t *testing.T) {
	var v VCPUInfo
	checkLayout(t, "vcpu_info", unsafe.Sizeof(v), 64, []fieldOff{
		{"evtchn_upcall_pending", unsafe.Offsetof(v.EvtchnUpcallPending), 0},
		{"evtchn_upcall_mask", unsafe.Offsetof(v.EvtchnUpcallMask), 1},
		{"evtchn_pending_sel", unsafe.Offsetof(v.EvtchnPendingSel), 8},
		{"arch", unsafe.Offsetof(v.Arch), 16},
		{"time", unsafe.Offsetof(v.Time), 32},
	})
	if VCPUInfoSize != 64 {
		t.Errorf("VCPUInfoSize = %d, want 64", VCPUInfoSize)
	}
}

func TestVCPUInfoEncoding(t *testing.T) {
	v := VCPUInfo{EvtchnUpcallPending: 0x01, EvtchnUpcallMask: 0x02, EvtchnPendingSel: 0x100f0e0d0c0b0a09, Arch: ArchVCPUInfo{CR2: 0x1817161514131211, Pad: 0x201f1e1d1c1b1a19}, Time: VCPUTimeInfo{Version: 0x24232221, Pad0: 0x28272625, TSCTimestamp: 0x302f2e2d2c2b2a29, SystemTime: 0x3837363534333231, TSCToSystemMul: 0x3c3b3a39, TSCShift: 0x3d, Flags: 0x3e, Pad1: [2]uint8{0x3f, 0x40}}}
	checkEncoding(t, &v, &VCPUInfo{}, seqPattern(64, [2]int{2, 8}))
}

// struct arch_shared_info, from xen/include/public/arch-x86/xen.h.
func TestArchSharedInfoLayout(t *testing.T) {
	var v ArchSharedInfo
	checkLayout(t, "arch_shared_info", unsafe.Sizeof(v), 48, []fieldOff{
		{"max_pfn", unsafe.Offsetof(v.MaxPFN), 0},
		{"pfn_to_mfn_frame_list_list", unsafe.Offsetof(v.PFNToMFNFrameListList), 8},
		{"nmi_reason", unsafe.Offsetof(v.NMIReason), 16},
		{"p2m_cr3", unsafe.Offsetof(v.P2MCR3), 24},
		{"p2m_vaddr", unsafe.Offsetof(v.P2MVaddr), 32},
		{"p2m_generation", unsafe.Offsetof(v.P2MGeneration), 40},
	})
	if ArchSharedInfoSize != 48 {
		t.Errorf("ArchSharedInfoSize = %d, want 48", ArchSharedInfoSize)
	}
}

func TestArchSharedInfoEncoding(t *testing.T) {
	v := ArchSharedInfo{MaxPFN: 0x0807060504030201, PFNToMFNFrameListList: 0x100f0e0d0c0b0a09, NMIReason: 0x1817161514131211, P2MCR3: 0x201f1e1d1c1b1a19, P2MVaddr: 0x2827262524232221, P2MGeneration: 0x302f2e2d2c2b2a29}
	checkEncoding(t, &v, &ArchSharedInfo{}, seqPattern(48))
}

// struct shared_info, from xen/include/public/xen.h.
func TestSharedInfoLayout(t *testing.T) {
	var v SharedInfo
	checkLayout(t, "shared_info", unsafe.Sizeof(v), 3136, []fieldOff{
		{"vcpu_info", unsafe.Offsetof(v.VCPUInfo), 0},
		{"evtchn_pending", unsafe.Offsetof(v.EvtchnPending), 2048},
		{"evtchn_mask", unsafe.Offsetof(v.EvtchnMask), 2560},
		{"wc_version", unsafe.Offsetof(v.WcVersion), 3072},
		{"wc_sec", unsafe.Offsetof(v.WcSec), 3076},
		{"wc_nsec", unsafe.Offsetof(v.WcNsec), 3080},
		{"wc_sec_hi", unsafe.Offsetof(v.WcSecHi), 3084},
		{"arch", unsafe.Offsetof(v.Arch), 3088},
	})
	if SharedInfoSize != 3136 {
		t.Errorf("SharedInfoSize = %d, want 3136", SharedInfoSize)
	}
}
