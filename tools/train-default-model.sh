#!/usr/bin/env bash
# Reproduces the shipped default model (tools/models/default.{f32,int8}.weights) and its
# held-out figures in docs/model-card.md: generates the training and test radiographs, trains
# configuration 4 densely, segments the held-out images and scores them.
#
# Takes about 15 minutes on 2 cores. Writes under .cache/model (git-ignored) and, only when
# everything succeeded, replaces the two weights files in tools/models.
set -euo pipefail
cd "$(dirname "$0")/.."

work=.cache/model
bash tools/fetch-data.sh
cargo build -q --release -p bonemask-tools
bonemask=target/release/bonemask

rm -rf "$work" && mkdir -p "$work"
$bonemask phantom --kind chest --count 10 --seed 1 -o "$work/train"
$bonemask drr --count 2 --seed 1 --width 1984 -o "$work/train"
$bonemask phantom --kind chest --count 3 --seed 2 -o "$work/test"
$bonemask drr --count 1 --seed 7 --width 1984 -o "$work/test"

$bonemask train --data "$work/train" --config 4 --mode dense --patch 40 --epochs 60 \
  --pixels-per-epoch 100000 --learning-rate 0.003 --seed 1 --threads 2 -o "$work/default"

$bonemask segment "$work"/test/*.dcm --model "$work/default.f32.weights" -o "$work/test-f32"
$bonemask segment "$work"/test/*.dcm --model "$work/default.int8.weights" -o "$work/test-int8"
mkdir -p "$work/pred-f32" "$work/pred-int8"
for f in "$work"/test-f32/*.mask.png; do cp "$f" "$work/pred-f32/$(basename "$f")"; done
for f in "$work"/test-int8/*.mask.png; do cp "$f" "$work/pred-int8/$(basename "$f")"; done
echo "== f32 on held-out images"
$bonemask eval --truth "$work/test" --pred "$work/pred-f32"
echo "== int8 on held-out images"
$bonemask eval --truth "$work/test" --pred "$work/pred-int8"

cp "$work/default.f32.weights" "$work/default.int8.weights" tools/models/
