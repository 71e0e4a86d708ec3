//go:build testhooks

package main

import (
	"fmt"
	"strings"
	"syscall"

	"gozen/rt"
)

// crash= selects a deliberate failure (testhooks images only), so
// qemu-test.sh can check that each kind is reported loudly:
//
//	crash=trap   a fault inside rt's trap handling
//	crash=nil    an unrecovered nil dereference in a goroutine
//	crash=ud     an invalid opcode in Go code
var crashMode string

// iommudeny gives dom0's devices DTEs without DMA permission, so every DMA
// they make faults in the IOMMU and hv's event-log polling can be seen
// logging it (amdvi.TakeConfig.DenyDMA).
var iommuDenyDMA bool

// exitfloor makes the run loop answer the exit benchmark's exits by only
// resuming the guest (hv/exitfloor.go; bench/exits.sh).
var exitFloor bool

func testhookCmdline(cmd string) string {
	var keep []string
	for _, w := range strings.Fields(cmd) {
		if v, ok := strings.CutPrefix(w, "crash="); ok {
			crashMode = v
			continue
		}
		if v, ok := strings.CutPrefix(w, "machine="); ok {
			machineMode = v
			continue
		}
		if w == "iommudeny" {
			iommuDenyDMA = true
			fmt.Println("hv: testhooks: iommudeny: dom0's devices get no DMA permission in the IOMMU")
			continue
		}
		if w == "exitfloor" {
			exitFloor = true
			fmt.Println("hv: testhooks: exitfloor: the exit benchmark's exits only resume the guest")
			continue
		}
		keep = append(keep, w)
	}
	return strings.Join(keep, " ")
}

func ud2()

// machine= ends the machine at once through rt's platform code, with no
// domains, so qemu-test.sh can check each path on QEMU's firmware tables:
//
//	machine=poweroff-acpi  ACPI S5 (\_S5 from the DSDT), without the debug-exit code
//	machine=reset          the full reset order (the FADT's reset register first)
//	machine=reset-kbc      from the keyboard controller on
//	machine=reset-triple   a triple fault
var machineMode string

func testhookRun() {
	if machineMode != "" {
		h := hostACPI()
		if h == nil {
			rt.BootError("testhooks: machine=: no host ACPI tables")
		}
		s5 := readMachinePower(h)
		reset := "none"
		if r := machinePower.reset; r != nil {
			reset = fmt.Sprintf("port %#x <- %#x", r.Port, r.Value)
		}
		fmt.Printf("hv: testhooks: machine=%s (\\_S5 found: %v; FADT reset register: %s)\n", machineMode, s5 != nil, reset)
		switch machineMode {
		case "poweroff-acpi":
			rt.PowerOff(machinePower.pm1, false)
		case "reset":
			rt.Reset(machinePower.reset, rt.ResetACPI)
		case "reset-kbc":
			rt.Reset(machinePower.reset, rt.ResetKBC)
		case "reset-triple":
			rt.Reset(machinePower.reset, rt.ResetTriple)
		}
		rt.BootError("testhooks: unknown machine= mode")
	}
	if crashMode == "" {
		return
	}
	fmt.Println("hv: testhooks: crash=" + crashMode)
	done := make(chan bool)
	switch crashMode {
	case "trap":
		syscall.Syscall(rt.SysTestFault, 0, 0, 0)
	case "nil":
		go func() { deref(nil); done <- true }()
	case "ud":
		go func() { ud2(); done <- true }()
	default:
		rt.BootError("testhooks: unknown crash= mode")
	}
	<-done
	fmt.Println("hv: testhooks: still running after the crash (wrong)")
	rt.Stop(rt.ExitFailure)
}
