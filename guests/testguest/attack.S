# attack.S — hostile modes for issue 14 (guests/README.md has the details):
#
#   rogrant     (domain 1) grants domain 2 a canary page read-only (ref 9) and a
#               mailbox page writable (ref 10); waits for the attacker's done marker
#               in the mailbox, then checks every dword of the canary.
#   roattack    (domain 2) maps ref 9 read-only over one of its own .bss pages and
#               asks hv to write that gfn every way it can; each must fail with Xen's
#               error. Then it unmaps and puts the done marker in the mailbox with a
#               grant copy.
#   flood N     writes N 64-byte lines to hv's console with console_io as fast as it
#               can (a port 0xE9 line every 32), pauses 1.5 s and prints one more line:
#               hv drops what is over the domain's rate limit and says how much.
#
# 32-bit, paging off (guest-virtual = guest-physical), interrupts off, as xen.S.

	.include "defs.inc"
	.code32
	.text

	.set HC_vcpu_op,           24	# (cmd, vcpu, &struct)
	.set   VCPUOP_register_runstate_memory_area,  5
	.set   VCPUOP_register_vcpu_info,            10
	.set   VCPUOP_register_vcpu_time_memory_area, 13
	.set XENVER_extraversion,   1	# fills 16 bytes
	.set XENVER_capabilities,   3	# fills 1024 bytes
	.set XENMEM_memory_map,     9	# (cmd, &struct compat_memory_map {u32 nr_entries; u32 buffer@4})
	.set EVTCHNOP_init_control, 11	# (cmd, &struct evtchn_init_control {u64 gfn; u32 offset; u32 vcpu; ...})
	.set MSR_HYPERCALL_PAGE,    0x40000000	# CPUID 0x40000002 EBX
	.set RO_ATTACKER,   2		# rogrant grants to this domain
	.set RO_GRANTER,    1		# roattack maps from this one
	.set RO_REF,        9		# the canary, read-only
	.set RO_BOX_REF,    10		# the mailbox, writable
	.set RO_FRAME_ADDR, 0x3000000	# rogrant's grant-table frame 0 (beyond its RAM)
	.set RO_CANARY,     0xc0de0000	# canary dword i is RO_CANARY + i
	.set RO_DONE,       0xd0e5d0e5	# roattack's done marker
	.set RO_PATHS,      10		# write paths roattack tries
	.set FLOOD_BATCH,   32		# lines per console_io call
	.set FLOOD_LINE,    64		# bytes per line
	.set FLOOD_DEFAULT, 20000
	.set FLOOD_PAUSE_US, 1500000	# the bucket refills meanwhile

# ---- rogrant ---------------------------------------------------------------------------
	.globl mode_rogrant
mode_rogrant:
	movw $DOMID_SELF, ro_xatp + XATP_DOMID
	movl $XENMAPSPACE_grant_table, ro_xatp + XATP_SPACE
	movl $RO_FRAME_ADDR >> 12, ro_xatp + XATP_GPFN
	movl $HC_memory_op, %eax
	movl $XENMEM_add_to_physmap, %ebx
	movl $ro_xatp, %ecx
	vmmcall
	testl %eax, %eax
	jz 1f
	PUTS "rogrant: FAIL add_to_physmap(grant_table) returned "
	jmp ro_fail_eax

1:	xorl %ecx, %ecx			# the canary: dword i = RO_CANARY + i
2:	leal RO_CANARY(%ecx), %eax
	movl %eax, ro_canary(,%ecx,4)
	incl %ecx
	cmpl $1024, %ecx
	jb 2b
	movl $RO_FRAME_ADDR + RO_REF * GE_BYTES, %ebx
	pushl %eax
	movl $ro_canary, %eax
	shrl $12, %eax
	movl %eax, GE_FRAME(%ebx)
	popl %eax
	movw $RO_ATTACKER, GE_DOMID(%ebx)
	movw $GTF_permit_access | GTF_readonly, GE_FLAGS(%ebx)
	movl $RO_FRAME_ADDR + RO_BOX_REF * GE_BYTES, %ebx
	pushl %eax
	movl $ro_box, %eax
	shrl $12, %eax
	movl %eax, GE_FRAME(%ebx)
	popl %eax
	movw $RO_ATTACKER, GE_DOMID(%ebx)
	movw $GTF_permit_access, GE_FLAGS(%ebx)
	PUTS "rogrant: granted ref 9 read-only: canary page "
	movl $ro_canary, %eax
	call puthex
	call newline

	movl $GRANT_WAIT, %ecx
