package rt

import (
	"runtime"
	"unsafe"

	"gozen/arch/amd64"
)

// SleepControl is one ACPI PM1 control register and the SLP_TYP value of
// the S5 (soft-off) state for it.
type SleepControl struct {
	Port   uint16
	SlpTyp uint8
}

// PowerOff turns the machine off once hv is done with it. Under QEMU the
// isa-debug-exit device ends it first with hv's success code (as Stop
// does) unless tellQEMU is false (a test of what follows); on hardware that
// port write goes nowhere and the ACPI S5 request follows: SLP_TYP written into each PM1 control register, then SLP_EN
// (ACPI 6.5 §16.1.7, "Transitioning from the Working to the Sleeping
// State", the order Linux's acpi_hw_legacy_sleep uses). If the machine is
// still on after that, it halts with interrupts off, as Stop does.
func PowerOff(pm1 []SleepControl, tellQEMU bool) {
	kprint("hv: powering the machine off\n")
	amd64.DisableInterrupts()
	if tellQEMU {
		amd64.Outb(debugExitPort, ExitSuccess)
	}
	for _, c := range pm1[:min(len(pm1), 2)] {
		kprint("hv: powering the machine off: ACPI S5, PM1 control port ")
		kprintHex(uint64(c.Port))
		kprint(" SLP_TYP ")
		kprintDec(int64(c.SlpTyp))
		kprint("\n")
	}
	const slpTypMask, slpEn = 7 << 10, 1 << 13
	var v [2]uint16
	for i, c := range pm1[:min(len(pm1), 2)] {
		v[i] = amd64.Inw(c.Port)&^(slpTypMask|slpEn) | uint16(c.SlpTyp&7)<<10
		amd64.Outw(c.Port, v[i])
	}
	for i, c := range pm1[:min(len(pm1), 2)] {
		amd64.Outw(c.Port, v[i]|slpEn)
	}
	delayMs(100)
	kprint("hv: the ACPI power-off did not take; halting\n")
	stop(ExitSuccess)
}

// ResetMethod is a way to reset the machine, in the order Reset tries them.
type ResetMethod int

const (
	ResetACPI   ResetMethod = iota // the FADT's reset register
	ResetCF9                       // the chipset's reset control register
	ResetKBC                       // the keyboard controller's pulse-reset command
	ResetTriple                    // a triple fault
)

// ResetRegister is the FADT's reset register when it is an I/O port.
type ResetRegister struct {
	Port  uint16
	Value uint8
}

// Reset resets the machine, trying in turn what PCs offer, as Linux's
// native_machine_emergency_restart and Xen's machine_restart do: the
// FADT's reset register (when given), the chipset's reset control register
// at 0xCF9 (a full reset: SYS_RST, then RST_CPU and FULL_RST), the 8042
// keyboard controller's pulse-reset command (0xFE to port 0x64), and at
// last a triple fault (an empty IDT, then a breakpoint), starting at from
// (ResetACPI but in tests of the later ones). Each attempt is logged before
// it is made, so the serial log shows which one worked: the last line
// before the machine restarted. It does not return.
func Reset(acpiReset *ResetRegister, from ResetMethod) {
	amd64.DisableInterrupts()
	if r := acpiReset; r != nil && r.Port != 0 && from <= ResetACPI {
		kprint("hv: resetting the machine: ACPI reset register, port ")
		kprintHex(uint64(r.Port))
		kprint(" <- ")
		kprintHex(uint64(r.Value))
		kprint("\n")
		amd64.Outb(r.Port, r.Value)
		delayMs(50)
	}
	if from <= ResetCF9 {
		kprint("hv: resetting the machine: reset control register, port 0xcf9 <- 0xe\n")
		amd64.Outb(0xCF9, 0x02)
		delayMs(1)
		amd64.Outb(0xCF9, 0x0E)
		delayMs(50)
	}
	if from <= ResetKBC {
		kprint("hv: resetting the machine: keyboard controller, port 0x64 <- 0xfe\n")
		for i := 0; i < 10; i++ {
			for n := 0; n < 100000 && amd64.Inb(0x64)&2 != 0; n++ { // input buffer full
			}
			amd64.Outb(0x64, 0xFE)
			delayMs(5)
		}
	}
	kprint("hv: resetting the machine: triple fault\n")
	var idt [10]byte // limit 0: every vector faults, up to a triple fault
	amd64.Lidt(uintptr(unsafe.Pointer(&idt)))
	runtime.Breakpoint()
	for {
		amd64.Halt()
	}
}

// delayMs spins for ms milliseconds of TSC time.
func delayMs(ms uint64) {
	t0 := amd64.Rdtsc()
	for amd64.Rdtsc()-t0 < tscHz/1000*ms {
	}
}
