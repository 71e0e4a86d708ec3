# toolstack.S — the `toolstack` mode: the test guest as dom0 (testguest-dom0.elf, linked
# at 16 MiB) builds a domU with hypercalls alone, as libxc does for `xl create` of a PVH
# guest (dom0-toolstack.md §C.2), runs it, and tears it down:
#
#   physinfo (free pages); bind VIRQ_DOM_EXC; createdomain (HVM|HAP, 1 vCPU, LAPIC);
#   max_mem 4 MiB; max_vcpus; populate_physmap of 2 x 2 MiB on the new domain;
#   add_to_physmap_batch(gmfn_foreign) of its gfns 0x100 and 1 at scratch gfns of ours;
#   the payload (below) written to its 0x100000 and hvm_start_info to its 0x1000;
#   HVMOP_set/get_param(STORE_PFN) on it; alloc_unbound{dom=N, remote=us};
#   acquire_resource(grant table frame 0) and grant entry 0 written through it;
#   gethvmcontext (size), sethvmcontext HEADER + CPU (the PVH entry) + END;
#   remove_from_physmap of the three scratch gfns; scheduler_op putinfo; unpause;
#   VIRQ_DOM_EXC when the domU powers off; getdomaininfo shows shutdown(poweroff);
#   destroydomain; VIRQ_DOM_EXC again; getdomaininfolist without it; physinfo free pages
#   back to the start; readconsole (`xl dmesg`) returns hv's log.
#
# The domU payload runs in 32-bit protected mode at 0x100000: it checks start_info's
# magic, prints a line and its command line on port 0xE9, tries a domctl and a sysctl
# (-EPERM for a domU) and powers off.
#
# Everything runs in 64-bit mode (the native structure layouts, as dom0 Linux uses them),
# on page tables identity-mapping the first 1 GiB; the scratch gfns are at 768 MiB, not
# dom0's RAM. Output: `toolstack: ...` lines, `toolstack: OK`, then poweroff;
# `toolstack: FAIL <what>: <result>` and a crash on the first failure.

	.include "defs.inc"

	.set HC_sysctl, 35
	.set HC_domctl, 36
	.set DOMCTL_VERSION, 0x15
	.set SYSCTL_VERSION, 0x15
	.set   DOMCTL_createdomain, 1
	.set   DOMCTL_destroydomain, 2
	.set   DOMCTL_unpausedomain, 4
	.set   DOMCTL_getdomaininfo, 5
	.set   DOMCTL_max_mem, 11
	.set   DOMCTL_max_vcpus, 15
	.set   DOMCTL_scheduler_op, 16
	.set   DOMCTL_gethvmcontext, 33
	.set   DOMCTL_sethvmcontext, 34
	.set   SYSCTL_readconsole, 1
	.set   SYSCTL_physinfo, 3
	.set   SYSCTL_getdomaininfolist, 6
	.set   XEN_DOMINF_shutdown, 4
	.set XENMEM_remove_from_physmap, 15
	.set XENMEM_add_to_physmap_batch, 23
	.set XENMEM_acquire_resource, 28
	.set   XENMAPSPACE_gmfn_foreign, 4
	.set   XENMEM_resource_grant_table, 1
	.set HVMOP_set_param, 0
	.set   HVM_PARAM_STORE_PFN, 1
	.set EVTCHNOP_bind_virq, 1
	.set   VIRQ_DOM_EXC, 3
	.set XEN_EPERM, 1
	.set SCRATCH_GFN, 0x30000	# 768 MiB: our scratch gfns for foreign mappings
	.set DU_BASE, 0x100000		# where the payload runs in the domU
	.set DU_SI, 0x1000		# the domU's hvm_start_info
	.set DOMCTL_U, 16		# offset of xen_domctl.u
	.set SYSCTL_U, 8		# offset of xen_sysctl.u
	.set WAIT_YIELDS, 2000000
	.set PTE_P,  1 << 0
	.set PTE_RW, 1 << 1
	.set PTE_PS, 1 << 7

# EXPECT0 what: fail unless RAX is 0.
.macro EXPECT0 what
	testq %rax, %rax
	jz .Lok\@
	PUTS64 "toolstack: FAIL \what: "
	jmp ts_fail
