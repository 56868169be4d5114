"""The numbers a refactoring must not change: run fixed commands, keep every number they print.

    python bench/fingerprint.py OUT.json [--data ../shared/data]
    python bench/fingerprint.py NEW.json --compare bench/fingerprints/before_floors.json

Runs ``rnnlab replicate elman1990 --seeds 1 --quick``, ``rnnlab train
examples/elman_letters.toml`` and short trainings of the examples the CLI tests train (adding,
names, character LM, translation, sunspots; each then ``rnnlab evaluate --json``), and writes
every validation record of ``metrics.jsonl``, every check of ``results.json`` and every
evaluation metric, with times and throughputs left out. ``--compare`` lists what differs.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMES = {"wall_time", "tokens_per_s", "seconds", "elapsed", "minutes"}


def rnnlab(*args) -> str:
    command = [sys.executable, "-m", "rnnlab.cli", *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    return result.stdout


def without_times(value):
    """``value`` without times and throughputs, and with paths of written files as names."""
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if k not in TIMES}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    if isinstance(value, str) and value.startswith(tempfile.gettempdir()):
        return Path(value).name  # a figure written into the (temporary) run directory
    return value


def metrics(run: Path) -> list:
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return without_times(records)


def train(run: Path, config: str, *overrides: str) -> dict:
    sets = [part for override in overrides for part in ("--set", override)]
    rnnlab("train", ROOT / "examples" / config, "--out", run, "--quiet", *sets)
    evaluation = json.loads(rnnlab("evaluate", run, "--split", "test", "--json"))
    return {"metrics": metrics(run), "evaluate": without_times(evaluation)}


def fingerprint(data: Path, scratch: Path) -> dict:
    found = {}
    rnnlab("replicate", "elman1990", "--seeds", "1", "--quick", "--out", scratch / "elman1990")
    results = json.loads((scratch / "elman1990" / "results.json").read_text())
    found["replicate elman1990 --seeds 1 --quick"] = without_times(results)
    found["train elman_letters"] = train(scratch / "letters", "elman_letters.toml")
    found["train lstm_adding (20 steps)"] = train(
        scratch / "adding", "lstm_adding.toml", "training.max_steps=20", "task.num_train=256"
    )
    names = scratch / "names-data"
    names.mkdir()
    for path in sorted((data / "names").glob("*.txt"))[:4]:
        lines = path.read_text(encoding="utf-8").splitlines()[:150]
        (names / path.name).write_text("\n".join(lines), encoding="utf-8")
    found["train names_gru (60 steps)"] = train(
        scratch / "names", "names_gru.toml", f"task.path={names}", "training.max_steps=60",
        "training.eval_every=30",
    )  # fmt: skip
    text = (data / "text/tinyshakespeare.txt").read_text(encoding="utf-8")[:30_000]
    (scratch / "slice.txt").write_text(text, encoding="utf-8")
    found["train shakespeare (40 steps)"] = train(
        scratch / "text", "shakespeare.toml", f"task.path={scratch / 'slice.txt'}",
        "model.hidden_size=32", "training.max_steps=40", "training.batch_size=8",
        "training.eval_every=20",
    )  # fmt: skip
    lines = (data / "translation/eng-fra.txt").read_text(encoding="utf-8").splitlines()[:600]
    (scratch / "pairs.tsv").write_text("\n".join(lines), encoding="utf-8")
    found["train translation (40 steps)"] = train(
        scratch / "translation", "translation.toml", f"task.path={scratch / 'pairs.tsv'}",
        "model.hidden_size=32", "model.embedding_dim=16", "training.max_steps=40",
        "training.eval_every=20",
    )  # fmt: skip
    found["train sunspots (20 steps)"] = train(
        scratch / "sunspots", "sunspots.toml", "training.max_steps=20", "training.eval_every=10"
    )
    return found


def differences(new, old, where="") -> list[str]:
    if isinstance(new, dict) and isinstance(old, dict):
        keys = sorted(set(new) | set(old))
        return [d for k in keys for d in differences(new.get(k), old.get(k), f"{where}/{k}")]
    if isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
        pairs = enumerate(zip(new, old))
        return [d for i, (a, b) in pairs for d in differences(a, b, f"{where}[{i}]")]
    return [] if new == old else [f"{where}: {old!r} -> {new!r}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--compare", type=Path, help="a fingerprint to compare the new one with")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        found = fingerprint(args.data, Path(scratch))
    args.out.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    if args.compare:
        changed = differences(found, json.loads(args.compare.read_text()))
        print("\n".join(changed) if changed else "every number is the same")


if __name__ == "__main__":
    main()
