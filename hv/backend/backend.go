// Package backend is the small interface between GoZen's arch-neutral core
// (package hv) and a hardware-virtualization backend: AMD SVM today
// (arch/amd64/svm), Intel VT-x later. The core never imports a backend; the
// hv program wires one in.
//
// A backend turns its exits into the arch-neutral Exit below and gives the
// core access to guest state; everything policy-like (CPUID values, MSR
// emulation, I/O ports, hypercalls, MMIO, scheduling) lives in the core.
package backend

import "gozen/hv/x86"

// Backend creates virtual CPUs.
type Backend interface {
	// Name is "svm" or "vmx".
	Name() string
	// NewVCPU creates a vCPU whose guest-physical memory is translated by
	// the nested page tables rooted at nptRoot (a physical address).
	NewVCPU(nptRoot uint64) (VCPU, error)
}

// VCPU is one virtual CPU as the backend sees it. Methods are called only by
// the goroutine running the vCPU.
type VCPU interface {
	// Run enters the guest and returns at the next exit.
	Run() Exit
	// Regs is the guest's general-purpose registers (RAX and RSP included),
	// valid between Run calls; changes are loaded by the next Run.
	Regs() *x86.Regs
	RIP() uint64
	SetRIP(rip uint64)
	RFlags() uint64
	// Paging is the guest's CR0, CR3, CR4 and EFER.
	Paging() x86.Paging
	// Mode is the guest's execution mode (16-, 32- or 64-bit code).
	Mode() x86.Mode
	// CSBase is the code segment base, for instruction fetch.
	CSBase() uint64
	// CPL is the guest's current privilege level.
	CPL() int
	// InjectException queues an exception for delivery at the next Run.
	InjectException(vector uint8, errCode uint32, hasErr bool)
	// Interruptible reports whether the guest can take an external
	// interrupt now: RFLAGS.IF set, no interrupt shadow, nothing queued.
	Interruptible() bool
	// InjectInterrupt queues external interrupt vector for the next Run.
	InjectInterrupt(vector uint8)
	// RequestInterruptWindow makes the guest exit (ExitNone) as soon as it
	// can take an interrupt; the core then injects.
	RequestInterruptWindow()
	// SetPVHEntry puts the vCPU in the PVH entry state: 32-bit protected
	// mode, paging off, flat segments, EIP = entry, EBX = startInfo.
	SetPVHEntry(entry, startInfo uint64)
	// TLBFlush asks for the guest's TLB to be flushed before the next Run
	// (after its nested page tables lost mappings).
	TLBFlush()
	// Dump describes the guest state for a crash report.
	Dump() string
	// Destroy releases the vCPU's hardware structures.
	Destroy()
}

// Reason is why the guest exited, independent of the backend.
type Reason int

// Exit reasons.
const (
	ExitNone      Reason = iota // nothing for the core to do (a host interrupt was taken)
	ExitCPUID                   // CPUID: leaf in RAX, subleaf in RCX
	ExitMSRRead                 // RDMSR of MSR
	ExitMSRWrite                // WRMSR of MSR (value in RDX:RAX)
	ExitIO                      // IN/OUT/INS/OUTS on Port
	ExitHLT                     // HLT
	ExitHypercall               // VMMCALL/VMCALL
	ExitNPF                     // nested page fault on GPA
	ExitShutdown                // triple fault
	ExitException               // an intercepted guest exception
	ExitInvalid                 // the backend refused the guest state
	ExitUnhandled               // an exit the backend cannot classify (Code says which)
)

var reasonNames = [...]string{"none", "cpuid", "rdmsr", "wrmsr", "io", "hlt", "hypercall", "npf",
	"shutdown", "exception", "invalid-state", "unhandled"}

func (r Reason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Exit is one guest exit.
type Exit struct {
	Reason Reason
	// Code is the backend's own exit code, for logs.
	Code uint64
	// InsnLen is the length of the exiting instruction when the hardware
	// reported it (SVM with nRIP save, VT-x); 0 means the core must decode.
	InsnLen int

	// I/O.
	Port            uint16
	Size            int // 1, 2 or 4
	In, String, Rep bool
	IONextRIP       uint64 // RIP after the I/O instruction (SVM always reports it)

	// MSR.
	MSR uint32

	// Nested page fault.
	GPA                   uint64
	Write, Fetch, Present bool

	// Exception.
	Vector    uint8
	ErrorCode uint32
}
