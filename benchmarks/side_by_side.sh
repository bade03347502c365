#!/usr/bin/env bash
# Two checkouts of ofa timed side by side, interleaved, with one venv: a short training run and a
# latency table build. Usage: benchmarks/side_by_side.sh OLD_CHECKOUT NEW_CHECKOUT WORK_DIR [ROUNDS]
#   git worktree add /tmp/old a2fb51f && bash benchmarks/side_by_side.sh /tmp/old . /tmp/sbs 2
set -u
OLD=$(cd "$1" && pwd); NEW=$(cd "$2" && pwd); mkdir -p "$3"; WORK=$(cd "$3" && pwd); ROUNDS=${4:-2}
PY=${PYTHON:-python}
cd "$WORK"
for round in $(seq "$ROUNDS"); do
  for side in old new; do
    root=$OLD; [ $side = new ] && root=$NEW
    rm -rf run-$side latency
    s=$(date +%s.%N)
    PYTHONPATH=$root taskset -c 0,1 $PY -m ofa train-supernet --recipe quickstart --epochs 1 --out run-$side -q > /dev/null 2> train-$side.err || { echo "train $side failed"; tail -2 train-$side.err; }
    e=$(date +%s.%N)
    ips=$($PY -c "import json; r=[json.loads(l) for l in open('run-$side/metrics.jsonl')]; t=[x for x in r if x['kind']=='train']; print(round(sum(x['images_per_s'] for x in t)/len(t),1))")
    echo "round $round $side train-supernet quickstart --epochs 1: $(echo "$e - $s" | bc) s, mean img/s over phases $ips"
    s=$(date +%s.%N)
    PYTHONPATH=$root taskset -c 0 $PY -m ofa latency build --device cpu --space mbv3-w1.0 -r 160 -k 10 --out table-$side.json --force -q > /dev/null 2>&1 || echo "table $side failed"
    e=$(date +%s.%N)
    echo "round $round $side latency build mbv3-w1.0 -r 160 -k 10: $(echo "$e - $s" | bc) s"
  done
done
