# modes.S — the 32-bit modes of the test guest (long.S has the 64-bit one).
#
# entry.S jumps to mode_<name> with ESI = the command line after the mode word and
# a valid stack; a mode never returns: it ends with shutdown (lib.S). Modes that check
# something end with reason poweroff when every check passed and crash otherwise.

	.include "defs.inc"
	.code32
	.text

# fail: shut down with reason crash (after a mode printed what went wrong).
	.globl fail, poweroff
fail:
	movl $SHUTDOWN_crash, %eax
	jmp shutdown

# poweroff: shut down with reason poweroff.
poweroff:
	movl $SHUTDOWN_poweroff, %eax
	jmp shutdown

# ---- hello: both output paths, the CPUID signature, xen_version and a timer HLT -----
	.globl mode_hello
mode_hello:
	PUTS "hello from the test guest\n"
	movl $msg_console, %esi
	call con_puts
	testl %eax, %eax
	jns 1f
	PUTS "hello: FAIL console_io returned "
	call puthex
	call newline
	jmp fail

1:	movl $0x40000000, %eax
	cpuid
	movl %ebx, sigbuf		# 12 bytes of signature; sigbuf[12] stays 0
	movl %ecx, sigbuf+4
	movl %edx, sigbuf+8
	PUTS "hello: cpuid 0x40000000 signature \""
	movl $sigbuf, %esi
	call puts
	PUTS "\" max leaf "
	call puthex			# EAX of leaf 0x40000000
	call newline

	call xen_version
	PUTS "hello: xen_version "
	call puthex
	call newline
	testl %eax, %eax
	js fail

	# Baseline: the fastest of 3 null hypercalls, in TSC cycles (EDI). The
	# fastest, because one sample can catch a host hiccup of milliseconds
	# (seen under a loaded TCG host) and then exceed the 10 ms HLT below.
	movl $0xffffffff, %edi
	movl $3, %ebp
2:	lfence
	rdtsc
	movl %eax, %esi
	call xen_version
	lfence
	rdtsc
	subl %esi, %eax
	cmpl %edi, %eax
	jae 3f
	movl %eax, %edi
3:	decl %ebp
	jnz 2b

	# Arm a 10 ms timer and HLT. If hv ignored the timer (HLT returns at once),
	# the HLT costs about one exit: a few null hypercalls at most.
	lfence
	rdtsc
	movl %eax, %esi			# EBP:ESI = start
	movl %edx, %ebp
	movl $TIMER_US, %eax
	call gozen_timer
	testl %eax, %eax
	jns 4f
	PUTS "hello: FAIL gozen_op timer returned "
	call puthex
	call newline
	jmp fail
4:	hlt
	rdtsc
	subl %esi, %eax			# EDX:EAX = cycles spent in gozen_op + HLT
	sbbl %ebp, %edx
	jz 5f
	movl $0xffffffff, %eax		# more than 2^32 cycles: saturate
5:	PUTS "hello: HLT took "
	call putdec
	PUTS " TSC cycles, a null hypercall "
	xchgl %eax, %edi
	call putdec
	xchgl %eax, %edi
	call newline
	# Pass when it took at least 5 null hypercalls and at least 100000 cycles.
	imull $5, %edi, %ecx
	cmpl $100000, %ecx
	jae 6f
	movl $100000, %ecx
6:	cmpl %ecx, %eax
	jae 7f
	PUTS "hello: FAIL HLT returned before the timer could have fired\n"
	jmp fail
7:	PUTS "timer woke me\n"
	PUTS "hello: done\n"
	jmp poweroff

# ---- count N [tag]: N numbered lines with a busy loop between them ---------------
	.globl mode_count
mode_count:
	call parse_dec
	jnc 1f
	movl $10, %eax			# default N
1:	movl %eax, %edi			# EDI = N
	call skip_spaces		# the tag: the next word, at most 8 bytes
	call word_len
	testl %ecx, %ecx
	jnz 2f
	movl $default_tag, %esi
	movl $5, %ecx
