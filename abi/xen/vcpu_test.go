package xen

import (
	"testing"
	"unsafe"
)

// vcpu_op numbers and structures from xen/include/public/vcpu.h (x86-64).

func TestVCPUOpConstants(t *testing.T) {
	checkConsts(t, []constCase{
		{"VCPUOP_initialise", VCPUOpInitialise, 0},
		{"VCPUOP_up", VCPUOpUp, 1},
		{"VCPUOP_down", VCPUOpDown, 2},
		{"VCPUOP_is_up", VCPUOpIsUp, 3},
		{"VCPUOP_get_runstate_info", VCPUOpGetRunstateInfo, 4},
		{"VCPUOP_register_runstate_memory_area", VCPUOpRegisterRunstateMemoryArea, 5},
		{"VCPUOP_set_periodic_timer", VCPUOpSetPeriodicTimer, 6},
		{"VCPUOP_stop_periodic_timer", VCPUOpStopPeriodicTimer, 7},
		{"VCPUOP_set_singleshot_timer", VCPUOpSetSingleshotTimer, 8},
		{"VCPUOP_stop_singleshot_timer", VCPUOpStopSingleshotTimer, 9},
		{"VCPUOP_register_vcpu_info", VCPUOpRegisterVCPUInfo, 10},
		{"VCPUOP_send_nmi", VCPUOpSendNMI, 11},
		{"VCPUOP_get_physid", VCPUOpGetPhysid, 12},
		{"VCPUOP_register_vcpu_time_memory_area", VCPUOpRegisterVCPUTimeMemoryArea, 13},
		{"VCPUOP_register_runstate_phys_area", VCPUOpRegisterRunstatePhysArea, 14},
		{"VCPUOP_register_vcpu_time_phys_area", VCPUOpRegisterVCPUTimePhysArea, 15},
		{"RUNSTATE_running", RunstateRunning, 0},
		{"RUNSTATE_runnable", RunstateRunnable, 1},
		{"RUNSTATE_blocked", RunstateBlocked, 2},
		{"RUNSTATE_offline", RunstateOffline, 3},
		{"XEN_RUNSTATE_UPDATE", XenRunstateUpdate, 0x8000000000000000},
		{"VCPU_SSHOTTMR_future", VCPUSshottmrFuture, 1},
	})
}

// struct vcpu_runstate_info, from xen/include/public/vcpu.h.
func TestVCPURunstateInfoLayout(t *testing.T) {
	var v VCPURunstateInfo
	checkLayout(t, "vcpu_runstate_info", unsafe.Sizeof(v), 48, []fieldOff{
		{"state", unsafe.Offsetof(v.State), 0},
		{"state_entry_time", unsafe.Offsetof(v.StateEntryTime), 8},
		{"time", unsafe.Offsetof(v.Time), 16},
	})
	if VCPURunstateInfoSize != 48 {
		t.Errorf("VCPURunstateInfoSize = %d, want 48", VCPURunstateInfoSize)
	}
}

func TestVCPURunstateInfoEncoding(t *testing.T) {
	v := VCPURunstateInfo{State: 0x04030201, StateEntryTime: 0x100f0e0d0c0b0a09, Time: [4]uint64{0x1817161514131211, 0x201f1e1d1c1b1a19, 0x2827262524232221, 0x302f2e2d2c2b2a29}}
	checkEncoding(t, &v, &VCPURunstateInfo{}, seqPattern(48, [2]int{4, 8}))
}

// struct vcpu_register_runstate_memory_area, from xen/include/public/vcpu.h.
func TestVCPURegisterRunstateMemoryAreaLayout(t *testing.T) {
	var v VCPURegisterRunstateMemoryArea
	checkLayout(t, "vcpu_register_runstate_memory_area", unsafe.Sizeof(v), 8, []fieldOff{
		{"addr", unsafe.Offsetof(v.Addr), 0},
	})
	if VCPURegisterRunstateMemoryAreaSize != 8 {
		t.Errorf("VCPURegisterRunstateMemoryAreaSize = %d, want 8", VCPURegisterRunstateMemoryAreaSize)
	}
}

func TestVCPURegisterRunstateMemoryAreaEncoding(t *testing.T) {
	v := VCPURegisterRunstateMemoryArea{Addr: 0x0807060504030201}
	checkEncoding(t, &v, &VCPURegisterRunstateMemoryArea{}, seqPattern(8))
}

