"""Denoisers on real recordings: `sigdenoise denoise` against classical peers on UCR series that
ship inside sktime (ACSF1, ArrowHead, OSULeaf, BasicMotions).

    pip install -e ".[bench]"                                     # sktime and scikit-image
    OMP_NUM_THREADS=1 python benchmarks/real_signals.py            # 20 recordings a dataset, all: ~3 min
    OMP_NUM_THREADS=1 python benchmarks/real_signals.py --quick --series 5     # no "ae fit": ~20 s
    python benchmarks/real_signals.py --methods default "svd fit"  # a subset of the sigdenoise methods
    python benchmarks/real_signals.py --add "savgol=--method savgol"   # one more CLI method, no edit

Why: a denoiser must be judged on real recordings it was not designed or tuned on, against peers
whose settings are fixed in advance; the peers tuned with the clean signal in hand show the most
a classical filter could do (a ceiling, not something a user can reach).

What is measured, per row (dataset x noise case) and method:
- Recordings: the TRAIN split, loaded offline from the .ts files in sktime/datasets/data/: the
  first N cases (--series, default 20; 5 with --quick) in class round-robin order (one case of
  each class in turn, classes in order of first appearance), because ACSF1 and BasicMotions list
  their classes in blocks of 10: their first 20 cases would be two of ACSF1's ten appliances (the
  first ten a spike every 4 samples, which an SVD of windows fits at rank 4) and BasicMotions'
  "standing" alone. Lengths: ACSF1 1460, ArrowHead 251, OSULeaf 427. BasicMotions has 6 channels
  x 100 samples; each channel is a series of its own, so 6N series. The recording is the clean
  truth; it holds its own sensor noise, which a denoiser that removes it is charged for.
- Noise (numpy default_rng, seeded per dataset, case and series, so series i gets the same noise
  whatever N is): white Gaussian at 0.1, 0.3 and 1.0 x the series' own std (12 rows), and one
  structured row on OSULeaf: white 0.3 x std + "mains hum" 0.5 x std sin(2 pi 0.08 n + random
  phase) + drift 1.0 x std sin(2 pi n / length + random phase). OSULeaf because its outlines keep
  99 % of their power below 0.05 cycles/sample (0.15 % near 0.08), so the hum is separable from
  the signal in principle; ACSF1 keeps 97 % of its power above 0.05 (readings that jump from
  one sample to the next), where no method could tell hum from signal. The drift shares
  the outline's own band and no local filter can remove it: it caps the row's gain at about
  1.5 dB (SNR in ~1.5 dB; removing all white noise and hum leaves ~3.0 dB).
- Gain: mean over series of SNR(out) - SNR(noisy), SNR(e) = 10 log10(sum clean^2 / sum (e-clean)^2)
  per series (sigdenoise/evaluate/metrics.py); "SNR in" is the mean SNR(noisy).
- Seconds: wall time per row. sigdenoise: the CliRunner call (it reads and writes its CSVs);
  fixed peers: applying them to every series; tuned peers: the whole grid search.
- sigdenoise, exactly as a user runs it: the row's noisy series written to a CSV (one series a
  line, 17 significant digits), `sigdenoise denoise in.csv -o out.csv FLAGS` through
  typer's CliRunner, the output read back; any exit code but 0 stops the benchmark. Methods:
  METHODS below; "ae fit" (the slow one: 11 s a row, 30 s on ACSF1, at 20 series on one core) is
  skipped by --quick unless named in --methods.
- Fixed peers (FIXED_PEERS), settings chosen before any result: Savitzky-Golay (11, 3), scipy's
  Wiener at its default size (3), scikit-image's wavelet shrinkage (its defaults: db1, max level
  - 3, soft) with BayesShrink and with VisuShrink, and Chambolle total variation with weight 0.1
  (scikit-image's default) on x / std(x), scaled back: the weight then means the same for every
  recording whatever its units.
- Tuned peers (FAMILIES): per row, the one setting of a grid that maximises the row's mean gain
  (chosen with the clean signal): Savitzky-Golay windows 5..51 odd x orders 1..4; Wiener sizes
  3..31 odd; wavelets db4/sym8/coif3 x levels 1..6 (those PyWavelets allows for the length) x
  BayesShrink/VisuShrink; TV weights 10^-2.5 .. 10^1 in quarter decades.

Writes benchmarks/results/real_signals.md (the printed tables) and real_signals.csv (one line per
row x method: dataset, case, kind, method, gain_db, seconds, setting, ...); --out elsewhere.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import itertools
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pywt
from scipy.signal import savgol_filter, wiener

# sigdenoise methods: a name and the flags after `sigdenoise denoise in.csv -o out.csv`.
# Add an entry to benchmark another (e.g. "auto": ["--method", "auto"]), or pass --add NAME=FLAGS.
METHODS: dict[str, list[str]] = {
    "default": [],
    "svd fit": ["--fit", "--method", "svd"],
    "dae packaged": ["--no-fit"],  # the packaged denoising U-Net (since issue 13; before: the study's small AE)
    "ae packaged": ["--method", "ae", "--no-fit"],
    "ae fit": ["--fit", "--method", "ae"],
}
SLOW_METHODS = {"ae fit"}  # skipped by --quick: it trains an autoencoder per call (11-30 s at 20 series)

DATASETS = ("ACSF1", "ArrowHead", "OSULeaf", "BasicMotions")
SEED = 20261203
SERIES, QUICK_SERIES = 20, 5
WHITE_LEVELS = (0.1, 0.3, 1.0)  # x the series' own std
STRUCTURED_DATASET = "OSULeaf"  # why OSULeaf: module docstring
HUM_CYCLES_PER_SAMPLE = 0.08
ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Case:
    """Additive noise, each amplitude in units of the series' own std: white Gaussian (its std),
    a sinusoidal hum at HUM_CYCLES_PER_SAMPLE and a drift of one period over the series."""

    label: str
    white: float
    hum: float = 0.0
    drift: float = 0.0


WHITE_CASES = tuple(Case(f"white {k}", k) for k in WHITE_LEVELS)
STRUCTURED_CASE = Case("white 0.3 + hum + drift", 0.3, hum=0.5, drift=1.0)


# ---------------------------------------------------------------- recordings and noise


def class_round_robin(labels: np.ndarray) -> list[int]:
    """Case indices taking one case of each class in turn (classes in order of first appearance),
    so that the first few cases cover every class."""
    classes = list(dict.fromkeys(labels.tolist()))
    groups = [np.flatnonzero(labels == c).tolist() for c in classes]
    return [i for turn in itertools.zip_longest(*groups) for i in turn if i is not None]


def load_series(name: str, n: int) -> tuple[np.ndarray, str]:
    """The clean series (m, length) of dataset `name`: its first n TRAIN cases in class round-robin
    order, every channel of a case a series of its own; and a line saying which they are."""
    # Imported here: sktime takes seconds to import and the tests of the numbers do not need it.
    from sktime.datasets import load_UCR_UEA_dataset

    x, y = load_UCR_UEA_dataset(name, split="train", return_X_y=True, return_type="numpy3D")
    cases = class_round_robin(np.asarray(y))[:n]
    series = np.ascontiguousarray(x[cases].reshape(-1, x.shape[-1]), dtype=np.float64)
    channels = f" x {x.shape[1]} channels" if x.shape[1] > 1 else ""
    classes = len(dict.fromkeys(y.tolist()))
    what = f"TRAIN cases {cases} (round-robin over {classes} classes){channels}"
    return series, f"{name}: {what} = {len(series)} series x {x.shape[-1]} samples"


def case_noise(x: np.ndarray, case: Case, rng: np.random.Generator) -> np.ndarray:
    """The noise added to one clean series x under `case` (draws: white, then the two phases)."""
    scale, n = float(np.std(x)), np.arange(x.size)
    noise = case.white * scale * rng.standard_normal(x.size)
    if case.hum:
        noise += case.hum * scale * np.sin(2 * np.pi * HUM_CYCLES_PER_SAMPLE * n + rng.uniform(0, 2 * np.pi))
    if case.drift:
        noise += case.drift * scale * np.sin(2 * np.pi * n / x.size + rng.uniform(0, 2 * np.pi))
    return noise


def add_noise(clean: np.ndarray, dataset: str, case: Case) -> np.ndarray:
    """clean + noise, each series from its own stream (SEED, dataset and case names, series index):
    crc32 rather than hash() because Python salts string hashes per process."""
    key = zlib.crc32(f"{dataset}/{case.label}".encode())
    return np.stack([x + case_noise(x, case, np.random.default_rng([SEED, key, i])) for i, x in enumerate(clean)])


# ---------------------------------------------------------------- the metric


def snr_db_rows(estimate: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """Per-series SNR in dB, metrics.snr_db of each row: 10 log10(sum clean^2 / sum (est-clean)^2)."""
    err = np.sum((estimate - clean) ** 2, axis=-1)
    with np.errstate(divide="ignore"):  # an exact estimate is +inf dB, as in metrics.snr_db
        return 10.0 * np.log10(np.sum(clean**2, axis=-1) / err)


def mean_gain(out: np.ndarray, noisy: np.ndarray, clean: np.ndarray) -> float:
    """Mean over series of SNR(out) - SNR(noisy), in dB."""
    return float(np.mean(snr_db_rows(out, clean) - snr_db_rows(noisy, clean)))


# ---------------------------------------------------------------- peers


def apply_savgol(x: np.ndarray, setting: tuple[int, int]) -> np.ndarray:
    window, order = setting
    return savgol_filter(x, window, order, axis=-1)


def apply_wiener(x: np.ndarray, size: int | None) -> np.ndarray:
    # One series at a time: scipy estimates the noise power as the mean local variance of its whole
    # input, which over a stack would pool recordings of different scales.
    with np.errstate(divide="ignore", invalid="ignore"):  # flat stretches: 0/0, replaced by the local mean
        return np.stack([wiener(r, size) for r in x])


def apply_wavelet(x: np.ndarray, setting: tuple[str, int | None, str]) -> np.ndarray:
    from skimage.restoration import denoise_wavelet

    wavelet, levels, method = setting
    return np.stack([denoise_wavelet(r, wavelet=wavelet, wavelet_levels=levels, method=method, mode="soft",
                                     rescale_sigma=True, channel_axis=None) for r in x])  # fmt: skip


def apply_tv(x: np.ndarray, weight: float) -> np.ndarray:
    from skimage.restoration import denoise_tv_chambolle

    # TV's weight is in the signal's units; on x / std(x) one weight means the same for every recording.
    scale = np.std(x, axis=-1, keepdims=True)
    return np.stack([denoise_tv_chambolle(r, weight=weight) for r in x / scale]) * scale


def wavelet_grid(length: int) -> list[tuple[str, int, str]]:
    # Levels past dwt_max_level are skipped: PyWavelets warns that every coefficient then sees the boundary.
    return [(w, level, m) for w in ("db4", "sym8", "coif3") for level in range(1, 7)
            if level <= pywt.dwt_max_level(length, w) for m in ("BayesShrink", "VisuShrink")]  # fmt: skip


@dataclass(frozen=True)
class Family:
    """A peer: how to apply one setting to a stack of series (m, length), and its tuning grid."""

    apply: Callable[[np.ndarray, object], np.ndarray]
    grid: Callable[[int], list]  # settings valid for series of this length


FAMILIES = {
    "savgol": Family(apply_savgol, lambda n: [(w, p) for w in range(5, min(51, n) + 1, 2) for p in range(1, 5)]),
    "wiener": Family(apply_wiener, lambda n: list(range(3, min(31, n) + 1, 2))),
    "wavelet": Family(apply_wavelet, wavelet_grid),
    "tv": Family(apply_tv, lambda n: [float(w) for w in 10 ** np.arange(-2.5, 1.01, 0.25)]),
}
# Fixed peers: column name -> (family, setting), settings fixed before any result was seen.
FIXED_PEERS = {
    "savgol 11,3": ("savgol", (11, 3)),
    "wiener 3": ("wiener", None),  # scipy's default size, 3 for 1-D
    "wavelet Bayes": ("wavelet", ("db1", None, "BayesShrink")),  # scikit-image's defaults otherwise
    "wavelet Visu": ("wavelet", ("db1", None, "VisuShrink")),
    "tv 0.1": ("tv", 0.1),
}


def tune(family: Family, noisy: np.ndarray, clean: np.ndarray) -> tuple[object, float]:
    """The setting of the family's grid with the highest mean gain on this row (the first on a tie)."""
    best, best_gain = None, -np.inf
    for setting in family.grid(noisy.shape[-1]):
        gain = mean_gain(family.apply(noisy, setting), noisy, clean)
        if gain > best_gain:
            best, best_gain = setting, gain
    return best, best_gain


