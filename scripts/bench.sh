#!/usr/bin/env bash
# The benchmark command (SPEC §8). Prints, side by side in one run:
#   - `mcpm docker generate` for 20 and 1000 servers (whole process, wall time);
#   - `mcpm docker sync` for 20 and 1000 servers: nothing to do (as a second
#     sync finds it), nothing to do on a fresh checkout (no cache), and one
#     server changed on each side (files restored before every run); at 1000
#     also fifty changed on each side, and the peak RSS of a writing sync;
#   - with an engine and scripts/bench-engine.sh present, the deploy/status
#     figures against the engine floor, docker-compose and docker ps, and the
#     gateway's (scripts/bench-gateway.py): connecting through `mcpm docker
#     connect` against `docker run -i --rm`, tools/call rate through the
#     gateway against the server's own stdio, and the gateway's memory.
# Usage: scripts/bench.sh [--runs N] [--no-engine]
# Times are medians of N runs (default 100) measured by hyperfine without a shell.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=100
engine=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --no-engine) engine=0; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if ! command -v hyperfine >/dev/null 2>&1; then
  echo "installing hyperfine (Debian package)" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
fi

cargo build --release --quiet
mcpm="$PWD/target/release/mcpm"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 scripts/bench-profile.py 20 > "$work/p20.toml"
python3 scripts/bench-profile.py 1000 > "$work/p1000.toml"

# One hyperfine run per figure; the median (in ms) is read from its JSON export.
median_ms() { # NAME [hyperfine options] COMMAND
  local name="$1"; shift
  hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/$name.json" "$@" >/dev/null 2>&1
  python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$work/$name.json"
}

verdict() { # VALUE LIMIT
  python3 -c 'import sys; print("ok" if float(sys.argv[1]) < float(sys.argv[2]) else "OVER")' "$1" "$2"
}

echo "mcpm benchmark on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), median of $runs runs"
printf '%-40s %10s %10s %6s\n' "figure" "median" "target" ""
g20=$(median_ms gen20 "$mcpm docker generate $work/p20.toml -q")
g1000=$(median_ms gen1000 "$mcpm docker generate $work/p1000.toml -q")
printf '%-40s %8s ms %8s ms %6s\n' "generate, 20 servers" "$g20" "< 5" "$(verdict "$g20" 5)"
printf '%-40s %8s ms %8s ms %6s\n' "generate, 1000 servers" "$g1000" "< 50" "$(verdict "$g1000" 50)"
per=$(python3 -c 'import sys; a,b=map(float,sys.argv[1:]); print("%.4f" % ((b-a)/980))' "$g20" "$g1000")
printf '%-40s %8s ms\n' "  marginal cost per server" "$per"

# Sync: each profile synced once into its compose file, then timed three ways.
for n in 20 1000; do
  (cd "$work" && "$mcpm" docker sync "p$n.toml" -f "c$n.yaml" -q)
  cp "$work/p$n.toml" "$work/p$n.orig"
  cp "$work/c$n.yaml" "$work/c$n.orig"
  # One change in the profile (srv-0001's arguments), one in the file (srv-0002's memory).
  sed 's/"bench-1"\]/"bench-1-changed"]/' "$work/p$n.orig" > "$work/p$n.changed"
  python3 - "$work/c$n.orig" "$work/c$n.changed" <<'PY'
import sys
text = open(sys.argv[1]).read()
start = text.index("  srv-0002:")
at = text.index('mem_limit: "512m"', start)
open(sys.argv[2], "w").write(text[:at] + 'mem_limit: "1g"' + text[at + len('mem_limit: "512m"'):])
PY
done
# Fifty changes on each side at 1000: fifty servers' arguments in the
# profile, fifty other services' memory in the file.
python3 - "$work/p1000.orig" "$work/p1000.changed50" "$work/c1000.orig" "$work/c1000.changed50" <<'PY'
import sys
profile = open(sys.argv[1]).read()
for i in range(1, 400, 8):
    profile = profile.replace(f'"bench-{i}"]', f'"bench-{i}-changed"]')
open(sys.argv[2], "w").write(profile)
text = open(sys.argv[3]).read()
for i in range(2, 400, 8):
    start = text.index(f"  srv-{i:04d}:")
    at = text.index('mem_limit: "512m"', start)
    text = text[:at] + 'mem_limit: "1g"' + text[at + len('mem_limit: "512m"'):]
