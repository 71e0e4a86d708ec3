# xsattack.S — a hostile domU against dom0's toolstack (issue 10), and a
# well-behaved neighbour. Both are meant to be built by dom0's `xl create`
# (scenario xl-hostile), so that their xenstore ring is served by dom0's
# xenstored, but they work under any xenstore server.
#
#   xshostile [ringidx]
#       1. every domctl (0..DOMCTL_LAST) and sysctl (0..SYSCTL_LAST) with the
#          right interface version on domain 0 must be -EPERM; one with a
#          wrong version -EACCES (Xen checks the version first);
#       2. xenstore over the ring of HVM_PARAM_STORE_PFN / STORE_EVTCHN:
#          permissions (dom0's nodes, /tool, its own read-only home,
#          INTRODUCE/RELEASE/SET_PERMS) refused with EACCES; sizes (a value
#          over 2048 bytes: ENOSPC; a path over 2048: EINVAL; a whole 4096-byte
#          payload answered); floods until the quota: nodes (ENOSPC), watches
#          (E2BIG, exactly 128), transactions (ENOSPC, exactly 10); malformed
#          messages (unknown types, replies sent as requests, unterminated
#          strings, empty payloads, bad paths, extra arguments, a missing
#          token, an unknown transaction) each answered with Xen's error name;
#       3. last, an oversized message (header length 4097): xenstored must
#          not answer it and must mark the ring XENSTORE_ERROR_PROTO.
#       With `ringidx`: one good read, then a scribbled req_prod (4000 bytes
#       ahead of req_cons): xenstored must mark the ring XENSTORE_ERROR_RINGIDX.
#       Every check prints a line; the first failure prints `xs: FAIL ...`
#       and crashes; success ends with `xshostile: done` and poweroff.
#
#   xsgood [N]
#       N rounds (0 or none: forever) of XS_WRITE data/ping = "pong" then
#       XS_READ data/ping, printing `xsgood: K round trips` every XS_GOOD_EVERY.
#
# Paging is off: the store ring's frame number times 4096 is its address.

	.include "defs.inc"
	.code32
	.text

	.set HC_sysctl, 35
	.set HC_domctl, 36
	.set HVM_PARAM_STORE_PFN,    1
	.set HVM_PARAM_STORE_EVTCHN, 2
	.set CTL_VERSION,  0x15		# XEN_DOMCTL/SYSCTL_INTERFACE_VERSION (Xen 4.17)
	.set DOMCTL_BYTES, 144		# struct xen_domctl
	.set SYSCTL_BYTES, 136		# struct xen_sysctl
	.set DOMCTL_LAST,  90		# Xen 4.17's last domctl is 86
	.set SYSCTL_LAST,  32		# and its last sysctl 30
	.set XEN_EPERM,    1
	.set XEN_EACCES,   13

	# xs_wire.h
	.set XS_DIRECTORY, 1
	.set XS_READ, 2
	.set XS_WATCH, 4
	.set XS_UNWATCH, 5
	.set XS_TRANSACTION_START, 6
	.set XS_INTRODUCE, 8
	.set XS_RELEASE, 9
	.set XS_WRITE, 11
	.set XS_RM, 13
	.set XS_SET_PERMS, 14
	.set XS_WATCH_EVENT, 15
	.set XS_ERROR, 16
	.set XS_RESTRICT, 20		# removed from Xen: unknown to 4.17's xenstored
	# struct xenstore_domain_interface
	.set XSI_REQ, 0
	.set XSI_RSP, 1024
	.set XSI_REQ_CONS, 2048
	.set XSI_REQ_PROD, 2052
	.set XSI_RSP_CONS, 2056
	.set XSI_RSP_PROD, 2060
	.set XSI_ERROR, 2072
	.set XS_RING, 1024
	.set XS_HDR, 16			# struct xsd_sockmsg
	.set XS_PAYLOAD_MAX, 4096
	.set XSERR_RINGIDX, 2
	.set XSERR_PROTO, 3
	.set XS_WAIT, 2000000		# yields before giving up on xenstored
	.set XS_FLOOD_MAX, 5000		# a flood with no quota stops here (a FAIL)
	.set XS_GOOD_EVERY, 50

