"""The study's claims, checked against the tidy report table (pure: DataFrame in, rows out).

Each check returns a dict: claim, evidence on the probe (the study's 10 noisy copies of sin(t)),
the probe verdict, the same on the held-out test set, and its verdict. Verdicts: "holds",
"partly" (holds in some of the cells the claim covers), "does not hold". Thresholds are stated in
the evidence text so a reader can disagree with them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sigdenoise.models.activations import ACTIVATIONS

NONLINEAR = [a for a in ACTIVATIONS if a != "identity"]
SIN_POWER = float(np.mean(np.sin(np.arange(100) / 10) ** 2))  # mean of sin(t)^2 on the grid, ~0.5
POOR = 0.2  # "poor": MSE above 20 % of the signal's power (SNR below 7 dB)
SIMILAR_RATIO = 0.05  # "extremely similar": MSE within 5 % ...
SIMILAR_DEG = 10.0  # ... and every principal angle below 10 degrees


def verdict(hits: list[bool]) -> str:
    return "holds" if all(hits) else ("partly" if any(hits) else "does not hold")


def cell_means(df: pd.DataFrame, eval_set: str, latent: int, noise: float, metric: str = "mse") -> pd.Series:
    """Seed-mean of `metric` by denoiser label (activations and 'svd') in one grid cell."""
    sel = df[(df["eval"] == eval_set) & (df["family"] == "all") & np.isclose(df["noise"], noise)]
    sel = sel[((sel["model"] == "ae") & (sel["variant"].isin(["", "plain"])) | (sel["model"] == "svd")) & (sel["latent"] == latent)]
    labels = sel["activation"].where(sel["model"] == "ae", "svd")
    return sel.groupby(labels)[metric].mean().sort_values()


def _fmt(s: pd.Series, n: int = 3) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in s.head(n).items())


def _each(noises, check) -> tuple[list[bool], str]:
    """Run check(noise) -> (hit or list of hits, text) in every noise cell."""
    hits, texts = [], []
    for l in noises:
        hit, text = check(l)
        hits += hit if isinstance(hit, list) else [hit]
        texts.append(f"noise {l:g}: {text}")
    return hits, "; ".join(texts)


def _claim(df: pd.DataFrame, claim: str, check, noises, on_test: bool = True) -> dict:
    """One row of the claims table: check(df, eval_set, noise) -> (hit(s), text) on the probe and,
    if on_test, on the test set, in every noise cell."""
    ph, pt = _each(noises, lambda l: check(df, "probe", l))
    th, tt = _each(noises, lambda l: check(df, "test", l)) if on_test else ([], "not measurable on the test set")
    return {"claim": claim, "probe evidence": pt, "probe verdict": verdict(ph),
            "test evidence": tt, "test verdict": verdict(th) if th else "n/a"}  # fmt: skip


def latent1_tanh(df: pd.DataFrame, eval_set: str, noise: float) -> tuple[bool, str]:
    """Claim 1: at latent 1 the AEs are poor (on the probe: MSE above POOR of sin's power) and
    tanh is the best of them."""
    ae = cell_means(df, eval_set, 1, noise).drop("svd", errors="ignore")
    poor = ae.min() > POOR * SIN_POWER if eval_set == "probe" else True
    best = ae.idxmin()
    return poor and best == "tanh", f"best AE {best} ({ae.min():.3f}; poor if > {POOR * SIN_POWER:.3f})"


def latent1_worst(df: pd.DataFrame, eval_set: str, noise: float) -> tuple[bool, str]:
    """Claim 2: at latent 1 the linear AE, the SVD and ReLU are the three worst."""
    m = cell_means(df, eval_set, 1, noise)
    return set(m.index[-3:]) == {"identity", "svd", "relu"}, f"worst three {', '.join(m.index[-3:][::-1])}"


def linear_is_svd(df: pd.DataFrame, eval_set: str, noise: float, angles_deg: dict | None) -> tuple[bool, str]:
    """Claim 3: at latent 5 the linear AE's MSE is within SIMILAR_RATIO of the SVD's and, when
    angles_deg is given, every principal angle over seeds is below SIMILAR_DEG."""
    m = cell_means(df, eval_set, 5, noise)
    ratio = m["identity"] / m["svd"]
    ok = abs(ratio - 1) < SIMILAR_RATIO
    text = f"MSE ratio linear AE / SVD {ratio:.3f}"
    if angles_deg:
        worst = max(float(np.max(a)) for a in angles_deg.values())
        ok = ok and worst < SIMILAR_DEG
        text += f", largest principal angle {worst:.2f} deg over seeds"
    return ok, text


def prelu_gelu_best(df: pd.DataFrame, eval_set: str, noise: float) -> tuple[bool, str]:
    """Claim 4: at latent 5, PReLU and GELU are the two best nonlinear AEs."""
    m = cell_means(df, eval_set, 5, noise)[NONLINEAR].sort_values()
    return set(m.index[:2]) == {"prelu", "gelu"}, f"best nonlinear {_fmt(m, 3)}"


def mean_recovers(df: pd.DataFrame, eval_set: str, noise: float) -> tuple[list[bool], str]:
    """Claim 5: at every latent, every model's mean of the reconstructions is within a quarter of
    the POOR threshold of sin(t) (one hit per latent)."""
    texts, hits = [], []
    for k in sorted(df["latent"].dropna().unique()):
        m = cell_means(df, eval_set, int(k), noise, "mean_mse")
        ok = m < POOR * SIN_POWER / 4
        hits.append(bool(ok.all()))
        texts.append(f"latent {int(k)}: {int(ok.sum())}/{len(ok)} models within {POOR * SIN_POWER / 4:.3f}")
    return hits, ", ".join(texts)


def check_all(df: pd.DataFrame, angles_deg: dict[float, np.ndarray] | None = None) -> pd.DataFrame:
    """One row per claim. angles_deg: noise-free principal angles (degrees) between the linear
    decoder's column space and U_k at latent 5, by seed, for claim 3."""
    noises = sorted(df["noise"].unique())
    similar = f"MSE within {SIMILAR_RATIO:.0%}, angles < {SIMILAR_DEG:g} deg"
    return pd.DataFrame([
        _claim(df, "At latent 1 the reconstructions are poor, and tanh comes closest to sin(t)", latent1_tanh, noises),
        _claim(df, "At latent 1 the linear AE, the SVD and ReLU are the furthest off", latent1_worst, noises),
        _claim(df, f"At latent 5 the linear AE and the SVD are extremely similar ({similar})",
               lambda d, e, l: linear_is_svd(d, e, l, angles_deg), noises),
        # A claim about the high-noise cell only.
        _claim(df, "At high noise and latent 5, PReLU and GELU are the best nonlinear models", prelu_gelu_best,
               [max(noises)]),
        _claim(df, "The mean of the 10 reconstructions recovers sin(t)", mean_recovers, noises, on_test=False),
    ])  # fmt: skip
