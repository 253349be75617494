#!/usr/bin/env bash
# The packaging checks, as scripts/test.sh runs them after `cargo test` (they
# run cargo themselves, so they cannot be cargo tests):
#   1. `cargo package --list`: the crate holds the code, the catalog and the
#      example profiles, and no tests, fixtures, corpora, fuzz targets or scripts.
#   2. The .deb (scripts/build-deb.sh, of the debug binary `cargo test` built)
#      installed with dpkg into a `debootstrap --variant=minbase` bookworm
#      chroot with man-db: `mcpm --version` runs, `man -w mcpm-docker-sync`
#      finds its page, the completion scripts are where the shells look.
#   3. `cargo package --offline`, verification included (it builds the
#      unpacked crate from the registry cache: no network needed). Last, as
#      its build shares target/ and leaves its own binary as target/debug/mcpm
#      (the workspace's is rebuilt after it).
# The chroot starts from the rootfs tar scripts/test-engine.sh caches
# ($MCPM_TEST_STATE_DIR/mcp-time/base-*.tar); man-db is added once and the
# result cached beside it. Needs root (chroot, dpkg) and, the first time,
# the Debian mirror for man-db. Each step prints its time.
set -euo pipefail
cd "$(dirname "$0")/.."

STATE_DIR=${MCPM_TEST_STATE_DIR:-/tmp/mcpm-test-engine}
DEBIAN_MIRROR=${MCPM_TEST_DEBIAN_MIRROR:-http://deb.debian.org/debian}
fail() {
	echo "test-package.sh: FAILED: $1" >&2
	exit 1
}
step() {
	echo "== test-package: $1 ($((SECONDS - t0)) s so far)"
}
t0=$SECONDS

step "cargo package --list"
list=$(cargo package --list --locked --offline --allow-dirty)
for needed in Cargo.toml Cargo.lock build.rs README.md src/main.rs src/lib.rs templates/time.toml profiles-example/dev.toml; do
	grep -qx "$needed" <<<"$list" || fail "the crate lacks $needed"
done
if stray=$(grep -E '^(tests|fuzz|scripts|\.ci|\.github)/|corpus|fixtures|snapshots' <<<"$list"); then
	fail "the crate holds test or tooling files: $stray"
fi
echo "$(wc -l <<<"$list") files, none of them tests, fixtures or corpora"

step "the .deb"
[[ -x target/debug/mcpm ]] || cargo build --locked
deb=$(scripts/build-deb.sh --binary target/debug/mcpm --fast | tail -n 1)
[[ -f $deb ]] || fail "build-deb.sh made no .deb"
contents=$(dpkg-deb -c "$deb")
for path in ./usr/bin/mcpm ./usr/share/man/man1/mcpm-docker-sync.1.gz \
	./usr/share/bash-completion/completions/mcpm ./usr/share/zsh/vendor-completions/_mcpm \
	./usr/share/fish/vendor_completions.d/mcpm.fish; do
	grep -q " $path\$" <<<"$contents" || fail "$deb lacks $path"
done
echo "built $deb"

if [[ $(id -u) != 0 ]]; then
	[[ -n ${CI:-} ]] && fail "the chroot install needs root"
	echo "skipped: the chroot install needs root" >&2
else
step "dpkg -i in a bookworm chroot"
base=$(ls -t "$STATE_DIR"/mcp-time/base-*.tar 2>/dev/null | head -n 1 || true)
[[ -n $base ]] || fail "no debootstrap rootfs cached in $STATE_DIR/mcp-time (run scripts/test-engine.sh first)"
with_man=$STATE_DIR/deb-test/$(basename "$base" .tar)-man-db.tar
root=$(mktemp -d "${TMPDIR:-/tmp}/mcpm-deb-root.XXXXXX")
cleanup() {
	for m in proc dev; do mountpoint -q "$root/$m" && umount -l "$root/$m"; done
	rm -rf "$root"
}
trap cleanup EXIT
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
if [[ -s $with_man ]]; then
	tar -C "$root" --numeric-owner -xf "$with_man"
else
	tar -C "$root" --numeric-owner -xf "$base"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	echo "deb $DEBIAN_MIRROR bookworm main" >"$root/etc/apt/sources.list"
	mount -t proc proc "$root/proc"
	in_root apt-get update -qq >/dev/null
	# (apt's complaint about /dev/pts, not mounted here, is noise.)
	in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends man-db \
		>/dev/null 2> >(grep -v -e posix_openpt -e apt-utils >&2)
	in_root apt-get clean
	umount -l "$root/proc"
	rm -rf "$root"/var/lib/apt/lists/*
	mkdir -p "$(dirname "$with_man")"
	tar -C "$root" --numeric-owner -cf "$with_man.tmp" . && mv "$with_man.tmp" "$with_man"
fi
cp "$deb" "$root/tmp/mcpm.deb"
in_root dpkg -i /tmp/mcpm.deb >/dev/null || fail "dpkg -i"
version=$(in_root mcpm --version) || fail "mcpm --version in the chroot"
[[ $version == "mcpm "*" (commit "* ]] || fail "mcpm --version said: $version"
echo "chroot: $version"
page=$(in_root man -w mcpm-docker-sync) || fail "man -w mcpm-docker-sync"
[[ $page == /usr/share/man/man1/mcpm-docker-sync.1.gz ]] || fail "man -w found $page"
in_root man -w mcpm >/dev/null || fail "man -w mcpm"
# The page renders (groff from man-db's dependencies), and says what sync does.
in_root env MANPAGER=cat COLUMNS=80 man mcpm-docker-sync 2>/dev/null | grep -q -- "--check" ||
	fail "man mcpm-docker-sync does not render with --check in it"
for file in /usr/share/bash-completion/completions/mcpm /usr/share/zsh/vendor-completions/_mcpm \
	/usr/share/fish/vendor_completions.d/mcpm.fish; do
	[[ -s $root$file ]] || fail "$file is not installed"
done
in_root bash -c '. /usr/share/bash-completion/completions/mcpm && complete -p mcpm' >/dev/null ||
	fail "the bash completion does not load"
in_root dpkg -r mcpm >/dev/null || fail "dpkg -r"
[[ ! -e $root/usr/bin/mcpm ]] || fail "dpkg -r left /usr/bin/mcpm"
cleanup
trap - EXIT
fi

step "cargo package --offline (verified)"
cargo package --locked --offline --allow-dirty >/dev/null 2>target/package.log ||
	{ tail -n 30 target/package.log >&2; fail "cargo package"; }
crate=$(ls -t target/package/mcpm-*.crate | head -n 1)
echo "packaged $crate"
# The verification built the unpacked crate in this target/, with the same
# build-script and binary names as the workspace's: target/debug/mcpm is now
# the package's, and the build script's output (the commit for --version)
# too. Removing the unpacked crate, whose files that output watches, makes
# the next build run the script again and relink; outside CI (where nothing
# follows) that build is done here, so a later `cargo test` is not surprised.
rm -rf "${crate%.crate}"
if [[ -z ${CI:-} ]]; then
	cargo build --locked --bin mcpm 2>/dev/null
	target/debug/mcpm --version | grep -qv "from the crate package" ||
		fail "target/debug/mcpm is still the package's build"
fi

step "done"
