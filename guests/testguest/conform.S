# conform.S — modes that check guest-visible behaviour against what Xen gives an HVM
# guest (issue 12 items 4 and 5):
#
#   debug [SEED]  ICEBP (INT1) raises #DB with EIP after the instruction; MSR_DEBUGCTL
#                 reads 0, keeps LBR|BTF, and #GPs on a reserved bit; DR0-DR3 and DR7
#                 keep this domain's values (which depend on SEED) across yields to
#                 another domain doing the same with another SEED.
#   unpop         a frame given back with decrease_reservation, and a hole beyond RAM,
#                 read as all-ones and ignore writes (Xen: emulated I/O with no
#                 handler); executing there raises #GP(0); populate_physmap brings the
#                 frame back zeroed.
#   privop        the dom0-only hypercalls from a domU: platform_op (settime64, which
#                 would set every domain's clock, and firmware_info) is -EPERM,
#                 physdev_op's PCI reports are -ENOSYS (Xen's hvm_physdev_op for a
#                 non-hardware domain), CONSOLEIO_read is -EPERM (xsm_console_io).
#
# Each check prints a line; the first failure prints `<mode>: FAIL ...` and crashes.

	.include "defs.inc"

	.set MSR_DEBUGCTL, 0x1d9
	.set DEBUGCTL_LBR_BTF, 3
	.set DEBUGCTL_RESERVED, 1 << 6
	.set DBG_YIELDS, 20
	.set GATE_INTR32, 0x8e00	# present, DPL 0, 32-bit interrupt gate

	.code32
	.text

# cf_fail: print "FAIL <ESI>: got EAX expected EDX" after the mode's prefix and crash.
cf_fail:
	pushl %esi
	PUTS "FAIL "
	popl %esi
	call puts
	PUTS ": got "
	call puthex
	PUTS " expected "
	movl %edx, %eax
	call puthex
	call newline
	jmp fail

# CF_EXPECT "prefix: what": unless EAX == EDX, print the prefix and fail naming `what'.
.macro CF_EXPECT prefix, what
	.pushsection .rodata.str, "a"
.Lcf\@: .asciz "\what"
	.popsection
	cmpl %edx, %eax
	je .Lcfok\@
	PUTS "\prefix"
	movl $.Lcf\@, %esi
	jmp cf_fail
.Lcfok\@:
.endm

# set_gate: point IDT gate ECX at handler EAX, saving the old gate in cf_saved_gate.
set_gate:
	pushl %edi
	sidt cf_idtr
	movl cf_idtr + 2, %edi
	leal (%edi,%ecx,8), %edi
	pushl (%edi)
	popl cf_saved_gate
	pushl 4(%edi)
	popl cf_saved_gate + 4
	movw %ax, (%edi)
	movw $SEL_CODE32, 2(%edi)
	movw $GATE_INTR32, 4(%edi)
	shrl $16, %eax
	movw %ax, 6(%edi)
	popl %edi
	ret

# restore_gate: put cf_saved_gate back into IDT gate ECX.
restore_gate:
	pushl %edi
	movl cf_idtr + 2, %edi
	pushl cf_saved_gate
	popl (%edi,%ecx,8)
	pushl cf_saved_gate + 4
	popl 4(%edi,%ecx,8)
	popl %edi
	ret

# ---- debug ---------------------------------------------------------------------------
	.globl mode_debug
mode_debug:
	call parse_dec
	jnc 1f
	movl $1, %eax
1:	movl %eax, dbg_seed

	# 1. ICEBP: #DB, a trap (the saved EIP is the next instruction), no #UD. A CPU
	# that does not implement INT1 raises #UD without an exit to hv (QEMU 7.2's TCG,
	# built without WANT_ICEBP): then the check is reported as skipped.
	movl $dbg_ud_handler, %eax
	movl $6, %ecx
	call set_gate
	movl cf_saved_gate, %eax
	movl %eax, dbg_saved_ud
	movl cf_saved_gate + 4, %eax
	movl %eax, dbg_saved_ud + 4
	movl $dbg_db_handler, %eax
	movl $1, %ecx
	call set_gate