open(sys.argv[4], "w").write(text)
PY
for n in 20 1000; do
  limit=$([ "$n" = 20 ] && echo 5 || echo 50)
  sync="$mcpm docker sync $work/p$n.toml -f $work/c$n.yaml -q"
  cached=$(median_ms "sync$n" "$sync")
  cold=$(median_ms "cold$n" --prepare "rm -f $work/.c$n.yaml.mcpm-lock" "$sync")
  # hyperfine -N runs --prepare without a shell too: give it one.
  changed=$(median_ms "changed$n" --prepare "sh -c 'cp $work/p$n.changed $work/p$n.toml && cp $work/c$n.changed $work/c$n.yaml && rm -f $work/.c$n.yaml.mcpm-lock'" "$sync")
  cp "$work/p$n.orig" "$work/p$n.toml"; cp "$work/c$n.orig" "$work/c$n.yaml"
  printf '%-40s %8s ms %8s ms %6s\n' "sync $n, nothing to do" "$cached" "< $limit" "$(verdict "$cached" "$limit")"
  printf '%-40s %8s ms %8s ms %6s\n' "sync $n, nothing to do, fresh checkout" "$cold" "< $limit" "$(verdict "$cold" "$limit")"
  printf '%-40s %8s ms %8s ms %6s\n' "sync $n, one change on each side" "$changed" "< $limit" "$(verdict "$changed" "$limit")"
done
sync="$mcpm docker sync $work/p1000.toml -f $work/c1000.yaml -q"
restore50="cp $work/p1000.changed50 $work/p1000.toml && cp $work/c1000.changed50 $work/c1000.yaml && rm -f $work/.c1000.yaml.mcpm-lock"
changed50=$(median_ms changed50 --prepare "sh -c '$restore50'" "$sync")
printf '%-40s %8s ms\n' "sync 1000, 50 changes on each side" "$changed50"
# Peak RSS of a writing sync at 1000 servers (one change on each side),
# the median of 11 runs: GNU time's %M where installed, else the kernel's
# VmHWM polled from /proc while mcpm runs (kilobytes either way).
restore1="cp $work/p1000.changed $work/p1000.toml && cp $work/c1000.changed $work/c1000.yaml && rm -f $work/.c1000.yaml.mcpm-lock"
rss=()
for _ in 1 2 3 4 5 6 7 8 9 10 11; do
  sh -c "$restore1"
  if [ -x /usr/bin/time ]; then
    how="GNU time %M"
    rss+=("$(/usr/bin/time -f %M $sync 2>&1 >/dev/null | tail -1)")
  else
    how="VmHWM, polled"
    rss+=("$(python3 -c 'import subprocess, sys, time
p = subprocess.Popen(sys.argv[1:])
peak = 0
while p.poll() is None:
    try:
        for line in open(f"/proc/{p.pid}/status"):
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    except OSError:
        pass
    time.sleep(0.001)
print(peak)' $sync)")
  fi
done
cp "$work/p1000.orig" "$work/p1000.toml"; cp "$work/c1000.orig" "$work/c1000.yaml"
rss_mb=$(printf '%s\n' "${rss[@]}" | sort -n | sed -n 6p | awk '{printf "%.1f", $1/1024}')
printf '%-40s %8s MB %8s MB %6s  (%s)\n' "peak RSS, sync 1000, one change each" "$rss_mb" "< 30" "$(verdict "$rss_mb" 30)" "$how"

if [ "$engine" = 1 ] && [ -x scripts/bench-engine.sh ]; then
  if scripts/test-engine.sh --check >/dev/null 2>&1; then
    echo
    scripts/bench-engine.sh
    # The gateway's figures need the real server's image and the echo image.
    time_image=$(sed -n 's/^MCPM_TEST_TIME_IMAGE=//p' target/test-engine.env 2>/dev/null)
    echo_image=$(sed -n 's/^MCPM_TEST_ECHO_IMAGE=//p' target/test-engine.env 2>/dev/null)
    if [ -n "$time_image" ] && [ -n "$echo_image" ]; then
      echo
      python3 scripts/bench-gateway.py "$mcpm" "$time_image" "$echo_image"
    else
      echo "gateway figures skipped: run scripts/test-engine.sh first (it builds the images)"
    fi
  else
    echo "engine figures skipped: no Docker Engine answers (run scripts/test-engine.sh first)"
  fi
fi

# `profile add --sync-docker`: one server added to a 1000-server profile and
# synced into its compose file (the profile and the file restored before each run).
mkdir -p "$work/add"
python3 scripts/bench-profile.py 1000 > "$work/add/team.toml"
(cd "$work/add" && "$mcpm" docker sync team.toml --yes -q)
for f in team.toml docker-compose.yml; do cp "$work/add/$f" "$work/add/$f.orig"; done
added=$(median_ms add1000 --prepare "sh -c 'cp $work/add/team.toml.orig $work/add/team.toml && cp $work/add/docker-compose.yml.orig $work/add/docker-compose.yml'" \
  "$mcpm profile add $work/add/team.toml bench-new --command uvx --arg mcp-server-fetch --sync-docker -q")
printf '%-40s %8s ms %8s ms %6s\n' "profile add --sync-docker, 1000 servers" "$added" "< 50" "$(verdict "$added" 50)"
