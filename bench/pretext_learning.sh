#!/usr/bin/env bash
# Every Taleb et al. pretext task, 3D and 2D, pretrained from the CLI on `medssl synth` data; prints the validation
# metric of the first and the last epoch of each run as a Markdown table (the figures of issue 4's closing note).
#   [CASES=24] [UNLABELLED=8] [EXTRA="--set encoder_variant=modern ..."] bench/pretext_learning.sh [OUT_DIR] [EPOCHS]
# (CASES / UNLABELLED: phantoms synthesised; 10 % of the volumes validate, so more cases give a steadier 3D figure).
# Small on purpose (32^3 volumes / 32^2 slices, 8-filter encoder) so that all ten runs take minutes on 2 cores.
set -euo pipefail
MEDSSL=${MEDSSL:-build/medssl}
OUT=${1:-bench-out/pretext}
EPOCHS=${2:-8}
mkdir -p "$OUT"
[ -d "$OUT/ct" ] || "$MEDSSL" synth ct3d --out "$OUT/ct" --cases "${CASES:-24}" --unlabelled "${UNLABELLED:-8}" --size 48 --seed 11 >/dev/null
common="${EXTRA:-} --set data_dir=$OUT/ct --set enc_filters=8 --set lr=0.001 --set epochs=$EPOCHS --set save_checkpoint_every_n_epochs=0"
declare -A extra3d=(
  [rotation]="--set batch_size=8"
  [rpl]="--set data_dim=48 --set num_layers=2 --set patches_per_side=3 --set patch_jitter=2 --set batch_size=16"
  [jigsaw]="--set data_dim=48 --set num_layers=2 --set patches_per_side=3 --set patch_jitter=2 --set num_permutations=10 --set batch_size=8"
  [exemplar]="--set code_size=64 --set batch_size=8"
  [cpc]="--set data_dim=64 --set patches_per_side=4 --set code_size=64 --set num_layers=2 --set batch_size=32"
)
declare -A extra2d=(
  [rotation]="--set batch_size=32"
  [rpl]="--set data_dim=48 --set num_layers=2 --set patches_per_side=3 --set patch_jitter=2 --set batch_size=32"
  [jigsaw]="--set data_dim=48 --set num_layers=2 --set patches_per_side=3 --set patch_jitter=2 --set num_permutations=10 --set batch_size=16"
  [exemplar]="--set code_size=64 --set batch_size=32"
  [cpc]="--set data_dim=64 --set patches_per_side=5 --set code_size=64 --set num_layers=2 --set batch_size=64"
)
printf '| task | dims | monitor | epoch 1 | epoch %s | train images | seconds |\n|---|---|---|---|---|---|---|\n' "$EPOCHS"
for task in rotation rpl jigsaw exemplar cpc; do
  for dims in 3 2; do
    run="$OUT/${task}_${dims}d"
    rm -rf "$run"
    if [ "$dims" = 3 ]; then args="--set data_dim=32 ${extra3d[$task]}"; else
      args="--set data_is_3D=false --set data_dim=32 --set min_foreground=0.05 ${extra2d[$task]}"; fi
    start=$(date +%s)
    "$MEDSSL" pretrain -q --out "$run" --set algorithm=$task $common $args >"$run.log" 2>&1 || { echo "| $task | ${dims}D | FAILED: see $run.log |"; continue; }
    secs=$(( $(date +%s) - start ))
    /usr/bin/python3 - "$run/pretrain.json" "$task" "$dims" "$secs" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); m = s["monitor"]
f, l = s["first_epoch"].get(m), s["last_epoch"].get(m)
print(f"| {sys.argv[2]} | {sys.argv[3]}D | {m} | {f:.4f} | {l:.4f} | {s['train_images']} | {sys.argv[4]} |")
PY
  done
done
