"""Ensemble speed: N networks trained at once against the same N networks one after another.

Forward + backward of the whole batch, interleaved pairs (ensemble, then the N singles), the
median of ``--repeats`` pairs; both on rnnlab's default path. Prints one row per case:

    python bench/ensemble.py            # the issue's two cases, and the LSTM's
    python bench/ensemble.py --quick    # fewer repeats
    python bench/ensemble.py --grid     # GRU, LSTM and Jordan over a grid of N, B, H (T = 100)
"""

import argparse
import statistics
import time

import torch

import rnnlab
from rnnlab.models.ensemble import Ensemble

CASES = [  # (family, N, H, B, T, I)
    ("elman", 16, 20, 1, 1000, 3),
    ("gru", 8, 64, 32, 100, 16),
    ("lstm", 8, 64, 32, 100, 16),
]
FAMILIES = {
    "elman": rnnlab.Elman,
    "gru": rnnlab.GRU,
    "lstm": rnnlab.LSTM,
    "jordan": lambda I, H: rnnlab.Jordan(I, H, 8),  # 8 output (context) units
}
GRID = [(8, 32, 64), (8, 1, 20), (16, 1, 20), (3, 64, 37), (8, 8, 32), (4, 16, 128)]  # N, B, H


def seconds(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def case(family, N, H, B, T, I, repeats):
    make = lambda: FAMILIES[family](I, H)  # noqa: E731
    ensemble = Ensemble(make, N, seeds=range(N))
    singles = [ensemble.member(k) for k in range(N)]
    x = torch.randn(B, T, I)

    def together():
        outputs, _ = ensemble(x)
        outputs.sum().backward()

    def one_by_one():
        for network in singles:
            outputs, _ = network(x)
            outputs.sum().backward()

    together(), one_by_one()  # compile and warm up
    pairs = [(seconds(together), seconds(one_by_one)) for _ in range(repeats)]
    t_ensemble = statistics.median(p[0] for p in pairs)
    t_singles = statistics.median(p[1] for p in pairs)
    with torch.no_grad():
        served = ensemble.template.unroll_members(dict(ensemble.named_parameters()), x)
    path = "members one by one" if served is None else "member kernel"
    print(
        f"{family:6s} N={N:<3d} H={H:<4d} B={B:<3d} T={T:<5d} {path:20s} "
        f"ensemble {1e3 * t_ensemble:8.2f} ms   {N} singles {1e3 * t_singles:8.2f} ms   "
        f"speed-up {t_singles / t_ensemble:5.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 repeats instead of 21")
    parser.add_argument("--grid", action="store_true", help="GRU, LSTM, Jordan over GRID")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    repeats = 5 if args.quick else 21
    if args.grid:
        for family in ("gru", "lstm", "jordan"):
            for N, B, H in GRID:
                case(family, N, H, B, 100, 16, 9 if not args.quick else repeats)
        return
    for family, N, H, B, T, I in CASES:
        case(family, N, H, B, T, I, repeats)


if __name__ == "__main__":
    main()
