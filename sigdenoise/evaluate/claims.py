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


def _each(df, noises, eval_set, check):
    """Run check(noise) -> (hit or list of hits, text) in every noise cell."""
    hits, texts = [], []
    for l in noises:
        hit, text = check(l)
        hits += hit if isinstance(hit, list) else [hit]
        texts.append(f"noise {l:g}: {text}")
    return hits, "; ".join(texts)


def check_all(df: pd.DataFrame, angles_deg: dict[float, np.ndarray] | None = None) -> pd.DataFrame:
    """One row per claim. angles_deg: noise-free principal angles (degrees) between the linear
    decoder's column space and U_k at latent 5, by seed, for claim 3."""
    noises = sorted(df["noise"].unique())
    rows = []

    def add(claim, probe_fn, test_fn):
        ph, pt = _each(df, noises, "probe", probe_fn)
        th, tt = _each(df, noises, "test", test_fn) if test_fn else ([], "not measurable on the test set")
        rows.append({"claim": claim, "probe evidence": pt, "probe verdict": verdict(ph),
                     "test evidence": tt, "test verdict": verdict(th) if th else "n/a"})  # fmt: skip

    def latent1_tanh(eval_set):
        def f(l):
            m = cell_means(df, eval_set, 1, l)
            ae = m.drop("svd", errors="ignore")
            poor = ae.min() > POOR * SIN_POWER if eval_set == "probe" else True
            best = ae.idxmin()
            return poor and best == "tanh", f"best AE {best} ({ae.min():.3f}; poor if > {POOR * SIN_POWER:.3f})"
        return f

    add("At latent 1 the reconstructions are poor, and tanh comes closest to sin(t)",
        latent1_tanh("probe"), latent1_tanh("test"))  # fmt: skip

    def latent1_worst(eval_set):
        def f(l):
            m = cell_means(df, eval_set, 1, l)
            worst = set(m.index[-3:])
            hit = worst == {"identity", "svd", "relu"}
            return hit, f"worst three {', '.join(m.index[-3:][::-1])}"
        return f

    add("At latent 1 the linear AE, the SVD and ReLU are the furthest off", latent1_worst("probe"), latent1_worst("test"))

    def similar(eval_set):
        def f(l):
            m = cell_means(df, eval_set, 5, l)
            ratio = m["identity"] / m["svd"]
            ok = abs(ratio - 1) < SIMILAR_RATIO
            text = f"MSE ratio linear AE / SVD {ratio:.3f}"
            if angles_deg:
                worst = max(float(np.max(a)) for a in angles_deg.values())
                ok = ok and worst < SIMILAR_DEG
                text += f", largest principal angle {worst:.2f} deg over seeds"
            return ok, text
        return f

    add(f"At latent 5 the linear AE and the SVD are extremely similar (MSE within {SIMILAR_RATIO:.0%}, angles < {SIMILAR_DEG:g} deg)",
        similar("probe"), similar("test"))  # fmt: skip

    def prelu_gelu(eval_set):
        def f(l):
            m = cell_means(df, eval_set, 5, l)[NONLINEAR]
            m = m.sort_values()
            return set(m.index[:2]) == {"prelu", "gelu"}, f"best nonlinear {_fmt(m, 3)}"
        return f

    high = max(noises)
    rows_before = len(rows)
    add("At high noise and latent 5, PReLU and GELU are the best nonlinear models",
        lambda l: prelu_gelu("probe")(high), lambda l: prelu_gelu("test")(high))  # fmt: skip
    # That claim is about the high-noise cell only: keep one evidence entry.
    for k in ("probe evidence", "test evidence"):
        rows[rows_before][k] = rows[rows_before][k].split("; ")[-1]

    def mean_recovers(l):
        texts, hits = [], []
        for k in sorted(df["latent"].dropna().unique()):
            m = cell_means(df, "probe", int(k), l, "mean_mse")
            ok = m < POOR * SIN_POWER / 4
            hits.append(bool(ok.all()))
            texts.append(f"latent {int(k)}: {int(ok.sum())}/{len(ok)} models within {POOR * SIN_POWER / 4:.3f}")
        return hits, ", ".join(texts)

    add("The mean of the 10 reconstructions recovers sin(t)", mean_recovers, None)
    return pd.DataFrame(rows)