# ---- Output helpers -------------------------------------------------------------

# xs_failmsg: print "xs: FAIL <ESI>" and crash.
xs_failmsg:
	PUTS "xs: FAIL "
	call puts
	call newline
	jmp fail

xs_timeout:
	movl $s_timeout, %esi
	jmp xs_failmsg

# streq: ZF=1 iff the NUL-terminated strings at ESI and EDI are equal.
streq:
	pushal
1:	movb (%esi), %al
	cmpb (%edi), %al
	jne 2f
	testb %al, %al
	jz 2f
	incl %esi
	incl %edi
	jmp 1b
2:	popal
	ret

# utoa: write EAX in decimal at EDI, advancing EDI.
utoa:
	pushl %eax
	pushl %ecx
	pushl %edx
	pushl %ebx
	movl $10, %ebx
	xorl %ecx, %ecx
1:	xorl %edx, %edx
	divl %ebx
	addb $'0', %dl
	pushl %edx
	incl %ecx
	testl %eax, %eax
	jnz 1b
2:	popl %eax
	stosb
	loop 2b
	popl %ebx
	popl %edx
	popl %ecx
	popl %eax
	ret

# ---- The ring ---------------------------------------------------------------------

# xs_param: EAX = HVMOP_get_param(DOMID_SELF, index EAX); fails unless it fits 32 bits.
xs_param:
	pushal
	movw $DOMID_SELF, xs_hp + HP_DOMID
	movw $0, xs_hp + HP_DOMID + 2
	movl %eax, xs_hp + HP_INDEX
	movl $0, xs_hp + HP_VALUE
	movl $0, xs_hp + HP_VALUE + 4
	movl $HVMOP_get_param, %ebx
	movl $xs_hp, %ecx
	movl $HC_hvm_op, %eax
	vmmcall
	testl %eax, %eax
	jnz 1f
	cmpl $0, xs_hp + HP_VALUE + 4
	jne 1f
	movl xs_hp + HP_VALUE, %eax
	movl %eax, 28(%esp)
	popal
	ret
1:	movl $s_param, %esi
	jmp xs_failmsg

# xs_init: find the store ring and port; print them.
xs_init:
	pushal
	movl $HVM_PARAM_STORE_PFN, %eax
	call xs_param
	testl %eax, %eax
	jz 1f
	shll $12, %eax
	movl %eax, xs_ring
	movl $HVM_PARAM_STORE_EVTCHN, %eax
	call xs_param
	testl %eax, %eax
	jz 1f
	movl %eax, xs_port
	PUTS "xs: store ring at "
	movl xs_ring, %eax
	call puthex
	PUTS ", event channel "
	movl xs_port, %eax
	call putdec
	call newline
	popal
	ret
1:	movl $s_nostore, %esi
	jmp xs_failmsg

# xs_notify: EVTCHNOP_send on the store port.
xs_notify:
	pushal
	movl xs_port, %eax
	movl %eax, xs_evt
	movl $EVTCHNOP_send, %ebx
	movl $xs_evt, %ecx
	movl $HC_event_channel_op, %eax
	vmmcall
	popal
	ret

# xs_put: copy ECX bytes at ESI into req[], waiting for room (publishing req_prod
# after each byte, with the data before it: x86 keeps stores in order).
xs_put:
	pushal
	movl xs_ring, %ebx
	movl $XS_WAIT, %ebp
1:	jecxz 9f
	movl XSI_REQ_PROD(%ebx), %edx
	movl %edx, %edi
	subl XSI_REQ_CONS(%ebx), %edi
	cmpl $XS_RING, %edi
	jb 2f
	call xs_notify			# full: let xenstored take some
	call sched_yield
	decl %ebp
	jz xs_timeout
	jmp 1b
