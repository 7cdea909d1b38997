"""The `denoise` pipeline: pick a denoiser, optionally fit it on the input's own windows, and run it
over a stream of chunks (each signal windowed, scaled, denoised and stitched by windows.py).

Denoisers (all map windows (m, W) in their scaled range to reconstructions (m, W)):
- a trained autoencoder from a bundle (the packaged default, or `--model PATH`);
- `svd` without fitting: the study's projector on the synthetic training set;
- `--fit svd`: an SVD of the input's own windows, its rank chosen by the Gavish–Donoho threshold;
- `--fit ae`: an autoencoder trained x -> x on the input's own windows.

Which one is `choose`'s policy (a pure function of the settings and the input's window count);
`make_plan` builds it (the Plan and its builders live in plan.py; callers take them from here).
The command prints the choice's notes in between, before any fitting.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sigdenoise.atomic import unwritable_reason
from sigdenoise.errors import OutputError, SettingsError, SignalIOError, count, require
from sigdenoise.recordings import formats, windows
from sigdenoise.recordings.plan import (  # noqa: F401  (pipeline is the front door: callers take these from it)
    Plan,
    auto_plan,
    fit_ae,
    fit_plan,
    fit_svd,
    load_plan,
    synthetic_svd_plan,
)
from sigdenoise.recordings.read import Chunk
from sigdenoise.recordings.report import is_report, report_path
from sigdenoise.recordings.settings import AUTO_METHODS, SYNTHETIC_RANK, DenoiseSettings
from sigdenoise.recordings.write import Writer, refuse_same

FIT_WINDOWS = 50_000  # at most this many of the input's windows are used to fit
# Fitting fails on a few signals one window long each: no shifted copies share their structure.
# Fitted on 10-30 sinusoids of 100 samples the SVD raised their MSE 0.09 -> 0.17-0.40 at noise
# 0.3 and 0.010 -> 0.04-0.29 at 0.1, where the packaged model gave 0.011-0.019 / 0.004-0.013. With
# two or more windows a signal (30 x 101 samples, or one recording of 150) the fit won: 0.0043
# and 0.0006 at noise 0.1 against 0.017 and 0.004 (development, 3 draws each).
MIN_FIT_WINDOWS = windows.WINDOW


def too_few_to_fit(n_windows: int, n_signals: int) -> bool:
    """Whether the input's own windows are too few to fit a denoiser on: under MIN_FIT_WINDOWS,
    and under two a signal on average (signals about one window long)."""
    return n_windows < MIN_FIT_WINDOWS and n_windows < 2 * n_signals


@dataclass(frozen=True)
class Note:
    """A line for the user, shown before the slow part (a fit); dim when it only reports progress."""

    text: str
    dim: bool = False


@dataclass(frozen=True)
class Choice:
    """The denoiser `denoise` takes: method "ae" or "svd", fitted on the input's own windows or
    not (then a trained autoencoder or the study's projector), and notes saying why, in order."""

    method: str
    fit: bool
    notes: tuple[Note, ...] = ()


def choose(s: DenoiseSettings, n_windows: int = 0, n_signals: int = 0) -> Choice:
    """Fit on the input's own windows, or take a trained denoiser.

    Fitting is the default for an SVD or an autoencoder (auto, the default method, fits nothing).
    With too few windows (too_few_to_fit) a default fit takes the packaged denoising autoencoder
    instead; a fit asked for (--fit, or an SVD: the synthetic one is worse) goes ahead with a warning.
    n_windows, n_signals: the input's windows (input_windows) and the signals they come from; read
    only when s.fits."""
    if s.auto:
        return Choice(s.chosen_method, False)
    if not s.fits:
        return Choice(s.chosen_method, False)
    what = f"{count(n_windows, 'window')} of {windows.WINDOW} samples from {count(n_signals, 'signal')}"
    few = too_few_to_fit(n_windows, n_signals)
    if few and s.fit is None and s.method_asked != "svd":
        return Choice("dae", False, (Note(f"{s.input}: only {what}, too few to fit a denoiser on; using the packaged "
                                          "denoising autoencoder instead (--fit fits anyway)"),))  # fmt: skip
    warning = Note(f"warning: fitting on only {what} may remove signal; --no-fit uses the packaged denoising autoencoder")
    fitting = Note(f"fitting {s.chosen_method} on {n_windows} windows of {s.input}", dim=True)
    return Choice(s.chosen_method, True, (warning, fitting) if few else (fitting,))


def input_windows(s: DenoiseSettings, chunks: Iterator[Chunk]) -> tuple[np.ndarray, int, Iterator[Chunk]]:
    """The input's windows to fit on (m, W), the number of signals they come from, and the chunks
    again from the start; none read when s does not fit."""
    if not s.fits:
        return np.empty((0, windows.WINDOW)), 0, chunks
    return peek_windows(chunks, windows.WINDOW, s.input)


def make_plan(s: DenoiseSettings, choice: Choice, raw: np.ndarray, device="cpu", on_epoch=None) -> Plan:
    """The chosen denoiser, fitted on raw (m, W) if the choice fits; a --hop beyond its window
    (a trained model's is known only now) is a SettingsError."""
    plan = _denoiser(s, choice, raw, device, on_epoch)
    plan.notch, plan.detrend = s.remove_lines, s.detrend
    plan.fs, plan.notch_hz, plan.highpass = s.fs, s.notch, s.highpass
    return plan


def _denoiser(s: DenoiseSettings, choice: Choice, raw: np.ndarray, device, on_epoch=None) -> Plan:
    scaled = s.scale is not False
    if choice.method in AUTO_METHODS:
        return auto_plan(choice.method, s.seed)
    if choice.fit:
        plan = fit_plan(choice.method, raw, s.hop, scaled, s.rank, s.activation, s.latent, s.epochs, s.seed, device,
                        on_epoch)  # fmt: skip
    elif choice.method == "svd":
        plan = synthetic_svd_plan(s.rank or SYNTHETIC_RANK, s.hop, scaled)
    else:
        plan = load_plan(s.model, s.hop, s.scale, device)
    require(1 <= s.hop <= plan.width, "--hop", f"must be between 1 and the window ({plan.width} samples), got {s.hop}")
    return plan


def check_outputs(s: DenoiseSettings) -> None:
    """Refuse, before any work, an output that is a file denoise reads (the input, the model) or
    the other output, or that cannot be written (a device, a pipe, a read-only folder); the
    same for the report beside it."""
    refuse_same("--out", s.out, {"the input": s.input, "--model": s.model})
    check_format(s.input, s.out)
    Writer.check(s.out)
    report = report_path(s.out)
    refuse_same("--out", report, {"the input": s.input, "--model": s.model})
    if (report.exists() or report.is_symlink()) and not is_report(report):
        raise OutputError(report, "exists and is not a sigdenoise report, which -o writes beside its output; "
                                  "move it or choose another -o")  # fmt: skip
    why = unwritable_reason(report, "a JSON report", make_parents=False)
    if why is not None:
        raise OutputError(report, why)
    if s.plot is not None:
        refuse_same("--plot", s.plot, {"the input": s.input, "--model": s.model, "-o": s.out})
        why = unwritable_reason(s.plot, "a PNG file", make_parents=False)
        if why is not None:
            raise OutputError(s.plot, why)


def check_format(inp: Path, out: Path) -> None:
    """Refuse, before any work, an output named for another format than the input's (denoise
    writes the input's format back), and a recording format whose optional extra is missing."""
    fin, fout = formats.format_of(inp), formats.format_of(out)
    if (fin and fin.name) != (fout and fout.name):
        want = f"{fin.name} ({', '.join(fin.suffixes)})" if fin else "CSV or .npy"
        got = f"{fout.name}" if fout else "not a recording format"
        raise SettingsError("--out", f"{out.name} is {got}; denoise writes the input's format, {want}")
    if fin is not None:
        formats.require_extra(fin, inp, "reading")
        formats.require_extra(fin, out, "writing")


def sample_windows(values, width: int, cap: int = FIT_WINDOWS) -> list[np.ndarray]:
    """Up to `cap` windows of the signals in values (2-D or list), evenly spread over each signal."""
    out, total = [], 0
    for x in values:
        if len(x) < width or total >= cap:
            continue
        n_all = len(x) - width + 1
        take = np.unique(np.linspace(0, n_all - 1, min(n_all, cap - total)).astype(int))
        out.append(np.lib.stride_tricks.sliding_window_view(np.asarray(x, dtype=float), width)[take])
        total += len(take)
    return out


def check_lengths(chunk: Chunk, width: int, path) -> list[int]:
    """Lengths of a chunk's signals; the first shorter than the window raises, naming its line."""
    vals = chunk.values
    lengths = [vals.shape[1]] * len(vals) if isinstance(vals, np.ndarray) else [len(v) for v in vals]
    for i, n in enumerate(lengths):
        if n < width:
            raise SignalIOError(path, f"a signal of {n} samples is shorter than the model's {width}-sample window",
                                chunk.lines[i], what=chunk.unit)  # fmt: skip
    return lengths


def peek_windows(chunks: Iterator[Chunk], width: int, path, cap=FIT_WINDOWS) -> tuple[np.ndarray, int, Iterator[Chunk]]:
    """Windows from the first chunks, up to cap (m, width), the number of signals they come from,
    and the chunks again from the start."""
    seen, got, total = [], [], 0
    for chunk in chunks:
        check_lengths(chunk, width, path)
        seen.append(chunk)
        w = sample_windows(chunk.values, width, cap - total)
        got += w
        total += sum(len(a) for a in w)
        if total >= cap:
            break
    return np.concatenate(got), len(got), itertools.chain(seen, chunks)


def denoise_chunk(chunk: Chunk, plan: Plan, path) -> np.ndarray | list[np.ndarray]:
    """Denoise every signal of a chunk; returns the same form as chunk.values."""
    vals = chunk.values
    check_lengths(chunk, plan.width, path)
    return plan.run(vals) if isinstance(vals, np.ndarray) else plan.run_ragged(vals)


def _denoise_and_fold(chunk: Chunk, plan: Plan, path) -> np.ndarray | list[np.ndarray]:
    """denoise_chunk, then the chunk's verdicts folded into plan.tally: on the one worker thread,
    so that nothing else touches plan.verdicts meanwhile."""
    out = denoise_chunk(chunk, plan, path)
    plan.fold()
    return out


@contextmanager
def _one_torch_thread(plan: Plan):
    """torch on one CPU thread while `plan` runs, if it runs torch (a model's batches are too small
    for intra-op threads to pay); a plan without torch does not import it."""
    if not plan.torch:
        yield
        return
    import torch

    from sigdenoise.train.common import cpu_threads

    with cpu_threads(1, torch.device("cpu")):
        yield


def stream(chunks: Iterator[Chunk], plan: Plan, path) -> Iterator[tuple[Chunk, np.ndarray | list[np.ndarray]]]:
    """(chunk, denoised) in order, each chunk denoised on a second thread while the caller writes
    the previous one and the next is parsed: torch and most numpy release the GIL, so on two cores
    the model's time hides behind the text work. At most two chunks are in flight."""
    with ThreadPoolExecutor(1) as pool, _one_torch_thread(plan):
        pending = None
        for chunk in chunks:
            job = pool.submit(_denoise_and_fold, chunk, plan, path)
            if pending is not None:
                yield pending[0], pending[1].result()
            pending = (chunk, job)
        if pending is not None:
            yield pending[0], pending[1].result()
