// Tiny CPU primitives. Each function is one or two instructions; cpu.go
// declares and documents them. All are NOSPLIT: they run in boot and trap
// context where the Go runtime cannot grow stacks.

#include "textflag.h"

// func Outb(port uint16, v uint8)
TEXT ·Outb(SB),NOSPLIT,$0-3
	MOVW port+0(FP), DX
	MOVB v+2(FP), AX
	OUTB
	RET

// func Inb(port uint16) uint8
TEXT ·Inb(SB),NOSPLIT,$0-9
	MOVW port+0(FP), DX
	XORL AX, AX
	INB
	MOVB AX, ret+8(FP)
	RET

// func Outw(port uint16, v uint16)
TEXT ·Outw(SB),NOSPLIT,$0-4
	MOVW port+0(FP), DX
	MOVW v+2(FP), AX
	OUTW
	RET

// func Inw(port uint16) uint16
TEXT ·Inw(SB),NOSPLIT,$0-10
	MOVW port+0(FP), DX
	XORL AX, AX
	INW
	MOVW AX, ret+8(FP)
	RET

// func Outl(port uint16, v uint32)
TEXT ·Outl(SB),NOSPLIT,$0-8
	MOVW port+0(FP), DX
	MOVL v+4(FP), AX
	OUTL
	RET

// func Inl(port uint16) uint32
TEXT ·Inl(SB),NOSPLIT,$0-12
	MOVW port+0(FP), DX
	INL
	MOVL AX, ret+8(FP)
	RET

// func Rdmsr(msr uint32) uint64
TEXT ·Rdmsr(SB),NOSPLIT,$0-16
	MOVL msr+0(FP), CX
	RDMSR
	SHLQ $32, DX
	ORQ DX, AX
	MOVQ AX, ret+8(FP)
	RET

// func Wrmsr(msr uint32, v uint64)
TEXT ·Wrmsr(SB),NOSPLIT,$0-16
	MOVL msr+0(FP), CX
	MOVQ v+8(FP), AX
	MOVQ AX, DX
	SHRQ $32, DX
	WRMSR
	RET

// func Cpuid(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·Cpuid(SB),NOSPLIT,$0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// func Rdtsc() uint64
TEXT ·Rdtsc(SB),NOSPLIT,$0-8
	RDTSC
	SHLQ $32, DX
	ORQ DX, AX
	MOVQ AX, ret+0(FP)
	RET

// func ReadCR0() uint64
TEXT ·ReadCR0(SB),NOSPLIT,$0-8
	MOVQ CR0, AX
	MOVQ AX, ret+0(FP)
	RET

// func WriteCR0(v uint64)
TEXT ·WriteCR0(SB),NOSPLIT,$0-8
	MOVQ v+0(FP), AX
	MOVQ AX, CR0
	RET

// func ReadCR2() uint64
TEXT ·ReadCR2(SB),NOSPLIT,$0-8
	MOVQ CR2, AX
	MOVQ AX, ret+0(FP)
	RET

// func ReadCR3() uint64
TEXT ·ReadCR3(SB),NOSPLIT,$0-8
	MOVQ CR3, AX
	MOVQ AX, ret+0(FP)
	RET

// func WriteCR3(v uint64)
TEXT ·WriteCR3(SB),NOSPLIT,$0-8
	MOVQ v+0(FP), AX
	MOVQ AX, CR3
	RET

// func ReadCR4() uint64
TEXT ·ReadCR4(SB),NOSPLIT,$0-8
	MOVQ CR4, AX
	MOVQ AX, ret+0(FP)
	RET

// func WriteCR4(v uint64)
TEXT ·WriteCR4(SB),NOSPLIT,$0-8
	MOVQ v+0(FP), AX
	MOVQ AX, CR4
	RET

// func Lgdt(desc uintptr)
TEXT ·Lgdt(SB),NOSPLIT,$0-8
	MOVQ desc+0(FP), AX
	LGDT 0(AX)
	RET

// func Lidt(desc uintptr)
TEXT ·Lidt(SB),NOSPLIT,$0-8
	MOVQ desc+0(FP), AX
	LIDT 0(AX)
	RET

// func Ltr(sel uint16)
TEXT ·Ltr(SB),NOSPLIT,$0-2
	MOVW sel+0(FP), AX
	LTR AX
	RET

// func ReloadSegments(code, data uint16)
// Loads DS, ES, SS with data and reloads CS with code through a far return.
TEXT ·ReloadSegments(SB),NOSPLIT|NOFRAME,$0-4
	MOVWQZX data+2(FP), AX
	MOVWQZX code+0(FP), CX
	MOVW AX, DS
	MOVW AX, ES
	MOVW AX, SS
	XORL AX, AX
	MOVW AX, GS
	POPQ BX            // return address
	PUSHQ CX
	PUSHQ BX
	BYTE $0x48; BYTE $0xcb // LRETQ (REX.W retf): pops RIP then CS

// func Invlpg(va uintptr)
TEXT ·Invlpg(SB),NOSPLIT,$0-8
	MOVQ va+0(FP), AX
	INVLPG (AX)
	RET

// func Halt()
TEXT ·Halt(SB),NOSPLIT,$0
	HLT
	RET

// func DisableInterrupts()
TEXT ·DisableInterrupts(SB),NOSPLIT,$0
	CLI
	RET

// func EnableInterrupts()
TEXT ·EnableInterrupts(SB),NOSPLIT,$0
	STI
	RET

// func Pause()
TEXT ·Pause(SB),NOSPLIT,$0
	PAUSE
	RET

// func rdrand() (v uint64, ok bool)
TEXT ·rdrand(SB),NOSPLIT,$0-9
	RDRANDQ AX
	SETCS BX
	MOVQ AX, v+0(FP)
	MOVB BX, ok+8(FP)
	RET

// func rdseed() (v uint64, ok bool)
TEXT ·rdseed(SB),NOSPLIT,$0-9
	RDSEEDQ AX
	SETCS BX
	MOVQ AX, v+0(FP)
	MOVB BX, ok+8(FP)
	RET

// func Fxsave(area uintptr)
TEXT ·Fxsave(SB),NOSPLIT,$0-8
	MOVQ area+0(FP), AX
	FXSAVE64 0(AX)
	RET

// func Fninit()
TEXT ·Fninit(SB),NOSPLIT,$0
	BYTE $0xdb; BYTE $0xe3 // FNINIT
	RET

// func Ldmxcsr(v uint32)
TEXT ·Ldmxcsr(SB),NOSPLIT,$0-4
	LDMXCSR v+0(FP)
	RET
