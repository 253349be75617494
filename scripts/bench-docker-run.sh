#!/usr/bin/env bash
# scripts/bench-docker-run.sh: how long a stdio MCP server takes to serve a new
# client through `docker run -i --rm IMAGE`, the way clients run containerised
# servers without mcpm (the baseline `mcpm docker connect` is compared with).
#
# Usage: scripts/bench-docker-run.sh [-n RUNS] [-t TIMEOUT] IMAGE [ARG...]
#
# Each run starts the clock, starts `docker run -i --rm IMAGE ARG...`, writes
# `initialize`, waits for its answer, writes `notifications/initialized` and
# `tools/list`, and stops the clock when the tools/list answer arrives, as an
# MCP client does. Then it closes the server's stdin and waits for the
# container to go (not timed; after 10 s it is removed by force).
#
# Output: one line per run on stderr, then one summary line on stdout:
#   docker-run IMAGE: median=MS min=MS max=MS runs=N (initialize+tools/list)
# Exit 1 when a run gets no tools/list answer within TIMEOUT s (default 60),
# with the server's stderr; 2 on bad usage. Containers are named
# mcpm-test-bench-<pid>-<run>, so `scripts/test-engine.sh --cleanup` catches
# any left by a killed run.
set -Eeuo pipefail

usage() { sed -n '2,/^set -Eeuo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

runs=5
timeout=60
while (($#)); do
	case $1 in
	-n) runs=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	-t) timeout=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
done
[[ $runs =~ ^[1-9][0-9]*$ && $timeout =~ ^[1-9][0-9]*$ && $# -ge 1 ]] || { usage >&2; exit 2; }
image=$1
shift

INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench-docker-run","version":"1"}}}'
INITIALIZED='{"jsonrpc":"2.0","method":"notifications/initialized"}'
LIST='{"jsonrpc":"2.0","id":2,"method":"tools/list"}'

errlog=$(mktemp /tmp/mcpm-bench-docker-run.XXXXXX)
current=
cleanup() {
	[[ -z $current ]] || docker rm -f "$current" >/dev/null 2>&1 || true
	rm -f "$errlog"
}
trap cleanup EXIT

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# One run; prints its milliseconds.
run_once() {
	local name=$1 t0 line answered=
	shift
	current=$name
	t0=$(now_ms)
	coproc SERVER { exec docker run -i --rm --name "$name" "$image" "$@" 2>"$errlog"; }
	local to=${SERVER[1]} from=${SERVER[0]} pid=$SERVER_PID
	printf '%s\n' "$INIT" >&"$to"
	local deadline=$((SECONDS + timeout)) left
	while left=$((deadline - SECONDS)) && ((left > 0)) && IFS= read -r -t "$left" line <&"$from"; do
		if [[ $line =~ \"id\":[[:space:]]*1[,}] ]]; then
			printf '%s\n%s\n' "$INITIALIZED" "$LIST" >&"$to"
		elif [[ $line =~ \"id\":[[:space:]]*2[,}] ]]; then
			[[ $line == *'"tools"'* ]] || { echo "tools/list answered: $line" >&2; break; }
			answered=1
			break
		fi
	done
	local elapsed=$(($(now_ms) - t0))
	eval "exec $to>&-"
	local waited=0
	while kill -0 "$pid" 2>/dev/null && ((waited < 100)); do sleep 0.1; waited=$((waited + 1)); done
	if kill -0 "$pid" 2>/dev/null; then docker rm -f "$name" >/dev/null 2>&1 || true; fi
	wait "$pid" 2>/dev/null || true
	current=
	if [[ -z $answered ]]; then
		echo "bench-docker-run: no tools/list answer from $image within $timeout s; its stderr:" >&2
		sed 's/^/    | /' "$errlog" | tail -n 20 >&2
		return 1
	fi
	echo "$elapsed"
}

times=()
for ((i = 1; i <= runs; i++)); do
	ms=$(run_once "mcpm-test-bench-$$-$i" "$@") || exit 1
	echo "bench-docker-run: run $i: $ms ms" >&2
	times+=("$ms")
done
mapfile -t sorted < <(printf '%s\n' "${times[@]}" | sort -n)
median=${sorted[$((runs / 2))]}
echo "docker-run $image: median=$median min=${sorted[0]} max=${sorted[$((runs - 1))]} runs=$runs (ms, initialize+tools/list)"
