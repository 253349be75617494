#!/usr/bin/env bash
# Cuts a release of mcpm: bumps the version, checks the CHANGELOG, builds the
# crate and the Debian package, and prints what to publish.
#
#   scripts/release.sh 0.2.0             # do it
#   scripts/release.sh 0.2.0 --dry-run   # check and show the plan; change nothing
#
# Steps:
#   1. VERSION must be X.Y.Z and newer than Cargo.toml's version.
#   2. CHANGELOG.md must have its section, as Keep a Changelog writes it:
#      `## [X.Y.Z] - YYYY-MM-DD` (move the `## [Unreleased]` lines there first).
#   3. The working tree must be clean (not checked with --dry-run).
#   4. Cargo.toml and Cargo.lock get the new version.
#   5. `cargo package --locked` (the crate, verified by building it) and
#      scripts/build-deb.sh (the .deb) are built.
#   6. What to publish is printed: the commit and tag to make, `cargo publish`,
#      the .deb and the CHANGELOG section as the release notes.
# Exit codes: 0 done (or the dry run found nothing wrong), 2 a check failed.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
	echo "usage: scripts/release.sh VERSION [--dry-run]" >&2
	exit 2
}
fail() {
	echo "release.sh: $1" >&2
	[[ -n ${2:-} ]] && echo "hint: $2" >&2
	exit 2
}

version=
dry_run=false
for arg in "$@"; do
	case $arg in
	--dry-run) dry_run=true ;;
	-h | --help)
		sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	-*) usage ;;
	*) [[ -z $version ]] && version=$arg || usage ;;
	esac
done
[[ -n $version ]] || usage

[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
	fail "VERSION must be X.Y.Z, not \`$version\`" "e.g. scripts/release.sh 0.2.0"

current=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
newest=$(printf '%s\n%s\n' "$current" "$version" | sort -V | tail -n 1)
if [[ $version == "$current" || $newest != "$version" ]]; then
	fail "$version is not newer than the current version $current" "pick a version above $current"
fi

# Keep a Changelog: `## [0.2.0] - 2026-11-30`.
section=$(grep -nE "^## \[$(printf '%s' "$version" | sed 's/\./\\./g')\] - [0-9]{4}-[0-9]{2}-[0-9]{2}$" CHANGELOG.md || true)
if [[ -z $section ]]; then
	fail "CHANGELOG.md has no \`## [$version] - YYYY-MM-DD\` section" \
		"rename \`## [Unreleased]\` to \`## [$version] - $(date -u +%F)\` (and start a new empty Unreleased above it)"
fi
line=${section%%:*}
# The section's lines up to the next `## [` heading: the release notes.
notes=$(tail -n +"$((line + 1))" CHANGELOG.md | sed '/^## \[/,$d')
if [[ -z $(printf '%s' "$notes" | tr -d '[:space:]') ]]; then
	fail "CHANGELOG.md's section for $version is empty" "list what changed under it"
fi

echo "release $current -> $version"
echo "CHANGELOG.md: ${section#*:} (line $line)"
if $dry_run; then
	echo "dry run: nothing changed. A release would:"
	echo "  set version = \"$version\" in Cargo.toml and Cargo.lock"
	echo "  run cargo package --locked (target/package/mcpm-$version.crate)"
	echo "  run scripts/build-deb.sh (target/debian/mcpm_${version}-1_<arch>.deb)"
	echo "  then print the commit, tag and uploads to make"
	exit 0
fi

[[ -z $(git status --porcelain --untracked-files=no 2>/dev/null) ]] ||
	fail "the working tree has uncommitted changes" "commit or stash them; the release must be a commit"

sed -i "0,/^version = \"$current\"\$/s//version = \"$version\"/" Cargo.toml
# The lock file names the crate's own version too: update just that entry.
sed -i "/^name = \"mcpm\"\$/{n;s/^version = \"$current\"\$/version = \"$version\"/}" Cargo.lock
cargo package --locked --allow-dirty >&2
deb=$(scripts/build-deb.sh | tail -n 1)

cat <<EOT

Built:
  target/package/mcpm-$version.crate
  $deb

To publish:
  git commit -am "release $version" && git tag -a v$version -m "mcpm $version"
  git push && git push --tags
  cargo publish --locked
  attach $deb to the v$version release, with these notes:

$notes
EOT
