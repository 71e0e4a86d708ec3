# drain.S — the drain mode (issue 14 §2): a guest that tries to exhaust hv's memory
# through the nested page tables its physmap costs, while its own memory stays
# constant. Every frame it puts 1 GiB away from the others costs hv two table pages
# (a page directory and a page table). hv charges those to the domain's own p2m pool,
# so the guest must run out of its pool (-ENOMEM, or 0 extents done, or
# GNTST_general_error) while hv and its neighbours carry on.
#
# Three attacks, each until hv refuses:
#   1. grant mappings of one of its own pages (self-grants; refs 8..23, 64 mappings
#      each) at host addresses 1 GiB apart: no RAM at all; then all of them are unmapped, which must give the
#      tables back to the pool;
#   2. the drain loop: decrease_reservation of one frame of RAM, populate_physmap of
#      one frame 1 GiB further up, again and again; then the same 2 MiB apart inside
#      the first GiB (one table each), so the pool is empty to the last page;
#   3. add_to_physmap of grant frame 0 into a GiB not touched yet: -ENOMEM (-12).
#
# Like the other 32-bit modes it runs with paging off and interrupts off.

	.include "defs.inc"
	.code32
	.text

	.set DR_FIRST_GFN, 0x400	# frames given back: from 4 MiB up (above the image)
	.set DR_MAX_MOVES, 1024		# ... at most up to 8 MiB: the domain needs 8 MiB of RAM
	.set DR_MAX_MAPS,  1024		# self-maps tried before giving up
	.set DR_GNT_GFN,   0x3000	# grant-table frame 0 at 48 MiB, beyond a 16 MiB domain's RAM
	.set DR_REF,       8		# the first self-grant's reference
	.set DR_MAPS_SHIFT, 6		# each self-grant is mapped at most 64 times: hv, like
	.set DR_MAPS_PER_REF, 1 << DR_MAPS_SHIFT	# Xen, refuses a 129th pin of one grant
	.set DR_PAGE,      0x380000	# the page granted to ourselves: RAM above the image
	.set DR_HANDLES,   0x390000	# the self-maps' handles, u32 [DR_MAX_MAPS]
	# The mode's variables live in RAM above the image too, so it adds no .data.
	.set dr_list,      0x391000	# xen_pfn_t [1]
	.set dr_res,       0x391010	# struct xen_memory_reservation
	.set dr_xatp,      0x391040	# struct xen_add_to_physmap
	.set dr_op,        0x391060	# struct gnttab_map_grant_ref / unmap_grant_ref (32 bytes)
	.set dr_domid,     0x391080	# u16
	.set dr_maps,      0x391084	# u32
	.set dr_moves,     0x391088	# u32
	.set DR_UNSET,     0x7fff	# a status hv must overwrite (not a GNTST_* code)
	.set XEN_ENOMEM,   12
	.set GNTST_general_error, -1
	.set XEN_CPUID_DOMID_PRESENT, 1 << 4	# leaf 0x40000004 EAX: ECX holds the domain id

# dr_hc: hypercall EAX with arguments EBX, ECX, EDX. EAX = the result.
dr_hc:
	pushal
	vmmcall
	movl %eax, 28(%esp)
	popal
	ret

# dr_reserve: memory_op(EBX, one order-0 extent, frame EAX (bits 31:0) EDX (63:32)).
# EAX = the extents done, or -errno.
dr_reserve:
	pushl %ecx
	movl %eax, dr_list
	movl %edx, dr_list + 4
	movl $dr_list, dr_res + RES_START
	movl $0, dr_res + RES_START + 4
	movl $1, dr_res + RES_NR
	movl $0, dr_res + RES_NR + 4
	movl $0, dr_res + RES_ORDER
	movl $0, dr_res + RES_FLAGS
	movl $DOMID_SELF, dr_res + RES_DOMID	# and a zero pad
	movl $0, dr_res + RES_DOMID + 4
	movl $dr_res, %ecx
	movl $HC_memory_op, %eax
	call dr_hc
	popl %ecx
	ret

# dr_gnt_physmap: add_to_physmap(DOMID_SELF, grant_table, idx 0, gpfn EAX (31:0),
# EDX (63:32)). EAX = the result.
dr_gnt_physmap:
	pushl %ebx
	pushl %ecx
	movw $DOMID_SELF, dr_xatp + XATP_DOMID
	movw $0, dr_xatp + XATP_SIZE
	movl $XENMAPSPACE_grant_table, dr_xatp + XATP_SPACE
	movl $0, dr_xatp + XATP_IDX
	movl $0, dr_xatp + XATP_IDX + 4
	movl %eax, dr_xatp + XATP_GPFN
	movl %edx, dr_xatp + XATP_GPFN + 4
	movl $XENMEM_add_to_physmap, %ebx
	movl $dr_xatp, %ecx
	movl $HC_memory_op, %eax
	call dr_hc
	popl %ecx
	popl %ebx
	ret

