# long.S — the `long` mode: switch to 64-bit long mode and repeat the basic checks
# with the 64-bit hypercall convention (RAX = number; RDI, RSI, RDX, R10, R8).
#
# Page tables (in .bss): PML4[0] -> PDPT; PDPT[0] -> pd_low, identity-mapping the
# first 1 GiB with 2 MiB pages; PDPT[3] -> pd_high, identity-mapping [3 GiB, 4 GiB)
# uncached so that the MMIO window is reachable. Virtual = physical everywhere.

	.include "defs.inc"

	.set PTE_P,   1 << 0
	.set PTE_RW,  1 << 1
	.set PTE_PWT, 1 << 3
	.set PTE_PCD, 1 << 4
	.set PTE_PS,  1 << 7		# 2 MiB page in a page directory

	.code32
	.text
	.globl mode_long
mode_long:
	call parse_dec			# N: timed exits in 64-bit mode (default 0, none)
	jnc 1f
	xorl %eax, %eax
1:	cmpl $BENCH_MAX, %eax
	jbe 2f
	movl $BENCH_MAX, %eax
2:	movl %eax, long_bench_n
	call xen_version		# the 32-bit answer, compared in 64-bit mode
	movl %eax, xen_version32
	PUTS "long: entering long mode\n"

	movl $pdpt + PTE_P + PTE_RW, pml4
	movl $pd_low + PTE_P + PTE_RW, pdpt
	movl $pd_high + PTE_P + PTE_RW, pdpt + 3 * 8
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $21, %eax
	orl $PTE_P + PTE_RW + PTE_PS, %eax
	movl %eax, pd_low(,%ecx,8)
	addl $0xc0000000 + PTE_PWT + PTE_PCD, %eax
	movl %eax, pd_high(,%ecx,8)
	incl %ecx
	cmpl $512, %ecx
	jb 1b

	movl %cr4, %eax			# the architectural order: PAE, CR3, EFER.LME, CR0.PG
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $CR0_PG, %eax
	movl %eax, %cr0			# now in compatibility mode
	ljmp $SEL_CODE64, $long64

	.code64
long64:
	movw $SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl $stack_top, %esp		# zero-extends into RSP
	call setup_idt64
	PUTS64 "long mode\n"
	xorl %r12d, %r12d		# R12 = failed checks

	# EFER.LMA must read back as set.
	movl $MSR_EFER, %ecx
	rdmsr
	testl $EFER_LMA, %eax
	jnz 1f
	PUTS64 "long: FAIL EFER.LMA is clear, EFER "
	call puthex_64
	call newline64
	incl %r12d

	# The hypervisor signature.
1:	movl $0x40000000, %eax
	cpuid
	movl %ebx, sig64
	movl %ecx, sig64 + 4
	movl %edx, sig64 + 8
	movl $sig64, %esi
	movl $xen_signature, %edi
	movl $12, %ecx
	repe cmpsb
	jne 2f
	PUTS64 "long: cpuid signature OK\n"
	jmp 3f
2:	PUTS64 "long: FAIL cpuid 0x40000000 signature \""
	movl $sig64, %esi
	call puts64
	PUTS64 "\"\n"
	incl %r12d

	# xen_version with the 64-bit convention. EBX and ECX (the 32-bit argument
	# registers) hold garbage: an hv that reads them answers differently.
3:	movl $HC_xen_version, %eax
	movl $XENVER_version, %edi
	xorl %esi, %esi
	movl $0xdeadbeef, %ebx
	movl $0xdeadbeef, %ecx
	vmmcall
	PUTS64 "long: xen_version "
	call puthex_64
	call newline64
	movslq xen_version32, %rdx
	testq %rax, %rax
	js 4f
	cmpq %rdx, %rax
	je 5f
4:	PUTS64 "long: FAIL xen_version differs from the 32-bit answer "
	movq %rdx, %rax
	call puthex_64
	call newline64
	incl %r12d

	# console_io with the 64-bit convention: (RDI cmd, RSI count, RDX buffer).
