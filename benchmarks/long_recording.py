"""One long recording through `sigdenoise denoise` in bounded memory (issue 14).

Writes a single-channel float32 .npy of N samples (default 100 million: 400 MB; a chirp and a slow
wave with white noise at 0.3, written in pieces so that this script stays small too), runs
`sigdenoise denoise big.npy -o out.npy [FLAGS]` in a subprocess and reports its wall time and peak
resident memory (getrusage of the child), then checks the output (shape, dtype, finite, the SNR
gain on a stretch of it). With --check N2 it also denoises the first N2 samples both streamed (the
command) and in memory (sigdenoise.denoise) and says whether they are equal bit for bit.

    python benchmarks/long_recording.py                       # 100 M samples, the default (auto)
    python benchmarks/long_recording.py --samples 20000000 --flags "--method savgol" --check 3000000
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PIECE = 1 << 22  # samples generated at a time


def clean_piece(t: np.ndarray) -> np.ndarray:
    return np.sin(2 * np.pi * (t / 2_000 + 1e-9 * t**2)) + 0.5 * np.sin(2 * np.pi * t / 50_000)


def write_signal(path: Path, n: int, seed: int = 0) -> None:
    """A float32 .npy of n samples, written piece by piece."""
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (n,)})
        for a in range(0, n, PIECE):
            t = np.arange(a, min(n, a + PIECE), dtype=np.float64)
            f.write((clean_piece(t) + 0.3 * rng.standard_normal(len(t))).astype(np.float32).tobytes())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=100_000_000)
    ap.add_argument("--flags", default="", help="flags after `denoise big.npy -o out.npy`")
    ap.add_argument("--check", type=int, default=0, help="also compare streamed and in-memory on this many samples")
    ap.add_argument("--dir", default=None, help="folder for the files (default: a temporary one)")
    args = ap.parse_args()
    exe = str(Path(sys.executable).with_name("sigdenoise"))
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        big, out = Path(d) / "big.npy", Path(d) / "out.npy"
        t0 = time.perf_counter()
        write_signal(big, args.samples)
        print(f"wrote {args.samples:,} samples ({big.stat().st_size / 2**20:,.0f} MiB) in {time.perf_counter() - t0:.1f} s")
        cmd = [exe, "denoise", str(big), "-o", str(out), *shlex.split(args.flags)]
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB -> MiB (Linux)
        print(" ".join(res.stderr.split()))
        if res.returncode != 0:
            sys.exit(f"denoise failed with exit {res.returncode}")
        y = np.load(out, mmap_mode="r")
        stretch = slice(args.samples // 2, args.samples // 2 + 1_000_000)
        t = np.arange(stretch.start, stretch.stop, dtype=np.float64)
        x = np.load(big, mmap_mode="r")[stretch].astype(np.float64)
        c = clean_piece(t)
        gain = 10 * np.log10(np.sum((x - c) ** 2) / np.sum((np.asarray(y[stretch], dtype=np.float64) - c) ** 2))
        ok = y.shape == (args.samples,) and y.dtype == np.float32 and bool(np.isfinite(y[stretch]).all())
        print(f"command: {' '.join(shlex.quote(c) for c in cmd[1:])}")
        print(f"samples {args.samples:,}; wall {wall:.1f} s ({args.samples / wall / 1e6:.2f} M samples/s); "
              f"peak RSS {peak:,.0f} MiB; output {y.shape} {y.dtype} ok={ok}; SNR gain on 1 M samples mid-way "
              f"{gain:+.2f} dB; machine {os.cpu_count()} cores")  # fmt: skip
        if args.check:
            import sigdenoise

            small, small_out = Path(d) / "small.npy", Path(d) / "small_out.npy"
            write_signal(small, args.check)
            r = subprocess.run([exe, "denoise", str(small), "-o", str(small_out), *shlex.split(args.flags)],
                               capture_output=True, text=True)  # fmt: skip
            if r.returncode != 0:
                sys.exit(r.stderr)
            method = dict(zip(shlex.split(args.flags)[::2], shlex.split(args.flags)[1::2])).get("--method", "auto")
            same = np.array_equal(np.load(small_out), sigdenoise.denoise(np.load(small), method=method))
            print(f"streamed == in memory on {args.check:,} samples: {same}")


if __name__ == "__main__":
    main()
