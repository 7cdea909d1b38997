"""What a `denoise` run says of its result: the verdicts of its signals summed up (pure)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from sigdenoise.auto.select import Verdict

DRIFT_SHARE = 0.25  # a drift holding this share of the rest's power is worth a word
LISTED = 10_000  # signals listed one by one in the report; the totals cover all of them


class Tally:
    """A run's verdicts as `summarize` needs them, added a chunk at a time: σ̂ and the SNRs as
    float64 columns (24 bytes a signal, where a Verdict kept for the totals took about 200 and a
    1 GB file's million signals grew the process by 200 MB), how many each method took (in first-seen
    order), the lines and drift counted, and the first LISTED Verdicts themselves."""

    COLUMNS = ("sigma", "snr_in_db", "snr_out_db")

    def __init__(self) -> None:
        self.columns: dict[str, list[np.ndarray]] = {c: [] for c in self.COLUMNS}
        self.methods: Counter = Counter()
        self.lines = self.drift = self.count = 0
        self.listed: list[Verdict] = []

    def add(self, verdicts: list[Verdict]) -> Tally:
        for c in self.COLUMNS:
            self.columns[c].append(np.array([getattr(v, c) for v in verdicts], dtype=float))
        self.methods.update(v.method for v in verdicts)
        self.lines += sum(bool(v.lines) for v in verdicts)
        self.drift += sum(v.drift > DRIFT_SHARE for v in verdicts)
        self.listed.extend(verdicts[: max(LISTED - len(self.listed), 0)])
        self.count += len(verdicts)
        return self

    def column(self, name: str) -> np.ndarray:
        return np.concatenate(self.columns[name]) if self.columns[name] else np.zeros(0)


def summarize(verdicts: list[Verdict] | Tally, lengths: list[int]) -> dict:
    """Totals of a run: signals, samples, the median σ̂, the mean over signals of the estimated
    SNR in and out and of the gain (dB, as a benchmark averages them), how many signals each
    method took; and the first LISTED signals' own verdicts. `verdicts`: a list, or a Tally of them."""
    tally = verdicts if isinstance(verdicts, Tally) else Tally().add(verdicts)
    if not tally.count:
        return {"signals": 0}
    sigma, snr_in, snr_out = (tally.column(c) for c in Tally.COLUMNS)
    ok = np.isfinite(snr_in) & np.isfinite(snr_out)  # noiseless signals (unbounded SNR) are left out
    return {
        "signals": tally.count,
        "samples": int(np.sum(lengths)),
        "sigma_median": float(np.median(sigma)),
        "snr_in_db": _num(np.mean(snr_in[ok])) if ok.any() else None,
        "snr_out_db": _num(np.mean(snr_out[ok])) if ok.any() else None,
        "gain_db": _num(np.mean(snr_out[ok] - snr_in[ok])) if ok.any() else None,
        "methods": dict(tally.methods.most_common()),
        "signals_with_lines": int(tally.lines),
        "signals_with_drift": int(tally.drift),
        "per_signal": [v.as_dict() for v in tally.listed],
        "per_signal_listed": len(tally.listed),
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
    return (f"estimated noise σ {summary['sigma_median']:.3g} (median), mean SNR {db(summary['snr_in_db'])} -> "
            f"{db(summary['snr_out_db'])} ({'+' if gain is not None and gain >= 0 else ''}{db(gain)}); "
            f"methods: {methods}")  # fmt: skip


def structure_note(summary: dict, notch: bool, detrend: bool) -> str | None:
    """A line on the lines and drift found, and whether they were removed; None if neither."""
    parts = []
    if summary.get("signals_with_lines"):
        what = "removed" if notch else "kept (--remove-lines removes them; --notch HZ a mains hum)"
        parts.append(f"narrowband lines (a hum?) in {summary['signals_with_lines']} of {summary['signals']} signals, {what}")
    if summary.get("signals_with_drift"):
        what = "removed" if detrend else "kept (--detrend removes it)"
        parts.append(f"strong content below 2 cycles over the signal (a drift?) in {summary['signals_with_drift']} of "
                     f"{summary['signals']} signals, {what}")
    return "; ".join(parts) or None
