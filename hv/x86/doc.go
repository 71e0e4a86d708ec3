// Package x86 holds the architecture-neutral x86 logic that hv's exit
// handlers (SVM today, VT-x later) need when the CPU does not hand them
// decoded instructions: on QEMU TCG's SVM there is no nRIP save and there are
// no decode assists, so hv finds instruction lengths and emulates MMIO by
// decoding the guest's own instruction bytes.
//
// The package has three parts:
//
//   - ModeOf derives the guest's execution mode (Mode16, Mode32, Mode64).
//   - Translate walks the guest's own page tables (paging off, 32-bit,
//     PAE, 4-level and 5-level) over a PhysMem that the caller implements on
//     top of guest-physical memory; ReadVirt, WriteVirt and FetchInsn copy
//     through it page by page.
//   - InsnLen finds an instruction's length (golang.org/x/arch/x86/x86asm
//     with a small fallback for system instructions x86asm does not know),
//     and DecodeMMIO plus MMIO.Complete decode and finish the MOV forms that
//     compilers emit for device-register accesses.
//
// It is pure Go with no assembly and is tested on the host. Translate,
// ReadVirt, WriteVirt and FetchInsn do not allocate on success when the
// PhysMem also implements PhysWordReader. DecodeMMIO and Complete do not
// allocate on success (DecodeMMIO has its own decoder for the MOV forms,
// fuzzed against x86asm, and calls x86asm only to name an unsupported
// instruction); InsnLen may allocate inside x86asm for instructions with a
// memory operand. Errors allocate.
package x86
