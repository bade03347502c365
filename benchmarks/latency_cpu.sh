#!/usr/bin/env bash
# Latency tables on this machine's CPU (ONNX Runtime): build time, then prediction quality on 200
# random subnets before and after calibration. Writes latency/cpu/*.json, *.validate.{json,png}.
# Pinned to core 0 where `taskset` exists, so the one ORT thread does not hop between cores.
set -euo pipefail
cd "$(dirname "$0")/.."
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)
time "${pin[@]}" ofa latency build --device cpu --space mbv3-w1.0 -r 128 -r 160 -r 176 -r 192 -r 224 --calibration-subnets 30 --force -q
time "${pin[@]}" ofa latency validate --device cpu --space mbv3-w1.0 -n 200 --seed 1 -q
time "${pin[@]}" ofa latency build --device cpu --space cifar-mbv3 --num-classes 10 --calibration-subnets 30 --force -q
time "${pin[@]}" ofa latency validate --device cpu --space cifar-mbv3 -n 200 --seed 1 -q
