#!/usr/bin/env bash
# medssl vs PyTorch eager, side by side in one run: each case is run by `medssl bench ...` and by its peer in
# bench/peer/ (the same network, batch shapes, loss, optimiser and thread count), one after the other, and a table
# row gives both times and the ratio medssl / PyTorch (below 1: medssl is faster). Parameter counts of both sides
# are compared too: a row whose networks differ is marked "PARAMS DIFFER" (and the script exits 1), since its ratio
# would mean nothing.
#
#   bench/compare.sh                 # quick cases (64^3 3D volumes, a few minutes on 2 cores)
#   SIZE=full bench/compare.sh       # the sizes of issue 8: 128^3 UNet / pretext tasks, 224^2 DenseNet, 96^3 UNETR
#   CASES="unet3d rotation" bench/compare.sh    # a subset (names of the first column)
#
# Environment: MEDSSL (binary, default build/medssl), THREADS (default: all cores), STEPS (timed steps, default 5),
# WARMUP (default 2), OUT (folder for the raw JSON records, default bench-out/compare), PIPELINE=0 skips the
# end-to-end pretraining-epoch row, PIPE_SIZE its volumes' side on disk, SW=0 the sliding-window row.
# Prints a Markdown table (paste it into bench/RESULTS.md with the machine and versions it also prints).
set -euo pipefail
cd "$(dirname "$0")/.."
MEDSSL=${MEDSSL:-build/medssl}
PY=/usr/bin/python3
THREADS=${THREADS:-$(nproc)}
STEPS=${STEPS:-5}
WARMUP=${WARMUP:-2}
SIZE=${SIZE:-quick}
OUT=${OUT:-bench-out/compare}
mkdir -p "$OUT"
[ -x "$MEDSSL" ] || { echo "compare.sh: $MEDSSL not found (build it: cmake --build build --target medssl)" >&2; exit 1; }
$PY -c 'import torch' 2>/dev/null || { echo "compare.sh: $PY lacks torch (apt-get install python3-torch)" >&2; exit 1; }

# G3: the patch-grid tasks (rpl, jigsaw, cpc), whose 3x3x3 / 4x4x4 grid cells must pass the 4-level encoder and its
# final pooling (at least 32 voxels a side).
if [ "$SIZE" = full ]; then V3=128; G3=128; D2=224; VIT=96; SWVOL=512x512x128; PIPE_DIM=64; PIPE_SIZE_DEFAULT=192
else V3=64; G3=96; D2=224; VIT=96; SWVOL=192x192x96; PIPE_DIM=48; PIPE_SIZE_DEFAULT=64; fi
# PIPE_SIZE: the side of the synthetic CT volumes on disk that the end-to-end row reads and resizes to PIPE_DIM^3
# (real CT is 512 x 512 x 100-300 voxels; the quick default of 64^3 makes decoding almost free).
PIPE_SIZE=${PIPE_SIZE:-$PIPE_SIZE_DEFAULT}

# name | medssl bench train / peer arguments (identical on both sides)
ALL_CASES=(
  "unet3d|--model unet3d --input 1x${V3}x${V3}x${V3} --batch 2"
  "densenet121_2d|--model densenet121_2d --input 3x${D2}x${D2} --batch 4"
  "densenet121_2d_both_cl|--model densenet121_2d --input 3x${D2}x${D2} --batch 4"
  "unetr|--model unetr --input 1x${VIT}x${VIT}x${VIT} --batch 1"
  "simsiam2d|--task simsiam --input 1x96x96 --batch 8"
  "rotation|--task rotation --input 1x${V3}x${V3}x${V3} --batch 2"
  "rpl|--task rpl --input 1x${G3}x${G3}x${G3} --batch 2"
  "jigsaw|--task jigsaw --input 1x${G3}x${G3}x${G3} --batch 2"
  "exemplar|--task exemplar --input 1x${V3}x${V3}x${V3} --batch 2"
  "cpc|--task cpc --input 1x128x128x128 --batch 1 --set patches_per_side=4"
)
selected() { [ -z "${CASES:-}" ] && return 0; for c in $CASES; do [ "$c" = "$1" ] && return 0; done; return 1; }

echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, threads $THREADS; $(date -u +%F)"
echo "medssl: $($MEDSSL --version 2>/dev/null | head -1); PyTorch peer: $($PY -c 'import torch;print(torch.__version__)')"
echo
echo "| case | params | medssl step s (median) | PyTorch step s (median) | medssl / PyTorch | medssl peak RSS MiB | PyTorch peak RSS MiB |"
echo "|---|---|---|---|---|---|---|"
status=0
row() {  # name, medssl json, peer json
  $PY - "$1" "$2" "$3" <<'EOF' || status=1
import json, sys
name, a, b = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
ma, pb = a["step_s"]["median"], b["step_s"]["median"]
params = f'{a["params"]:,}' if a["params"] == b["params"] else f'PARAMS DIFFER {a["params"]:,} vs {b["params"]:,}'
print(f'| {name} | {params} | {ma:.3f} | {pb:.3f} | {ma / pb:.2f} | {a.get("peak_rss_mb", 0):.0f} | {b.get("peak_rss_mb", 0):.0f} |')
sys.exit(0 if a["params"] == b["params"] else 1)
EOF
}