def setting_label(setting: object) -> str:
    if isinstance(setting, float):
        return f"{setting:.3g}"
    return ",".join(str(s) for s in setting) if isinstance(setting, tuple) else str(setting)


# ---------------------------------------------------------------- sigdenoise through its CLI


def what_ran(output: str) -> str:
    """The denoiser the CLI reports ("... with svd rank 3 fitted on ... in 0.1 s"), '' if not found."""
    m = re.search(r"Denoised .*? with (.*?) in [\d.]+ s\b", output)
    return m.group(1) if m else ""


def short_ran(output: str) -> str:
    """What the CLI ran, in a few words ('packaged ae', 'svd rank 3', 'auto: wavelet sym8 1σ ×3, ...').
    Parsed from its messages on a best-effort basis: '?' when they change shape."""
    ran = what_ran(output)
    short = "packaged ae" if "default-ae" in ran else re.sub(r" fitted on .*| \(.*", "", ran) or "?"
    picks = re.search(r"methods: (.*?);", output)  # what it ran per signal, worth showing when it varies
    return f"{short}: {picks.group(1)}" if picks and not picks.group(1).startswith(ran) else short


def run_cli(noisy: np.ndarray, flags: list[str], tmp: Path) -> tuple[np.ndarray, float, str]:
    """`sigdenoise denoise in.csv -o out.csv FLAGS` in-process: the output, the call's wall time,
    and the CLI's messages on one line (what it ran, notes, warnings). A non-zero exit stops the
    benchmark with the CLI's output."""
    # Imported here so that --help and the tests of the numbers need neither torch nor the CLI.
    from typer.testing import CliRunner

    from sigdenoise.cli import app

    inp, out = tmp / "in.csv", tmp / "out.csv"
    np.savetxt(inp, noisy, delimiter=",", fmt="%.17g")  # exact: the CLI sees the array we score against
    t0 = time.perf_counter()
    res = CliRunner().invoke(app, ["denoise", str(inp), "-o", str(out), *flags])
    seconds = time.perf_counter() - t0
    if res.exit_code != 0:
        detail = f"\n{res.exception!r}" if res.exception and not isinstance(res.exception, SystemExit) else ""
        raise RuntimeError(f"sigdenoise denoise {shlex.join(flags)} exited {res.exit_code}:\n{res.output}{detail}")
    result = np.loadtxt(out, delimiter=",", ndmin=2)
    if result.shape != noisy.shape:
        raise RuntimeError(f"sigdenoise denoise {shlex.join(flags)} returned {result.shape}, sent {noisy.shape}")
    return result, seconds, " ".join(res.output.replace(str(tmp), "<tmp>").split())  # one line, rich's wraps undone