3:	cmpl $RO_DONE, ro_box
	je 4f
	call sched_yield
	loop 3b
	PUTS "rogrant: FAIL the attacker's done marker never came\n"
	jmp fail

4:	xorl %ecx, %ecx
5:	leal RO_CANARY(%ecx), %eax
	cmpl %eax, ro_canary(,%ecx,4)
	jne 6f
	incl %ecx
	cmpl $1024, %ecx
	jb 5b
	movw $0, RO_FRAME_ADDR + RO_REF * GE_BYTES + GE_FLAGS	# end both grants
	movw $0, RO_FRAME_ADDR + RO_BOX_REF * GE_BYTES + GE_FLAGS
	PUTS "rogrant: canary intact after the attack\n"
	jmp poweroff
6:	PUTS "rogrant: FAIL the read-only canary changed at offset "
	leal (,%ecx,4), %eax
	call puthex
	PUTS ": "
	movl ro_canary(,%ecx,4), %eax
	call puthex
	call newline
	jmp fail

ro_fail_eax:
	call putsdec
	call newline
	jmp fail

# ---- roattack --------------------------------------------------------------------------

# REFUSED want, "name": the hypercall just made must have returned want (EAX).
.macro REFUSED want, name
	cmpl $\want, %eax
	je .Lrefused\@
	PUTS "roattack: FAIL \name returned "
	jmp ro_fail_eax
.Lrefused\@:
	PUTS "roattack: \name refused: "
	call putsdec
	call newline
	incl ro_refused
.endm

	.globl mode_roattack
mode_roattack:
	# Map the canary read-only over our own page ro_target; until rogrant has made
	# the grant the status is an error: yield and try again.
	movl $GRANT_WAIT, %esi
1:	movl $ro_op, %edi
	movl $COPY_BYTES >> 2, %ecx
	xorl %eax, %eax
	rep stosl
	movl $ro_target, ro_op + MAP_HOST_ADDR
	movl $GNTMAP_host_map | GNTMAP_readonly, ro_op + MAP_FLAGS
	movl $RO_REF, ro_op + MAP_REF
	movw $RO_GRANTER, ro_op + MAP_DOM
	movl $HC_grant_table_op, %eax
	movl $GNTTABOP_map_grant_ref, %ebx
	movl $ro_op, %ecx
	movl $1, %edx
	vmmcall
	testl %eax, %eax
	jz 2f
	PUTS "roattack: FAIL map_grant_ref returned "
	jmp ro_fail_eax
2:	cmpw $0, ro_op + MAP_STATUS
	je 3f
	call sched_yield
	decl %esi
	jnz 1b
	PUTS "roattack: FAIL map_grant_ref status "
	movswl ro_op + MAP_STATUS, %eax
	jmp ro_fail_eax
3:	movl ro_op + MAP_HANDLE, %eax
	movl %eax, ro_handle
	call ro_check
	jz 4f
	PUTS "roattack: FAIL the mapping does not show the canary\n"
	jmp fail
