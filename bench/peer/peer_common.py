"""What the PyTorch peers share with `medssl bench`: shape parsing, step-time statistics, memory and the JSON record.

The record has the same fields as medssl's (src/medssl/bench/bench_report.h), so bench/compare.sh reads both sides the
same way: {"side", "case", "params", "batch", "samples_per_step", "threads", "step_s": {"median", "p10", "p90",
"mean", "n"}, "samples_per_s", "peak_rss_mb", "baseline_rss_mb", "versions"}.
"""
import json
import platform
import resource
import sys

import torch


def parse_shape(text, what="--input"):
    """'1x64x64x64' -> [1, 64, 64, 64] (C x spatial...)."""
    try:
        dims = [int(v) for v in text.lower().split("x")]
    except ValueError:
        sys.exit(f"{what}: expected sizes like 1x64x64x64, got '{text}'")
    if len(dims) not in (3, 4) or min(dims) < 1:
        sys.exit(f"{what}: expected C x H x W or C x D x H x W with positive sizes, got '{text}'")
    return dims


def percentile(sorted_values, q):
    """Linear interpolation between closest ranks (numpy's default), as medssl's bench_stats.cpp."""
    if not sorted_values:
        return float("nan")
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def step_stats(times):
    s = sorted(times)
    return {"median": percentile(s, 0.5), "p10": percentile(s, 0.1), "p90": percentile(s, 0.9),
            "mean": sum(s) / len(s) if s else float("nan"), "n": len(s)}


def rss_mb():
    """Current resident set size in MiB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_rss_mb():
    """Peak resident set size of this process so far in MiB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def set_threads(threads):
    # Debian's python3-torch starts with ONE intra-op thread; the peer must use the same count as medssl.
    torch.set_num_threads(threads)
    return torch.get_num_threads()


def versions():
    return {"python": platform.python_version(), "torch": torch.__version__, "machine": platform.machine()}


def emit(record, as_json):
    record.setdefault("side", "pytorch")
    record.setdefault("versions", versions())
    if as_json:
        print(json.dumps(record))
        return
    st = record.get("step_s", {})
    print(f"{record['case']}: params {record.get('params')} | step median {st.get('median', 0):.4f} s "
          f"(p10 {st.get('p10', 0):.4f}, p90 {st.get('p90', 0):.4f}, n {st.get('n')}) | "
          f"{record.get('samples_per_s', 0):.2f} samples/s | peak RSS {record.get('peak_rss_mb', 0):.0f} MiB")
