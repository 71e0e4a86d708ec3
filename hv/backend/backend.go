// Package backend is the interface between GoZen's arch-neutral core
// (package hv) and a hardware-virtualization backend: AMD SVM
// (arch/amd64/svm) or Intel VT-x (arch/amd64/vmx). The core never imports a
// backend; the hv program (cmd/hv) wires in the one the CPU offers.
//
// A backend turns its exits into the arch-neutral Exit below and gives the
// core access to guest state; everything policy-like (CPUID values, MSR
// emulation, I/O ports, hypercalls, MMIO, scheduling, the guest's TSC
// offset) lives in the core.
//
// # What a new backend implements
//
// Everything that differs between AMD SVM and Intel VT-x is behind Backend
// and VCPU (the VT-x backend needed no change in hv's exit handling):
//
//   - Backend: its Name; HostCPUID (the host CPU's CPUID, which the core
//     filters into the guest's); HypercallInsn (VMMCALL or VMCALL, for the
//     stubs of Xen's hypercall page, as Xen's
//     hvm_function_table.init_hypercall_page); PagingFormat (the nested
//     page-table leaf encoding: npt.NPT for AMD nested paging, npt.EPT for
//     Intel EPT), which cmd/hv passes to mm/npt and the core checks; and
//     NewVCPU over the nested tables' root.
//   - VCPU: Run (world switch and exit decoding into Exit), the guest
//     registers and RIP/RFLAGS, paging state and mode, CS base and CPL for
//     instruction fetch, event injection (exceptions, interrupts, NMIs)
//     and the interrupt window, the PVH entry state and the start-up IPI
//     (real-mode) entry state, a TLB flush request, the guest MSRs kept in
//     hardware state (EFER and PAT), the TSC offset, Dump and Destroy.
//
// Exits the hardware decodes for it (instruction lengths, I/O operands)
// go in Exit; InsnLen 0 makes the core decode the instruction itself.
package backend

import (
	"gozen/hv/x86"
	"gozen/mm/npt"
)

// Backend creates virtual CPUs and describes the hardware's conventions.
type Backend interface {
	// Name is "svm" or "vmx", for logs.
	Name() string
	// HostCPUID executes CPUID on the host CPU. The core builds the
	// guest's CPUID from it (hiding what it does not virtualize).
	HostCPUID(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)
	// HypercallInsn is the 3-byte instruction that exits to the core as
	// ExitHypercall: VMMCALL (x86.VMMCALL) on SVM, VMCALL (x86.VMCALL) on
	// VT-x. The core writes it into the guest's hypercall page.
	HypercallInsn() [3]byte
	// PagingFormat is the entry format of the nested page tables NewVCPU
	// expects (npt.NPT or npt.EPT).
	PagingFormat() npt.Format
	// NewVCPU creates a vCPU whose guest-physical memory is translated by
	// the nested page tables rooted at nptRoot (a physical address), built
	// in PagingFormat.
	NewVCPU(nptRoot uint64) (VCPU, error)
}

// VCPU is one virtual CPU as the backend sees it. Methods are called only by
// the goroutine running the vCPU.
type VCPU interface {
	// Run enters the guest and returns at the next exit, which it writes
	// to e (all of it: nothing of the previous exit is left). The core
	// passes the same Exit each time, so nothing is copied or allocated
	// per exit.
	Run(e *Exit)
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
	// CodeState writes what fetching the guest's next instruction depends
	// on (paging state, CS base, RIP, mode, CPL 3) to s, in one call: the
	// core's instruction fetch (x86.FetchCache) needs all of it.
	CodeState(s *x86.CodeState)
	// InjectException queues an exception for delivery at the next Run.
	InjectException(vector uint8, errCode uint32, hasErr bool)
	// Interruptible reports whether the guest can take an external
	// interrupt now: RFLAGS.IF set, no interrupt shadow, nothing queued.
	Interruptible() bool
	// InjectInterrupt queues external interrupt vector for the next Run.
	InjectInterrupt(vector uint8)
	// InjectNMI queues a non-maskable interrupt for the next Run, whatever
	// RFLAGS.IF, unless an event is already queued or the guest is in an
	// interrupt shadow: then it returns false and the core tries again
	// before a later Run.
	InjectNMI() bool
	// RequestInterruptWindow makes the guest exit (ExitNone) as soon as it
	// can take an interrupt; the core then injects.
	RequestInterruptWindow()
	// SetPVHEntry puts the vCPU in the PVH entry state: 32-bit protected
	// mode, paging off, flat segments, EIP = entry, EBX = startInfo.
	SetPVHEntry(entry, startInfo uint64)
	// SetStartupEntry puts the vCPU in the state an INIT leaves it (SDM
	// vol. 3 §9.1.1 table 9-1, APM vol. 2 §14.1.3 table 14-1: real mode,
	// paging and caches' control bits as Xen's hvm_vcpu_reset_state sets
	// them, CR0 = ET; segments with base sel<<4 and limit 0xFFFF; EFER,
	// CR3, CR4, general registers 0; DR6/DR7 and PAT at their reset values;
	// nothing queued for injection), then starts it as a start-up IPI with
	// this vector does (SDM §8.4.4.1, "wait-for-SIPI"): CS selector
	// vector<<8, CS base vector<<12, IP 0.
	SetStartupEntry(vector uint8)
	// SetEFER stores a guest write to EFER that the core has checked (only
	// SCE, LME, LMA, NXE); Paging().EFER reads it back. The backend keeps
	// its own bits (SVM's EFER.SVME) underneath and hidden.
	SetEFER(v uint64)
	// PAT and SetPAT are the guest's IA32_PAT (SVM: the VMCB's G_PAT;
	// VT-x: the VMCS guest PAT field). The core checks values first.
	PAT() uint64
	SetPAT(v uint64)
	// SetTSCOffset sets what the CPU adds to the host TSC when the guest
	// reads it with RDTSC/RDTSCP (SVM: VMCB TSC_OFFSET; VT-x: the VMCS TSC
	// offset with "use TSC offsetting"). The core chooses the offset and
	// answers RDMSR of the TSC with the same sum.
	SetTSCOffset(off uint64)
	// PassIOPorts lets the guest reach the given host I/O port ranges
	// without an exit (a privileged domain driving the machine's devices);
	// every other port still exits. The vCPU gets its own permission map
	// (SVM: an IOPM; VT-x: I/O bitmaps A and B). Called again, it replaces
	// the previous set.
	PassIOPorts(ranges []PortRange) error
	// TLBFlush asks for the guest's TLB to be flushed before the next Run
	// (after its nested page tables lost mappings).
	TLBFlush()
	// Dump describes the guest state for a crash report.
	Dump() string
	// Destroy releases the vCPU's hardware structures.
	Destroy()
}

// PortRange is N I/O ports from First on.
type PortRange struct {
	First uint16
	N     int
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
	// ExitICEBP is INT1 (ICEBP, opcode F1), intercepted before it runs:
	// the core delivers #DB as a trap, with RIP after the instruction, as
	// the CPU would (Xen's X86_ET_PRIV_SW_EXC).
	ExitICEBP
)

var reasonNames = [...]string{"none", "cpuid", "rdmsr", "wrmsr", "io", "hlt", "hypercall", "npf",
	"shutdown", "exception", "invalid-state", "unhandled", "icebp"}

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

	// Detail describes an ExitInvalid: which consistency check the guest
	// state appears to fail and the state itself (control registers,
	// EFER, segment attributes), for the crash report.
	Detail string
}
