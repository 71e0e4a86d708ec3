// VMX instructions and the VT-x world switch. See run.go for the
// contracts. Every VMX instruction reports its outcome in RFLAGS (Intel SDM
// vol. 3 §31.2 "Conventions"): CF set is VMfailInvalid (no current VMCS),
// ZF set is VMfailValid (the reason is in the VMCS's VM-instruction error
// field), both clear is success. The functions return 0, 1 or 2 for these.

#include "textflag.h"

// Instructions Go's assembler does not know (SDM vol. 2, "VMX
// Instructions"), with fixed operands: memory operands at (AX), VMCS field
// encodings in DX, values in AX.
#define VMXON_AX     BYTE $0xf3; BYTE $0x0f; BYTE $0xc7; BYTE $0x30 // VMXON m64 [RAX]
#define VMCLEAR_AX   BYTE $0x66; BYTE $0x0f; BYTE $0xc7; BYTE $0x30 // VMCLEAR m64 [RAX]
#define VMPTRLD_AX   BYTE $0x0f; BYTE $0xc7; BYTE $0x30             // VMPTRLD m64 [RAX]
#define VMREAD_DX_AX BYTE $0x0f; BYTE $0x78; BYTE $0xd0             // VMREAD RAX, RDX: RAX = field RDX
#define VMWRITE_AX_DX BYTE $0x0f; BYTE $0x79; BYTE $0xd0            // VMWRITE RDX, RAX: field RDX = RAX
#define VMLAUNCH     BYTE $0x0f; BYTE $0x01; BYTE $0xc2
#define VMRESUME     BYTE $0x0f; BYTE $0x01; BYTE $0xc3
#define INVEPT_DX_AX BYTE $0x66; BYTE $0x0f; BYTE $0x38; BYTE $0x80; BYTE $0x10 // INVEPT RDX, m128 [RAX]
#define INVVPID_DX_AX BYTE $0x66; BYTE $0x0f; BYTE $0x38; BYTE $0x81; BYTE $0x10 // INVVPID RDX, m128 [RAX]
// CALL rel32 0: pushes the address of the next instruction and goes on there.
#define CALL_NEXT    BYTE $0xe8; LONG $0

// Host-state field encodings the world switch writes (vmcs.go).
#define F_HOST_FS_BASE 0x6C06
#define F_HOST_GS_BASE 0x6C08
#define F_HOST_RSP     0x6C14
#define F_HOST_RIP     0x6C16

// Offsets in the register array (x86 encoding order; RSP lives in the
// VMCS and is not loaded from here). asm_test.go checks each against
// x86.Regs and that every register moves to and from its own slot.
#define R_RAX 0
#define R_RCX 8
#define R_RDX 16
#define R_RBX 24
#define R_RBP 40
#define R_RSI 48
#define R_RDI 56
#define R_R8 64
#define R_R9 72
#define R_R10 80
#define R_R11 88
#define R_R12 96
#define R_R13 104
#define R_R14 112
#define R_R15 120

// status: CF → 1 (VMfailInvalid), ZF → 2 (VMfailValid), else 0, into ret.
#define STATUS(ret) \
	JCS 3(PC); \
	JEQ 4(PC); \
	MOVB $0, ret; \
	RET; \
	MOVB $1, ret; \
	RET; \
	MOVB $2, ret; \
	RET

// func vmxon(pa uintptr) uint8
TEXT ·vmxon(SB),NOSPLIT,$0-9
	LEAQ pa+0(FP), AX
	VMXON_AX
	STATUS(ret+8(FP))

// func vmclear(pa uintptr) uint8
TEXT ·vmclear(SB),NOSPLIT,$0-9
	LEAQ pa+0(FP), AX
	VMCLEAR_AX
	STATUS(ret+8(FP))

// func vmread(vmcs uintptr, f Field) (v uint64, status uint8)
//
// Interrupts are off from VMPTRLD to VMREAD, so no other thread can make
// another VMCS current in between.
TEXT ·vmread(SB),NOSPLIT,$0-25
	PUSHFQ
	CLI
	MOVQ $1, BX
	LEAQ vmcs+0(FP), AX
	VMPTRLD_AX
	JCS rdone
	JEQ rdone
	MOVL f+8(FP), DX
	VMREAD_DX_AX
	JCS rdone
	JEQ rdone
	MOVQ $0, BX