dbg_icebp:
	.byte 0xf1			# ICEBP (INT1)
dbg_after_icebp:
	movl $1, %ecx
	call restore_gate
	movl dbg_saved_ud, %eax
	movl %eax, cf_saved_gate
	movl dbg_saved_ud + 4, %eax
	movl %eax, cf_saved_gate + 4
	movl $6, %ecx
	call restore_gate
	cmpl $0, dbg_ud_count
	je 1f
	movl dbg_ud_eip, %eax
	movl $dbg_icebp, %edx
	CF_EXPECT "debug: ", "#UD saved EIP at ICEBP"
	PUTS "debug: ICEBP raised #UD without an exit: this CPU lacks INT1, check skipped\n"
	jmp 2f
1:	movl dbg_db_count, %eax
	movl $1, %edx
	CF_EXPECT "debug: ", "#DB count after ICEBP"
	movl dbg_db_eip, %eax
	movl $dbg_after_icebp, %edx
	CF_EXPECT "debug: ", "#DB saved EIP after ICEBP"
	PUTS "debug: ICEBP raised #DB with EIP after the instruction\n"
2:
	# 2. MSR_DEBUGCTL.
	movl $MSR_DEBUGCTL, %ecx
	rdmsr
	orl %edx, %eax
	xorl %edx, %edx
	CF_EXPECT "debug: ", "DEBUGCTL at start"
	movl $DEBUGCTL_LBR_BTF, %eax
	wrmsr
	rdmsr
	movl $DEBUGCTL_LBR_BTF, %edx
	CF_EXPECT "debug: ", "DEBUGCTL after writing LBR|BTF"
	movb $1, gp_skip
	movl gp_count, %ebx
	movl $DEBUGCTL_RESERVED, %eax
	xorl %edx, %edx
	wrmsr				# #GP: the handler skips it
	movb $0, gp_skip
	movl gp_count, %eax
	subl %ebx, %eax
	movl $1, %edx
	CF_EXPECT "debug: ", "#GPs from writing a reserved DEBUGCTL bit"
	rdmsr
	movl $DEBUGCTL_LBR_BTF, %edx
	CF_EXPECT "debug: ", "DEBUGCTL after the refused write"
	xorl %eax, %eax
	xorl %edx, %edx
	wrmsr
	rdmsr
	CF_EXPECT "debug: ", "DEBUGCTL after writing 0"
	PUTS "debug: DEBUGCTL reads 0, keeps LBR|BTF, reserved bit 6 raises #GP\n"

	# 3. DR0-DR3 = SEED << 24 | n << 12, DR7 with RW0/LEN0 depending on SEED (no
	# breakpoint enabled), then yield and check, DBG_YIELDS times.
	movl dbg_seed, %ebx
	shll $24, %ebx
	leal 0x1000(%ebx), %eax
	movl %eax, %dr0
	leal 0x2000(%ebx), %eax
	movl %eax, %dr1
	leal 0x3000(%ebx), %eax
	movl %eax, %dr2
	leal 0x4000(%ebx), %eax
	movl %eax, %dr3
	movl $0x50400, %eax		# RW0 = 01 (writes), LEN0 = 01 (2 bytes)
	testl $1, dbg_seed
	jnz 1f
	movl $0xd0400, %eax		# RW0 = 01, LEN0 = 11 (4 bytes)
1:	movl %eax, dbg_dr7
	movl %eax, %dr7
	xorl %edi, %edi
dbg_loop:
	call sched_yield
	movl %dr0, %eax
	leal 0x1000(%ebx), %edx
	CF_EXPECT "debug: ", "DR0 after a yield"
	movl %dr1, %eax
	leal 0x2000(%ebx), %edx
	CF_EXPECT "debug: ", "DR1 after a yield"
	movl %dr2, %eax
	leal 0x3000(%ebx), %edx
	CF_EXPECT "debug: ", "DR2 after a yield"
	movl %dr3, %eax
	leal 0x4000(%ebx), %edx
	CF_EXPECT "debug: ", "DR3 after a yield"
	movl %dr7, %eax
	movl dbg_dr7, %edx
	CF_EXPECT "debug: ", "DR7 after a yield"
	incl %edi
	cmpl $DBG_YIELDS, %edi
	jb dbg_loop
	movl $0x400, %eax
	movl %eax, %dr7
	PUTS "debug: DR0-DR3 and DR7 kept across "
	movl %edi, %eax
	call putdec
	PUTS " yields\n"
	PUTS "debug: OK\n"
	jmp poweroff

