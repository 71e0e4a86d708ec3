# xen.S — the modes that use the Xen ABI proper: an event-channel ping-pong between
# two domains (evtpong, evtping), a grant shared between two domains (grantsrc,
# grantdst), a grant-copy benchmark against grantsrc's grant (grantbench), memory
# ballooning (balloon) and a hypercall fuzzer (hcfuzz).
#
# Like the other 32-bit modes they run with paging off (guest-virtual = guest-physical)
# and interrupts off. No event callback vector is registered, so a mode waits for an
# event with SCHEDOP_poll, or by yielding, and looks at the pending bit in shared_info
# itself. The domain IDs of the peers are fixed (defs.inc): start the evtping and
# grantsrc domain first (ID 1) and its partner (evtpong, grantdst, grantbench)
# second (ID 2).

	.include "defs.inc"
	.code32
	.text

# ---- Helpers ---------------------------------------------------------------------------

# add_to_physmap: XENMEM_add_to_physmap(DOMID_SELF, space EDX, idx ECX, gpfn EAX).
# EAX = the hypercall's result.
add_to_physmap:
	pushal
	movw $DOMID_SELF, xatp + XATP_DOMID
	movw $0, xatp + XATP_SIZE
	movl %edx, xatp + XATP_SPACE
	movl %ecx, xatp + XATP_IDX
	movl %eax, xatp + XATP_GPFN
	movl $XENMEM_add_to_physmap, %ebx
	movl $xatp, %ecx
	movl $HC_memory_op, %eax
	vmmcall
	movl %eax, 28(%esp)
	popal
	ret

# map_shared_info: make the .bss page shinfo our shared_info, and set
# evtchn_upcall_mask in vcpu_info[0] (we take no upcalls). EAX = the result.
map_shared_info:
	pushl %ecx
	pushl %edx
	movl $shinfo, %eax
	shrl $12, %eax
	xorl %ecx, %ecx
	movl $XENMAPSPACE_shared_info, %edx
	call add_to_physmap
	testl %eax, %eax
	jnz 1f
	movb $1, shinfo + VI_UPCALL_MASK
1:	popl %edx
	popl %ecx
	ret

# evtchn_op: event_channel_op(EBX = cmd, ECX = &struct). EAX = the result.
evtchn_op:
	pushal
	movl $HC_event_channel_op, %eax
	vmmcall
	movl %eax, 28(%esp)
	popal
	ret

# evtchn_send: EVTCHNOP_send on port EAX. EAX = the result.
evtchn_send:
	pushl %ebx
	pushl %ecx
	movl %eax, evt_arg
	movl $EVTCHNOP_send, %ebx
	movl $evt_arg, %ecx
	call evtchn_op
	popl %ecx
	popl %ebx
	ret

# evtchn_wait: wait until port EAX is pending in shared_info and clear its pending bit
# (and the vcpu_info summary bits, which nothing else consumes). Between looks the vCPU
# blocks in SCHEDOP_poll on that port without a timeout. EAX = 0, or the poll's result
# if it failed.
evtchn_wait:
	pushal
	movl %eax, poll_port
1:	movl poll_port, %eax
	lock btrl %eax, shinfo + SHI_PENDING	# CF = the bit was set; now it is clear
	jc 2f
	movl $poll_port, sched_poll + POLL_PORTS
	movl $1, sched_poll + POLL_NR
	movl $0, sched_poll + POLL_TIMEOUT
	movl $0, sched_poll + POLL_TIMEOUT + 4
	movl $SCHEDOP_poll, %ebx
	movl $sched_poll, %ecx
	movl $HC_sched_op, %eax
	vmmcall
	testl %eax, %eax
	jns 1b
	jmp 3f
2:	movb $0, shinfo + VI_UPCALL_PENDING
	movl $0, shinfo + VI_PENDING_SEL	# the compat selector (bytes 4-7)
	movl $0, shinfo + 8			# and hv's 64-bit one (bytes 8-15)
	movl $0, shinfo + 12
	xorl %eax, %eax
3:	movl %eax, 28(%esp)
	popal
	ret

# grant_op: grant_table_op(EBX = cmd, ECX = ops, EDX = count). EAX = the result.
grant_op:
	pushal
	movl $HC_grant_table_op, %eax
	vmmcall
	movl %eax, 28(%esp)
	popal
	ret

# grant_pattern: fill the page at EDI with "GoZen grant page " repeated and put
# GRANT_MAGIC in its first dword.
grant_pattern:
	pushal
	xorl %ecx, %ecx			# offset in the page
	xorl %ebx, %ebx			# offset in the pattern
1:	movb pattern(%ebx), %al
	movb %al, (%edi,%ecx)
	incl %ebx
	cmpl $pattern_end - pattern, %ebx
	jb 2f
	xorl %ebx, %ebx
2:	incl %ecx
	cmpl $4096, %ecx
	jb 1b
	movl $GRANT_MAGIC, (%edi)
	popal
	ret

# compare: compare ECX bytes at ESI and EDI. ZF=1 if equal; otherwise ZF=0 and EAX =
# the offset of the first difference.
compare:
	pushl %ecx
	pushl %esi
	pushl %edi
	movl %ecx, %eax
	repe cmpsb
	je 1f
	subl %ecx, %eax
	decl %eax			# EAX = offset of the differing byte
	cmpl $-1, %eax			# ZF=0 (decl set it for offset 0)
1:	popl %edi
	popl %esi
	popl %ecx
	ret

# ---- evtpong N: answer N events on a port offered to the evtping domain ---------------
	.globl mode_evtpong
mode_evtpong:
	call parse_dec
	jnc 1f
	movl $100, %eax			# default N
1:	movl %eax, evt_n
	call map_shared_info
	testl %eax, %eax
	jz 2f
	PUTS "evtpong: FAIL add_to_physmap(shared_info) returned "
	jmp 9f

2:	movw $DOMID_SELF, evt_arg + AU_DOM
	movw $EVT_PEER_PING, evt_arg + AU_REMOTE
	movl $0, evt_arg + AU_PORT
	movl $EVTCHNOP_alloc_unbound, %ebx
	movl $evt_arg, %ecx
	call evtchn_op
	testl %eax, %eax
	jz 3f
	PUTS "evtpong: FAIL alloc_unbound returned "
	jmp 9f
3:	movl evt_arg + AU_PORT, %eax
	movl %eax, evt_port
	PUTS "evtpong: port "
	call putdec
	call newline

	xorl %edi, %edi			# EDI = events answered
4:	cmpl evt_n, %edi
	jae 5f
	movl evt_port, %eax
	call evtchn_wait
	testl %eax, %eax
	jz 6f
	PUTS "evtpong: FAIL SCHEDOP_poll returned "
	jmp 9f
6:	movl evt_port, %eax
	call evtchn_send
	testl %eax, %eax
	jz 7f
	PUTS "evtpong: FAIL send returned "
	jmp 9f
7:	incl %edi
	jmp 4b
5:	PUTS "evtpong: done\n"
	jmp poweroff

9:	call putsdec			# EAX = the failing result
	call newline
	jmp fail

# ---- evtping N REMOTEPORT: N timed round trips to the evtpong domain ------------------
	.globl mode_evtping
mode_evtping:
	call parse_dec
	jnc 1f
	movl $100, %eax			# default N
1:	cmpl $BENCH_MAX, %eax
	jbe 2f
	PUTS "evtping: at most 200000 round trips\n"
	movl $BENCH_MAX, %eax
2:	movl %eax, evt_n
	call parse_dec
	jnc 3f
	PUTS "evtping: FAIL usage: evtping N REMOTEPORT\n"
	jmp fail
3:	movl %eax, evt_remote
	call map_shared_info
	testl %eax, %eax
	jz 4f
	PUTS "evtping: FAIL add_to_physmap(shared_info) returned "
	jmp 9f

	# The evtpong domain may not have allocated its port yet: then bind_interdomain
	# fails with -EINVAL, and we yield and try again.
4:	movl $1, %esi			# ESI = attempts
5:	movw $EVT_PEER_PONG, evt_arg + BI_REMOTE_DOM
	movw $0, evt_arg + 2
	movl evt_remote, %eax
	movl %eax, evt_arg + BI_REMOTE_PORT
	movl $0, evt_arg + BI_LOCAL_PORT
	movl $EVTCHNOP_bind_interdomain, %ebx
	movl $evt_arg, %ecx
	call evtchn_op
	testl %eax, %eax
	jz 7f
	cmpl $-XEN_EINVAL, %eax
	jne 6f
	cmpl $BIND_TRIES, %esi
	jae 6f
	call sched_yield
	incl %esi
	jmp 5b
6:	PUTS "evtping: FAIL bind_interdomain to domain 2 port "
	pushl %eax
	movl evt_remote, %eax
	call putdec
	PUTS " returned "
	popl %eax
	call putsdec
	PUTS " after "
	movl %esi, %eax
	call putdec
	PUTS " attempts\n"
	jmp fail
7:	movl evt_arg + BI_LOCAL_PORT, %eax
	movl %eax, evt_port
	PUTS "evtping: local port "
	call putdec
	PUTS " bound to domain 2 port "
	movl evt_remote, %eax
	call putdec
	PUTS " on attempt "
	movl %esi, %eax
	call putdec
	call newline
	# bind_interdomain marks the new local port pending, as Xen does (in case the
	# remote end signalled while unbound): clear it before the first round trip.
	movl evt_port, %eax
	lock btrl %eax, shinfo + SHI_PENDING

	xorl %edi, %edi			# EDI = i
