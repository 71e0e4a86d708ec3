#!/usr/bin/env bash
# bench/xl-create.sh - `xl create` to the domU's first console line, in dom0
# under hv (issue 10; BENCHMARKS.md): runs qemu-test.sh's scenario xl-bench,
# in which dom0 types `createbench -n 3 /etc/xen/hello.cfg
# /etc/xen/debian.cfg` (dom0/cmd/createbench: each run times xl create
# from exec to exit, and to the new domain's first complete console line,
# on hv's console for the test guest, in xenconsoled's log of its ring for
# Debian), and prints createbench's lines and the ratios to Xen 4.17's
# figures under the same QEMU (3.6 s for a tiny PVH guest, 9 s for a
# 256 MiB Linux domU). QEMU_TEST_TIMEOUT_SCALE passes through (default 3).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export QEMU_TEST_TIMEOUT_SCALE=${QEMU_TEST_TIMEOUT_SCALE:-3}
if ! ./qemu-test.sh xl-bench >/tmp/xl-bench.$$ 2>&1; then
	cat /tmp/xl-bench.$$ >&2
	rm -f /tmp/xl-bench.$$
	exit 1
fi
rm -f /tmp/xl-bench.$$
log=out/logs/xl-bench.log
grep -a '^(dom0) createbench: ' "$log" | sed 's/^(dom0) //'
ratio() { # NAME XEN_MS
	local ms
	ms=$(grep -a "^(dom0) createbench: $1: median" "$log" | sed -E 's/.*first console line ([0-9]+) ms.*/\1/')
	echo "$1: first console line after $ms ms (median), Xen 4.17 $2 ms: $(echo "scale=3; $ms / $2" | bc) of Xen's time"
}
ratio hello 3600
ratio debian 9000