2:	cmpl $8, %ecx
	jbe 3f
	movl $8, %ecx
3:	pushl %edi
	movl $tagbuf, %edi		# copy it to tagbuf; .bss keeps it NUL-terminated
	rep movsb
	popl %edi

	movl $1, %ebx			# EBX = i
4:	cmpl %edi, %ebx
	ja poweroff
	movl $tagbuf, %esi
	call puts
	movb $' ', %al
	call putc
	movl %ebx, %eax
	call putdec
	call newline
	movl $COUNT_SPIN, %ecx		# burn time so other domains get to run
5:	decl %ecx
	jnz 5b
	incl %ebx
	jmp 4b

# ---- triple: a triple fault; hv must report the domain crashed -------------------
	.globl mode_triple
mode_triple:
	PUTS "about to triple fault\n"
	lidt null_idt_desc		# limit 0: int3 -> #GP -> #DF -> triple fault
	int3
	PUTS "BUG: still alive\n"
	jmp poweroff

# ---- outside: read guest-physical memory that is not ours -------------------------
	.globl mode_outside
mode_outside:
	# Nothing is behind OUTSIDE_ADDR: Xen emulates the read as I/O with no device
	# (all-ones) and the guest goes on; executing there cannot be emulated and
	# raises #GP(0), which the fatal exception handler reports before crashing.
	PUTS "outside: reading memory outside my allocation\n"
	movl OUTSIDE_ADDR, %eax
	PUTS "outside: read "
	call puthex
	PUTS ", now executing there\n"
	movl $OUTSIDE_ADDR, %eax
	jmp *%eax

# ---- touch: write and verify every RAM page of the memory map ---------------------
# Two dwords per page (offset 0: the address, offset 0xffc: its complement), so that
# two guest pages backed by one host page, or a wrong offset, show up in the verify
# pass. Skipped: the image (which holds the stack), [0x1000, 0x3000), and the pages of
# start_info, the memory map and the command line.
	.globl mode_touch
mode_touch:
	movl start_info, %ebx
	cmpl $1, SI_VERSION(%ebx)
	jb 1f
	cmpl $0, SI_MEMMAP_COUNT(%ebx)
	je 1f
	cmpl $0, SI_MEMMAP+4(%ebx)
	je 2f
1:	PUTS "touch: FAIL no memory map below 4 GiB in start_info\n"
	jmp fail

	# The excluded page ranges [first, end) in page numbers.
2:	movl $excl, %edi
	movl $__image_start, %eax
	movl $__image_end, %edx
	call add_excl
	movl $0x1000, %eax
	movl $0x3000, %edx
	call add_excl
	movl %ebx, %eax
	leal SI_SIZE(%ebx), %edx
	call add_excl
	movl SI_MEMMAP(%ebx), %eax
	imull $MM_ENTRY_SIZE, SI_MEMMAP_COUNT(%ebx), %edx
	addl %eax, %edx
	call add_excl
	movl cmdline, %esi
	call strlen
	movl %esi, %eax
	leal 1(%esi,%ecx), %edx
	call add_excl

	movl $0, touch_verify
	call touch_pass			# write
	movl %ecx, touch_pages
	movl $1, touch_verify
	call touch_pass			# verify
	cmpl touch_pages, %ecx
	je 3f
	PUTS "touch: FAIL the two passes saw different page counts\n"
	jmp fail
3:	PUTS "touched "
	movl %ecx, %eax
	call putdec
	PUTS " pages OK\n"
	jmp poweroff

# add_excl: append [EAX, EDX) rounded out to pages to the table at EDI (EDI += 8).
add_excl:
	pushl %eax
	pushl %edx
	shrl $12, %eax
	addl $0xfff, %edx
	shrl $12, %edx
	movl %eax, (%edi)
	movl %edx, 4(%edi)
	addl $8, %edi
	incl excl_count
	popl %edx
	popl %eax
	ret

