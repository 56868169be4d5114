"""Benchmark: rnnlab's layers against torch.nn, forward + backward, on this machine.

For each cell (Elman tanh against torch.nn.RNN, GRU, LSTM) and shape (T, B, I = H), both
layers get identical weights (rnnlab's on its default path, as a user gets it: the loop
measured fastest on this machine, :mod:`rnnlab.kernels.tuning`, which the table names; a row
where rnnlab is slower than torch.nn by more than 5 % is flagged) and the same input; their
forward + backward passes run interleaved (A B A B ...) and the result is the median of the
per-pair time ratios, so a burst of load on a shared machine does not decide it. Throughput is
reported as GFLOP/s of the matrix products (forward 2·B·G·H·(I + H) per step, backward twice
that; G gates) and as a fraction of this machine's single-precision GEMM peak, measured in the
same run.

Run ``rnnlab bench`` (or ``python bench/layers.py``); ``--quick`` runs a subset in under a
minute. The table is printed and written as JSON.
"""

import json
import platform
import statistics
import time
from dataclasses import asdict, dataclass

import torch

from rnnlab.layers import GRU, LSTM, Elman

SHAPES = [(1000, 1, 2), (1000, 1, 20), (1000, 1, 150), (100, 32, 150), (100, 64, 256),
          (100, 64, 512), (50, 32, 1024)]  # fmt: skip
# A row is flagged slower beyond this ratio: where both run torch's own fused kernel, the
# ratio scatters around 1 by a few per cent from run to run on a quiet machine.
SLOWER = 1.05
QUICK_SHAPES = [(1000, 1, 2), (1000, 1, 20), (100, 32, 150)]
CELLS = {
    "elman": (
        lambda h: Elman(h, h),
        lambda h: torch.nn.RNN(h, h, batch_first=True),
        1,
    ),
    "gru": (lambda h: GRU(h, h), lambda h: torch.nn.GRU(h, h, batch_first=True), 3),
    "lstm": (lambda h: LSTM(h, h), lambda h: torch.nn.LSTM(h, h, batch_first=True), 4),
}


@dataclass(frozen=True)
class Row:
    cell: str
    T: int
    B: int
    H: int
    torch_us_per_step: float
    rnnlab_us_per_step: float
    ratio: float  # median of per-pair ratios rnnlab / torch
    torch_peak_fraction: float
    rnnlab_peak_fraction: float
    rnnlab_path: str  # what served it, as the default path chose: compiled loop, torch loop, ...


def gemm_peak(repeats: int = 7, n: int = 2048) -> float:
    """This machine's single-precision GEMM rate (GFLOP/s), median of ``repeats`` runs."""
    a, b = torch.rand(n, n), torch.rand(n, n)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times) / 1e9


def _forward_backward(module, x):
    def run():
        outputs, _ = module(x)
        outputs.sum().backward()

    return run


