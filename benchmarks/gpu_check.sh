#!/usr/bin/env bash
# Everything a lent GPU should tell us, in one short lease (about 10 minutes on one GPU):
#   1. the GPU and the versions;
#   2. the `gpu`-marked tests;
#   3. cuda-torch latency tables for mbv3-w1.0 at batch 1 and 64, each built (30 calibration
#      subnets) and validated on 100 random subnets;
#   4. the training step at 224 px (ours in fp32, bf16 and bf16 + channels-last, against
#      once-for-all's own step under the same autocast when --reference names its checkout).
# Everything lands in --out (default: $OUT, else gpu-check/): log.txt, the tables and their
# validation reports, train_step.md, and summary.md with the figures BENCHMARKS.md takes.
#
#   bash benchmarks/gpu_check.sh [--out DIR] [--reference PATH-TO-once-for-all] [--quick]
#   bash benchmarks/gpu_check.sh --dry-run     # checks every command it would run, runs none
#
# --dry-run needs no GPU: each `ofa` command is run with --help appended (an unknown option or
# subcommand fails there), each script's options are looked up in its --help, and the tests are
# collected without running. --quick measures less (smoke test of the whole script).
set -euo pipefail
cd "$(dirname "$0")/.."

dry=0
quick=0
out="${OUT:-gpu-check}"
reference=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry=1 ;;
    --quick) quick=1 ;;
    --out) out="$2"; shift ;;
    --reference) reference="$2"; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
py="${PYTHON:-python}"
ofa=("$py" -m ofa)
space=mbv3-w1.0
validate_n=100
calibrate_k=30
step_args=(--space "$space" --resolution 224 --batch 64 --rounds 3 --steps 10 --warmup 3 --device cuda
           --variants fp32 bf16 "bf16 + channels-last")
if [ "$quick" = 1 ]; then
  validate_n=10
  calibrate_k=4
  step_args=(--space "$space" --resolution 224 --batch 16 --rounds 1 --steps 2 --warmup 1 --device cuda
             --variants bf16)
fi
[ -n "$reference" ] && step_args+=(--reference "$reference")
mkdir -p "$out"
log="$out/log.txt"
failed=0

say() { echo "== $*" | tee -a "$log"; }

# run NAME CMD...: run a step, log it, keep going when it fails (the summary says which failed)
run() {
  local name="$1"; shift
  say "$name: $*"
  if [ "$dry" = 1 ]; then
    check "$@" || { echo "   dry run: FAILED" | tee -a "$log"; failed=1; }
    return 0
  fi
  local start=$SECONDS
  if "$@" >>"$log" 2>&1; then
    say "$name: done in $((SECONDS - start)) s"
  else
    say "$name: FAILED after $((SECONDS - start)) s (see $log)"; failed=1
  fi
}

# check CMD...: what --dry-run does instead of running CMD
check() {
  if [ "$1" = "$py" ] && [ "$2" = "-m" ] && [ "$3" = "ofa" ]; then
    "$@" --help >/dev/null
  elif [ "$1" = "$py" ] && [ "$2" = "-m" ] && [ "$3" = "pytest" ]; then
    "$py" -m pytest -q --collect-only -m gpu >/dev/null
  elif [ "$1" = "$py" ] && [ -f "$2" ]; then
    local usage; usage="$("$py" "$2" --help)"
    local a; for a in "${@:3}"; do
      if [[ "$a" == --* ]] && ! grep -q -- "$a" <<<"$usage"; then echo "   $2 has no option $a"; return 1; fi
    done
  else
    command -v "$1" >/dev/null || { echo "   $1: not found here (fine on the GPU machine if it is there)"; return 0; }
  fi
}

say "gpu_check.sh $(date -u +%FT%TZ) out=$out dry=$dry quick=$quick reference=${reference:-none}"
run "gpu" nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
run "versions" "$py" -c "import torch, onnx, onnxruntime; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'); print('onnx', onnx.__version__, 'onnxruntime', onnxruntime.__version__)"
run "gpu tests" "$py" -m pytest -q -m gpu -p no:cacheprovider
for device in cuda-torch cuda-torch-b64; do
  run "table $device" "${ofa[@]}" latency build --device "$device" --space "$space" --calibration-subnets "$calibrate_k" \
      --out "$out/$device/$space.json" --force -q
  run "validate $device" "${ofa[@]}" latency validate --device "$device" --space "$space" \
      --table "$out/$device/$space.json" -n "$validate_n" --seed 1 --out "$out/$device" -q
done
if [ "$dry" = 1 ]; then
  run "training step" "$py" benchmarks/train_throughput.py "${step_args[@]}"
else
  say "training step: $py benchmarks/train_throughput.py ${step_args[*]}"
  "$py" benchmarks/train_throughput.py "${step_args[@]}" >"$out/train_step.md" 2>>"$log" \
    || { say "training step: FAILED"; failed=1; }
fi

if [ "$dry" = 0 ]; then
  "$py" - "$out" "$space" >"$out/summary.md" <<'PY'
import json, pathlib, sys
out, space = pathlib.Path(sys.argv[1]), sys.argv[2]
print(f"# GPU check ({out})\n")
print("| table | batch | build entries | MAPE before / after | within ±10% after | Kendall tau after |")
print("| --- | ---: | ---: | --- | ---: | ---: |")
for device in ("cuda-torch", "cuda-torch-b64"):
    table, report = out / device / f"{space}.json", out / device / f"{space}.validate.json"
    if not (table.is_file() and report.is_file()):
        print(f"| {device} | - | - | missing | - | - |")
        continue
    t, r = json.loads(table.read_text()), json.loads(report.read_text())
    before, after = r.get("before") or {}, r.get("after") or {}
    print(f"| {device} | {t['batch_size']} | {len(t['entries'])} | {before.get('mape', float('nan')):.2f}% / "
          f"{after.get('mape', float('nan')):.2f}% | {after.get('within_10pct', float('nan')):.1f}% | "
          f"{after.get('kendall_tau', float('nan')):.3f} |")
step = out / "train_step.md"
print("\n## Training step\n")
print(step.read_text() if step.is_file() else "missing")
PY
  cat "$out/summary.md" | tee -a "$log"
fi
say "gpu_check.sh finished: $([ "$failed" = 0 ] && echo 'every step passed' || echo 'some steps FAILED')"
exit "$failed"