for entry in "${ALL_CASES[@]}"; do
  name=${entry%%|*}; args=${entry#*|}
  selected "$name" || continue
  # Each side as a user runs it by default: medssl's memory_format auto (channels-last for the 2D DenseNet on CPU),
  # PyTorch's contiguous tensors. The *_both_cl row puts both sides in channels-last, to show what that layout alone
  # gives PyTorch.
  medssl_extra=""; peer_extra=""
  case $name in *_both_cl) medssl_extra="--memory-format channels_last"; peer_extra="--channels-last" ;; esac
  # shellcheck disable=SC2086
  if ! "$MEDSSL" --threads "$THREADS" bench train $args $medssl_extra --steps "$STEPS" --warmup "$WARMUP" --json \
         >"$OUT/$name.medssl.out" 2>"$OUT/$name.medssl.log"; then
    echo "| $name | FAILED (medssl): $(tail -1 "$OUT/$name.medssl.log" | cut -c1-160) | | | | | |"; status=1; continue
  fi
  # shellcheck disable=SC2086
  if ! $PY bench/peer/train_step.py $args $peer_extra --steps "$STEPS" --warmup "$WARMUP" --threads "$THREADS" --json \
         >"$OUT/$name.peer.out" 2>"$OUT/$name.peer.log"; then
    echo "| $name | FAILED (PyTorch): $(tail -1 "$OUT/$name.peer.log" | cut -c1-160) | | | | | |"; status=1; continue
  fi
  tail -1 "$OUT/$name.medssl.out" >"$OUT/$name.medssl.json"
  tail -1 "$OUT/$name.peer.out" >"$OUT/$name.peer.json"
  row "$name" "$OUT/$name.medssl.json" "$OUT/$name.peer.json"
done

if [ "${SW:-1}" != 0 ] && selected sliding_window; then
  "$MEDSSL" --threads "$THREADS" bench sliding-window --volume "$SWVOL" --roi 96 --overlap 0.5 --json \
    2>"$OUT/sw.medssl.log" | tail -1 >"$OUT/sw.medssl.json"
  $PY bench/peer/sliding_window.py --volume "$SWVOL" --roi 96 --overlap 0.5 --threads "$THREADS" --json \
    2>"$OUT/sw.peer.log" | tail -1 >"$OUT/sw.peer.json"
  $PY - "$SWVOL" "$OUT/sw.medssl.json" "$OUT/sw.peer.json" <<'EOF'
import json, sys
vol, a, b = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
import statistics
key = lambda r: r["median_s"] if "median_s" in r else statistics.median(r["seconds"])
print(f'| sliding-window {vol} roi 96 (inference) | unet3d | {key(a):.2f} | {key(b):.2f} | {key(a) / key(b):.2f} | '
      f'{a.get("peak_rss_mb", 0):.0f} | {b.get("peak_rss_mb", 0):.0f} |')
EOF
fi

if [ "${PIPELINE:-1}" != 0 ] && selected pipeline; then
  # End to end: a rotation pretraining epoch, data + step. medssl: prepare once into its cache, then `pretrain`
  # with one loader thread; PyTorch: DataLoader with one worker decoding + preprocessing every epoch (a plain
  # Dataset), and with --cache (preprocessed once into RAM, MONAI's CacheDataset).
  data="$OUT/pipeline-ct$PIPE_SIZE"
  [ -f "$data/dataset.json" ] || "$MEDSSL" synth ct3d --out "$data" --cases 8 --unlabelled 16 --size "$PIPE_SIZE" \
    >/dev/null 2>&1
  rm -rf "$OUT/pipeline-run"
  "$MEDSSL" --threads "$THREADS" pretrain --out "$OUT/pipeline-run" --set algorithm=rotation --set data_dir="$data" \
    --set data_dim="$PIPE_DIM" --set batch_size=4 --set epochs=2 --set workers=1 \
    --set save_checkpoint_every_n_epochs=0 >"$OUT/pipeline.medssl.log" 2>&1
  for cache in "" "--cache"; do
    $PY bench/peer/pipeline_pretrain.py --dataset "$data" --data-dim "$PIPE_DIM" --batch 4 --workers 1 --epochs 2 \
      --threads "$THREADS" $cache --json 2>>"$OUT/pipeline.peer.log" | tail -1 >"$OUT/pipeline.peer${cache:+-cache}.json"
  done
  $PY - "$OUT/pipeline-run/metrics.csv" "$OUT/pipeline.peer.json" "$OUT/pipeline.peer-cache.json" "$PIPE_DIM" \
    "$PIPE_SIZE" <<'EOF'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
last = rows[-1]  # the second epoch: the first also warms up the allocator and the loader
m_rate, m_wait = float(last["samples_per_s"]), float(last["data_wait_frac"])
for path, what in ((sys.argv[2], "DataLoader, decode every epoch"), (sys.argv[3], "DataLoader, CacheDataset")):
    p = json.load(open(path))["epochs"][-1]
    print(f'| pretrain epoch rotation, volumes {sys.argv[5]}^2 in-plane -> {sys.argv[4]}^3, b4 vs {what} | samples/s | medssl {m_rate:.2f} (data wait '
          f'{100 * m_wait:.1f} %) | PyTorch {p["samples_per_s"]:.2f} (data wait {100 * p["data_wait_frac"]:.1f} %) | '
          f'speed-up {m_rate / p["samples_per_s"]:.2f}x | | |')
EOF
fi
exit $status
