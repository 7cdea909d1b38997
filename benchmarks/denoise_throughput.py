"""Throughput and peak memory of `sigdenoise denoise` on a large CSV (benchmarks/README.md).

    python benchmarks/denoise_throughput.py make /tmp/signals_1gb.csv --signals 1000000
    python benchmarks/denoise_throughput.py run /tmp/signals_1gb.csv /tmp/clean_1gb.csv [-- extra denoise options]

`make` writes synthetic signals (the study's five families, Gaussian noise 0.3, one 100-sample
signal per line, 6 decimals: ~1 KB a line) in blocks, so making it needs little memory. `run`
times `sigdenoise denoise` in a child process pinned to 2 cores (taskset) and reports its wall
time, signals per second and peak resident memory (ru_maxrss of the child, from wait4).
"""

import os
import subprocess
import sys
import time

import numpy as np

from sigdenoise import synthetic

# Runs the command as installed.
CHILD = """
import sys
from sigdenoise.cli import app
app(sys.argv[1:], prog_name="sigdenoise")
"""


def make(path: str, n: int, block: int = 20_000) -> None:
    rng = np.random.default_rng(0)
    with open(path, "w") as f:
        for i in range(0, n, block):
            x, _, _ = synthetic.generate(min(block, n - i), rng)
            np.savetxt(f, synthetic.add_gaussian(x, 0.3, rng), fmt="%.6f", delimiter=",")
    print(f"wrote {path}: {n:,} signals, {os.path.getsize(path) / 1e9:.3f} GB")


def run(inp: str, out: str, extra: list[str]) -> None:
    n = sum(1 for _ in open(inp, "rb"))
    cmd = ["taskset", "-c", "0,1", sys.executable, "-c", CHILD, "denoise", inp, "-o", out, *extra]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        sys.exit(f"denoise failed with status {status}")
    size = os.path.getsize(inp) / 1e9
    print(f"{n:,} signals, {size:.3f} GB in {wall:.1f} s wall ({usage.ru_utime + usage.ru_stime:.1f} s CPU): "
          f"{n / wall:,.0f} signals/s, {size / wall * 1e3:.1f} MB/s; peak RSS {usage.ru_maxrss / 1024:.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    what, *args = sys.argv[1:]
    if what == "make":
        make(args[0], int(args[args.index("--signals") + 1]) if "--signals" in args else 1_000_000)
    else:
        # Default: the study's small packaged autoencoder, the configuration the README's figures
        # are for (`--no-fit` alone meant it until issue 13; it now means the packaged DAE).
        extra = args[args.index("--") + 1 :] if "--" in args else ["--method", "ae", "--no-fit"]
        run(args[0], args[1], extra)