// struct vcpu_set_periodic_timer, from xen/include/public/vcpu.h.
func TestVCPUSetPeriodicTimerLayout(t *testing.T) {
	var v VCPUSetPeriodicTimer
	checkLayout(t, "vcpu_set_periodic_timer", unsafe.Sizeof(v), 8, []fieldOff{
		{"period_ns", unsafe.Offsetof(v.PeriodNs), 0},
	})
	if VCPUSetPeriodicTimerSize != 8 {
		t.Errorf("VCPUSetPeriodicTimerSize = %d, want 8", VCPUSetPeriodicTimerSize)
	}
}

func TestVCPUSetPeriodicTimerEncoding(t *testing.T) {
	v := VCPUSetPeriodicTimer{PeriodNs: 0x0807060504030201}
	checkEncoding(t, &v, &VCPUSetPeriodicTimer{}, seqPattern(8))
}

// struct vcpu_set_singleshot_timer, from xen/include/public/vcpu.h.
func TestVCPUSetSingleshotTimerLayout(t *testing.T) {
	var v VCPUSetSingleshotTimer
	checkLayout(t, "vcpu_set_singleshot_timer", unsafe.Sizeof(v), 16, []fieldOff{
		{"timeout_abs_ns", unsafe.Offsetof(v.TimeoutAbsNs), 0},
		{"flags", unsafe.Offsetof(v.Flags), 8},
	})
	if VCPUSetSingleshotTimerSize != 16 {
		t.Errorf("VCPUSetSingleshotTimerSize = %d, want 16", VCPUSetSingleshotTimerSize)
	}
}

func TestVCPUSetSingleshotTimerEncoding(t *testing.T) {
	v := VCPUSetSingleshotTimer{TimeoutAbsNs: 0x0807060504030201, Flags: 0x0c0b0a09}
	checkEncoding(t, &v, &VCPUSetSingleshotTimer{}, seqPattern(16, [2]int{12, 16}))
}

// struct vcpu_register_vcpu_info, from xen/include/public/vcpu.h.
func TestVCPURegisterVCPUInfoLayout(t *testing.T) {
	var v VCPURegisterVCPUInfo
	checkLayout(t, "vcpu_register_vcpu_info", unsafe.Sizeof(v), 16, []fieldOff{
		{"mfn", unsafe.Offsetof(v.MFN), 0},
		{"offset", unsafe.Offsetof(v.Offset), 8},
		{"rsvd", unsafe.Offsetof(v.Rsvd), 12},
	})
	if VCPURegisterVCPUInfoSize != 16 {
		t.Errorf("VCPURegisterVCPUInfoSize = %d, want 16", VCPURegisterVCPUInfoSize)
	}
}

func TestVCPURegisterVCPUInfoEncoding(t *testing.T) {
	v := VCPURegisterVCPUInfo{MFN: 0x0807060504030201, Offset: 0x0c0b0a09, Rsvd: 0x100f0e0d}
	checkEncoding(t, &v, &VCPURegisterVCPUInfo{}, seqPattern(16))
}

// struct vcpu_get_physid, from xen/include/public/vcpu.h.
func TestVCPUGetPhysidLayout(t *testing.T) {
	var v VCPUGetPhysid
	checkLayout(t, "vcpu_get_physid", unsafe.Sizeof(v), 8, []fieldOff{
		{"phys_id", unsafe.Offsetof(v.PhysID), 0},
	})
	if VCPUGetPhysidSize != 8 {
		t.Errorf("VCPUGetPhysidSize = %d, want 8", VCPUGetPhysidSize)
	}
}

func TestVCPUGetPhysidEncoding(t *testing.T) {
	v := VCPUGetPhysid{PhysID: 0x0807060504030201}
	checkEncoding(t, &v, &VCPUGetPhysid{}, seqPattern(8))
}

// struct vcpu_register_time_memory_area, from xen/include/public/vcpu.h.
func TestVCPURegisterTimeMemoryAreaLayout(t *testing.T) {
	var v VCPURegisterTimeMemoryArea
	checkLayout(t, "vcpu_register_time_memory_area", unsafe.Sizeof(v), 8, []fieldOff{
		{"addr", unsafe.Offsetof(v.Addr), 0},
	})
	if VCPURegisterTimeMemoryAreaSize != 8 {
		t.Errorf("VCPURegisterTimeMemoryAreaSize = %d, want 8", VCPURegisterTimeMemoryAreaSize)
	}
}

func TestVCPURegisterTimeMemoryAreaEncoding(t *testing.T) {
	v := VCPURegisterTimeMemoryArea{Addr: 0x0807060504030201}
	checkEncoding(t, &v, &VCPURegisterTimeMemoryArea{}, seqPattern(8))
}
