# compat.S — the `compat [pse|pae]` mode: Xen's 32-bit ("compat") hypercall ABI from
# 32-bit protected mode, with paging off, under 32-bit paging with 4 MiB pages (pse),
# or under PAE paging (pae) with the accessed bit preset in the PDPTE.
#
# Xen reads the structures of a caller that is not in 64-bit mode in their i386
# layouts (defs.inc): 32-bit handles and frame numbers, uint64_t 4-aligned. The mode
# checks each hypercall whose compat layout differs from the 64-bit one and that a
# PVH guest needs to start: add_to_physmap of shared_info and of a grant frame,
# event channels through the mapped shared_info, SCHEDOP_poll, setup_table,
# GNTTABOP_copy, vcpu_op(get_runstate_info) and xen_version(platform_parameters).
# Each check prints a line; the first failure prints `compat: FAIL ...` and crashes.
#
# The page tables identity-map low memory, so guest-virtual = guest-physical as in
# the other 32-bit modes. With paging on, every exit whose instruction hv decodes
# (CPUID, VMMCALL: QEMU's SVM has no decode assists) makes hv walk these tables; the
# PAE variant presets the PDPTE's accessed bit, which QEMU's CPU sets on its first
# walk anyway and hv's walker must accept (issue 12 item 3).

	.include "defs.inc"

	.set PTE_P,   1 << 0
	.set PTE_RW,  1 << 1
	.set PTE_A,   1 << 5
	.set PTE_PS,  1 << 7
	.set CR4_PSE, 1 << 4
	.set CPT_GNT_GFN, GRANT_FRAME_ADDR >> 12	# grant frame 0 goes here (beyond RAM)
	.set HC_vcpu_op, 24
	.set   VCPUOP_get_runstate_info, 4
	.set XENVER_platform_parameters, 5
	.set EVTCHNOP_status_unused, 0
	.set CPT_SENTINEL, 0xeeeeeeee
	.set HVMOP_set_param, 0
	.set HVM_PARAM_CALLBACK_IRQ, 0
	.set CPT_CALLBACK, 0x020000f3	# high dword of the value: type 2 (vector) << 56 | 0xf3
	.set EVTCHNOP_unmask, 9		# struct evtchn_unmask {u32 port}
	# compat shared_info (abi/xen sharedinfo_compat.go)
	.set CSHI_SEL,      4		# vcpu_info[0].evtchn_pending_sel, a u32
	.set CSHI_MASK,     2176	# evtchn_mask, u32[32]
	.set CSHI_WC_VERSION, 2304
	.set CSHI_WC_SEC,   2308

	.code32
	.text

# cpt_fail: print "compat: FAIL <ESI>: got EAX expected EDX" and crash.
cpt_fail:
	pushl %esi
	PUTS "compat: FAIL "
	popl %esi
	call puts
	PUTS ": got "
	call putsdec
	PUTS " expected "
	movl %edx, %eax
	call putsdec
	call newline
	jmp fail

# CPT_EXPECT "what": unless EAX == EDX, fail naming `what'.
.macro CPT_EXPECT what
	.pushsection .rodata.str, "a"
.Lcpt\@: .asciz "\what"
	.popsection
	cmpl %edx, %eax
	je .Lcptok\@
	movl $.Lcpt\@, %esi
	jmp cpt_fail
.Lcptok\@:
.endm

# cpt_hc: hypercall EAX with EBX, ECX, EDX (the 32-bit convention). EAX = the result.
cpt_hc:
	vmmcall
	ret

# cpt_send_b: EVTCHNOP_send on cpt_port_b (whose peer is cpt_port_a); fail unless 0.
cpt_send_b:
	movl cpt_port_b, %eax
	movl %eax, cpt_evt
	movl $HC_event_channel_op, %eax
	movl $EVTCHNOP_send, %ebx
	movl $cpt_evt, %ecx
	call cpt_hc
	xorl %edx, %edx
	CPT_EXPECT "send"
	ret

	.globl mode_compat
mode_compat:
	call skip_spaces
	call word_len
	movl $cpt_name_pae, %edi
	call word_eq
	je cpt_pae
	movl $cpt_name_pse, %edi
	call word_eq
	je cpt_pse
	PUTS "compat: paging off\n"
	jmp cpt_checks

