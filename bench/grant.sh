#!/usr/bin/env bash
# bench/grant.sh [RUNS] - grant copy throughput under QEMU TCG: runs the
# qemu-test scenario grant-bench RUNS times (default 3). Domain 1 (grantsrc)
# grants a page to domain 2 (grantbench 2000), which times 2000 hypercalls of
# each kind with RDTSC (guest TSC cycles, lfence;rdtsc / vmmcall / rdtsc),
# every one a grant_table_op(GNTTABOP_copy) of whole 4096-byte pages:
#   from16: 16 ops, the peer's granted page -> 16 of our pages (GNTCOPY_source_gref)
#   from1:  1 op, the same page -> one of our pages
#   into16: 16 ops, 16 of our pages -> the peer's granted page (GNTCOPY_dest_gref)
# hv prints the median of each (report keys 3, 4, 5). Throughput is the bytes
# one hypercall moves over its median time, with the TSC frequency hv
# calibrated at boot (its "tsc N MHz" line); MB/s is 10^6 bytes per second.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:-3}
./qemu-test.sh grant-bench >/dev/null
log=out/logs/grant-bench.log
median() { # median KEY: the median of hv's "report KEY" line
	grep -aoE "\"b\" report $1: [0-9]+ samples, median [0-9]+" "$log" | grep -oE '[0-9]+$'
}
mbps() { # mbps BYTES CYCLES MHZ
	awk -v b="$1" -v c="$2" -v f="$3" 'BEGIN { printf "%.0f", b * f / c }'
}
for i in $(seq 1 "$runs"); do
	QEMU_TEST_NO_BUILD=1 ./qemu-test.sh grant-bench >/dev/null
	mhz=$(grep -aoE 'tsc [0-9]+ MHz' "$log" | grep -oE '[0-9]+')
	f16=$(median 3)
	f1=$(median 4)
	t16=$(median 5)
	echo "run $i: TSC $mhz MHz;" \
		"16 pages from the grant: median $f16 TSC cycles per hypercall, $(mbps 65536 "$f16" "$mhz") MB/s;" \
		"1 page from the grant: $f1 cycles, $(mbps 4096 "$f1" "$mhz") MB/s;" \
		"16 pages into the grant: $t16 cycles, $(mbps 65536 "$t16" "$mhz") MB/s"
done
