#!/usr/bin/env bash
# Every Taleb et al. pretext task, 3D and 2D, pretrained from the CLI on `medssl synth` data; prints a Markdown table
# of the validation metric at the first and the last epoch of each run (issue 4's closing figures, docs/pretext-tasks.md
# "Measured").
#   [CASES=200] [UNLABELLED=200] [JOBS=1] [TASKS="rotation rpl jigsaw exemplar cpc"] [DIMS="3 2"] [EXTRA="--set ..."]
#   bench/pretext_learning.sh [OUT_DIR]
# CASES / UNLABELLED: phantoms synthesised (48^2 in-plane); 10 % of the cases validate (40 volumes, ~1000 slices at
# the defaults). JOBS: runs at a time, each on one LibTorch thread. Every run is nice'd.
# Small on purpose (32^3 - 64^3 volumes, 32^2 - 64^2 slices, an 8-filter encoder): the ten runs take about an hour on
# 2 cores. The encoder is the reference's (taleb blocks: BatchNorm, dropout .5) except exemplar's, which has dropout 0:
# with .5 in every block the anchor and the positive get independent dropout noise and the triplet accuracy stays at
# chance in runs this short (docs/pretext-tasks.md).
set -euo pipefail
MEDSSL=${MEDSSL:-build/medssl}
OUT=${1:-bench-out/pretext}
JOBS=${JOBS:-1}
TASKS=${TASKS:-rotation rpl jigsaw exemplar cpc}
DIMS=${DIMS:-3 2}
mkdir -p "$OUT"
cli() { nice -n 5 "$MEDSSL" "$@"; }
[ -d "$OUT/ct" ] || cli synth ct3d --out "$OUT/ct" --cases "${CASES:-200}" --unlabelled "${UNLABELLED:-200}" --size 48 \
  --seed 11 >/dev/null
# One cache per image side, prepared once (pretrain would otherwise prepare one per run).
for side in 32 48 64; do
  [ -f "$OUT/cache$side/cache.json" ] || cli -q prepare --dataset "$OUT/ct" --out "$OUT/cache$side" --size "$side"
done

common="--set enc_filters=8 --set lr=0.001 --set save_checkpoint_every_n_epochs=0 ${EXTRA:-}"
slices="--set data_is_3D=false --set min_foreground=0.05"
# Per run: image side (selects the cache), then the settings. steps_per_epoch bounds the cost of an epoch where one
# pass over the training images would be long (2D: ~9000 slices); validation always covers every validation image.
declare -A side=(
  [rotation3]=32 [rotation2]=32 [rpl3]=48 [rpl2]=48 [jigsaw3]=48 [jigsaw2]=48 [exemplar3]=32 [exemplar2]=32
  [cpc3]=64 [cpc2]=64)
grid="--set num_layers=2 --set patches_per_side=3 --set patch_jitter=2"
declare -A settings=(
  [rotation3]="--set batch_size=8 --set epochs=10"
  [rotation2]="--set batch_size=32 --set epochs=10 --set steps_per_epoch=40"
  [rpl3]="$grid --set batch_size=16 --set epochs=10"
  [rpl2]="$grid --set batch_size=32 --set epochs=10 --set steps_per_epoch=40"
  [jigsaw3]="$grid --set num_permutations=10 --set batch_size=8 --set epochs=10"
  [jigsaw2]="$grid --set num_permutations=10 --set batch_size=16 --set epochs=10 --set steps_per_epoch=40"
  [exemplar3]="--set code_size=64 --set dropout=0 --set batch_size=8 --set epochs=10"
  [exemplar2]="--set code_size=64 --set dropout=0 --set batch_size=32 --set epochs=10 --set steps_per_epoch=30"
  [cpc3]="--set patches_per_side=4 --set code_size=64 --set num_layers=2 --set batch_size=32 --set epochs=10 --set steps_per_epoch=30"
  [cpc2]="--set patches_per_side=5 --set code_size=64 --set num_layers=2 --set batch_size=64 --set epochs=10 --set steps_per_epoch=30"
)

one_run() {  # task dims
  local key="$1$2" run="$OUT/$1_$2d" dims=""
  [ "$2" = 2 ] && dims="$slices"
  rm -rf "$run"
  local start=$SECONDS
  # shellcheck disable=SC2086
  if cli --threads 1 -q pretrain --out "$run" --set algorithm="$1" --set data_dir="$OUT/cache${side[$key]}" \
       --set data_dim="${side[$key]}" $dims ${settings[$key]} $common >"$run.log" 2>&1; then
    echo $((SECONDS - start)) >"$run/seconds"
  else
    echo "bench/pretext_learning.sh: $1 $2D failed, see $run.log" >&2
  fi
}

running=0
for task in $TASKS; do
  for dims in $DIMS; do
    one_run "$task" "$dims" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
  done
done
wait || true

/usr/bin/python3 - "$OUT" "$TASKS" "$DIMS" <<'PY'
import csv, json, math, os, sys
out, tasks, dims = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
print("| task | dims | monitor | chance | epoch 1 | last epoch | also: first -> last (chance) | train / val images | seconds |")
print("|---|---|---|---|---|---|---|---|---|")
for task in tasks:
    for d in dims:
        run = os.path.join(out, f"{task}_{d}d")
        try:
            s = json.load(open(os.path.join(run, "pretrain.json")))
            rows = list(csv.DictReader(open(os.path.join(run, "metrics.csv"))))
            cfg = json.load(open(os.path.join(run, "config.json")))
        except OSError:
            print(f"| {task} | {d}D | FAILED: see {run}.log | | | | | | |")
            continue
        m = s["monitor"]
        first, last = float(rows[0][m]), float(rows[-1][m])
        per_batch = s["images_per_batch"] * s["samples_per_image"]  # samples of one (full) validation batch
        if task == "rotation":
            chance, also = f"{1 / (4 if d == '2' else 10):.3f}", None
        elif task == "rpl":
            chance, also = f"{1 / (8 if d == '2' else 26):.3f}", None
        elif task == "jigsaw":
            chance, also = f"{1 / cfg['num_permutations']:.3f}", None
        elif task == "exemplar":
            margin = cfg.get("margin") or cfg.get("alpha") or (1.0 if cfg.get("faithful") else 0.5)
            chance, also = f">= {margin} (margin)", ("val_triplet_acc", 0.5)
        else:  # cpc: InfoNCE over the batch's S samples
            chance, also = f"{math.log(per_batch):.3f} (log {per_batch})", ("val_acc", 1 / per_batch)
        extra = ""
        if also:
            extra = f"{float(rows[0][also[0]]):.3f} -> {float(rows[-1][also[0]]):.3f} ({also[1]:.3f}) {also[0]}"
        seconds = open(os.path.join(run, "seconds")).read().strip() if os.path.exists(os.path.join(run, "seconds")) else "?"
        print(f"| {task} | {d}D | {m} | {chance} | {first:.4f} | {last:.4f} (epoch {len(rows)}) | {extra} | "
              f"{s['train_images']} / {s['val_images']} | {seconds} |")
PY
