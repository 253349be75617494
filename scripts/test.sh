#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: make sure a Docker Engine
# (and the local test images and registry) is there, then run every cargo test,
# then the packaging checks (scripts/test-package.sh).
# Extra arguments go to `cargo test` (e.g. scripts/test.sh generate).
set -euo pipefail
cd "$(dirname "$0")/.."

if scripts/test-engine.sh; then
  set -a
  # shellcheck disable=SC1091
  . target/test-engine.env
  set +a
elif [ -n "${CI:-}" ]; then
  echo "test.sh: no Docker Engine in CI: that is a failure, not a skip" >&2
  exit 1
else
  echo "test.sh: no Docker Engine here; engine tests will say they are skipped" >&2
fi

cargo test "$@"

# The crate and the .deb (cargo package, cargo-deb, dpkg in a chroot): whole
# runs only, not `scripts/test.sh NAME`.
if [[ $# -eq 0 || $* == --locked ]]; then
	scripts/test-package.sh
fi
