package vmx

import "fmt"

// Controls are the VM-execution, VM-exit and VM-entry control words GoZen
// runs every vCPU with, computed from the capability MSRs.
type Controls struct {
	Pin, Proc, Proc2, Exit, Entry uint32
}

// What GoZen needs (refused without) and what it uses when the CPU has it.
const (
	// External interrupts exit, so hv's timer keeps the CPU; NMIs exit too.
	pinMust = PinExtIntExiting | PinNMIExiting
	// Virtual NMIs: the CPU tracks the guest's NMI blocking until IRET.
	pinWant = PinVirtualNMIs

	// HLT, MWAIT and MONITOR exit (as SVM intercepts them); MOV DR
	// exits until the vCPU first touches a debug register (then its
	// DR0-DR3/DR6 are switched, VCPU.useDebugRegs); CR8 accesses exit so
	// a guest cannot write the host's TPR (there is no TPR shadow); I/O
	// and MSR accesses are filtered by the bitmaps.
	procMust = ProcHLT | ProcIOBitmaps | ProcMSRBitmaps | ProcSecondary | ProcTSCOffset |
		ProcMWAIT | ProcMONITOR | ProcMOVDR | ProcCR8Load | ProcCR8Store
	procWant = 0

	proc2Must = Proc2EPT | Proc2Unrestricted
	// RDTSCP and INVPCID raise #UD in a guest unless enabled; the core's
	// CPUID decides whether the guest knows about them.
	proc2Want = Proc2VPID | Proc2RDTSCP | Proc2INVPCID

	exitMust = ExitHost64 | ExitSavePAT | ExitLoadPAT | ExitSaveEFER | ExitLoadEFER | ExitSaveDebug
	exitWant = 0

	entryMust = EntryLoadPAT | EntryLoadEFER | EntryLoadDebug
	entryWant = 0
)

// ComputeControls derives the control words from the capability MSRs in
// f: the bits above, plus each MSR's required-1 bits, minus whatever a
// TRUE_ MSR lets go (CR3 load/store exiting, for one, which EPT with
// unrestricted guest does not need). ExitAckIntr stays clear: a host
// interrupt stays pending in the local APIC and rt takes it when run
// restores RFLAGS.IF.
func ComputeControls(f Features) (Controls, error) {
	var c Controls
	var err error
	if c.Pin, err = f.Pin.Adjust(pinMust, pinWant); err != nil {
		return c, fmt.Errorf("pin-based controls: %w", err)
	}
	if c.Proc, err = f.Proc.Adjust(procMust, procWant); err != nil {
		return c, fmt.Errorf("processor-based controls: %w", err)
	}
	if c.Proc2, err = f.Proc2.Adjust(proc2Must, proc2Want); err != nil {
		return c, fmt.Errorf("secondary processor-based controls: %w", err)
	}
	if c.Exit, err = f.Exit.Adjust(exitMust, exitWant); err != nil {
		return c, fmt.Errorf("VM-exit controls: %w", err)
	}
	if c.Exit&ExitAckIntr != 0 {
		return c, fmt.Errorf("VM-exit controls: the CPU requires \"acknowledge interrupt on exit\"")
	}
	if c.Entry, err = f.Entry.Adjust(entryMust, entryWant); err != nil {
		return c, fmt.Errorf("VM-entry controls: %w", err)
	}
	// IA-32e mode guest is set per vCPU, with the guest's EFER.LMA.
	c.Entry &^= EntryIA32e
	return c, nil
}

// CR0 and CR4 under VMX (SDM vol. 3 appendix A.7, A.8): bits set in
// FIXED0 must be 1 and bits clear in FIXED1 must be 0. With unrestricted
// guest, CR0.PE and CR0.PG are exempt in the guest.
const (
	cr0PE   = 1 << 0
	cr0ET   = 1 << 4
	cr0NE   = 1 << 5
	cr0NW   = 1 << 29
	cr0CD   = 1 << 30
	cr0PG   = 1 << 31
	cr4PAE  = 1 << 5
	cr4VMXE = 1 << 13
)

// GuestCR0Fixed returns the bits a guest's CR0 must have set (must1) and
// may have set (may1). GoZen owns the bits the guest may not choose (the
// CR0 guest/host mask is must1 | ^may1, low 32 bits), shows the guest its
// own value for them through the read shadow, and sees a guest write that
// changes them as a control-register exit.
func GuestCR0Fixed(f Features) (must1, may1 uint64) {
	return f.CR0Fixed0 &^ (cr0PE | cr0PG), f.CR0Fixed1
}

// GuestCR4Fixed is GuestCR0Fixed for CR4 (CR4.VMXE is fixed to 1 in VMX
// operation, the guest's included; the core's CPUID hides VMX from
// guests).
func GuestCR4Fixed(f Features) (must1, may1 uint64) { return f.CR4Fixed0, f.CR4Fixed1 }

// ownedMask is the guest/host mask for a control register with those
// fixed bits: the must-1 bits and the low-32 must-0 bits.
func ownedMask(must1, may1 uint64) uint64 { return must1 | (^may1 & 0xffffffff) }