# excluded: CF=1 iff page number EAX is in an excluded range.
excluded:
	pushl %esi
	pushl %ecx
	movl $excl, %esi
	movl excl_count, %ecx
1:	jecxz 3f
	cmpl (%esi), %eax
	jb 2f
	cmpl 4(%esi), %eax
	jb 4f				# first <= EAX < end: CF=1
2:	addl $8, %esi
	decl %ecx
	jmp 1b
3:	clc
4:	popl %ecx
	popl %esi
	ret

# touch_pass: one walk over the RAM pages; writes (touch_verify = 0) or verifies.
# ECX = pages visited. Clobbers EAX, EDX, ESI, EDI, EBP.
touch_pass:
	pushl %ebx
	movl start_info, %ebx
	movl SI_MEMMAP(%ebx), %esi
	movl SI_MEMMAP_COUNT(%ebx), %ebp
	xorl %ecx, %ecx
1:	testl %ebp, %ebp
	jz 9f
	cmpl $E820_RAM, MM_TYPE(%esi)
	jne 8f
	cmpl $0, MM_ADDR+4(%esi)	# starts above 4 GiB: out of 32-bit reach
	jne 8f
	cmpl $0, touch_verify
	jne 2f
	PUTS "touch: RAM "
	movl MM_ADDR(%esi), %eax
	movl MM_ADDR+4(%esi), %edx
	call puthex64
	PUTS " size "
	movl MM_SIZE(%esi), %eax
	movl MM_SIZE+4(%esi), %edx
	call puthex64
	call newline
2:	movl MM_ADDR(%esi), %eax	# first page: round up
	addl $0xfff, %eax
	jc 8f
	shrl $12, %eax
	movl MM_ADDR(%esi), %edi	# end page: (addr + size) >> 12, at most 0xc0000
	movl MM_SIZE+4(%esi), %edx
	addl MM_SIZE(%esi), %edi
	adcl $0, %edx
	jnz 3f
	shrl $12, %edi
	cmpl $0xc0000, %edi
	jbe 4f
3:	movl $0xc0000, %edi		# never into the MMIO window
4:	cmpl %edi, %eax
	jae 8f
	call excluded
	jc 7f
	movl %eax, %edx
	shll $12, %edx			# EDX = page address
	cmpl $0, touch_verify
	jne 5f
	pushl %eax
	movl %edx, %eax
	notl %eax
	movl %edx, (%edx)		# the address at offset 0
	movl %eax, 0xffc(%edx)		# its complement in the last dword
	popl %eax
	jmp 6f
5:	call touch_check
6:	incl %ecx
7:	incl %eax
	jmp 4b
8:	addl $MM_ENTRY_SIZE, %esi
	decl %ebp
	jmp 1b
9:	popl %ebx
	ret

# touch_check: verify the two dwords of the page at EDX.
touch_check:
	pushl %eax
	movl (%edx), %eax
	cmpl %edx, %eax
	jne 1f
	movl 0xffc(%edx), %eax
	notl %eax
	cmpl %edx, %eax
	jne 2f
	popl %eax
	ret
1:	PUTS "touch: FAIL at "
	pushl %eax
	movl %edx, %eax
	call puthex
	popl %eax
	jmp 3f
2:	notl %eax
	PUTS "touch: FAIL at "
	pushl %eax
	leal 0xffc(%edx), %eax
	call puthex
	popl %eax
3:	PUTS " read "
	call puthex
	call newline
	jmp fail

# ---- mmio: reads from an unassigned address of the MMIO window return all-ones ------
# Each form is a different instruction hv must decode: operand size, zero extension,
# partial-register merge, the moffs form (A1), SIB addressing and a non-EAX target.

# MMIO_CHECK expected, "description": compare EAX with expected and report a mismatch.
.macro MMIO_CHECK expected, desc
	.pushsection .rodata.str, "a"
.Lmmio\@: .asciz "\desc"
	.popsection
	pushl %edx
	pushl %esi
	movl $\expected, %edx
	movl $.Lmmio\@, %esi
	call mmio_expect
	popl %esi
	popl %edx