10:	cmpl evt_n, %edi
	jae 13f
	lfence
	rdtsc
	movl %eax, %esi			# EBP:ESI = start
	movl %edx, %ebp
	movl evt_port, %eax
	call evtchn_send
	testl %eax, %eax
	jz 11f
	PUTS "evtping: FAIL send returned "
	jmp 9f
11:	movl evt_port, %eax
	call evtchn_wait
	testl %eax, %eax
	jz 12f
	PUTS "evtping: FAIL SCHEDOP_poll returned "
	jmp 9f
12:	lfence
	rdtsc
	subl %esi, %eax
	sbbl %ebp, %edx
	jz 14f
	movl $0xffffffff, %eax		# more than 2^32 cycles: saturate
14:	movl %eax, bench_samples(,%edi,4)
	incl %edi
	jmp 10b

13:	cmpl $0, evt_n
	je 15f
	movl $GOZEN_REPORT_evtchn_rtt, %eax
	movl $bench_samples, %edx
	movl evt_n, %ecx
	call gozen_report
	testl %eax, %eax
	jz 15f
	PUTS "evtping: FAIL gozen_op report returned "
	jmp 9f
15:	PUTS "evtping: "
	movl evt_n, %eax
	call putdec
	PUTS " round trips done\n"
	jmp poweroff

9:	call putsdec
	call newline
	jmp fail

# ---- grantsrc: grant a page to the grantdst domain and wait for its write ---------------
	.globl mode_grantsrc
mode_grantsrc:
	movl $GRANT_FRAME_ADDR >> 12, %eax
	xorl %ecx, %ecx			# frame 0
	movl $XENMAPSPACE_grant_table, %edx
	call add_to_physmap
	testl %eax, %eax
	jz 1f
	PUTS "grantsrc: FAIL add_to_physmap(grant_table) returned "
	call putsdec
	call newline
	jmp fail

1:	movl $grant_page, %edi
	call grant_pattern
	movl $GRANT_FRAME_ADDR + GRANT_REF * GE_BYTES, %ebx	# EBX = the entry
	movl $grant_page, %eax
	shrl $12, %eax
	movl %eax, GE_FRAME(%ebx)	# frame and domid first, flags last
	movw $GRANT_DST_DOM, GE_DOMID(%ebx)
	movw $GTF_permit_access, GE_FLAGS(%ebx)
	PUTS "grantsrc: granted ref 8 frame "
	call puthex
	call newline

	movl $GRANT_WAIT, %ecx
2:	cmpl $GRANT_DONE, grant_page + 4092
	je 3f
	call sched_yield
	loop 2b
	PUTS "grantsrc: FAIL the peer's write never came; entry flags "
	movzwl GE_FLAGS(%ebx), %eax
	call puthex
	call newline
	jmp fail
3:	PUTS "grantsrc: saw the peer's write\n"

	# End the grant as Linux's gnttab_end_foreign_access does: once the hypervisor
	# has dropped GTF_reading and GTF_writing (the peer unmapped), clear the flags
	# with a compare-and-swap.
	movl $GRANT_WAIT, %ecx
4:	movzwl GE_FLAGS(%ebx), %eax
	testl $GTF_reading | GTF_writing, %eax
	jnz 5f
	xorl %edx, %edx
	lock cmpxchgw %dx, GE_FLAGS(%ebx)
	je 6f
	jmp 4b				# the flags changed under us: look again
5:	call sched_yield
	loop 4b
	PUTS "grantsrc: FAIL the grant stays in use; entry flags "
	movzwl GE_FLAGS(%ebx), %eax
	call puthex
	call newline
	jmp fail
6:	PUTS "grantsrc: grant ended\n"
	jmp poweroff

# ---- grantdst: copy from, then map, the page the grantsrc domain grants ----------------
	.globl mode_grantdst
mode_grantdst:
	movl $expect_page, %edi
	call grant_pattern

	# GNTTABOP_copy: 64 bytes from ref 8 of domain 1 to our grant_page. Until the
	# grant exists the status is an error: yield and try again.
	movl $gnt_op, %edi
	movl $COPY_BYTES >> 2, %ecx
	xorl %eax, %eax
	rep stosl
	movl $GRANT_REF, gnt_op + COPY_SRC + CP_REF
	movw $GRANT_SRC_DOM, gnt_op + COPY_SRC + CP_DOMID
	movl $grant_page, %eax
	shrl $12, %eax
	movl %eax, gnt_op + COPY_DST + CP_GMFN
	movw $DOMID_SELF, gnt_op + COPY_DST + CP_DOMID
	movw $64, gnt_op + COPY_LEN
	movw $GNTCOPY_source_gref, gnt_op + COPY_FLAGS
	movl $GRANT_WAIT, %edi		# EDI = tries left
1:	movl $GNTTABOP_copy, %ebx
	movl $gnt_op, %ecx
	movl $1, %edx
	call grant_op
	testl %eax, %eax
	jz 2f
	PUTS "grantdst: FAIL GNTTABOP_copy returned "
	call putsdec
	call newline
	jmp fail
2:	cmpw $0, gnt_op + COPY_STATUS
	je 3f
	call sched_yield
	decl %edi
	jnz 1b
	PUTS "grantdst: FAIL GNTTABOP_copy status "
	movswl gnt_op + COPY_STATUS, %eax
	call putsdec
	PUTS " after 200000 tries\n"
	jmp fail
3:	movl $grant_page, %esi
	movl $expect_page, %edi
	movl $64, %ecx
	call compare
	je 4f
	PUTS "grantdst: FAIL the copy differs at offset "
	call putdec
	call newline
	jmp fail
4:	PUTS "grantdst: copy OK\n"

	# GNTTABOP_map_grant_ref at GRANT_MAP_ADDR, beyond our RAM.
	movl $gnt_op, %edi
	movl $MAP_BYTES >> 2, %ecx
	xorl %eax, %eax
	rep stosl
	movl $GRANT_MAP_ADDR, gnt_op + MAP_HOST_ADDR
	movl $GNTMAP_host_map, gnt_op + MAP_FLAGS
	movl $GRANT_REF, gnt_op + MAP_REF
	movw $GRANT_SRC_DOM, gnt_op + MAP_DOM
	movl $GNTTABOP_map_grant_ref, %ebx
	movl $gnt_op, %ecx
	movl $1, %edx
	call grant_op
	testl %eax, %eax
	jz 5f
	PUTS "grantdst: FAIL map_grant_ref returned "
	call putsdec
	call newline
	jmp fail
5:	movswl gnt_op + MAP_STATUS, %eax
	testl %eax, %eax
	jz 6f
	PUTS "grantdst: FAIL map_grant_ref status "
	call putsdec
	call newline
	jmp fail
6:	movl gnt_op + MAP_HANDLE, %eax
	movl %eax, gnt_handle
	movl $GRANT_MAP_ADDR, %esi
	movl $expect_page, %edi
	movl $4096, %ecx
	call compare
	je 7f
	PUTS "grantdst: FAIL the mapped page differs at offset "
	call putdec
	call newline
	jmp fail
7:	movl $GRANT_DONE, GRANT_MAP_ADDR + 4092

	movl $gnt_op, %edi
	movl $UNMAP_BYTES >> 2, %ecx
	xorl %eax, %eax
	rep stosl
	movl $GRANT_MAP_ADDR, gnt_op + UNMAP_HOST_ADDR
	movl gnt_handle, %eax
	movl %eax, gnt_op + UNMAP_HANDLE
	movw $1, gnt_op + UNMAP_STATUS	# the hypervisor must overwrite it
	movl $GNTTABOP_unmap_grant_ref, %ebx
	movl $gnt_op, %ecx
	movl $1, %edx
	call grant_op
	testl %eax, %eax
	jz 8f
	PUTS "grantdst: FAIL unmap_grant_ref returned "
	call putsdec
	call newline
	jmp fail
8:	movswl gnt_op + UNMAP_STATUS, %eax
	testl %eax, %eax
	jz 9f
	PUTS "grantdst: FAIL unmap_grant_ref status "
	call putsdec
	call newline
	jmp fail
9:	PUTS "grantdst: map OK\n"
	jmp poweroff

# ---- grantbench [N]: GNTTABOP_copy throughput against the grantsrc domain's page ----------
# Three phases of N timed hypercalls each (default GB_DEFAULT), every one a
# grant_table_op(GNTTABOP_copy) whose ops each move a whole 4096-byte page:
#   key 3: GB_BATCH ops, ref 8 of domain 1 (GNTCOPY_source_gref) -> our page gb_pages[j]
#   key 4: one such op, into gb_pages[0]
#   key 5: GB_BATCH ops, gb_pages[j] -> ref 8 of domain 1 (GNTCOPY_dest_gref); the last wins
# A sample is lfence; rdtsc / vmmcall / lfence; rdtsc around one hypercall, in guest TSC
# cycles; hv reports the median of each phase under its key. Outside the timed region
# every hypercall is checked: result 0 and every status GNTST_okay (preset to GB_UNSET,
# which hv must overwrite). Keys 3 and 4: three dwords of each destination page (the
# first, the last, and the one at (i * 68) mod 4096, so that every dword is looked at
# within 1024 hypercalls) are zeroed before hypercall i and must hold the granted
# pattern after it. Key 5: that rotating dword of each source page is stamped with i and
# the page's index, and a 4-byte copy back from the grant must return the last page's
# stamp. After each phase whole pages are compared, so a copy that does nothing, or
# only part of a page, fails. Finally a 4-byte GNTCOPY_dest_gref copy puts GRANT_DONE
# into the grant's last dword, which ends grantsrc's wait.
	.globl mode_grantbench
