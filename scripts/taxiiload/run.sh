#!/usr/bin/env bash
# Measures Bulwark's TAXII 2.1 server the way issue 7 §6 states its targets:
# `bulwark serve` on a collection of OBJECTS objects, loaded from a second
# process on loopback. It builds bulwark and the load generator, makes (or
# reuses) the database, gives it a reading user and a token, starts the
# server (timing start-up until the collection answers), runs open-loop
# loads of pages of 100 and 1,000 at several rates and a closed-loop one to
# saturation, prints the results and stops the server. docs/performance.md
# ("Load from a second process") describes the method.
#
#   scripts/taxiiload/run.sh                      # the full measurement: 1,000,000 objects
#   OBJECTS=20000 DURATION=5s scripts/taxiiload/run.sh   # a smoke run
#
# Environment (default):
#   OBJECTS (1000000)        objects in the collection (a tenth not visible to the reader)
#   DIR ($BULWARK_BENCH_DIR, else ~/.cache/bulwark-taxii-load)
#                            keeps binaries, the database taxii-OBJECTS.db (reused when
#                            present: the TAXII benchmarks make and use the same file),
#                            and results/TIME/ (summary.txt, one JSON per run, and the
#                            server's log: one JSON line per request, as serve writes it)
#   DURATION (30s)           sending time of each run
#   WARMUP (5s)              the same load sent just before each run, unmeasured
#   CONNS (200)              client connections
#   RATES_100 (1000 2500 5000)   open-loop rates, pages of 100 per second
#   RATES_1000 (100 250 500)     open-loop rates, pages of 1,000 per second
#   SATURATE (1)             also a closed-loop run of pages of 100 (0: skip)
#   POSITION (next)          where pages start: next (cursors), added_after or first
#   AUTH (bearer)            bearer (API token) or basic (e-mail and password)
#   TLS (0)                  1: serve HTTPS with a throwaway self-signed certificate
#   ADDR (127.0.0.1:18480)   where the server listens; loopback only
set -euo pipefail

cd "$(dirname "$0")/../.."
OBJECTS=${OBJECTS:-1000000}
DURATION=${DURATION:-30s}
WARMUP=${WARMUP:-5s}
CONNS=${CONNS:-200}
RATES_100=${RATES_100:-1000 2500 5000}
RATES_1000=${RATES_1000:-100 250 500}
SATURATE=${SATURATE:-1}
POSITION=${POSITION:-next}
AUTH=${AUTH:-bearer}
TLS=${TLS:-0}
ADDR=${ADDR:-127.0.0.1:18480}
DIR=${DIR:-${BULWARK_BENCH_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bulwark-taxii-load}}

case $ADDR in
127.*:* | localhost:* | \[::1\]:*) ;;
*) echo "ADDR must be a loopback address, not $ADDR" >&2; exit 2 ;;
esac
case $AUTH in bearer | basic) ;; *) echo "AUTH must be bearer or basic" >&2; exit 2 ;; esac

mkdir -p "$DIR/bin"
DIR=$(cd "$DIR" && pwd)
bin=$DIR/bin
db=$DIR/taxii-$OBJECTS.db
out=$DIR/results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
summary=$out/summary.txt
say() { echo "$*" | tee -a "$summary"; }

echo "building bulwark and the load generator…"
go build -o "$bin/bulwark" ./cmd/bulwark
go build -o "$bin/taxiiload" ./scripts/taxiiload
go build -o "$bin/gendb" ./scripts/taxiiload/gendb
bw() { "$bin/bulwark" --db "$db" "$@"; }

say "objects: $OBJECTS  database: $db"
if [ ! -e "$db" ]; then
	echo "generating the database (100,000 objects took 17 s on the shared development machine; allow 3 to 5 minutes for 1,000,000)…"
	gen_start=$(date +%s)
	"$bin/gendb" -db "$db" -objects "$OBJECTS"
	say "generated in $(($(date +%s) - gen_start)) s"
fi

# The reading user: an analyst of "port", which may read the collection
# (nine objects in ten; the tenth is AMBER+STRICT to "water"). It is made
# once with the CLI; its password is kept beside the database.
user=taxiiload@port.example
pwfile=$DIR/taxiiload-$OBJECTS.password
users=$(bw user list --json)
if ! grep -q "\"$user\"" <<<"$users"; then
	head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$pwfile"
	chmod 600 "$pwfile"
	bw user add --org port --email "$user" --name "TAXII load" --role analyst --password-stdin <"$pwfile" >/dev/null
elif [ "$AUTH" = basic ] && [ ! -s "$pwfile" ]; then
	echo "$user exists but $pwfile is missing: use AUTH=bearer or a fresh DIR" >&2
	exit 1
