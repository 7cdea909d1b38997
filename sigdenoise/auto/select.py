"""`--method auto`: the denoiser chosen by its estimated error, and what it achieved.

For each group of signals of one length (a file's signals, or one long recording): estimate each
signal's noise level σ̂ (auto/noise.py), run every usable candidate (auto/candidates.py), score
each by SURE (auto/sure.py), keep the candidate of least total estimated error; a signal whose own
estimate says it would lose keeps its input. The scores also say how good the result is: each
signal's estimated input SNR, output SNR and gain.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from sigdenoise.auto import candidates as cand
from sigdenoise.auto import streams
from sigdenoise.auto.noise import LINE_MIN_SAMPLES, drift_share, find_lines, noise_sigmas
from sigdenoise.auto.sure import EPSILON, divergence, sure

DUST = 1e-12  # σ̂ below this, on rows scaled to a peak near 1, is rounding: no noise
LOSS_MARGIN = 2.0  # in standard errors of a signal's SURE
RISK_FLOOR = 1e-3  # an estimated error is at least this share of the noise power (SURE can go below 0)
PROBES = 4  # Monte-Carlo probes of the chosen candidate's noise gain ‖J‖_F² (relative s.e. ~ sqrt(2/(4·rank)))
GAIN_STEP = 0.3  # its finite-difference step, in σ: the size of change noise makes (TV at 0.01σ measured ~1.2× its trace)


@dataclass(frozen=True)
class Verdict:
    """What auto did to one signal: the method chosen, the estimated noise level, and the
    estimated SNR (dB) of its input and output (signal power over noise / error power)."""

    method: str
    sigma: float
    snr_in_db: float
    snr_out_db: float
    lines: tuple[float, ...] = ()
    """Frequencies (cycles per sample) of narrowband lines far above the spectrum's floor."""
    drift: float = 0.0
    """Power below 2 cycles over the signal, relative to the rest less the noise."""

    @property
    def gain_db(self) -> float:
        return self.snr_out_db - self.snr_in_db

    def as_dict(self) -> dict:
        """JSON-ready: an unbounded or unknown number (a noiseless signal's SNR) is None."""
        d = {"method": self.method, "sigma": self.sigma, "snr_in_db": self.snr_in_db, "snr_out_db": self.snr_out_db,
             "lines": list(self.lines), "drift": self.drift, "gain_db": self.gain_db}  # asdict's order; it deep-copies, 8x slower
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in d.items()}


def peak_exponents(x: np.ndarray) -> np.ndarray:
    """Each row's e (k, 1) with its largest |value| = m·2^e, 0.5 <= m < 1 (0 for a zero row): every
    step of auto is scale-equivariant, so it works on ldexp(x, -e) (exact) and scales back, and
    values near the overflow or in the subnormals neither overflow nor fade."""
    return np.frexp(np.abs(x).max(axis=-1, initial=0.0))[1][:, None]


def structure(x: np.ndarray, verdicts: list[Verdict]) -> list[Verdict]:
    """The verdicts of the rows of x (k, n) with the lines and drift each row holds (noise.py),
    found on each row divided by a power of two near its peak (a spectrum of 1e308s overflows).
    Rows under noise.LINE_MIN_SAMPLES have neither: their verdicts as they are."""
    if x.shape[-1] < LINE_MIN_SAMPLES:
        return [v if not v.lines and v.drift == 0.0 else replace(v, lines=(), drift=0.0) for v in verdicts]
    e = peak_exponents(x)
    out = []
    for row, v, k in zip(np.ldexp(x, -e), verdicts, e[:, 0]):
        lines = tuple(round(line.frequency, 6) for line in find_lines(row))
        out.append(replace(v, lines=lines, drift=round(drift_share(row, float(np.ldexp(v.sigma, -k))), 6)))
    return out


def denoise(x: np.ndarray, family: str | None = None, seed: int = 0) -> tuple[np.ndarray, list[Verdict]]:
    """The rows of x (k, n), signals of one length, denoised by the candidate of least estimated
    error (of one family, or any), one for all of them, each row left as it is where its own
    estimate says the candidate would lose; returns the estimates (k, n) and a Verdict per row."""
    x = np.asarray(x, dtype=float)
    e = peak_exponents(x)
    y, verdicts = _denoise(np.ldexp(x, -e), family, seed, e[:, 0])
    return np.ldexp(y, e), verdicts


def sigmas(x: np.ndarray) -> np.ndarray:
    """σ̂ of each row of x (k, n), rows already scaled to a peak in [0.5, 1): an estimate below
    DUST is rounding, not noise (a constant row's wavelet details), and is 0."""
    sigma = noise_sigmas(x)
    return np.where(sigma < DUST, 0.0, sigma)


