#!/usr/bin/env bash
# bochs-test.sh - boot GoZen under Bochs (an Intel CPU model with VT-x, EPT
# and unrestricted guest) from a GRUB ISO, and check what it prints and how
# it stops. The VT-x backend's counterpart of qemu-test.sh (QEMU's TCG
# offers no VMX).
#
#   ./bochs-test.sh              build, then run every scenario
#   ./bochs-test.sh NAME...      build, then run the named scenarios (globs work)
#   ./bochs-test.sh --list       list scenario names
#
# Environment:
#   BOCHS_TEST_NO_BUILD=1         reuse existing images
#   BOCHS_TEST_TIMEOUT_SCALE=N    multiply every timeout by the integer N
#   BOCHS_TEST_KEEP=1             keep each run's directory (bochsrc, bochs.log)
#
# Bochs has no isa-debug-exit device: hv's exit code is read from its last
# serial line, "hv: stopped (code N)" (0 success, 1 test failure, 2 bad boot
# input, 3 fatal). Bochs then idles; the script stops it. Serial output
# goes to out/logs/bochs-NAME.log with carriage returns and escapes removed.
#
# Debian's Bochs 2.7 starts in its debugger and has no "nogui": it runs with
# display_library term under script(1), and the debugger's "c" command.
# Guest time is instruction-driven (ips below), so hv's timers see the same
# time whatever the load; wall time grows with the load.

set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")" || exit 2

OUT=out
LOGDIR=$OUT/logs
RUNDIR=$OUT/bochs
HV=$OUT/hv.bin
GUEST=$OUT/guests/testguest.elf
# A second copy for the second domain: mkiso puts modules in /boot by base name.
GUEST2=$OUT/bochs/testguest-2.elf
MODEL=corei7_skylake_x # VT-x with EPT, VPID, unrestricted guest
IPS=200000000

