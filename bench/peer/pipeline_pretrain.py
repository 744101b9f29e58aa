#!/usr/bin/python3
"""PyTorch peer of a `medssl pretrain` epoch (data + step): a torch.utils.data.DataLoader pipeline that does the same
work in Python, the way a PyTorch user writes it, for bench/compare.sh's end-to-end row.

Per item, as `medssl prepare` + the rotation task do it: read the NIfTI volume (nibabel), reorient to RAS+
(as_closest_canonical), tensor (C, k, j, i), min-max normalise, resize (trilinear) to data_dim^3, then the rotation
pretext sample (one of 10 classes: identity or 90/180/270 degrees in one of three planes, medssl's rotate_image). Then
the same network as medssl's rotation task (UNet encoder -> big_fully -> Linear(10)) takes an Adam step per batch.

  /usr/bin/python3 bench/peer/pipeline_pretrain.py --dataset DIR --data-dim 64 --batch 4 --workers 1 --epochs 2 --json

--cache preprocesses every volume once into RAM first (what medssl's prepare cache gives its loader; MONAI calls this
CacheDataset); without it every epoch decodes and preprocesses again (a plain Dataset).
The record lists per epoch: seconds, samples/s, and the fraction of the epoch spent waiting for the loader.
"""
import argparse
import json
import os
import sys
import time

import nibabel as nib
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common as common  # noqa: E402
import peer_models as pm  # noqa: E402


def image_files(dataset):
    with open(os.path.join(dataset, "dataset.json")) as f:
        index = json.load(f)
    files = [e["image"] if isinstance(e, dict) else e for e in index.get("training", []) + index.get("test", [])]
    return [os.path.normpath(os.path.join(dataset, p)) for p in files]


def preprocess(path, side):
    image = nib.as_closest_canonical(nib.load(path))
    data = np.asarray(image.dataobj, dtype=np.float32)  # (i, j, k)
    x = torch.from_numpy(np.ascontiguousarray(data.transpose(2, 1, 0)))[None]  # (1, k, j, i)
    lo, hi = x.min(), x.max()
    x = (x - lo) / (hi - lo) if hi > lo else torch.zeros_like(x)
    return F.interpolate(x[None], size=(side, side, side), mode="trilinear", align_corners=False)[0]


def rotate(image, rotation):
    """medssl's rotate_image (src/medssl/pretext/rotation.cpp): class 0 = identity, 1..9 = k * 90 degrees in a plane."""
    if rotation == 0:
        return image
    planes = [(1, 2), (3, 2), (3, 1)]
    return torch.rot90(image, (rotation - 1) % 3 + 1, planes[(rotation - 1) // 3]).contiguous()


class RotationVolumes(torch.utils.data.Dataset):
    def __init__(self, files, side, cache):
        self.files, self.side = files, side
        self.cached = [preprocess(f, side) for f in files] if cache else None

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        image = self.cached[i] if self.cached is not None else preprocess(self.files[i], self.side)
        label = int(torch.randint(0, 10, ()).item())
        return rotate(image, label), label


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True, help="MSD-layout folder (dataset.json, imagesTr/...)")
    ap.add_argument("--data-dim", type=int, default=64)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--cache", action="store_true", help="preprocess once into RAM (CacheDataset)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    threads = common.set_threads(a.threads)
    torch.manual_seed(0)
    files = image_files(a.dataset)
    if len(files) < a.batch:
        sys.exit(f"{a.dataset}: {len(files)} images, fewer than one batch of {a.batch}")
    start = time.perf_counter()
    dataset = RotationVolumes(files, a.data_dim, a.cache)
    cache_s = time.perf_counter() - start
    loader = torch.utils.data.DataLoader(dataset, batch_size=a.batch, shuffle=True, drop_last=True,
                                         num_workers=a.workers, persistent_workers=a.workers > 0)
    model = pm.PatchClassifier(3, 1, 1, a.data_dim, 10)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-7)
    model.train()
    epochs = []
    for _ in range(a.epochs):
        samples, wait = 0, 0.0
        epoch_start = time.perf_counter()
        fetch_start = epoch_start
        for images, labels in loader:
            wait += time.perf_counter() - fetch_start
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            loss.item()
            samples += images.shape[0]
            fetch_start = time.perf_counter()
        seconds = time.perf_counter() - epoch_start
        epochs.append({"seconds": seconds, "samples": samples, "samples_per_s": samples / seconds,
                       "data_wait_frac": wait / seconds})
    record = {"case": f"pretrain-epoch task=rotation data_dim={a.data_dim} batch={a.batch} workers={a.workers}"
                      f"{' cache' if a.cache else ''}",
              "params": pm.count_parameters(model), "images": len(files), "threads": threads, "cache_s": cache_s,
              "epochs": epochs, "peak_rss_mb": common.peak_rss_mb()}
    if a.json:
        common.emit(record, True)
    else:
        for k, e in enumerate(epochs):
            print(f"epoch {k + 1}: {e['seconds']:.2f} s, {e['samples_per_s']:.2f} samples/s, "
                  f"data wait {100 * e['data_wait_frac']:.1f} %")


if __name__ == "__main__":
    main()
