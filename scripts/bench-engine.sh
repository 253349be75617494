#!/usr/bin/env bash
# scripts/bench-engine.sh: mcpm's engine figures (SPEC §8), side by side in one run,
# on the same 20 services (mcpm-test/busybox, hardened like generate writes them):
#   deploy of 20 new services   mcpm docker deploy  vs  the engine floor (the same 20
#                               containers by 20 parallel `docker run -d`)  vs
#                               docker-compose up -d (Debian's v1; `name:` stripped, -p)
#   no-op deploy                mcpm docker deploy  vs  docker-compose up -d, nothing to do
#   status                      mcpm docker status  vs  docker ps
# Deploys are timed in interleaved rounds from a clean engine (bash timing); the
# fast figures by hyperfine when installed. Release build.
# Everything it creates is named mcpm-test-bench* and removed at the end.
#
# Usage: scripts/bench-engine.sh [--runs N]   (default 7 deploy rounds, 4x that for the rest)
# Needs: a Docker Engine with the test images (scripts/test-engine.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=7
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs="$2"; shift 2 ;;
	-h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench-engine.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
fast_runs=$((runs * 4))

image=${MCPM_TEST_IMAGE:-mcpm-test/busybox:latest}
docker image inspect "$image" >/dev/null 2>&1 || {
	echo "bench-engine.sh: $image is missing; run scripts/test-engine.sh first" >&2
	exit 1
}
have_compose=1
command -v docker-compose >/dev/null 2>&1 || have_compose=0
have_hyperfine=1
command -v hyperfine >/dev/null 2>&1 || have_hyperfine=0

cargo build --release --quiet
mcpm="${CARGO_TARGET_DIR:-$PWD/target}/release/mcpm"

work=$(mktemp -d /tmp/mcpm-bench.XXXXXX)
project=mcpm-test-bench
v1_project=mcpm-test-bench-v1
floor_net=mcpm-test-bench-floor

cleanup_project() { # PROJECT: remove its containers and networks
	local ids
	ids=$(docker ps -aq --filter "label=com.docker.compose.project=$1")
	[ -z "$ids" ] || docker rm -f $ids >/dev/null
	ids=$(docker network ls -q --filter "label=com.docker.compose.project=$1")
	[ -z "$ids" ] || docker network rm $ids >/dev/null
}
cleanup_floor() {
	local ids
	ids=$(docker ps -aq --filter label=mcpm.bench=floor)
	[ -z "$ids" ] || docker rm -f $ids >/dev/null
	docker network rm "$floor_net" >/dev/null 2>&1 || true
}
cleanup_all() {
	cleanup_project "$project"
	cleanup_project "$v1_project"
	cleanup_floor
	rm -rf "$work"
}
trap cleanup_all EXIT
cleanup_all
mkdir -p "$work"

# The 20 services, as `mcpm docker generate` writes stdio servers.
{
	echo "name: $project"
	echo "services:"
	for i in $(seq -w 1 20); do
		cat <<YAML
  server$i:
    image: $image
    command: [sleep, "3600"]
    networks: [mcp-network]
    stdin_open: true
    init: true
    read_only: true
    tmpfs: [/tmp]
    cap_drop: [ALL]
    security_opt: ["no-new-privileges:true"]
    mem_limit: 64m
    cpus: 0.5
    pids_limit: 64
    restart: unless-stopped
YAML
	done
	echo "networks:"
	echo "  mcp-network:"
	echo "    driver: bridge"
} >"$work/compose.yaml"
mkdir -p "$work/v1"
grep -v '^name:' "$work/compose.yaml" >"$work/v1/docker-compose.yml"

# The floor: the same work done by hand as fast as the engine allows: the
# network the services join (every deploy must create it), then the same 20
# containers by 20 parallel `docker run -d`.
{
	echo '#!/usr/bin/env bash'
	echo "docker network create $floor_net >/dev/null"
	for i in $(seq -w 1 20); do
		echo "docker run -d -i --init --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges:true --memory 64m --cpus 0.5 --pids-limit 64 --restart unless-stopped --network $floor_net --label mcpm.bench=floor --name $floor_net-$i $image sleep 3600 >/dev/null &"
	done
	echo 'wait'
} >"$work/floor.sh"
chmod +x "$work/floor.sh"