.Lok\@:
.endm

	.code32
	.text
	.globl mode_toolstack
mode_toolstack:
	PUTS "toolstack: entering long mode\n"
	movl $ts_pdpt + PTE_P + PTE_RW, ts_pml4
	movl $ts_pd + PTE_P + PTE_RW, ts_pdpt
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $21, %eax
	orl $PTE_P + PTE_RW + PTE_PS, %eax
	movl %eax, ts_pd(,%ecx,8)
	incl %ecx
	cmpl $512, %ecx
	jb 1b
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $ts_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $CR0_PG, %eax
	movl %eax, %cr0
	ljmp $SEL_CODE64, $ts64

	.code64
ts64:
	movw $SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl $stack_top, %esp
	call setup_idt64

	# Our domain id (CPUID leaf 0x40000004 ECX), for alloc_unbound's remote end.
	movl $0x40000004, %eax
	xorl %ecx, %ecx
	cpuid
	movw %cx, my_domid

	# shared_info at a page of ours, for VIRQ_DOM_EXC's pending bit.
	movw $DOMID_SELF, atp
	movl $XENMAPSPACE_shared_info, atp + 4
	movl $shinfo_page, %eax
	shrl $12, %eax
	movq %rax, atp + 16
	movl $HC_memory_op, %eax
	movl $XENMEM_add_to_physmap, %edi
	movl $atp, %esi
	vmmcall
	EXPECT0 "add_to_physmap(shared_info)"
	movl $VIRQ_DOM_EXC, evt
	movl $0, evt + 4
	movl $HC_event_channel_op, %eax
	movl $EVTCHNOP_bind_virq, %edi
	movl $evt, %esi
	vmmcall
	EXPECT0 "bind_virq(VIRQ_DOM_EXC)"
	movl evt + 8, %eax
	movl %eax, exc_port

	call physinfo_free
	movq %rax, free0
	PUTS64 "toolstack: physinfo free pages "
	call puthex_64
	call newline64

	# createdomain: an empty PVH domain.
	call dctl_clear
	movl $3, dctl + DOMCTL_U + 20		# flags: XEN_DOMCTL_CDF_hvm | hap
	movl $1, dctl + DOMCTL_U + 28		# max_vcpus
	movl $1023, dctl + DOMCTL_U + 32	# max_evtchn_port
	movl $4, dctl + DOMCTL_U + 36		# max_grant_frames
	movl $-1, dctl + DOMCTL_U + 40		# max_maptrack_frames: default
	movl $1, dctl + DOMCTL_U + 56		# arch.emulation_flags: XEN_X86_EMU_LAPIC
	movl $DOMCTL_createdomain, %edi
	xorl %esi, %esi				# domain 0: hv picks the id
	call domctl
	EXPECT0 "createdomain"
	movzwl dctl + 8, %eax
	movw %ax, domid
	PUTS64 "toolstack: created domain "
	call puthex_64
	call newline64

	call dctl_clear
	movq $4096, dctl + DOMCTL_U		# max_memkb
	movl $DOMCTL_max_mem, %edi
	call domctl_domid
	EXPECT0 "max_mem"
	call dctl_clear
	movl $1, dctl + DOMCTL_U
	movl $DOMCTL_max_vcpus, %edi
	call domctl_domid
	EXPECT0 "max_vcpus"

	# populate_physmap of two 2 MiB extents at its gfns 0 and 0x200.
	movq $0, ext
	movq $0x200, ext + 8
	movq $ext, res				# extent_start
	movq $2, res + 8			# nr_extents
	movl $9, res + 16			# extent_order
	movl $0, res + 20			# mem_flags
	movw domid, %ax
	movw %ax, res + 24			# domid
	movl $HC_memory_op, %eax
	movl $XENMEM_populate_physmap, %edi
	movl $res, %esi
	vmmcall
	cmpq $2, %rax
	je 1f
	PUTS64 "toolstack: FAIL populate_physmap: "
	jmp ts_fail
