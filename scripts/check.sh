#!/usr/bin/env bash
# scripts/check.sh - GoZen's one check: the README's test command, and what
# CI runs (.ci/run). In order:
#
#   go vet -unsafeptr=false ./...   every vet check but unsafeptr (README, Tests)
#   go test ./...                   host tests
#   scripts/fuzz-smoke.sh           every fuzz target for FUZZTIME (default 4s)
#   ./qemu-test.sh                  every boot scenario under QEMU (AMD SVM)
#   ./bochs-test.sh                 the VT-x scenarios under Bochs (about 5 min)
#
# Every step runs even when an earlier one failed, so one run shows all that
# is wrong; the exit status is 0 only if all passed. Each step installs what
# it needs (qemu-test.sh and bochs-test.sh use apt-get).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin

failed=()
step() {
	local t0=$SECONDS
	echo "==> $*"
	if "$@"; then
		echo "==> ok: $* ($((SECONDS - t0))s)"
	else
		echo "==> FAILED: $* ($((SECONDS - t0))s)"
		failed+=("$*")
	fi
}

start=$SECONDS
step go vet -unsafeptr=false ./...
step go test ./...
step scripts/fuzz-smoke.sh
step ./qemu-test.sh
step ./bochs-test.sh
echo "check: $((SECONDS - start))s; ${#failed[@]} step(s) failed${failed[*]:+:}"
for f in "${failed[@]}"; do
	echo "    $f"
done
((${#failed[@]} == 0))
