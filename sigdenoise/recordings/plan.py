"""The denoiser a run applies, as a Plan, and the ways to build one: auto's choice per group of
signals (auto/select.py), a trained autoencoder from a bundle, the study's SVD projector, or an
SVD or autoencoder fitted on the input's own windows.

A Plan denoises signals of one length (k, n): the pre-filters of a known rate first, blind lines
and drift if asked, then its denoiser; a signal longer than longsig.LONG goes in blocks, the
same calls whether it is in memory or streamed from a file. Each signal gets a Verdict.

torch, scikit-learn and the trainer are imported by the plans that use them, not here: auto's
path (the default) then starts without them, about 3 s of a small file's run on the project's
2-core VM (benchmarks/README.md, issue 15).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sigdenoise.auto import candidates, noise, select
from sigdenoise.auto.select import Verdict
from sigdenoise.auto.summary import Tally
from sigdenoise.errors import BundleError, SettingsError
from sigdenoise.recordings import longsig, prefilter, windows

if TYPE_CHECKING:
    from sigdenoise.models.svd import SVDProjector

SETTLE = 15  # time constants a pre-filter's response needs inside a block's context (Plan._check_context)


@dataclass
class Plan:
    """Everything a chunk needs: fn maps scaled windows (m, width) -> (m, width); or, for auto,
    whole maps signals of one length (k, n) to their estimates and verdicts. `verdicts` collects
    each signal's Verdict (auto/select.py), in order, as chunks are denoised."""

    fn: Callable[[np.ndarray], np.ndarray] | None
    width: int = windows.WINDOW
    hop: int = 50
    scale: dict | None = None
    label: str = ""
    whole: Callable[[np.ndarray], tuple[np.ndarray, list[Verdict]]] | None = None
    verdicts: list[Verdict] = field(default_factory=list)
    notch: bool = False
    detrend: bool = False
    fs: float | None = None
    notch_hz: float | None = None
    highpass: float | None = None
    trained_on: dict | None = None
    """An unscaled window model's training range ({center, half_range}), to warn about inputs
    that lie outside it; `outside` counts those signals."""
    outside: int = 0
    torch: bool = False
    """Whether the denoiser runs torch (pipeline.stream then holds it to one CPU thread)."""
    tally: Tally = field(default_factory=Tally)
    """The verdicts `fold` moved out of `verdicts`: a stream folds each chunk's, so that memory
    does not grow by a Verdict a signal."""

    def fold(self) -> Tally:
        """Move `verdicts` into `tally` (in order, after those folded before) and return it. Only
        between runs: run_ragged and run_long index `verdicts` while they run."""
        self.tally.add(self.verdicts)
        self.verdicts.clear()
        return self.tally

    def run(self, x: np.ndarray) -> np.ndarray:
        """Denoise signals of one length x (k, n), adding their verdicts to `verdicts` (with the
        lines and drift of the input as it came); the pre-filters of a known rate (notch_hz,
        highpass: recordings/prefilter.py) first, then blind lines and drift if asked. Signals
        longer than longsig.LONG go in blocks (run_long), as a file streams them."""
        x = np.asarray(x, dtype=float)
        if x.shape[-1] <= longsig.LONG:
            return self._run(x)
        out = np.empty_like(x)

        def emit(start: int, y: np.ndarray) -> None:
            out[:, start : start + y.shape[1]] = y

        self.run_long(x.shape[-1], lambda a, b: x[:, a:b], emit)
        return out

    def run_ragged(self, rows: list[np.ndarray]) -> list[np.ndarray]:
        """Denoise signals of several lengths: each group of one length is one run (auto chooses
        one candidate per group); the outputs, and the verdicts added, in the rows' order."""
        out: list = [None] * len(rows)
        found: list = [None] * len(rows)
        by_length: dict[int, list[int]] = {}
        for i, r in enumerate(rows):
            by_length.setdefault(len(r), []).append(i)
        for idx in by_length.values():
            before = len(self.verdicts)
            y = self.run(np.stack([rows[i] for i in idx]))
            for i, row, v in zip(idx, y, self.verdicts[before:]):
                out[i], found[i] = row, v
            del self.verdicts[before:]
        self.verdicts.extend(found)
        return out

    def run_long(self, n: int, read: Callable[[int, int], np.ndarray], emit: Callable[[int, np.ndarray], None],
                 block: int | None = None, margin: int | None = None) -> None:  # fmt: skip
        """Denoise k signals of n samples block by block (recordings/longsig.py): read(start, stop)
        gives (k, stop − start) of the input, emit(start, y) takes the output in order; one
        Verdict per signal, its blocks' merged (select.merge)."""
        self._check_context(margin)
        found: list[list[Verdict]] = []
        sizes: list[int] = []

        def block_fn(z: np.ndarray) -> np.ndarray:
            before = len(self.verdicts)
            y = self._run(z)
            found.append(self.verdicts[before:])
            sizes.append(z.shape[-1])
            del self.verdicts[before:]
            return y

        longsig.run_blocks(n, read, block_fn, emit, block, margin)
        self.verdicts.extend(select.merge(list(zip(*found)), sizes))

    def _check_context(self, margin: int | None) -> None:
        """A pre-filter runs block by block on a long signal, so its response must die out within a
        block's context: SETTLE time constants (1/(2π·cutoff) for the high-pass, Q/(π·f0) for the
        notch) inside the margin, else its blocks' edges would differ from one whole pass (measured
        at the default margin, 1 M + 300 k samples at 1 kHz: a 1 Hz high-pass and a 50 Hz notch
        within 2.4e-7 of one pass; 0.2 Hz, 10 time constants, 0.0039)."""
        if self.fs is None:
            return
        margin = longsig.MARGIN if margin is None else margin
        limits = []
        if self.highpass is not None:
            limits.append(("--highpass", SETTLE * self.fs / (2 * np.pi * self.highpass),
                           SETTLE * self.fs / (2 * np.pi * margin)))  # fmt: skip
        if self.notch_hz is not None:
            limits.append(("--notch", SETTLE * prefilter.NOTCH_Q * self.fs / (np.pi * self.notch_hz),
                           SETTLE * prefilter.NOTCH_Q * self.fs / (np.pi * margin)))  # fmt: skip
        for option, settle, lowest in limits:
            if settle > margin:
                raise SettingsError(option, f"its filter takes {settle:,.0f} samples to settle, more than the "
                                            f"{margin:,} of context a block of a long signal has; use at least "
                                            f"{lowest:.3g} Hz at {self.fs:g} Hz")  # fmt: skip

    def _run(self, x: np.ndarray) -> np.ndarray:
        raw = x = prefilter.apply(x, self.fs, self.notch_hz, self.highpass)
        if self.notch or self.detrend:  # on rows divided by a power of two near their peak: no overflow
            e = select.peak_exponents(x)
            z = np.ldexp(x, -e)
            if self.notch:
                z = np.stack([noise.remove_lines(row) for row in z])
            if self.detrend and z.shape[-1] >= noise.LINE_MIN_SAMPLES:
                z = np.stack([row - noise.drift(row) for row in z])
            with np.errstate(over="ignore"):
                x = np.ldexp(z, e)
            if not np.isfinite(x).all():  # past the float range once scaled back: denoise scaled
                y, found = self._denoise(z)
                found = [replace(v, sigma=float(np.ldexp(v.sigma, k))) for v, k in zip(found, e[:, 0])]
                self.verdicts.extend(select.structure(raw, found))
                with np.errstate(over="ignore"):
                    return np.ldexp(y, e)  # the writer refuses a non-finite value in one line
        y, found = self._denoise(x)
        self.verdicts.extend(select.structure(raw, found))
        return y

    def _denoise(self, x: np.ndarray) -> tuple[np.ndarray, list[Verdict]]:
        if self.whole is not None:
            return self.whole(x)
        if self.trained_on is not None:
            self.outside += int(np.sum(outside_range(x, self.trained_on)))

        def f(z: np.ndarray) -> np.ndarray:
            return windows.denoise_signals(z, self.fn, self.width, self.hop, self.scale)

        y = f(x)
        return y, select.assess(x, y, f, self.label)


