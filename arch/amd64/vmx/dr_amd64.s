// Debug registers DR0-DR3 and DR6, which VMX transitions do not switch
// (see run.go).

#include "textflag.h"

// MOV DRn, RBX (0F 23 /r) and MOV RBX, DRn (0F 21 /r), ModRM = 11 nnn 011.
#define MOVQ_BX_DR0 BYTE $0x0f; BYTE $0x23; BYTE $0xc3
#define MOVQ_BX_DR1 BYTE $0x0f; BYTE $0x23; BYTE $0xcb
#define MOVQ_BX_DR2 BYTE $0x0f; BYTE $0x23; BYTE $0xd3
#define MOVQ_BX_DR3 BYTE $0x0f; BYTE $0x23; BYTE $0xdb
#define MOVQ_BX_DR6 BYTE $0x0f; BYTE $0x23; BYTE $0xf3
#define MOVQ_DR0_BX BYTE $0x0f; BYTE $0x21; BYTE $0xc3
#define MOVQ_DR1_BX BYTE $0x0f; BYTE $0x21; BYTE $0xcb
#define MOVQ_DR2_BX BYTE $0x0f; BYTE $0x21; BYTE $0xd3
#define MOVQ_DR3_BX BYTE $0x0f; BYTE $0x21; BYTE $0xdb
#define MOVQ_DR6_BX BYTE $0x0f; BYTE $0x21; BYTE $0xf3

// func loadDR(dr *[5]uint64)
TEXT ·loadDR(SB),NOSPLIT,$0-8
	MOVQ dr+0(FP), AX
	MOVQ 0(AX), BX
	MOVQ_BX_DR0
	MOVQ 8(AX), BX
	MOVQ_BX_DR1
	MOVQ 16(AX), BX
	MOVQ_BX_DR2
	MOVQ 24(AX), BX
	MOVQ_BX_DR3
	MOVQ 32(AX), BX
	MOVQ_BX_DR6
	RET

// func saveDR(dr *[5]uint64)
TEXT ·saveDR(SB),NOSPLIT,$0-8
	MOVQ dr+0(FP), AX
	MOVQ_DR0_BX
	MOVQ BX, 0(AX)
	MOVQ_DR1_BX
	MOVQ BX, 8(AX)
	MOVQ_DR2_BX
	MOVQ BX, 16(AX)
	MOVQ_DR3_BX
	MOVQ BX, 24(AX)
	MOVQ_DR6_BX
	MOVQ BX, 32(AX)
	RET