mode_grantbench:
	call parse_dec
	jnc 1f
	movl $GB_DEFAULT, %eax		# default N
1:	testl %eax, %eax
	jnz 2f
	incl %eax			# at least one hypercall per phase
2:	cmpl $BENCH_MAX, %eax
	jbe 3f
	PUTS "grantbench: at most 200000 hypercalls per phase\n"
	movl $BENCH_MAX, %eax
3:	movl %eax, gb_n
	PUTS "grantbench: "
	call putdec
	PUTS " hypercalls per phase, 4096-byte copies\n"
	movl $expect_page, %edi
	call grant_pattern

	# Wait for the grant: copy its page into grant_page; yield and try again while
	# the status is not GNTST_okay.
	movl $GRANT_WAIT, %ebp		# EBP = tries left
4:	xorl %eax, %eax
	movl $4096, %ecx
	movl $grant_page, %edi
	movl $GNTCOPY_source_gref, %edx
	call gb_copy1
	testl %eax, %eax
	jz 5f
	PUTS "grantbench: FAIL GNTTABOP_copy returned "
	jmp 9f
5:	movswl gnt_op + COPY_STATUS, %eax
	testl %eax, %eax
	jz 6f
	call sched_yield
	decl %ebp
	jnz 4b
	PUTS "grantbench: FAIL no grant from domain 1 after 200000 tries; GNTTABOP_copy status "
	jmp 9f
6:	movl $grant_page, %esi
	movl $expect_page, %edi
	movl $4096, %ecx
	call compare
	je 7f
	PUTS "grantbench: FAIL the first copy differs at offset "
	jmp 9f

7:	movl $GNTCOPY_source_gref, gb_dir
	call gb_build
	movl $GOZEN_REPORT_gntcopy_from16, %eax
	movl $GB_BATCH, %edx
	movl $gb_name_from16, %esi
	call gb_phase
	movl $GOZEN_REPORT_gntcopy_from1, %eax
	movl $1, %edx
	movl $gb_name_from1, %esi
	call gb_phase
	movl $GNTCOPY_dest_gref, gb_dir
	call gb_build
	call gb_fill
	movl $GOZEN_REPORT_gntcopy_to16, %eax
	movl $GB_BATCH, %edx
	movl $gb_name_to16, %esi
	call gb_phase

	# Tell grantsrc we are done: GRANT_DONE into the grant's last dword.
	movl $GRANT_DONE, gb_word
	movl $4092, %eax
	movl $4, %ecx
	movl $gb_word, %edi
	movl $GNTCOPY_dest_gref, %edx
	call gb_copy1_ok
	PUTS "grantbench: done\n"
	jmp poweroff

9:	call putsdec			# EAX = the failing result, status or offset
	call newline
	jmp fail

# gb_copy1: one GNTTABOP_copy (in gnt_op) of ECX bytes between offset EAX of ref 8 of
# domain 1 and EDI, in our memory (not crossing a page); direction EDX:
# GNTCOPY_source_gref from the grant to EDI, GNTCOPY_dest_gref from EDI into the grant.
# EAX = the hypercall's result; the op's status is at gnt_op + COPY_STATUS.
gb_copy1:
	pushal
	movl %eax, %ebx			# EBX = the offset in the granted page
	movl %edi, %esi			# ESI = our address
	pushl %ecx
	movl $gnt_op, %edi
	movl $COPY_BYTES >> 2, %ecx
	xorl %eax, %eax
	rep stosl
	popl %ecx
	movl %esi, %eax
	shrl $12, %eax			# EAX = our frame, ESI = the offset in it
	andl $0xfff, %esi
	cmpl $GNTCOPY_source_gref, %edx
	jne 1f
	movl $GRANT_REF, gnt_op + COPY_SRC + CP_REF
	movw $GRANT_SRC_DOM, gnt_op + COPY_SRC + CP_DOMID
	movw %bx, gnt_op + COPY_SRC + CP_OFFSET
	movl %eax, gnt_op + COPY_DST + CP_GMFN
	movw $DOMID_SELF, gnt_op + COPY_DST + CP_DOMID
	movw %si, gnt_op + COPY_DST + CP_OFFSET
	jmp 2f
1:	movl %eax, gnt_op + COPY_SRC + CP_GMFN
	movw $DOMID_SELF, gnt_op + COPY_SRC + CP_DOMID
	movw %si, gnt_op + COPY_SRC + CP_OFFSET
	movl $GRANT_REF, gnt_op + COPY_DST + CP_REF
	movw $GRANT_SRC_DOM, gnt_op + COPY_DST + CP_DOMID
	movw %bx, gnt_op + COPY_DST + CP_OFFSET
2:	movw %cx, gnt_op + COPY_LEN
	movw %dx, gnt_op + COPY_FLAGS
	movw $GB_UNSET, gnt_op + COPY_STATUS
	movl $GNTTABOP_copy, %ebx
	movl $gnt_op, %ecx
	movl $1, %edx
	call grant_op
	movl %eax, 28(%esp)
	popal
	ret

# gb_copy1_ok: gb_copy1, and a FAIL line and crash unless both the result and the
# status are 0.
gb_copy1_ok:
	call gb_copy1
	testl %eax, %eax
	jz 1f
	PUTS "grantbench: FAIL GNTTABOP_copy returned "
	jmp 2f
1:	movswl gnt_op + COPY_STATUS, %eax
	testl %eax, %eax
	jnz 3f
	ret
3:	PUTS "grantbench: FAIL GNTTABOP_copy status "
2:	call putsdec
	call newline
	jmp fail

# gb_build: GB_BATCH whole-page ops in gb_ops between ref 8 of domain 1 and
# gb_pages[j], in direction gb_dir (GNTCOPY_source_gref or GNTCOPY_dest_gref).
gb_build:
	pushal
	movl $gb_ops, %edi
	movl $(GB_BATCH * COPY_BYTES) >> 2, %ecx
	xorl %eax, %eax
	rep stosl
	movl $gb_ops, %ebx
	movl $gb_pages, %eax
	shrl $12, %eax			# EAX = the frame of gb_pages[j]
	movl gb_dir, %edx
	movl $GB_BATCH, %ecx
1:	cmpl $GNTCOPY_source_gref, %edx
	jne 2f
	movl $GRANT_REF, COPY_SRC + CP_REF(%ebx)
	movw $GRANT_SRC_DOM, COPY_SRC + CP_DOMID(%ebx)
	movl %eax, COPY_DST + CP_GMFN(%ebx)
	movw $DOMID_SELF, COPY_DST + CP_DOMID(%ebx)
	jmp 3f
2:	movl %eax, COPY_SRC + CP_GMFN(%ebx)
	movw $DOMID_SELF, COPY_SRC + CP_DOMID(%ebx)
	movl $GRANT_REF, COPY_DST + CP_REF(%ebx)
	movw $GRANT_SRC_DOM, COPY_DST + CP_DOMID(%ebx)
3:	movw $4096, COPY_LEN(%ebx)
	movw %dx, COPY_FLAGS(%ebx)
	addl $COPY_BYTES, %ebx
	incl %eax
	loop 1b
	popal
	ret

# gb_fill: dword k of gb_pages[j] = 0xB0000000 | j << 16 | k: unlike the granted
# pattern, and never GRANT_DONE.
gb_fill:
	pushal
	movl $gb_pages, %edi
	xorl %edx, %edx			# EDX = j
1:	xorl %ecx, %ecx			# ECX = k
2:	movl %edx, %eax
	shll $16, %eax
	orl %ecx, %eax
	orl $0xb0000000, %eax
	stosl
	incl %ecx
	cmpl $1024, %ecx
	jb 2b
	incl %edx
	cmpl $GB_BATCH, %edx
	jb 1b
	popal
	ret

# gb_phase: gb_n timed hypercalls, each GNTTABOP_copy of the first EDX ops of gb_ops;
# check them; print "grantbench: N x EDX <ESI>: data OK"; report the samples under
# key EAX.
gb_phase:
	pushal
	movl %eax, gb_key
	movl %edx, gb_cnt
	xorl %edi, %edi			# EDI = i
1:	cmpl gb_n, %edi
	jae 3f
	call gb_before
	lfence				# RDTSC must not start before earlier work ends
	rdtsc
	movl %eax, %esi			# EBP:ESI = start
	movl %edx, %ebp
	movl $GNTTABOP_copy, %ebx
	movl $gb_ops, %ecx
	movl gb_cnt, %edx
	movl $HC_grant_table_op, %eax
	vmmcall
	movl %eax, %ebx			# EBX = the result
	lfence
	rdtsc
	subl %esi, %eax
	sbbl %ebp, %edx
	jz 2f
	movl $0xffffffff, %eax		# more than 2^32 cycles: saturate
2:	movl %eax, bench_samples(,%edi,4)
	movl %ebx, %eax
	call gb_after
	incl %edi
	jmp 1b