def outside_range(x: np.ndarray, trained: dict) -> np.ndarray:
    """Which rows of x (k, n) an unscaled model never saw the like of: a median outside its
    training range c ± h, or a spread (1st to 99th percentile) over 6h, beyond what noise on its
    signals adds. A grid model on chirps offset by 5 lost 3-8 dB of SNR without a word."""
    c, h = float(trained["center"]), float(trained["half_range"])
    lo, mid, hi = np.percentile(x, [1, 50, 99], axis=-1)
    return (np.abs(mid - c) > h) | (hi - lo > 6 * h)


def auto_plan(method: str, seed: int = 0) -> Plan:
    """The denoiser chosen by SURE for each group of signals of one length, among every candidate
    (auto) or one kind's (auto/select.py)."""
    family = None if method == "auto" else method
    label = "auto (least estimated error)" if family is None else f"{method} (setting by least estimated error)"

    def whole(x: np.ndarray) -> tuple[np.ndarray, list[Verdict]]:
        if family is not None and not candidates.usable(*x.shape, family):
            shortest = min(c.min_length for c in candidates.CANDIDATES.values() if c.family == family)
            raise SettingsError("--method", f"{method} takes signals of at least {shortest} samples; the input has "
                                            f"signals of {x.shape[-1]}")  # fmt: skip
        return select.denoise(x, family, seed)

    # Of auto's candidates only the packaged U-Net (--method dae) runs torch (auto/candidates.py).
    return Plan(None, 1, 1, None, label, whole=whole, torch=method == "dae")


