package xen

import (
	"testing"
	"unsafe"
)

// sched_op numbers and structures from xen/include/public/sched.h.

func TestSchedConstants(t *testing.T) {
	checkConsts(t, []constCase{
		{"SCHEDOP_yield", SchedOpYield, 0},
		{"SCHEDOP_block", SchedOpBlock, 1},
		{"SCHEDOP_shutdown", SchedOpShutdown, 2},
		{"SCHEDOP_poll", SchedOpPoll, 3},
		{"SCHEDOP_remote_shutdown", SchedOpRemoteShutdown, 4},
		{"SCHEDOP_shutdown_code", SchedOpShutdownCode, 5},
		{"SCHEDOP_watchdog", SchedOpWatchdog, 6},
		{"SCHEDOP_pin_override", SchedOpPinOverride, 7},
		{"SHUTDOWN_poweroff", ShutdownPoweroff, 0},
		{"SHUTDOWN_reboot", ShutdownReboot, 1},
		{"SHUTDOWN_suspend", ShutdownSuspend, 2},
		{"SHUTDOWN_crash", ShutdownCrash, 3},
		{"SHUTDOWN_watchdog", ShutdownWatchdog, 4},
		{"SHUTDOWN_soft_reset", ShutdownSoftReset, 5},
		{"SHUTDOWN_MAX", ShutdownMax, 5},
	})
}

func TestShutdownReasonName(t *testing.T) {
	for r, want := range map[uint32]string{0: "poweroff", 1: "reboot", 2: "suspend", 3: "crash", 4: "watchdog", 5: "soft_reset", 6: "", 1 << 31: ""} {
		if got := ShutdownReasonName(r); got != want {
			t.Errorf("ShutdownReasonName(%d) = %q, want %q", r, got, want)
		}
	}
}

// struct sched_shutdown, from xen/include/public/sched.h.
func TestSchedShutdownLayout(t *testing.T) {
	var v SchedShutdown
	checkLayout(t, "sched_shutdown", unsafe.Sizeof(v), 4, []fieldOff{
		{"reason", unsafe.Offsetof(v.Reason), 0},
	})
	if SchedShutdownSize != 4 {
		t.Errorf("SchedShutdownSize = %d, want 4", SchedShutdownSize)
	}
}

func TestSchedShutdownEncoding(t *testing.T) {
	v := SchedShutdown{Reason: 0x04030201}
	checkEncoding(t, &v, &SchedShutdown{}, seqPattern(4))
}

// struct sched_poll, from xen/include/public/sched.h.
func TestSchedPollLayout(t *testing.T) {
	var v SchedPoll
	checkLayout(t, "sched_poll", unsafe.Sizeof(v), 24, []fieldOff{
		{"ports", unsafe.Offsetof(v.Ports), 0},
		{"nr_ports", unsafe.Offsetof(v.NrPorts), 8},
		{"timeout", unsafe.Offsetof(v.Timeout), 16},
	})
	if SchedPollSize != 24 {
		t.Errorf("SchedPollSize = %d, want 24", SchedPollSize)
	}
}

func TestSchedPollEncoding(t *testing.T) {
	v := SchedPoll{Ports: 0x0807060504030201, NrPorts: 0x0c0b0a09, Timeout: 0x1817161514131211}
	checkEncoding(t, &v, &SchedPoll{}, seqPattern(24, [2]int{12, 16}))
}

// struct sched_remote_shutdown, from xen/include/public/sched.h.
func TestSchedRemoteShutdownLayout(t *testing.T) {
	var v SchedRemoteShutdown
	checkLayout(t, "sched_remote_shutdown", unsafe.Sizeof(v), 8, []fieldOff{
		{"domain_id", unsafe.Offsetof(v.DomainID), 0},
		{"reason", unsafe.Offsetof(v.Reason), 4},
	})
	if SchedRemoteShutdownSize != 8 {
		t.Errorf("SchedRemoteShutdownSize = %d, want 8", SchedRemoteShutdownSize)
	}
}

func TestSchedRemoteShutdownEncoding(t *testing.T) {
	v := SchedRemoteShutdown{DomainID: 0x0201, Reason: 0x08070605}
	checkEncoding(t, &v, &SchedRemoteShutdown{}, seqPattern(8, [2]int{2, 4}))
}

// struct sched_watchdog, from xen/include/public/sched.h.
func TestSchedWatchdogLayout(t *testing.T) {
	var v SchedWatchdog
	checkLayout(t, "sched_watchdog", unsafe.Sizeof(v), 8, []fieldOff{
		{"id", unsafe.Offsetof(v.ID), 0},
		{"timeout", unsafe.Offsetof(v.Timeout), 4},
	})
	if SchedWatchdogSize != 8 {
		t.Errorf("SchedWatchdogSize = %d, want 8", SchedWatchdogSize)
	}
}

func TestSchedWatchdogEncoding(t *testing.T) {
	v := SchedWatchdog{ID: 0x04030201, Timeout: 0x08070605}
	checkEncoding(t, &v, &SchedWatchdog{}, seqPattern(8))
}

// struct sched_pin_override, from xen/include/public/sched.h.
func TestSchedPinOverrideLayout(t *testing.T) {
	var v SchedPinOverride
	checkLayout(t, "sched_pin_override", unsafe.Sizeof(v), 4, []fieldOff{
		{"pcpu", unsafe.Offsetof(v.PCPU), 0},
	})
	if SchedPinOverrideSize != 4 {
		t.Errorf("SchedPinOverrideSize = %d, want 4", SchedPinOverrideSize)
	}
}

func TestSchedPinOverrideEncoding(t *testing.T) {
	v := SchedPinOverride{PCPU: 0x04030201}
	checkEncoding(t, &v, &SchedPinOverride{}, seqPattern(4))
}
