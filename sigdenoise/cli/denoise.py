"""`sigdenoise denoise`: the options are DenoiseSettings' fields (defaults and help read off them);
which denoiser to take is pipeline.choose's policy. Every bad input ends in one line on stderr
naming the file (and line and column) or the option at fault, exit code 2, and no output file."""

from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer

from sigdenoise.auto.summary import one_line, structure_note
from sigdenoise.cli.common import (
    CLUSTER,
    BackendOpt,
    CpusOpt,
    DeviceOpt,
    GpusOpt,
    HeaderOpt,
    IdOpt,
    LayoutOpt,
    Options,
    RayAddressOpt,
    as_fields,
    cluster,
    count,
    err,
    fail,
    interrupted,
    one_line_errors,
    reading_progress,
)
from sigdenoise.cli.denoise_inputs import long_npy, planned, recording
from sigdenoise.cli.denoise_many import WHERE, denoise_many
from sigdenoise.models.activations import Activation
from sigdenoise.recordings.settings import METHODS, PLOT_SIGNALS, DenoiseSettings

D = Options(DenoiseSettings)
NOT_SHOWN = {"show_default": False}  # the help says the default


Method = Enum("Method", {m: m for m in METHODS}, type=str)


def denoise(
    input: Annotated[list[Path], D.argument("input", **NOT_SHOWN)],
    out: Annotated[Optional[Path], D("out", "--out", "-o", **NOT_SHOWN)] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out-dir", "-O", help=(
        "Folder for the outputs of several inputs, each under its input's name (made if missing)."),
        show_default=False)] = None,
    layout: LayoutOpt = D.default("layout"),
    header: HeaderOpt = D.default("header"),
    delimiter: Annotated[Optional[str], D("delimiter", **NOT_SHOWN)] = D.default("delimiter"),
    decimal: Annotated[Optional[str], D("decimal", **NOT_SHOWN)] = D.default("decimal"),
    id_col: IdOpt = None,
    model: Annotated[Optional[Path], D("model", **NOT_SHOWN)] = D.default("model"),
    method: Annotated[Optional[Method], D("method", **NOT_SHOWN)] = D.default("method"),
    fit: Annotated[Optional[bool], D("fit", "--fit/--no-fit", **NOT_SHOWN)] = D.default("fit"),
    rank: Annotated[Optional[int], D("rank", **NOT_SHOWN)] = D.default("rank"),
    hop: Annotated[int, D("hop")] = D.default("hop"),
    scale: Annotated[Optional[bool], D("scale", "--scale/--no-scale", **NOT_SHOWN)] = D.default("scale"),
    fs: Annotated[Optional[float], D("fs", **NOT_SHOWN)] = D.default("fs"),
    notch: Annotated[Optional[float], D("notch", **NOT_SHOWN)] = D.default("notch"),
    highpass: Annotated[Optional[float], D("highpass", **NOT_SHOWN)] = D.default("highpass"),
    remove_lines: Annotated[bool, D("remove_lines", "--remove-lines")] = D.default("remove_lines"),
    detrend: Annotated[bool, D("detrend", "--detrend")] = D.default("detrend"),
    activation: Annotated[Activation, D("activation")] = D.default("activation"),
    latent: Annotated[int, D("latent")] = D.default("latent"),
    epochs: Annotated[int, D("epochs")] = D.default("epochs"),
    digits: Annotated[int, D("digits")] = D.default("digits"),
    plot: Annotated[Optional[Path], D("plot", **NOT_SHOWN)] = D.default("plot"),
    seed: Annotated[int, D("seed")] = D.default("seed"),
    device: DeviceOpt = D.default("device"),
    jobs: Annotated[int, typer.Option(help="Inputs denoised at once (processes of this machine), with -O.",
                                      rich_help_panel=CLUSTER)] = 1,  # fmt: skip
    backend: BackendOpt = "local",
    ray_address: RayAddressOpt = None,
    cpus_per_task: CpusOpt = 1.0,
    gpus_per_task: GpusOpt = 0.0,
) -> None:
    """Denoise your own signals, of any length; writes the same shape back.

    Several inputs go to -O DIR, each under its own name; a file that fails is named and the
    others go on (exit 2 at the end). `-` reads CSV from stdin; `-o -` writes CSV to stdout (the
    summary still goes to stderr; no report file)."""
    options = {k: v for k, v in locals().items() if k not in WHERE}  # first, so that it holds the options only
    with one_line_errors():
        where = cluster(backend, ray_address, cpus_per_task, gpus_per_task, jobs)
    pairs = _targets(input, out, out_dir)
    if len(pairs) > 1 and plot is not None:
        raise fail("--plot: draws one input's signals; with several inputs, run the one to draw alone")
    if out_dir is None:
        if where.distributed or jobs > 1:
            raise fail("--backend/--jobs: run several inputs at once; give them with -O DIR")
        _one(*pairs[0], options)
        return
    failed = denoise_many(pairs, options, where)
    if failed:
        raise fail(f"{len(failed)} of {len(pairs)} inputs failed ({', '.join(failed)}); the others were written")