2:	movl %edx, %edi
	andl $XS_RING - 1, %edi
	movb (%esi), %al
	movb %al, XSI_REQ(%ebx,%edi)
	incl %esi
	incl %edx
	movl %edx, XSI_REQ_PROD(%ebx)
	decl %ecx
	jmp 1b
9:	popal
	ret

# xs_get: copy ECX bytes from rsp[] to EDI, waiting for them; then notify (room).
xs_get:
	pushal
	movl xs_ring, %ebx
	movl $XS_WAIT, %ebp
1:	jecxz 9f
	movl XSI_RSP_CONS(%ebx), %edx
	cmpl XSI_RSP_PROD(%ebx), %edx
	jne 2f
	call sched_yield
	decl %ebp
	jz xs_timeout
	jmp 1b
2:	movl %edx, %esi
	andl $XS_RING - 1, %esi
	movb XSI_RSP(%ebx,%esi), %al
	stosb
	incl %edx
	movl %edx, XSI_RSP_CONS(%ebx)
	decl %ecx
	jmp 1b
9:	call xs_notify
	popal
	ret

# xs_send: send a message of type EAX with the ECX-byte payload at ESI (header
# length ECX, tx_id xs_tx, a fresh req_id), and notify.
xs_send:
	pushal
	incl xs_reqid
	movl %eax, xs_hdr
	movl xs_reqid, %eax
	movl %eax, xs_hdr + 4
	movl xs_tx, %eax
	movl %eax, xs_hdr + 8
	movl %ecx, xs_hdr + 12
	pushl %esi
	pushl %ecx
	movl $xs_hdr, %esi
	movl $XS_HDR, %ecx
	call xs_put
	popl %ecx
	popl %esi
	call xs_put
	call xs_notify
	popal
	ret

# xs_recv: the reply to the last request, skipping watch events (counted in
# xs_events): EAX = its type, ECX = its length, the payload NUL-terminated at xs_rbuf.
xs_recv:
	pushl %edi
1:	movl $xs_rhdr, %edi
	movl $XS_HDR, %ecx
	call xs_get
	movl xs_rhdr + 12, %ecx
	cmpl $XS_PAYLOAD_MAX, %ecx
	ja 8f
	movl $xs_rbuf, %edi
	call xs_get
	movb $0, xs_rbuf(%ecx)
	movl xs_rhdr, %eax
	cmpl $XS_WATCH_EVENT, %eax
	jne 2f
	incl xs_events
	jmp 1b
2:	movl xs_rhdr + 4, %edi
	cmpl xs_reqid, %edi
	jne 7f
	popl %edi
	ret
7:	movl $s_reqid, %esi
	jmp xs_failmsg
8:	movl $s_rlong, %esi
	jmp xs_failmsg

# xs_call: xs_send, then xs_recv.
xs_call:
	call xs_send
	jmp xs_recv

# xs_expect: send type EAX with payload ESI/ECX; EDI names the error expected ("" for
# success: a reply of the same type); EDX says what the request is. Prints
# "xs: <what>: <error or OK>" (unless xs_quiet), or FAILs.
xs_expect:
	pushal
	movl %eax, %ebx
	call xs_call
	cmpb $0, (%edi)
	jne 1f
	cmpl %ebx, %eax
	jne 8f
	jmp 9f
1:	cmpl $XS_ERROR, %eax
	jne 8f
	movl $xs_rbuf, %esi
	call streq
	jne 8f
9:	cmpl $0, xs_quiet
	jne 3f
	PUTS "xs: "
	movl %edx, %esi
	call puts
	PUTS ": "
	movl %edi, %esi
	cmpb $0, (%esi)
	jne 2f
	movl $s_ok, %esi
2:	call puts
	call newline
3:	popal
	ret
8:	PUTS "xs: FAIL "
	movl %edx, %esi
	call puts
	PUTS ": reply type "
	call putdec
	PUTS " \""
	movl $xs_rbuf, %esi
	call puts
	PUTS "\", expected "
	movl %edi, %esi
	cmpb $0, (%esi)
	jne 2f
	movl $s_ok, %esi
