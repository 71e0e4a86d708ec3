#!/usr/bin/env bash
# bench/issue15.sh [RUNS] - every issue-15 benchmark in one go (RUNS default
# 5: the issue asks for medians of 5):
#
#   1. bench/linux-boot.sh RUNS: QEMU start -> userspace marker for QEMU
#      alone, hv+vmlinux and hv+bzImage (medians, ratios against the goals
#      1.15 and 1.25), QEMU's peak RSS (medians, against 1.1 x QEMU alone +
#      hv's pool), port I/O exits per boot (goal under 1,000);
#   2. bench/exits.sh RUNS 5000: exit round trips in guest TSC ticks against
#      the floor (goal within 1.5x for each kind), wall clock;
#   3. ICOUNT=1 bench/exits.sh 1 2000: the same in guest instructions
#      (deterministic, so one run), what hv adds whatever the load;
#   4. bench/bzimage-icount.sh: the bzImage decompression in millions of
#      guest instructions (deterministic).
#
# 1 and 2 are wall clock under TCG and move with the host's load (each run
# prints the load average); 3 and 4 do not. SKIP="1 2" (say) leaves parts
# out. About 6 minutes per run of part 1 at low load, 2 per run of part 2.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:-5}
skip=" ${SKIP:-} "
part() { [[ $skip != *" $1 "* ]] && echo "== $2 ($(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg))"; }
if part 1 "Linux boot: time, peak RSS, port I/O exits (bench/linux-boot.sh $runs)"; then
	./bench/linux-boot.sh "$runs"
fi
if part 2 "exit round trips, wall clock (bench/exits.sh $runs 5000)"; then
	./bench/exits.sh "$runs" 5000
fi
if part 3 "exit round trips, guest instructions (ICOUNT=1 bench/exits.sh 1 2000)"; then
	ICOUNT=1 ./bench/exits.sh 1 2000
fi
if part 4 "bzImage decompression, guest instructions (bench/bzimage-icount.sh)"; then
	./bench/bzimage-icount.sh
fi
