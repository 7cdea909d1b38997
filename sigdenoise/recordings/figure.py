"""The figure of `denoise --plot`: noisy input against denoised output for a few signals."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sigdenoise.atomic import replacing


def noisy_vs_denoised(signals: list[tuple[str, np.ndarray, np.ndarray]], path: Path, title: str,
                      x: tuple[str, np.ndarray] | None = None) -> list[tuple[str, str]]:  # fmt: skip
    """One panel per (label, noisy (L,), denoised (L,)); written atomically as a PNG. x: the time
    axis (its name and values, as long as the signals) where the file has one, else sample numbers.
    Returns each panel's (x label, y label).

    Drawn on its own Agg canvas (no pyplot), so the caller's matplotlib backend is left alone."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 1.9 * len(signals) + 0.6))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(signals), 1, squeeze=False)
    labels = []
    for ax, (label, noisy, clean) in zip(axes[:, 0], signals):
        t = x[1][: len(noisy)] if x is not None and len(x[1]) >= len(noisy) else np.arange(len(noisy))
        ax.plot(t, noisy, color="0.65", lw=0.8, label="noisy")
        ax.plot(t, clean, color="C0", lw=1.3, label="denoised")
        ax.set_ylabel(label, fontsize=8)
        ax.tick_params(labelsize=7)
        labels.append((x[0] if x is not None else "sample", label))
    axes[0, 0].legend(fontsize=7, loc="upper right", ncol=2)
    axes[-1, 0].set_xlabel(x[0] if x is not None else "sample")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    with replacing(Path(path), make_parents=False) as tmp:  # the CLI checked the folder exists
        fig.savefig(tmp, format="png", dpi=100)
    return labels