3:	call gb_final
	movl 4(%esp), %esi		# the caller's ESI (pushal: EDI at 0, ESI at 4)
	PUTS "grantbench: "
	movl gb_n, %eax
	call putdec
	PUTS " x "
	movl gb_cnt, %eax
	call putdec
	movb $' ', %al
	call putc
	call puts
	PUTS ": data OK\n"
	movl gb_key, %eax
	movl $bench_samples, %edx
	movl gb_n, %ecx
	call gozen_report
	testl %eax, %eax
	jnz 4f
	popal
	ret
4:	PUTS "grantbench: FAIL gozen_op report returned "
	call putsdec
	call newline
	jmp fail

# gb_offset: ESI = the rotating offset of hypercall EDI, (EDI * 68) mod 4096: 17 is
# odd, so 1024 hypercalls in a row visit every dword.
gb_offset:
	imull $68, %edi, %esi
	andl $0xffc, %esi
	ret

# gb_before: prepare hypercall EDI: preset the statuses of its gb_cnt ops; from the
# grant: zero the checked dwords of each destination page; into the grant: stamp
# the rotating dword of source page j with 0xA0000000 | EDI << 4 | j.
gb_before:
	pushal
	call gb_offset
	movl $gb_ops + COPY_STATUS, %ebx
	movl $gb_pages, %edx
	xorl %ecx, %ecx			# ECX = j
1:	cmpl gb_cnt, %ecx
	jae 4f
	movw $GB_UNSET, (%ebx)
	cmpl $GNTCOPY_source_gref, gb_dir
	jne 2f
	movl $0, (%edx)
	movl $0, 4092(%edx)
	movl $0, (%edx,%esi)
	jmp 3f
2:	movl %edi, %eax
	shll $4, %eax
	orl %ecx, %eax
	orl $0xa0000000, %eax
	movl %eax, (%edx,%esi)
3:	addl $COPY_BYTES, %ebx
	addl $4096, %edx
	incl %ecx
	jmp 1b
4:	popal
	ret

# gb_after: check hypercall EDI, whose result is EAX (see mode_grantbench); a FAIL
# line and crash if something is wrong.
gb_after:
	pushal
	testl %eax, %eax
	jz 1f
	PUTS "grantbench: FAIL GNTTABOP_copy returned "
	call putsdec
	PUTS " in hypercall "
	movl %edi, %eax
	call putdec
	call newline
	jmp fail
1:	call gb_offset
	movl $gb_ops + COPY_STATUS, %ebx
	movl $gb_pages, %edx
	xorl %ecx, %ecx			# ECX = j
2:	cmpl gb_cnt, %ecx
	jae 5f
	movswl (%ebx), %eax
	testl %eax, %eax
	jz 3f
	PUTS "grantbench: FAIL status "
	call putsdec
	PUTS " in op "
	movl %ecx, %eax
	call putdec
	PUTS " of hypercall "
	movl %edi, %eax
	call putdec
	call newline
	jmp fail
3:	cmpl $GNTCOPY_source_gref, gb_dir
	jne 4f
	movl (%edx), %eax
	cmpl expect_page, %eax
	jne 8f
	movl 4092(%edx), %eax
	cmpl expect_page + 4092, %eax
	jne 8f
	movl (%edx,%esi), %eax
	cmpl expect_page(%esi), %eax
	jne 8f
4:	addl $COPY_BYTES, %ebx
	addl $4096, %edx
	incl %ecx
	jmp 2b

5:	cmpl $GNTCOPY_source_gref, gb_dir
	je 7f
	movl $0, gb_word		# read the rotating dword back from the grant
	movl %esi, %eax
	movl $4, %ecx
	movl $GNTCOPY_source_gref, %edx
	pushl %edi
	movl $gb_word, %edi
	call gb_copy1_ok
	popl %edi
	movl gb_cnt, %ecx		# expected: the stamp of the last page
	decl %ecx
	movl %edi, %eax
	shll $4, %eax
	orl %ecx, %eax
	orl $0xa0000000, %eax
	cmpl gb_word, %eax
	jne 9f
7:	popal
	ret

8:	PUTS "grantbench: FAIL wrong data in page "
	movl %ecx, %eax
	call putdec
	PUTS " after hypercall "
	movl %edi, %eax
	call putdec
	call newline
	jmp fail
9:	PUTS "grantbench: FAIL after hypercall "
	xchgl %eax, %edi
	call putdec
	PUTS " the grant holds "
	movl gb_word, %eax
	call puthex
	PUTS ", expected "
	movl %edi, %eax
	call puthex
	call newline
	jmp fail

# gb_final: after a phase compare whole pages: from the grant, each of the gb_cnt
# destination pages with expect_page; into the grant, the granted page (copied back
# into grant_page) with the last source page.
gb_final:
	pushal
	cmpl $GNTCOPY_source_gref, gb_dir
	jne 3f
	movl $gb_pages, %esi
	xorl %ebx, %ebx			# EBX = j
1:	cmpl gb_cnt, %ebx
	jae 5f
	movl $expect_page, %edi
	movl $4096, %ecx
	call compare
	jne 2f
	addl $4096, %esi
	incl %ebx
	jmp 1b
2:	PUTS "grantbench: FAIL page "
	xchgl %eax, %ebx
	call putdec
	PUTS " differs from the granted page at offset "
	movl %ebx, %eax
	call putdec
	call newline
	jmp fail
3:	xorl %eax, %eax
	movl $4096, %ecx
	movl $grant_page, %edi
	movl $GNTCOPY_source_gref, %edx
	call gb_copy1_ok
	movl gb_cnt, %esi
	decl %esi
	shll $12, %esi
	addl $gb_pages, %esi
	movl $grant_page, %edi
	movl $4096, %ecx
	call compare
	je 5f
	PUTS "grantbench: FAIL the granted page differs from the last page copied into it at offset "
	call putdec
	call newline
	jmp fail
5:	popal
	ret

# ---- balloon: memory_op's reservation calls and GNTTABOP_setup_table ----------------------
# One domain on its own (4 MiB is plenty). The domain's pages are the end of the highest
# RAM entry of start_info's memory map (hv builds RAM from guest-physical 0, holes and
# all); A = that - 16 and B = that - 8 are RAM frames above the image that nothing uses.
# Each check prints one line; a mismatch prints `balloon: FAIL <what>: got X expected Y`
# (bal_expect) and crashes.
#   1. current_reservation == maximum_reservation == the domain's pages.
#   2. A and B, first filled with 0xdeadbeef, are given back (decrease_reservation of 2
#      order-0 extents returns 2); current drops by 2.
#   3. The console ring's frame (HVMOP_get_param(CONSOLE_PFN)) is refused: 0 done; so is
#      shared_info, mapped with add_to_physmap at frame 0.
#   4. populate_physmap of 3 frames from BAL_NEW_GFN (beyond RAM) with 2 pages of
#      headroom does 2; current == maximum again. The two new frames must read as zeros
#      (the pool may hand back A and B: they must not come back dirty), then keep a
#      pattern written over the whole page. Paging is off, so the address is the frame.
#   5. decrease_reservation of an order-1 extent at the odd frame A + 1 does 0; one with
#      extent_start in the frame A given back (unbacked now) returns -EFAULT.
#   6. increase_reservation of 1 extent at the maximum does 0.
#   7. GNTTABOP_setup_table(1 frame) reports frame ~0 before add_to_physmap of grant
#      frame 0 and BAL_GNT_GFN after it, status 0 both times (preset to GB_UNSET).

# BAL_EXPECT "what": check that EAX == EDX (bal_expect). All registers are preserved.
.macro BAL_EXPECT what
	.pushsection .rodata.str, "a"
.Lexpect\@: .asciz "\what"
	.popsection
	pushl %esi
	movl $.Lexpect\@, %esi
	call bal_expect
	popl %esi
.endm

	.globl mode_balloon
mode_balloon:
	movl start_info, %ebx
	cmpl $1, SI_VERSION(%ebx)
	jb 1f
	cmpl $0, SI_MEMMAP_COUNT(%ebx)
	je 1f
	cmpl $0, SI_MEMMAP+4(%ebx)
	je 2f
1:	PUTS "balloon: FAIL no memory map below 4 GiB in start_info\n"
	jmp fail
2:	movl SI_MEMMAP(%ebx), %esi
	movl SI_MEMMAP_COUNT(%ebx), %ecx
	xorl %edx, %edx			# EDX = the highest RAM end, in pages
3:	cmpl $E820_RAM, MM_TYPE(%esi)
	jne 4f
	cmpl $0, MM_ADDR+4(%esi)
	jne 4f
	cmpl $0, MM_SIZE+4(%esi)
	jne 4f
	movl MM_ADDR(%esi), %eax
	addl MM_SIZE(%esi), %eax
	jc 4f				# ends at or beyond 4 GiB: not a small domain
	shrl $12, %eax
	cmpl %edx, %eax
	jbe 4f
	movl %eax, %edx
4:	addl $MM_ENTRY_SIZE, %esi
	loop 3b
	movl %edx, bal_pages
	leal -16(%edx), %eax
	movl %eax, bal_a
	leal -8(%edx), %eax
	movl %eax, bal_b
	movl $__image_end + 0xfff, %eax
	shrl $12, %eax
	addl $16, %eax			# A must lie above the image
	cmpl %eax, %edx
	jb 5f
	cmpl $BAL_NEW_GFN, %edx
	jbe 6f