# ---------------------------------------------------------------- one row


def timed(fn: Callable, *args) -> tuple[object, float]:
    """fn(*args) and its wall time in seconds."""
    t0 = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - t0


def evaluate_row(dataset: str, case: Case, clean: np.ndarray, methods: dict[str, list[str]], tmp: Path) -> list[dict]:
    """One record per method on one row: the sigdenoise methods, the fixed peers, the tuned peers."""
    noisy = add_noise(clean, dataset, case)
    base = {"dataset": dataset, "case": case.label, "snr_in_db": float(np.mean(snr_db_rows(noisy, clean))),
            "n_series": len(clean), "length": clean.shape[-1]}  # fmt: skip
    records = []
    for name, flags in methods.items():
        out, seconds, said = run_cli(noisy, flags, tmp)
        records.append({**base, "kind": "sigdenoise", "method": name, "gain_db": mean_gain(out, noisy, clean),
                        "seconds": seconds, "setting": what_ran(said), "cli_output": said})  # fmt: skip
    for name, (family, setting) in FIXED_PEERS.items():
        out, seconds = timed(FAMILIES[family].apply, noisy, setting)
        records.append({**base, "kind": "fixed peer", "method": name, "gain_db": mean_gain(out, noisy, clean),
                        "seconds": seconds, "setting": setting_label(setting)})  # fmt: skip
    for name, family in FAMILIES.items():
        (setting, gain), seconds = timed(tune, family, noisy, clean)
        records.append({**base, "kind": "tuned peer", "method": f"tuned {name}", "gain_db": gain,
                        "seconds": seconds, "setting": setting_label(setting)})  # fmt: skip
    return records


