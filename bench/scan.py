"""The parallel-scan minGRU against the GRUs, forward + backward, over the sequence length.

For T = 256 ... 16384 (B = 16, H = 128, I = 128, float32, CPU): rnnlab.MinGRU on its parallel
scan (the default path) and on its sequential reference loop (``path="reference"``),
rnnlab.GRU (its default path) and torch.nn.GRU. Each time is the median of ``--repeats``
calls of forward + backward of ``outputs.sum()``, after one warm-up call; the growth column is
time(T) / time(T / 2). The sequential minGRU stops at ``--max-sequential`` steps (it grows
linearly, and the reference loop is slow). The last line compares the scan with
rnnlab.GRU at T = 4096 (issue 21's target: at least 10x faster).

Usage: python bench/scan.py [--quick] [--repeats 3] [--max-sequential 2048] [--lengths T ...]
       [--out scan.json]
"""

import argparse
import json
import statistics
import time

import torch

import rnnlab

B, H, I = 16, 128, 128
LENGTHS = (256, 512, 1024, 2048, 4096, 8192, 16384)


def seconds(layer, x: torch.Tensor, repeats: int) -> float:
    """Median wall-clock seconds of forward + backward."""

    def once() -> float:
        start = time.perf_counter()
        outputs, _ = layer(x)
        outputs.sum().backward()
        return time.perf_counter() - start

    once()  # warm-up: numba compilation, allocator
    return statistics.median(once() for _ in range(repeats))


def layers() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {
        "MinGRU scan": rnnlab.MinGRU(I, H),
        "MinGRU sequential": rnnlab.MinGRU(I, H, path="reference"),
        "rnnlab.GRU": rnnlab.GRU(I, H),
        "torch.nn.GRU": torch.nn.GRU(I, H, batch_first=True),
    }


def run(lengths, repeats: int, max_sequential: int) -> dict:
    table: dict[str, dict[int, float]] = {name: {} for name in layers()}
    for T in lengths:
        x = torch.randn(B, T, I, requires_grad=True)
        for name, layer in layers().items():
            if name == "MinGRU sequential" and max_sequential < T:
                continue
            table[name][T] = seconds(layer, x, repeats)
            previous = table[name].get(T // 2)
            growth = f"{table[name][T] / previous:5.2f}x" if previous else "     "
            print(f"T={T:6d}  {name:18s} {table[name][T] * 1e3:10.1f} ms  growth {growth}",
                  flush=True)  # fmt: skip
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="T = 256 ... 1024 only")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-sequential", type=int, default=2048)
    parser.add_argument("--lengths", type=int, nargs="+", default=None, help="these T only")
    parser.add_argument("--out", default=None, help="write the table as JSON here")
    arguments = parser.parse_args()
    lengths = arguments.lengths or (LENGTHS[:3] if arguments.quick else LENGTHS)
    torch.set_num_threads(torch.get_num_threads())
    print(f"B={B} H={H} I={I} float32, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; forward + backward, median of "
          f"{arguments.repeats}")  # fmt: skip
    table = run(lengths, arguments.repeats, arguments.max_sequential)
    scan, gru = table["MinGRU scan"], table["rnnlab.GRU"]
    for T in lengths:
        if T in scan and T in gru:
            ratio = gru[T] / scan[T]
            print(f"T={T:6d}  rnnlab.GRU / MinGRU scan = {ratio:6.2f}x"
                  + ("   (target at T = 4096: >= 10x)" if T == 4096 else ""))  # fmt: skip
    if arguments.out:
        with open(arguments.out, "w") as handle:
            json.dump({name: {str(T): t for T, t in row.items()} for name, row in table.items()},
                      handle, indent=1)  # fmt: skip


if __name__ == "__main__":
    main()