5:	PUTS "balloon: FAIL the domain must end between the image + 64 KiB and 256 MiB; it has "
	movl %edx, %eax
	call putdec
	PUTS " pages\n"
	jmp fail

	# 1. Both counts at start.
6:	call bal_current
	movl %eax, %edi
	movl $XENMEM_maximum_reservation, %ebx
	movl $bal_domid, %ecx
	movl $HC_memory_op, %eax
	call hypercall2
	PUTS "balloon: current_reservation "
	xchgl %eax, %edi
	call putsdec
	PUTS " maximum_reservation "
	xchgl %eax, %edi
	call putsdec
	PUTS " pages\n"
	movl bal_pages, %edx
	BAL_EXPECT "maximum_reservation"
	movl %eax, bal_max
	movl %edi, %eax
	BAL_EXPECT "current_reservation at start"

	# 2. Give A and B back, dirty.
	movl bal_a, %eax
	call bal_dirty
	movl bal_b, %eax
	call bal_dirty
	movl bal_a, %eax
	movl %eax, bal_list
	movl bal_b, %eax
	movl %eax, bal_list + PFN_BYTES
	movl $XENMEM_decrease_reservation, %ebx
	movl $2, %ecx
	xorl %edx, %edx
	movl $bal_list, %edi
	call bal_reserve
	movl $2, %edx
	BAL_EXPECT "decrease_reservation of 2 unused frames"
	PUTS "balloon: gave back frames "
	movl bal_a, %eax
	call puthex
	PUTS " and "
	movl bal_b, %eax
	call puthex
	PUTS ": current "
	movl $2, %eax
	call bal_expect_current

	# 3. The console ring and shared_info stay.
	movw $DOMID_SELF, bal_param + HP_DOMID
	movw $0, bal_param + HP_DOMID + 2
	movl $HVM_PARAM_CONSOLE_PFN, bal_param + HP_INDEX
	movl $-1, bal_param + HP_VALUE
	movl $-1, bal_param + HP_VALUE + 4
	movl $HVMOP_get_param, %ebx
	movl $bal_param, %ecx
	movl $HC_hvm_op, %eax
	call hypercall2
	xorl %edx, %edx
	BAL_EXPECT "hvm_op(get_param CONSOLE_PFN)"
	movl bal_param + HP_VALUE + 4, %eax
	BAL_EXPECT "the upper half of CONSOLE_PFN"
	movl bal_param + HP_VALUE, %eax
	movl %eax, bal_list
	movl $XENMEM_decrease_reservation, %ebx
	movl $1, %ecx
	xorl %edx, %edx
	movl $bal_list, %edi
	call bal_reserve
	BAL_EXPECT "decrease_reservation of the console ring frame"
	PUTS "balloon: console ring frame "
	movl bal_list, %eax
	call puthex
	PUTS " refused: current "
	movl $2, %eax
	call bal_expect_current
	# shared_info too, here at frame 0: a frame like any other (the guest never uses
	# it), so hv must not take 0 for `no shared_info'.
	xorl %eax, %eax
	xorl %ecx, %ecx
	movl $XENMAPSPACE_shared_info, %edx
	call add_to_physmap
	xorl %edx, %edx
	BAL_EXPECT "add_to_physmap(shared_info) at frame 0"
	movl $0, bal_list
	movl $XENMEM_decrease_reservation, %ebx
	movl $1, %ecx
	xorl %edx, %edx
	movl $bal_list, %edi
	call bal_reserve
	BAL_EXPECT "decrease_reservation of shared_info at frame 0"
	PUTS "balloon: shared_info at frame 0x00000000 refused: current "
	movl $2, %eax
	call bal_expect_current

	# 4. Populate 3 frames beyond RAM with room for 2.
	movl $BAL_NEW_GFN, bal_list
	movl $BAL_NEW_GFN + 1, bal_list + PFN_BYTES
	movl $BAL_NEW_GFN + 2, bal_list + 2 * PFN_BYTES
	movl $XENMEM_populate_physmap, %ebx
	movl $3, %ecx
	xorl %edx, %edx
	movl $bal_list, %edi
	call bal_reserve
	movl $2, %edx
	BAL_EXPECT "populate_physmap of 3 frames with room for 2"
	PUTS "balloon: populate_physmap of 3 frames from "
	movl $BAL_NEW_GFN, %eax
	call puthex
	PUTS " did 2: current "
	xorl %eax, %eax
	call bal_expect_current
	movl $BAL_NEW_GFN, %eax
	call bal_fresh
	movl $BAL_NEW_GFN + 1, %eax
	call bal_fresh
	PUTS "balloon: the new frames started zeroed and keep what is written\n"

	# 5. Extents hv must refuse: misaligned, and a list it cannot read.
	movl bal_a, %eax
	incl %eax
	movl %eax, bal_list
	movl $XENMEM_decrease_reservation, %ebx
	movl $1, %ecx
	movl $1, %edx
	movl $bal_list, %edi
	call bal_reserve
	xorl %edx, %edx
	BAL_EXPECT "decrease_reservation of an order-1 extent at an odd frame"
	PUTS "balloon: order-1 extent at odd frame "
	movl bal_list, %eax
	call puthex
	PUTS " refused: current "
	xorl %eax, %eax
	call bal_expect_current
	movl $XENMEM_decrease_reservation, %ebx
	movl $1, %ecx
	xorl %edx, %edx
	movl bal_a, %edi
	shll $12, %edi			# the list is in the frame given back in check 2
	call bal_reserve
	movl $-XEN_EFAULT, %edx
	BAL_EXPECT "decrease_reservation with an unreadable extent list"
	PUTS "balloon: extent list in a frame given back: "
	call putsdec
	PUTS ", current "
	xorl %eax, %eax
	call bal_expect_current

	# 6. Nothing more at the maximum.
	movl $XENMEM_increase_reservation, %ebx
	movl $1, %ecx
	xorl %edx, %edx
	movl $bal_list, %edi
	call bal_reserve
	BAL_EXPECT "increase_reservation at the maximum"
	PUTS "balloon: increase_reservation at the maximum did 0: current "
	xorl %eax, %eax
	call bal_expect_current

	# 7. GNTTABOP_setup_table before and after mapping grant frame 0. Before, the
	# frame is INVALID_GFN (~0), which a 32-bit frame list cannot hold: Xen's compat
	# layer answers GNTST_address_too_big and leaves the list alone.
	call bal_setup_table
	movl $GNTST_address_too_big, %edx
	BAL_EXPECT "setup_table status before add_to_physmap"
	movl bal_frame, %eax
	xorl %edx, %edx
	BAL_EXPECT "setup_table frame before add_to_physmap (untouched)"
	PUTS "balloon: setup_table before add_to_physmap: status "
	movl $GNTST_address_too_big, %eax
	call putsdec
	call newline
	movl $BAL_GNT_GFN, %eax
	xorl %ecx, %ecx
	movl $XENMAPSPACE_grant_table, %edx
	call add_to_physmap
	xorl %edx, %edx
	BAL_EXPECT "add_to_physmap(grant_table, 0)"
	call bal_setup_table
	xorl %edx, %edx
	BAL_EXPECT "setup_table status after add_to_physmap"
	movl bal_frame, %eax
	movl $BAL_GNT_GFN, %edx
	BAL_EXPECT "setup_table frame after add_to_physmap"
	PUTS "balloon: setup_table after add_to_physmap: status 0 frame "
	movl $BAL_GNT_GFN, %eax
	call puthex
	call newline

	PUTS "balloon: OK\n"
	jmp poweroff

# bal_expect: return if EAX == EDX; otherwise print `balloon: FAIL <ESI>: got EAX
# expected EDX` (signed decimal) and crash.
bal_expect:
	cmpl %edx, %eax
	jne 1f
	ret
1:	PUTS "balloon: FAIL "
	call puts
	PUTS ": got "
	call putsdec
	PUTS " expected "
	movl %edx, %eax
	call putsdec
	call newline
	jmp fail

# hypercall2: hypercall EAX with arguments EBX, ECX. EAX = the result.
hypercall2:
	pushal
	vmmcall
	movl %eax, 28(%esp)
	popal
	ret

# bal_current: EAX = XENMEM_current_reservation(DOMID_SELF).
bal_current:
	pushl %ebx
	pushl %ecx
	movw $DOMID_SELF, bal_domid
	movl $XENMEM_current_reservation, %ebx
	movl $bal_domid, %ecx
	movl $HC_memory_op, %eax
	call hypercall2
	popl %ecx
	popl %ebx
	ret

# bal_expect_current: check that current_reservation == bal_max - EAX, print it and end
# the line.
bal_expect_current:
	pushl %eax
	pushl %edx
	movl bal_max, %edx
	subl %eax, %edx
	call bal_current
	call putsdec
	call newline
	BAL_EXPECT "current_reservation"
	popl %edx
	popl %eax
	ret

# bal_reserve: memory_op(EBX = cmd, &{extent_start EDI, nr_extents ECX, extent_order EDX,
# mem_flags 0, DOMID_SELF}). EAX = the result.
bal_reserve:
	pushl %ecx
	movl %edi, bal_res + RES_START
	movl %ecx, bal_res + RES_NR
	movl %edx, bal_res + RES_ORDER
	movl $0, bal_res + RES_FLAGS
	movl $DOMID_SELF, bal_res + RES_DOMID	# and a zero pad
	movl $bal_res, %ecx
	movl $HC_memory_op, %eax
	call hypercall2
	popl %ecx
	ret