1:	PUTS64 "toolstack: populated 4 MiB\n"

	# Its gfns 0x100 (the payload) and 1 (start_info) at our scratch gfns.
	movq $DU_BASE >> 12, idxs
	movq $DU_SI >> 12, idxs + 8
	movq $SCRATCH_GFN, gpfns
	movq $SCRATCH_GFN + 1, gpfns + 8
	movl $2, %ecx
	call map_batch
	PUTS64 "toolstack: mapped 2 frames of the domain\n"

	# The payload and start_info, written through the mappings.
	movl $domu_payload, %esi
	movl $SCRATCH_GFN << 12, %edi
	movl $domu_payload_end - domu_payload, %ecx
	rep movsb
	movl $(SCRATCH_GFN + 1) << 12, %edi
	movl $HVM_START_MAGIC, SI_MAGIC(%rdi)
	movl $1, SI_VERSION(%rdi)
	movq $DU_SI + 0x100, SI_CMDLINE(%rdi)
	leaq 0x100(%rdi), %rdi
	movl $du_cmdline, %esi
	movl $du_cmdline_end - du_cmdline, %ecx
	rep movsb

	# An HVM parameter of the domain, read back.
	movw domid, %ax
	movw %ax, hp
	movl $HVM_PARAM_STORE_PFN, hp + 4
	movq $0xfeffc, hp + 8
	movl $HC_hvm_op, %eax
	movl $HVMOP_set_param, %edi
	movl $hp, %esi
	vmmcall
	EXPECT0 "set_param(STORE_PFN) on the domain"
	movq $0, hp + 8
	movl $HC_hvm_op, %eax
	movl $HVMOP_get_param, %edi
	movl $hp, %esi
	vmmcall
	EXPECT0 "get_param(STORE_PFN) of the domain"
	cmpq $0xfeffc, hp + 8
	je 1f
	movq hp + 8, %rax
	PUTS64 "toolstack: FAIL STORE_PFN read back: "
	jmp ts_fail

	# An unbound port of the domain for us (its console or xenstore port).
1:	movw domid, %ax
	movw %ax, evt
	movw my_domid, %ax
	movw %ax, evt + 2
	movl $HC_event_channel_op, %eax
	movl $EVTCHNOP_alloc_unbound, %edi
	movl $evt, %esi
	vmmcall
	EXPECT0 "alloc_unbound on the domain"
	PUTS64 "toolstack: the domain's port for us "
	movl evt + 4, %eax
	call puthex_64
	call newline64

	# Its grant table's frame 0 (acquire_resource), and entry 0 seeded through it.
	call acq_clear
	movl $HC_memory_op, %eax
	movl $XENMEM_acquire_resource, %edi
	movl $acq, %esi
	vmmcall
	EXPECT0 "acquire_resource size"
	cmpl $4, acq + 8
	je 1f
	movl acq + 8, %eax
	PUTS64 "toolstack: FAIL grant frames (max_grant_frames 4): "
	jmp ts_fail
1:	call acq_clear
	movl $1, acq + 8			# nr_frames
	movq $gpfns, acq + 24			# frame_list: our gfn to map it at
	movq $SCRATCH_GFN + 2, gpfns
	movl $HC_memory_op, %eax
	movl $XENMEM_acquire_resource, %edi
	movl $acq, %esi
	vmmcall
	EXPECT0 "acquire_resource(grant table frame 0)"
	movl $(SCRATCH_GFN + 2) << 12, %edi
	movw my_domid, %ax
	movw %ax, GE_DOMID(%rdi)
	movl $0xfefff, GE_FRAME(%rdi)
	movw $GTF_permit_access, GE_FLAGS(%rdi)
	PUTS64 "toolstack: grant entry 0 seeded\n"

	# The vCPU's entry: gethvmcontext's size, then HEADER + CPU + END.
	call dctl_clear
	movl $DOMCTL_gethvmcontext, %edi
	call domctl_domid
	EXPECT0 "gethvmcontext size"
	PUTS64 "toolstack: hvm context size "
	movl dctl + DOMCTL_U, %eax
	call puthex_64
	call newline64
	call build_context
	call dctl_clear
	movl $ctx_end - ctx, dctl + DOMCTL_U	# size
	movq $ctx, dctl + DOMCTL_U + 8		# buffer
	movl $DOMCTL_sethvmcontext, %edi
	call domctl_domid
	EXPECT0 "sethvmcontext"

	# Done writing: unmap the three frames.
	movq $SCRATCH_GFN, %rbx
