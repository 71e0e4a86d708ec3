# bench/lib.sh - sourced by the benchmark scripts: the images they boot, the
# median of a column of numbers, and one QEMU boot timed to the userspace
# marker. A script sets $tmp (a scratch directory) and the array common
# (QEMU's flags shared by all its boots) before calling boot_to_marker.

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
lx=out/linux

# bench_images [dom0]: Debian's kernel, the domU initramfs with the vmlinux
# beside the bzImage, hv.bin and, with "dom0", dom0's initramfs.
bench_images() {
	./scripts/get-kernel.sh "$lx" >/dev/null
	go run ./tools/mkdomu -o "$lx" -vmlinux >/dev/null
	if [ "${1:-}" = dom0 ]; then go run ./tools/mkdom0 -o "$lx" >/dev/null; fi
	go run ./tools/mkimage -o out >/dev/null
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# boot_to_marker NAME PROMPT EXITS ARGS...: boots QEMU with "${common[@]}"
# ARGS, its console in $tmp/NAME.log, and prints the seconds from QEMU's
# start until GOZEN-USERSPACE-UP appears (4 minutes at most); QEMU's peak RSS
# then (KiB) goes to $tmp/NAME.rss. With a PROMPT (grep -E, the shell's
# prompt) it then types poweroff and keeps the last console line matching
# EXITS (hv's port I/O exit count for the domain, the text after '": ') in
# $tmp/NAME.ports. Returns 1, with the log's tail on stderr, if the marker
# never appears.
boot_to_marker() {
	local name=$1 prompt=$2 exits=$3 log=$tmp/$1.log fifo=$tmp/$1.in start pid t=""
	shift 3
	rm -f "$fifo" && mkfifo "$fifo"
	start=$(date +%s.%N)
	qemu-system-x86_64 "${common[@]}" "$@" <"$fifo" >"$log" 2>&1 &
	pid=$!
	exec 3>"$fifo"
	for _ in $(seq 1 4800); do
		if grep -aq GOZEN-USERSPACE-UP "$log"; then
			t=$(echo "$(date +%s.%N) - $start" | bc)
			awk '/^VmHWM/ {print $2}' "/proc/$pid/status" >"$tmp/$name.rss" 2>/dev/null || true
			break
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if [ -n "$t" ] && [ -n "$prompt" ]; then
		for _ in $(seq 1 400); do
			grep -aqE "$prompt" "$log" && break
			sleep 0.05
		done
		printf 'poweroff\r' >&3
		for _ in $(seq 1 600); do
			grep -aq "$exits" "$log" && break
			sleep 0.1
		done
		grep -a "$exits" "$log" | tail -1 | sed 's/.*": //' >"$tmp/$name.ports" || true
	fi
	exec 3>&-
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	if [ -z "$t" ]; then
		echo "$name: marker never appeared; log:" >&2
		tail -20 "$log" >&2
		return 1
	fi
	echo "$t"
}
