# entry.S — the PVH entry point of the test guest: the Xen ELF note, our own GDT and
# IDT, checks on hvm_start_info, and the dispatch on the first word of the command line.
#
# hv enters pvh_start32 in 32-bit protected mode with paging off, interrupts off, flat
# segments and EBX = guest-physical address of struct hvm_start_info. Nothing else is
# promised (no stack, unknown selector values), so the first few instructions load a
# GDT of our own and set up a stack inside the image.

	.include "defs.inc"

# ---- The Xen ELF note ----------------------------------------------------------------
# guest.ld puts this section alone in the PT_NOTE program header (and in the text
# PT_LOAD). A note is: namesz, descsz, type, name padded to 4, desc padded to 4.
	.section .note.Xen, "a", @note
	.balign 4
	.long 2f - 1f			# namesz: "Xen\0"
	.long 4f - 3f			# descsz: 4
	.long XEN_ELFNOTE_PHYS32_ENTRY	# type 18
1:	.asciz "Xen"
2:	.balign 4
3:	.long pvh_start32		# the 32-bit entry, a physical address
4:

	.code32
	.section .text.entry, "ax"
	.globl pvh_start32
pvh_start32:
	cli
	cld
	lgdt gdt_desc			# DS is flat at entry, so this reads our GDT
	ljmp $SEL_CODE32, $1f		# reload CS from our GDT
1:	movw $SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs

	# Zero .bss: the stack, the page tables, the IDTs and every counter. hv zeroes
	# memsz beyond filesz too, but the guest does not rely on it. EBX survives.
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	shrl $2, %ecx
	xorl %eax, %eax
	rep stosl

	movl $stack_top, %esp
	pushl $2			# EFLAGS: only the always-one bit (IF, DF, AC clear)
	popfl
	movl %ebx, start_info
	call setup_idt32		# every exception now prints what happened
	call patch_hypercalls		# VMCALL on Intel (defs.inc)

	cmpl $HVM_START_MAGIC, SI_MAGIC(%ebx)
	je 2f
	PUTS "testguest: bad hvm_start_info magic "
	movl SI_MAGIC(%ebx), %eax
	call puthex
	call newline
	movl $SHUTDOWN_crash, %eax
	jmp shutdown

	# The command line: a NUL-terminated string somewhere below 4 GiB, or none.
2:	movl $empty_string, %esi
	cmpl $0, SI_CMDLINE+4(%ebx)
	jne 3f
	cmpl $0, SI_CMDLINE(%ebx)
	je 3f
	movl SI_CMDLINE(%ebx), %esi
3:	movl %esi, cmdline

	PUTS "testguest: start_info "
	movl %ebx, %eax
	call puthex
	PUTS " version "
	movl SI_VERSION(%ebx), %eax
	call putdec
	PUTS ", cmdline \""
	call puts
	PUTS "\"\n"

	# Dispatch: compare the first word with each name in mode_table and jump to
	# the handler with ESI = the rest of the command line.
	call skip_spaces
	call word_len			# ECX = length of the mode word at ESI
	movl $mode_table, %ebx
4:	movl (%ebx), %edi
	testl %edi, %edi
	jz mode_unknown
	call word_eq
	je 5f
	addl $8, %ebx
	jmp 4b
5:	addl %ecx, %esi
	jmp *4(%ebx)

# ---- Descriptor tables ---------------------------------------------------------------
	.data
	.balign 8
gdt:					# accessed bits preset: the CPU need not write them
	.quad 0				# null
	.quad 0x00cf9b000000ffff	# 0x08: code, base 0, limit 4 GiB, 32-bit (D=1)
	.quad 0x00cf93000000ffff	# 0x10: data, base 0, limit 4 GiB
	.quad 0x00af9b000000ffff	# 0x18: code, 64-bit (L=1, D=0)
gdt_end:
	.balign 8
	.globl gdt_desc
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt			# an 8-byte base also serves lgdt in 64-bit mode

	.section .rodata
	.balign 8
idt32_desc:
	.word NR_EXC * 8 - 1
	.long idt32

	.balign 8
	.globl null_idt_desc
null_idt_desc:				# limit 0: every exception becomes a triple fault
	.word 0
	.quad 0

	.balign 4
mode_table:				# {name, handler}, ended by a zero name
	.long name_hello,   mode_hello
	.long name_count,   mode_count
	.long name_triple,  mode_triple
	.long name_touch,   mode_touch
	.long name_outside, mode_outside
	.long name_mmio,    mode_mmio
	.long name_hostile, mode_hostile
	.long name_long,    mode_long
	.long name_bench,   mode_bench
	.long name_exitbench, mode_exitbench
	.long name_evtpong, mode_evtpong
	.long name_evtping, mode_evtping
	.long name_grantsrc, mode_grantsrc
	.long name_grantdst, mode_grantdst
	.long name_grantbench, mode_grantbench
	.long name_balloon, mode_balloon
	.long name_hcfuzz,  mode_hcfuzz
	.long name_drain,   mode_drain
	.long name_rogrant, mode_rogrant	# attack.S
	.long name_roattack, mode_roattack
	.long name_flood,   mode_flood
	.long name_compat,  mode_compat
	.long name_debug,   mode_debug	# conform.S
	.long name_unpop,   mode_unpop
	.long name_privop,  mode_privop
	.long name_apic,    mode_apic	# apic.S
	.long name_irqonce, mode_irqonce
	.long name_toolstack, mode_toolstack	# toolstack.S (as dom0: testguest-dom0.elf)
	.long name_xshostile, mode_xshostile	# xsattack.S (domUs dom0's xl creates)
	.long name_xsgood,  mode_xsgood
	.long 0, 0
