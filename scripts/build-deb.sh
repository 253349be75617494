#!/usr/bin/env bash
# Builds the Debian package of mcpm with cargo-deb: the binary, a man page per
# command and the bash/zsh/fish completion scripts (`mcpm dist-assets`).
#
#   scripts/build-deb.sh                 # cargo build --release, then package it
#   scripts/build-deb.sh --binary PATH   # package an already built binary (tests
#                                        # use the debug one: no release build)
#   --fast                               # faster, weaker compression (tests)
#
# Prints the path of the .deb on its last line. cargo-deb comes from crates.io
# (pinned below) and is installed once into $MCPM_TOOLS_DIR, default tools/ in
# scripts/test-engine.sh's state dir ($MCPM_TEST_STATE_DIR, else
# /tmp/mcpm-test-engine), which outlives CI's clean clones like its rootfs cache.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DEB_VERSION=3.8.0
binary=
fast=()
while [[ $# -gt 0 ]]; do
	case $1 in
	--binary)
		binary=${2:?--binary needs a path}
		shift 2
		;;
	--fast)
		fast=(--fast)
		shift
		;;
	-h | --help)
		sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "build-deb.sh: unknown argument: $1" >&2
		echo "hint: scripts/build-deb.sh [--binary PATH] [--fast]" >&2
		exit 2
		;;
	esac
done

tools=${MCPM_TOOLS_DIR:-${MCPM_TEST_STATE_DIR:-/tmp/mcpm-test-engine}/tools}
cargo_deb=$tools/bin/cargo-deb
if ! [[ -x $cargo_deb ]] || ! "$cargo_deb" --version 2>/dev/null | grep -q "$CARGO_DEB_VERSION"; then
	echo "build-deb.sh: installing cargo-deb $CARGO_DEB_VERSION into $tools (once)" >&2
	cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked --root "$tools" >&2
fi

if [[ -z $binary ]]; then
	cargo build --release --locked >&2
	binary=target/release/mcpm
fi
[[ -x $binary ]] || {
	echo "build-deb.sh: $binary is not an executable" >&2
	exit 2
}

# Cargo.toml's [package.metadata.deb] assets point here.
assets=target/assets
rm -rf "$assets"
mkdir -p "$assets/bin"
cp "$binary" "$assets/bin/mcpm"
"$assets/bin/mcpm" dist-assets --out "$assets" >&2
# Debian policy: man pages gzip-compressed, without a timestamp (-n).
gzip -9n "$assets"/man/*.1

"$cargo_deb" --no-build --no-strip "${fast[@]}" --output target/debian/ >&2
ls -t target/debian/mcpm_*.deb | head -n 1
