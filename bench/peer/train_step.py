#!/usr/bin/python3
"""PyTorch-eager peer of `medssl bench train`: the same network, batch shapes, loss and optimiser step, timed the same
way (forward + backward + optimiser step per step, after warm-up steps; median / p10 / p90).

  /usr/bin/python3 bench/peer/train_step.py --model unet3d --input 1x64x64x64 --batch 2 --steps 5 --threads 2 --json
  /usr/bin/python3 bench/peer/train_step.py --task rpl --input 1x64x64x64 --batch 8 --set patch_jitter=3 --json

Task batches have exactly the shapes medssl's make_batch produces (rules repeated from src/medssl/pretext/*.cpp; the
JSON lists them under "batch" and bench/compare.sh checks them against medssl's, as it checks "params").
"""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common as common  # noqa: E402
import peer_models as pm  # noqa: E402


def task_param(params, key, default):
    return int(params[key]) if key in params else default


def grid_patch(side, per_side, jitter):
    overlap = -jitter if jitter < 0 else 0
    return (side - overlap) // per_side - jitter


def cpc_layout(dims, p):
    """(context terms T, targets K, columns) of src/medssl/pretext/cpc_grid.cpp."""
    e = p // 2 - 1
    first_target = e + 2 if dims == 2 else e + 1
    terms = 1
    for x in range(e):
        width = 2 * (e - x) + 1
        terms += width ** (dims - 1)
    return terms, p - first_target, p ** (dims - 1)