4:	PUTS "roattack: mapped domain 1's ref 9 read-only at "
	movl $ro_target, %eax
	call puthex
	call newline

	# 1, 2: xen_version output buffers.
	movl $HC_xen_version, %eax
	movl $XENVER_extraversion, %ebx
	movl $ro_target, %ecx
	vmmcall
	REFUSED -XEN_EFAULT, "xen_version(extraversion)"
	movl $HC_xen_version, %eax
	movl $XENVER_capabilities, %ebx
	movl $ro_target, %ecx
	vmmcall
	REFUSED -XEN_EFAULT, "xen_version(capabilities)"
	# 3: XENMEM_memory_map's buffer.
	movl $8, ro_arg			# nr_entries
	movl $ro_target, ro_arg + 4	# buffer (compat layout: a 32-bit handle at 4)
	movl $HC_memory_op, %eax
	movl $XENMEM_memory_map, %ebx
	movl $ro_arg, %ecx
	vmmcall
	REFUSED -XEN_EFAULT, "memory_map"
	# 4: vcpu_info there (hv would write it for the domain's whole life).
	call ro_clear_arg
	pushl %eax
	movl $ro_target, %eax
	shrl $12, %eax
	movl %eax, ro_arg
	popl %eax
	movl $HC_vcpu_op, %eax
	movl $VCPUOP_register_vcpu_info, %ebx
	xorl %ecx, %ecx
	movl $ro_arg, %edx
	vmmcall
	REFUSED -XEN_EINVAL, "register_vcpu_info"
	# 5: the runstate area.
	call ro_clear_arg
	movl $ro_target, ro_arg
	movl $HC_vcpu_op, %eax
	movl $VCPUOP_register_runstate_memory_area, %ebx
	xorl %ecx, %ecx
	movl $ro_arg, %edx
	vmmcall
	REFUSED -XEN_EFAULT, "register_runstate_memory_area"
	# 6: the secondary time area.
	movl $HC_vcpu_op, %eax
	movl $VCPUOP_register_vcpu_time_memory_area, %ebx
	xorl %ecx, %ecx
	movl $ro_arg, %edx
	vmmcall
	REFUSED -XEN_EFAULT, "register_vcpu_time_memory_area"
	# 7: a FIFO event-channel control block.
	call ro_clear_arg
	pushl %eax
	movl $ro_target, %eax
	shrl $12, %eax
	movl %eax, ro_arg
	popl %eax
	movl $HC_event_channel_op, %eax
	movl $EVTCHNOP_init_control, %ebx
	movl $ro_arg, %ecx
	vmmcall
	REFUSED -XEN_EINVAL, "evtchn init_control"
	# 8: shared_info there.
	call ro_clear_arg
	movw $DOMID_SELF, ro_arg + XATP_DOMID
	movl $XENMAPSPACE_shared_info, ro_arg + XATP_SPACE
	pushl %eax
	movl $ro_target, %eax
	shrl $12, %eax
	movl %eax, ro_arg + XATP_GPFN
	popl %eax
	movl $HC_memory_op, %eax
	movl $XENMEM_add_to_physmap, %ebx
	movl $ro_arg, %ecx
	vmmcall
	REFUSED -XEN_EINVAL, "add_to_physmap(shared_info)"
	# 9: a grant copy into it as our own frame.
	call ro_clear_op
	pushl %eax
	movl $ro_src, %eax
	shrl $12, %eax
	movl %eax, ro_op + COPY_SRC + CP_GMFN
	popl %eax
	movw $DOMID_SELF, ro_op + COPY_SRC + CP_DOMID
	pushl %eax
	movl $ro_target, %eax
	shrl $12, %eax
	movl %eax, ro_op + COPY_DST + CP_GMFN
	popl %eax
	movw $DOMID_SELF, ro_op + COPY_DST + CP_DOMID
	movw $64, ro_op + COPY_LEN
	movl $HC_grant_table_op, %eax
	movl $GNTTABOP_copy, %ebx
	movl $ro_op, %ecx
	movl $1, %edx
	vmmcall
	testl %eax, %eax
	jz 5f
	PUTS "roattack: FAIL GNTTABOP_copy returned "
	jmp ro_fail_eax
5:	movswl ro_op + COPY_STATUS, %eax
	testl %eax, %eax
	jnz 6f
	PUTS "roattack: FAIL grant copy into the mapping succeeded\n"
	jmp fail
6:	PUTS "roattack: grant copy refused: status "
	call putsdec
	call newline
	incl ro_refused
	# 10: the hypercall page (4 KiB written by hv): #GP, which our handler skips.
	movl gp_count, %esi
	movb $1, gp_skip
	movl $MSR_HYPERCALL_PAGE, %ecx
	movl $ro_target, %eax
	xorl %edx, %edx
	wrmsr
	movb $0, gp_skip
	incl %esi
	cmpl gp_count, %esi
	je 7f
	PUTS "roattack: FAIL the hypercall page MSR was accepted\n"
	jmp fail
7:	PUTS "roattack: hypercall page MSR refused: #GP\n"
	incl ro_refused

	call ro_check
	jz 8f
	PUTS "roattack: FAIL the canary changed under the mapping\n"
	jmp fail
8:	PUTS "roattack: the mapped canary is unchanged\n"
	# Unmap, then tell rogrant: RO_DONE into its mailbox with a grant copy.
	call ro_clear_op
	movl $ro_target, ro_op + UNMAP_HOST_ADDR
	movl ro_handle, %eax
	movl %eax, ro_op + UNMAP_HANDLE
	movw $1, ro_op + UNMAP_STATUS
	movl $HC_grant_table_op, %eax
	movl $GNTTABOP_unmap_grant_ref, %ebx
	movl $ro_op, %ecx
	movl $1, %edx
	vmmcall
	orw ro_op + UNMAP_STATUS, %ax
	jz 9f
	PUTS "roattack: FAIL unmap_grant_ref: "
	jmp ro_fail_eax
