#!/usr/bin/env bash
# scripts/fuzz-smoke.sh - run every fuzz target of the module for a short time.
#
#   scripts/fuzz-smoke.sh [PKG...]     every Fuzz* in PKG (default ./...)
#
# Each target runs alone (go test -run '^$' -fuzz '^Name$' -fuzztime T), from
# its seeds (f.Add) and its saved corpus (testdata/fuzz/Name next to the test).
# A target that fails leaves the failing input in testdata/fuzz/Name, where
# plain `go test` replays it from then on; the script goes on with the others
# and exits 1 at the end, naming every failure.
#
# Environment:
#   FUZZTIME=4s        how long each target fuzzes (a go test -fuzztime value)
#   FUZZ_SAVE=N        afterwards, copy up to N of the inputs each target found
#                      interesting (from a fresh GOCACHE, so only this run's)
#                      into testdata/fuzz/Name: how the committed corpus was made
#   FUZZ_SAVE_MAX=4096 largest input (bytes) FUZZ_SAVE keeps
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin

fuzztime=${FUZZTIME:-4s}
save=${FUZZ_SAVE:-0}
savemax=${FUZZ_SAVE_MAX:-4096}
if ((save > 0)); then
	GOCACHE=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-smoke-cache.XXXXXX") || exit 2
	export GOCACHE
	trap 'chmod -R u+w "$GOCACHE"; rm -rf "$GOCACHE"' EXIT
fi

# Packages with a fuzz target: go list's test files, searched for "func Fuzz".
pkgs=()
while IFS=' ' read -r pkg dir files; do
	[[ -n $files ]] || continue
	for f in $files; do
		if grep -q '^func Fuzz' "$dir/$f"; then
			pkgs+=("$pkg:$dir")
			break
		fi
	done
done < <(go list -f '{{.ImportPath}} {{.Dir}} {{join .TestGoFiles " "}} {{join .XTestGoFiles " "}}' "${@:-./...}")

start=$SECONDS
n=0
failed=()
for pd in "${pkgs[@]}"; do
	pkg=${pd%%:*} dir=${pd#*:}
	# The targets as go test sees them (build tags and all).
	if ! list=$(go test -list '^Fuzz' "$pkg" 2>&1); then
		echo "FAIL $pkg: go test -list"
		echo "$list" | tail -n 30 | sed 's/^/    | /'
		failed+=("$pkg")
		continue
	fi
	mapfile -t targets < <(grep '^Fuzz' <<<"$list")
	for t in "${targets[@]}"; do
		n=$((n + 1))
		t0=$SECONDS
		if out=$(go test -run '^$' -fuzz "^$t\$" -fuzztime "$fuzztime" "$pkg" 2>&1); then
			echo "ok   $pkg $t ($((SECONDS - t0))s)"
		elif [[ $out == *"context deadline exceeded"* && $out != *"Failing input written"* ]]; then
			# Go 1.26's fuzz coordinator can report its own -fuzztime
			# deadline as a failure (go.dev/issue/75804, fixed in Go 1.27):
			# no input failed, so this is not the target's.
			echo "ok   $pkg $t ($((SECONDS - t0))s; go.dev/issue/75804 at the deadline, no failing input)"
		else
			echo "FAIL $pkg $t"
			echo "$out" | tail -n 30 | sed 's/^/    | /'
			failed+=("$pkg.$t")
		fi
		if ((save > 0)); then
			src=$GOCACHE/fuzz/$pkg/$t dst=$dir/testdata/fuzz/$t
			if [[ -d $src ]]; then
				mkdir -p "$dst"
				find "$src" -type f -size -"$((savemax + 1))"c -printf '%s %p\n' | sort -n | head -n "$save" |
					while read -r _ f; do cp "$f" "$dst/"; done
			fi
		fi
	done
done
echo "fuzz smoke: $n targets, ${fuzztime} each, $((SECONDS - start))s in all; ${#failed[@]} failed${failed[*]:+: ${failed[*]}}"
((${#failed[@]} == 0))