# ---------------------------------------------------------------------------
# Scenario table.
#
#   scenario NAME TIMEOUT CODE 'MUST_MATCH' ['+ALSO_MUST_MATCH'...] ['!MUST_NOT_MATCH'...] [@OPTION...] MKISO-ARGS...
#
# Builds out/bochs/NAME.iso with `go run ./tools/mkiso -hv out/hv.bin
# MKISO-ARGS...` and boots it. TIMEOUT is wall seconds on an idle machine.
# Options: @cpu=MODEL (default corei7_skylake_x), @megs=N (RAM, default
# 512), @until=REGEX (stop when the serial log matches it instead of
# waiting for hv to stop; CODE is then "-", not checked), @manual (run only
# when named: too slow for CI).
# ---------------------------------------------------------------------------
define_scenarios() {
	local one="domain=t1,mem=16M,module=0" two="domain=a,mem=16M,module=0 domain=b,mem=16M,module=1"
	scenario selftest 60 0 '^SELFTEST: PASS' '+^vmx: VMX revision .* ept unrestricted-guest' '!^SELFTEST: FAIL' -cmdline "selftest"
	scenario guest-hello 60 0 '^\(t1\) hello from the test guest' '+^\(t1\) console hypercall works' \
		'+signature "XenVMMXenVMM"' '+^\(t1\) timer woke me' '+domain 1 "t1" shut down: poweroff' \
		-cmdline "$one" -module "$GUEST:hello"
	scenario guest-long 60 0 '^\(t1\) long: OK' '+shut down: poweroff' '!FAIL' -cmdline "$one" -module "$GUEST:long"
	scenario guest-touch 60 0 '^\(t1\) touched [0-9]+ pages OK' '+shut down: poweroff' -cmdline "$one" -module "$GUEST:touch"
	scenario guest-mmio 60 0 '^\(t1\) mmio reads all-ones OK' '!FAIL' -cmdline "$one" -module "$GUEST:mmio"
	scenario guest-apic 60 0 '^\(t1\) apic: OK' '+^\(t1\) apic: ESR after an illegal vector 0x0*20$' '+shut down: poweroff' '!FAIL' \
		-cmdline "$one" -module "$GUEST:apic"
	scenario guest-hostile 120 0 '^\(t1\) hostile: done' '+hostile: gp=[1-9]' '+shut down: poweroff' \
		-cmdline "$one" -module "$GUEST:hostile 2000"
	scenario two-guests 90 0 '^\(a\) alpha 1$' '+^\(b\) beta 1$' '+^\(a\) alpha 8$' '+^\(b\) beta 8$' \
		'+"a" shut down: poweroff' '+"b" shut down: poweroff' \
		-cmdline "$two" -module "$GUEST:count 8 alpha" -module "$GUEST2:count 8 beta"
	scenario triple-fault 90 1 '"bad" crashed: triple fault' '+^\(ok\) ok 6$' '+"ok" shut down: poweroff' '!^\(bad\) .*after' \
		-cmdline "domain=bad,mem=16M,module=0 domain=ok,mem=16M,module=1" -module "$GUEST:triple" -module "$GUEST2:count 6 ok"
	scenario outside-memory 90 1 '^\(bad\) outside: read 0xffffffff, now executing there' \
		'+^\(bad\) testguest: unexpected exception 13 error 0x00000000 at eip 0x80000000' '+"bad" shut down: crash' \
		'+"ok" shut down: poweroff' '!"bad" crashed' \
		-cmdline "domain=bad,mem=16M,module=0 domain=ok,mem=16M,module=1" -module "$GUEST:outside" -module "$GUEST2:count 4 ok"
	scenario evtchn-pingpong 90 0 '^\(a\) evtping: 1000 round trips done' '+^\(b\) evtpong: done' \
		'+"a" report 2: 1000 samples' -cmdline "$two" -module "$GUEST:evtping 1000 3" -module "$GUEST2:evtpong 1000"
	scenario grant-copy 90 0 '^\(b\) grantdst: copy OK' '+^\(b\) grantdst: map OK' '+^\(a\) grantsrc: saw the peer.s write' \
		'!FAIL' -cmdline "$two" -module "$GUEST:grantsrc" -module "$GUEST2:grantdst"
	# 32-bit guests on Xen's compat ABI, paging off and with 4 MiB pages. (qemu-test.sh's
	# compat-pae presets the accessed bit in a PDPTE, which AMD allows; on Intel that bit
	# is reserved and the guest's own MOV to CR0 raises #GP, as on hardware under Xen.)
	scenario compat-flat 60 0 '^\(t1\) compat: OK' '+^\(t1\) compat: shared_info mapped at frame' \
		'+^\(t1\) compat: grant copy of 64 bytes OK' '+"t1" shut down: poweroff' '!FAIL' '!crashed' \
		-cmdline "$one" -module "$GUEST:compat"
	scenario compat-pse 60 0 '^\(t1\) compat: OK' '+^\(t1\) compat: cpuid with paging on OK' \
		'+"t1" shut down: poweroff' '!FAIL' '!crashed' -cmdline "$one" -module "$GUEST:compat pse"
	scenario guest-debug 90 0 '^\(a\) debug: OK' '+^\(b\) debug: OK' \
		'+^\(a\) debug: ICEBP raised (#DB with EIP after the instruction|#UD without an exit: this CPU lacks INT1)' \
		'+^\(a\) debug: DR0-DR3 and DR7 kept across 20 yields' '+^\(b\) debug: DR0-DR3 and DR7 kept across 20 yields' \
		'+"a" shut down: poweroff' '+"b" shut down: poweroff' '!FAIL' '!crashed' \
		-cmdline "$two" -module "$GUEST:debug 1" -module "$GUEST2:debug 2"
	# p2m changes under a running guest (INVEPT): memory given back and populated again,
	# and a read-only grant against every hv write path.
	scenario balloon 60 0 '^\(t1\) balloon: OK' '+domain 1 "t1" shut down: poweroff' '!FAIL' \
		-cmdline "bootscrub=off domain=t1,mem=4M,module=0" -module "$GUEST:balloon"
	scenario guest-unpop 60 0 '^\(t1\) unpop: OK' '+^\(t1\) unpop: a frame given back reads all-ones and drops writes' \
		'+^\(t1\) unpop: executing there raises #GP\(0\)' '+^\(t1\) unpop: populate_physmap brings it back zeroed' \
		'+"t1" shut down: poweroff' '!FAIL' '!crashed' -cmdline "$one" -module "$GUEST:unpop"
	scenario ro-grant-writes 90 0 '^\(g\) rogrant: canary intact after the attack' \
		'+^\(x\) roattack: all 10 write paths refused' '+^\(x\) roattack: hypercall page MSR refused: #GP' \
		'+"g" shut down: poweroff' '+"x" shut down: poweroff' '!FAIL' \
		-cmdline "domain=g,mem=16M,module=0 domain=x,mem=16M,module=1" -module "$GUEST:rogrant" -module "$GUEST2:roattack"
	scenario guest-bench 120 0 'report 1: 100000 samples, median [0-9]+' -cmdline "$one" -module "$GUEST:bench 100000"
	# Null hypercall, CPUID and port-write round trips (reports 1, 6, 7; BENCHMARKS.md).
	scenario exit-bench 120 0 '"t1" report 1: 10000 samples, median [0-9]+' '+"t1" report 6: 10000 samples' \
		'+"t1" report 7: 10000 samples' '+^\(t1\) exitbench: done' -cmdline "$one" -module "$GUEST:exitbench 10000"
	# Refusals: a CPU without VT-x, with VT-x but no EPT (Core 2), with EPT
	# but no unrestricted guest (Nehalem).
	scenario no-vmx 60 2 'hv: cannot run domains: this CPU has no AMD SVM .* and no Intel VT-x' \
		@cpu=p4_prescott_celeron_336 -cmdline "$one" -module "$GUEST:hello"
	scenario no-ept 60 2 'hv: cannot run domains: .*no extended page tables' '+^vmx: unavailable' \
		@cpu=core2_penryn_t9600 -cmdline "$one" -module "$GUEST:hello"
	scenario no-unrestricted 60 2 'hv: cannot run domains: .*no unrestricted guest' \
		@cpu=corei5_lynnfield_750 -cmdline "$one" -module "$GUEST:hello"
	# Debian's Linux 6.1 as a PVH domU to its u-root shell (no input: Bochs's serial
	# port is a file here, so the run stops at the shell). Too slow for CI; see
	# BENCHMARKS.md for its timing.
	local lx="$OUT/linux"
	scenario linux-domu 3000 - '^\(linux\) GOZEN-USERSPACE-UP' '+^\(linux\) .*Linux version 6\.1\.0' \
		'+Xen HVM callback vector' '!crashed' @manual @megs=1024 @until='GOZEN-USERSPACE-UP|crashed' \
		-cmdline "hvmem=200M bootscrub=off domain=linux,mem=256M,module=0,ramdisk=1" \
		-module "$lx/vmlinux:console=hvc0" -module "$lx/initramfs.cpio"
	# The same with two vCPUs: the second comes up through INIT and a start-up IPI, in
	# real mode (unrestricted guest), and switches to long mode through CR0 exits.
	scenario linux-smp2 3000 - '^\(linux\) GOZEN-USERSPACE-UP' '+smpboot: Total of 2 processors activated' \
		'!crashed' '!do_boot_cpu failed' @manual @megs=1024 @until='GOZEN-USERSPACE-UP|crashed' \
		-cmdline "hvmem=200M bootscrub=off domain=linux,mem=256M,module=0,ramdisk=1,vcpus=2" \
		-module "$lx/vmlinux:console=hvc0" -module "$lx/initramfs.cpio"
}