9:	call ro_clear_op
	movl $RO_DONE, ro_src
	pushl %eax
	movl $ro_src, %eax
	shrl $12, %eax
	movl %eax, ro_op + COPY_SRC + CP_GMFN
	popl %eax
	movw $DOMID_SELF, ro_op + COPY_SRC + CP_DOMID
	movl $RO_BOX_REF, ro_op + COPY_DST + CP_REF
	movw $RO_GRANTER, ro_op + COPY_DST + CP_DOMID
	movw $4, ro_op + COPY_LEN
	movw $GNTCOPY_dest_gref, ro_op + COPY_FLAGS
	movl $HC_grant_table_op, %eax
	movl $GNTTABOP_copy, %ebx
	movl $ro_op, %ecx
	movl $1, %edx
	vmmcall
	orw ro_op + COPY_STATUS, %ax
	jz 10f
	PUTS "roattack: FAIL the done marker copy: "
	movswl %ax, %eax
	jmp ro_fail_eax
10:	PUTS "roattack: all "
	movl ro_refused, %eax
	call putdec
	PUTS " write paths refused\n"
	cmpl $RO_PATHS, ro_refused
	jne fail
	jmp poweroff

# ro_check: ZF = 1 if the page at ro_target holds the canary.
ro_check:
	pushal
	xorl %ecx, %ecx
1:	leal RO_CANARY(%ecx), %eax
	cmpl %eax, ro_target(,%ecx,4)
	jne 2f
	incl %ecx
	cmpl $1024, %ecx
	jb 1b
	xorl %eax, %eax			# ZF = 1
2:	popal
	ret

ro_clear_arg:
	pushal
	movl $ro_arg, %edi
	movl $8, %ecx
	xorl %eax, %eax
	rep stosl
	popal
	ret

ro_clear_op:
	pushal
	movl $ro_op, %edi
	movl $COPY_BYTES >> 2, %ecx
	xorl %eax, %eax
	rep stosl
	popal
	ret

# ---- flood -----------------------------------------------------------------------------
	.globl mode_flood
mode_flood:
	call parse_dec
	jnc 1f
	movl $FLOOD_DEFAULT, %eax
1:	movl %eax, %ebp			# EBP = lines still to write
	movl %eax, flood_total
	movl $flood_buf, %edi		# FLOOD_BATCH copies of the line
	movl $FLOOD_BATCH, %edx
2:	movl $flood_line, %esi
	movl $FLOOD_LINE, %ecx
	rep movsb
	decl %edx
	jnz 2b
3:	cmpl $FLOOD_BATCH, %ebp
	jb 4f
	movl $HC_console_io, %eax
	movl $CONSOLEIO_write, %ebx
	movl $FLOOD_BATCH * FLOOD_LINE, %ecx
	movl $flood_buf, %edx
	vmmcall
	testl %eax, %eax
	js 5f
	PUTS "flood: a line through port 0xE9\n"
	subl $FLOOD_BATCH + 1, %ebp
	ja 3b
4:	movl $FLOOD_PAUSE_US, %eax	# let the bucket refill, then one more line
	call gozen_timer
	hlt
	PUTS "flood: done after "
	movl flood_total, %eax
	call putdec
	PUTS " lines\n"
	jmp poweroff
5:	PUTS "flood: FAIL console_io returned "
	call putsdec
	call newline
	jmp fail

	.section .rodata
flood_line:				# FLOOD_LINE bytes
	.ascii "flood: "
	.fill FLOOD_LINE - 8, 1, 'x'
	.byte 10

# ---- State -----------------------------------------------------------------------------
	.bss
	.balign 4096
ro_canary:	.skip 4096		# rogrant: the page granted read-only
ro_box:		.skip 4096		# rogrant: the mailbox, granted writable
ro_target:	.skip 4096		# roattack: the canary is mapped over this page
ro_src:		.skip 4096		# roattack: a page of our own to copy from
	.balign 8
ro_xatp:	.skip XATP_BYTES
ro_arg:		.skip 32
ro_op:		.skip COPY_BYTES
ro_handle:	.long 0
ro_refused:	.long 0
flood_total:	.long 0
flood_buf:	.skip FLOOD_BATCH * FLOOD_LINE