.endm

	.globl mode_mmio
mode_mmio:
	PUTS "mmio: probing 0xfeb00000\n"
	movl $MMIO_PROBE, %ebx

	movl $0x12345678, %eax
	movl (%ebx), %eax
	MMIO_CHECK 0xffffffff, "movl (%ebx),%eax"

	movl $0x12345678, %eax
	movzbl (%ebx), %eax
	MMIO_CHECK 0x000000ff, "movzbl (%ebx),%eax"

	movl $0x12345678, %eax
	movzwl (%ebx), %eax
	MMIO_CHECK 0x0000ffff, "movzwl (%ebx),%eax"

	movl $0x12345678, %eax
	movw (%ebx), %ax		# only AX changes
	MMIO_CHECK 0x1234ffff, "movw (%ebx),%ax"

	movl $0x12345678, %eax
	movb 3(%ebx), %al		# only AL changes
	MMIO_CHECK 0x123456ff, "movb 3(%ebx),%al"

	movl $0x12345678, %eax
	movl MMIO_PROBE + 0x10, %eax	# A1 moffs32
	MMIO_CHECK 0xffffffff, "movl 0xfeb00010,%eax (moffs)"

	movl $2, %ecx
	movl $0x12345678, %edx
	movl 8(%ebx,%ecx,4), %edx	# SIB, disp8, into EDX
	movl %edx, %eax
	MMIO_CHECK 0xffffffff, "movl 8(%ebx,%ecx,4),%edx"

	# Writes are dropped: the location still reads all-ones.
	movl $1, (%ebx)
	movb $2, 5(%ebx)
	movl %ecx, 0x10(%ebx)
	movl (%ebx), %eax
	MMIO_CHECK 0xffffffff, "movl (%ebx),%eax after writes"

	movl mmio_failures, %eax
	testl %eax, %eax
	jnz 1f
	PUTS "mmio reads all-ones OK\n"
	jmp poweroff
1:	PUTS "mmio: "
	call putdec
	PUTS " checks failed\n"
	jmp fail

# mmio_expect: if EAX != EDX, print "mmio: FAIL <ESI> read EAX expected EDX" and count it.
mmio_expect:
	cmpl %edx, %eax
	je 1f
	PUTS "mmio: FAIL "
	call puts
	PUTS " read "
	call puthex
	PUTS " expected "
	xchgl %eax, %edx
	call puthex
	xchgl %eax, %edx
	call newline
	incl mmio_failures
1:	ret

# ---- hostile N: unknown MSRs, I/O ports and CPUID leaves, N rounds ----------------
# Per round: RDMSR and WRMSR of an MSR inside the SVM permission map's third range
# (0xC0011234 + i) and of one outside every range (0x8BAD0000 + i%65536): 4 #GPs;
# IN byte/word/dword from port 0x1234 + i%256, each must give all-ones in the bytes
# it writes and leave the rest of EAX alone: 3 in_ones; OUT byte and dword there
# (dropped); CPUID 0x8FFFFF00 + i and 0x4000FF00 + i: 2 all-zero results.
	.globl mode_hostile
mode_hostile:
	call parse_dec
	jnc 1f
	movl $1000, %eax		# default N
1:	movl %eax, hostile_rounds
	PUTS "hostile: "
	call putdec
	PUTS " rounds of unknown MSRs, I/O ports and CPUID leaves\n"
	movb $1, gp_skip		# the #GP handler now skips RDMSR/WRMSR

	xorl %edi, %edi			# EDI = i