# 32-bit paging: a page directory of 4 MiB pages identity-mapping 4 GiB.
cpt_pse:
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $22, %eax
	orl $PTE_P + PTE_RW + PTE_PS, %eax
	movl %eax, cpt_pd(,%ecx,4)
	incl %ecx
	cmpl $1024, %ecx
	jb 1b
	movl %cr4, %eax
	orl $CR4_PSE, %eax
	movl %eax, %cr4
	movl $cpt_pd, %eax
	movl %eax, %cr3
	movl %cr0, %eax
	orl $CR0_PG, %eax
	movl %eax, %cr0
	PUTS "compat: 32-bit paging with 4 MiB pages\n"
	jmp cpt_paged

# PAE paging: PDPTE 0 -> a page directory of 2 MiB pages identity-mapping 1 GiB.
cpt_pae:
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $21, %eax
	orl $PTE_P + PTE_RW + PTE_PS, %eax
	movl %eax, cpt_pd(,%ecx,8)
	movl $0, cpt_pd + 4(,%ecx,8)
	incl %ecx
	cmpl $512, %ecx
	jb 1b
	movl $cpt_pd + PTE_P + PTE_A, cpt_pdpt	# A preset, as a CPU leaves it after a walk
	movl $0, cpt_pdpt + 4
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $cpt_pdpt, %eax
	movl %eax, %cr3
	movl %cr0, %eax
	orl $CR0_PG, %eax
	movl %eax, %cr0
	PUTS "compat: PAE paging, PDPTE 0 = "
	movl cpt_pdpt, %eax
	call puthex
	call newline

# With paging on: CPUID exits, and hv must fetch it through our tables.
cpt_paged:
	movl $0x40000000, %eax
	cpuid
	cmpl $0x566e6558, %ebx		# "XenV"
	je 1f
	movl %ebx, %eax
	movl $0x566e6558, %edx
	CPT_EXPECT "cpuid 0x40000000 signature with paging on"
1:	PUTS "compat: cpuid with paging on OK\n"