# ---------------------------------------------------------------------------
# Harness.
# ---------------------------------------------------------------------------

NAMES=()
declare -A S_TIMEOUT S_CODE S_MATCH S_NOMATCH S_ARGS S_CPU S_MEGS S_UNTIL S_MANUAL

die() {
	echo "bochs-test: $*" >&2
	exit 2
}

# scenario NAME TIMEOUT CODE MUST_MATCH [+ALSO|!NOT|@cpu=M]... MKISO-ARGS...
scenario() {
	(($# >= 4)) || die "scenario ${1:-?}: need NAME TIMEOUT CODE REGEX [ARGS...]"
	local name=$1 t=$2 code=$3 match=("$4") nomatch=() cpu=$MODEL megs=512 until="" manual=0
	shift 4
	while (($#)); do
		case $1 in
		+*) match+=("${1:1}") ;;
		!*) nomatch+=("${1:1}") ;;
		@cpu=*) cpu=${1#@cpu=} ;;
		@megs=*) megs=${1#@megs=} ;;
		@until=*) until=${1#@until=} ;;
		@manual) manual=1 ;;
		*) break ;;
		esac
		shift
	done
	NAMES+=("$name")
	S_TIMEOUT[$name]=$t S_CODE[$name]=$code S_CPU[$name]=$cpu S_MEGS[$name]=$megs S_UNTIL[$name]=$until S_MANUAL[$name]=$manual
	S_MATCH[$name]=$(printf '%s\n' "${match[@]}")
	S_NOMATCH[$name]=$( ((${#nomatch[@]})) && printf '%s\n' "${nomatch[@]}")
	S_ARGS[$name]=$(printf '%q ' "$@")
}

ensure_tools() {
	local missing=()
	command -v bochs >/dev/null || missing+=(bochs bochs-term bochsbios vgabios)
	[[ -e /usr/share/bochs/BIOS-bochs-latest ]] || missing+=(bochsbios)
	command -v script >/dev/null || missing+=(bsdutils)
	command -v grub-mkrescue >/dev/null || missing+=(grub-pc-bin grub-common xorriso mtools)
	command -v as >/dev/null || missing+=(binutils)
	if ((${#missing[@]})); then
		echo "bochs-test: installing ${missing[*]}"
		local sudo=()
		((EUID == 0)) || sudo=(sudo)
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
			die "cannot install ${missing[*]}"
	fi
	command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
}

build() {
	[[ ${BOCHS_TEST_NO_BUILD:-} == 1 ]] && return 0
	go run ./tools/mkimage -o "$OUT" >/dev/null && go run ./tools/mkguest -o "$OUT/guests" >/dev/null || return 1
}

copy_guest() {
	mkdir -p "$RUNDIR" && cp "$GUEST" "$GUEST2"
}

# run_bochs DIR ISO CPU MEGS TIMEOUT [UNTIL]: boots the ISO, returns when hv
# has stopped (or the log matches UNTIL) or the timeout passed;
# DIR/serial.out holds COM1.
run_bochs() {
	local dir=$1 iso=$2 cpu=$3 megs=$4 t=$5 until=${6:-'hv: stopped \(code [0-9]\)'}
	rm -f "$dir/serial.out" "$dir/bochs.log"
	cat >"$dir/bochsrc" <<EOT
megs: $megs
cpu: model=$cpu, count=1, ips=$IPS
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
ata0-master: type=cdrom, path=$iso, status=inserted
boot: cdrom
display_library: term
com1: enabled=1, mode=file, dev=serial.out
log: bochs.log
port_e9_hack: enabled=1
EOT
	echo c >"$dir/cont.rc"
	(cd "$dir" && TERM=xterm exec script -q -c "exec bochs -q -f bochsrc -rc cont.rc" /dev/null >term.out 2>&1 </dev/null) &
	local spid=$! start=$SECONDS
	while ((SECONDS - start < t)); do
		sleep 1
		grep -aEq -- "$until" "$dir/serial.out" 2>/dev/null && break
		kill -0 "$spid" 2>/dev/null || break
	done
	# Stop Bochs (the child of script(1) started above), then script.
	local b
	for b in $(pgrep -P "$spid"); do
		pkill -P "$b" 2>/dev/null
		kill "$b" 2>/dev/null
	done
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
}

run_scenario() {
	local name=$1 scale=${BOCHS_TEST_TIMEOUT_SCALE:-1}
	local t=$((S_TIMEOUT[$name] * scale)) dir=$RUNDIR/$name log=$LOGDIR/bochs-$name.log
	mkdir -p "$dir" "$LOGDIR"
	local args
	eval "args=(${S_ARGS[$name]})"
	if ! go run ./tools/mkiso -hv "$HV" -o "$dir/hv.iso" "${args[@]}" >"$dir/mkiso.out" 2>&1; then
		echo "FAIL $name: mkiso: $(tail -1 "$dir/mkiso.out")"
		return 1
	fi
	local t0=$SECONDS
	run_bochs "$dir" "$PWD/$dir/hv.iso" "${S_CPU[$name]}" "${S_MEGS[$name]}" "$t" "${S_UNTIL[$name]}"
	local secs=$((SECONDS - t0))
	sed -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' "$dir/serial.out" >"$log" 2>/dev/null || : >"$log"
	local reasons=() code re
	code=$(sed -n 's/.*hv: stopped (code \([0-9]\)).*/\1/p' "$log" | tail -1)
	if [[ ${S_CODE[$name]} == - ]]; then
		: # stopped at S_UNTIL: hv was still running
	elif [[ -z $code ]]; then
		reasons+=("no 'hv: stopped' line within ${t}s")
	elif [[ $code != "${S_CODE[$name]}" ]]; then
		reasons+=("code $code, want ${S_CODE[$name]}")
	fi
	while IFS= read -r re; do
		[[ -z $re ]] && continue
		grep -Eq -- "$re" "$log" || reasons+=("missing /$re/")
	done <<<"${S_MATCH[$name]}"
	while IFS= read -r re; do
		[[ -z $re ]] && continue
		grep -Eq -- "$re" "$log" && reasons+=("unexpected /$re/")
	done <<<"${S_NOMATCH[$name]}"
	[[ ${BOCHS_TEST_KEEP:-} == 1 ]] || rm -f "$dir/hv.iso"
	if ((${#reasons[@]} == 0)); then
		echo "PASS $name (${secs}s, cpu ${S_CPU[$name]})"
		return 0
	fi
	local IFS='; '
	echo "FAIL $name (${secs}s): ${reasons[*]}; log $log"
	return 1
}

main() {
	define_scenarios
	if [[ ${1:-} == --list ]]; then
		printf '%s\n' "${NAMES[@]}"
		return 0
	fi
	local selected=() n="" pat=""
	if (($#)); then
		for pat in "$@"; do
			local hit=0
			for n in "${NAMES[@]}"; do
				# shellcheck disable=SC2053
				[[ $n == $pat ]] && selected+=("$n") && hit=1
			done
			((hit)) || die "no scenario matches '$pat' (--list lists them)"
		done
	else
		for n in "${NAMES[@]}"; do
			((S_MANUAL[$n])) || selected+=("$n")
		done
	fi
	ensure_tools
	build || die "build failed"
	copy_guest || die "cannot copy $GUEST"
	local pass=0 fail=0
	for n in "${selected[@]}"; do
		if run_scenario "$n"; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1))
		fi
	done
	echo "$pass passed, $fail failed"
	((fail == 0))
}

main "$@"
