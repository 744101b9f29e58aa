#!/usr/bin/env bash
# Issues 4 and 5's check: does a linear probe on a pretrained encoder's frozen features beat the same probe on the same
# encoder randomly initialised? Task: which class (background / organ / lesion) lies at the centre of a crop of a
# `medssl synth ct3d` volume (`medssl probe`, class-balanced crops, train/test split by case).
#   [CASES=40] [SIZE=64] [CROPS=1000] [EXTRA="--set ..."] bench/linear_probe.sh [OUT_DIR] [EPOCHS] [ALGORITHM ...]
# ALGORITHM defaults to rotation; any registered pretext algorithm may be listed (its configs/pretrain/<alg>_pancreas3d
# or <alg>_iou_3d config is the base). Every encoder: 3D UNet encoder, 8 filters, 3 levels, 32^3 inputs.
set -euo pipefail
MEDSSL=${MEDSSL:-build/medssl}
OUT=${1:-bench-out/linear_probe}
EPOCHS=${2:-10}
shift $(( $# > 2 ? 2 : $# )) || true
ALGORITHMS=("$@")
[ ${#ALGORITHMS[@]} -gt 0 ] || ALGORITHMS=(rotation)
CROPS=${CROPS:-1000}
mkdir -p "$OUT"
[ -d "$OUT/ct" ] || "$MEDSSL" synth ct3d --out "$OUT/ct" --cases "${CASES:-40}" --size "${SIZE:-64}" --seed 7 >/dev/null
model="--set data_dim=32 --set enc_filters=8 --set num_layers=3 --set encoder_variant=modern --set dropout=0"
declare -A extra=(
  [rotation]="--set batch_size=8 --set lr=0.001"
  [exemplar]="--set code_size=64 --set batch_size=8 --set lr=0.001"
  [simsiam]="--set crop_size=24 --set batch_size=8 --set projection_dim=256 --set projection_hidden_dim=256 --set prediction_hidden_dim=64"
  [simclr]="--set crop_size=24 --set batch_size=8 --set projection_dim=128 --set projection_hidden_dim=256"
  [dino]="--set crop_size=24 --set batch_size=8 --set out_dim=256 --set projection_hidden_dim=256 --set bottleneck_dim=64 --set teacher_momentum=0.996 --set lr=0.0003 --set warmup_epochs=2"
)
config_of() {
  for f in "configs/pretrain/$1_pancreas3d.json" "configs/pretrain/$1_iou_3d.json"; do
    [ -f "$f" ] && { echo "$f"; return; }
  done
  echo "bench/linear_probe.sh: no configs/pretrain/$1_pancreas3d.json or $1_iou_3d.json" >&2
  exit 1
}
printf '| algorithm | encoder | test accuracy | test balanced accuracy | majority-class rate | train/test crops | pretrain s | probe s |\n|---|---|---|---|---|---|---|---|\n'
for alg in "${ALGORITHMS[@]}"; do
  run="$OUT/$alg"
  pre_secs=0
  if [ ! -f "$run/pretrain.json" ]; then
    start=$(date +%s)
    # shellcheck disable=SC2086
    "$MEDSSL" pretrain -q --config "$(config_of "$alg")" --out "$run" $model ${extra[$alg]:-} ${EXTRA:-} \
      --set data_dir="$OUT/ct" --set epochs="$EPOCHS" --set save_checkpoint_every_n_epochs=0 > "$run.log" 2>&1 ||
      { echo "pretrain $alg failed, see $run.log" >&2; tail -5 "$run.log" >&2; exit 1; }
    pre_secs=$(( $(date +%s) - start ))
  fi
  for init in pretrained random; do
    probe="$OUT/probe_${alg}_${init}"
    pretrained=$([ "$init" = random ] && echo none || echo "$run")
    start=$(date +%s)
    "$MEDSSL" -q probe --pretrained "$pretrained" --config "$run/config.json" --dataset "$OUT/ct" --out "$probe" \
      --cache "$OUT/probe_cache_$alg" --crops "$CROPS" > "$probe.log" 2>&1 ||
      { echo "probe $alg $init failed, see $probe.log" >&2; tail -5 "$probe.log" >&2; exit 1; }
    secs=$(( $(date +%s) - start ))
    /usr/bin/python3 - "$probe/probe.json" "$alg" "$init" "$([ "$init" = pretrained ] && echo $pre_secs || echo -)" "$secs" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
print(f"| {sys.argv[2]} | {sys.argv[3]} | {p['test_accuracy']:.4f} | {p['test_balanced_accuracy']:.4f} | "
      f"{p['majority_rate']:.4f} | {p['train_crops']}/{p['test_crops']} | {sys.argv[4]} | {sys.argv[5]} |")
PY
  done
done