5:	movl $HC_console_io, %eax
	movl $CONSOLEIO_write, %edi
	movl $console64_end - console64, %esi
	movl $console64, %edx
	movl $0xdeadbeef, %ebx
	movl $0xdeadbeef, %ecx
	vmmcall
	testq %rax, %rax
	jns 6f
	PUTS64 "long: FAIL console_io returned "
	call puthex_64
	call newline64
	incl %r12d

	# MMIO reads in 64-bit mode: a 64-bit load, a 32-bit load (which zeroes the
	# upper half of RAX) and a load into R9 (REX.R).
6:	movl $MMIO_PROBE, %eax
	movq (%rax), %rax
	cmpq $-1, %rax
	je 7f
	PUTS64 "long: FAIL movq (%rax),%rax read "
	call puthex_64
	call newline64
	incl %r12d
7:	movl $MMIO_PROBE, %eax
	movl (%rax), %eax
	movl $0xffffffff, %edx		# RDX = 0x00000000ffffffff
	cmpq %rdx, %rax
	je 8f
	PUTS64 "long: FAIL movl (%rax),%eax read "
	call puthex_64
	call newline64
	incl %r12d
8:	movl $MMIO_PROBE, %eax
	movabsq $0x1122334455667788, %r9
	movq 8(%rax), %r9
	cmpq $-1, %r9
	je 9f
	PUTS64 "long: FAIL movq 8(%rax),%r9 read "
	movq %r9, %rax
	call puthex_64
	call newline64
	incl %r12d

	# With N > 0: N round trips of CPUID leaf 0 (report 8) and of xen_version
	# (report 9), timed as exitbench does, here with 4-level paging on, so hv
	# walks the page tables for each instruction it decodes (bench/exits.sh).
9:	movl long_bench_n, %r13d
	testl %r13d, %r13d
	jz 19f
	xorl %r14d, %r14d
11:	cmpl %r13d, %r14d
	jae 12f
	lfence
	rdtsc
	movl %eax, %r15d
	xorl %eax, %eax
	xorl %ecx, %ecx
	cpuid
	lfence
	rdtsc
	subl %r15d, %eax
	movl %eax, bench_samples(,%r14,4)
	incl %r14d
	jmp 11b
12:	movl $GOZEN_REPORT_cpuid64, %esi
	call report64
	xorl %r14d, %r14d
13:	cmpl %r13d, %r14d
	jae 14f
	lfence
	rdtsc
	movl %eax, %r15d
	movl $HC_xen_version, %eax
	movl $XENVER_version, %edi
	xorl %esi, %esi
	vmmcall
	lfence
	rdtsc
	subl %r15d, %eax
	movl %eax, bench_samples(,%r14,4)
	incl %r14d
	jmp 13b
14:	movl $GOZEN_REPORT_hypercall64, %esi
	call report64

19:	movl $SHUTDOWN_poweroff, %edi
	testl %r12d, %r12d
	jnz 10f
	PUTS64 "long: OK\n"
	jmp shutdown64
10:	PUTS64 "long: FAIL\n"
	movl $SHUTDOWN_crash, %edi
	jmp shutdown64

# ---- 64-bit helpers (same convention as lib.S: everything but the results preserved) --

# report64: gozen_op(GOZEN_OP_report) of R13D samples at bench_samples under
# key ESI, with the 64-bit convention (RDI op, RSI key, RDX pointer, R10
# count); counts a failure in R12D if hv refuses.
report64:
	movl $HC_gozen_op, %eax
	movl $GOZEN_OP_report, %edi
	movl $bench_samples, %edx
	movl %r13d, %r10d
	vmmcall
	testq %rax, %rax
	jns 1f
	PUTS64 "long: FAIL gozen_op report\n"
	incl %r12d
1:	ret

# puts64: print the string at RSI on port 0xE9.
	.globl puts64
puts64:
	pushq %rsi
	pushq %rax
1:	lodsb
	testb %al, %al
	jz 2f
	outb %al, $E9_PORT
	jmp 1b
2:	popq %rax
	popq %rsi
	ret

# newline64: print "\n".
	.globl newline64, puthex_64, shutdown64, setup_idt64
newline64:
	pushq %rax
	movb $'\n', %al
	outb %al, $E9_PORT
	popq %rax
	ret

# puthex_64: print RAX as 0x followed by 16 hex digits.
puthex_64:
	pushq %rax
	pushq %rcx
	pushq %rdx
	movq %rax, %rdx
	movb $'0', %al
	outb %al, $E9_PORT
	movb $'x', %al
	outb %al, $E9_PORT
	movl $16, %ecx