# ---------------------------------------------------------------- reporting


def by_row(records: list[dict]) -> dict[tuple[str, str], dict[str, dict]]:
    """(dataset, case) -> method -> record, rows in the order they ran."""
    rows: dict[tuple[str, str], dict[str, dict]] = {}
    for r in records:
        rows.setdefault((r["dataset"], r["case"]), {})[r["method"]] = r
    return rows


def best(row: dict[str, dict], kind: str) -> dict:
    return max((r for r in row.values() if r["kind"] == kind), key=lambda r: r["gain_db"])


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def markdown_table(header: list[str], lines: list[list[str]]) -> list[str]:
    """A Markdown table; columns of numbers right-aligned."""
    numeric = [all(is_number(cells[i]) for cells in lines) for i in range(len(header))]
    align = ["---:" if num else "---" for num in numeric]
    return ["| " + " | ".join(cells) + " |" for cells in [header, align, *lines]]


def main_table(records: list[dict], methods: list[str]) -> list[str]:
    """Gain per row and method (dB), the best peers, and the default's distance to the best fixed one."""
    fixed, has_default = list(FIXED_PEERS), "default" in methods
    header = ["dataset", "case", "SNR in", *methods, *fixed, "best fixed peer", "best tuned peer"]
    header += ["default - best fixed", "default ran"] if has_default else []
    lines = []
    for (dataset, case), row in by_row(records).items():
        bf, bt = best(row, "fixed peer"), best(row, "tuned peer")
        cells = [dataset, case, f"{bf['snr_in_db']:.2f}", *(f"{row[m]['gain_db']:+.2f}" for m in methods + fixed)]
        cells += [f"{bf['method']} {bf['gain_db']:+.2f}", f"{bt['method'][6:]} ({bt['setting']}) {bt['gain_db']:+.2f}"]
        if has_default:
            cells += [f"{row['default']['gain_db'] - bf['gain_db']:+.2f}", short_ran(row["default"]["cli_output"])]
        lines.append(cells)
    return markdown_table(header, lines)