def _targets(inputs: list[Path], out: Path | None, out_dir: Path | None) -> list[tuple[Path, Path]]:
    """(input, output) pairs: one input to -o, or each input to -O DIR under its own name."""
    if out_dir is None:
        if out is None:
            raise fail("--out: missing: give -o FILE (or -O DIR for several inputs)")
        if len(inputs) > 1:
            raise fail(f"--out: names one file; {len(inputs)} inputs need -O DIR")
        return [(inputs[0], out)]
    if out is not None:
        raise fail("--out-dir: writes each input under its own name; it cannot be combined with -o")
    names = [p.name for p in inputs]
    if "-" in names:
        raise fail("--out-dir: stdin (-) has no name to write under; use -o")
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise fail(f"--out-dir: two inputs are named {dup}; their outputs would collide")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise fail(f"--out-dir: {out_dir}: cannot make it ({e.strerror})") from None
    return [(p, out_dir / p.name) for p in inputs]


def _one(inp: Path, out: Path, options: dict) -> None:
    """Denoise one input into out; `-` for stdin or stdout goes through a temporary CSV file."""
    if str(inp) != "-" and str(out) != "-":
        _run(inp, out, options)
        return
    import shutil
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="sigdenoise-") as tmp:
        if str(inp) == "-":
            inp = Path(tmp) / "stdin.csv"
            with open(inp, "wb") as f:
                shutil.copyfileobj(sys.stdin.buffer, f)
        to_stdout = str(out) == "-"
        if to_stdout:
            out = Path(tmp) / "stdout.csv"
        _run(inp, out, options, to_stdout)
        if to_stdout:
            with open(out, "rb") as f:
                shutil.copyfileobj(f, sys.stdout.buffer)
            sys.stdout.buffer.flush()


def _run(inp: Path, out: Path, options: dict, to_stdout: bool = False) -> None:
    from sigdenoise.device import one_blas_thread, resolve
    from sigdenoise.recordings import formats, npystream, pipeline
    from sigdenoise.recordings.read import open_signals
    from sigdenoise.recordings.report import write_report

    options = {**options, "input": inp, "out": out}
    with one_line_errors(), interrupted("nothing was written"), one_blas_thread():
        s = DenoiseSettings(**as_fields(options, {"id_col": "id_cols"}))
        t0 = time.perf_counter()
        pipeline.check_outputs(s)  # now, not after minutes of fitting
        dev = s.device if s.auto else resolve(s.device)  # auto's candidates run on the CPU, without torch
        if npystream.is_long(s.input, s.layout, s.id_cols) and s.out.suffix.lower() == ".npy":
            plan, lengths = long_npy(s, dev)
            summary = write_report(s, plan, lengths, options)
            _said(s, plan, len(lengths), sum(lengths), time.perf_counter() - t0, summary, to_stdout=to_stdout)
            return
        if formats.format_of(s.input) is not None:
            plan, lengths, used = recording(s, dev)
            summary = write_report(s, plan, lengths, options)
            _said(used, plan, len(lengths), sum(lengths), time.perf_counter() - t0, summary, "channel", to_stdout)
            return
        src = open_signals(s.input, s.layout, s.header, s.id_cols, delimiter=s.delimiter, decimal=s.decimal)
        for j in src.time_cols:
            err.print(f"time column {src.names[j]} kept as it is (a time axis, not a signal)", markup=False)
        raw, n_sources, chunks = pipeline.input_windows(s, src.chunks())
        choice = pipeline.choose(s, len(raw), n_sources)
        plan = planned(s, choice, raw, dev)
        n_signals, n_samples, lengths = _write(s, src, chunks, plan)
        summary = write_report(s, plan, lengths, options)
    _said(s, plan, n_signals, n_samples, time.perf_counter() - t0, summary, to_stdout=to_stdout)