# bal_dirty: fill frame EAX with 0xdeadbeef.
bal_dirty:
	pushal
	movl %eax, %edi
	shll $12, %edi
	movl $0xdeadbeef, %eax
	movl $1024, %ecx
	rep stosl
	popal
	ret

# bal_fresh: check that frame EAX (a new one) is all zeros, then write each dword's
# address XOR 0x5a5a5a5a over the whole page and read it back.
bal_fresh:
	pushal
	movl %eax, %ebx
	shll $12, %ebx			# EBX = the page
	xorl %ecx, %ecx
1:	movl (%ebx,%ecx,4), %eax
	xorl %edx, %edx
	BAL_EXPECT "a new frame's dword"
	incl %ecx
	cmpl $1024, %ecx
	jb 1b
	xorl %ecx, %ecx
2:	leal (%ebx,%ecx,4), %eax
	xorl $0x5a5a5a5a, %eax
	movl %eax, (%ebx,%ecx,4)
	incl %ecx
	cmpl $1024, %ecx
	jb 2b
	xorl %ecx, %ecx
3:	leal (%ebx,%ecx,4), %edx
	xorl $0x5a5a5a5a, %edx
	movl (%ebx,%ecx,4), %eax
	BAL_EXPECT "the pattern read back from a new frame"
	incl %ecx
	cmpl $1024, %ecx
	jb 3b
	popal
	ret

# bal_setup_table: GNTTABOP_setup_table(DOMID_SELF, 1 frame) into bal_frame (preset to
# 0, status to GB_UNSET); the result must be 0. EAX = the status; EDX is clobbered.
bal_setup_table:
	pushl %ebx
	pushl %ecx
	movl $0, bal_frame
	movw $DOMID_SELF, bal_setup + ST_DOM
	movw $0, bal_setup + ST_DOM + 2
	movl $1, bal_setup + ST_NR
	movl $GB_UNSET, bal_setup + ST_STATUS	# and a zero pad
	movl $bal_frame, bal_setup + ST_LIST
	movl $GNTTABOP_setup_table, %ebx
	movl $bal_setup, %ecx
	movl $1, %edx
	call grant_op
	xorl %edx, %edx
	BAL_EXPECT "grant_table_op(setup_table)"
	movswl bal_setup + ST_STATUS, %eax
	popl %ecx
	popl %ebx
	ret

# ---- hcfuzz N SEED [verbose]: N pseudo-random hypercalls ---------------------------------
# Never sched_op (29) or sched_op_compat (6), which could shut the guest down or block
# it for good, nor vcpu_op(VCPUOP_down) or vcpu_op(VCPUOP_send_nmi) for the same
# reasons, nor console_io(CONSOLEIO_write) (garbage output). Half the calls follow
# a recipe (fuzz_recipe): a command that takes a structure, built field by field from
# plausible values. The others take a number, half the time one of the Xen hypercalls
# hv implements, else any of 0..63; a first argument 0..15 (3 times in 4) or anything;
# and other arguments that are each a small number (1/4), a pointer into the scratch
# region [FUZZ_SCRATCH, +1 MiB) whose first 64 bytes get fresh fuzz_values just
# before the call (1/2), or anything (1/4, mostly outside RAM). fuzz_value gives small
# numbers, DOMID_SELF, scratch pointers and frame numbers, zero, or anything; so the
# frames and pointers hv follows are mostly in the scratch region or in the low pages
# below the image, which the guest no longer needs. The scratch region is refilled at
# every progress line.
	.globl mode_hcfuzz
mode_hcfuzz:
	call parse_dec
	jnc 1f
	movl $1000, %eax		# default N
1:	movl %eax, fuzz_n
	call parse_dec
	jnc 2f
	movl $1, %eax			# default seed
2:	testl %eax, %eax
	jnz 3f
	incl %eax			# xorshift32 stays at 0 forever
3:	movl %eax, fuzz_state
	call skip_spaces
	call word_len
	movl $name_verbose, %edi
	call word_eq
	jne 4f
	movb $1, fuzz_verbose
4:	PUTS "hcfuzz: "
	movl fuzz_n, %eax
	call putdec
	PUTS " calls, seed "
	movl fuzz_state, %eax
	call putdec
	call newline
	movl fuzz_n, %eax		# a progress line every N/10 calls
	xorl %edx, %edx
	movl $10, %ecx
	divl %ecx
	testl %eax, %eax
	jnz 5f
	incl %eax
5:	movl %eax, fuzz_step
	call fuzz_refill

6:	movl fuzz_i, %eax
	cmpl fuzz_n, %eax
	jae 20f
	call rand			# half the calls follow a recipe
	testl $0x40000000, %eax
	jz 18f
	call fuzz_recipe
	jmp 19f
18:	call rand			# the others: the number, half the time one hv implements
	testl $0x80000000, %eax
	jz 16f
	andl $63, %eax
	jmp 17f
16:	xorl %edx, %edx			# EAX < 2^31: an index into implemented
	movl $implemented_end - implemented, %ecx
	divl %ecx
	movzbl implemented(%edx), %eax
17:	cmpl $HC_sched_op, %eax
	je 18b
	cmpl $HC_sched_op_compat, %eax
	je 18b
	movl %eax, fuzz_call
	call rand			# the first argument
	testl $3, %eax
	jz 7f
	shrl $28, %eax
7:	movl %eax, fuzz_call + 4
	cmpl $HC_console_io, fuzz_call
	jne 21f
	cmpl $CONSOLEIO_write, %eax
	je 18b
21:	cmpl $HC_vcpu_op, fuzz_call	# nor VCPUOP_down (the last vCPU down powers off)
	jne 8f				# or VCPUOP_send_nmi (an NMI the guest cannot take)
	cmpl $VCPUOP_down, %eax
	je 18b
	cmpl $VCPUOP_send_nmi, %eax
	je 18b
8:	movl $1, %ebx
9:	call fuzz_arg
	movl %eax, fuzz_call + 4(,%ebx,4)
	incl %ebx
	cmpl $5, %ebx
	jb 9b

19:	cmpb $0, fuzz_verbose
	je 10f
	call fuzz_print

10:	movl fuzz_call, %eax
	movl fuzz_call + 4, %ebx
	movl fuzz_call + 8, %ecx
	movl fuzz_call + 12, %edx
	movl fuzz_call + 16, %esi
	movl fuzz_call + 20, %edi
	vmmcall

	cmpb $0, fuzz_verbose
	je 11f
	PUTS " -> "
	call putsdec
	call newline
11:	testl %eax, %eax		# tally the result
	jnz 12f
	incl fuzz_zero
	jmp 15f
12:	jns 13f
	cmpl $-XEN_ENOSYS, %eax
	jne 14f
	incl fuzz_enosys
	jmp 15f
14:	incl fuzz_error
	jmp 15f
13:	incl fuzz_positive

15:	incl fuzz_i
	movl fuzz_i, %eax
	xorl %edx, %edx
	divl fuzz_step
	testl %edx, %edx
	jnz 6b
	PUTS "hcfuzz: "
	movl fuzz_i, %eax
	call putdec
	movb $'/', %al
	call putc
	movl fuzz_n, %eax
	call putdec
	call newline
	call fuzz_refill
	jmp 6b

20:	PUTS "hcfuzz: results: 0 "
	movl fuzz_zero, %eax
	call putdec
	PUTS ", positive "
	movl fuzz_positive, %eax
	call putdec
	PUTS ", -ENOSYS "
	movl fuzz_enosys, %eax
	call putdec
	PUTS ", other errors "
	movl fuzz_error, %eax
	call putdec
	call newline
	PUTS "hcfuzz: done "
	movl fuzz_n, %eax
	call putdec
	PUTS " calls\n"
	jmp poweroff

# fuzz_print: print "hcfuzz: #i nr a0 a1 a2 a3 a4" (without the newline).
fuzz_print:
	pushal
	PUTS "hcfuzz: #"
	movl fuzz_i, %eax
	call putdec
	PUTS " nr "
	movl fuzz_call, %eax
	call putdec
	xorl %ebx, %ebx
1:	movb $' ', %al
	call putc
	movl fuzz_call + 4(,%ebx,4), %eax
	call puthex
	incl %ebx
	cmpl $5, %ebx
	jb 1b
	popal
	ret

# rand: EAX = the next xorshift32 value (13, 17, 5) of fuzz_state.
rand:
	pushl %edx
	movl fuzz_state, %eax
	movl %eax, %edx
	shll $13, %edx
	xorl %edx, %eax
	movl %eax, %edx
	shrl $17, %edx
	xorl %edx, %eax
	movl %eax, %edx
	shll $5, %edx
	xorl %edx, %eax
	movl %eax, fuzz_state
	popl %edx
	ret

# fuzz_value: EAX = a value for a field of a hypercall structure, by the low 3 bits of
# a random number: 0 a number 0..15, 1 a number 0..63, 2 DOMID_SELF with 0..3 in the
# upper half (u16 pairs such as alloc_unbound's dom, remote_dom), 3 a scratch pointer,
# 4 a scratch frame number, 5 zero, 6 and 7 anything.
fuzz_value:
	pushl %edx
	call rand
	movl %eax, %edx
	shrl $3, %edx			# EDX = the other 29 random bits
	andl $7, %eax
	jnz 1f
	movl %edx, %eax
	andl $15, %eax
	jmp 9f
