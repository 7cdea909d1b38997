"""Pre-filters for a known sampling rate: a mains notch and a high-pass for drift (pure scipy).

Both run forward and backward (`filtfilt`, `sosfiltfilt`), so they shift no phase: a peak stays
where it was. Without a sampling rate the blind `--notch`/`--detrend` of auto/noise.py apply
instead; these take the frequency in Hz.
"""

from __future__ import annotations

import numpy as np

from sigdenoise.errors import SettingsError, require

NOTCH_Q = 30.0  # quality factor: a 50 Hz notch is 1.7 Hz wide at -3 dB
HIGHPASS_ORDER = 4  # Butterworth order (8 after the forward-backward pass)


def check(fs: float | None, notch: float | None, highpass: float | None, prefix: str = "--") -> None:
    """Refuse a notch or high-pass without a sampling rate, or at or past the Nyquist frequency;
    options named with `prefix` ("--" on the command line, "" for Python's keywords)."""
    option_fs = f"{prefix}fs"
    for option, f in ((f"{prefix}notch", notch), (f"{prefix}highpass", highpass)):
        if f is None:
            continue
        require(fs is not None, option, f"needs the sampling rate: give {option_fs}")
        require(0 < f < fs / 2, option, f"must be between 0 and the Nyquist frequency ({fs / 2:g} Hz), got {f:g}")


def min_length(notch: float | None, highpass: float | None) -> int:
    """The fewest samples the forward-backward filters accept (scipy's default padding + 1)."""
    n = 1
    if notch is not None:
        n = max(n, 3 * 3 + 1)  # filtfilt: padlen = 3 · max(len(a), len(b)) = 9
    if highpass is not None:
        n = max(n, 3 * (2 * (HIGHPASS_ORDER // 2) + 1) + 1)  # sosfiltfilt's padlen for order 4
    return n


def apply(x: np.ndarray, fs: float | None, notch: float | None = None, highpass: float | None = None,
          prefix: str = "--") -> np.ndarray:  # fmt: skip
    """x (..., n) with a notch at `notch` Hz and a high-pass above `highpass` Hz, each along the
    last axis; x itself when neither is asked. SettingsError for a signal too short to filter."""
    if notch is None and highpass is None:
        return x
    check(fs, notch, highpass, prefix)
    need = min_length(notch, highpass)
    if x.shape[-1] < need:
        raise SettingsError(prefix + ("notch" if notch is not None else "highpass"),
                            f"a signal of {x.shape[-1]} samples is too short to filter (at least {need})")  # fmt: skip
    from scipy import signal  # here: scipy.signal takes ~1.3 s to import, and most runs filter nothing

    y = np.asarray(x, dtype=float)
    if notch is not None:
        b, a = signal.iirnotch(notch, NOTCH_Q, fs=fs)
        y = signal.filtfilt(b, a, y, axis=-1)
    if highpass is not None:
        sos = signal.butter(HIGHPASS_ORDER, highpass, "highpass", fs=fs, output="sos")
        y = signal.sosfiltfilt(sos, y, axis=-1)
    return y
