//go:build testhooks

#include "textflag.h"

// func ud2()
TEXT ·ud2(SB),NOSPLIT,$0
	BYTE $0x0f; BYTE $0x0b
	RET