def _denoise(x: np.ndarray, family: str | None, seed: int, exponents: np.ndarray) -> tuple[np.ndarray, list[Verdict]]:
    """One candidate for the whole group: the least total SURE relative to each signal's noise
    (summed over signals, SURE's noise averages out; per signal, 250 samples were too few to
    rank on). Then doing nothing for each signal whose own SURE says the candidate loses. x: rows
    divided by 2^exponents (k,) (peak_exponents); each Verdict's σ̂ is in the rows' own scale."""
    k, n = x.shape
    sigma = sigmas(x)
    b = probes(x, seed)
    live = sigma > 0
    best = (float(k), "none", x, n * sigma**2)  # doing nothing: SURE = n σ²
    for c in cand.usable(k, n, family):
        if c.name == "none" or not live.any():
            continue
        y = c.apply(x, sigma)
        div = divergence(c, x, y, sigma, b)
        risk = sure(x, y, sigma, div)
        if not (np.isfinite(y[live]).all() and np.isfinite(risk[live]).all()):
            continue
        score = float(np.sum(risk[live] / (n * sigma[live] ** 2))) + float(np.sum(~live))
        if score < best[0]:
            best = (score, c.name, y, risk)
    _, name, y, risk = best
    gain = np.full(k, float(n)) if name == "none" else noise_gain(cand.CANDIDATES[name], x, y, sigma, seed)
    # A signal keeps the group's choice unless its own SURE says it loses by more than SURE's
    # noise (the residual's squared norm varies by about σ² sqrt(2n)): on 100-sample signals a
    # plain comparison sent a fifth of them back to doing nothing, and their gain with them.
    keep = live & (risk - n * sigma**2 < LOSS_MARGIN * sigma**2 * np.sqrt(2 * n))
    out = np.where(keep[:, None], y, x)
    names = np.where(keep, name, "none")
    risk, gain = np.where(keep, risk, n * sigma**2), np.where(keep, gain, float(n))
    # ldexp(σ, e), not σ·2^e: 2^1024 itself overflows where σ·2^1024 does not.
    return out, _verdicts(x, names.tolist(), sigma, risk, gain, shown=np.ldexp(sigma, exponents))


def noise_gain(c: cand.Candidate, x: np.ndarray, y: np.ndarray, sigma: np.ndarray, seed: int,
               count: int = PROBES) -> np.ndarray:  # fmt: skip
    """‖J‖_F² of candidate c at each row of x (k, n), y = c(x): the share of white noise of unit
    variance it lets through, summed over the n outputs, by Monte-Carlo, E‖J b‖² = ‖J‖_F² for
    b ~ N(0, I) (`count` draws, streams of their own: `probes`). The output keeps σ²‖J‖_F² of noise
    whatever its bias: the floor under a signal's estimated error (SURE alone, off by (σ² − σ̂²) n
    when σ̂ is off, can fall far below it)."""
    eps = (GAIN_STEP * np.where(sigma > 0, sigma, 1.0))[:, None]
    live = (sigma > 0)[:, None]  # a silent row is not probed: a pooled candidate would feel it in every row
    total = np.zeros(len(x))
    for i in range(count):
        b = probes(x, seed, 1 + i) * live
        total += np.sum((c.apply(x + eps * b, sigma) - y) ** 2, axis=-1) / eps[:, 0] ** 2
    return total / count


def probes(x: np.ndarray, seed: int, stream: int = 0) -> np.ndarray:
    """Monte-Carlo probes b ~ N(0, I) (k, n), one row per row of x, each drawn from a stream named
    by the seed and the row's own bytes: a signal gets the same probes wherever it sits in a file
    (its result does not depend on its neighbours' order), and the same on every run."""
    x = np.ascontiguousarray(x)
    crcs = [zlib.crc32(row.tobytes()) for row in x]
    if not (0 <= seed < 2**32 and 0 <= stream < 2**32):  # past one uint32 word: numpy's own seeding
        return np.stack([np.random.default_rng([seed, stream, c]).standard_normal(x.shape[-1]) for c in crcs])
    entropy = np.column_stack([np.full(len(x), seed), np.full(len(x), stream), crcs]).astype(np.uint32)
    return streams.standard_normal_rows(entropy, x.shape[-1])