rdone:
	POPFQ
	MOVQ AX, v+16(FP)
	MOVB BX, status+24(FP)
	RET

// func vmwrite(vmcs uintptr, f Field, v uint64) uint8
TEXT ·vmwrite(SB),NOSPLIT,$0-25
	PUSHFQ
	CLI
	MOVQ $1, BX
	LEAQ vmcs+0(FP), AX
	VMPTRLD_AX
	JCS wdone
	JEQ wdone
	MOVL f+8(FP), DX
	MOVQ v+16(FP), AX
	VMWRITE_AX_DX
	JCS wdone
	JEQ wdone
	MOVQ $0, BX
wdone:
	POPFQ
	MOVB BX, ret+24(FP)
	RET

// func invept(typ uint64, desc *[2]uint64) uint8
TEXT ·invept(SB),NOSPLIT,$0-17
	MOVQ typ+0(FP), DX
	MOVQ desc+8(FP), AX
	INVEPT_DX_AX
	STATUS(ret+16(FP))

// func invvpid(typ uint64, desc *[2]uint64) uint8
TEXT ·invvpid(SB),NOSPLIT,$0-17
	MOVQ typ+0(FP), DX
	MOVQ desc+8(FP), AX
	INVVPID_DX_AX
	STATUS(ret+16(FP))

// func hostSegs(s *[7]uint16, gdtr, idtr *[10]byte)
//
// The host's CS, SS, DS, ES, FS, GS and TR selectors, and SGDT/SIDT.
TEXT ·hostSegs(SB),NOSPLIT,$0-24
	MOVQ s+0(FP), BX
	BYTE $0x8c; BYTE $0xc8 // MOV EAX, CS
	MOVW AX, 0(BX)
	BYTE $0x8c; BYTE $0xd0 // MOV EAX, SS
	MOVW AX, 2(BX)
	BYTE $0x8c; BYTE $0xd8 // MOV EAX, DS
	MOVW AX, 4(BX)
	BYTE $0x8c; BYTE $0xc0 // MOV EAX, ES
	MOVW AX, 6(BX)
	BYTE $0x8c; BYTE $0xe0 // MOV EAX, FS
	MOVW AX, 8(BX)
	BYTE $0x8c; BYTE $0xe8 // MOV EAX, GS
	MOVW AX, 10(BX)
	BYTE $0x0f; BYTE $0x00; BYTE $0xc8 // STR EAX
	MOVW AX, 12(BX)
	MOVQ gdtr+8(FP), AX
	BYTE $0x0f; BYTE $0x01; BYTE $0x00 // SGDT [RAX]
	MOVQ idtr+16(FP), AX
	BYTE $0x0f; BYTE $0x01; BYTE $0x08 // SIDT [RAX]
	RET

// func run(vmcs uintptr, regs *[16]uint64, guestFx, hostFx uintptr, launched bool) uint8
//
// Frame slots: 0(SP) regs, 8(SP) the VMCS address (VMPTRLD's operand),
// 16(SP) the caller's RFLAGS, 24(SP) launched, 32(SP) the CF and 33(SP)
// the ZF seen after the switch. The VM exit lands on the instruction after
// CALL_NEXT with RSP = the frame's SP (HOST_RIP and HOST_RSP are written
// just before entry). Entry and exit are told apart by CF: it is set before
// CALL_NEXT, and a VM exit clears every arithmetic flag (SDM §28.5.3: RFLAGS
// is 0x2 after an exit); a failed VMLAUNCH/VMRESUME jumps to the exit path
// with CF or ZF set instead.
TEXT ·run(SB),NOSPLIT,$40-41
	MOVQ regs+8(FP), AX
	MOVQ AX, 0(SP)
	MOVQ vmcs+0(FP), AX
	MOVQ AX, 8(SP)
	MOVBQZX launched+32(FP), AX
	MOVQ AX, 24(SP)
	PUSHFQ
	POPQ AX
	MOVQ AX, 16(SP)
	// Interrupts stay off until the host state is back: a host interrupt
	// during the guest forces an exit (external-interrupt exiting) and is
	// taken, by rt, at the POPFQ below.
	CLI
	MOVQ hostFx+24(FP), AX
	FXSAVE64 (AX)
	MOVQ guestFx+16(FP), AX
	FXRSTOR64 (AX)
	LEAQ 8(SP), AX
	VMPTRLD_AX
	JCS fail
	JEQ fail
	// This thread's FS and GS bases (rt gives each thread its own FS).
	MOVL $0xC0000100, CX
	RDMSR
	SHLQ $32, DX
	ORQ DX, AX
	MOVQ $F_HOST_FS_BASE, DX
	VMWRITE_AX_DX
	MOVL $0xC0000101, CX
	RDMSR
	SHLQ $32, DX
	ORQ DX, AX
	MOVQ $F_HOST_GS_BASE, DX
	VMWRITE_AX_DX
	STC
	CALL_NEXT
	JCS enter
	// VM exit (CF clear), or a failed entry (CF or ZF set, from below).