2:	call puts
	call newline
	jmp fail

# XS_EXPECT type, payload, length, "error" (or ""), "what"
.macro XS_EXPECT type, payload, len, err, what
	.pushsection .rodata.str, "a"
.Lxsw\@: .asciz "\what"
.Lxse\@: .asciz "\err"
	.popsection
	movl $\type, %eax
	movl $\payload, %esi
	movl $\len, %ecx
	movl $.Lxse\@, %edi
	movl $.Lxsw\@, %edx
	call xs_expect
.endm

# ---- xshostile ------------------------------------------------------------------

	.globl mode_xshostile
mode_xshostile:
	pushl %esi
	PUTS "xshostile: start\n"
	call hs_privops
	call xs_init
	popl %esi
	call skip_spaces
	call word_len
	movl $s_ringidx, %edi
	call word_eq
	je hs_ringidx
	call hs_perms
	call hs_sizes
	call hs_malformed
	call hs_flood_nodes
	call hs_flood_watches
	call hs_flood_tx
	jmp hs_oversize

# hs_privops: every domctl and sysctl is -EPERM to a domU.
hs_privops:
	pushal
	xorl %esi, %esi			# command
1:	movl $hs_ctl, %edi
	movl $DOMCTL_BYTES / 4, %ecx
	xorl %eax, %eax
	rep stosl
	movl %esi, hs_ctl		# cmd
	movl $CTL_VERSION, hs_ctl + 4	# interface_version
	movw $0, hs_ctl + 8		# domain 0
	movl $hs_ctl, %ebx
	movl $HC_domctl, %eax
	vmmcall
	cmpl $-XEN_EPERM, %eax
	je 2f
	PUTS "xshostile: FAIL domctl "
	xchgl %eax, %esi
	call putdec
	xchgl %eax, %esi
	PUTS " returned "
	call puthex
	call newline
	jmp fail
2:	incl %esi
	cmpl $DOMCTL_LAST, %esi
	jbe 1b
	xorl %esi, %esi
3:	movl $hs_ctl, %edi
	movl $SYSCTL_BYTES / 4, %ecx
	xorl %eax, %eax
	rep stosl
	movl %esi, hs_ctl
	movl $CTL_VERSION, hs_ctl + 4
	movl $hs_ctl, %ebx
	movl $HC_sysctl, %eax
	vmmcall
	cmpl $-XEN_EPERM, %eax
	je 4f
	PUTS "xshostile: FAIL sysctl "
	xchgl %eax, %esi
	call putdec
	xchgl %eax, %esi
	PUTS " returned "
	call puthex
	call newline
	jmp fail
4:	incl %esi
	cmpl $SYSCTL_LAST, %esi
	jbe 3b
	# A wrong interface version is -EACCES before anything else.
	movl $5, hs_ctl			# getdomaininfo
	movl $CTL_VERSION - 1, hs_ctl + 4
	movl $hs_ctl, %ebx
	movl $HC_domctl, %eax
	vmmcall
	cmpl $-XEN_EACCES, %eax
	je 5f
	PUTS "xshostile: FAIL domctl with interface version 0x14 returned "
	call puthex
	call newline
	jmp fail
5:	PUTS "xshostile: domctl 0..90 and sysctl 0..32 refused with -EPERM, a wrong interface version with -EACCES\n"
	popal
	ret

