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