cpt_checks:
	# xen_version(platform_parameters): a 4-byte compat_ulong_t, 0 for HVM.
	movl $CPT_SENTINEL, cpt_buf
	movl $CPT_SENTINEL, cpt_buf + 4
	movl $HC_xen_version, %eax
	movl $XENVER_platform_parameters, %ebx
	movl $cpt_buf, %ecx
	call cpt_hc
	xorl %edx, %edx
	CPT_EXPECT "xen_version(platform_parameters)"
	movl cpt_buf, %eax
	CPT_EXPECT "platform_parameters virt_start"
	movl cpt_buf + 4, %eax
	movl $CPT_SENTINEL, %edx
	CPT_EXPECT "the 4 bytes after compat platform_parameters"
	PUTS "compat: platform_parameters is 4 bytes, virt_start 0\n"

	# XENMEM_add_to_physmap(shared_info) in the 16-byte layout.
	movw $DOMID_SELF, cpt_xatp + XATP_DOMID
	movw $0, cpt_xatp + XATP_SIZE
	movl $XENMAPSPACE_shared_info, cpt_xatp + XATP_SPACE
	movl $0, cpt_xatp + XATP_IDX
	movl $cpt_shinfo, %eax
	shrl $12, %eax
	movl %eax, cpt_xatp + XATP_GPFN
	movl $CPT_SENTINEL, cpt_xatp + XATP_BYTES	# a 64-bit reader would see this as gpfn's top
	movl $HC_memory_op, %eax
	movl $XENMEM_add_to_physmap, %ebx
	movl $cpt_xatp, %ecx
	call cpt_hc
	xorl %edx, %edx
	CPT_EXPECT "add_to_physmap(shared_info)"
	movb $1, cpt_shinfo + VI_UPCALL_MASK	# no upcalls: we look at the bitmap
	PUTS "compat: shared_info mapped at frame "
	movl cpt_xatp + XATP_GPFN, %eax
	call puthex
	call newline

	# An event channel to ourselves: alloc_unbound, bind_interdomain, send.
	movw $DOMID_SELF, cpt_evt + AU_DOM
	movw $DOMID_SELF, cpt_evt + AU_REMOTE
	movl $HC_event_channel_op, %eax
	movl $EVTCHNOP_alloc_unbound, %ebx
	movl $cpt_evt, %ecx
	call cpt_hc
	xorl %edx, %edx
	CPT_EXPECT "alloc_unbound(DOMID_SELF)"
	movl cpt_evt + AU_PORT, %eax
	movl %eax, cpt_port_a
	movw $DOMID_SELF, cpt_evt + BI_REMOTE_DOM
	movl %eax, cpt_evt + BI_REMOTE_PORT
	movl $HC_event_channel_op, %eax
	movl $EVTCHNOP_bind_interdomain, %ebx
	movl $cpt_evt, %ecx
	call cpt_hc
	xorl %edx, %edx
	CPT_EXPECT "bind_interdomain(DOMID_SELF)"
	movl cpt_evt + BI_LOCAL_PORT, %eax
	movl %eax, cpt_port_b
	movl cpt_port_a, %eax
	lock btrl %eax, cpt_shinfo + SHI_PENDING	# clear what the bind set
	movl cpt_port_b, %eax
	lock btrl %eax, cpt_shinfo + SHI_PENDING
	movl %eax, cpt_evt
	movl $HC_event_channel_op, %eax
	movl $EVTCHNOP_send, %ebx
	movl $cpt_evt, %ecx
	call cpt_hc
	xorl %edx, %edx
	CPT_EXPECT "send"
	movl cpt_port_a, %eax
	btl %eax, cpt_shinfo + SHI_PENDING
	setc %al
	movzbl %al, %eax
	movl $1, %edx
	CPT_EXPECT "the peer port's pending bit in shared_info after send"
	PUTS "compat: event channel ports "
	movl cpt_port_a, %eax
	call putdec
	PUTS " and "
	movl cpt_port_b, %eax
	call putdec
	PUTS ": send sets the pending bit\n"

	# Latch Xen's 32-bit shared_info layout: HVMOP_set_param(CALLBACK_IRQ) from 32-bit
	# code (hvm_latch_shinfo_size). The wall clock moves to 2304; 2-level delivery then
	# sets bit port/32 of the u32 selector at vcpu_info+4 and leaves +8..15 alone, and
	# the mask is the bitmap at 2176. (IF stays clear: the vector is never taken.)
	movw $DOMID_SELF, cpt_hvmp + HP_DOMID
	movl $HVM_PARAM_CALLBACK_IRQ, cpt_hvmp + HP_INDEX
	movl $CPT_CALLBACK & 0xff, cpt_hvmp + HP_VALUE
	movl $CPT_CALLBACK & 0xff000000, cpt_hvmp + HP_VALUE + 4
	movl $HC_hvm_op, %eax
	movl $HVMOP_set_param, %ebx
	movl $cpt_hvmp, %ecx
	call cpt_hc
	xorl %edx, %edx
	CPT_EXPECT "set_param(CALLBACK_IRQ)"
	movl cpt_shinfo + CSHI_WC_VERSION, %eax
	andl $1, %eax
	CPT_EXPECT "compat wc_version even"
	xorl %eax, %eax
	cmpl $1000000000, cpt_shinfo + CSHI_WC_SEC
	seta %al
	movl $1, %edx
	CPT_EXPECT "compat wc_sec after 2001"
	movl cpt_port_a, %eax
	lock btrl %eax, cpt_shinfo + SHI_PENDING
	movl $0, cpt_shinfo + CSHI_SEL
	movl $0, cpt_shinfo + 8
	movl $0, cpt_shinfo + 12
	movb $0, cpt_shinfo + VI_UPCALL_PENDING
	call cpt_send_b
	movl cpt_port_a, %ecx
	movl $1, %edx
	shrl $5, %ecx
	shll %cl, %edx
	movl cpt_shinfo + CSHI_SEL, %eax
	CPT_EXPECT "compat selector after send"
	movl cpt_shinfo + 8, %eax
	orl cpt_shinfo + 12, %eax
	xorl %edx, %edx
	CPT_EXPECT "vcpu_info bytes 8-15 (the 64-bit selector) after send"
	movzbl cpt_shinfo + VI_UPCALL_PENDING, %eax
	movl $1, %edx
	CPT_EXPECT "evtchn_upcall_pending after send"
	# Masked at 2176: pending, no selector bit; EVTCHNOP_unmask sets it.
	movl cpt_port_a, %eax
	lock btrl %eax, cpt_shinfo + SHI_PENDING
	lock btsl %eax, cpt_shinfo + CSHI_MASK
	movl $0, cpt_shinfo + CSHI_SEL
	call cpt_send_b
	movl cpt_port_a, %eax
	btl %eax, cpt_shinfo + SHI_PENDING
	setc %al
	movzbl %al, %eax
	orl cpt_shinfo + CSHI_SEL, %eax
	movl $1, %edx
	CPT_EXPECT "pending bit | selector of a port masked at 2176"
	movl cpt_port_a, %eax
	movl %eax, cpt_evt
	movl $HC_event_channel_op, %eax
	movl $EVTCHNOP_unmask, %ebx
	movl $cpt_evt, %ecx
	call cpt_hc
	xorl %edx, %edx
	CPT_EXPECT "unmask"
	movl cpt_port_a, %ecx
	movl $1, %edx
	shrl $5, %ecx
	shll %cl, %edx
	movl cpt_shinfo + CSHI_SEL, %eax
	CPT_EXPECT "compat selector after unmask"
	PUTS "compat: 32-bit shared_info latched: wall clock at 2304, selector bit "
	movl cpt_port_a, %eax
	shrl $5, %eax
	call putdec
	PUTS " of the u32 at vcpu_info+4, mask at 2176\n"

	# SCHEDOP_poll (16-byte layout) on the pending port returns at once.
	movl cpt_port_a, %eax
	movl %eax, cpt_poll_port
	movl $cpt_poll_port, cpt_poll + POLL_PORTS
	movl $1, cpt_poll + POLL_NR
	movl $0, cpt_poll + POLL_TIMEOUT
	movl $0, cpt_poll + POLL_TIMEOUT + 4
	movl $HC_sched_op, %eax
	movl $SCHEDOP_poll, %ebx
	movl $cpt_poll, %ecx
	call cpt_hc
	xorl %edx, %edx
	CPT_EXPECT "SCHEDOP_poll on a pending port"
	PUTS "compat: SCHEDOP_poll returned at once\n"

	# vcpu_op(get_runstate_info): 44 bytes, state_entry_time at 4.
	movl $cpt_buf, %edi
	movl $64 >> 2, %ecx
	movl $CPT_SENTINEL, %eax
	rep stosl
	movl $HC_vcpu_op, %eax
	movl $VCPUOP_get_runstate_info, %ebx
	xorl %ecx, %ecx
	movl $cpt_buf, %edx
	call cpt_hc
	xorl %edx, %edx
	CPT_EXPECT "vcpu_op(get_runstate_info)"
	movl cpt_buf, %eax
	CPT_EXPECT "runstate state (running)"
	movl cpt_buf + 44, %eax
	movl $CPT_SENTINEL, %edx
	CPT_EXPECT "the 4 bytes after the compat runstate info"
	PUTS "compat: runstate info is 44 bytes, state running\n"

	# Grant table: frame 0 at CPT_GNT_GFN, then setup_table (16 bytes, u32 frames).
	movw $DOMID_SELF, cpt_xatp + XATP_DOMID
	movl $XENMAPSPACE_grant_table, cpt_xatp + XATP_SPACE
	movl $0, cpt_xatp + XATP_IDX
	movl $CPT_GNT_GFN, cpt_xatp + XATP_GPFN
	movl $HC_memory_op, %eax
	movl $XENMEM_add_to_physmap, %ebx
	movl $cpt_xatp, %ecx
	call cpt_hc
	xorl %edx, %edx
	CPT_EXPECT "add_to_physmap(grant_table, 0)"
	movl $CPT_SENTINEL, cpt_frames
	movl $CPT_SENTINEL, cpt_frames + 4
	movw $DOMID_SELF, cpt_setup + ST_DOM
	movw $0, cpt_setup + ST_DOM + 2
	movl $1, cpt_setup + ST_NR
	movl $GB_UNSET, cpt_setup + ST_STATUS
	movl $cpt_frames, cpt_setup + ST_LIST
	movl $HC_grant_table_op, %eax
	movl $GNTTABOP_setup_table, %ebx
	movl $cpt_setup, %ecx
	movl $1, %edx
	call cpt_hc
	xorl %edx, %edx
	CPT_EXPECT "grant_table_op(setup_table)"
	movswl cpt_setup + ST_STATUS, %eax
	CPT_EXPECT "setup_table status"
	movl cpt_frames, %eax
	movl $CPT_GNT_GFN, %edx
	CPT_EXPECT "setup_table frame"
	movl cpt_frames + 4, %eax
	movl $CPT_SENTINEL, %edx
	CPT_EXPECT "the 4 bytes after the one compat frame"
	PUTS "compat: grant table frame 0 at "
	movl $CPT_GNT_GFN, %eax
	call puthex
	PUTS ", setup_table lists it\n"

	# GNTTABOP_copy (24 bytes per op) between two of our own frames.
	movl $cpt_src, %edi
	movl $4096 >> 2, %ecx
	movl $0x01020304, %eax