hs_perms:
	XS_EXPECT XS_READ, pl_name, pl_name_len, "", "read name"
	XS_EXPECT XS_READ, pl_dom0name, pl_dom0name_len, "EACCES", "read /local/domain/0/name"
	XS_EXPECT XS_WRITE, pl_dom0w, pl_dom0w_len, "EACCES", "write /local/domain/0/hostile"
	XS_EXPECT XS_WRITE, pl_toolw, pl_toolw_len, "EACCES", "write /tool/hostile"
	XS_EXPECT XS_WRITE, pl_namew, pl_namew_len, "EACCES", "write name (its read-only home)"
	XS_EXPECT XS_RM, pl_local, pl_local_len, "EACCES", "rm /local/domain"
	XS_EXPECT XS_DIRECTORY, pl_local, pl_local_len, "EACCES", "directory /local/domain"
	XS_EXPECT XS_SET_PERMS, pl_setperms, pl_setperms_len, "EACCES", "set_perms /local/domain/0"
	XS_EXPECT XS_INTRODUCE, pl_intro, pl_intro_len, "EACCES", "introduce"
	XS_EXPECT XS_RELEASE, pl_release, pl_release_len, "EACCES", "release 0"
	XS_EXPECT XS_WRITE, pl_hello, pl_hello_len, "", "write data/hello"
	ret

# hs_sizes: a value over the node size, a path over the limit, a whole payload.
hs_sizes:
	movl $hs_big, %edi		# "data/big\0" + 2100 x 'x'
	movl $s_databig, %esi
	movl $9, %ecx
	rep movsb
	movl $2100, %ecx
	movb $'x', %al
	rep stosb
	XS_EXPECT XS_WRITE, hs_big, 9 + 2100, "ENOSPC", "write data/big with 2100 bytes"
	movl $hs_big, %edi		# "data/big\0" + 4087 x 'x': a 4096-byte payload
	addl $9, %edi
	movl $4087, %ecx
	rep stosb
	XS_EXPECT XS_WRITE, hs_big, XS_PAYLOAD_MAX, "ENOSPC", "write data/big with a 4096-byte payload"
	movl $hs_big, %edi		# "data/" + 2100 x 'a' + "\0": a relative path over 2048
	movl $s_databig, %esi
	movl $5, %ecx
	rep movsb
	movl $2100, %ecx
	movb $'a', %al
	rep stosb
	movb $0, (%edi)
	XS_EXPECT XS_READ, hs_big, 5 + 2100 + 1, "EINVAL", "read a 2105-byte relative path"
	ret

hs_malformed:
	XS_EXPECT 999, pl_x, pl_x_len, "EINVAL", "message type 999"
	XS_EXPECT 0xffff, pl_x, pl_x_len, "EINVAL", "message type 0xffff"
	XS_EXPECT XS_RESTRICT, pl_x, pl_x_len, "EINVAL", "XS_RESTRICT (removed)"
	XS_EXPECT XS_WATCH_EVENT, pl_ev, pl_ev_len, "EINVAL", "XS_WATCH_EVENT as a request"
	XS_EXPECT XS_ERROR, pl_einval, pl_einval_len, "EINVAL", "XS_ERROR as a request"
	XS_EXPECT XS_READ, pl_unterm, pl_unterm_len, "EINVAL", "read with an unterminated path"
	XS_EXPECT XS_READ, pl_x, 0, "EINVAL", "read with an empty payload"
	XS_EXPECT XS_WRITE, pl_unterm, pl_unterm_len, "EINVAL", "write with no NUL at all"
	XS_EXPECT XS_READ, pl_space, pl_space_len, "EINVAL", "read a path with a space"
	XS_EXPECT XS_READ, pl_slashes, pl_slashes_len, "EINVAL", "read a path with //"
	XS_EXPECT XS_READ, pl_twoargs, pl_twoargs_len, "EINVAL", "read with two arguments"
	XS_EXPECT XS_WATCH, pl_name, pl_name_len, "EINVAL", "watch with no token"
	XS_EXPECT XS_UNWATCH, pl_nowatch, pl_nowatch_len, "ENOENT", "unwatch a watch never set"
	movl $0xdead, xs_tx
	XS_EXPECT XS_READ, pl_name, pl_name_len, "ENOENT", "read in transaction 0xdead"
	movl $0, xs_tx
	XS_EXPECT XS_READ, pl_name, pl_name_len, "", "read name after all that"
	ret

