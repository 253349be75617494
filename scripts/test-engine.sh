#!/usr/bin/env bash
# scripts/test-engine.sh: make this machine ready for mcpm's engine tests.
#
# Usage: scripts/test-engine.sh [--check | --cleanup | --cleanup-tls | --print-env | --help]
#
# With no flag it runs these steps, each printing one summary line on stderr,
# and is safe to run again and again (steps that are already done are skipped):
#   packages  install what is missing among Debian's docker.io, docker-compose,
#             busybox-static, docker-registry, curl and debootstrap (one
#             apt-get update first)
#   engine    make sure a Docker Engine answers: ping $DOCKER_HOST if it is set
#             (nothing is started then), else /var/run/docker.sock, starting
#             dockerd in the background when it is not running
#             (log: /var/log/mcpm-dockerd.log) and waiting up to 60 s for it
#   images    build the local test images with `docker import` from a busybox
#             rootfs; no registry is needed. Each carries the labels
#             io.mcpm.test=1 and io.mcpm.test.hash=<hash of this script,
#             tests/engine-images/* and the busybox binary>, and is rebuilt only
#             when missing or when that hash changed:
#               mcpm-test/busybox:latest   runs a long sleep by default and
#                                          exits at once on SIGTERM
#               mcpm-test/mcp-echo:latest  a stdio MCP server with one tool,
#                                          "echo" (tests/engine-images/mcp-echo.sh)
#   venv      the MCP test venv target/mcp-venv (made with the host's python3;
#             python3-venv is installed when venv cannot make one) holding the
#             official SDK `mcp` and `mcp-server-time`, pinned exactly in
#             tests/engine-images/mcp-time.requirements.txt. The same pins are
#             fetched as wheels for the image below (`pip download` for
#             CPython 3.11 on manylinux x86_64, into
#             $MCPM_TEST_STATE_DIR/mcp-wheels). The venv also gets the
#             host-only test tools of tests/engine-images/host-tools.requirements.txt
#             (prometheus_client's parser). Both are redone only when a
#             requirements file (or the host's Python) changed.
#   time      build mcpm-test/mcp-time:latest: the REAL `mcp-server-time` from
#             PyPI in Debian bookworm, without any registry:
#             `debootstrap --variant=minbase --include=python3,python3-venv`
#             from Debian's mirror ($MCPM_TEST_DEBIAN_MIRROR, default
#             http://deb.debian.org/debian; the rootfs is cached as a tar in
#             $MCPM_TEST_STATE_DIR/mcp-time), a venv /opt/mcp made in a chroot
#             and filled from the wheels above with `pip install --no-index
#             --find-links` (the host's PIP_* settings are not passed in), then
#             `docker import` with PATH=/opt/mcp/bin:… and
#             CMD ["mcp-server-time"]. Its hash label covers the requirements
#             file and the build recipe, so it is rebuilt only when they
#             change. Checked with scripts/bench-docker-run.sh (initialize and
#             tools/list answered through `docker run -i --rm`).
#   registry  run Debian's docker-registry on 127.0.0.1:5000 unless something
#             there already answers /v2/ (storage, config, log and pid file
#             under $MCPM_TEST_STATE_DIR, default /tmp/mcpm-test-engine)
#   push      push mcpm-test/busybox as 127.0.0.1:5000/mcpm-test/busybox:latest
#             (skipped when the registry already holds that very image), then
#             drop the local tag of that name so that a test's pull is a real pull
#   authreg   run a second docker-registry on 127.0.0.1:5001 that wants a
#             login (htpasswd with bcrypt, made with `htpasswd -B` from Debian's
#             apache2-utils, installed when missing; the password is random,
#             made once and kept in $MCPM_TEST_STATE_DIR/auth-registry/password),
#             unless something there already answers /v2/ with 401; storage,
#             config, log and pid file under $MCPM_TEST_STATE_DIR/auth-registry.
#             Then push mcpm-test/busybox there as
#             127.0.0.1:5001/mcpm-test/busybox-auth:latest with a temporary
#             DOCKER_CONFIG holding an `auths` entry for it (skipped when the
#             registry already holds that very image) and drop the local tag,
#             so that a test's pull is a real pull
#   tls       the TLS engine: a SECOND dockerd for the TLS and context tests,
#             in its own network namespace `mcpm-tls` (a dockerd with
#             --bridge=none in the host's namespace would delete docker0),
#             reached over the veth pair mcpm-tls0 10.213.0.1/30 <->
#             mcpm-tls1 10.213.0.2/30, started with
#             `nsenter --net=/run/netns/mcpm-tls dockerd` (not `ip netns exec`),
#             its own empty --config-file, --data-root/--exec-root/--pidfile
#             and a unix socket under $MCPM_TEST_TLS_DIR (default
#             /tmp/mcpm-test-tls), --bridge=none --iptables=false, vfs storage,
#             and -H tcp://10.213.0.2:2376 --tlsverify with a CA, server
#             (SAN IP:10.213.0.2) and client certificates made with openssl
#             (plus an unrelated CA for wrong-CA tests). mcpm-test/busybox is
#             loaded into it with `docker save | docker -H unix://… load`.
#             Skipped when it already answers; fails if docker0 or the main
#             engine's ID changed meanwhile.
#   env       write target/test-engine.env (or $MCPM_TEST_ENV_FILE):
#               MCPM_TEST_ENGINE=1
#               MCPM_TEST_REGISTRY=127.0.0.1:5000
#               MCPM_TEST_IMAGE=mcpm-test/busybox:latest
#               MCPM_TEST_ECHO_IMAGE=mcpm-test/mcp-echo:latest
#               MCPM_TEST_PULL_IMAGE=127.0.0.1:5000/mcpm-test/busybox:latest
#               MCPM_TEST_TIME_IMAGE=mcpm-test/mcp-time:latest
#               MCPM_TEST_PYTHON=<repo>/target/mcp-venv/bin/python
#               MCPM_TEST_AUTH_REGISTRY=127.0.0.1:5001
#               MCPM_TEST_AUTH_USER=mcpm-test
#               MCPM_TEST_AUTH_PASSWORD=<the random password>
#               MCPM_TEST_AUTH_IMAGE=127.0.0.1:5001/mcpm-test/busybox-auth:latest
#               MCPM_TEST_TLS_HOST=tcp://10.213.0.2:2376   the TLS engine
#               MCPM_TEST_TLS_CERT_PATH=<tls dir>/client   its ca/cert/key.pem
#               MCPM_TEST_TLS_WRONG_CERT_PATH=<tls dir>/wrong-ca  same client
#                                          files, a CA that did not sign it
#               MCPM_TEST_TLS_SOCKET=<tls dir>/docker.sock its unix socket
#             Tests read that file, or a shell loads it with
#             `set -a; . target/test-engine.env; set +a`. It is deleted first,
#             so it only exists after a run that succeeded.
#
# Flags:
#   --check      only tell whether the engine answers; exit 0 if so, else 1
#   --cleanup    remove the containers, networks and volumes named mcpm-test*
#                or labelled io.mcpm.test, the mcpm-test images (mcp-time
#                among them, and their 127.0.0.1:5000 tags), the env file and
#                the state dir (with the rootfs and wheel caches), and stop the
#                registries (5000 and 5001) if this script started them, and the TLS engine (as
#                --cleanup-tls); the machine's dockerd and target/mcp-venv
#                are left
#   --cleanup-tls  only stop the TLS engine and remove its veth pair, network
#                namespace and directory
#   --print-env  run the steps, then print the env as `export` lines on stdout,
#                for `eval "$(scripts/test-engine.sh --print-env)"`
#
# Any failure exits 3 with a message naming the step (bad usage exits 2). Under CI=true a
# missing engine is a failure like any other, never a reason to skip.
# Needs root (or sudo) only when something has to be installed or started.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPT="$ROOT/scripts/test-engine.sh"
IMAGES_DIR="$ROOT/tests/engine-images"
STATE_DIR=${MCPM_TEST_STATE_DIR:-/tmp/mcpm-test-engine}
ENV_FILE=${MCPM_TEST_ENV_FILE:-$ROOT/target/test-engine.env}
DOCKER_SOCK=/var/run/docker.sock
DOCKERD_LOG=/var/log/mcpm-dockerd.log
REGISTRY=127.0.0.1:5000
BUSYBOX_IMAGE=mcpm-test/busybox:latest
ECHO_IMAGE=mcpm-test/mcp-echo:latest
PULL_IMAGE=$REGISTRY/mcpm-test/busybox:latest
TIME_IMAGE=mcpm-test/mcp-time:latest
AUTH_REGISTRY=127.0.0.1:5001
AUTH_USER=mcpm-test
AUTH_DIR=$STATE_DIR/auth-registry
AUTH_REPO=mcpm-test/busybox-auth
AUTH_IMAGE=$AUTH_REGISTRY/$AUTH_REPO:latest
MCP_REQUIREMENTS=$IMAGES_DIR/mcp-time.requirements.txt
# Python packages only the host's test venv needs (not the image): test-side
# parsers such as prometheus_client's OpenMetrics parser for the metrics tests.
HOST_REQUIREMENTS=$IMAGES_DIR/host-tools.requirements.txt
VENV_DIR=$ROOT/target/mcp-venv
WHEELS_DIR=$STATE_DIR/mcp-wheels
DEBIAN_MIRROR=${MCPM_TEST_DEBIAN_MIRROR:-http://deb.debian.org/debian}
LABEL=io.mcpm.test
HASH_LABEL=io.mcpm.test.hash

STEP=setup
TMP_DIR=
say() { printf 'test-engine: %-8s %s\n' "$STEP" "$*" >&2; }
die() {
	printf 'test-engine: %-8s FAILED: %s\n' "$STEP" "$*" >&2
	if [[ ${CI:-} == true ]]; then
		echo "test-engine: CI=true, so this is a failure; engine tests are not skipped in CI" >&2
	else
		echo "test-engine: engine tests will be skipped until this script succeeds" >&2
	fi
	exit 3
}
# With errtrace a failure inside $(...) reaches here twice: once in the
# subshell (which says why, through die) and once in the caller (status 3).
on_err() {
	[[ $1 -ne 3 ]] || exit 3
	die "command failed (exit $1, line $2): $3"
}
trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR
trap '[[ -z $TMP_DIR ]] || rm -rf "$TMP_DIR"' EXIT

# Runs a command with its output kept in $STATE_DIR/last.log; on failure that
# output is shown and the step fails.
quiet() {
	mkdir -p "$STATE_DIR"
	if ! "$@" >"$STATE_DIR/last.log" 2>&1 9>&-; then
		sed 's/^/    | /' "$STATE_DIR/last.log" | tail -n 30 >&2
		die "$* (exit code above)"
	fi
}
have() { command -v "$1" >/dev/null 2>&1; }
as_root() {
	if [[ $EUID -eq 0 ]]; then "$@"
	elif have sudo; then sudo -n "$@"
	else die "need root to run: $*"
	fi
}

# ---------------------------------------------------------------- engine ---

# Prints "version api" of the engine's server part, or fails.
engine_version() {
	have docker || return 1
	timeout 15 docker version --format '{{.Server.Version}} {{.Server.APIVersion}}' 2>/dev/null
}

# True when the engine answers its /_ping with OK.
engine_ping() {
	local host=${DOCKER_HOST:-unix://$DOCKER_SOCK}
	if [[ $host == unix://* ]] && have curl; then
		[[ -S ${host#unix://} ]] || return 1
		[[ $(curl -fsS --max-time 5 --unix-socket "${host#unix://}" http://localhost/_ping 2>/dev/null) == OK ]]
	else
		engine_version >/dev/null
	fi
}

dockerd_running() {
	local comm
	for comm in /proc/[0-9]*/comm; do
		[[ $(cat "$comm" 2>/dev/null) == dockerd ]] && return 0
	done
	return 1
}

step_engine() {
	STEP=engine
	local where=${DOCKER_HOST:-unix://$DOCKER_SOCK} how="" pid=""
	if ! engine_ping; then
		[[ -z ${DOCKER_HOST:-} ]] || die "DOCKER_HOST=$DOCKER_HOST does not answer /_ping (nothing is started for a DOCKER_HOST)"
		if dockerd_running; then
			how="waited for the running dockerd"
		elif [[ -d /run/systemd/system ]] && have systemctl; then
			quiet as_root systemctl start docker
			how="started with systemctl"
		else
			[[ $EUID -eq 0 ]] || die "dockerd is not running and starting it needs root"
			local dockerd
			dockerd=$(command -v dockerd || echo /usr/sbin/dockerd)
			setsid "$dockerd" </dev/null >"$DOCKERD_LOG" 2>&1 9>&- &
			pid=$!
			how="started dockerd (pid $pid, log $DOCKERD_LOG)"
		fi
		local deadline=$((SECONDS + 60))
		until engine_ping; do
			if ((SECONDS >= deadline)) || { [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; }; then
				if [[ -r $DOCKERD_LOG ]]; then tail -n 20 "$DOCKERD_LOG" | sed 's/^/    | /' >&2; fi
				[[ -z $pid ]] || kill -0 "$pid" 2>/dev/null || die "dockerd exited at start ($how)"
				die "no OK from /_ping on $DOCKER_SOCK within 60 s ($how)"
			fi
			sleep 1
		done
		how=", $how"
	fi
	local version
	version=$(engine_version) || die "the engine answers /_ping but \`docker version\` fails (client/API mismatch or permissions?)"
	say "up at $where: server ${version% *}, API ${version#* }$how"
}

# -------------------------------------------------------------- packages ---

# Prints the path of a statically linked busybox, or nothing.
static_busybox() {
	local b out
	for b in /bin/busybox /usr/bin/busybox "$STATE_DIR/busybox-static/bin/busybox"; do
		[[ -x $b ]] || continue
		out=$(LC_ALL=C ldd "$b" 2>&1 || true)
		if [[ $out == *"not a dynamic executable"* || $out == *"statically linked"* ]]; then
			echo "$b"
			return
		fi
	done
}

step_packages() {
	STEP=packages
	local -a missing=()
	have docker || missing+=(docker.io)
	if [[ -z ${DOCKER_HOST:-} ]] && ! have dockerd && [[ ! -x /usr/sbin/dockerd ]]; then
		missing+=(docker.io)
	fi
	have docker-compose || missing+=(docker-compose)
	have curl || missing+=(curl)
	have docker-registry || missing+=(docker-registry)
	have debootstrap || [[ -x /usr/sbin/debootstrap ]] || missing+=(debootstrap)
	local want_busybox=
	[[ -n $(static_busybox) ]] || want_busybox=1
	if [[ -n $want_busybox ]] && dpkg-query -W -f '${Status}' busybox 2>/dev/null | grep -q 'ok installed'; then
		want_busybox=extract # a dynamic busybox is installed: keep it, unpack the static one beside
	elif [[ -n $want_busybox ]]; then
		missing+=(busybox-static)
	fi
	# unique, keeping order
	local -a pkgs=()
	local p
	for p in "${missing[@]}"; do
		[[ " ${pkgs[*]} " == *" $p "* ]] || pkgs+=("$p")
	done
	if ((${#pkgs[@]} == 0)) && [[ -z $want_busybox ]]; then
		say "all present (docker, docker-compose, docker-registry, curl, debootstrap, static busybox)"
		return
	fi
	export DEBIAN_FRONTEND=noninteractive
	have apt-get || die "missing ${pkgs[*]} ${want_busybox:+busybox-static} and there is no apt-get"
	quiet as_root apt-get update -qq
	if ((${#pkgs[@]})); then
		quiet as_root apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
	fi
	if [[ $want_busybox == extract ]]; then
		rm -rf "$STATE_DIR/deb" "$STATE_DIR/busybox-static"
		mkdir -p "$STATE_DIR/deb"
		local here=$PWD
		cd "$STATE_DIR/deb"
		quiet apt-get download -qq busybox-static
		cd "$here"
		local deb
		for deb in "$STATE_DIR"/deb/busybox-static_*.deb; do
			quiet dpkg-deb -x "$deb" "$STATE_DIR/busybox-static"
		done
		pkgs+=("busybox-static (unpacked into $STATE_DIR/busybox-static)")
	fi
	[[ -n $(static_busybox) ]] || die "no statically linked busybox after installing busybox-static"
	say "installed ${pkgs[*]}"
}

# ---------------------------------------------------------------- images ---

image_label() {
	docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

# Fills $1 with a busybox rootfs: applets linked in /bin, /usr/bin, /sbin and
# /usr/sbin pointing at /bin, root and nobody users, /tmp, /root, /etc files.
make_rootfs() {
	local dir=$1 busybox=$2 applet
	mkdir -p "$dir"/{bin,etc,root,tmp,proc,sys,dev,var/tmp,usr/local/bin}
	chmod 1777 "$dir/tmp" "$dir/var/tmp"
	chmod 700 "$dir/root"
	cp "$busybox" "$dir/bin/busybox"
	while read -r applet; do
		[[ $applet == busybox ]] || ln -sf busybox "$dir/bin/$applet"
	done < <("$busybox" --list)
	ln -s ../bin "$dir/usr/bin"
	ln -s bin "$dir/sbin"
	ln -s ../bin "$dir/usr/sbin"
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$dir/etc/passwd"
	printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$dir/etc/group"
	printf '%s\n' 'hosts: files dns' >"$dir/etc/nsswitch.conf"
	: >"$dir/etc/hosts"
	: >"$dir/etc/resolv.conf"
}

# import ROOTFS IMAGE HASH CHANGE...: builds IMAGE from ROOTFS, drops the image
# it replaces when nothing uses that one any more.
import_image() {
	local rootfs=$1 image=$2 hash=$3 old
	shift 3
	old=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
	local -a changes=(--change "LABEL $LABEL=1 $HASH_LABEL=$hash")
	local c
	for c in "$@"; do changes+=(--change "$c"); done
	# The busybox rootfs is made by whoever runs this (maybe not root): its
	# files become root's. A debootstrap rootfs (made as root) keeps its owners.
	local -a owners=(--owner=0 --group=0)
	[[ -z ${KEEP_OWNERS:-} ]] || owners=()
	tar -C "$rootfs" --numeric-owner "${owners[@]}" -cf "$TMP_DIR/rootfs.tar" .
	quiet docker import "${changes[@]}" "$TMP_DIR/rootfs.tar" "$image"
	if [[ -n $old ]]; then docker rmi "$old" >/dev/null 2>&1 || true; fi
}

step_images() {
	STEP=images
	local busybox hash
	busybox=$(static_busybox)
	[[ -n $busybox ]] || die "no statically linked busybox (install busybox-static)"
	hash=$(cat "$SCRIPT" "$IMAGES_DIR"/* "$busybox" | sha256sum | cut -c1-16)

	local -a built=() fresh=()
	local image
	for image in "$BUSYBOX_IMAGE" "$ECHO_IMAGE"; do
		if [[ $(image_label "$image" "$HASH_LABEL") == "$hash" ]]; then
			fresh+=("$image")
		else
			built+=("$image")
		fi
	done
	if ((${#built[@]})); then
		TMP_DIR=$(mktemp -d /tmp/mcpm-test-rootfs.XXXXXX)
		local rootfs=$TMP_DIR/rootfs
		make_rootfs "$rootfs" "$busybox"
		if [[ " ${built[*]} " == *" $BUSYBOX_IMAGE "* ]]; then
			import_image "$rootfs" "$BUSYBOX_IMAGE" "$hash" \
				'CMD ["sh","-c","trap \"exit 0\" TERM INT; sleep 2147483647 & wait"]'
		fi
		if [[ " ${built[*]} " == *" $ECHO_IMAGE "* ]]; then
			install -m 0755 "$IMAGES_DIR/mcp-echo.sh" "$rootfs/usr/local/bin/mcp-echo"
			import_image "$rootfs" "$ECHO_IMAGE" "$hash" 'ENTRYPOINT ["/usr/local/bin/mcp-echo"]'
		fi
		# smoke test: the echo server answers a ping
		local out
		out=$(printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"ping"}' | timeout 30 docker run -i --rm "$ECHO_IMAGE" 2>&1) ||
			die "docker run $ECHO_IMAGE failed: $out"
		[[ $out == '{"jsonrpc":"2.0","id":1,"result":{}}' ]] || die "$ECHO_IMAGE answered a ping with: $out"
		rm -rf "$TMP_DIR"
		TMP_DIR=
	fi
	say "built: ${built[*]:-none}; up to date: ${fresh[*]:-none} (hash $hash)"
}

# ------------------------------------------------------------ venv, time ---

# The platforms of bookworm's glibc (2.36) and older that `pip download` may
# take wheels for: pip does not widen an explicit --platform by itself.
chroot_platforms() {
	local minor
	for ((minor = 36; minor >= 17; minor--)); do printf -- '--platform\nmanylinux_2_%s_x86_64\n' "$minor"; done
	printf -- '--platform\n%s\n' manylinux2014_x86_64 manylinux2010_x86_64 manylinux1_x86_64
}

# What the venv is made from: the pins, the host's Python, the place.
venv_stamp() {
	{ cat "$MCP_REQUIREMENTS" "$HOST_REQUIREMENTS"; python3 -VV 2>/dev/null || true; echo "$VENV_DIR"; } | sha256sum | cut -c1-16
}

# True when the venv exists, answers, and was filled from these very pins.
venv_current() {
	[[ -x $VENV_DIR/bin/python && -f $VENV_DIR/.mcpm-stamp ]] || return 1
	[[ $(<"$VENV_DIR/.mcpm-stamp") == "$1" ]] || return 1
	"$VENV_DIR/bin/python" -c 'import mcp, mcp_server_time, prometheus_client' >/dev/null 2>&1
}

# Makes $VENV_DIR with the host's python3, installing python3-venv when
# Debian's python3 cannot make a venv with pip in it (its ensurepip is split out).
make_venv() {
	rm -rf "$VENV_DIR"
	mkdir -p "$(dirname "$VENV_DIR")"
	if have python3 && python3 -m venv "$VENV_DIR" >"$STATE_DIR/last.log" 2>&1; then
		return
	fi
	rm -rf "$VENV_DIR"
	have apt-get || die "python3 cannot make a venv (install python3 and python3-venv)"
	export DEBIAN_FRONTEND=noninteractive
	quiet as_root apt-get update -qq
	quiet as_root apt-get install -y -qq --no-install-recommends python3 python3-venv
	VENV_INSTALLED="python3-venv installed, "
	quiet python3 -m venv "$VENV_DIR"
}

step_venv() {
	STEP=venv
	local started=$SECONDS stamp done=()
	mkdir -p "$STATE_DIR"
	VENV_INSTALLED=
	stamp=$(venv_stamp)
	if ! venv_current "$stamp"; then
		make_venv
		stamp=$(venv_stamp) # python3 may have been installed just now
		quiet "$VENV_DIR/bin/python" -m pip install -q --upgrade pip
		done+=("made ${VENV_DIR#"$ROOT"/}")
	fi
	local wheels_stamp
	wheels_stamp=$(sha256sum <"$MCP_REQUIREMENTS" | cut -c1-16)
	if [[ $(cat "$WHEELS_DIR/.mcpm-stamp" 2>/dev/null) != "$wheels_stamp" ]]; then
		rm -rf "$WHEELS_DIR"
		mkdir -p "$WHEELS_DIR"
		local -a platforms
		mapfile -t platforms < <(chroot_platforms)
		quiet "$VENV_DIR/bin/pip" download -q --dest "$WHEELS_DIR" --only-binary=:all: \
			--implementation cp --python-version 3.11 --abi cp311 "${platforms[@]}" \
			-r "$MCP_REQUIREMENTS"
		cp "$MCP_REQUIREMENTS" "$WHEELS_DIR/requirements.txt"
		echo "$wheels_stamp" >"$WHEELS_DIR/.mcpm-stamp"
		done+=("fetched $(find "$WHEELS_DIR" -name '*.whl' | wc -l) wheels")
	fi
	if [[ $(cat "$VENV_DIR/.mcpm-stamp" 2>/dev/null) != "$stamp" ]]; then
		# The wheels just fetched serve the host too when its Python is 3.11.
		quiet "$VENV_DIR/bin/pip" install -q --find-links "$WHEELS_DIR" -r "$MCP_REQUIREMENTS"
		quiet "$VENV_DIR/bin/pip" install -q -r "$HOST_REQUIREMENTS"
		quiet "$VENV_DIR/bin/python" -c 'import mcp, mcp_server_time, prometheus_client'
		echo "$stamp" >"$VENV_DIR/.mcpm-stamp"
		done+=("installed the pins")
	fi
	local what="up to date"
	((${#done[@]} == 0)) || what="${VENV_INSTALLED}$(IFS=,; echo "${done[*]}" | sed 's/,/, /g')"
	say "$what: ${VENV_DIR#"$ROOT"/} ($("$VENV_DIR/bin/python" -V 2>&1), mcp $(grep -i '^mcp==' "$MCP_REQUIREMENTS" | cut -d= -f3), mcp-server-time $(grep -i '^mcp-server-time==' "$MCP_REQUIREMENTS" | cut -d= -f3)) in $((SECONDS - started)) s"
}

TIME_SUITE=bookworm
TIME_INCLUDE=python3,python3-venv

# Prints the path of the cached debootstrap rootfs tar, making it when missing.
time_rootfs_base() {
	local key tar
	key=$(echo "$TIME_SUITE minbase $TIME_INCLUDE" | sha256sum | cut -c1-12)
	tar=$STATE_DIR/mcp-time/base-$key.tar
	if [[ ! -s $tar ]]; then
		local dir=$TMP_DIR/base t0=$SECONDS
		mkdir -p "$STATE_DIR"
		mkdir -p "$STATE_DIR/mcp-time"
		rm -f "$STATE_DIR"/mcp-time/base-*.tar
		quiet debootstrap --variant=minbase --include="$TIME_INCLUDE" "$TIME_SUITE" "$dir" "$DEBIAN_MIRROR"
		# Downloaded packages and apt lists are not needed in the image.
		rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* \
			"$dir"/usr/share/doc "$dir"/usr/share/man "$dir"/usr/share/locale "$dir"/usr/share/info
		tar -C "$dir" --numeric-owner -cf "$tar.tmp" .
		mv "$tar.tmp" "$tar"
		rm -rf "$dir"
		echo "$((SECONDS - t0))" >"$STATE_DIR/mcp-time/debootstrap-seconds"
	fi
	echo "$tar"
}

# Fills a rootfs from the cached base and installs the pinned wheels into the
# venv /opt/mcp with the chroot's own Python and pip. Nothing of the host's pip
# configuration goes in (env -i): only the wheels copied there are used.
build_time_rootfs() {
	local base=$1 rootfs=$2
	mkdir -p "$rootfs"
	tar -C "$rootfs" --numeric-owner -xf "$base"
	mkdir -p "$rootfs/tmp/wheels"
	cp "$WHEELS_DIR"/*.whl "$WHEELS_DIR/requirements.txt" "$rootfs/tmp/wheels/"
	quiet env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
		chroot "$rootfs" /bin/sh -ec '
			python3 -m venv /opt/mcp
			/opt/mcp/bin/pip install -q --no-index --find-links /tmp/wheels -r /tmp/wheels/requirements.txt
			/opt/mcp/bin/python -c "import mcp_server_time"
			command -v /opt/mcp/bin/mcp-server-time'
	rm -rf "$rootfs/tmp/wheels" "$rootfs/root/.cache"
}

step_time() {
	STEP=time
	local hash started=$SECONDS
	hash=$({ declare -f step_time time_rootfs_base build_time_rootfs import_image; cat "$MCP_REQUIREMENTS"; echo "$TIME_SUITE $TIME_INCLUDE"; } | sha256sum | cut -c1-16)
	if [[ $(image_label "$TIME_IMAGE" "$HASH_LABEL") == "$hash" ]]; then
		say "up to date: $TIME_IMAGE (hash $hash, $(image_size "$TIME_IMAGE"))"
		return
	fi
	have debootstrap || [[ -x /usr/sbin/debootstrap ]] || die "debootstrap is not installed"
	export PATH=$PATH:/usr/sbin:/sbin
	TMP_DIR=$(mktemp -d /tmp/mcpm-test-rootfs.XXXXXX)
	local base rootfs_how="debootstrap rootfs cached"
	rm -f "$STATE_DIR/mcp-time/debootstrap-seconds"
	base=$(time_rootfs_base)
	if [[ -f $STATE_DIR/mcp-time/debootstrap-seconds ]]; then
		rootfs_how="debootstrap $(<"$STATE_DIR/mcp-time/debootstrap-seconds") s"
	fi
	build_time_rootfs "$base" "$TMP_DIR/rootfs"
	KEEP_OWNERS=1 import_image "$TMP_DIR/rootfs" "$TIME_IMAGE" "$hash" \
		'ENV PATH=/opt/mcp/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		'ENV LANG=C.UTF-8' \
		'CMD ["mcp-server-time"]'
	rm -rf "$TMP_DIR"
	TMP_DIR=
	# The real server answers initialize and tools/list through `docker run -i`.
	local out
	if ! out=$("$ROOT/scripts/bench-docker-run.sh" -n 1 "$TIME_IMAGE" 2>&1); then
		docker rmi "$TIME_IMAGE" >/dev/null 2>&1 || true # so the next run builds it again
		die "$TIME_IMAGE does not answer: $out"
	fi
	say "built $TIME_IMAGE in $((SECONDS - started)) s ($rootfs_how; hash $hash, $(image_size "$TIME_IMAGE"); ${out##*$'\n'})"
}

image_size() {
	local bytes
	bytes=$(docker image inspect --format '{{.Size}}' "$1" 2>/dev/null) || return 0
	echo "$((bytes / 1000000)) MB"
}

# -------------------------------------------------------------- registry ---

registry_up() { curl -fsS --max-time 5 "http://$REGISTRY/v2/" >/dev/null 2>&1; }

# Prints the pid of the registry this script started, if it still runs.
our_registry_pid() {
	local pid
	pid=$(cat "$STATE_DIR/registry.pid" 2>/dev/null) || return 0
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "registry.*$STATE_DIR/registry.yml"; then
		echo "$pid"
	fi
}

step_registry() {
	STEP=registry
	local pid
	pid=$(our_registry_pid)
	if registry_up; then
		if [[ -n $pid ]]; then
			say "answering at $REGISTRY (started earlier by this script, pid $pid)"
		else
			say "answering at $REGISTRY (not started by this script)"
		fi
		return
	fi
	[[ -z $pid ]] || kill "$pid" 2>/dev/null || true
	local bin
	bin=$(command -v docker-registry || command -v registry) || die "docker-registry is not installed"
	mkdir -p "$STATE_DIR/registry"
	cat >"$STATE_DIR/registry.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $STATE_DIR/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY
EOF
	setsid "$bin" serve "$STATE_DIR/registry.yml" </dev/null >"$STATE_DIR/registry.log" 2>&1 9>&- &
	pid=$!
	echo "$pid" >"$STATE_DIR/registry.pid"
	local deadline=$((SECONDS + 20))
	until registry_up; do
		if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
			tail -n 20 "$STATE_DIR/registry.log" | sed 's/^/    | /' >&2
			rm -f "$STATE_DIR/registry.pid"
			die "$bin did not answer on http://$REGISTRY/v2/ (port taken?)"
		fi
		sleep 0.2
	done
	say "started $bin on $REGISTRY (pid $pid, storage $STATE_DIR/registry)"
}

step_push() {
	STEP=push
	local id remote
	id=$(docker image inspect --format '{{.Id}}' "$BUSYBOX_IMAGE")
	# The config digest in the registry's manifest is the image id.
	remote=$(curl -fsS --max-time 10 \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"http://$REGISTRY/v2/mcpm-test/busybox/manifests/latest" 2>/dev/null | tr -d ' \t\r\n' |
		sed -n 's/.*"config":{[^}]*"digest":"\(sha256:[0-9a-f]*\)".*/\1/p') || true
	local what
	if [[ $remote == "$id" ]]; then
		what="already in the registry"
	else
		quiet docker tag "$BUSYBOX_IMAGE" "$PULL_IMAGE"
		quiet docker push "$PULL_IMAGE"
		what="pushed"
	fi
	# Drop the local tag, so a test's pull really pulls (kept if a container uses it).
	if docker image inspect "$PULL_IMAGE" >/dev/null 2>&1; then
		docker rmi "$PULL_IMAGE" >/dev/null 2>&1 || true
	fi
	say "$what: $PULL_IMAGE (${id:7:12})"
}

# ------------------------------------------------------ auth registry ---

# The HTTP status of the auth registry's /v2/ (401 when it wants a login).
auth_registry_status() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$AUTH_REGISTRY/v2/" 2>/dev/null || true
}

# Prints the pid of the auth registry this script started, if it still runs.
our_auth_registry_pid() {
	local pid
	pid=$(cat "$AUTH_DIR/registry.pid" 2>/dev/null) || return 0
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "registry.*$AUTH_DIR/registry.yml"; then
		echo "$pid"
	fi
}

auth_password() { cat "$AUTH_DIR/password" 2>/dev/null || true; }

step_authreg() {
	STEP=authreg
	mkdir -p "$AUTH_DIR"
	if ! have htpasswd; then
		have apt-get || die "htpasswd is missing and there is no apt-get (install apache2-utils)"
		export DEBIAN_FRONTEND=noninteractive
		quiet as_root apt-get update -qq
		quiet as_root apt-get install -y -qq --no-install-recommends apache2-utils
	fi
	if [[ ! -s $AUTH_DIR/password ]]; then
		# 24 random letters and digits: nothing to quote in shell or JSON.
		local password
		password=$(tr -dc 'A-Za-z0-9' </dev/urandom 2>/dev/null | head -c 24 || true)
		[[ ${#password} -eq 24 ]] || die "could not make a random password"
		(umask 077 && printf '%s' "$password" >"$AUTH_DIR/password")
		rm -f "$AUTH_DIR/htpasswd"
	fi
	local pid how status
	pid=$(our_auth_registry_pid)
	status=$(auth_registry_status)
	if [[ $status == 401 && -n $pid ]]; then
		how="answering at $AUTH_REGISTRY (started earlier by this script, pid $pid)"
	elif [[ $status == 401 ]]; then
		how="answering at $AUTH_REGISTRY (not started by this script)"
	elif [[ $status == 000 ]]; then
		[[ -z $pid ]] || kill "$pid" 2>/dev/null || true
		local bin
		bin=$(command -v docker-registry || command -v registry) || die "docker-registry is not installed"
		# bcrypt: the only hash the registry's htpasswd auth accepts.
		[[ -s $AUTH_DIR/htpasswd ]] || quiet htpasswd -Bbc "$AUTH_DIR/htpasswd" "$AUTH_USER" "$(auth_password)"
		mkdir -p "$AUTH_DIR/storage"
		printf '%s\n' \
			'version: 0.1' \
			'log:' \
			'  level: warn' \
			'  accesslog:' \
			'    disabled: true' \
			'storage:' \
			'  filesystem:' \
			"    rootdirectory: $AUTH_DIR/storage" \
			'  delete:' \
			'    enabled: true' \
			'auth:' \
			'  htpasswd:' \
			'    realm: mcpm-test' \
			"    path: $AUTH_DIR/htpasswd" \
			'http:' \
			"  addr: $AUTH_REGISTRY" >"$AUTH_DIR/registry.yml"
		setsid "$bin" serve "$AUTH_DIR/registry.yml" </dev/null >"$AUTH_DIR/registry.log" 2>&1 9>&- &
		pid=$!
		echo "$pid" >"$AUTH_DIR/registry.pid"
		local deadline=$((SECONDS + 20))
		until [[ $(auth_registry_status) == 401 ]]; do
			if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
				tail -n 20 "$AUTH_DIR/registry.log" | sed 's/^/    | /' >&2
				rm -f "$AUTH_DIR/registry.pid"
				die "$bin did not answer 401 on http://$AUTH_REGISTRY/v2/ (port taken?)"
			fi
			sleep 0.2
		done
		how="started $bin with htpasswd auth on $AUTH_REGISTRY (pid $pid, state $AUTH_DIR)"
	else
		die "something at $AUTH_REGISTRY answers /v2/ with HTTP $status, not 401: not a registry that wants a login"
	fi

	# Push, unless the registry already holds this very image.
	local id remote what
	id=$(docker image inspect --format '{{.Id}}' "$BUSYBOX_IMAGE")
	remote=$(curl -fsS --max-time 10 -u "$AUTH_USER:$(auth_password)" \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"http://$AUTH_REGISTRY/v2/$AUTH_REPO/manifests/latest" 2>/dev/null | tr -d ' \t\r\n' |
		sed -n 's/.*"config":{[^}]*"digest":"\(sha256:[0-9a-f]*\)".*/\1/p') || true
	if [[ $remote == "$id" ]]; then
		what="already in the registry"
	else
		# A throwaway docker config holding only this registry's login: the
		# user's own config (and its helpers) is neither used nor changed.
		TMP_DIR=$(mktemp -d /tmp/mcpm-test-authpush.XXXXXX)
		printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$AUTH_REGISTRY" \
			"$(printf '%s:%s' "$AUTH_USER" "$(auth_password)" | base64 -w0)" >"$TMP_DIR/config.json"
		quiet docker tag "$BUSYBOX_IMAGE" "$AUTH_IMAGE"
		DOCKER_CONFIG=$TMP_DIR quiet docker push "$AUTH_IMAGE"
		rm -rf "$TMP_DIR"
		TMP_DIR=
		what="pushed"
	fi
	# Drop the local tag, so a test's pull really pulls.
	if docker image inspect "$AUTH_IMAGE" >/dev/null 2>&1; then
		docker rmi "$AUTH_IMAGE" >/dev/null 2>&1 || true
	fi
	say "$how; $what: $AUTH_IMAGE (${id:7:12})"
}

# ------------------------------------------------------------------- tls ---

# The TLS engine: a second dockerd for the TLS and context tests, alone in the
# network namespace $TLS_NS. A dockerd with --bridge=none in the host's own
# namespace deletes the host's docker0 and breaks the machine's engine, so it
# never runs there. The host reaches it over a veth pair.
TLS_DIR=${MCPM_TEST_TLS_DIR:-/tmp/mcpm-test-tls}
TLS_NS=mcpm-tls
TLS_HOST_IF=mcpm-tls0
TLS_NS_IF=mcpm-tls1
TLS_HOST_ADDR=10.213.0.1
TLS_NS_ADDR=10.213.0.2
TLS_PORT=2376
TLS_SOCK=$TLS_DIR/docker.sock
TLS_CLIENT=$TLS_DIR/client
TLS_WRONG=$TLS_DIR/wrong-ca
TLS_SERVER=$TLS_DIR/server

# Whether the TLS engine answers over TCP with the client certificates.
tls_ping() {
	[[ -S $TLS_SOCK && -r $TLS_CLIENT/ca.pem ]] || return 1
	timeout 10 docker --tlsverify --tlscacert "$TLS_CLIENT/ca.pem" --tlscert "$TLS_CLIENT/cert.pem" \
		--tlskey "$TLS_CLIENT/key.pem" -H "tcp://$TLS_NS_ADDR:$TLS_PORT" version >/dev/null 2>&1
}

# What must stay as it was: docker0 (its addresses) and the main engine's ID.
host_engine_state() {
	printf '%s|%s\n' "$(ip -br addr show docker0 2>/dev/null | awk '{$2=""; print}')" \
		"$(docker info --format '{{.ID}}' 2>/dev/null)"
}

# A CA, a server certificate for $TLS_NS_ADDR, a client certificate, and an
# unrelated CA beside the same client files (the wrong-CA test). EC P-256
# keys in PKCS#8, which both the Go daemon and rustls read.
make_tls_certs() {
	[[ -r $TLS_CLIENT/key.pem && -r $TLS_SERVER/key.pem && -r $TLS_WRONG/ca.pem ]] && return 0
	mkdir -p "$TLS_CLIENT" "$TLS_SERVER" "$TLS_WRONG" "$TLS_DIR/ca"
	local ca=$TLS_DIR/ca
	key() { quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
	key "$ca/ca-key.pem"
	quiet openssl req -x509 -new -key "$ca/ca-key.pem" -days 30 -subj "/CN=mcpm test TLS engine CA" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$ca/ca.pem"
	key "$TLS_SERVER/key.pem"
	quiet openssl req -new -key "$TLS_SERVER/key.pem" -subj "/CN=$TLS_NS_ADDR" -out "$ca/server.csr"
	printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n' \
		"$TLS_NS_ADDR" >"$ca/server.ext"
	quiet openssl x509 -req -in "$ca/server.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca-key.pem" -CAcreateserial \
		-days 30 -extfile "$ca/server.ext" -out "$TLS_SERVER/cert.pem"
	key "$TLS_CLIENT/key.pem"
	quiet openssl req -new -key "$TLS_CLIENT/key.pem" -subj "/CN=mcpm-test-client" -out "$ca/client.csr"
	printf 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n' >"$ca/client.ext"
	quiet openssl x509 -req -in "$ca/client.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca-key.pem" -CAcreateserial \
		-days 30 -extfile "$ca/client.ext" -out "$TLS_CLIENT/cert.pem"
	cp "$ca/ca.pem" "$TLS_CLIENT/ca.pem"
	cp "$ca/ca.pem" "$TLS_SERVER/ca.pem"
	key "$TLS_WRONG/other-ca-key.pem"
	quiet openssl req -x509 -new -key "$TLS_WRONG/other-ca-key.pem" -days 30 -subj "/CN=some other CA" \
		-addext "basicConstraints=critical,CA:TRUE" -out "$TLS_WRONG/ca.pem"
	cp "$TLS_CLIENT/cert.pem" "$TLS_CLIENT/key.pem" "$TLS_WRONG/"
	chmod 0600 "$TLS_CLIENT/key.pem" "$TLS_SERVER/key.pem" "$TLS_WRONG/key.pem" "$ca/ca-key.pem"
}

step_tls() {
	STEP=tls
	have openssl || die "openssl is needed to make the TLS engine's certificates"
	have nsenter || die "nsenter (util-linux) is needed to start the TLS engine"
	local before after how="already up"
	before=$(host_engine_state)
	if ! tls_ping; then
		[[ $EUID -eq 0 ]] || die "starting the TLS engine (netns, veth, dockerd) needs root"
		[[ ! -r $TLS_DIR/dockerd.pid ]] || tls_stop
		mkdir -p "$TLS_DIR"
		make_tls_certs
		[[ -e /run/netns/$TLS_NS ]] || quiet ip netns add "$TLS_NS"
		if ! ip link show "$TLS_HOST_IF" >/dev/null 2>&1; then
			quiet ip link add "$TLS_HOST_IF" type veth peer name "$TLS_NS_IF" netns "$TLS_NS"
			quiet ip addr add "$TLS_HOST_ADDR/30" dev "$TLS_HOST_IF"
			quiet ip -n "$TLS_NS" addr add "$TLS_NS_ADDR/30" dev "$TLS_NS_IF"
		fi
		quiet ip link set "$TLS_HOST_IF" up
		quiet ip -n "$TLS_NS" link set "$TLS_NS_IF" up
		quiet ip -n "$TLS_NS" link set lo up
		local dockerd major config='{}'
		dockerd=$(command -v dockerd || echo /usr/sbin/dockerd)
		# Before Docker 23 the engine ID comes from /etc/docker/key.json,
		# which the machine's engine uses: a key of its own gives this one
		# its own ID (tests tell the engines apart by it). Later versions
		# keep the ID under --data-root.
		major=$("$dockerd" --version | sed -n 's/^Docker version \([0-9]*\)\..*/\1/p')
		if [[ -n $major ]] && ((major < 23)); then config="{\"deprecated-key-path\": \"$TLS_DIR/key.json\"}"; fi
		# Its own config file: the machine's /etc/docker/daemon.json sets
		# data-root, which would clash with --data-root.
		echo "$config" >"$TLS_DIR/daemon.json"
		# nsenter, not `ip netns exec`: that remounts /sys, and dockerd then
		# fails with "Devices cgroup isn't mounted". vfs: no overlay mounts to
		# depend on (the test image is a few MB).
		setsid nsenter --net="/run/netns/$TLS_NS" "$dockerd" \
			--config-file "$TLS_DIR/daemon.json" \
			--data-root "$TLS_DIR/data" --exec-root "$TLS_DIR/exec" --pidfile "$TLS_DIR/dockerd.pid" \
			-H "unix://$TLS_SOCK" -H "tcp://$TLS_NS_ADDR:$TLS_PORT" \
			--tlsverify --tlscacert "$TLS_SERVER/ca.pem" --tlscert "$TLS_SERVER/cert.pem" --tlskey "$TLS_SERVER/key.pem" \
			--bridge=none --iptables=false --ip-masq=false --storage-driver=vfs \
			</dev/null >"$TLS_DIR/dockerd.log" 2>&1 9>&- &
		local pid=$! deadline=$((SECONDS + 60))
		until tls_ping; do
			if ((SECONDS >= deadline)) || ! kill -0 "$pid" 2>/dev/null; then
				tail -n 20 "$TLS_DIR/dockerd.log" | sed 's/^/    | /' >&2
				die "the TLS engine did not answer on tcp://$TLS_NS_ADDR:$TLS_PORT within 60 s (log: $TLS_DIR/dockerd.log)"
			fi
			sleep 1
		done
		how="started (pid $pid, log $TLS_DIR/dockerd.log)"
	fi
	# The busybox test image, loaded from the main engine (no registry):
	# again whenever the main engine's copy was rebuilt.
	local want have_id
	want=$(docker image inspect --format '{{.Id}}' "$BUSYBOX_IMAGE")
	have_id=$(docker -H "unix://$TLS_SOCK" image inspect --format '{{.Id}}' "$BUSYBOX_IMAGE" 2>/dev/null || true)
	if [[ $want != "$have_id" ]]; then
		docker save "$BUSYBOX_IMAGE" | docker -H "unix://$TLS_SOCK" load >"$STATE_DIR/last.log" 2>&1 ||
			die "cannot load $BUSYBOX_IMAGE into the TLS engine: $(tail -n 3 "$STATE_DIR/last.log")"
		how="$how, loaded $BUSYBOX_IMAGE"
	fi
	after=$(host_engine_state)
	[[ $before == "$after" ]] || die "the machine's engine or docker0 changed while starting the TLS engine: before [$before], after [$after]"
	say "TLS engine at tcp://$TLS_NS_ADDR:$TLS_PORT in netns $TLS_NS: $how; docker0 and the main engine unchanged"
}

# Stops the TLS engine and removes its veth, namespace and directory. Only
# what step_tls made is touched: processes in $TLS_NS, its mounts, its files.
tls_stop() {
	local pid
	pid=$(cat "$TLS_DIR/dockerd.pid" 2>/dev/null || true)
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
	fi
	# Its containerd and shims live in the namespace too.
	if [[ -e /run/netns/$TLS_NS ]]; then
		local pids
		pids=$(ip netns pids "$TLS_NS" 2>/dev/null || true)
		[[ -z $pids ]] || kill -9 $pids 2>/dev/null || true
	fi
	rm -f "$TLS_DIR/dockerd.pid"
}

tls_cleanup() {
	STEP=cleanup
	local before
	before=$(host_engine_state)
	tls_stop
	ip link show "$TLS_HOST_IF" >/dev/null 2>&1 && ip link del "$TLS_HOST_IF"
	[[ ! -e /run/netns/$TLS_NS ]] || ip netns del "$TLS_NS"
	# Container namespaces and shm mounts the daemon left under its roots.
	local mount
	for mount in $(awk -v dir="$TLS_DIR/" 'index($5, dir) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
		umount -l "$mount" 2>/dev/null || true
	done
	rm -rf "$TLS_DIR"
	[[ $before == "$(host_engine_state)" ]] || die "docker0 or the main engine changed during the TLS cleanup"
	say "TLS engine stopped; $TLS_HOST_IF, netns $TLS_NS and $TLS_DIR removed"
}

step_env() {
	STEP="env"
	mkdir -p "$(dirname "$ENV_FILE")"
	env_lines >"$ENV_FILE.tmp"
	mv "$ENV_FILE.tmp" "$ENV_FILE"
	say "wrote ${ENV_FILE#"$ROOT"/}"
}

env_lines() {
	printf '%s\n' \
		"MCPM_TEST_ENGINE=1" \
		"MCPM_TEST_REGISTRY=$REGISTRY" \
		"MCPM_TEST_IMAGE=$BUSYBOX_IMAGE" \
		"MCPM_TEST_ECHO_IMAGE=$ECHO_IMAGE" \
		"MCPM_TEST_PULL_IMAGE=$PULL_IMAGE" \
		"MCPM_TEST_TIME_IMAGE=$TIME_IMAGE" \
		"MCPM_TEST_PYTHON=$VENV_DIR/bin/python" \
		"MCPM_TEST_AUTH_REGISTRY=$AUTH_REGISTRY" \
		"MCPM_TEST_AUTH_USER=$AUTH_USER" \
		"MCPM_TEST_AUTH_PASSWORD=$(auth_password)" \
		"MCPM_TEST_AUTH_IMAGE=$AUTH_IMAGE" \
		"MCPM_TEST_TLS_HOST=tcp://$TLS_NS_ADDR:$TLS_PORT" \
		"MCPM_TEST_TLS_CERT_PATH=$TLS_CLIENT" \
		"MCPM_TEST_TLS_WRONG_CERT_PATH=$TLS_WRONG" \
		"MCPM_TEST_TLS_SOCKET=$TLS_SOCK"
}

# --------------------------------------------------------------- cleanup ---

# Prints the ids of the NAME-prefixed or labelled objects that `docker KIND ls` shows.
named_or_labelled() {
	local kind=$1 all=() line
	case $kind in
	container) mapfile -t all < <(docker ps -a --format '{{.ID}} {{.Names}}') ;;
	network) mapfile -t all < <(docker network ls --format '{{.ID}} {{.Name}}') ;;
	volume) mapfile -t all < <(docker volume ls --format '{{.Name}} {{.Name}}') ;;
	esac
	for line in "${all[@]}"; do
		[[ ${line#* } == mcpm-test* ]] && echo "${line%% *}"
	done
	case $kind in
	container) docker ps -aq --filter "label=$LABEL" ;;
	network) docker network ls -q --filter "label=$LABEL" ;;
	volume) docker volume ls -q --filter "label=$LABEL" ;;
	esac
}

do_cleanup() {
	tls_cleanup
	STEP=cleanup
	engine_ping || die "the engine does not answer, nothing to clean there"
	local -a ids images
	local image
	mapfile -t images < <(
		docker images -q --filter 'reference=mcpm-test/*'
		docker images -q --filter "reference=$REGISTRY/mcpm-test/*"
		docker images -q --filter "reference=$AUTH_REGISTRY/mcpm-test/*"
		docker images -q --filter "label=$LABEL"
	)
	mapfile -t ids < <(
		named_or_labelled container
		for image in $(printf '%s\n' "${images[@]}" | sort -u); do
			docker ps -aq --filter "ancestor=$image"
		done
	)
	mapfile -t ids < <(printf '%s\n' "${ids[@]}" | sed '/^$/d' | sort -u)
	((${#ids[@]} == 0)) || quiet docker rm -f -v "${ids[@]}"
	local nc=${#ids[@]}
	mapfile -t ids < <(named_or_labelled network | sort -u)
	((${#ids[@]} == 0)) || quiet docker network rm "${ids[@]}"
	local nn=${#ids[@]}
	mapfile -t ids < <(named_or_labelled volume | sort -u)
	((${#ids[@]} == 0)) || quiet docker volume rm -f "${ids[@]}"
	local nv=${#ids[@]}
	mapfile -t images < <(printf '%s\n' "${images[@]}" | sed '/^$/d' | sort -u)
	((${#images[@]} == 0)) || quiet docker rmi -f "${images[@]}"
	local pid stopped="no registry of this script's running"
	if registry_up; then stopped="the registry at $REGISTRY was not started by this script, left alone"; fi
	pid=$(our_registry_pid)
	if [[ -n $pid ]]; then
		kill "$pid"
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		stopped="stopped registry (pid $pid)"
	fi
	pid=$(our_auth_registry_pid)
	if [[ -n $pid ]]; then
		kill "$pid"
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		stopped="$stopped; stopped the auth registry (pid $pid)"
	elif [[ $(auth_registry_status) != 000 ]]; then
		stopped="$stopped; the registry at $AUTH_REGISTRY was not started by this script, left alone"
	fi
	rm -rf "$STATE_DIR" "$ENV_FILE"
	say "removed $nc containers, $nn networks, $nv volumes, ${#images[@]} images; $stopped"
}

# ------------------------------------------------------------------ main ---

# One run at a time (two test binaries may call this at once). Whatever this
# script starts or installs runs with fd 9 closed, so that no daemon keeps the lock.
lock() {
	exec 9>"$STATE_DIR.lock"
	have flock || return 0
	flock -w 300 9 || die "another run of this script holds $STATE_DIR.lock"
}

usage() { sed -n '2,/^set -Eeuo/p' "$SCRIPT" | sed '$d; s/^# \{0,1\}//'; }

mode=setup
case ${1:-} in
"") ;;
--check | --cleanup | --cleanup-tls | --print-env) mode=${1#--} ;;
-h | --help) usage; exit 0 ;;
*) usage >&2; exit 2 ;;
esac
(($# <= 1)) || { usage >&2; exit 2; }

case $mode in
check)
	STEP=check
	if engine_ping && version=$(engine_version); then
		say "engine up at ${DOCKER_HOST:-unix://$DOCKER_SOCK}: server ${version% *}, API ${version#* }"
		exit 0
	fi
	say "engine down: no answer at ${DOCKER_HOST:-unix://$DOCKER_SOCK}"
	exit 1
	;;
cleanup)
	lock
	do_cleanup
	;;
cleanup-tls)
	lock
	tls_cleanup
	;;
setup | print-env)
	lock
	rm -f "$ENV_FILE"
	started=$SECONDS
	step_packages
	step_engine
	step_images
	step_venv
	step_time
	step_registry
	step_push
	step_authreg
	step_tls
	step_env
	STEP="done"
	say "ready in $((SECONDS - started)) s"
	[[ $mode != print-env ]] || env_lines | sed 's/^/export /'
	;;
esac