1:	cmpl $1, %eax
	jne 2f
	movl %edx, %eax
	andl $63, %eax
	jmp 9f
2:	cmpl $2, %eax
	jne 3f
	movl %edx, %eax
	andl $0x30000, %eax
	orl $DOMID_SELF, %eax
	jmp 9f
3:	cmpl $3, %eax
	jne 4f
	movl %edx, %eax
	andl $FUZZ_SCRATCH_SIZE - 1, %eax
	orl $FUZZ_SCRATCH, %eax
	jmp 9f
4:	cmpl $4, %eax
	jne 5f
	movl %edx, %eax
	andl $(FUZZ_SCRATCH_SIZE >> 12) - 1, %eax
	orl $FUZZ_SCRATCH >> 12, %eax
	jmp 9f
5:	cmpl $5, %eax
	jne 6f
	xorl %eax, %eax
	jmp 9f
6:	call rand
9:	popl %edx
	ret

# fuzz_arg: EAX = a hypercall argument: 1/4 a small number (0..3 or 0..15: vCPU ids,
# counts, ports), 1/2 a pointer into the scratch region (8-byte aligned half of the
# time) with 16 fresh fuzz_values at it, 1/4 anything.
fuzz_arg:
	pushl %edx
	pushl %ecx
	call rand
	movl %eax, %edx
	shrl $2, %edx			# EDX = the other 30 random bits
	andl $3, %eax
	jnz 1f
	movl %edx, %eax
	shrl $4, %eax
	andl $15, %eax
	testl $1, %edx
	jz 9f
	andl $3, %eax
	jmp 9f
1:	cmpl $3, %eax
	jne 2f
	call rand
	jmp 9f
2:	movl %eax, %ecx			# 1 or 2: aligned or not
	movl %edx, %eax
	andl $FUZZ_SCRATCH_SIZE - 1, %eax
	cmpl $1, %ecx
	jne 3f
	andl $~7, %eax
3:	orl $FUZZ_SCRATCH, %eax
	pushl %edi
	pushl %eax
	movl %eax, %edi
	movl $16, %ecx
4:	pushl %eax
	call fuzz_value
	movl %eax, (%edi)		# may run up to 63 bytes past the region: still RAM
	popl %eax
	addl $4, %edi
	loop 4b
	popl %eax
	popl %edi
9:	popl %ecx
	popl %edx
	ret

# fuzz_recipe: fill fuzz_call from a random entry of recipes: its number and command,
# an 8-byte aligned scratch pointer in its pointer argument, whose first 64 bytes get
# fuzz_values and then one fuzz_field per class byte of the recipe, and its `other'
# value in the other one of the first two arguments. The remaining arguments come
# from fuzz_arg.
fuzz_recipe:
	pushal
	call rand
	xorl %edx, %edx
	movl $(recipes_end - recipes) >> 4, %ecx
	divl %ecx
	shll $4, %edx
	leal recipes(%edx), %esi	# ESI = the recipe
	movzbl R_NR(%esi), %eax
	movl %eax, fuzz_call
	movzbl R_CMD(%esi), %eax
	movl %eax, fuzz_call + 4
	movl $1, %ebx
1:	call fuzz_arg
	movl %eax, fuzz_call + 4(,%ebx,4)
	incl %ebx
	cmpl $5, %ebx
	jb 1b
	call rand			# the structure
	andl $(FUZZ_SCRATCH_SIZE - 1) & ~7, %eax
	orl $FUZZ_SCRATCH, %eax
	movl %eax, %edi
	movzbl R_PTRARG(%esi), %ebx
	movl %eax, fuzz_call + 4(,%ebx,4)
	xorl $3, %ebx			# 1 <-> 2: the other argument
	movzbl R_OTHER(%esi), %eax
	movl %eax, fuzz_call + 4(,%ebx,4)
	pushl %edi
	movl $16, %ecx
2:	call fuzz_value
	stosl
	loop 2b
	popl %edi
	addl $R_CLASSES, %esi
	movl $R_BYTES - R_CLASSES, %ecx
3:	movzbl (%esi), %eax
	testl %eax, %eax
	jz 4f
	call fuzz_field
	stosl
	incl %esi
	loop 3b
4:	popal
	ret

# fuzz_field: EAX = a value of field class EAX (F_* in the recipe table). One time in
# 16 it is a plain fuzz_value instead.
fuzz_field:
	pushl %edx
	movl %eax, %edx
	call rand
	testl $0xf0000000, %eax
	jnz 1f
	call fuzz_value
	jmp 2f
1:	call *field_table - 4(,%edx,4)	# EAX = random bits; EDX may be clobbered
2:	popl %edx
	ret

# The field classes: each turns the random bits in EAX into a value.
f_zero:	xorl %eax, %eax
	ret
f_bit:	andl $1, %eax
	ret
f_small: andl $15, %eax
	ret
f_port:	testl $0x700, %eax		# an event-channel port or grant ref: mostly 0..7
	jz 1f
	andl $7, %eax
	ret
1:	andl $4095, %eax
	ret
f_dom:	andl $7, %eax			# a domain ID, half the time DOMID_SELF
	movl dom_values(,%eax,4), %eax
	ret
f_self:	testl $0x70, %eax		# DOMID_SELF, 1 time in 8 another ID
	jz f_dom
	movl $DOMID_SELF, %eax
	ret
f_dom2:	movl %eax, %edx			# two u16 domain IDs
	andl $7, %eax
	movl dom_values(,%eax,4), %eax
	shrl $3, %edx
	andl $7, %edx
	movl dom_values(,%edx,4), %edx
	shll $16, %edx
	orl %edx, %eax
	ret
f_gfn:	movl %eax, %edx			# a frame number
	shrl $3, %edx
	andl $7, %eax
	cmpl $4, %eax
	jae 1f
	movl %edx, %eax			# 0..3: in the scratch region
	andl $(FUZZ_SCRATCH_SIZE >> 12) - 1, %eax
	orl $FUZZ_SCRATCH >> 12, %eax
	ret
1:	jne 2f
	movl %edx, %eax			# 4: a low page, below the image
	andl $63, %eax
	ret
2:	cmpl $5, %eax
	jne 3f
	movl %edx, %eax			# 5: beyond RAM, [32 MiB, 48 MiB)
	andl $0xfff, %eax
	orl $0x2000, %eax
	ret
3:	cmpl $6, %eax
	jne 4f
	movl %edx, %eax			# 6: anything below 2^29
	ret
4:	jmp fuzz_value			# 7
f_addr:	testl $2, %eax			# a guest-physical address
	jnz 1f
	andl $(FUZZ_SCRATCH_SIZE - 1) & ~7, %eax	# 0, 1: in the scratch region
	orl $FUZZ_SCRATCH, %eax
	ret
1:	testl $1, %eax
	jnz 2f
	shrl $2, %eax			# 2: the start of a frame f_gfn picks
	call f_gfn
	shll $12, %eax
	ret
2:	jmp fuzz_value			# 3
f_gflags:
	andl $GNTMAP_readonly, %eax	# GNTMAP_host_map, maybe read-only
	orl $GNTMAP_host_map, %eax
	ret
f_copylf:
	movl %eax, %edx			# gnttab_copy: u16 len (0..8191), u16 flags (0..3)
	andl $0x1fff, %eax
	shrl $13, %edx
	andl $3, %edx
	shll $16, %edx
	orl %edx, %eax
	ret
f_domoff:
	movl %eax, %edx			# gnttab_copy_ptr: u16 domid, u16 offset (0..4095)
	andl $7, %eax
	movl dom_values(,%eax,4), %eax
	shrl $3, %edx
	andl $0xfff, %edx
	shll $16, %edx
	orl %edx, %eax
	ret
f_refgfn:
	shrl $1, %eax			# gnttab_copy_ptr.u: a grant ref or a frame
	jc f_gfn
	andl $15, %eax
	ret
f_param:
	andl $63, %eax			# an HVM parameter index (39 exist)
	ret
f_rand:	jmp fuzz_value

# fuzz_refill: fill the whole scratch region with fuzz_values.
fuzz_refill:
	pushal
	movl $FUZZ_SCRATCH, %edi
	movl $FUZZ_SCRATCH_SIZE >> 2, %ecx
1:	call fuzz_value
	stosl
	loop 1b
	popal
	ret

	.section .rodata
pattern:	.ascii "GoZen grant page "
pattern_end:
name_verbose:	.asciz "verbose"
gb_name_from16:	.asciz "pages from the grant"
gb_name_from1:	.asciz "page from the grant"
gb_name_to16:	.asciz "pages into the grant"
implemented:				# the Xen hypercalls hv serves (hv/hypercall.go), but sched_op
	.byte HC_memory_op, 15, HC_xen_version, HC_console_io, HC_grant_table_op, 21, 24
	.byte HC_event_channel_op, 33, 34	# (set_timer_op 15, vm_assist 21, vcpu_op 24,
implemented_end:			#  physdev_op 33, hvm_op 34)

	.balign 4