# dr_gib: EDX:EAX = (EAX + 1) GiB, the host address of self-map EAX.
dr_gib:
	incl %eax
	movl %eax, %edx
	shll $30, %eax
	shrl $2, %edx
	ret

# dr_grant_op: grant_table_op(EBX, &dr_op, 1); fails the mode unless it returns 0.
dr_grant_op:
	pushl %ecx
	pushl %edx
	movl $dr_op, %ecx
	movl $1, %edx
	movl $HC_grant_table_op, %eax
	call dr_hc
	popl %edx
	popl %ecx
	testl %eax, %eax
	jnz 1f
	ret
1:	PUTS "drain: FAIL grant_table_op returned "
	call putsdec
	call newline
	jmp fail

	.globl mode_drain
mode_drain:
	# Our domain id, for the self-grant.
	movl $0x40000004, %eax
	xorl %ecx, %ecx
	cpuid
	testl $XEN_CPUID_DOMID_PRESENT, %eax
	jnz 1f
	PUTS "drain: FAIL no domain id in CPUID leaf 0x40000004\n"
	jmp fail
1:	movw %cx, dr_domid

	# Grant frame 0 at 48 MiB; refs DR_REF.. grant DR_PAGE to ourselves.
	movl $DR_GNT_GFN, %eax
	xorl %edx, %edx
	call dr_gnt_physmap
	testl %eax, %eax
	jz 2f
	PUTS "drain: FAIL add_to_physmap(grant_table) at 48 MiB returned "
	call putsdec
	call newline
	jmp fail
2:	movl $DR_GNT_GFN << 12 + DR_REF * GE_BYTES, %edi
	movl $DR_MAX_MAPS / DR_MAPS_PER_REF, %ecx
	movw dr_domid, %ax
3:	movw %ax, GE_DOMID(%edi)
	movl $DR_PAGE >> 12, GE_FRAME(%edi)
	movw $GTF_permit_access, GE_FLAGS(%edi)
	addl $GE_BYTES, %edi
	loop 3b

	# 1. Self-maps 1 GiB apart until hv refuses one.
	xorl %edi, %edi			# EDI = mappings made
.Lmap:	cmpl $DR_MAX_MAPS, %edi
	jb 4f
	PUTS "drain: FAIL 1024 self-maps 1 GiB apart and no refusal\n"
	jmp fail
4:	call dr_clear_op
	movl %edi, %eax
	call dr_gib
	movl %eax, dr_op + MAP_HOST_ADDR
	movl %edx, dr_op + MAP_HOST_ADDR + 4
	movl $GNTMAP_host_map, dr_op + MAP_FLAGS
	movl %edi, %eax			# ref DR_REF + i / DR_MAPS_PER_REF
	shrl $DR_MAPS_SHIFT, %eax
	addl $DR_REF, %eax
	movl %eax, dr_op + MAP_REF
	movw dr_domid, %ax
	movw %ax, dr_op + MAP_DOM
	movw $DR_UNSET, dr_op + MAP_STATUS
	movl $GNTTABOP_map_grant_ref, %ebx
	call dr_grant_op
	movswl dr_op + MAP_STATUS, %eax
	testl %eax, %eax
	jnz 5f
	movl dr_op + MAP_HANDLE, %eax
	movl %eax, DR_HANDLES(,%edi,4)
	incl %edi
	jmp .Lmap
5:	cmpl $GNTST_general_error, %eax
	je 6f
	PUTS "drain: FAIL map_grant_ref status "
	call putsdec
	PUTS " after "
	movl %edi, %eax
	call putdec
	PUTS " self-maps\n"
	jmp fail
6:	testl %edi, %edi
	jnz 7f
	PUTS "drain: FAIL not even one self-map\n"
	jmp fail
7:	movl %edi, dr_maps
	PUTS "drain: "
	movl %edi, %eax
	call putdec
	PUTS " self-maps of my own grants 1 GiB apart, then GNTST_general_error (-1)\n"

	# ... and all of them undone, which gives their tables back to the pool.
	xorl %edi, %edi