1:	stosl
	addl $0x04040404, %eax
	loop 1b
	movl $cpt_gop, %edi
	movl $2 * COPY_BYTES >> 2, %ecx
	xorl %eax, %eax
	rep stosl
	movl $cpt_src, %eax
	shrl $12, %eax
	movl %eax, cpt_gop + COPY_SRC + CP_GMFN
	movw $DOMID_SELF, cpt_gop + COPY_SRC + CP_DOMID
	movw $16, cpt_gop + COPY_SRC + CP_OFFSET
	movl $cpt_dst, %eax
	shrl $12, %eax
	movl %eax, cpt_gop + COPY_DST + CP_GMFN
	movw $DOMID_SELF, cpt_gop + COPY_DST + CP_DOMID
	movw $100, cpt_gop + COPY_DST + CP_OFFSET
	movw $64, cpt_gop + COPY_LEN
	movw $0, cpt_gop + COPY_FLAGS
	movw $GB_UNSET, cpt_gop + COPY_STATUS
	movw $GB_UNSET, cpt_gop + COPY_BYTES + COPY_STATUS	# a second op that is not passed
	movl $HC_grant_table_op, %eax
	movl $GNTTABOP_copy, %ebx
	movl $cpt_gop, %ecx
	movl $1, %edx
	call cpt_hc
	xorl %edx, %edx
	CPT_EXPECT "grant_table_op(copy)"
	movswl cpt_gop + COPY_STATUS, %eax
	CPT_EXPECT "copy status"
	movswl cpt_gop + COPY_BYTES + COPY_STATUS, %eax
	movl $GB_UNSET, %edx
	CPT_EXPECT "the status of the op after the one passed"
	movl $cpt_src + 16, %esi
	movl $cpt_dst + 100, %edi
	movl $64, %ecx
	call cpt_compare
	xorl %edx, %edx
	CPT_EXPECT "copied bytes differing"
	movl cpt_dst + 96, %eax
	CPT_EXPECT "the bytes before the copy's destination"
	movl cpt_dst + 164, %eax
	CPT_EXPECT "the bytes after the copy's destination"
	PUTS "compat: grant copy of 64 bytes OK\n"

	# Once more with paging: the CPU has walked our tables many times by now.
	movl %cr0, %eax
	testl $CR0_PG, %eax
	jz 2f
	movl $0x40000000, %eax
	cpuid
	movl %ebx, %eax
	movl $0x566e6558, %edx
	CPT_EXPECT "cpuid 0x40000000 signature at the end"
	PUTS "compat: PDPTE/PDE after the run: "
	movl cpt_pdpt, %eax
	testl %eax, %eax
	jnz 1f
	movl cpt_pd, %eax
