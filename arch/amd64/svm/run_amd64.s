// The SVM world switch. One function: enter the guest described by a VMCB
// and come back on #VMEXIT. See run.go for the contract.

#include "textflag.h"

// Instructions Go's assembler does not know (AMD APM vol. 3).
#define VMRUN  BYTE $0x0f; BYTE $0x01; BYTE $0xd8
#define VMLOAD BYTE $0x0f; BYTE $0x01; BYTE $0xda
#define VMSAVE BYTE $0x0f; BYTE $0x01; BYTE $0xdb
#define STGI   BYTE $0x0f; BYTE $0x01; BYTE $0xdc
#define CLGI   BYTE $0x0f; BYTE $0x01; BYTE $0xdd

// Offsets in the register array (x86 encoding order; RAX and RSP live in
// the VMCB and are not loaded from here). asm_test.go checks each against
// x86.Regs and that every register moves to and from its own slot.
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

// func run(vmcbPA, hostSavePA uintptr, regs *[16]uint64, guestFx, hostFx uintptr)
//
// Frame slots: 0(SP) regs, 8(SP) vmcb, 16(SP) host save area. Go's
// assembler rewrites FP references as SP offsets, so they stay valid while
// BP holds the guest's RBP.
TEXT ·run(SB),NOSPLIT,$24-40
	MOVQ regs+16(FP), AX
	MOVQ AX, 0(SP)
	MOVQ vmcbPA+0(FP), AX
	MOVQ AX, 8(SP)
	MOVQ hostSavePA+8(FP), AX
	MOVQ AX, 16(SP)

	// From here until STGI, interrupts (and NMIs) are held pending.
	CLGI
	MOVQ hostFx+32(FP), AX
	FXSAVE64 (AX)
	MOVQ guestFx+24(FP), AX
	FXRSTOR64 (AX)
	// Host FS/GS/TR/LDTR bases, KernelGSBase, STAR/LSTAR/CSTAR/SFMASK and
	// SYSENTER MSRs are not switched by VMRUN: save the host's, load the guest's.
	MOVQ 16(SP), AX
	VMSAVE
	MOVQ 8(SP), AX
	VMLOAD

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
	MOVQ 8(SP), AX
	VMRUN
	// #VMEXIT: the CPU restored host RAX (= VMCB address), RSP and RIP; the
	// other GPRs still hold the guest's values.
	MOVQ 0(SP), AX
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
	MOVQ 8(SP), AX
	VMSAVE
	MOVQ 16(SP), AX
	VMLOAD
	MOVQ guestFx+24(FP), AX
	FXSAVE64 (AX)
	MOVQ hostFx+32(FP), AX
	FXRSTOR64 (AX)
	// A host interrupt that caused the exit is taken here, by rt.
	STGI
	RET