def build_task(task, shape, batch, params):
    """(model, inputs, loss_fn(model, inputs) -> loss, samples per step) for a pretext task."""
    channels, spatial = shape[0], shape[1:]
    dims, side = len(spatial), spatial[0]
    if any(s != side for s in spatial):
        sys.exit(f"--input: pretext tasks need square / cubic images, got {spatial}")
    ce = F.cross_entropy
    # The UNet encoder keys of a pretrain config (enc_filters, num_layers); medssl's defaults 16 and 4.
    enc = {"filters": task_param(params, "enc_filters", 16), "layers": task_param(params, "num_layers", 4)}
    unsupported = set(params) - {"enc_filters", "num_layers", "patches_per_side", "patch_jitter", "num_permutations",
                                 "code_size", "margin", "crop_size", "projection_dim", "projection_hidden_dim",
                                 "prediction_hidden_dim", "min_iou", "max_iou", "view_augment"}
    if unsupported:
        sys.exit(f"--set: the peer does not model {sorted(unsupported)}")

    if task in ("rotation", "rpl", "jigsaw"):
        if task == "rotation":
            patches, patch, classes = 1, side, 10 if dims == 3 else 4
            x = torch.rand([batch, channels] + spatial)
        else:
            per_side = task_param(params, "patches_per_side", 3)
            patch = grid_patch(side, per_side, task_param(params, "patch_jitter", 0))
            count = per_side ** dims
            patches = 2 if task == "rpl" else count
            classes = count - 1 if task == "rpl" else task_param(params, "num_permutations", 100)
            x = torch.rand([batch, patches, channels] + [patch] * dims)
        model = pm.PatchClassifier(dims, channels, patches, patch, classes, enc=enc)
        inputs = {"input": x, "label": torch.randint(0, classes, (batch,))}
        return model, inputs, lambda m, b: ce(m(b["input"]), b["label"]), batch

    if task == "exemplar":
        model = pm.ExemplarNet(dims, channels, side, task_param(params, "code_size", 1024), enc=enc)
        inputs = {"input": torch.rand([batch, 3, channels] + spatial)}
        margin = float(params.get("margin", 0.5))

        def triplet(m, b):
            codes = m(b["input"])
            dp = (codes[:, 0] - codes[:, 1]).pow(2).sum(-1)
            dn = (codes[:, 0] - codes[:, 2]).pow(2).sum(-1)
            return F.relu(dp - dn + margin).mean()
        return model, inputs, triplet, batch

    if task == "cpc":
        per_side = task_param(params, "patches_per_side", 7)
        jitter = task_param(params, "patch_jitter", -(side // (per_side + 1)) if dims == 2 else 0)
        patch = grid_patch(side, per_side, jitter)
        terms, targets, columns = cpc_layout(dims, per_side)
        samples = batch * columns
        model = pm.CpcNet(dims, channels, patch, targets, task_param(params, "code_size", 1024), enc=enc)
        inputs = {"context": torch.rand([samples, terms, channels] + [patch] * dims),
                  "target": torch.rand([samples, targets, channels] + [patch] * dims)}

        def info_nce(m, b):
            pred, z = m(b["context"], b["target"])
            logits = torch.bmm(pred.transpose(0, 1), z.permute(1, 2, 0)).reshape(-1, pred.shape[0])
            return ce(logits, torch.arange(pred.shape[0]).repeat(pred.shape[1]))
        return model, inputs, info_nce, samples

    if task == "simsiam":
        crop = task_param(params, "crop_size", max(1, side // 2))
        model = pm.SimSiamNet(dims, channels, crop, task_param(params, "projection_dim", 2048),
                              task_param(params, "projection_hidden_dim", 2048),
                              task_param(params, "prediction_hidden_dim", 512), enc=enc)
        inputs = {"view1": torch.rand([batch, channels] + [crop] * dims),
                  "view2": torch.rand([batch, channels] + [crop] * dims)}

        def simsiam(m, b):
            z1 = m.projector(m.embed(b["view1"]))
            z2 = m.projector(m.embed(b["view2"]))
            p1, p2 = m.predictor(z1), m.predictor(z2)
            return -0.5 * (F.cosine_similarity(p1, z2.detach(), dim=1).mean() +
                           F.cosine_similarity(p2, z1.detach(), dim=1).mean())
        return model, inputs, simsiam, batch

    sys.exit(f"--task: unknown task '{task}' (rotation, rpl, jigsaw, exemplar, cpc, simsiam)")


def build_model(name, shape, batch):
    channels, spatial = shape[0], shape[1:]
    dims = len(spatial)
    if name in ("unet3d", "unet2d"):
        if (name == "unet3d") != (dims == 3):
            sys.exit(f"--model {name} does not fit a {dims}D --input")
        model = pm.UNet(dims, channels, 3)
        inputs = {"image": torch.rand([batch, channels] + spatial),
                  "label": torch.randint(0, 3, [batch] + spatial)}
    elif name == "unetr":
        model = pm.UNETR(channels, 3, spatial, dims=dims)
        inputs = {"image": torch.rand([batch, channels] + spatial),
                  "label": torch.randint(0, 3, [batch] + spatial)}
    elif name == "densenet121_2d":
        import torchvision
        if dims != 2:
            sys.exit("--model densenet121_2d needs a 2D --input (C x H x W)")
        model = torchvision.models.densenet121(num_classes=5)
        if channels != 3:
            model.features.conv0 = torch.nn.Conv2d(channels, 64, 7, 2, 3, bias=False)
        inputs = {"image": torch.rand([batch, channels] + spatial), "label": torch.randint(0, 5, (batch,))}
    else:
        sys.exit(f"--model: unknown model '{name}' (unet3d, unet2d, densenet121_2d, unetr)")
    return model, inputs, lambda m, b: F.cross_entropy(m(b["image"]), b["label"]), batch


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--model")
    what.add_argument("--task")
    ap.add_argument("--input", required=True, help="C x D x H x W (3D) or C x H x W (2D)")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--set", action="append", default=[], help="task parameter key=value")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--channels-last", action="store_true",
                    help="model and batch in channels-last memory format (torch.channels_last / channels_last_3d)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.batch < 1 or a.steps < 1 or a.warmup < 0 or a.threads < 1:
        sys.exit("--batch, --steps and --threads must be >= 1, --warmup >= 0")
    params = dict(kv.split("=", 1) for kv in a.set)

    threads = common.set_threads(a.threads)
    torch.manual_seed(a.seed)
    baseline = common.rss_mb()
    shape = common.parse_shape(a.input)
    if a.model:
        model, inputs, loss_fn, samples = build_model(a.model, shape, a.batch)
        case = f"model={a.model}"
    else:
        model, inputs, loss_fn, samples = build_task(a.task, shape, a.batch, params)
        case = f"task={a.task}"
    if a.channels_last:
        def channels_last(t):
            if not t.is_floating_point() or t.dim() not in (4, 5):
                return t
            return t.contiguous(memory_format=torch.channels_last if t.dim() == 4 else torch.channels_last_3d)
        for p in model.parameters():
            p.data = channels_last(p.data)
        inputs = {k: channels_last(v) for k, v in inputs.items()}
    # Adam with the Keras epsilon, as medssl's pretrain/finetune defaults (train/optim.h keras_adam).
    optimizer = torch.optim.Adam(model.parameters(), lr=a.lr, eps=1e-7)
    model.train()

    times = []
    for step in range(a.warmup + a.steps):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model, inputs)
        loss.backward()
        optimizer.step()
        loss.item()
        if step >= a.warmup:
            times.append(time.perf_counter() - start)

    stats = common.step_stats(times)
    common.emit({"case": f"train {case} input={a.input} batch={a.batch}", "params": pm.count_parameters(model),
                 "batch": {k: list(v.shape) for k, v in inputs.items()}, "samples_per_step": samples,
                 "threads": threads, "channels_last": a.channels_last, "step_s": stats, "samples_per_s": samples / stats["median"],
                 "peak_rss_mb": common.peak_rss_mb(), "baseline_rss_mb": baseline}, a.json)


if __name__ == "__main__":
    main()
