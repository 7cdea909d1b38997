"""What a `denoise` run says of its result: the verdicts of its signals summed up (pure).

Pooled over signals, SNRs weigh each signal by its samples: estimated signal power over estimated
noise (input) or estimated error (output) power, both summed over all signals.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from sigdenoise.auto.select import Verdict

LISTED = 10_000  # signals listed one by one in the report; the totals cover all of them


def summarize(verdicts: list[Verdict], lengths: list[int]) -> dict:
    """Totals of a run: signals, median σ̂, pooled estimated SNR in and out (dB), their gain, and
    how many signals each method took; and the first LISTED signals' own verdicts."""
    if not verdicts:
        return {"signals": 0}
    n = np.asarray(lengths, dtype=float)
    sig2 = np.array([v.sigma for v in verdicts]) ** 2
    power = sig2 * 10 ** (np.array([v.snr_in_db for v in verdicts]) / 10)
    error = power / 10 ** (np.array([v.snr_out_db for v in verdicts]) / 10)
    with np.errstate(divide="ignore", invalid="ignore"):
        snr_in = 10 * np.log10(np.sum(n * power) / np.sum(n * sig2))
        snr_out = 10 * np.log10(np.sum(n * power) / np.sum(n * error))
    return {
        "signals": len(verdicts),
        "samples": int(n.sum()),
        "sigma_median": float(np.median(np.sqrt(sig2))),
        "snr_in_db": _num(snr_in),
        "snr_out_db": _num(snr_out),
        "gain_db": _num(snr_out - snr_in),
        "methods": dict(Counter(v.method for v in verdicts).most_common()),
        "per_signal": [v.as_dict() for v in verdicts[:LISTED]],
        "per_signal_listed": min(len(verdicts), LISTED),
    }


def _num(v: float) -> float | None:
    """A finite number, or None (JSON has no inf): a noiseless signal's SNR is unbounded."""
    return float(v) if np.isfinite(v) else None


def one_line(summary: dict) -> str:
    """The run's verdict for the terminal."""
    if not summary.get("signals"):
        return "nothing to assess"
    methods = ", ".join(f"{m} ×{k}" for m, k in list(summary["methods"].items())[:4])
    more = len(summary["methods"]) - 4
    if more > 0:
        methods += f" and {more} more"

    def db(v):
        return "unbounded" if v is None else f"{v:.1f} dB"

    gain = summary["gain_db"]
    return (f"estimated noise σ {summary['sigma_median']:.3g} (median), SNR {db(summary['snr_in_db'])} -> "
            f"{db(summary['snr_out_db'])} ({'+' if gain is not None and gain >= 0 else ''}{db(gain)}); "
            f"methods: {methods}")  # fmt: skip