field_table:				# fuzz_field's classes, from 1
	.long f_zero, f_bit, f_small, f_port, f_dom, f_self, f_dom2, f_gfn, f_addr
	.long f_gflags, f_copylf, f_domoff, f_refgfn, f_param, f_rand
	.set F_ZERO, 1			# 0 (u64 upper halves, pads, vCPU 0)
	.set F_BIT, 2			# 0 or 1
	.set F_SMALL, 3			# 0..15
	.set F_PORT, 4			# 0..7, sometimes 0..4095
	.set F_DOM, 5			# a domain ID (dom_values)
	.set F_SELF, 6			# DOMID_SELF, sometimes another
	.set F_DOM2, 7			# two u16 domain IDs
	.set F_GFN, 8			# a frame: scratch, low, beyond RAM, or anything
	.set F_ADDR, 9			# an address: scratch, a frame's start, or anything
	.set F_GFLAGS, 10		# GNTMAP_host_map [| GNTMAP_readonly]
	.set F_COPYLF, 11		# gnttab_copy len and flags
	.set F_DOMOFF, 12		# gnttab_copy_ptr domid and offset
	.set F_REFGFN, 13		# gnttab_copy_ptr ref or gmfn
	.set F_PARAM, 14		# HVM parameter index
	.set F_RAND, 15			# fuzz_value
dom_values:
	.long DOMID_SELF, DOMID_SELF, DOMID_SELF, DOMID_SELF, 1, 2, 0, 0x7ff2	# DOMID_IO

# recipes: 16 bytes each: number, command, which argument (1 or 2) points to the
# structure, the value of the other of arguments 1 and 2, then up to 12 field
# classes, one per dword of the structure (0 ends them).
	.set R_NR, 0
	.set R_CMD, 1
	.set R_PTRARG, 2
	.set R_OTHER, 3
	.set R_CLASSES, 4
	.set R_BYTES, 16
.macro RECIPE nr, cmd, ptrarg, other, f:vararg
	.byte \nr, \cmd, \ptrarg, \other
9:	.byte \f
	.fill R_BYTES - R_CLASSES - (. - 9b), 1, 0
.endm
recipes:
	# memory_op: add_to_physmap {domid, size; space; idx; gpfn}, memory_map
	# {nr_entries; buffer}, current_reservation {domid}
	RECIPE HC_memory_op, XENMEM_add_to_physmap, 1, 0, F_SELF, F_BIT, F_SMALL, F_GFN
	RECIPE HC_memory_op, XENMEM_add_to_physmap, 1, 0, F_SELF, F_BIT, F_BIT, F_GFN
	RECIPE HC_memory_op, 9, 1, 0, F_SMALL, F_ADDR
	RECIPE HC_memory_op, 3, 1, 0, F_DOM
	# event_channel_op, one per command (event_channel.h)
	RECIPE HC_event_channel_op, 0, 1, 0, F_DOM, F_PORT, F_ZERO	# bind_interdomain
	RECIPE HC_event_channel_op, 1, 1, 0, F_SMALL, F_ZERO, F_ZERO	# bind_virq
	RECIPE HC_event_channel_op, 3, 1, 0, F_PORT			# close
	RECIPE HC_event_channel_op, 4, 1, 0, F_PORT			# send
	RECIPE HC_event_channel_op, 5, 1, 0, F_DOM, F_PORT		# status
	RECIPE HC_event_channel_op, 6, 1, 0, F_DOM2, F_ZERO		# alloc_unbound
	RECIPE HC_event_channel_op, 6, 1, 0, F_DOM2, F_ZERO
	RECIPE HC_event_channel_op, 7, 1, 0, F_ZERO, F_ZERO		# bind_ipi
	RECIPE HC_event_channel_op, 8, 1, 0, F_PORT, F_ZERO		# bind_vcpu
	RECIPE HC_event_channel_op, 9, 1, 0, F_PORT			# unmask
	RECIPE HC_event_channel_op, 10, 1, 0, F_DOM			# reset
	RECIPE HC_event_channel_op, 11, 1, 0, F_GFN, F_ZERO, F_PORT, F_ZERO	# init_control
	RECIPE HC_event_channel_op, 12, 1, 0, F_GFN, F_ZERO		# expand_array
	RECIPE HC_event_channel_op, 13, 1, 0, F_PORT, F_SMALL		# set_priority
	# grant_table_op(cmd, ops, count = 1)
	RECIPE HC_grant_table_op, 0, 1, 1, F_ADDR, F_ZERO, F_GFLAGS, F_PORT, F_DOM, F_ZERO, F_ZERO, F_ZERO
	RECIPE HC_grant_table_op, 0, 1, 1, F_ADDR, F_ZERO, F_GFLAGS, F_PORT, F_DOM, F_ZERO, F_ZERO, F_ZERO
	RECIPE HC_grant_table_op, 1, 1, 1, F_ADDR, F_ZERO, F_ZERO, F_ZERO, F_SMALL, F_ZERO
	RECIPE HC_grant_table_op, 1, 1, 1, F_ADDR, F_ZERO, F_ZERO, F_ZERO, F_SMALL, F_ZERO
	RECIPE HC_grant_table_op, 5, 1, 1, F_REFGFN, F_DOMOFF, F_REFGFN, F_DOMOFF, F_COPYLF, F_ZERO
	RECIPE HC_grant_table_op, 5, 1, 1, F_REFGFN, F_DOMOFF, F_REFGFN, F_DOMOFF, F_COPYLF, F_ZERO
	RECIPE HC_grant_table_op, 6, 1, 1, F_DOM, F_ZERO, F_ZERO, F_ZERO	# query_size
	RECIPE HC_grant_table_op, 8, 1, 1, F_SMALL			# set_version
	RECIPE HC_grant_table_op, 10, 1, 1, F_DOM, F_ZERO		# get_version
	# vcpu_op(cmd, vcpu 0, arg)
	RECIPE 24, 3, 2, 0, F_ZERO					# is_up
	RECIPE 24, 4, 2, 0, F_ZERO					# get_runstate_info
	RECIPE 24, 5, 2, 0, F_ADDR, F_ZERO				# register_runstate_memory_area
	RECIPE 24, 8, 2, 0, F_RAND, F_SMALL, F_BIT			# set_singleshot_timer
	RECIPE 24, 9, 2, 0, F_ZERO					# stop_singleshot_timer
	RECIPE 24, 10, 2, 0, F_GFN, F_ZERO, F_PORT, F_ZERO		# register_vcpu_info
	RECIPE 24, 13, 2, 0, F_ADDR, F_ZERO				# register_vcpu_time_memory_area
	# hvm_op: set_param, get_param {domid; index; value}, get_time
	RECIPE 34, 0, 1, 0, F_SELF, F_PARAM, F_RAND, F_SMALL
	RECIPE 34, 1, 1, 0, F_SELF, F_PARAM, F_ZERO, F_ZERO
	RECIPE 34, 10, 1, 0, F_ZERO, F_ZERO
recipes_end:

	.bss
	.balign 4096
shinfo:		.skip 4096	# shared_info, once XENMEM_add_to_physmap put it here
grant_page:	.skip 4096	# grantsrc: the granted page; grantdst: the copy's destination
expect_page:	.skip 4096	# grantdst, grantbench: what the granted page should hold
gb_pages:	.skip 4096 * GB_BATCH	# grantbench: our side of the copies
	.balign 8
xatp:		.skip XATP_BYTES	# struct xen_add_to_physmap
sched_poll:	.skip POLL_BYTES	# struct compat_sched_poll
gnt_op:		.skip MAP_BYTES	# one grant op: map (32, the largest), copy (24) or unmap (24)
evt_arg:	.skip 12	# alloc_unbound (8), bind_interdomain (12) or send (4)
poll_port:	.long 0		# the one port SCHEDOP_poll waits for
evt_n:		.long 0		# evtpong/evtping: N
evt_port:	.long 0		# our port
evt_remote:	.long 0		# evtping: REMOTEPORT
gnt_handle:	.long 0		# grantdst: the map's handle
gb_ops:		.skip GB_BATCH * COPY_BYTES	# grantbench: the timed hypercall's ops
gb_n:		.long 0		# grantbench: hypercalls per phase
gb_cnt:		.long 0		#             ops per hypercall in this phase
gb_key:		.long 0		#             its report key
gb_dir:		.long 0		#             GNTCOPY_source_gref or GNTCOPY_dest_gref
gb_word:	.long 0		#             4-byte copies: GRANT_DONE, read-back stamps
bal_res:	.skip RES_BYTES	# balloon: struct xen_memory_reservation
bal_setup:	.skip ST_BYTES	#          struct gnttab_setup_table
bal_param:	.skip HP_BYTES	#          struct xen_hvm_param
bal_list:	.skip 3 * PFN_BYTES	#          the extent list (compat xen_pfn_t)
bal_frame:	.long 0		#          setup_table's frame list (one compat frame)
bal_domid:	.word 0		#          current/maximum_reservation's domid_t
	.balign 4
bal_pages:	.long 0		#          the domain's pages from the memory map
bal_max:	.long 0		#          maximum_reservation
bal_a:		.long 0		#          the two frames given back
bal_b:		.long 0
fuzz_n:		.long 0
fuzz_i:		.long 0
fuzz_step:	.long 0
fuzz_state:	.long 0		# xorshift32
fuzz_call:	.skip 24	# nr, then the five arguments
fuzz_zero:	.long 0		# results: 0
fuzz_positive:	.long 0		#          > 0
fuzz_enosys:	.long 0		#          -ENOSYS
fuzz_error:	.long 0		#          any other error
fuzz_verbose:	.byte 0
