# lib.S — 32-bit helpers shared by the modes: output, hypercall wrappers, shutdown and
# command-line parsing.
#
# Calling convention (ours, not the C one): arguments and results in the registers
# named in each comment; every other register is preserved. Flags are not preserved
# unless a comment says so. Strings are NUL-terminated.

	.include "defs.inc"
	.code32
	.text

# ---- Output on port 0xE9 (hv prints it, line-buffered, with the domain name) -----------

# putc: print the byte in AL.
	.globl putc
putc:
	outb %al, $E9_PORT
	ret

# newline: print "\n".
	.globl newline
newline:
	pushl %eax
	movb $'\n', %al
	outb %al, $E9_PORT
	popl %eax
	ret

# puts: print the string at ESI.
	.globl puts
puts:
	pushl %esi
	pushl %eax
1:	lodsb
	testb %al, %al
	jz 2f
	outb %al, $E9_PORT
	jmp 1b
2:	popl %eax
	popl %esi
	ret

# putn: print ECX bytes at ESI.
	.globl putn
putn:
	pushal
	jecxz 2f
1:	lodsb
	outb %al, $E9_PORT
	loop 1b
2:	popal
	ret

# puthex: print EAX as 0x followed by 8 hex digits.
	.globl puthex
puthex:
	pushl %eax
	movb $'0', %al
	call putc
	movb $'x', %al
	call putc
	popl %eax
	jmp hex8

# puthex64: print EDX:EAX as 0x followed by 16 hex digits.
	.globl puthex64
puthex64:
	pushl %eax
	movb $'0', %al
	call putc
	movb $'x', %al
	call putc
	movl %edx, %eax
	call hex8
	popl %eax
	# fall through

# hex8: print EAX as 8 hex digits.
hex8:
	pushal
	movl %eax, %edx
	movl $8, %ecx
1:	roll $4, %edx			# most significant nibble first
	movl %edx, %eax
	andl $0xf, %eax
	movb hexdigits(%eax), %al
	call putc
	loop 1b
	popal
	ret

# putdec: print EAX as an unsigned decimal number.
	.globl putdec
putdec:
	pushal
	movl $10, %ebx
	xorl %ecx, %ecx
1:	xorl %edx, %edx			# push the digits, least significant first
	divl %ebx
	pushl %edx
	incl %ecx
	testl %eax, %eax
	jnz 1b
2:	popl %eax			# and pop them most significant first
	addb $'0', %al
	call putc
	loop 2b
	popal
	ret

# putsdec: print EAX as a signed decimal number (hypercall results, GNTST_* codes).
	.globl putsdec
putsdec:
	testl %eax, %eax
	jns putdec
	pushl %eax
	movb $'-', %al
	call putc
	popl %eax
	negl %eax
	call putdec
	negl %eax
	ret

# strlen: ECX = length of the string at ESI.
	.globl strlen
strlen:
	xorl %ecx, %ecx
1:	cmpb $0, (%esi,%ecx)
	je 2f
	incl %ecx
	jmp 1b
2:	ret

# ---- Hypercalls (32-bit convention: EAX = number; EBX, ECX, EDX, ESI, EDI) --------------
# pushal saves EAX at 28(%esp); storing the result there makes popal return it.

# con_puts: write the string at ESI with console_io(CONSOLEIO_write, count, buffer).
# EAX = the hypercall's result.
	.globl con_puts
con_puts:
	pushal
	call strlen			# ECX = count
	movl %esi, %edx			# EDX = buffer
	movl $CONSOLEIO_write, %ebx
	movl $HC_console_io, %eax
	vmmcall
	movl %eax, 28(%esp)
	popal
	ret

# xen_version: EAX = xen_version(XENVER_version, NULL) = (major << 16) | minor.
	.globl xen_version
xen_version:
	pushal
	movl $XENVER_version, %ebx
	xorl %ecx, %ecx
	movl $HC_xen_version, %eax
	vmmcall
	movl %eax, 28(%esp)
	popal
	ret

