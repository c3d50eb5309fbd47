#!/usr/bin/env bash
# Runs Bulwark's full test suite: every package, with the race detector when
# a C compiler is available (the race detector needs cgo), then a short run
# of every fuzz target. Tests that need PostgreSQL or Chromium skip with a
# message when those are missing, except when CI is set.
set -euo pipefail
cd "$(dirname "$0")/.."

race=()
if command -v gcc >/dev/null 2>&1 || command -v cc >/dev/null 2>&1; then
	race=(-race)
else
	echo "note: no C compiler found; running without the race detector" >&2
fi

go vet ./...
go test "${race[@]}" -count=1 -timeout 30m ./...

# Fuzz smoke: each target runs briefly on top of its committed seed corpus.
fuzztime="${BULWARK_FUZZTIME:-10s}"
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
		echo "fuzz $pkg $target ($fuzztime)"
		if ! out="$(go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" -fuzzminimizetime=0 "$pkg" 2>&1)"; then
			# Go's fuzzer reports "context deadline exceeded" when the time
			# runs out before its baseline run over the seed corpus ends (a
			# busy machine); that is no finding, so give it once more time.
			if grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
				echo "  the fuzzer ran out of time in its baseline run; once more with 30s"
				out="$(go test -run='^$' -fuzz="^${target}\$" -fuzztime=30s -fuzzminimizetime=0 "$pkg" 2>&1)" && continue
			fi
			printf '%s\n' "$out" | grep -v '^fuzz: elapsed' | tail -n 40
			echo "FAIL: fuzz target $target of $pkg failed (a failing input is saved under testdata/fuzz)"
			exit 1
		fi
	done
done
echo "fuzz smoke passed"
