#!/usr/bin/env bash
# run_fuzzer.sh FUZZER SEED_DIR WORK_DIR RUNS [extra libFuzzer flags]
# One fixed-length, reproducible libFuzzer run (CTest's fuzz.* tests; longer runs by hand: docs/reliability.md).
# New inputs go to WORK_DIR/corpus (emptied first), never into the seeds. A crash, leak, hang (> 10 s on one input),
# sanitizer report, exception other than medssl::Error, or single allocation over 256 MiB fails the run and leaves the
# input as WORK_DIR/crash-* (or leak-*, timeout-*, oom-*); rerun it with: FUZZER WORK_DIR/crash-...
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3 runs=$4
shift 4
rm -rf "$work"
mkdir -p "$work/corpus" "$seeds"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
exec "$fuzzer" -runs="$runs" -seed=1 -max_len=8192 -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 \
  -print_final_stats=1 -artifact_prefix="$work/" "$@" "$work/corpus" "$seeds"