fi
tokfile=$DIR/taxiiload.token
created=$(bw token create --user "$user" --name "taxiiload $(date -u +%FT%TZ)")
token_id=$(printf '%s\n' "$created" | sed -n 's/^token \([0-9][0-9]*\) .*/\1/p')
(umask 077 && printf '%s\n' "$created" | grep '^bwk_' >"$tokfile")

authflags=(-token-file "$tokfile")
[ "$AUTH" = basic ] && authflags=(-user "$user" -password-file "$pwfile")
scheme=http
tlsflags=()
caflags=()
if [ "$TLS" = 1 ]; then
	scheme=https
	mkdir -p "$DIR/tls"
	if [ ! -e "$DIR/tls/cert.pem" ]; then
		(cd "$DIR/tls" && go run "$(go env GOROOT)/src/crypto/tls/generate_cert.go" --host "${ADDR%:*}" 2>/dev/null)
	fi
	tlsflags=(--tls-cert "$DIR/tls/cert.pem" --tls-key "$DIR/tls/key.pem")
	caflags=(-ca "$DIR/tls/cert.pem")
fi
url=$scheme://$ADDR/taxii2/bulwark/collections/5a0ad4a2-3c77-4f6e-9b7e-2e0d3f1c9a10/objects/
tl() { "$bin/taxiiload" "$@"; }

pid=
stop_server() {
	if [ -n "$pid" ]; then
		kill -INT "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		pid=
	fi
}
cleanup() {
	stop_server
	[ -n "${token_id:-}" ] && bw token revoke "$token_id" >/dev/null 2>&1 || true
	rm -f "$tokfile"
}
trap cleanup EXIT

# start_server starts serve and sets ready to the seconds until the
# collection answered a page.
start_server() {
	local t0
	t0=$(date +%s%N)
	"$bin/bulwark" --db "$db" serve --addr "$ADDR" --readiness-every 0 "${tlsflags[@]}" >>"$out/serve.log" 2>&1 &
	pid=$!
	ready=$(tl wait -url "$url" "${authflags[@]}" "${caflags[@]}" -since "$t0" -max 10m -json | sed -n 's/.*"ready_s":\([0-9.]*\).*/\1/p')
}

# The server keeps the bodies in a log beside the database, filled in the
# background after start-up. The first start on a new database fills it;
# start-up is measured on the next one, as an operator's restarts are.
bodies=$db.taxii-bodies
size() { stat -c %s "$1" 2>/dev/null || echo 0; }
before=$(size "$bodies")
start_server
first=$ready
prev=-1
stable=0
while [ "$stable" -lt 5 ]; do # unchanged for 5 s: filled
	sleep 1
	cur=$(size "$bodies")
	if [ "$cur" = "$prev" ]; then stable=$((stable + 1)); else stable=0; fi
	prev=$cur
done
if [ "$cur" != "$before" ]; then
	say "first start (body log being filled): ${first} s; body log now $((cur / 1048576)) MiB"
	stop_server
	start_server
	startup=$ready
else
	startup=$first
fi
say "start-up until the collection answers: ${startup} s (target ≤ 10 s at 1,000,000 objects)"
say "server log: $(grep '"intel index built"' "$out/serve.log" | tail -n 1)"

echo "walking the collection for start positions…"
tl walk -url "$url" "${authflags[@]}" "${caflags[@]}" -out "$out/positions.json" | tee -a "$summary"

runone() { # name, then taxiiload run flags
	local name=$1
	shift
	echo "run $name…"
	tl run -url "$url" "${authflags[@]}" "${caflags[@]}" -positions "$out/positions.json" -position "$POSITION" \
		-conns "$CONNS" -duration "$DURATION" -warmup "$WARMUP" -server-pid "$pid" -json "$@" >"$out/$name.json"
	sleep 2 # let the server settle between runs
}
files=()
for r in $RATES_100; do
	runone "limit100-rate$r" -limit 100 -rate "$r"
	files+=("$out/limit100-rate$r.json")
done
for r in $RATES_1000; do
	runone "limit1000-rate$r" -limit 1000 -rate "$r"
	files+=("$out/limit1000-rate$r.json")
done
if [ "$SATURATE" = 1 ]; then
	runone limit100-max -limit 100 -rate 0
	files+=("$out/limit100-max.json")
fi
say "server memory: $(grep -E '^(VmHWM|VmRSS)' /proc/"$pid"/status | tr -s ' \n' ' ')"
say "targets: pages of 100 p99 ≤ 5 ms and of 1,000 p99 ≤ 20 ms with $CONNS connections; ≥ 5,000 pages of 100 per second"
say "auth $AUTH, $scheme, positions $POSITION, $DURATION per run after $WARMUP unmeasured, load from a second process on loopback; latency from the intended send time"
tl report "${files[@]}" | tee -a "$summary"
echo "results: $out"
