"""`sigdenoise denoise`: the options are DenoiseSettings' fields (defaults and help read off them);
which denoiser to take is pipeline.choose's policy. Every bad input ends in one line on stderr
naming the file (and line and column) or the option at fault, exit code 2, and no output file."""

from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import numpy as np

from sigdenoise.auto.summary import one_line, structure_note
from sigdenoise.cli.common import (
    DeviceOpt,
    HeaderOpt,
    IdOpt,
    LayoutOpt,
    Options,
    as_fields,
    count,
    err,
    interrupted,
    one_line_errors,
    reading_progress,
)
from sigdenoise.models.activations import Activation
from sigdenoise.recordings.settings import METHODS, PLOT_SIGNALS, DenoiseSettings

D = Options(DenoiseSettings)
NOT_SHOWN = {"show_default": False}  # the help says the default


Method = Enum("Method", {m: m for m in METHODS}, type=str)


def denoise(
    input: Annotated[Path, D.argument("input", **NOT_SHOWN)],
    out: Annotated[Path, D("out", "--out", "-o", **NOT_SHOWN)],
    layout: LayoutOpt = D.default("layout"),
    header: HeaderOpt = D.default("header"),
    id_col: IdOpt = None,
    model: Annotated[Optional[Path], D("model", **NOT_SHOWN)] = D.default("model"),
    method: Annotated[Optional[Method], D("method", **NOT_SHOWN)] = D.default("method"),
    fit: Annotated[Optional[bool], D("fit", "--fit/--no-fit", **NOT_SHOWN)] = D.default("fit"),
    rank: Annotated[Optional[int], D("rank", **NOT_SHOWN)] = D.default("rank"),
    hop: Annotated[int, D("hop")] = D.default("hop"),
    scale: Annotated[Optional[bool], D("scale", "--scale/--no-scale", **NOT_SHOWN)] = D.default("scale"),
    notch: Annotated[bool, D("notch", "--notch")] = D.default("notch"),
    detrend: Annotated[bool, D("detrend", "--detrend")] = D.default("detrend"),
    activation: Annotated[Activation, D("activation")] = D.default("activation"),
    latent: Annotated[int, D("latent")] = D.default("latent"),
    epochs: Annotated[int, D("epochs")] = D.default("epochs"),
    digits: Annotated[int, D("digits")] = D.default("digits"),
    plot: Annotated[Optional[Path], D("plot", **NOT_SHOWN)] = D.default("plot"),
    seed: Annotated[int, D("seed")] = D.default("seed"),
    device: DeviceOpt = D.default("device"),
) -> None:
    """Denoise your own signals, of any length; writes the same shape back."""
    options = locals()  # first, so that it holds the options only
    from sigdenoise.device import resolve
    from sigdenoise.recordings import pipeline
    from sigdenoise.recordings.read import open_signals
    from sigdenoise.recordings.report import report_path, write_report

    with one_line_errors(), interrupted("nothing was written"):
        s = DenoiseSettings(**as_fields(options, {"id_col": "id_cols"}))
        t0 = time.perf_counter()
        pipeline.check_outputs(s)  # now, not after minutes of fitting
        dev = resolve(s.device)
        src = open_signals(s.input, s.layout, s.header, s.id_cols)
        raw, n_sources, chunks = pipeline.input_windows(s, src.chunks())
        choice = pipeline.choose(s, len(raw), n_sources)
        for note in choice.notes:
            err.print(note.text, style="dim" if note.dim else None, markup=False)
        plan = pipeline.make_plan(s, choice, raw, dev)
        n_signals, n_samples, lengths = _write(s, src, chunks, plan)
        summary = write_report(s, plan, lengths, options)
    dt = time.perf_counter() - t0
    err.print(f"Denoised {count(n_signals, 'signal')} ({count(n_samples, 'sample')}) with {plan.label} in {dt:.1f} s "
              f"({n_signals / dt:,.0f} signals/s) -> {s.out}", markup=False)  # fmt: skip
    err.print(f"{one_line(summary)}; report: {report_path(s.out)}", markup=False)
    note = structure_note(summary, s.notch, s.detrend)
    if note:
        err.print(note, markup=False)


def _write(s: DenoiseSettings, src, chunks, plan) -> tuple[int, int, list[int]]:
    """Denoise the chunks into s.out (and the first signals into s.plot); the signals and samples
    written, and each signal's length."""
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
                shown.append((f"{chunk.unit} {chunk.lines[k]}", np.array(chunk.values[k]), np.array(y[k])))
        if s.plot is not None:  # inside: a figure that fails leaves no output either
            from sigdenoise.recordings.figure import noisy_vs_denoised

            noisy_vs_denoised(shown, s.plot, f"{s.input.name} -> {s.out.name}; {plan.label}")
    return n_signals, n_samples, lengths