name_hello:	.asciz "hello"
name_count:	.asciz "count"
name_triple:	.asciz "triple"
name_touch:	.asciz "touch"
name_outside:	.asciz "outside"
name_mmio:	.asciz "mmio"
name_hostile:	.asciz "hostile"
name_long:	.asciz "long"
name_bench:	.asciz "bench"
name_exitbench:	.asciz "exitbench"
name_evtpong:	.asciz "evtpong"
name_evtping:	.asciz "evtping"
name_grantsrc:	.asciz "grantsrc"
name_grantdst:	.asciz "grantdst"
name_grantbench: .asciz "grantbench"
name_balloon:	.asciz "balloon"
name_hcfuzz:	.asciz "hcfuzz"
name_drain:	.asciz "drain"
name_rogrant:	.asciz "rogrant"
name_roattack:	.asciz "roattack"
name_flood:	.asciz "flood"
name_compat:	.asciz "compat"
name_debug:	.asciz "debug"
name_unpop:	.asciz "unpop"
name_privop:	.asciz "privop"
name_apic:	.asciz "apic"
name_irqonce:	.asciz "irqonce"
name_toolstack:	.asciz "toolstack"
name_xshostile:	.asciz "xshostile"
name_xsgood:	.asciz "xsgood"
	.globl empty_string
empty_string:	.asciz ""

# ---- 32-bit exception handling -------------------------------------------------------
# One stub per vector 0..31 pushes a dummy error code where the CPU pushes none, then
# the vector number, so exc32_common always sees:
#   0(%esp) vector, 4 error code, 8 EIP, 12 CS, 16 EFLAGS.
# The hostile mode sets gp_skip: a #GP raised by a 2-byte RDMSR (0F 32) or WRMSR (0F 30)
# is then counted in gp_count and skipped. Any other exception is fatal: print it and
# shut down with reason crash.

.macro EXC32 vec
exc32_\vec:
	.if (\vec == 8) | (\vec == 10) | (\vec == 11) | (\vec == 12) | (\vec == 13) | (\vec == 14) | (\vec == 17) | (\vec == 21) | (\vec == 29) | (\vec == 30)
	.else
	pushl $0
	.endif
	pushl $\vec
	jmp exc32_common
.endm

	.text
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	EXC32 \v
	.endr

exc32_common:
	cld
	cmpl $13, (%esp)
	jne exc32_fatal
	cmpb $0, gp_skip
	je exc32_fatal
	pushl %eax
	movl 12(%esp), %eax		# the faulting EIP (one push deeper)
	cmpb $0x0f, (%eax)
	jne 1f
	cmpb $0x30, 1(%eax)		# WRMSR
	je 2f
	cmpb $0x32, 1(%eax)		# RDMSR
	je 2f
1:	popl %eax
	jmp exc32_fatal
2:	addl $2, 12(%esp)		# resume after the 2-byte instruction
	incl gp_count
	popl %eax
	addl $8, %esp			# drop vector and error code
	iret

exc32_fatal:
	cmpb $0, in_fatal
	jne 1f
	movb $1, in_fatal
	PUTS "testguest: unexpected exception "
	movl (%esp), %eax
	call putdec
	PUTS " error "
	movl 4(%esp), %eax
	call puthex
	PUTS " at eip "
	movl 8(%esp), %eax
	call puthex
	call newline
	movl $SHUTDOWN_crash, %eax
	jmp shutdown
1:	PUTS "testguest: another exception while reporting one\n"
	jmp die

# setup_idt32: fill idt32 with 32-bit interrupt gates to the stubs and load it.
setup_idt32:
	pushal
	xorl %ecx, %ecx
1:	movl exc32_table(,%ecx,4), %eax
	movw %ax, idt32(,%ecx,8)		# offset 15:0
	movw $SEL_CODE32, idt32+2(,%ecx,8)	# selector
	movw $0x8e00, idt32+4(,%ecx,8)		# present, DPL 0, 32-bit interrupt gate
	shrl $16, %eax
	movw %ax, idt32+6(,%ecx,8)		# offset 31:16
	incl %ecx
	cmpl $NR_EXC, %ecx
	jb 1b
	lidt idt32_desc
	popal
	ret

	.section .rodata
	.balign 4
exc32_table:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.long exc32_\v
	.endr

# ---- Guest state -----------------------------------------------------------------------
	.bss
	.balign 16
	.globl stack_top
stack:	.skip STACK_SIZE
stack_top:

	.balign 8
idt32:	.skip NR_EXC * 8

	.balign 4
	.globl start_info, cmdline, gp_count, gp_skip, in_fatal
start_info:	.long 0		# EBX at entry
cmdline:	.long 0		# the command line (or empty_string)
gp_count:	.long 0		# #GPs skipped by the hostile mode
gp_skip:	.byte 0		# 1: skip RDMSR/WRMSR #GPs
in_fatal:	.byte 0		# 1: already reporting a fatal exception

# patch_hypercalls rewrites every hypercall site (the vmmcall macro, defs.inc) to VMCALL
# when CPUID leaf 0 says GenuineIntel. Paging is off, so the text is writable.
	.code32
	.text
patch_hypercalls:
	pushal
	xorl %eax, %eax
	cpuid
	cmpl $0x756e6547, %ebx		# "Genu"
	jne 2f
	cmpl $0x49656e69, %edx		# "ineI"
	jne 2f
	cmpl $0x6c65746e, %ecx		# "ntel"
	jne 2f
	movl $__hcall_sites, %esi
1:	cmpl $__hcall_sites_end, %esi
	jae 2f
	movl (%esi), %edi
	movb $0xc1, 2(%edi)		# 0f 01 d9 -> 0f 01 c1
	addl $4, %esi
	jmp 1b
2:	popal
	ret