8:	cmpl dr_maps, %edi
	jae 10f
	call dr_clear_op
	movl %edi, %eax
	call dr_gib
	movl %eax, dr_op + UNMAP_HOST_ADDR
	movl %edx, dr_op + UNMAP_HOST_ADDR + 4
	movl DR_HANDLES(,%edi,4), %eax
	movl %eax, dr_op + UNMAP_HANDLE
	movw $DR_UNSET, dr_op + UNMAP_STATUS
	movl $GNTTABOP_unmap_grant_ref, %ebx
	call dr_grant_op
	movswl dr_op + UNMAP_STATUS, %eax
	testl %eax, %eax
	jz 9f
	PUTS "drain: FAIL unmap_grant_ref status "
	call putsdec
	call newline
	jmp fail
9:	incl %edi
	jmp 8b

	# 2. The drain loop: frame DR_FIRST_GFN + i back, one at (i + 1) GiB in.
10:	xorl %edi, %edi			# EDI = moves done
11:	cmpl $DR_MAX_MOVES, %edi
	jb 12f
	PUTS "drain: FAIL 1024 frames moved 1 GiB apart and no refusal\n"
	jmp fail
12:	call dr_give_back
	leal 1(%edi), %eax		# gfn (i + 1) << 18
	movl %eax, %edx
	shll $18, %eax
	shrl $14, %edx
	movl $XENMEM_populate_physmap, %ebx
	call dr_reserve
	cmpl $1, %eax
	jne 13f
	incl %edi
	jmp 11b
13:	testl %eax, %eax
	jz 14f
	PUTS "drain: FAIL populate_physmap returned "
	call putsdec
	call newline
	jmp fail
14:	testl %edi, %edi
	jnz 15f
	PUTS "drain: FAIL populate_physmap refused the first move\n"
	jmp fail
15:	movl %edi, dr_moves
	PUTS "drain: "
	movl %edi, %eax
	call putdec
	PUTS " frames moved 1 GiB apart, then populate_physmap did 0: my p2m pool is empty\n"

	# Then 2 MiB apart inside GiB 1, one table each, until that is refused too.
	xorl %esi, %esi			# ESI = near moves done
16:	incl %edi
	cmpl $DR_MAX_MOVES, %edi
	jb 17f
	PUTS "drain: FAIL no refusal 2 MiB apart\n"
	jmp fail
17:	call dr_give_back
	leal 1(%esi), %eax		# gfn (1 << 18) + (j + 1) * 512
	shll $9, %eax
	addl $1 << 18, %eax
	xorl %edx, %edx
	movl $XENMEM_populate_physmap, %ebx
	call dr_reserve
	cmpl $1, %eax
	jne 18f
	incl %esi
	jmp 16b
18:	testl %eax, %eax
	jz 19f
	PUTS "drain: FAIL populate_physmap 2 MiB apart returned "
	call putsdec
	call newline
	jmp fail
19:	PUTS "drain: "
	movl %esi, %eax
	call putdec
	PUTS " more 2 MiB apart, then 0 again\n"

	# 3. Grant frame 0 into a GiB nothing has touched: -ENOMEM.
	movl dr_moves, %eax
	addl $8, %eax
	call dr_gib
	shrdl $12, %edx, %eax		# the gfn of that address
	shrl $12, %edx
	call dr_gnt_physmap
	cmpl $-XEN_ENOMEM, %eax
	je 20f
	PUTS "drain: FAIL add_to_physmap(grant_table) with an empty pool returned "
	call putsdec
	call newline
	jmp fail
20:	PUTS "drain: add_to_physmap(grant_table) with an empty pool: -12 (ENOMEM)\n"
	PUTS "drain: OK\n"
	jmp poweroff

# dr_give_back: decrease_reservation of frame DR_FIRST_GFN + EDI; fails the mode
# unless hv takes it.
dr_give_back:
	pushal
	leal DR_FIRST_GFN(%edi), %eax
	xorl %edx, %edx
	movl $XENMEM_decrease_reservation, %ebx
	call dr_reserve
	cmpl $1, %eax
	jne 1f
	popal
	ret
1:	movl %eax, %ebx
	PUTS "drain: FAIL decrease_reservation of frame "
	leal DR_FIRST_GFN(%edi), %eax
	call puthex
	PUTS " did "
	movl %ebx, %eax
	call putsdec
	call newline
	jmp fail

# dr_clear_op: zero dr_op.
dr_clear_op:
	pushal
	movl $dr_op, %edi
	movl $8, %ecx
	xorl %eax, %eax
	rep stosl
	popal
	ret