# hs_flood: send type EBX with payload "<prefix ESI>I\0<tail EDX, ECX bytes>" for
# I = 0, 1, ... until an error; EAX = the successes, EDI = the error name (xs_rbuf).
hs_flood:
	pushl %ebp
	movl $1, xs_quiet
	xorl %ebp, %ebp
1:	pushl %esi
	pushl %ecx
	movl $hs_msg, %edi
2:	lodsb				# the prefix
	testb %al, %al
	jz 3f
	stosb
	jmp 2b
3:	movl %ebp, %eax
	call utoa
	movb $0, %al
	stosb
	movl %edx, %esi			# the tail
	rep movsb
	movl %edi, %ecx
	subl $hs_msg, %ecx
	movl %ebx, %eax
	movl $hs_msg, %esi
	call xs_call
	popl %ecx
	popl %esi
	cmpl %ebx, %eax
	jne hs_flood_end
	incl %ebp
	cmpl $XS_FLOOD_MAX, %ebp
	jb 1b
	movl $s_noquota, %esi
	jmp xs_failmsg

# hs_flood_end: how hs_flood and hs_flood_tx_one end, on the first request not
# answered with its own type (EAX the reply's type, EBP the successes, the
# caller's EBP on the stack): EAX = the successes, EDI = the error name; a reply
# that is not XS_ERROR fails the test.
hs_flood_end:
	cmpl $XS_ERROR, %eax
	jne 1f
	movl $0, xs_quiet
	movl %ebp, %eax
	movl $xs_rbuf, %edi
	popl %ebp
	ret
1:	movl $s_badflood, %esi
	jmp xs_failmsg

# hs_flood_report: print "xshostile: <ESI>: EAX accepted, then <EDI>" and check the
# error is the one at EDX.
hs_flood_report:
	PUTS "xshostile: "
	call puts
	PUTS ": "
	call putdec
	PUTS " accepted, then "
	xchgl %esi, %edi
	call puts
	xchgl %esi, %edi
	call newline
	pushl %esi
	movl %edx, %esi
	call streq
	popl %esi
	jne 1f
	ret
1:	movl $s_wrongerr, %esi
	jmp xs_failmsg

hs_flood_nodes:
	movl $XS_WRITE, %ebx
	movl $s_nodepfx, %esi
	movl $s_v, %edx
	movl $1, %ecx
	call hs_flood
	movl $s_nodes, %esi
	movl $s_enospc, %edx
	call hs_flood_report
	cmpl $1000, %eax		# the domain owns some nodes xl made for it
	ja 1f
	cmpl $900, %eax
	jb 1f
	ret
1:	movl $s_nodecount, %esi
	jmp xs_failmsg

hs_flood_watches:
	movl $XS_WATCH, %ebx
	movl $s_watchpfx, %esi
	movl $s_tok, %edx
	movl $2, %ecx
	call hs_flood
	movl $s_watches, %esi
	movl $s_e2big, %edx
	call hs_flood_report
	cmpl $128, %eax
	jne 1f
	PUTS "xshostile: watch events received: "
	movl xs_events, %eax
	call putdec
	call newline
	ret
1:	movl $s_watchcount, %esi
	jmp xs_failmsg

hs_flood_tx:
	movl $XS_TRANSACTION_START, %ebx
	call hs_flood_tx_one
	movl $s_txs, %esi
	movl $s_enospc, %edx
	call hs_flood_report
	cmpl $10, %eax
	jne 1f
	ret
1:	movl $s_txcount, %esi
	jmp xs_failmsg

# hs_flood_tx_one: hs_flood with the one-byte payload "\0" (no counter in it).
hs_flood_tx_one:
	pushl %ebp
	movl $1, xs_quiet
	xorl %ebp, %ebp
1:	movl %ebx, %eax
	movl $s_empty, %esi
	movl $1, %ecx
	call xs_call
	cmpl %ebx, %eax
	jne hs_flood_end
	incl %ebp
	cmpl $XS_FLOOD_MAX, %ebp
	jb 1b
	movl $s_noquota, %esi
	jmp xs_failmsg

