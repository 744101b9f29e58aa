#!/usr/bin/python3
"""PyTorch-eager peer of `medssl bench sliding-window`: MONAI's sliding_window_inference algorithm (MONAI is not a
Debian package, so it is written out here for the project: the same window grid, Gaussian importance map, window
batches and accumulation as monai.inferers.sliding_window_inference 1.x and src/medssl/train/sliding_window.h) with the
same network in eval mode under torch.no_grad.

  /usr/bin/python3 bench/peer/sliding_window.py --volume 192x192x96 --roi 96 --overlap 0.5 --threads 2 --json

--volume is NIfTI voxel order i x j x k; the tensor is (1, C, k, j, i) as in medssl.
"""
import argparse
import itertools
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common as common  # noqa: E402
import peer_models as pm  # noqa: E402


def scan_interval(image, roi, overlap):
    return [r if r == s else max(int(r * (1 - overlap)), 1) for s, r in zip(image, roi)]


def window_starts(image, roi, interval):
    per_axis = []
    for size, r, step in zip(image, roi, interval):
        count = next((d + 1 for d in range(int(math.ceil(size / step))) if d * step + r >= size), 1)
        per_axis.append([i * step - max(i * step + r - size, 0) for i in range(count)])
    return list(itertools.product(*per_axis))


def gaussian_importance(roi, sigma_scale=0.125, device="cpu"):
    axes = []
    for r in roi:
        x = torch.arange(r, dtype=torch.float32, device=device) - (r - 1) / 2
        axes.append(torch.exp(-x * x / (2 * (sigma_scale * r) ** 2)))
    weight = axes[0][:, None, None] * axes[1][None, :, None] * axes[2][None, None, :]
    weight = weight / weight.max()
    return weight.clamp(min=max(weight.min().item(), 1e-3))


def sliding_window_inference(volume, roi, overlap, sw_batch, predictor, mode="gaussian"):
    image = list(volume.shape[2:])
    starts = window_starts(image, roi, scan_interval(image, roi, overlap))
    weight = gaussian_importance(roi, device=volume.device) if mode == "gaussian" else torch.ones(roi)
    output, count = None, torch.zeros([1, 1] + image, device=volume.device)
    for first in range(0, len(starts), sw_batch):
        chunk = starts[first:first + sw_batch]
        windows = torch.cat([volume[(slice(None), slice(None)) + tuple(slice(s, s + r) for s, r in zip(st, roi))]
                             for st in chunk])
        predictions = predictor(windows)
        if output is None:
            output = torch.zeros([1, predictions.shape[1]] + image, device=volume.device)
        for p, st in zip(predictions, chunk):
            region = (slice(None), slice(None)) + tuple(slice(s, s + r) for s, r in zip(st, roi))
            output[region] += p.unsqueeze(0) * weight
            count[region] += weight
    return output / count, len(starts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--volume", default="192x192x96")
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--roi", type=int, default=96)
    ap.add_argument("--overlap", type=float, default=0.5)
    ap.add_argument("--sw-batch", type=int, default=1)
    ap.add_argument("--mode", default="gaussian", choices=["constant", "gaussian"])
    ap.add_argument("--model", default="unet3d", choices=["unet3d", "unetr"])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    i, j, k = common.parse_shape("1x" + a.volume, "--volume")[1:]
    threads = common.set_threads(a.threads)
    torch.manual_seed(0)
    roi = [a.roi] * 3
    model = pm.UNet(3, a.channels, 3) if a.model == "unet3d" else pm.UNETR(a.channels, 3, roi)
    model.eval()
    volume = torch.rand(1, a.channels, k, j, i)
    seconds = []
    with torch.no_grad():
        model(torch.rand([1, a.channels] + roi))  # warm-up, as medssl's
        for _ in range(a.repeats):
            start = time.perf_counter()
            out, windows = sliding_window_inference(volume, roi, a.overlap, a.sw_batch, model, a.mode)
            seconds.append(time.perf_counter() - start)
    assert list(out.shape[2:]) == [k, j, i]
    median = common.step_stats(seconds)["median"]
    record = {"case": f"sliding-window model={a.model} volume={a.volume} roi={a.roi} overlap={a.overlap} "
                      f"sw_batch={a.sw_batch} mode={a.mode}",
              "params": pm.count_parameters(model), "windows": windows, "threads": threads, "seconds": seconds,
              "median_s": median, "windows_per_s": windows / median, "peak_rss_mb": common.peak_rss_mb()}
    if a.json:
        common.emit(record, True)
    else:
        print(f"{record['case']}: {windows} windows in {median:.3f} s | {windows / median:.2f} windows/s | "
              f"peak RSS {record['peak_rss_mb']:.0f} MiB")


if __name__ == "__main__":
    main()
