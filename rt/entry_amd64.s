// The runtime layer's entry points: the 64-bit boot entry, the common trap
// path shared by all 256 IDT vectors and by SYSCALL, and the path back into a
// thread. Go code in trap.go does the work; this file only moves registers.
//
// Trap context. Every entry saves the interrupted thread's registers into the
// thread's Frame (rt.curFrame) and its x87/SSE state into its FX area
// (rt.curFx), then switches to the kernel stack and to the kernel TLS (so the
// ABI0 wrapper of rt.trap loads the kernel's fake g into R14) and calls
// rt.trap. rt.trap picks the thread to resume by setting curFrame/curFx/curFS;
// resume restores exactly that state and IRETQs. Interrupts stay disabled in
// trap context, and there is one CPU, so the globals need no locking.
//
// Frame layout (see Frame in trap.go; the order is checked by TestFrameLayout):
// r15 r14 r13 r12 r11 r10 r9 r8 rbp rdi rsi rdx rcx rbx rax vector err rip cs rflags rsp ss

#include "textflag.h"

#define MSR_FS_BASE 0xC0000100
#define FRAME_WORDS 22
#define VECTOR_SYSCALL 256

// SETG(g, stack, size, tls) points fake g at its stack and tls[0] at g.
#define SETG(g, stack, size, tls) \
	MOVQ $stack(SB), AX; \
	MOVQ AX, g+0(SB); \
	LEAQ size(AX), BX; \
	MOVQ BX, g+8(SB); \
	ADDQ $1024, AX; \
	MOVQ AX, g+16(SB); \
	MOVQ AX, g+24(SB); \
	MOVQ $g(SB), AX; \
	MOVQ AX, tls+0(SB)

// WRFS(reg) sets the FS base to reg (clobbers AX, CX, DX).
#define WRFS(reg) \
	MOVQ reg, AX; \
	MOVQ AX, DX; \
	SHRQ $32, DX; \
	MOVL $MSR_FS_BASE, CX; \
	WRMSR

// entry64 is where the 32-bit boot stub lands in long mode, on its identity
// map of the first 4 GiB. DI = multiboot magic, SI = info address.
TEXT ·entry64(SB),NOSPLIT|NOFRAME,$0
	MOVL DI, DI
	MOVL SI, SI
	MOVL $0x10, AX
	MOVW AX, DS
	MOVW AX, ES
	MOVW AX, SS
	MOVQ DI, ·bootMagic(SB)
	MOVQ SI, ·bootInfoAddr(SB)
	MOVQ $1, ·inKernel(SB) // faults during boot0 take the emergency path
	SETG(·bootG, ·bootStack, 65536, ·bootTLS)
	SETG(·kernelG, ·kernelStack, 65536, ·kernelTLS)
	SETG(·emergG, ·emergStack, 32768, ·emergTLS)
	MOVQ $·bootStack+65536(SB), SP
	MOVQ $·bootTLS+8(SB), BX
	WRFS(BX)
	CALL ·boot0(SB)
hang:
	CLI
	HLT
	JMP hang

// syscallEntry is the target of SYSCALL (MSR_LSTAR). SYSCALL at CPL0 does not
// switch stacks: RSP is still the caller's. FMASK has cleared IF. RCX holds the
// return RIP and R11 the caller's RFLAGS. Build an interrupt-style frame on
// the IST1 stack (free: no trap is in progress when a thread runs) and join
// the common path.
TEXT ·syscallEntry(SB),NOSPLIT|NOFRAME,$0
	MOVQ SP, ·scratchRSP(SB)
	MOVQ ·ist1Top(SB), SP
	PUSHQ $0x10
	PUSHQ ·scratchRSP(SB)
	PUSHQ R11
	PUSHQ $0x08
	PUSHQ CX
	PUSHQ $0
	PUSHQ $VECTOR_SYSCALL
	JMP ·trapCommon(SB)

// trapCommon: the stack holds vector, error code and the CPU's iret frame.
TEXT ·trapCommon(SB),NOSPLIT|NOFRAME,$0
	PUSHQ AX
	PUSHQ BX
	PUSHQ CX
	PUSHQ DX
	PUSHQ SI
	PUSHQ DI
	PUSHQ BP
	PUSHQ R8
	PUSHQ R9
	PUSHQ R10
	PUSHQ R11
	PUSHQ R12
	PUSHQ R13
	PUSHQ R14
	PUSHQ R15
	CLD
	CMPQ ·inKernel(SB), $0
	JNE nested
	MOVQ $1, ·inKernel(SB)
	MOVQ ·curFrame(SB), DI
	MOVQ SP, SI
	MOVQ $FRAME_WORDS, CX
	REP; MOVSQ
	MOVQ ·curFx(SB), AX
	FXSAVE64 (AX)
	MOVQ ·kernelStackTop(SB), SP
	MOVQ $·kernelTLS+8(SB), BX
	WRFS(BX)
	CALL ·trap(SB)
	JMP ·resume(SB)
nested:
	// A fault while rt itself was running: report it from a separate stack
	// and g. The frame stays where the CPU put it.
	MOVQ SP, ·nestedFrame(SB)
	MOVQ $·emergStack+32768(SB), SP
	MOVQ $·emergTLS+8(SB), BX
	WRFS(BX)
	CALL ·nestedTrap(SB)
nhang:
	CLI
	HLT
	JMP nhang

// resume returns to the thread described by curFrame, curFx and curFS.
TEXT ·resume(SB),NOSPLIT|NOFRAME,$0
	MOVQ ·curFS(SB), BX
	WRFS(BX)
	MOVQ ·curFx(SB), AX
	FXRSTOR64 (AX)
	MOVQ $0, ·inKernel(SB)
	MOVQ ·curFrame(SB), SP
	POPQ R15
	POPQ R14
	POPQ R13
	POPQ R12
	POPQ R11
	POPQ R10
	POPQ R9
	POPQ R8
	POPQ BP
	POPQ DI
	POPQ SI
	POPQ DX
	POPQ CX
	POPQ BX
	POPQ AX
	ADDQ $16, SP
	IRETQ

// idleLoop runs when no thread is runnable: wait for an interrupt.
TEXT ·idleLoop(SB),NOSPLIT|NOFRAME,$0
idle:
	STI
	HLT
	JMP idle

// func asmAddrs() (syscallEntry, idleLoop, vectors, entry uintptr)
TEXT ·asmAddrs(SB),NOSPLIT,$0-32
	MOVQ $·syscallEntry(SB), AX
	MOVQ AX, syscallEntry+0(FP)
	MOVQ $·idleLoop(SB), AX
	MOVQ AX, idleLoop+8(FP)
	MOVQ $·vectorTable(SB), AX
	MOVQ AX, vectors+16(FP)
	MOVQ $·entry64(SB), AX
	MOVQ AX, entry+24(FP)
	RET

// func fxrstor(area uintptr)
TEXT ·fxrstor(SB),NOSPLIT,$0-8
	MOVQ area+0(FP), AX
	FXRSTOR64 (AX)
	RET