def _said(s: DenoiseSettings, plan, n_signals: int, n_samples: int, dt: float, summary: dict, noun="signal",
          to_stdout: bool = False) -> None:  # fmt: skip
    """The run's closing lines on stderr: what was denoised with what, and how well (with -o -,
    'stdout' and no report: its temporary file is not kept)."""
    from sigdenoise.recordings.report import report_path

    rate = n_signals / max(dt, 1e-9)
    shown = f"{rate:.1f}" if rate < 10 else f"{rate:,.0f}"  # not "(1 signals/s)" for 0.6
    err.print(f"Denoised {count(n_signals, noun)} ({count(n_samples, 'sample')}) with {plan.label} in {dt:.1f} s "
              f"({shown} {noun}s/s) -> {'stdout' if to_stdout else s.out}", markup=False)  # fmt: skip
    report = "none with -o -" if to_stdout else report_path(s.out)
    err.print(f"{one_line(summary)}; report: {report}", markup=False)
    if (s.notch is not None or s.highpass is not None) and s.fs is not None:
        done = ([f"notch {s.notch:g} Hz"] if s.notch is not None else []) + (
            [f"high-pass {s.highpass:g} Hz"] if s.highpass is not None else [])
        err.print(f"pre-filtered at {s.fs:g} Hz: {', '.join(done)}", markup=False)
    if getattr(plan, "outside", 0):
        c, h = plan.trained_on["center"], plan.trained_on["half_range"]
        err.print(f"warning: {count(plan.outside, noun)} of {n_signals:,} lie outside what the model was trained on "
                  f"(signals within {c - h:.3g} … {c + h:.3g}): its output there may be poor; --scale maps each window "
                  "into that range", markup=False)  # fmt: skip
    note = structure_note(summary, s.remove_lines, s.detrend)
    if note:
        err.print(note, markup=False)


def _signal_name(src, chunk, k: int) -> str:
    """A signal's label in --plot: its header name (columns layout), else 'line 3' / 'column 2'."""
    if chunk.unit == "column" and src.names and chunk.lines[k] - 1 < len(src.names):
        return src.names[chunk.lines[k] - 1]
    return f"{chunk.unit} {chunk.lines[k]}"


def _time_axis(src) -> tuple[str, np.ndarray] | None:
    """The file's time column (name, values) for --plot's x axis, if it has one that reads as numbers."""
    if not getattr(src, "time_cols", None) or not src.column_ids:
        return None
    j = src.id_cols.index(src.time_cols[0])
    try:
        return src.names[src.time_cols[0]], np.array([float(src.dialect.number_text(r[j])) for r in src.column_ids])
    except ValueError:  # a date or clock time: sample numbers instead
        return None


def _write(s: DenoiseSettings, src, chunks, plan) -> tuple[int, int, list[int]]:
    """Denoise the chunks into s.out (and the first signals into s.plot); the signals and samples
    written, and each signal's length."""
    from sigdenoise.errors import SignalIOError
    from sigdenoise.recordings import pipeline
    from sigdenoise.recordings.write import Writer

    shown: list[tuple] = []
    n_signals = n_samples = 0
    lengths: list[int] = []
    with Writer(s.out, src, s.digits) as w, reading_progress(src.size) as bar:
        for chunk, y in pipeline.stream(chunks, plan, s.input):
            w.write(chunk, y)
            bar.update(0, completed=src.read)
            n_signals += len(chunk)
            lengths += [len(v) for v in y]
            n_samples = sum(lengths)
            for k in range(min(len(chunk), PLOT_SIGNALS - len(shown))):
                shown.append((_signal_name(src, chunk, k), np.array(chunk.values[k]), np.array(y[k])))
        if n_signals == 0:
            raise SignalIOError(s.input, "no signals to denoise: every column is an id or time column")
        if s.plot is not None:  # inside: a figure that fails leaves no output either
            from sigdenoise.recordings.figure import noisy_vs_denoised

            noisy_vs_denoised(shown, s.plot, f"{s.input.name} -> {s.out.name}; {plan.label}", _time_axis(src))
    return n_signals, n_samples, lengths