def tuned_table(records: list[dict]) -> list[str]:
    """Each tuned peer's gain and winning setting per row."""
    names = [f"tuned {f}" for f in FAMILIES]
    lines = [[d, c, *(f"{row[n]['gain_db']:+.2f} ({row[n]['setting']})" for n in names)]
             for (d, c), row in by_row(records).items()]  # fmt: skip
    return markdown_table(["dataset", "case", *names], lines)


def summary_table(records: list[dict], methods: list[str]) -> list[str]:
    """Per method over all rows: mean gain, rows it lowers the SNR by > 0.5 dB, distances to the best
    fixed and tuned peers, total seconds."""
    rows = list(by_row(records).values())
    lines = []
    for m in methods + list(FIXED_PEERS) + [f"tuned {f}" for f in FAMILIES]:
        gains = np.array([row[m]["gain_db"] for row in rows])
        to_fixed = gains - [best(row, "fixed peer")["gain_db"] for row in rows]
        to_tuned = gains - [best(row, "tuned peer")["gain_db"] for row in rows]
        seconds = sum(row[m]["seconds"] for row in rows)
        lines.append([m, f"{gains.mean():+.2f}", f"{int(np.sum(gains < -0.5))} / {len(rows)}", f"{to_fixed.min():+.2f}",
                      f"{to_fixed.mean():+.2f}", f"{to_tuned.mean():+.2f}", f"{seconds:.1f}"])  # fmt: skip
    header = ["method", "mean gain", "rows < -0.5 dB", "worst vs best fixed", "mean vs best fixed",
              "mean vs best tuned", "seconds"]  # fmt: skip
    return markdown_table(header, lines)


