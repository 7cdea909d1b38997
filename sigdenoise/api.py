"""The Python front door: denoise arrays in one call, and the study as functions.

    >>> import numpy as np, sigdenoise
    >>> t = np.arange(2_000) / 250.0                               # 8 s at 250 Hz
    >>> x = np.sin(2 * np.pi * 1.5 * t) + 0.3 * np.random.default_rng(0).standard_normal(t.size)
    >>> y, summary = sigdenoise.denoise(x, fs=250, return_summary=True)
    >>> y.shape, y.dtype
    ((2000,), dtype('float64'))

`denoise` takes a 1-D signal, an array whose last axis is time (channels, samples) or (..., samples),
or a list of 1-D signals of any lengths, and returns the same shape and dtype. The methods are the
command line's (`sigdenoise denoise --method`): auto (the default: per group of signals of one
length, the candidate of least estimated error, Stein's unbiased risk estimate), one kind of
candidate (savgol, wiener, wavelet, tv), the packaged denoising autoencoder (dae), none, or a
window model: svd and ae fitted on the input's own windows, or a trained model file (`model=`).
Errors are typed (sigdenoise.errors, each also a ValueError); nothing is printed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from sigdenoise.auto import summary as auto_summary
from sigdenoise.device import one_blas_thread
from sigdenoise.errors import SettingsError, require
from sigdenoise.recordings import prefilter
from sigdenoise.recordings.settings import METHODS

__all__ = ["denoise", "load_model", "save_model", "run_grid", "build_report"]


def as_signals(x) -> tuple[list[np.ndarray], callable]:
    """The signals of x as a list of 1-D float64 arrays, and a function that puts denoised signals
    back into x's shape and dtype (integers rounded and clipped to their range, float32 kept)."""
    if isinstance(x, (list, tuple)) and x and all(np.ndim(v) == 1 for v in x):
        rows = [_floats(v, f"signal {i}") for i, v in enumerate(x)]
        kinds = [np.asarray(v).dtype for v in x]
        return rows, lambda ys: [_cast(y, k) for y, k in zip(ys, kinds)]
    a = np.asarray(x)
    require(a.ndim >= 1 and a.size > 0, "x", f"needs at least one sample on its last axis (time), got shape {a.shape}")
    flat = _floats(a, "x").reshape(-1, a.shape[-1])
    return list(flat), lambda ys: _cast(np.stack(ys).reshape(a.shape), a.dtype)


def _floats(v, name: str) -> np.ndarray:
    a = np.asarray(v)
    require(a.dtype.kind in "fiu", name, f"must hold real numbers, got dtype {a.dtype}")
    a = a.astype(float)
    if not np.isfinite(a).all():
        bad = np.flatnonzero(~np.isfinite(a.reshape(-1)))[0]
        raise SettingsError(name, f"holds {a.reshape(-1)[bad]} at flat index {bad}; every sample must be finite")
    return a


def _cast(y: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.rint(y), info.min, info.max).astype(dtype)
    return y.astype(dtype if dtype.kind == "f" else float, copy=False)


def check_method(method: str, model, hop: int = 50, epochs: int = 100) -> None:
    """The settings a library call can get wrong, as the command line checks them (named as the
    keywords are)."""
    require(method in METHODS, "method", f"must be one of {', '.join(METHODS)}, got {method!r}")
    require(model is None or method == "ae", "model", f"is a trained autoencoder; method must be 'ae', got {method!r}")
    require(isinstance(hop, (int, np.integer)) and hop >= 1, "hop", f"must be a whole number of samples >= 1, got {hop!r}")
    require(isinstance(epochs, (int, np.integer)) and epochs >= 1, "epochs", f"must be at least 1, got {epochs!r}")


def check_plan(plan, hop: int) -> None:
    """A window model's hop must not pass its window (overlap-add would leave gaps: NaN)."""
    if plan.whole is None:
        require(hop <= plan.width, "hop", f"must be between 1 and the window ({plan.width} samples), got {hop}")


def check_output(out: list[np.ndarray]) -> None:
    """No result with a NaN or inf goes back to the caller."""
    for i, y in enumerate(out):
        bad = np.flatnonzero(~np.isfinite(y))
        if bad.size:
            raise SettingsError("x", f"denoising signal {i} gave {y[bad[0]]} at sample {bad[0]}")


