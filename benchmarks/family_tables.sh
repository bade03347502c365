#!/usr/bin/env bash
# The CPU latency table of each block family's CIFAR-size space, built and validated the same way in
# one run, one after the other on core 0: resnet-cifar (bottlenecks) beside cifar-mbv3 (inverted
# residuals). Build: every part at 24/28/32 px and 30 calibration subnets; validation: 100 other
# random subnets measured end to end (--seed 1). Tables go to WORK, not to the shipped latency/.
#
#   bash benchmarks/family_tables.sh /tmp/family-tables
set -euo pipefail
WORK=${1:-/tmp/family-tables}
mkdir -p "$WORK"
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)
for space in resnet-cifar cifar-mbv3; do
  s=$(date +%s.%N)
  "${pin[@]}" ofa latency build --device cpu --space $space --num-classes 10 --calibration-subnets 30 \
    --out "$WORK/$space.json" --force -q
  e=$(date +%s.%N)
  parts=$(python -c "import json,sys; print(len(json.load(open(sys.argv[1]))['entries']))" "$WORK/$space.json")
  echo "$space: build $(echo "$e - $s" | bc) s, $parts table entries"
  s=$(date +%s.%N)
  "${pin[@]}" ofa latency validate --device cpu --space $space --table "$WORK/$space.json" -n 100 --seed 1 \
    --out "$WORK/$space" --json -q > "$WORK/$space.validate.out"
  e=$(date +%s.%N)
  echo "$space: validate 100 subnets $(echo "$e - $s" | bc) s: $(cat "$WORK/$space.validate.out")"
done