# hs_wait_error: notify and yield until the ring's error word is set; EAX = it.
# Fails if a reply appears meanwhile.
hs_wait_error:
	pushl %ebx
	pushl %ebp
	movl xs_ring, %ebx
	movl $XS_WAIT, %ebp
1:	movl XSI_ERROR(%ebx), %eax
	testl %eax, %eax
	jnz 2f
	movl XSI_RSP_CONS(%ebx), %eax
	cmpl XSI_RSP_PROD(%ebx), %eax
	jne 3f
	call xs_notify
	call sched_yield
	decl %ebp
	jnz 1b
	jmp xs_timeout
2:	popl %ebp
	popl %ebx
	ret
3:	movl $s_answered, %esi
	jmp xs_failmsg

# hs_oversize: a header saying 4097 bytes follow: the connection is dead.
hs_oversize:
	incl xs_reqid			# only the header: xenstored must stop at it
	movl $XS_READ, xs_hdr
	movl xs_reqid, %eax
	movl %eax, xs_hdr + 4
	movl $0, xs_hdr + 8
	movl $XS_PAYLOAD_MAX + 1, xs_hdr + 12
	movl $xs_hdr, %esi
	movl $XS_HDR, %ecx
	call xs_put
	call xs_notify
	call hs_wait_error
	PUTS "xshostile: oversized message (length 4097): no reply, ring error word "
	call putdec
	call newline
	cmpl $XSERR_PROTO, %eax
	jne 1f
	jmp hs_done
1:	movl $s_notproto, %esi
	jmp xs_failmsg

# hs_ringidx: one good request, then req_prod 4000 bytes ahead of req_cons.
hs_ringidx:
	XS_EXPECT XS_READ, pl_name, pl_name_len, "", "read name"
	movl xs_ring, %ebx
	movl XSI_REQ_CONS(%ebx), %eax
	addl $4000, %eax
	movl %eax, XSI_REQ_PROD(%ebx)
	call hs_wait_error
	PUTS "xshostile: req_prod scribbled 4000 bytes ahead: no reply, ring error word "
	call putdec
	call newline
	cmpl $XSERR_RINGIDX, %eax
	jne 1f
	jmp hs_done
1:	movl $s_notringidx, %esi
	jmp xs_failmsg

hs_done:
	PUTS "xshostile: done\n"
	jmp poweroff

# ---- xsgood ---------------------------------------------------------------------

	.globl mode_xsgood
mode_xsgood:
	call parse_dec			# N (0: forever)
	movl %eax, %ebp
	PUTS "xsgood: start\n"
	call xs_init
	movl $1, xs_quiet
	xorl %ebx, %ebx
1:	XS_EXPECT XS_WRITE, pl_ping, pl_ping_len, "", "write data/ping"
	XS_EXPECT XS_READ, pl_pingr, pl_pingr_len, "", "read data/ping"
	movl $xs_rbuf, %esi
	movl $s_pong, %edi
	call streq
	jne 8f
	incl %ebx
	movl %ebx, %eax
	xorl %edx, %edx
	movl $XS_GOOD_EVERY, %ecx
	divl %ecx
	testl %edx, %edx
	jnz 2f
	PUTS "xsgood: "
	movl %ebx, %eax
	call putdec
	PUTS " round trips\n"
2:	testl %ebp, %ebp
	jz 1b
	cmpl %ebp, %ebx
	jb 1b
	PUTS "xsgood: done\n"
	jmp poweroff
8:	movl $s_notpong, %esi
	jmp xs_failmsg

# ---- Data -----------------------------------------------------------------------

	.section .rodata