2:	cmpl hostile_rounds, %edi
	jae 9f

	leal 0xc0011234(%edi), %ecx
	rdmsr
	leal 0xc0011234(%edi), %ecx
	movl %edi, %eax
	movl $0x5a5a5a5a, %edx
	wrmsr
	movzwl %di, %ecx
	addl $0x8bad0000, %ecx
	rdmsr
	movzwl %di, %ecx
	addl $0x8bad0000, %ecx
	movl $0xa5a5a5a5, %eax
	movl %edi, %edx
	wrmsr

	movl %edi, %edx			# port 0x1234 + i%256
	andl $0xff, %edx
	addl $0x1234, %edx
	movl $0x12345600, %eax
	inb %dx, %al
	cmpl $0x123456ff, %eax
	jne 3f
	incl in_ones
3:	movl $0x12340000, %eax
	inw %dx, %ax
	cmpl $0x1234ffff, %eax
	jne 4f
	incl in_ones
4:	xorl %eax, %eax
	inl %dx, %eax
	cmpl $0xffffffff, %eax
	jne 5f
	incl in_ones
5:	movb $0x55, %al
	outb %al, %dx
	movl $0xa5a5a5a5, %eax
	outl %eax, %dx

	leal 0x8fffff00(%edi), %eax
	cpuid
	orl %ebx, %eax
	orl %ecx, %eax
	orl %edx, %eax
	jnz 6f
	incl cpuid_zero
6:	leal 0x4000ff00(%edi), %eax
	cpuid
	orl %ebx, %eax
	orl %ecx, %eax
	orl %edx, %eax
	jnz 7f
	incl cpuid_zero
7:	incl %edi
	jmp 2b

9:	movb $0, gp_skip
	PUTS "hostile: gp="
	movl gp_count, %eax
	call putdec
	PUTS " in_ones="
	movl in_ones, %eax
	call putdec
	PUTS " cpuid_zero="
	movl cpuid_zero, %eax
	call putdec
	call newline

	movl hostile_rounds, %ebx	# expected: gp 4N, in_ones 3N, cpuid_zero 2N
	leal (,%ebx,4), %eax
	cmpl gp_count, %eax
	jne 10f
	leal (%ebx,%ebx,2), %eax
	cmpl in_ones, %eax
	jne 10f
	leal (%ebx,%ebx), %eax
	cmpl cpuid_zero, %eax
	jne 10f
	PUTS "hostile: done\n"
	jmp poweroff
10:	PUTS "hostile: FAIL expected gp="
	leal (,%ebx,4), %eax
	call putdec
	PUTS " in_ones="
	leal (%ebx,%ebx,2), %eax
	call putdec
	PUTS " cpuid_zero="
	leal (%ebx,%ebx), %eax
	call putdec
	call newline
	jmp fail

# ---- bench N: N null hypercalls timed with RDTSC; hv reports the median ------------
	.globl mode_bench
mode_bench:
	call parse_dec
	jnc 1f
	movl $1000, %eax		# default N
1:	cmpl $BENCH_MAX, %eax
	jbe 2f
	PUTS "bench: at most 200000 samples\n"
	movl $BENCH_MAX, %eax
2:	movl %eax, bench_n
	PUTS "bench: "
	call putdec
	PUTS " null hypercalls\n"
	call xen_version		# once, checked, outside the timed loop
	testl %eax, %eax
	jns 3f
	PUTS "bench: FAIL xen_version returned "
	call puthex
	call newline
	jmp fail

3:	xorl %edi, %edi			# EDI = i
4:	cmpl bench_n, %edi
	jae 5f
	lfence				# RDTSC must not start before earlier work ends
	rdtsc
	movl %eax, %esi
	movl $HC_xen_version, %eax
	movl $XENVER_version, %ebx
	xorl %ecx, %ecx
	vmmcall
	lfence
	rdtsc
	subl %esi, %eax
	movl %eax, bench_samples(,%edi,4)
	incl %edi
	jmp 4b

5:	movl $0xffffffff, %eax		# the minimum, printed by the guest itself
	xorl %edi, %edi
6:	cmpl bench_n, %edi
	jae 8f
	cmpl bench_samples(,%edi,4), %eax
	jbe 7f
	movl bench_samples(,%edi,4), %eax
7:	incl %edi
	jmp 6b
