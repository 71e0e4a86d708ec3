# apic.S — the apic mode: the local APIC's error status register as hardware keeps it
# (issue 12 item 6). Paging is off, so the APIC page is reached at 0xFEE00000 directly.
# Checks: the version register; ESR reads 0 until written (write-before-read); a fixed
# self-IPI with vector 3 is refused and, after the next ESR write, ESR reads the send
# illegal vector bit (0x20); the write after that clears it; a reserved register reads 0
# and sets the illegal register address bit (0x80).

	.include "defs.inc"
	.code32
	.text

	.set APIC, 0xfee00000
	.set APIC_VERSION, 0x30
	.set APIC_SVR, 0xf0
	.set APIC_ESR, 0x280
	.set APIC_ICR_LOW, 0x300
	.set APIC_ICR_HIGH, 0x310
	.set APIC_RESERVED, 0x3f0

# APIC_EXPECT reg, expected, "what": read the register and compare, counting failures.
.macro APIC_EXPECT reg, expected, desc
	.pushsection .rodata.str, "a"
.Lapic\@: .asciz "\desc"
	.popsection
	movl APIC + \reg, %eax
	cmpl $\expected, %eax
	je .Lok\@
	PUTS "apic: FAIL "
	pushl %esi
	movl $.Lapic\@, %esi
	call puts
	popl %esi
	PUTS " read "
	call puthex
	call newline
	incl apic_failures
.Lok\@:
.endm

	.globl mode_apic
mode_apic:
	APIC_EXPECT APIC_VERSION, 0x00050014, "version (0x14, 6 LVT entries)"
	movl $0x1ff, APIC + APIC_SVR		# software enable, spurious vector 0xff
	movl $0, APIC + APIC_ESR
	APIC_EXPECT APIC_ESR, 0, "ESR after the first write"
	movl $0, APIC + APIC_ICR_HIGH
	movl $0x00040003, APIC + APIC_ICR_LOW	# fixed self-IPI, vector 3: illegal
	APIC_EXPECT APIC_ESR, 0, "ESR before the write that latches it"
	movl $0, APIC + APIC_ESR
	movl APIC + APIC_ESR, %eax
	PUTS "apic: ESR after an illegal vector "
	call puthex
	call newline
	APIC_EXPECT APIC_ESR, 0x20, "ESR send illegal vector"
	movl $0, APIC + APIC_ESR
	APIC_EXPECT APIC_ESR, 0, "ESR after the next write"
	APIC_EXPECT APIC_RESERVED, 0, "reserved register 0x3f0"
	movl $0, APIC + APIC_ESR
	APIC_EXPECT APIC_ESR, 0x80, "ESR illegal register address"

	cmpl $0, apic_failures
	jne fail
	PUTS "apic: OK\n"
	jmp poweroff

	.data
	.balign 4
apic_failures:	.long 0

# ---- irqonce -----------------------------------------------------------------------
# The irqonce mode: every fixed self-IPI is taken exactly once. The handler spins with
# interrupts off, making no exit, before its EOI; an emulator that delivers an injected
# interrupt a second time (QEMU's TCG VMRUN with an EVENTINJ interrupt, when its vCPU
# thread is kicked meanwhile: see InjectInterrupt in arch/amd64/svm) enters it twice.
# qemu-test's guest-irqonce stops and continues QEMU from its monitor while this runs.
	.set APIC_EOI, 0xb0
	.set IRQ_VEC, 0x40
	.set IRQ_SPIN, 4000000

	.text
	.globl mode_irqonce
mode_irqonce:
	call parse_dec				# rounds (default 200)
	jnc 1f
	movl $200, %eax
1:	movl %eax, irq_rounds
	sidt irq_sidt				# copy the exception gates, add IRQ_VEC
	movl irq_sidt+2, %esi
	movl $irq_idt, %edi
	movl $(NR_EXC * 2), %ecx
	rep movsl
	movl $irq_handler, %eax
	movw %ax, irq_idt + IRQ_VEC * 8
	movw $SEL_CODE32, irq_idt + IRQ_VEC * 8 + 2
	movw $0x8e00, irq_idt + IRQ_VEC * 8 + 4	# 32-bit interrupt gate: IF off inside
	shrl $16, %eax
	movw %ax, irq_idt + IRQ_VEC * 8 + 6
	lidt irq_idt_desc
	movl $0x1ff, APIC + APIC_SVR
	PUTS "irqonce: start\n"
	sti
	xorl %ebx, %ebx				# EBX = self-IPIs sent
2:	movl irq_done, %edx
	movl $0, APIC + APIC_ICR_HIGH
	movl $(0x00040000 | IRQ_VEC), APIC + APIC_ICR_LOW	# fixed, to self
	incl %ebx
3:	cmpl %edx, irq_done			# wait for a handler to finish
	je 3b
	cmpl irq_rounds, %ebx
	jb 2b
	cli
	PUTS "irqonce: "
	movl irq_count, %eax
	call putdec
	PUTS " deliveries for "
	movl %ebx, %eax
	call putdec
	PUTS " self-IPIs\n"
	cmpl %ebx, irq_count
	jne fail
	PUTS "irqonce: OK\n"
	jmp poweroff

irq_handler:
	pushl %ecx
	incl irq_count
	movl $IRQ_SPIN, %ecx
1:	decl %ecx
	jnz 1b
	movl $0, APIC + APIC_EOI
	incl irq_done
	popl %ecx
	iret

	.section .rodata
	.balign 8
irq_idt_desc:
	.word (IRQ_VEC + 1) * 8 - 1
	.long irq_idt

	.bss
	.balign 8
irq_idt:	.skip (IRQ_VEC + 1) * 8
irq_sidt:	.skip 8
	.balign 4
irq_rounds:	.long 0
irq_count:	.long 0		# handler entries
irq_done:	.long 0		# handler exits