# #DB handler for the ICEBP check: count it and note the saved EIP.
dbg_db_handler:
	pushl %eax
	movl 4(%esp), %eax
	movl %eax, dbg_db_eip
	incl dbg_db_count
	popl %eax
	iret

# #UD handler for the ICEBP check: note the saved EIP, resume after the ICEBP.
dbg_ud_handler:
	pushl %eax
	movl 4(%esp), %eax
	movl %eax, dbg_ud_eip
	incl dbg_ud_count
	movl $dbg_after_icebp, 4(%esp)
	popl %eax
	iret

# ---- unpop ---------------------------------------------------------------------------
	.globl mode_unpop
mode_unpop:
	movl $0x5a5a5a5a, unp_page
	movl $0x5a5a5a5a, unp_page + 0xffc
	movl $unp_page, %eax
	shrl $12, %eax
	movl %eax, unp_list
	movl $XENMEM_decrease_reservation, %ebx
	call unp_reserve
	movl $1, %edx
	CF_EXPECT "unpop: ", "decrease_reservation of one frame"

	# Reads of every size give all-ones; writes are dropped.
	movl unp_page, %eax
	movl $0xffffffff, %edx
	CF_EXPECT "unpop: ", "dword read of the frame given back"
	movl unp_page + 0xffc, %eax
	CF_EXPECT "unpop: ", "dword read at its end"
	movzbl unp_page + 5, %eax
	movl $0xff, %edx
	CF_EXPECT "unpop: ", "byte read"
	movl $0x12345678, unp_page
	movl unp_page, %eax
	movl $0xffffffff, %edx
	CF_EXPECT "unpop: ", "read after a write"
	PUTS "unpop: a frame given back reads all-ones and drops writes\n"
	movl OUTSIDE_ADDR, %eax
	CF_EXPECT "unpop: ", "read of a hole beyond RAM"
	movl $0x87654321, OUTSIDE_ADDR
	movl OUTSIDE_ADDR, %eax
	CF_EXPECT "unpop: ", "read of a hole after a write"
	PUTS "unpop: a hole beyond RAM reads all-ones and drops writes\n"

	# Executing from it: #GP(0), with EIP at the frame.
	movl $unp_gp_handler, %eax
	movl $13, %ecx
	call set_gate
	movl $unp_page, %eax
	jmp *%eax
unp_after_fetch:
	movl $13, %ecx
	call restore_gate
	movl unp_gp_count, %eax
	movl $1, %edx
	CF_EXPECT "unpop: ", "#GPs from executing in the frame"
	movl unp_gp_eip, %eax
	movl $unp_page, %edx
	CF_EXPECT "unpop: ", "#GP saved EIP"
	movl unp_gp_err, %eax
	xorl %edx, %edx
	CF_EXPECT "unpop: ", "#GP error code"
	PUTS "unpop: executing there raises #GP(0)\n"

	# populate_physmap brings it back, zeroed.
	movl $XENMEM_populate_physmap, %ebx
	call unp_reserve
	movl $1, %edx
	CF_EXPECT "unpop: ", "populate_physmap of the frame"
	movl unp_page, %eax
	orl unp_page + 0xffc, %eax
	xorl %edx, %edx
	CF_EXPECT "unpop: ", "the repopulated frame"
	movl $0x600dbeef, unp_page
	movl unp_page, %eax
	movl $0x600dbeef, %edx
	CF_EXPECT "unpop: ", "the repopulated frame after a write"
	PUTS "unpop: populate_physmap brings it back zeroed\n"
	PUTS "unpop: OK\n"
	jmp poweroff

