"""`Denoiser`: sigdenoise as a scikit-learn transformer, so that clone, Pipeline and GridSearchCV work.

Each row of X (n_signals, n_samples) is one signal, as in scikit-learn each row is one sample.
`fit` learns what the method learns from X (an SVD or autoencoder of X's windows, or loads a model
file; auto and the classical kinds learn nothing: they choose per transform); `transform` returns
the denoised rows. `score(X)` is the mean estimated output SNR in dB (Stein's unbiased risk
estimate, no clean signal needed), so GridSearchCV can choose settings blindly; `score(X, y)`, with
the clean signals y, is the true mean SNR.

The fitted state is plain data (arrays, a torch module, metadata), so a fitted Denoiser pickles;
`build_plan` turns it into the pipeline's Plan (recordings/pipeline.py) on each call.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from sigdenoise.device import one_blas_thread
from sigdenoise.errors import SettingsError
from sigdenoise.recordings import prefilter
from sigdenoise.recordings.settings import AUTO_METHODS

__all__ = ["Denoiser"]


@one_blas_thread()
def fitted_state(method: str, model, rows: list[np.ndarray], hop: int = 50, epochs: int = 100, seed: int = 0,
                 device: str = "cpu") -> dict:  # fmt: skip
    """What `method` learns from the signals rows (1-D arrays), as plain data: {"method": ...}
    plus the SVD basis, the fitted or loaded autoencoder and its window scaling (on one BLAS
    thread, as the command fits: device.one_blas_thread)."""
    from sigdenoise.recordings import pipeline, windows
    from sigdenoise.train.reference import UNIT_SCALE

    if method in AUTO_METHODS:
        return {"method": method}
    if model is not None:
        from sigdenoise.models import bundle

        net, meta = bundle.load(Path(model), device)
        scale = meta.get("scale") if meta.get("scaled_windows", False) else None
        return {"method": "model", "net": net, "width": int(meta["n_samples"]), "hop": hop, "scale": scale,
                "label": f"{Path(model).name}: ae {meta['activation']} latent {meta['latent']}"}  # fmt: skip
    got = pipeline.sample_windows(rows, windows.WINDOW)
    n = sum(len(w) for w in got)
    if n < pipeline.MIN_FIT_WINDOWS:
        raise SettingsError("method", f"{method} fits on the signals' own {windows.WINDOW}-sample windows; they hold "
                                      f"{n}, fewer than {pipeline.MIN_FIT_WINDOWS} (use 'auto' or 'dae')")  # fmt: skip
    raw, scale = np.concatenate(got), UNIT_SCALE
    label = f"{method} fitted on {len(raw)} windows"
    if method == "svd":
        proj = pipeline.fit_svd(raw, scale)
        return {"method": "svd", "basis": proj.basis_, "width": raw.shape[1], "hop": hop, "scale": scale,
                "label": f"svd rank {proj.rank} fitted on {len(raw)} windows"}  # fmt: skip
    net = pipeline.fit_ae(raw, scale, epochs=epochs, seed=seed, device=device)
    return {"method": "model", "net": net, "width": raw.shape[1], "hop": hop, "scale": scale, "label": label}


def build_plan(state: dict, remove_lines: bool = False, detrend: bool = False, fs: float | None = None,
               notch: float | None = None, highpass: float | None = None):  # fmt: skip
    """The pipeline Plan of a fitted state (see fitted_state), with the blind line and drift
    removal and the pre-filters of a known rate (applied by the plan, as the command's)."""
    from sigdenoise.models.bundle import model_fn
    from sigdenoise.recordings import pipeline

    kind = state["method"]
    if kind in AUTO_METHODS:
        plan = pipeline.auto_plan(kind)
    elif kind == "svd":
        basis = state["basis"]
        plan = pipeline.Plan(lambda z: (z @ basis) @ basis.T, state["width"], state["hop"], state["scale"], state["label"])
    else:
        plan = pipeline.Plan(model_fn(state["net"]), state["width"], state["hop"], state["scale"], state["label"], torch=True)
    plan.notch, plan.detrend = remove_lines, detrend
    plan.fs, plan.notch_hz, plan.highpass = fs, notch, highpass
    return plan


class Denoiser(TransformerMixin, BaseEstimator):
    """Denoise each row of X; the parameters are `sigdenoise.denoise`'s (see there).

    Fitted attributes: n_features_in_, state_ (what fit learned, plain data)."""

    def __init__(self, method: str = "auto", fs: float | None = None, notch: float | None = None,
                 highpass: float | None = None, remove_lines: bool = False, detrend: bool = False,
                 model: str | None = None, hop: int = 50, epochs: int = 100, seed: int = 0):  # fmt: skip
        self.method = method
        self.fs = fs
        self.notch = notch
        self.highpass = highpass
        self.remove_lines = remove_lines
        self.detrend = detrend
        self.model = model
        self.hop = hop
        self.epochs = epochs
        self.seed = seed

    def fit(self, X, y=None):
        """Learn what the method learns from the rows of X (n_signals, n_samples); returns self."""
        from sigdenoise.api import check_method, check_plan

        check_method(self.method, self.model, self.hop, self.epochs)
        prefilter.check(self.fs, self.notch, self.highpass, prefix="")
        X = validate_data(self, X, dtype=np.float64)
        self.state_ = fitted_state(self.method, self.model, list(X), self.hop, self.epochs, self.seed)
        check_plan(self._plan(), self.hop)
        return self

    def _plan(self):
        return build_plan(self.state_, self.remove_lines, self.detrend, self.fs, self.notch, self.highpass)

    def _run(self, X) -> tuple[np.ndarray, list]:
        from sigdenoise.api import check_output, run

        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        out, verdicts = run(list(X), self._plan())
        check_output(out)
        return np.stack(out), verdicts

    def transform(self, X) -> np.ndarray:
        """The denoised rows of X (n_signals, n_samples), float64."""
        return self._run(X)[0]

    def score(self, X, y=None) -> float:
        """The mean SNR of the denoised rows in dB: against the clean rows y when given, else the
        estimated one (SURE), which needs no clean signal. Noiseless rows (unbounded) are skipped."""
        out, verdicts = self._run(X)
        if y is not None:
            y = np.asarray(y, dtype=float)
            if y.shape != out.shape:
                raise SettingsError("y", f"must be the clean signals, shaped like X {out.shape}, got {y.shape}")
            err = np.sum((out - y) ** 2, axis=-1)
            return float(np.mean(10 * np.log10(np.sum(y * y, axis=-1) / np.maximum(err, np.finfo(float).tiny))))
        snr = np.array([v.snr_out_db for v in verdicts])
        finite = snr[np.isfinite(snr)]
        return float(np.mean(finite)) if finite.size else float("inf")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        return tags