8:	cmpl $0, bench_n
	je 9f
	PUTS "bench: min "
	call putdec
	PUTS " TSC cycles\n"

9:	movl $GOZEN_REPORT_null_hypercall, %eax
	movl $bench_samples, %edx
	movl bench_n, %ecx
	call gozen_report
	testl %eax, %eax
	jns 10f
	PUTS "bench: FAIL gozen_op report returned "
	call puthex
	call newline
	jmp fail
10:	PUTS "bench: done\n"
	jmp poweroff

# ---- exitbench N: N round trips of each of three exits, timed with RDTSC -------------
# A null hypercall (vmmcall xen_version, report 1), CPUID leaf 0 (report 6) and an
# OUT to port 0x80, where no device is (report 7): one sample each is
# lfence; rdtsc; EXIT; lfence; rdtsc. bench/exits.sh runs it against hv and
# against a testhooks hv with exitfloor, whose run loop only resumes the guest.
	.globl mode_exitbench
mode_exitbench:
	call parse_dec
	jnc 1f
	movl $1000, %eax		# default N
1:	cmpl $BENCH_MAX, %eax
	jbe 2f
	movl $BENCH_MAX, %eax
2:	movl %eax, bench_n
	PUTS "exitbench: "
	call putdec
	PUTS " round trips of each exit\n"

	xorl %edi, %edi			# hypercalls
3:	cmpl bench_n, %edi
	jae 4f
	lfence
	rdtsc
	movl %eax, %esi
	movl $HC_xen_version, %eax
	movl $XENVER_version, %ebx
	xorl %ecx, %ecx
	vmmcall
	lfence
	rdtsc
	subl %esi, %eax
	movl %eax, bench_samples(,%edi,4)
	incl %edi
	jmp 3b
4:	movl $GOZEN_REPORT_null_hypercall, %eax
	call exitbench_report

	xorl %edi, %edi			# CPUID
5:	cmpl bench_n, %edi
	jae 6f
	lfence
	rdtsc
	movl %eax, %esi
	xorl %eax, %eax
	xorl %ecx, %ecx
	cpuid
	lfence
	rdtsc
	subl %esi, %eax
	movl %eax, bench_samples(,%edi,4)
	incl %edi
	jmp 5b
6:	movl $GOZEN_REPORT_cpuid, %eax
	call exitbench_report

	xorl %edi, %edi			# port write
7:	cmpl bench_n, %edi
	jae 8f
	lfence
	rdtsc
	movl %eax, %esi
	outb %al, $0x80
	lfence
	rdtsc
	subl %esi, %eax
	movl %eax, bench_samples(,%edi,4)
	incl %edi
	jmp 7b
8:	movl $GOZEN_REPORT_outb, %eax
	call exitbench_report
	PUTS "exitbench: done\n"
	jmp poweroff

# exitbench_report: report bench_n samples under key EAX; fails the run if hv refuses.
exitbench_report:
	movl $bench_samples, %edx
	movl bench_n, %ecx
	call gozen_report
	testl %eax, %eax
	jns 1f
	PUTS "exitbench: FAIL gozen_op report returned "
	call puthex
	call newline
	jmp fail
1:	ret

# ---- anything else ------------------------------------------------------------------
	.globl mode_unknown
mode_unknown:
	PUTS "unknown mode\n"
	jmp fail

	.section .rodata
msg_console:	.asciz "console hypercall works\n"
default_tag:	.asciz "count"

	.bss
	.balign 4096
	.globl bench_samples		# evtping (xen.S) keeps its samples here too
bench_samples:	.skip 4 * BENCH_MAX	# u32 TSC deltas
	.balign 4
excl:		.skip 8 * 8		# excluded page ranges {first, end}
excl_count:	.long 0
touch_verify:	.long 0
touch_pages:	.long 0
mmio_failures:	.long 0
hostile_rounds:	.long 0
in_ones:	.long 0
cpuid_zero:	.long 0
bench_n:	.long 0
sigbuf:		.skip 16
tagbuf:		.skip 12