s_timeout:	.asciz "no answer from xenstored"
s_param:	.asciz "HVMOP_get_param of the store"
s_nostore:	.asciz "no xenstore ring or event channel"
s_reqid:	.asciz "reply with another req_id"
s_rlong:	.asciz "reply longer than XENSTORE_PAYLOAD_MAX"
s_ok:		.asciz "OK"
s_ringidx:	.asciz "ringidx"
s_noquota:	.asciz "no quota stopped the flood"
s_badflood:	.asciz "a flood request got neither its reply nor XS_ERROR"
s_wrongerr:	.asciz "the flood ended with the wrong error"
s_nodecount:	.asciz "node flood: count outside [900, 1000]"
s_watchcount:	.asciz "watch flood: not 128 watches"
s_txcount:	.asciz "transaction flood: not 10 transactions"
s_answered:	.asciz "xenstored answered a broken ring"
s_notproto:	.asciz "ring error word is not XENSTORE_ERROR_PROTO"
s_notringidx:	.asciz "ring error word is not XENSTORE_ERROR_RINGIDX"
s_notpong:	.asciz "data/ping did not read back pong"
s_databig:	.ascii "data/big\000"
s_nodepfx:	.asciz "data/f"
s_watchpfx:	.asciz "data/w"
s_v:		.ascii "v"
s_tok:		.ascii "t\000"
s_empty:	.byte 0
s_nodes:	.asciz "node flood"
s_watches:	.asciz "watch flood"
s_txs:		.asciz "transaction flood"
s_enospc:	.asciz "ENOSPC"
s_e2big:	.asciz "E2BIG"
s_pong:		.asciz "pong"

pl_name:	.ascii "name\000"
	.set pl_name_len, . - pl_name
pl_dom0name:	.ascii "/local/domain/0/name\000"
	.set pl_dom0name_len, . - pl_dom0name
pl_dom0w:	.ascii "/local/domain/0/hostile\000x"
	.set pl_dom0w_len, . - pl_dom0w
pl_toolw:	.ascii "/tool/hostile\000x"
	.set pl_toolw_len, . - pl_toolw
pl_namew:	.ascii "name\000evil"
	.set pl_namew_len, . - pl_namew
pl_local:	.ascii "/local/domain\000"
	.set pl_local_len, . - pl_local
pl_setperms:	.ascii "/local/domain/0\000b0\000"
	.set pl_setperms_len, . - pl_setperms
pl_intro:	.ascii "7\00016\0001\000"
	.set pl_intro_len, . - pl_intro
pl_release:	.ascii "0\000"
	.set pl_release_len, . - pl_release
pl_hello:	.ascii "data/hello\000world"
	.set pl_hello_len, . - pl_hello
pl_x:		.ascii "x\000"
	.set pl_x_len, . - pl_x
pl_ev:		.ascii "data\000t\000"
	.set pl_ev_len, . - pl_ev
pl_einval:	.ascii "EINVAL\000"
	.set pl_einval_len, . - pl_einval
pl_unterm:	.ascii "data/x"
	.set pl_unterm_len, . - pl_unterm
pl_space:	.ascii "data/a b\000"
	.set pl_space_len, . - pl_space
pl_slashes:	.ascii "data//x\000"
	.set pl_slashes_len, . - pl_slashes
pl_twoargs:	.ascii "name\000name\000"
	.set pl_twoargs_len, . - pl_twoargs
pl_nowatch:	.ascii "data/nowatch\000t\000"
	.set pl_nowatch_len, . - pl_nowatch
pl_ping:	.ascii "data/ping\000pong"
	.set pl_ping_len, . - pl_ping
pl_pingr:	.ascii "data/ping\000"
	.set pl_pingr_len, . - pl_pingr

	.bss
	.balign 8
xs_hp:		.space HP_BYTES
xs_evt:		.long 0
xs_ring:	.long 0
xs_port:	.long 0
xs_reqid:	.long 0
xs_tx:		.long 0
xs_quiet:	.long 0
xs_events:	.long 0
xs_hdr:		.space XS_HDR
xs_rhdr:	.space XS_HDR
hs_ctl:		.space DOMCTL_BYTES
xs_rbuf:	.space XS_PAYLOAD_MAX + 4
hs_msg:		.space 64
hs_big:		.space XS_PAYLOAD_MAX + 4