def default_summary(records: list[dict]) -> list[str]:
    """The three sentences on the default: worst row against the best fixed peer, rows where it
    lowers the SNR by more than 0.5 dB, mean distance to the best tuned peer."""
    rows = by_row(records)
    dist = {k: row["default"]["gain_db"] - best(row, "fixed peer")["gain_db"] for k, row in rows.items()}
    (d, c), worst = min(dist.items(), key=lambda kv: kv[1])
    bf = best(rows[(d, c)], "fixed peer")
    losing = [
        f"{k[0]} {k[1]} ({row['default']['gain_db']:+.2f})"
        for k, row in rows.items()
        if row["default"]["gain_db"] < -0.5
    ]
    to_tuned = [row["default"]["gain_db"] - best(row, "tuned peer")["gain_db"] for row in rows.values()]
    worst_line = (
        f"- Default, worst row against the best fixed peer: {d} {c}, {rows[(d, c)]['default']['gain_db']:+.2f} dB "
        f"against {bf['method']} {bf['gain_db']:+.2f} dB ({worst:+.2f} dB)."
    )
    losing_line = f"- Default lowers the SNR by more than 0.5 dB on {len(losing)} of {len(rows)} rows"
    tuned_line = (
        f"- Default, mean distance to the best tuned peer: {np.mean(to_tuned):+.2f} dB "
        f"(from {min(to_tuned):+.2f} to {max(to_tuned):+.2f})."
    )
    return [worst_line, losing_line + (f": {', '.join(losing)}." if losing else "."), tuned_line]


def report(records: list[dict], methods: list[str], header: list[str]) -> str:
    parts = [*header, "", "Gain in dB (mean over series of SNR out - SNR in); SNR in: mean over series.", "",
             *main_table(records, methods), "", "Peers tuned with the clean signal (gain, winning setting):", "",
             *tuned_table(records), "", "Over all rows (seconds: total wall time):", "",
             *summary_table(records, methods)]  # fmt: skip
    if "default" in methods:
        parts += ["", *default_summary(records)]
    return "\n".join(parts) + "\n"


def write_csv(path: Path, records: list[dict]) -> None:
    fields = ["dataset", "case", "kind", "method", "gain_db", "snr_in_db", "seconds", "setting", "n_series", "length",
              "cli_output"]  # fmt: skip
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        w.writeheader()
        for r in records:
            w.writerow({**r, **{k: f"{r[k]:.4f}" for k in ("gain_db", "snr_in_db", "seconds")}})