1:	movw $DOMID_SELF, rfp
	movq %rbx, rfp + 8
	movl $HC_memory_op, %eax
	movl $XENMEM_remove_from_physmap, %edi
	movl $rfp, %esi
	vmmcall
	EXPECT0 "remove_from_physmap"
	incq %rbx
	cmpq $SCRATCH_GFN + 3, %rbx
	jb 1b

	call dctl_clear
	movl $5, dctl + DOMCTL_U		# sched_id: XEN_SCHEDULER_CREDIT
	movl $0, dctl + DOMCTL_U + 4		# XEN_DOMCTL_SCHEDOP_putinfo
	movw $512, dctl + DOMCTL_U + 8		# weight
	movw $0, dctl + DOMCTL_U + 10		# cap
	movl $DOMCTL_scheduler_op, %edi
	call domctl_domid
	EXPECT0 "scheduler_op putinfo"

	call dctl_clear
	movl $DOMCTL_unpausedomain, %edi
	call domctl_domid
	EXPECT0 "unpausedomain"
	PUTS64 "toolstack: domain unpaused\n"

	# It powers off: VIRQ_DOM_EXC, and getdomaininfo says why.
	call wait_dom_exc
	call dctl_clear
	movl $DOMCTL_getdomaininfo, %edi
	call domctl_domid
	EXPECT0 "getdomaininfo"
	movl dctl + DOMCTL_U + 4, %eax		# flags
	testl $XEN_DOMINF_shutdown, %eax
	jz 2f
	shrl $16, %eax
	andl $0xff, %eax
	jz 3f
2:	PUTS64 "toolstack: FAIL getdomaininfo flags after VIRQ_DOM_EXC: "
	movl dctl + DOMCTL_U + 4, %eax
	jmp ts_fail
3:	PUTS64 "toolstack: VIRQ_DOM_EXC: the domain shut down (poweroff)\n"

	call dctl_clear
	movl $DOMCTL_destroydomain, %edi
	call domctl_domid
	EXPECT0 "destroydomain"
	call wait_dom_exc
	PUTS64 "toolstack: destroyed, VIRQ_DOM_EXC again\n"

	# getdomaininfolist: only us.
	call sctl_clear
	movw $0, sctl + SYSCTL_U		# first_domain
	movl $16, sctl + SYSCTL_U + 4		# max_domains
	movq $list_buf, sctl + SYSCTL_U + 8	# buffer
	movl $SYSCTL_getdomaininfolist, %edi
	call sysctl
	EXPECT0 "getdomaininfolist"
	movl sctl + SYSCTL_U + 16, %ecx		# num_domains
	cmpl $1, %ecx
	jne 4f
	movw list_buf, %ax
	cmpw my_domid, %ax
	je 5f
4:	movl %ecx, %eax
	PUTS64 "toolstack: FAIL getdomaininfolist after destroy lists domains: "
	jmp ts_fail
5:	PUTS64 "toolstack: getdomaininfolist lists dom0 alone\n"

	call physinfo_free
	cmpq free0, %rax
	je 6f
	PUTS64 "toolstack: FAIL free pages not back: "
	jmp ts_fail
6:	PUTS64 "toolstack: physinfo free pages back to "
	call puthex_64
	call newline64

	# readconsole: hv's log as `xl dmesg` shows it.
	call sctl_clear
	movq $list_buf, sctl + SYSCTL_U + 8
	movl $4096, sctl + SYSCTL_U + 16
	movl $SYSCTL_readconsole, %edi
	call sysctl
	EXPECT0 "readconsole"
	movl sctl + SYSCTL_U + 16, %eax
	testl %eax, %eax
	jnz 7f
	PUTS64 "toolstack: FAIL readconsole returned nothing: "
	jmp ts_fail
7:	PUTS64 "toolstack: readconsole gave "
	call puthex_64
	PUTS64 " bytes of hv's log\n"

	PUTS64 "toolstack: OK\n"
	movl $SHUTDOWN_poweroff, %edi
	jmp shutdown64

# ts_fail: print RAX and a newline, crash.
ts_fail:
	call puthex_64
	call newline64
	movl $SHUTDOWN_crash, %edi
	jmp shutdown64

