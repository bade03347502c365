#!/usr/bin/env bash
# Two checkouts of ofa timed side by side with one venv, taking turns in every round, so that a change
# of this VM's speed falls on both. Each side runs its own checkout's code and its own benchmark scripts.
#
#   benchmarks/side_by_side.sh OLD_CHECKOUT NEW_CHECKOUT WORK_DIR [ROUNDS] [JOB ...]
#   git worktree add /tmp/old 2908567 && bash benchmarks/side_by_side.sh /tmp/old . /tmp/sbs 3 train table
#
# Jobs (default: train table):
#   train       ofa train-supernet --recipe quickstart --epochs 1 (two cores): wall time, mean images/s
#   table       ofa latency build --device cpu --space mbv3-w1.0 -r 160 -k 10 (one core): wall time
#   throughput  benchmarks/train_throughput.py (BENCHMARKS.md "Training throughput"), one round a turn
#   collect     ofa predictor collect -n 20 --seed 1 (two cores) on SUPERNET: wall time of 20 measured subnets; run
#               from DATA_CWD (default: the folder this script is started from), where the run's data path resolves
#   search      benchmarks/search_strategies.py --timing (BENCHMARKS.md "Search time"); needs SUPERNET and
#               PREDICTOR in the environment
#   same        once per side after the rounds, not timed: the hypervolumes of search_strategies.py, the figures
#               of predictor_quality.py and (after collect) the measured top-1 of each subnet, which must come out
#               the same on both sides (needs SUPERNET, PREDICTOR; QUALITY_ARGS sizes predictor_quality.py to
#               the subnets SUPERNET has collected, default --train 100 250 500 --test 200)
set -u
DATA_CWD=${DATA_CWD:-$PWD}
OLD=$(cd "$1" && pwd); NEW=$(cd "$2" && pwd); mkdir -p "$3"; WORK=$(cd "$3" && pwd); ROUNDS=${4:-2}
shift 4 2>/dev/null || shift $#
JOBS=${*:-train table}
PY=${PYTHON:-python}
THROUGHPUT_ARGS=${THROUGHPUT_ARGS:---space mbv3-w1.0 --resolution 64 --batch 32 --threads 2}
QUALITY_ARGS=${QUALITY_ARGS:---train 100 250 500 --test 200}
cd "$WORK"

has() { case " $JOBS " in *" $1 "*) return 0 ;; esac; return 1; }
seconds() { echo "$2 - $1" | bc; }

for round in $(seq "$ROUNDS"); do
  for side in old new; do
    root=$OLD; [ $side = new ] && root=$NEW
    if has train; then
      rm -rf run-$side
      s=$(date +%s.%N)
      PYTHONPATH=$root taskset -c 0,1 $PY -m ofa train-supernet --recipe quickstart --epochs 1 --out run-$side -q \
        > /dev/null 2> train-$side.err || { echo "train $side failed"; tail -2 train-$side.err; }
      e=$(date +%s.%N)
      ips=$($PY -c "import json; r=[json.loads(l) for l in open('run-$side/metrics.jsonl')]; t=[x for x in r if x['kind']=='train']; print(round(sum(x['images_per_s'] for x in t)/len(t),1))")
      echo "round $round $side train-supernet quickstart --epochs 1: $(seconds "$s" "$e") s, mean img/s over phases $ips"
    fi
    if has table; then
      s=$(date +%s.%N)
      PYTHONPATH=$root taskset -c 0 $PY -m ofa latency build --device cpu --space mbv3-w1.0 -r 160 -k 10 \
        --out table-$side.json --force -q > /dev/null 2>&1 || echo "table $side failed"
      e=$(date +%s.%N)
      echo "round $round $side latency build mbv3-w1.0 -r 160 -k 10: $(seconds "$s" "$e") s"
    fi
    if has throughput; then
      # shellcheck disable=SC2086
      PYTHONPATH=$root taskset -c 0,1 $PY "$root/benchmarks/train_throughput.py" $THROUGHPUT_ARGS --rounds 1 2>&1 \
        | grep '^|' | sed "s/^/round $round $side throughput /"
    fi
    if has collect; then
      rm -f collect-$side.jsonl collect-$side.json
      s=$(date +%s.%N)
      (cd "$DATA_CWD" && PYTHONPATH=$root taskset -c 0,1 $PY -m ofa predictor collect --supernet "$SUPERNET" -n 20 \
        --seed 1 --out "$WORK/collect-$side.jsonl" -q > /dev/null 2> "$WORK/collect-$side.err") \
        || { echo "collect $side failed"; tail -2 collect-$side.err; }
      e=$(date +%s.%N)
      echo "round $round $side predictor collect -n 20: $(seconds "$s" "$e") s"
    fi
    if has search; then
      PYTHONPATH=$root taskset -c 0,1 $PY "$root/benchmarks/search_strategies.py" --supernet "$SUPERNET" \
        --device cpu --timing --predictor "$PREDICTOR" 2>&1 | grep -v -- '---' | sed "s/^/round $round $side search /"
    fi
  done
done

if has same; then
  for side in old new; do
    root=$OLD; [ $side = new ] && root=$NEW
    PYTHONPATH=$root $PY "$root/benchmarks/search_strategies.py" --supernet "$SUPERNET" --device cpu \
      --evaluations 1000 5000 10000 --seeds 5 --predictor "$PREDICTOR" 2>&1 | cut -d'|' -f1-5 > strategies-$side.md
    # shellcheck disable=SC2086
    PYTHONPATH=$root $PY "$root/benchmarks/predictor_quality.py" --supernet "$SUPERNET" $QUALITY_ARGS \
      --device cpu 2>&1 | cut -d'|' -f1-9 > predictor-$side.md
  done
  if [ -f collect-old.jsonl ] && [ -f collect-new.jsonl ]; then  # the measured subnets, less their timing
    for side in old new; do
      $PY -c "import json,sys; [print(json.dumps({k: v for k, v in json.loads(l).items() if k != 'seconds'}))
                               for l in open(sys.argv[1]) if '\"top1\"' in l]" collect-$side.jsonl > collect-$side.md
    done
    set -- collect
  else
    set --
  fi
  for what in strategies predictor "$@"; do
    if cmp -s $what-old.md $what-new.md; then echo "$what: the same on both sides"; cat $what-new.md
    else echo "$what: DIFFERENT"; diff $what-old.md $what-new.md; fi
  done
fi