1:	rolq $4, %rdx
	movl %edx, %eax
	andl $0xf, %eax
	movb hexdigits64(%rax), %al
	outb %al, $E9_PORT
	decl %ecx
	jnz 1b
	popq %rdx
	popq %rcx
	popq %rax
	ret

# shutdown64: sched_op(SCHEDOP_shutdown, &{reason = EDI}) with the 64-bit convention.
# EBX and ECX hold what a 32-bit reading would take for (cmd, pointer): SCHEDOP_yield
# and a reason of crash, so an hv using the wrong registers does not power off.
shutdown64:
	movl %edi, shutdown_reason64
	movl $SHUTDOWN_crash, decoy_reason64
	movl $HC_sched_op, %eax
	movl $SCHEDOP_shutdown, %edi
	movl $shutdown_reason64, %esi
	movl $SCHEDOP_yield, %ebx
	movl $decoy_reason64, %ecx
	vmmcall
	PUTS64 "testguest: shutdown returned "
	call puthex_64
	call newline64
	# fall through

# die64: triple-fault, as die does in 32-bit mode.
die64:
	PUTS64 "testguest: triple-faulting\n"
	lidt null_idt_desc
	int3
1:	cli
	hlt
	jmp 1b

# ---- 64-bit exception handling ---------------------------------------------------------
# As in entry.S: each stub makes the frame uniform, then exc64_common sees
#   0(%rsp) vector, 8 error code, 16 RIP, 24 CS, 32 RFLAGS, 40 RSP, 48 SS.
# Every exception is fatal here.
.macro EXC64 vec
exc64_\vec:
	.if (\vec == 8) | (\vec == 10) | (\vec == 11) | (\vec == 12) | (\vec == 13) | (\vec == 14) | (\vec == 17) | (\vec == 21) | (\vec == 29) | (\vec == 30)
	.else
	pushq $0
	.endif
	pushq $\vec
	jmp exc64_common
.endm

	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	EXC64 \v
	.endr

exc64_common:
	cld
	cmpb $0, in_fatal
	jne 1f
	movb $1, in_fatal
	PUTS64 "testguest: unexpected exception "
	movq (%rsp), %rax
	call puthex_64
	PUTS64 " error "
	movq 8(%rsp), %rax
	call puthex_64
	PUTS64 " at rip "
	movq 16(%rsp), %rax
	call puthex_64
	call newline64
	movl $SHUTDOWN_crash, %edi
	jmp shutdown64
1:	PUTS64 "testguest: another exception while reporting one\n"
	jmp die64

# setup_idt64: fill idt64 with 64-bit interrupt gates to the stubs and load it.
setup_idt64:
	xorl %ecx, %ecx
1:	movq exc64_table(,%rcx,8), %rax
	movq %rcx, %rdi
	shlq $4, %rdi
	addq $idt64, %rdi		# RDI = &idt64[vector]
	movw %ax, (%rdi)		# offset 15:0
	movw $SEL_CODE64, 2(%rdi)	# selector
	movw $0x8e00, 4(%rdi)		# present, DPL 0, 64-bit interrupt gate, IST 0
	shrq $16, %rax
	movw %ax, 6(%rdi)		# offset 31:16
	shrq $16, %rax
	movl %eax, 8(%rdi)		# offset 63:32
	movl $0, 12(%rdi)
	incl %ecx
	cmpl $NR_EXC, %ecx
	jb 1b
	lidt idt64_desc
	ret

	.section .rodata
	.balign 8
exc64_table:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad exc64_\v
	.endr
idt64_desc:
	.word NR_EXC * 16 - 1
	.quad idt64
xen_signature:
	.ascii "XenVMMXenVMM"
hexdigits64:
	.ascii "0123456789abcdef"
console64:
	.ascii "long: console_io works\n"
console64_end:

	.bss
	.balign 4096
pml4:		.skip 4096
pdpt:		.skip 4096
pd_low:		.skip 4096
pd_high:	.skip 4096
	.balign 16
idt64:		.skip NR_EXC * 16
xen_version32:	.long 0
long_bench_n:	.long 0
shutdown_reason64: .long 0
decoy_reason64:	.long 0
sig64:		.skip 16