def denoise(x, fs: float | None = None, method: str = "auto", *, model: str | Path | None = None,
            notch: float | None = None, highpass: float | None = None, remove_lines: bool = False,
            detrend: bool = False, hop: int = 50, epochs: int = 100, seed: int = 0, device: str = "cpu",
            return_summary: bool = False):  # fmt: skip
    """Denoise x: a 1-D signal, an array (..., samples), or a list of 1-D signals of any lengths.

    fs: sampling rate in Hz, needed by notch (a mains frequency, 50 or 60, removed by scipy's
    iirnotch forward and backward) and highpass (a cutoff in Hz below which drift is removed: a
    4th-order Butterworth, sosfiltfilt). remove_lines, detrend: the blind versions, no rate needed
    (auto/noise.py). method: see the module docstring; model: a trained model file (method 'ae').
    hop, epochs: the window models' hop and the fitted autoencoder's epochs. seed: the error
    estimate's probes and the fitted autoencoder's initialisation.

    Returns y, shaped and typed as x; with return_summary, (y, summary): the estimated noise,
    input and output SNR and gain, per signal and in total (auto/summary.py)."""
    from sigdenoise.estimators import build_plan, fitted_state

    check_method(method, model, hop, epochs)
    prefilter.check(fs, notch, highpass, prefix="")
    rows, restore = as_signals(x)
    # A fit sees the windows the command's fit sees: the input as it is (the plan pre-filters, as
    # the command's does, block by block for a long signal).
    state = fitted_state(method, model, rows, hop=hop, epochs=epochs, seed=seed, device=device)
    plan = build_plan(state, remove_lines, detrend, fs, notch, highpass)
    check_plan(plan, hop)
    out, verdicts = run(rows, plan)
    check_output(out)
    y = restore(out)
    if not return_summary:
        return y
    s = auto_summary.summarize(verdicts, [len(r) for r in rows])
    s["settings"] = {"fs": fs, "method": method, "model": None if model is None else str(model), "notch": notch,
                     "highpass": highpass, "remove_lines": remove_lines, "detrend": detrend, "seed": seed}  # fmt: skip
    return y, s


@one_blas_thread()
def run(rows: list[np.ndarray], plan) -> tuple[list[np.ndarray], list]:
    """Each signal of rows denoised by plan (recordings/pipeline.Plan), grouped by length (auto
    chooses one candidate per group): the outputs and Verdicts in the rows' order, on one BLAS
    thread as the command computes (device.one_blas_thread)."""
    for n in dict.fromkeys(len(r) for r in rows):
        require(n >= plan.width, "x", f"a signal of {n} samples is shorter than the model's {plan.width}-sample window")
    plan = replace(plan, verdicts=[], tally=auto_summary.Tally())  # this call's own, not the caller's plan's
    return plan.run_ragged(rows), plan.verdicts


def load_model(path: str | Path, device: str = "cpu"):
    """A trained autoencoder file (`sigdenoise train`, a grid run's models/): (model, metadata).
    BundleError naming the file when it cannot be used."""
    from sigdenoise.models import bundle

    return bundle.load(Path(path), device)


def save_model(model, path: str | Path, meta: dict | None = None) -> None:
    """Write an autoencoder and its metadata (safetensors, never a pickle) atomically."""
    from sigdenoise.models import bundle

    bundle.save(Path(path), model, dict(meta or {}))


def run_grid(settings=None, out: str | Path | None = None, device: str | None = None):
    """The study's grid (study/settings.GridSettings; its defaults when None) trained into run
    folder `out` (resumed when it exists; default runs/<date-time>); returns results.csv's table."""
    from sigdenoise.device import resolve
    from sigdenoise.study import grid, resume
    from sigdenoise.study.runfolder import RunFolder, default_out, locked
    from sigdenoise.study.settings import GridSettings

    settings = settings or GridSettings()
    folder = RunFolder(Path(out) if out is not None else default_out())
    resume.check_grid_folder(folder, settings)
    with locked(folder.root):
        results = grid.run(settings, folder, resolve(device or settings.device))
        grid.write_outputs(results, folder, settings)
    return results


def build_report(settings=None, out: str | Path = "runs/report-out", cache: str | Path = "runs/report",
                 device: str = "auto") -> Path:  # fmt: skip
    """The report (study/settings.ReportSettings; its defaults when None) written into `out`
    (REPORT.md, figures, tables), its grids trained into or resumed from `cache`; returns REPORT.md."""
    from sigdenoise.device import resolve
    from sigdenoise.study import report, resume
    from sigdenoise.study.settings import ReportSettings

    settings = settings or ReportSettings()
    dev = resolve(device)
    resume.check_report_folders(Path(out), Path(cache), settings.grids(dev.type))
    report.build(settings, Path(out), Path(cache), dev)
    return Path(out) / "REPORT.md"