exit:
	PUSHQ AX
	MOVQ 8(SP), AX
	MOVQ CX, R_RCX(AX)
	MOVQ DX, R_RDX(AX)
	MOVQ BX, R_RBX(AX)
	MOVQ BP, R_RBP(AX)
	MOVQ SI, R_RSI(AX)
	MOVQ DI, R_RDI(AX)
	MOVQ R8, R_R8(AX)
	MOVQ R9, R_R9(AX)
	MOVQ R10, R_R10(AX)
	MOVQ R11, R_R11(AX)
	MOVQ R12, R_R12(AX)
	MOVQ R13, R_R13(AX)
	MOVQ R14, R_R14(AX)
	MOVQ R15, R_R15(AX)
	POPQ CX
	MOVQ CX, R_RAX(AX)
	SETCS 32(SP)
	SETEQ 33(SP)
	MOVQ guestFx+16(FP), AX
	FXSAVE64 (AX)
	MOVQ hostFx+24(FP), AX
	FXRSTOR64 (AX)
	MOVQ 16(SP), AX
	PUSHQ AX
	POPFQ
	MOVB $2, ret+40(FP)
	CMPB 33(SP), $0
	JNE done
	MOVB $1, ret+40(FP)
	CMPB 32(SP), $0
	JNE done
	MOVB $0, ret+40(FP)
done:
	RET

fail:
	// VMPTRLD failed: nothing was switched but the FPU state.
	SETCS 32(SP)
	SETEQ 33(SP)
	MOVQ guestFx+16(FP), AX
	FXSAVE64 (AX)
	MOVQ hostFx+24(FP), AX
	FXRSTOR64 (AX)
	MOVQ 16(SP), AX
	PUSHQ AX
	POPFQ
	MOVB $2, ret+40(FP)
	CMPB 32(SP), $0
	JEQ done
	MOVB $1, ret+40(FP)
	RET

enter:
	// Last in the function: its POPQ balances CALL_NEXT's push, which the
	// assembler does not see, so no FP reference may follow it.
	// 0(SP) holds the address CALL_NEXT pushed: the exit path.
	POPQ AX
	MOVQ $F_HOST_RIP, DX
	VMWRITE_AX_DX
	MOVQ SP, AX
	MOVQ $F_HOST_RSP, DX
	VMWRITE_AX_DX
	MOVQ 0(SP), AX
	MOVQ R_RCX(AX), CX
	MOVQ R_RDX(AX), DX
	MOVQ R_RBX(AX), BX
	MOVQ R_RBP(AX), BP
	MOVQ R_RSI(AX), SI
	MOVQ R_RDI(AX), DI
	MOVQ R_R8(AX), R8
	MOVQ R_R9(AX), R9
	MOVQ R_R10(AX), R10
	MOVQ R_R11(AX), R11
	MOVQ R_R12(AX), R12
	MOVQ R_R13(AX), R13
	MOVQ R_R14(AX), R14
	MOVQ R_R15(AX), R15
	CMPB 24(SP), $0
	MOVQ R_RAX(AX), AX
	JNE resume
	VMLAUNCH
	JMP exit
resume:
	VMRESUME
	JMP exit