# unp_reserve: memory_op(EBX, &{extent_start = unp_list, nr 1, order 0, DOMID_SELF}).
unp_reserve:
	movl $unp_list, unp_res + RES_START
	movl $1, unp_res + RES_NR
	movl $0, unp_res + RES_ORDER
	movl $0, unp_res + RES_FLAGS
	movl $DOMID_SELF, unp_res + RES_DOMID
	movl $unp_res, %ecx
	movl $HC_memory_op, %eax
	vmmcall
	ret

# ---- privop --------------------------------------------------------------------------
	.set HC_platform_op, 7
	.set HC_physdev_op, 33
	.set XENPF_INTERFACE_VERSION, 0x03000001
	.set XENPF_firmware_info, 50
	.set XENPF_settime64, 62
	.set PHYSDEVOP_pci_mmcfg_reserved, 24
	.set PHYSDEVOP_pci_device_add, 25
	.set CONSOLEIO_read, 1
	.set XEN_EPERM, 1
	.set XEN_ENOSYS, 38

	.globl mode_privop
mode_privop:
	movl $XENPF_INTERFACE_VERSION, prv_op + 4
	movl $XENPF_settime64, prv_op
	movl $1000000000, prv_op + 8	# secs: a clock a domU must not set
	movl $prv_op, %ebx
	movl $HC_platform_op, %eax
	vmmcall
	movl $-XEN_EPERM, %edx
	CF_EXPECT "privop: ", "platform_op(settime64)"
	PUTS "privop: platform_op(settime64) refused with -EPERM\n"
	movl $XENPF_firmware_info, prv_op
	movl $prv_op, %ebx
	movl $HC_platform_op, %eax
	vmmcall
	movl $-XEN_EPERM, %edx
	CF_EXPECT "privop: ", "platform_op(firmware_info)"
	PUTS "privop: platform_op(firmware_info) refused with -EPERM\n"
	movl $PHYSDEVOP_pci_device_add, %ebx
	movl $prv_op, %ecx
	movl $HC_physdev_op, %eax
	vmmcall
	movl $-XEN_ENOSYS, %edx
	CF_EXPECT "privop: ", "physdev_op(pci_device_add)"
	movl $PHYSDEVOP_pci_mmcfg_reserved, %ebx
	movl $prv_op, %ecx
	movl $HC_physdev_op, %eax
	vmmcall
	movl $-XEN_ENOSYS, %edx
	CF_EXPECT "privop: ", "physdev_op(pci_mmcfg_reserved)"
	PUTS "privop: physdev_op(pci_device_add, pci_mmcfg_reserved) refused with -ENOSYS\n"
	movl $CONSOLEIO_read, %ebx
	movl $16, %ecx
	movl $prv_op, %edx
	movl $HC_console_io, %eax
	vmmcall
	movl $-XEN_EPERM, %edx
	CF_EXPECT "privop: ", "console_io(read)"
	PUTS "privop: console_io(read) refused with -EPERM\n"
	PUTS "privop: OK\n"
	jmp poweroff

# #GP handler for the fetch check: note error code and EIP, resume at unp_after_fetch.
unp_gp_handler:
	pushl %eax
	movl 4(%esp), %eax
	movl %eax, unp_gp_err
	movl 8(%esp), %eax
	movl %eax, unp_gp_eip
	incl unp_gp_count
	movl $unp_after_fetch, 8(%esp)
	popl %eax
	addl $4, %esp			# the error code
	iret

	.bss
	.balign 4096
unp_page:	.skip 4096
	.balign 8
prv_op:		.skip 136	# struct xen_platform_op
	.balign 8
cf_idtr:	.skip 8
cf_saved_gate:	.skip 8
dbg_seed:	.long 0
dbg_dr7:	.long 0
dbg_db_count:	.long 0
dbg_db_eip:	.long 0
dbg_ud_count:	.long 0
dbg_ud_eip:	.long 0
dbg_saved_ud:	.skip 8
unp_list:	.long 0
unp_res:	.skip RES_BYTES
unp_gp_count:	.long 0
unp_gp_eip:	.long 0
unp_gp_err:	.long 0