# Milliseconds one command takes (its output dropped); fails with it.
time_ms() {
	local start end
	start=$(date +%s%N)
	"$@" >/dev/null 2>&1 || { echo "bench-engine.sh: '$*' failed; run it by hand to see why" >&2; return 1; }
	end=$(date +%s%N)
	echo $(((end - start) / 1000000))
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f\n", m}'; }

# median_fast NAME COMMAND: median of a fast command (ms), by hyperfine
# without a shell when installed, else by bash timing.
median_fast() {
	local name=$1 command=$2
	if [ "$have_hyperfine" = 1 ]; then
		hyperfine -N --warmup 3 --runs "$fast_runs" --export-json "$work/$name.json" "$command" >/dev/null 2>&1 || {
			echo "bench-engine.sh: '$command' failed; run it by hand to see why" >&2
			exit 1
		}
		python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$work/$name.json"
	else
		local times=() i
		for i in $(seq 1 "$fast_runs"); do times+=("$(time_ms $command)"); done
		median "${times[@]}"
	fi
}
ratio() { python3 -c 'import sys; a,b=map(float,sys.argv[1:]); print("%.2fx" % (a/b) if b else "-")' "$1" "$2"; }
check() { python3 -c 'import sys; print("ok" if eval(sys.argv[1]) else "MISSED")' "$1"; }
row() { printf '%-44s %10s %10s\n' "$1" "$2" "$3"; }

echo "engine figures: 20 services, $(nproc) cores, $(docker version --format 'Docker {{.Server.Version}} (API {{.Server.APIVersion}})')"
echo "deploys: median of $runs interleaved rounds (floor, mcpm, docker-compose), each from a clean engine"
echo "fast figures: median of $fast_runs runs$([ "$have_hyperfine" = 1 ] && echo " (hyperfine -N)")"
echo

mcpm_deploy=("$mcpm" docker deploy -q -f "$work/compose.yaml")
compose_up=(docker-compose -f "$work/v1/docker-compose.yml" -p "$v1_project" up -d)

# The three deploys take turns, so a machine that gets busier or quieter
# during the run weighs on all three alike; one untimed round warms caches.
floor_times=() deploy_times=() compose_times=()
for round in $(seq 0 "$runs"); do
	cleanup_floor; sleep 1
	t=$(time_ms "$work/floor.sh")
	[ "$round" = 0 ] || floor_times+=("$t")
	cleanup_project "$project"; sleep 1
	t=$(time_ms "${mcpm_deploy[@]}")
	[ "$round" = 0 ] || deploy_times+=("$t")
	if [ "$have_compose" = 1 ]; then
		cleanup_project "$v1_project"; sleep 1
		t=$(time_ms "${compose_up[@]}")
		[ "$round" = 0 ] || compose_times+=("$t")
	fi
done
cleanup_floor
floor=$(median "${floor_times[@]}")
deploy=$(median "${deploy_times[@]}")
[ "$have_compose" = 1 ] && compose=$(median "${compose_times[@]}")

# Both projects stay deployed for the no-op and status figures.
noop=$(median_fast noop "${mcpm_deploy[*]}")
if [ "$have_compose" = 1 ]; then
	noop_times=()
	for _ in $(seq 1 "$runs"); do noop_times+=("$(time_ms "${compose_up[@]}")"); done
	compose_noop=$(median "${noop_times[@]}")
fi
status=$(median_fast status "$mcpm docker status -f $work/compose.yaml")
ps=$(median_fast ps "docker ps")

row "figure" "median" "vs"
row "engine floor: 20 parallel docker run -d" "$floor ms" ""
row "mcpm docker deploy, 20 new services" "$deploy ms" "$(ratio "$deploy" "$floor") floor"
if [ "$have_compose" = 1 ]; then
	row "docker-compose up -d, 20 new services" "$compose ms" "$(ratio "$compose" "$floor") floor"
fi
row "mcpm docker deploy, nothing to do" "$noop ms" ""
if [ "$have_compose" = 1 ]; then
	row "docker-compose up -d, nothing to do" "$compose_noop ms" "$(ratio "$compose_noop" "$noop") mcpm"
fi
row "docker ps" "$ps ms" ""
row "mcpm docker status" "$status ms" "$(ratio "$status" "$ps") docker ps"
echo
echo "SPEC §8 targets:"
printf '  %-52s %s\n' "deploy <= 1.1x the engine floor" "$(check "$deploy <= 1.1 * $floor")"
if [ "$have_compose" = 1 ]; then
	printf '  %-52s %s\n' "deploy faster than docker-compose up -d" "$(check "$deploy < $compose")"
	printf '  %-52s %s\n' "no-op deploy >= 20x faster than docker-compose" "$(check "$compose_noop >= 20 * $noop")"
fi
printf '  %-52s %s\n' "no-op deploy < 50 ms" "$(check "$noop < 50")"
printf '  %-52s %s\n' "status <= 1.5x docker ps" "$(check "$status <= 1.5 * $ps")"
