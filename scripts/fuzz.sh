#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time and reports the
# executions each reached; fails on the first crash or broken property.
#
#   scripts/fuzz.sh                       # CI: every target, 60 s each
#   FUZZ_SECONDS=1800 scripts/fuzz.sh     # a longer local run (30 min each)
#   scripts/fuzz.sh sync sync_gen         # only these targets
#
# Environment:
#   FUZZ_SECONDS     seconds per target (default 60)
#   FUZZ_SANITIZER   cargo fuzz's -s: `address` (default) or `none`
#   FUZZ_JOBS        parallel fuzzing processes per target (default 1)
#   MCPM_FUZZ_TOLERATE=internal,yaml
#                    keep going past violations of the kinds other work is
#                    fixing ("this is a bug in mcpm" refusals, YAML that does
#                    not read back); panics and broken properties still fail.
#
# Needs only stable Rust: cargo-fuzz is installed if missing, and
# RUSTC_BOOTSTRAP=1 lets stable accept the sanitizer flags cargo-fuzz passes.
# Each target starts from its seed corpus fuzz/corpus/TARGET (read only); what
# the run adds goes to target/fuzz-corpus/TARGET, kept between runs. A crash
# is kept in fuzz/artifacts/TARGET/ and the script prints how to reproduce it;
# save a minimized copy in fuzz/regressions/TARGET/ so `cargo test` (through
# tests/fuzz_regressions.rs) replays it from then on. The `*_gen` targets take
# structured input: run the crash with MCPM_FUZZ_DUMP=FILE to get its text
# form, and save that under the target's text twin (profile_gen -> profile,
# sync_gen -> sync).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${FUZZ_SECONDS:-60}"
sanitizer="${FUZZ_SANITIZER:-address}"
jobs="${FUZZ_JOBS:-1}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

cd "$root/fuzz"
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

echo "fuzz: building ${#targets[@]} targets (sanitizer: $sanitizer)"
if [ "$#" -gt 0 ]; then
    for target in "${targets[@]}"; do cargo fuzz build -s "$sanitizer" "$target"; done
else
    cargo fuzz build -s "$sanitizer"
fi
# Several processes per target only when asked: libFuzzer's -jobs moves the
# output into fuzz-N.log files, read back below.
parallel=()
if [ "$jobs" -gt 1 ]; then
    parallel=(-jobs="$jobs" -workers="$jobs")
fi

summary=()
status=0
for target in "${targets[@]}"; do
    work="$root/target/fuzz-corpus/$target"
    seeds="$root/fuzz/corpus/$target"
    mkdir -p "$work" "$seeds" "$root/fuzz/artifacts/$target"
    log="$root/target/fuzz-corpus/$target.log"
    echo "fuzz: $target for ${seconds}s"
    set +e
    cargo fuzz run -s "$sanitizer" "$target" "$work" "$seeds" -- \
        -max_total_time="$seconds" -print_final_stats=1 -timeout=20 \
        -rss_limit_mb=4096 "${parallel[@]}" \
        >"$log" 2>&1
    code=$?
    set -e
    runs="$(grep -h 'stat::number_of_executed_units' "$log" "$root"/fuzz/fuzz-*.log 2>/dev/null |
        awk '{s += $2} END {print s + 0}' || true)"
    rm -f "$root"/fuzz/fuzz-*.log
    if [ "$code" -ne 0 ]; then
        status=1
        crash="$(grep -ho 'fuzz/artifacts/[^ ]*' "$log" | tail -1 || true)"
        summary+=("$target: FAILED after $runs executions (exit $code) ${crash:+input: $crash}")
        echo "fuzz: $target failed (full log: $log):"
        grep -A6 -E 'panicked at|ERROR: (libFuzzer|AddressSanitizer)' "$log" | head -40 || true
        echo "fuzz: reproduce with: RUSTC_BOOTSTRAP=1 cargo fuzz run -s $sanitizer $target ${crash:-<input>}"
    else
        summary+=("$target: $runs executions in ${seconds}s")
    fi
done

echo "fuzz: executions reached"
printf '  %s\n' "${summary[@]}"
exit "$status"
