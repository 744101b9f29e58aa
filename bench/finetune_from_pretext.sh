#!/usr/bin/env bash
# Issue 6's figures: a 3D UNet finetuned on `medssl synth ct3d` data from a rotation-pretrained encoder and from
# scratch, at 10 % and 100 % of the labelled training pool, then `medssl evaluate` and `medssl predict` on one case.
# Prints a Markdown table of the held-out test Dice (final model) per run, and, separately, the learning-curve mean.
#   bench/finetune_from_pretext.sh [OUT_DIR] [PRETRAIN_EPOCHS] [FINETUNE_EPOCHS]
# Small on purpose (32^3 volumes, 8-filter 3-level UNet) so that everything takes minutes on 2 cores.
set -euo pipefail
MEDSSL=${MEDSSL:-build/medssl}
OUT=${1:-bench-out/finetune}
PRE_EPOCHS=${2:-30}
FT_EPOCHS=${3:-20}
mkdir -p "$OUT"
[ -d "$OUT/ct" ] || "$MEDSSL" synth ct3d --out "$OUT/ct" --cases 40 --unlabelled 60 --size 64 --seed 5 >/dev/null
model="--set data_dim=32 --set enc_filters=8 --set num_layers=3 --set encoder_variant=modern --set dropout=0"
if [ ! -f "$OUT/rotation/pretrain.json" ]; then
  start=$(date +%s)
  "$MEDSSL" pretrain -q --config configs/pretrain/rotation_pancreas3d.json --out "$OUT/rotation" $model \
    --set data_dir="$OUT/ct" --set epochs=$PRE_EPOCHS --set lr=0.001 --set batch_size=8 \
    --set save_checkpoint_every_n_epochs=0 > "$OUT/rotation.log" 2>&1
  echo "pretrain rotation: $(( $(date +%s) - start )) s" >&2
fi
printf '| init | fraction | train cases | test Dice fg (final model) | test Dice fg (best-val checkpoint) | val Dice curve mean | seconds |\n|---|---|---|---|---|---|---|\n'
for init in rotation none; do
  for fraction in 10 100; do
    run="$OUT/ft_${init}_f${fraction}"
    pre=$([ "$init" = none ] && echo none || echo "$OUT/$init")
    start=$(date +%s)
    [ -f "$run/finetune.json" ] || "$MEDSSL" finetune -q --config configs/finetune/unet_pancreas3d.json --pretrained "$pre" \
      --fraction $fraction --repetition 0 --out "$run" $model --set data_dir="$OUT/ct" --set cache_dir="$OUT/ft_cache" \
      --set epochs_initialized=$FT_EPOCHS --set epochs_random=$FT_EPOCHS --set epochs_warmup=2 --set batch_size=2 \
      --set lr=0.01 --set loss=dice --set augment=true > "$run.log" 2>&1
    secs=$(( $(date +%s) - start ))
    /usr/bin/python3 - "$run/finetune.json" "$init" "$fraction" "$secs" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
def find(d, *names):
    for n in names:
        if isinstance(d, dict) and n in d: d = d[n]
        else: return float("nan")
    return d
fin = find(s, "test_final", "summary", "mean_dice")
best = find(s, "test_best_val_checkpoint", "summary", "mean_dice")
curve = find(s, "learning_curve_mean", "value")
print(f"| {sys.argv[2]} | {sys.argv[3]} % | {s['n_train']} | {fin:.4f} | {best:.4f} | {curve:.4f} | {sys.argv[4]} |")
PY
  done
done
# evaluate: the same test cases scored again from the saved models (must equal finetune's own test_final figures), and
# predict: one raw case of the data set to a label map on its own grid.
for init in rotation none; do
  run="$OUT/ft_${init}_f10"
  "$MEDSSL" evaluate -q --model "$run" --dataset "$OUT/ft_cache" --out "$OUT/evaluate_${init}_f10.json" --no-hd95 >/dev/null
  /usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f'evaluate {sys.argv[2]} 10 %: mean Dice {r[\"summary\"][\"mean_dice\"]:.4f} over {r[\"summary\"][\"cases\"]} test cases')" \
    "$OUT/evaluate_${init}_f10.json" "$init"
done
case_file=$(ls "$OUT/ct/imagesTr" | grep -v '^\._' | head -1)
"$MEDSSL" predict -q --model "$OUT/ft_rotation_f100" --in "$OUT/ct/imagesTr/$case_file" --out "$OUT/predict/$case_file"
/usr/bin/python3 - "$OUT/ct/imagesTr/$case_file" "$OUT/predict/$case_file" "$OUT/ct/labelsTr/$case_file" <<'PY'
import sys, numpy as np, nibabel as nib
img, seg, lab = (nib.load(p) for p in sys.argv[1:4])
s, l = np.asarray(seg.dataobj), np.asarray(lab.dataobj)
d = [2 * np.sum((s == c) & (l == c)) / max(1, np.sum(s == c) + np.sum(l == c)) for c in (1, 2)]
print(f"predict {sys.argv[1]}: shape {seg.shape} (input {img.shape}), affine equal {np.allclose(img.affine, seg.affine)}, "
      f"Dice vs the original label on the original grid: organ {d[0]:.3f}, lesion {d[1]:.3f}")
PY
