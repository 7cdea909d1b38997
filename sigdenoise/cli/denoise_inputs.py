"""The inputs `denoise` does not read as a stream of CSV or .npy chunks: recordings (WAV, EDF,
WFDB, Parquet, HDF5: recordings/formats/) and .npy files of signals too long to hold
(recordings/npystream.py); and the progress a fit on the input's windows shows, which every path
shares. Called by cli/denoise.py, which prints the closing lines."""

from __future__ import annotations

import numpy as np

from sigdenoise.cli.common import count, err, reading_progress, training_progress
from sigdenoise.recordings.settings import PLOT_SIGNALS, DenoiseSettings


def planned(s: DenoiseSettings, choice, raw, dev):
    """make_plan, after the choice's notes (before any fitting), with a progress bar (or log lines)
    while an autoencoder fits on the windows."""
    from sigdenoise.recordings import pipeline

    for note in choice.notes:
        err.print(note.text, style="dim" if note.dim else None, markup=False)
    if not (choice.fit and choice.method == "ae"):
        return pipeline.make_plan(s, choice, raw, dev)
    with training_progress() as bar:
        task = bar.add_task(f"fitting ae on {count(len(raw), 'window')}", total=s.epochs, info="")
        return pipeline.make_plan(s, choice, raw, dev,
                                  lambda e, losses: bar.update(task, advance=1, info=f"loss {float(losses[0]):.5f}"))  # fmt: skip


def long_npy(s: DenoiseSettings, dev) -> tuple[object, list[int]]:
    """A .npy of signals longer than longsig.LONG, streamed block by block (recordings/npystream.py):
    memory bounded by the block, not the file. A fit takes its windows from the first block."""
    from sigdenoise.errors import SettingsError
    from sigdenoise.recordings import longsig, npystream, pipeline, windows

    if s.plot is not None:
        raise SettingsError("--plot", f"draws whole signals; {s.input.name} holds signals of more than "
                                      f"{longsig.LONG:,} samples, which are streamed in blocks")  # fmt: skip
    lay = npystream.layout(s.input)
    raw = np.empty((0, windows.WINDOW))
    if s.fits:
        with open(s.input, "rb") as f:
            first = npystream.reader(f, lay, s.input)(0, min(lay.length, longsig.LONG))
        raw = np.concatenate(pipeline.sample_windows(list(first), windows.WINDOW))
    choice = pipeline.choose(s, len(raw), lay.rows)
    plan = planned(s, choice, raw, dev)
    size = s.input.stat().st_size
    with reading_progress(size) as bar:
        lengths = npystream.denoise_npy(s.input, s.out, plan.run_long, lambda done: bar.update(0, completed=done))
    return plan, lengths


def recording(s: DenoiseSettings, dev) -> tuple[object, list[int], DenoiseSettings]:
    """Denoise every channel of a recording (WAV, EDF, WFDB, Parquet, HDF5: recordings/formats/)
    into s.out in its format, channels, rate and dtype; the plan (with its verdicts) and each
    channel's length, and the settings used (with the file's rate). Channels of one length are one
    group (auto chooses one candidate for them)."""
    from dataclasses import replace

    from sigdenoise.errors import SignalIOError
    from sigdenoise.recordings import formats, pipeline, prefilter
    from sigdenoise.recordings.read import Chunk

    rec = formats.read_recording(s.input, s.fs)
    rows, rates = rec.rows(), rec.rates()
    for name, row in zip(rec.channels, rows):  # as CSV and .npy inputs are checked: one line, not a traceback
        bad = np.flatnonzero(~np.isfinite(row))
        if bad.size:
            raise SignalIOError(s.input, f"channel {name!r}: {row[bad[0]]} at sample {bad[0] + 1}; every value must be "
                                         "finite")  # fmt: skip
    if len(set(rates)) == 1:  # one rate: the plan's pre-filters use it
        s = replace(s, fs=rates[0])
    elif s.notch is not None or s.highpass is not None:  # channels at several rates: filtered one by one
        rows = [prefilter.apply(r, f, s.notch, s.highpass) for r, f in zip(rows, rates)]
        s = replace(s, notch=None, highpass=None)
    chunk = Chunk(rows, None, list(range(1, len(rows) + 1)), unit="channel")
    raw, n_sources, chunks = pipeline.input_windows(s, iter([chunk]))
    choice = pipeline.choose(s, len(raw), n_sources)
    plan = planned(s, choice, raw, dev)
    out = pipeline.denoise_chunk(chunk, plan, s.input)
    for name, y in zip(rec.channels, out):
        if not np.isfinite(y).all():
            raise SignalIOError(s.input, f"denoising channel {name!r} gave {y[~np.isfinite(y)][0]}; nothing was written")
    formats.write_recording(s.out, formats.widened(rec, list(out)))
    if s.plot is not None:
        from sigdenoise.recordings.figure import noisy_vs_denoised

        shown = [(name, r, y) for name, r, y in zip(rec.channels, rows, out)][:PLOT_SIGNALS]
        rate = rates[0] if len(set(rates)) == 1 and rates[0] else None
        x = ("time (s)", np.arange(max(len(r) for _, r, _ in shown)) / rate) if rate else None
        noisy_vs_denoised(shown, s.plot, f"{s.input.name} -> {s.out.name}; {plan.label}", x)
    return plan, [len(y) for y in out], s
