"""Learning curves of policy runs: the training episode return (the mean of the last 20
episodes, as metrics.jsonl logs it) against environment steps, mean and spread (min..max)
over the runs of each group, as a PNG and a table.

    python bench/policy_curves.py --group GRU runs/gru-s0 runs/gru-s1 runs/gru-s2 \\
        --group "feed-forward" runs/ff-s0 runs/ff-s1 --out curves.png
"""

import argparse
import json
from pathlib import Path

import numpy as np


def curve(run: Path) -> tuple[np.ndarray, np.ndarray, float | None]:
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    steps = np.array([r["env_steps"] for r in records if "episode_return" in r])
    returns = np.array([r["episode_return"] for r in records if "episode_return" in r])
    final = [r["eval_mean_return"] for r in records if "eval_mean_return" in r]
    return steps, returns, final[-1] if final else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--group", nargs="+", action="append", metavar=("NAME", "RUN"),
                        required=True)  # fmt: skip
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--at", type=int, nargs="+", default=[25_000, 50_000, 75_000, 100_000])
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.6), dpi=100)
    header = "| policy | runs | " + " | ".join(f"return at {a // 1000}k" for a in args.at)
    print(header + " | final evaluation (20 episodes) |")
    print("|" + "---|" * (len(args.at) + 3))
    for name, *runs in args.group:
        curves = [curve(Path(run)) for run in runs]
        grid = np.linspace(0, min(c[0][-1] for c in curves), 200)
        values = np.stack([np.interp(grid, s, r) for s, r, _ in curves])
        line = axes.plot(grid, values.mean(0), label=f"{name} ({len(runs)} seeds)")[0]
        axes.fill_between(grid, values.min(0), values.max(0), color=line.get_color(), alpha=0.2)
        at = [np.mean([np.interp(a, s, r) for s, r, _ in curves]) for a in args.at]
        finals = [c[2] for c in curves if c[2] is not None]
        final = " ".join(f"{f:.1f}" for f in finals)
        print(f"| {name} | {len(runs)} | " + " | ".join(f"{v:.0f}" for v in at) + f" | {final} |")
    axes.set_xlabel("environment steps")
    axes.set_ylabel("episode return (training)")
    axes.legend(frameon=False)
    figure.tight_layout()
    figure.savefig(args.out)
    print(f"figure: {args.out}")


if __name__ == "__main__":
    main()
