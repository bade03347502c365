"""once-for-all's own arithmetic on its published assets, written from their documented formats and
importing nothing of ofa: the reference that `benchmarks/ofa_assets.py` and tests/test_ofa_import.py
hold our imported table and predictor to.

A network is once-for-all's spec: resolution `r`, depth `d` per stage (5), kernel `ks` and expand
ratio `e` per block slot (20, four per stage; slots past a stage's depth are ignored). Its latency
is the plain sum of its layers' `mean` entries; its accuracy is the MLP on the 128-slot encoding.

    python benchmarks/ofa_reference.py --tables ../shared/ofa-reference/note10 \
        --predictor ../shared/ofa-reference/acc_predictor.pth -n 1000 --out /tmp/reference.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

# ofa_mbv3_d234_e346_k357_w1.2: (width, stride, h-swish, squeeze-excite) per stage
STAGES = [(32, 2, 0, 0), (48, 2, 0, 1), (96, 2, 1, 0), (136, 1, 1, 1), (192, 2, 1, 1)]
STEM, FINAL_EXPAND, FEATURE_MIX, CLASSES = 24, 1152, 1536, 1000
KERNELS, EXPANDS, DEPTHS = (3, 5, 7), (3, 4, 6), (2, 3, 4)


def _block(size: int, cin: int, cout: int, mid: int, k: int, stride: int, skip: int, se: int, hs: int):
    out = (size - 1) // stride + 1
    return (f"expanded_conv-input:{size}x{size}x{cin}-output:{out}x{out}x{cout}-expand:{mid}-kernel:{k}"
            f"-stride:{stride}-idskip:{skip}-se:{se}-hs:{hs}"), out


def network_keys(spec: dict) -> list[str]:
    """The table entries once-for-all sums for one network, in order."""
    r = spec["r"]
    size = (r + 1) // 2
    keys = [f"Conv-input:{r}x{r}x3-output:{size}x{size}x{STEM}"]
    key, size = _block(size, STEM, STEM, STEM, 3, 1, 1, 0, 0)  # the fixed first block, no expansion
    keys.append(key)
    cin = STEM
    for i, ((width, stride, hs, se), depth) in enumerate(zip(STAGES, spec["d"])):
        for j in range(depth):
            c = cin if j == 0 else width
            k, e = spec["ks"][4 * i + j], spec["e"][4 * i + j]
            key, size = _block(size, c, width, c * e, k, stride if j == 0 else 1, int(j > 0), se, hs)
            keys.append(key)
        cin = width
    return keys + [f"Conv_1-input:{size}x{size}x{cin}-output:{size}x{size}x{FINAL_EXPAND}",
                   f"AvgPool2D-input:{size}x{size}x{FINAL_EXPAND}-output:1x1x{FINAL_EXPAND}",
                   f"Conv_2-input:1x1x{FINAL_EXPAND}-output:1x1x{FEATURE_MIX}",
                   f"Logits-input:1x1x{FEATURE_MIX}-output:{CLASSES}"]


def encode(spec: dict) -> list[float]:
    """The tutorial predictor's input: 20 x 3 kernel one-hots, 20 x 3 expand one-hots (zeros past a
    stage's depth), 8 resolution one-hots at (r - 112) // 16."""
    x = [0.0] * 128
    for i, depth in enumerate(spec["d"]):
        for j in range(depth):
            slot = 4 * i + j
            x[3 * slot + KERNELS.index(spec["ks"][slot])] = 1.0
            x[60 + 3 * slot + EXPANDS.index(spec["e"][slot])] = 1.0
    x[120 + (spec["r"] - 112) // 16] = 1.0
    return x


def random_spec(rng: random.Random, resolutions: list[int]) -> dict:
    return {"r": rng.choice(resolutions), "d": [rng.choice(DEPTHS) for _ in STAGES],
            "ks": [rng.choice(KERNELS) for _ in range(20)], "e": [rng.choice(EXPANDS) for _ in range(20)]}


def load_tables(folder: Path, resolutions: list[int]) -> dict[int, dict[str, float]]:
    import yaml

    return {r: {k: v["mean"] for k, v in yaml.safe_load((folder / f"{r}_lookup_table.yaml").read_text()).items()}
            for r in resolutions}


def load_mlp(path: Path):
    import torch

    mlp = torch.nn.Sequential(torch.nn.Linear(128, 400), torch.nn.ReLU(), torch.nn.Linear(400, 400), torch.nn.ReLU(),
                              torch.nn.Linear(400, 400), torch.nn.ReLU(), torch.nn.Linear(400, 1))
    mlp.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return mlp.eval()


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tables", type=Path, required=True)
    ap.add_argument("--predictor", type=Path, required=True)
    ap.add_argument("--resolutions", type=int, nargs="+", default=[160, 176, 192, 208])
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    tables, mlp = load_tables(args.tables, args.resolutions), load_mlp(args.predictor)
    rng = random.Random(args.seed)
    specs = [random_spec(rng, args.resolutions) for _ in range(args.n)]
    with torch.no_grad():
        acc = mlp(torch.tensor([encode(s) for s in specs])).squeeze(1).tolist()
    with args.out.open("w") as f:
        for spec, a in zip(specs, acc):
            ms = sum(tables[spec["r"]][k] for k in network_keys(spec))
            f.write(json.dumps({**spec, "latency_ms": ms, "accuracy": a}) + "\n")
    print(f"{args.out}: {len(specs)} networks, once-for-all's plain sums and MLP accuracies")


if __name__ == "__main__":
    main()