# ---------------------------------------------------------------- command line


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Denoisers on real UCR recordings (see the module docstring).")
    p.add_argument(
        "--quick", action="store_true", help=f"skip {', '.join(sorted(SLOW_METHODS))}; {QUICK_SERIES} series a dataset"
    )
    p.add_argument(
        "--series", type=int, help=f"recordings per dataset (default {SERIES}; BasicMotions: cases, 6 series each)"
    )
    p.add_argument(
        "--methods", nargs="+", metavar="NAME", help=f"sigdenoise methods to run, by name: {', '.join(METHODS)}"
    )
    p.add_argument(
        "--add",
        action="append",
        default=[],
        metavar="NAME=FLAGS",
        help='one more sigdenoise method, e.g. --add "auto=--method auto" (repeatable)',
    )
    p.add_argument("--out", type=Path, default=ROOT / "results", help="folder for real_signals.md and .csv")
    args = p.parse_args(argv)
    if args.series is not None and args.series < 1:
        p.error("--series must be at least 1")
    args.method_flags = select_methods(args, p)
    return args


def select_methods(args: argparse.Namespace, p: argparse.ArgumentParser) -> dict[str, list[str]]:
    """METHODS plus --add's, narrowed by --methods (which may name a slow one under --quick)."""
    methods = dict(METHODS)
    for spec in args.add:
        name, sep, flags = spec.partition("=")
        if not sep or not name.strip():
            p.error(f"--add wants NAME=FLAGS, got {spec!r}")
        methods[name.strip()] = shlex.split(flags)
    if args.methods:
        unknown = [m for m in args.methods if m not in methods]
        if unknown:
            p.error(f"unknown method(s) {', '.join(map(repr, unknown))}; choose from {', '.join(map(repr, methods))}")
        return {m: methods[m] for m in args.methods}
    added = {spec.partition("=")[0].strip() for spec in args.add}
    return {m: f for m, f in methods.items() if not (args.quick and m in SLOW_METHODS and m not in added)}


def source_line() -> str:
    """The sigdenoise the CLI ran: its git commit, and whether sigdenoise/ had uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], check=False, cwd=ROOT, capture_output=True, text=True).stdout.strip()

    try:
        commit, dirty = git("rev-parse", "--short", "HEAD"), git("status", "--porcelain", "--", "../sigdenoise")
    except OSError:  # no git
        return "sigdenoise: version control unknown."
    return f"sigdenoise: git {commit or 'unknown'}{' + uncommitted changes in sigdenoise/' if dirty else ''}."


def machine_line() -> str:
    torch = sys.modules.get("torch")
    threads = f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    threads += f", torch threads {torch.get_num_threads()}" if torch else ""
    return (f"Machine: {platform.machine()} {os.cpu_count()} cores, {platform.platform()}, "
            f"Python {platform.python_version()}, {threads}.")  # fmt: skip


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    n = args.series or (QUICK_SERIES if args.quick else SERIES)
    t_start = time.perf_counter()
    data, subsets = {}, []
    for name in DATASETS:
        data[name], line = load_series(name, n)
        subsets.append(f"- {line}")
        print(line, file=sys.stderr)
    rows = [(d, c) for d in DATASETS for c in WHITE_CASES + ((STRUCTURED_CASE,) if d == STRUCTURED_DATASET else ())]
    records: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for dataset, case in rows:
            recs, seconds = timed(evaluate_row, dataset, case, data[dataset], args.method_flags, Path(tmp))
            records += recs
            print(f"{dataset} {case.label}: {seconds:.1f} s", file=sys.stderr, flush=True)
    total = time.perf_counter() - t_start
    header = ["# Denoisers on real recordings (UCR, shipped with sktime)", "",
              f"Command: `{shlex.join(['python', 'benchmarks/real_signals.py', *argv])}`",
              f"Date: {datetime.datetime.now().isoformat(timespec='seconds')}; total {total:.0f} s.",
              machine_line(), source_line(), "",
              "Series (the clean truth):", *subsets]  # fmt: skip
    text = report(records, list(args.method_flags), header)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "real_signals.md").write_text(text)
    write_csv(args.out / "real_signals.csv", records)
    print(f"wrote {args.out / 'real_signals.md'} and {args.out / 'real_signals.csv'}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