# gozen_timer: arm hv's one-shot timer EAX microseconds from now; the next HLT blocks
# until it fires. EAX = the hypercall's result.
	.globl gozen_timer
gozen_timer:
	pushal
	movl %eax, %ecx
	movl $GOZEN_OP_timer, %ebx
	movl $HC_gozen_op, %eax
	vmmcall
	movl %eax, 28(%esp)
	popal
	ret

# gozen_report: ask hv to report the median of ECX u32s at EDX under key EAX.
# EAX = the hypercall's result.
	.globl gozen_report
gozen_report:
	pushal
	movl %ecx, %esi			# count
	movl %eax, %ecx			# key
	movl $GOZEN_OP_report, %ebx	# EDX = pointer already
	movl $HC_gozen_op, %eax
	vmmcall
	movl %eax, 28(%esp)
	popal
	ret

# sched_yield: sched_op(SCHEDOP_yield, NULL): let the other domains run.
# EAX = the hypercall's result.
	.globl sched_yield
sched_yield:
	pushal
	movl $SCHEDOP_yield, %ebx
	xorl %ecx, %ecx
	movl $HC_sched_op, %eax
	vmmcall
	movl %eax, 28(%esp)
	popal
	ret

# shutdown: sched_op(SCHEDOP_shutdown, &{reason = EAX}). Does not return: if hv
# refuses, say so and triple-fault (hv then reports a crash).
	.globl shutdown
shutdown:
	movl %eax, shutdown_reason
	movl $HC_sched_op, %eax
	movl $SCHEDOP_shutdown, %ebx
	movl $shutdown_reason, %ecx
	vmmcall
	PUTS "testguest: shutdown returned "
	call puthex
	call newline
	# fall through

# die: the last resort: load an empty IDT and raise an exception; the CPU cannot
# deliver it, nor the #DF that follows, so it triple-faults.
	.globl die
die:
	PUTS "testguest: triple-faulting\n"
	lidt null_idt_desc
	int3
1:	cli				# not reached
	hlt
	jmp 1b

# ---- Command-line parsing ------------------------------------------------------------
# Words are separated by bytes 0x01..0x20 (space, tab, newline, ...); NUL ends the line.

# skip_spaces: advance ESI past separators.
	.globl skip_spaces
skip_spaces:
1:	cmpb $0, (%esi)
	je 2f
	cmpb $' ', (%esi)
	ja 2f
	incl %esi
	jmp 1b
2:	ret

# word_len: ECX = length of the word at ESI.
	.globl word_len
word_len:
	xorl %ecx, %ecx
1:	cmpb $' ', (%esi,%ecx)		# unsigned: NUL and separators are <= ' '
	jbe 2f
	incl %ecx
	jmp 1b
2:	ret

# word_eq: ZF=1 iff the ECX bytes at ESI equal the string at EDI.
	.globl word_eq
word_eq:
	pushal
	jecxz 2f
1:	movb (%esi), %al
	cmpb (%edi), %al
	jne 3f
	incl %esi
	incl %edi
	loop 1b
2:	cmpb $0, (%edi)			# and the name ends here too
3:	popal				# popal leaves the flags alone
	ret

# parse_dec: skip separators, then read a decimal number at ESI into EAX and advance
# ESI past it. CF=1 (and EAX=0) if there is no digit. Overflow wraps.
	.globl parse_dec
parse_dec:
	pushl %edx
	pushl %ecx
	call skip_spaces
	xorl %eax, %eax
	xorl %ecx, %ecx			# number of digits
1:	movzbl (%esi), %edx
	subl $'0', %edx
	cmpl $9, %edx
	ja 2f
	imull $10, %eax
	addl %edx, %eax
	incl %esi
	incl %ecx
	jmp 1b
2:	cmpl $1, %ecx			# CF = (digits < 1)
	popl %ecx
	popl %edx
	ret

	.section .rodata
hexdigits:
	.ascii "0123456789abcdef"

	.bss
	.balign 4
	.globl shutdown_reason
shutdown_reason:			# struct sched_shutdown
	.long 0