def load_plan(path: Path | None, hop: int, scaled: bool | None, device="cpu") -> Plan:
    """A bundle's autoencoder (the packaged default when path is None); BundleError if unusable.
    scaled None: as the model was trained. A grid's models saw raw signals, and scaling a noisy
    window by its own range shrinks the signal (a gelu grid model at noise 0.5: MSE 0.79 scaled,
    0.34 unscaled; development)."""
    from sigdenoise.models import bundle

    model, meta = bundle.load(path or bundle.default_model_path(), device)
    scaled = bool(meta.get("scaled_windows", False)) if scaled is None else scaled
    scale = meta.get("scale") if scaled else None
    if scaled and not scale:
        raise BundleError(f"{path}: the model records no training range ('scale'); use --no-scale")
    name = Path(path).name if path else f"default model ({bundle.DEFAULT_MODEL})"
    label = f"{name}: ae {meta['activation']} latent {meta['latent']}, train noise {meta.get('train_noise', 0)}"
    trained = meta.get("scale") if not scaled and isinstance(meta.get("scale"), dict) else None
    return Plan(bundle.model_fn(model), int(meta["n_samples"]), hop, scale, label, trained_on=trained, torch=True)


def synthetic_svd_plan(rank: int, hop: int, scaled: bool) -> Plan:
    """The study's SVD projector, fitted on the synthetic training set (seed 0)."""
    from sigdenoise import synthetic
    from sigdenoise.models import bundle
    from sigdenoise.models.svd import SVDProjector

    clean = synthetic.training_set(0, synthetic.N_TRAIN, synthetic.SD)
    proj = SVDProjector(rank).fit(clean)
    scale = bundle.training_range(clean) if scaled else None
    return Plan(proj.denoise, clean.shape[1], hop, scale, f"svd rank {rank} (synthetic)")


def fit_plan(method: str, raw: np.ndarray, hop: int, scaled: bool, rank: int | None = None,
             activation="gelu", latent=5, epochs=100, seed=0, device="cpu", on_epoch=None) -> Plan:  # fmt: skip
    """Fit on the input's own windows raw (m, W): SVD (rank by Gavish–Donoho unless given) or an AE."""
    from sigdenoise.models.bundle import model_fn
    from sigdenoise.train.reference import UNIT_SCALE

    scale = UNIT_SCALE if scaled else None
    if method == "svd":
        proj = fit_svd(raw, scale, rank)
        return Plan(proj.denoise, raw.shape[1], hop, scale, f"svd rank {proj.rank} fitted on {len(raw)} windows")
    model = fit_ae(raw, scale, activation, latent, epochs, seed, device, on_epoch)
    label = f"ae {activation} latent {latent} fitted on {len(raw)} windows, {epochs} epochs"
    return Plan(model_fn(model), raw.shape[1], hop, scale, label, torch=True)


def fit_svd(raw: np.ndarray, scale: dict | None, rank: int | None = None) -> SVDProjector:
    """An SVD projector of the windows raw (m, W) mapped into `scale`, of rank `rank` or, when
    None, the Gavish–Donoho threshold's."""
    from sigdenoise.models.svd import SVDProjector, gavish_donoho_rank

    z, _ = windows.to_model(raw, scale)
    proj = SVDProjector(raw.shape[1]).fit(z)  # every component, then keep the rank
    proj.rank = min(rank, len(proj.singular_values_)) if rank else gavish_donoho_rank(proj.singular_values_, z.shape)
    proj.basis_ = proj.basis_[:, : proj.rank]
    return proj


def fit_ae(raw: np.ndarray, scale: dict | None, activation="gelu", latent=5, epochs=100, seed=0, device="cpu",
           on_epoch=None):  # fmt: skip
    """An autoencoder trained x -> x on the windows raw (m, W) mapped into `scale`; on_epoch(epoch,
    losses) after each epoch (progress)."""
    import torch

    from sigdenoise.train import front
    from sigdenoise.train.front import Recipe
    from sigdenoise.train.members import Member

    z, _ = windows.to_model(raw, scale)
    # The stacked engine's tape, 4x the reference loop (benchmarks/README.md), not compiled: a
    # one-off fit would wait 20-35 s for a cold compile, more than compiling saves it.
    data = {seed: torch.as_tensor(z, dtype=torch.float32, device=device)}
    trained = front.train([Member(latent, activation, seed)], data, Recipe(epochs, engine="stacked", compile=False), on_epoch)
    (model,) = trained.models.values()
    return model