1:	call puthex
	call newline
2:	PUTS "compat: OK\n"
	jmp poweroff

# cpt_compare: EAX = the number of differing bytes among ECX at ESI and EDI.
cpt_compare:
	pushl %ebx
	xorl %eax, %eax
1:	movb (%esi), %bl
	cmpb (%edi), %bl
	je 2f
	incl %eax
2:	incl %esi
	incl %edi
	loop 1b
	popl %ebx
	ret

	.section .rodata
cpt_name_pae:	.asciz "pae"
cpt_name_pse:	.asciz "pse"

	.bss
	.balign 4096
cpt_shinfo:	.skip 4096	# shared_info once add_to_physmap put it here
cpt_src:	.skip 4096	# grant copy source
cpt_dst:	.skip 4096	#            destination
cpt_pd:		.skip 4096	# page directory (PSE: 1024 x 4 MiB; PAE: 512 x 2 MiB)
	.balign 32
cpt_pdpt:	.skip 32	# PAE: 4 PDPTEs
	.balign 8
cpt_xatp:	.skip XATP_BYTES + 4	# struct compat_xen_add_to_physmap, and a sentinel
cpt_evt:	.skip 12
cpt_poll:	.skip POLL_BYTES
cpt_setup:	.skip ST_BYTES
cpt_gop:	.skip 2 * COPY_BYTES
cpt_buf:	.skip 64
	.balign 8
cpt_hvmp:	.skip HP_BYTES
cpt_frames:	.skip 8
cpt_port_a:	.long 0
cpt_port_b:	.long 0
cpt_poll_port:	.long 0