def _time(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def measure(cell: str, T: int, B: int, H: int, pairs: int, peak: float) -> Row:
    make_rnnlab, make_torch, gates = CELLS[cell]
    torch.manual_seed(0)
    reference = make_torch(H)
    layer = make_rnnlab(H)
    layer.load_state_dict(reference.state_dict())
    x = torch.randn(B, T, H, requires_grad=True)
    run_torch, run_rnnlab = _forward_backward(reference, x), _forward_backward(layer, x)
    run_torch(), run_rnnlab()  # warm up (compile, and measure the loop: rnnlab.kernels.tuning)
    torch_times, rnnlab_times = [], []
    for _ in range(pairs):
        torch_times.append(_time(run_torch))
        rnnlab_times.append(_time(run_rnnlab))
    ratio = statistics.median(r / t for r, t in zip(rnnlab_times, torch_times))
    flops = 3 * 2 * B * gates * H * (H + H) * T
    t_torch, t_rnnlab = statistics.median(torch_times), statistics.median(rnnlab_times)
    return Row(
        cell, T, B, H, t_torch / T * 1e6, t_rnnlab / T * 1e6, ratio,
        flops / t_torch / 1e9 / peak, flops / t_rnnlab / 1e9 / peak,
        layer.last_path or "reference",
    )  # fmt: skip


#: Where ``record`` is timed against a plain forward pass: (T, B, H), with and without
#: gradients (the speed issue's shapes).
RECORD_SHAPES = ((200, 32, 64), (1000, 1, 20))


def record_overhead(cell: str, T: int, B: int, H: int, repeats: int = 9,
                    grad: bool = False) -> float:  # fmt: skip
    """Median time of ``layer.record(x)`` over ``layer(x)``, forward only, under
    ``torch.no_grad()`` or (``grad``) building the graph a backward pass would use."""
    layer = CELLS[cell][0](H)
    x = torch.randn(B, T, H)
    with torch.set_grad_enabled(grad):
        layer(x), layer.record(x)
        ratios = [_time(lambda: layer.record(x)) / _time(lambda: layer(x)) for _ in range(repeats)]
    return statistics.median(ratios)


def online_xor_seconds() -> float:
    """Seconds for Elman's temporal XOR: a 1-2-1 network, 3,000 bits, 600 passes, online."""
    from rnnlab.tasks.temporal_xor import xor_stream
    from rnnlab.train.online import train_online

    torch.manual_seed(0)
    layer, readout = Elman(1, 2, nonlinearity="sigmoid"), torch.nn.Linear(2, 1)
    bits = xor_stream(1000, torch.Generator().manual_seed(0))
    x, y = bits[:-1, None], bits[1:, None]
    train_online(layer, readout, x[:10], y[:10], lr=0.1)  # compile
    start = time.perf_counter()
    state = None
    for _ in range(600):
        _, state = train_online(layer, readout, x, y, lr=0.1, state=state)
    return time.perf_counter() - start


def run(quick: bool = False, out: str | None = None, echo=print) -> dict:
    """Run the benchmark, print the table through ``echo`` and return (and write) the JSON."""
    peak = gemm_peak()
    machine = platform.processor() or platform.machine()
    echo(f"machine: {machine}, {torch.get_num_threads()} threads, torch {torch.__version__}; "
         f"GEMM peak {peak:.0f} GFLOP/s (float32, 2048^3)")  # fmt: skip
    echo(f"{'cell':<6} {'T':>5} {'B':>3} {'H':>5} {'torch.nn':>12} {'rnnlab':>12} {'ratio':>6} "
         f"{'torch %pk':>9} {'rnnlab %pk':>10}  rnnlab path")  # fmt: skip
    rows = []
    for cell in CELLS:
        for T, B, H in QUICK_SHAPES if quick else SHAPES:
            pairs = 5 if quick else (7 if B * H * T < 5e6 else 5)
            row = measure(cell, T, B, H, pairs, peak)
            rows.append(row)
            flag = "  SLOWER than torch.nn" if row.ratio > SLOWER else ""
            echo(f"{cell:<6} {T:>5} {B:>3} {H:>5} {row.torch_us_per_step:>9.1f} us "
                 f"{row.rnnlab_us_per_step:>9.1f} us {row.ratio:>6.2f} "
                 f"{100 * row.torch_peak_fraction:>8.0f}% {100 * row.rnnlab_peak_fraction:>9.0f}%  "
                 f"{row.rnnlab_path}{flag}")  # fmt: skip
    slower = [row for row in rows if row.ratio > SLOWER]
    echo(f"rows where rnnlab is slower than torch.nn by more than {SLOWER - 1:.0%}: "
         f"{len(slower)} of {len(rows)}")  # fmt: skip
    record = {}
    for T, B, H in RECORD_SHAPES[:1] if quick else RECORD_SHAPES:
        for grad in (False, True):
            name = f"T={T}, B={B}, H={H}, {'with gradients' if grad else 'no_grad'}"
            record[name] = {cell: record_overhead(cell, T, B, H, grad=grad) for cell in CELLS}
            echo(f"record / forward ({name}): "
                 + ", ".join(f"{cell} {v:.2f}" for cell, v in record[name].items()))  # fmt: skip
    xor = online_xor_seconds()
    echo(f"online temporal XOR (1-2-1, 3,000 bits x 600 passes = 1.8M updates): {xor:.2f} s")
    result = {
        "machine": {"processor": platform.processor() or platform.machine(),
                    "threads": torch.get_num_threads(), "torch": torch.__version__,
                    "gemm_peak_gflops": peak},
        "rows": [asdict(row) for row in rows],
        "record_over_forward": record,
        "online_xor_seconds": xor,
    }  # fmt: skip
    if out:
        with open(out, "w", encoding="utf-8") as file:
            json.dump(result, file, indent=2)
        echo(f"written: {out}")
    return result