# domctl: xen_domctl{cmd = EDI, version, domain = SI} at dctl (its union filled by the
# caller). RAX = the result.
domctl:
	movl %edi, dctl
	movl $DOMCTL_VERSION, dctl + 4
	movw %si, dctl + 8
	movl $HC_domctl, %eax
	movl $dctl, %edi
	vmmcall
	ret

# domctl_domid: domctl on the domain we built.
domctl_domid:
	movzwl domid, %esi
	jmp domctl

# sysctl: xen_sysctl{cmd = EDI, version} at sctl. RAX = the result.
sysctl:
	movl %edi, sctl
	movl $SYSCTL_VERSION, sctl + 4
	movl $HC_sysctl, %eax
	movl $sctl, %edi
	vmmcall
	ret

dctl_clear:
	movl $dctl, %edi
	movl $144, %ecx
	jmp 1f
sctl_clear:
	movl $sctl, %edi
	movl $136, %ecx
	jmp 1f
acq_clear:
	movl $acq, %edi
	movl $32, %ecx
	xorl %eax, %eax
	rep stosb
	movw domid, %ax
	movw %ax, acq				# domid
	movw $XENMEM_resource_grant_table, acq + 2
	ret
1:	xorl %eax, %eax
	rep stosb
	ret

# physinfo_free: RAX = physinfo's free_pages.
physinfo_free:
	call sctl_clear
	movl $SYSCTL_physinfo, %edi
	call sysctl
	EXPECT0 "physinfo"
	movq sctl + SYSCTL_U + 48, %rax
	ret

# map_batch: add_to_physmap_batch(gmfn_foreign) of ECX frames idxs[] of the domain at
# our gpfns[]; every errs[] must be 0.
map_batch:
	movw $DOMID_SELF, batch
	movw $XENMAPSPACE_gmfn_foreign, batch + 2
	movw %cx, batch + 4
	movw domid, %ax
	movw %ax, batch + 6
	movq $idxs, batch + 8
	movq $gpfns, batch + 16
	movq $errs, batch + 24
	movl $-1, errs
	movl $-1, errs + 4
	pushq %rcx
	movl $HC_memory_op, %eax
	movl $XENMEM_add_to_physmap_batch, %edi
	movl $batch, %esi
	vmmcall
	popq %rcx
	EXPECT0 "add_to_physmap_batch"
	xorl %edx, %edx
1:	movl errs(,%rdx,4), %eax
	testl %eax, %eax
	jz 2f
	PUTS64 "toolstack: FAIL add_to_physmap_batch errs[i]: "
	jmp ts_fail
2:	incl %edx
	cmpl %ecx, %edx
	jb 1b
	ret

# wait_dom_exc: yield until VIRQ_DOM_EXC's port is pending in shared_info, then clear it.
wait_dom_exc:
	movl $WAIT_YIELDS, %ebx
1:	movl exc_port, %eax
	btl %eax, shinfo_page + SHI_PENDING
	jc 2f
	movl $HC_sched_op, %eax
	movl $SCHEDOP_yield, %edi
	xorl %esi, %esi
	vmmcall
	decl %ebx
	jnz 1b
	movl exc_port, %eax
	PUTS64 "toolstack: FAIL no VIRQ_DOM_EXC on port "
	jmp ts_fail
2:	lock btrl %eax, shinfo_page + SHI_PENDING
	ret

# build_context: HEADER, CPU (32-bit flat protected mode at DU_BASE, EBX = DU_SI), END,
# as libxc's bootlate_hvm writes them.
	.set CPU, ctx + 40			# the hvm_hw_cpu record
