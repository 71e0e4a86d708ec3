#!/usr/bin/env bash
# bench/net.sh [LOG] - PV network throughput (issue 11) from one run of the
# qemu-test.sh scenario xl-net: two Linux domUs (netfront) on dom0's bridge
# xenbr0 (netback), all under hv on QEMU TCG. In it, domU n2 runs
#
#   tcpbench send 10.0.2.21:5001    64 MiB to domU n1 (tcpbench recv -l :5001)
#   tcpbench send 10.0.2.15:5002    64 MiB to dom0   (tcpbench recv -l :5002)
#
# and every byte is checked by the receiver. This prints the sender's
# figures (connect to the receiver's close, so all 64 MiB were delivered)
# and the domU->domU / domU->dom0 ratio. Without LOG it runs the scenario
# first (QEMU_TEST_TIMEOUT_SCALE defaults to 3) and reads out/logs/xl-net.log.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
log=${1:-}
if [[ -z $log ]]; then
	QEMU_TEST_TIMEOUT_SCALE=${QEMU_TEST_TIMEOUT_SCALE:-3} ./qemu-test.sh xl-net
	log=out/logs/xl-net.log
fi
# rate DEST: MiB/s of n2's "tcpbench: sent 67108864 bytes to DEST in S s: R MiB/s" line.
rate() {
	grep -aE "^\(dom0\) tcpbench: sent 67108864 bytes to $1 in " "$log" | tail -n 1 |
		sed -E 's/.* in ([0-9.]+) s: ([0-9.]+) MiB\/s.*/\2 \1/'
}
read -r uu us < <(rate '10\.0\.2\.21:5001') || true
read -r ud ds < <(rate '10\.0\.2\.15:5002') || true
if [[ -z ${uu:-} || -z ${ud:-} ]]; then
	echo "bench/net.sh: no tcpbench sender lines in $log" >&2
	exit 1
fi
printf 'domU->domU  64 MiB in %6s s: %8s MiB/s\n' "$us" "$uu"
printf 'domU->dom0  64 MiB in %6s s: %8s MiB/s\n' "$ds" "$ud"
awk -v a="$uu" -v b="$ud" 'BEGIN { printf "ratio domU->domU / domU->dom0: %.3f\n", a / b }'
