package x86

import "strconv"

// Mode is the guest's execution mode at the faulting instruction: the default
// operand and address size of its code segment. Its value is the width in
// bits, as x86asm.Decode expects; the zero Mode is invalid.
type Mode int

// Execution modes.
const (
	Mode16 Mode = 16 // real mode, virtual-8086 mode, or a 16-bit code segment
	Mode32 Mode = 32 // a 32-bit code segment (protected or compatibility mode)
	Mode64 Mode = 64 // 64-bit mode (EFER.LMA=1 and CS.L=1)
)

func (m Mode) valid() bool { return m == Mode16 || m == Mode32 || m == Mode64 }

func (m Mode) String() string {
	if m.valid() {
		return strconv.Itoa(int(m)) + "-bit"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// Control-register, EFER and RFLAGS bits (this package, the core and the
// backends use them; arch/amd64 keeps its own for the host CPU).
const (
	CR0PE = 1 << 0  // protection enable
	CR0WP = 1 << 16 // supervisor writes honour read-only pages
	CR0PG = 1 << 31 // paging

	CR4PSE  = 1 << 4  // 4 MiB pages under 32-bit paging
	CR4PAE  = 1 << 5  // physical address extension
	CR4LA57 = 1 << 12 // 5-level paging
	CR4SMEP = 1 << 20 // supervisor-mode execution prevention
	CR4SMAP = 1 << 21 // supervisor-mode access prevention

	EFERSCE  = 1 << 0  // SYSCALL/SYSRET enable
	EFERLME  = 1 << 8  // long mode enable
	EFERLMA  = 1 << 10 // long mode active
	EFERNXE  = 1 << 11 // no-execute enable
	EFERSVME = 1 << 12 // AMD SVM enable (a backend keeps it set under a guest and hides it)

	RFLAGSReserved = 1 << 1 // bit 1 of RFLAGS always reads as 1
	RFLAGSIF       = 1 << 9 // interrupt enable
)

// MSR numbers both backends and the core know.
const (
	MSREFER = 0xC0000080
	MSRPAT  = 0x277
	MSRTSC  = 0x10
)

// The hypercall instructions (three bytes each): Xen's hypercall page
// holds stubs with the one the CPU's virtualization extension traps (AMD
// APM vol. 3 "VMMCALL"; Intel SDM vol. 2 "VMCALL"). A backend says which
// (backend.Backend.HypercallInsn).
var (
	VMMCALL = [3]byte{0x0f, 0x01, 0xd9} // AMD SVM
	VMCALL  = [3]byte{0x0f, 0x01, 0xc1} // Intel VT-x
)

// ModeOf derives the execution mode from CR0.PE, EFER.LMA and the L and D/B
// bits of the CS descriptor (as cached in the VMCB or VMCS):
//
//	CR0.PE=0             → Mode16 (real mode; CS.D is not consulted)
//	EFER.LMA=1 and CS.L  → Mode64 (L=1 with D=1 is reserved; treated as 64-bit)
//	otherwise CS.D/B     → Mode32, else Mode16
//
// Virtual-8086 mode loads CS with D=0, so it comes out as Mode16.
func ModeOf(cr0, efer uint64, csL, csDB bool) Mode {
	switch {
	case cr0&CR0PE == 0:
		return Mode16
	case efer&EFERLMA != 0 && csL:
		return Mode64
	case csDB:
		return Mode32
	default:
		return Mode16
	}
}