def assess(x: np.ndarray, y: np.ndarray, fn: Callable[[np.ndarray], np.ndarray], method: str,
           seed: int = 0) -> list[Verdict]:  # fmt: skip
    """Verdicts for any denoiser fn (k, n) -> (k, n) that turned x into y: σ̂ per row, and its
    SURE by one Monte-Carlo probe (one more call of fn). Computed on each row divided by a power
    of two near its peak, as `denoise` is; a row whose output is not finite gets no estimate
    (NaN: the writer refuses such output anyway)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    e = peak_exponents(x)
    xs, ys = np.ldexp(x, -e), np.ldexp(y, -e)
    sigma = sigmas(xs)
    b = probes(xs, seed)
    eps = (EPSILON * np.where(sigma > 0, sigma, 1.0))[:, None]
    with np.errstate(all="ignore"):
        moved = np.ldexp(np.asarray(fn(np.ldexp(xs + eps * b, e)), dtype=float), -e)
        div = np.sum(b * (moved - ys), axis=-1) / eps[:, 0]
        gain = np.sum((moved - ys) ** 2, axis=-1) / eps[:, 0] ** 2  # ‖J b‖², one probe of ‖J‖_F²
        risk = sure(xs, ys, sigma, div)
    unknown = ~(np.isfinite(risk) & np.isfinite(gain))  # no estimate: NaN SNRs
    return _verdicts(xs, [method] * len(xs), sigma, risk, gain, shown=np.ldexp(sigma, e[:, 0]), unknown=unknown)


def merge(parts: list[tuple[Verdict, ...]], sizes: list[int]) -> list[Verdict]:
    """One Verdict per signal from the Verdicts of its blocks (parts[i]: signal i's, one a block of
    sizes[j] samples): noise, signal and error powers averaged over samples (σ̂ the root of the
    mean σ̂²), the method of most samples (ties: the first), lines of every block, the largest drift."""
    w = np.asarray(sizes, dtype=float) / np.sum(sizes)
    out = []
    for vs in parts:
        noise = np.array([v.sigma**2 for v in vs])
        live = (noise > 0) & np.isfinite([v.snr_in_db for v in vs]) & np.isfinite([v.snr_out_db for v in vs])
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # Blocks without noise (digital silence, σ̂ = 0) have unbounded SNRs: they add no noise
            # and no error, and their signal power is taken as 0 (a silent block has none).
            power = np.where(live, noise * 10 ** (np.array([v.snr_in_db for v in vs]) / 10), 0.0)
            error = np.where(live, power / 10 ** (np.array([v.snr_out_db for v in vs]) / 10), 0.0)
            n2, p, e = float(w @ noise), float(w @ power), float(w @ error)
            snr_in = 10 * np.log10(p / n2) if n2 > 0 else float("inf")
            snr_out = 10 * np.log10(p / e) if e > 0 else float("inf")
        share: dict[str, float] = {}
        for v, wi in zip(vs, w):
            share[v.method] = share.get(v.method, 0.0) + wi
        lines = tuple(sorted({f for v in vs for f in v.lines}))
        out.append(Verdict(max(share, key=share.get), float(np.sqrt(n2)), float(snr_in), float(snr_out), lines,
                           max(v.drift for v in vs)))  # fmt: skip
    return out


def _verdicts(x: np.ndarray, methods: list[str], sigma: np.ndarray, risk: np.ndarray, gain: np.ndarray | None = None,
             shown: np.ndarray | None = None, unknown: np.ndarray | None = None) -> list[Verdict]:  # fmt: skip
    """One Verdict per row of x (k, n), the SNRs from the estimates: signal power mean(x²) − σ̂², noise
    power σ̂², error power SURE/n, but never below the noise the output keeps, σ̂² ‖J‖_F² / n (`gain`;
    SURE's own noise, and σ̂'s, can take it lower). Not div: an average of overlapping windows keeps
    less noise than its trace says (‖J‖_F² ≈ 0.55-0.9 div measured), and counting div made every
    estimate 1.6 dB low. A row of σ̂ = 0 has infinite SNRs; `unknown` rows NaN ones. `shown`: the σ̂
    each Verdict reports (the rows' own scale), σ̂ by default. All rows at once: per row, this was a
    tenth of a model's denoise of a file of short signals."""
    n = x.shape[-1]
    noise = sigma**2
    with np.errstate(divide="ignore", invalid="ignore"):
        power = np.maximum(np.mean(x * x, axis=-1) - noise, RISK_FLOOR * noise)
        kept = 0.0 if gain is None else np.maximum(gain, 0.0) * noise / n
        error = np.maximum(np.maximum(risk / n, kept), RISK_FLOOR * noise)
        snr_in, snr_out = 10 * np.log10(power / noise), 10 * np.log10(power / error)
    snr_in[noise <= 0] = snr_out[noise <= 0] = np.inf
    if unknown is not None:
        snr_in[unknown] = snr_out[unknown] = np.nan
    shown = sigma if shown is None else shown
    return [Verdict(m, s, a, b) for m, s, a, b in zip(methods, shown.tolist(), snr_in.tolist(), snr_out.tolist())]
