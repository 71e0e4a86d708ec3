#!/usr/bin/env bash
# bench/hypercall.sh [RUNS] - null-hypercall round trip and exit rate under
# QEMU TCG: runs the qemu-test scenario guest-bench RUNS times (default 3).
# The test guest times 100000 xen_version hypercalls with RDTSC (guest TSC
# cycles, each sample lfence;rdtsc / vmmcall / rdtsc) and hands the samples
# to hv, which prints their median; hv also prints exits per second and heap
# allocations per exit for the whole run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:-3}
./qemu-test.sh guest-bench >/dev/null
for i in $(seq 1 "$runs"); do
	QEMU_TEST_NO_BUILD=1 ./qemu-test.sh guest-bench >/dev/null
	log=out/logs/guest-bench.log
	median=$(grep -aoE 'median [0-9]+' "$log" | awk '{print $2}')
	rate=$(grep -aoE 'exits in [0-9.]+s \([0-9]+/s\)' "$log" | grep -oE '\([0-9]+' | tr -d '(')
	allocs=$(grep -aoE '\([0-9.]+ per exit\)' "$log" | grep -oE '[0-9.]+')
	echo "run $i: null hypercall median ${median} TSC cycles, ${rate} exits/s, ${allocs} heap allocations per exit"
done