build_context:
	movl $ctx, %edi
	movl $ctx_end - ctx, %ecx
	xorl %eax, %eax
	rep stosb
	movw $1, ctx				# HEADER
	movl $24, ctx + 4
	movl $0x54381286, ctx + 8		# HVM_FILE_MAGIC
	movl $1, ctx + 12			# HVM_FILE_VERSION
	movw $2, ctx + 32			# CPU, instance 0
	movl $1032, ctx + 36
	movq $DU_SI, CPU + 520			# rbx
	movq $DU_BASE, CPU + 640		# rip
	movq $2, CPU + 648			# rflags
	movq $0x11, CPU + 656			# cr0: PE | ET
	movl $-1, CPU + 768			# cs_limit
	movl $-1, CPU + 772			# ds_limit
	movl $-1, CPU + 776			# es_limit
	movl $-1, CPU + 788			# ss_limit
	movl $0x67, CPU + 792			# tr_limit
	movl $0xc9b, CPU + 888			# cs_arbytes: 32-bit code
	movl $0xc93, CPU + 892			# ds
	movl $0xc93, CPU + 896			# es
	movl $0xc93, CPU + 908			# ss
	movl $0x8b, CPU + 912			# tr
	ret					# END: the zeros at ctx + 1072

# ---- The domU payload: copied to DU_BASE, 32-bit code, no stack ------------------------
# (x - domu_payload + DU_BASE) is where x ends up in the domU.
	.section .rodata
	.code32
	.balign 16
domu_payload:
	cmpl $HVM_START_MAGIC, SI_MAGIC(%ebx)
	jne 9f
	movl $(du_hello - domu_payload + DU_BASE), %esi
1:	lodsb
	testb %al, %al
	jz 2f
	outb %al, $E9_PORT
	jmp 1b
2:	movl SI_CMDLINE(%ebx), %esi
3:	lodsb
	testb %al, %al
	jz 4f
	outb %al, $E9_PORT
	jmp 3b
4:	movb $'\n', %al
	outb %al, $E9_PORT
	# A domU's domctl and sysctl: -EPERM.
	movl $HC_domctl, %eax
	movl $(du_domctl - domu_payload + DU_BASE), %ebx
	vmmcall
	cmpl $-XEN_EPERM, %eax
	jne 9f
	movl $HC_sysctl, %eax
	movl $(du_sysctl - domu_payload + DU_BASE), %ebx
	vmmcall
	cmpl $-XEN_EPERM, %eax
	jne 9f
	movl $(du_eperm - domu_payload + DU_BASE), %esi
5:	lodsb
	testb %al, %al
	jz 6f
	outb %al, $E9_PORT
	jmp 5b
6:	movl $SHUTDOWN_poweroff, (du_reason - domu_payload + DU_BASE)
7:	movl $HC_sched_op, %eax
	movl $SCHEDOP_shutdown, %ebx
	movl $(du_reason - domu_payload + DU_BASE), %ecx
	vmmcall
8:	hlt
	jmp 8b
9:	movl $SHUTDOWN_crash, (du_reason - domu_payload + DU_BASE)
	movl $(du_fail - domu_payload + DU_BASE), %esi
10:	lodsb
	testb %al, %al
	jz 7b
	outb %al, $E9_PORT
	jmp 10b
du_hello:	.asciz "domU: hello from a domain dom0 built with hypercalls; cmdline: "
du_eperm:	.asciz "domU: domctl and sysctl refused with -EPERM\n"
du_fail:	.asciz "domU: FAIL\n"
	.balign 8
du_domctl:	.long DOMCTL_getdomaininfo, DOMCTL_VERSION
	.fill 136, 1, 0
du_sysctl:	.long SYSCTL_physinfo, SYSCTL_VERSION
	.fill 128, 1, 0
du_reason:	.long 0
domu_payload_end:
du_cmdline:	.asciz "built by the toolstack test"
du_cmdline_end:

# ---- State ---------------------------------------------------------------------------
	.bss
	.balign 4096
ts_pml4:	.skip 4096
ts_pdpt:	.skip 4096
ts_pd:		.skip 4096
shinfo_page:	.skip 4096
list_buf:	.skip 4096
	.balign 16
dctl:		.skip 144
sctl:		.skip 136
	.balign 8
ctx:		.skip 1080
ctx_end:
res:		.skip 32
batch:		.skip 32
acq:		.skip 32
atp:		.skip 24
rfp:		.skip 16
hp:		.skip 16
evt:		.skip 16
ext:		.skip 16
idxs:		.skip 32
gpfns:		.skip 32
errs:		.skip 16
free0:		.skip 8
exc_port:	.skip 4
domid:		.skip 2
my_domid:	.skip 2
