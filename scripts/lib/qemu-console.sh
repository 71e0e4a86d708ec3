# scripts/lib/qemu-console.sh - sourced by the scripts that boot a kernel
# under QEMU alone and talk to its serial console (boot-linux-qemu.sh,
# boot-dom0-qemu.sh). The caller sets consolelog, timeout and the qemu
# array, and defines log and die; then:
#
#   qemu_start            run "${qemu[@]}" in the background, its serial
#                         input on fd 3 (printf '...\n' >&3 types), its
#                         output in $consolelog; sets qpid and t0
#   wait_for REGEX STEP   wait until the console log matches REGEX (grep -E)
#   ms_since_start        milliseconds since qemu_start
#   qemu_wait_exit        wait (at most $timeout s) for QEMU to exit; its
#                         exit status is then in qemu_status
#
# QEMU is killed and the scratch directory removed when the script exits.

qpid=
qemu_work=$(mktemp -d)
qemu_cleanup() {
	if [[ -n $qpid ]] && kill -0 "$qpid" 2>/dev/null; then
		kill "$qpid" 2>/dev/null || true
	fi
	rm -rf "$qemu_work"
}
trap qemu_cleanup EXIT

qemu_start() {
	mkfifo "$qemu_work/in"
	# Keep the FIFO open read-write so QEMU never sees end of input.
	exec 3<>"$qemu_work/in"
	log "${qemu[*]}"
	t0=$EPOCHREALTIME
	"${qemu[@]}" <&3 >"$consolelog" 2>&1 &
	qpid=$!
}

ms_since_start() {
	local now=$EPOCHREALTIME
	echo $(((${now/./} - ${t0/./}) / 1000))
}

wait_for() {
	local deadline=$((SECONDS + timeout))
	until grep -qE -- "$1" "$consolelog"; do
		if ! kill -0 "$qpid" 2>/dev/null; then
			tail -n 30 "$consolelog" >&2
			die "QEMU exited before $2"
		fi
		if ((SECONDS >= deadline)); then
			tail -n 30 "$consolelog" >&2
			die "no $2 within ${timeout}s"
		fi
		sleep 0.02
	done
}

qemu_wait_exit() {
	local deadline=$((SECONDS + timeout))
	while kill -0 "$qpid" 2>/dev/null; do
		((SECONDS < deadline)) || die "QEMU still running ${timeout}s after poweroff"
		sleep 0.05
	done
	qemu_status=0
	wait "$qpid" || qemu_status=$?
	qpid=
}
