"""SNR in -> out of `sigdenoise denoise`, against Savitzky-Golay on the same inputs.

(a) 2,000 held-out synthetic signals (seed 1, never seen in training), noise 0.1 and 1.0: the
    default (auto), the packaged model, the study's SVD projector, and `--fit svd`.
(b) Two long signals not from the training families, 5,000 samples each: a linear chirp
    (0.005 -> 0.05 cycles/sample) and a smoothed pulse train (period 80, width 12): the default, `--fit svd`,
    `--fit --method ae`, and the default model without fitting.
Every denoiser runs through the CLI (CSV in, CSV out). Savitzky-Golay: (11, 3) as a fixed
everyday choice, and the best (window, order) for each input chosen with the clean signal in hand
(an oracle: the most SG can do). Writes experiments/denoise_snr.csv and prints it as Markdown.

Run: python experiments/denoise_snr.py
"""

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import savgol_filter
from typer.testing import CliRunner

from sigdenoise.cli import app
from sigdenoise.evaluate import metrics, scoring

OUT = Path(__file__).with_suffix(".csv")


def chirp(n: int = 5000) -> np.ndarray:
    k = np.arange(n)
    return np.sin(2 * np.pi * (0.005 * k + (0.05 - 0.005) * k**2 / (2 * n)))


def pulse_train(n: int = 5000, period: int = 80, width: int = 12) -> np.ndarray:
    k = np.arange(n)
    square = ((k % period) < width).astype(float)
    g = np.exp(-0.5 * (np.arange(-6, 7) / 1.5) ** 2)
    return np.convolve(square, g / g.sum(), mode="same")


def run_cli(noisy: np.ndarray, args: list[str], tmp: Path) -> np.ndarray:
    np.savetxt(tmp / "in.csv", noisy, delimiter=",", fmt="%.9g")
    res = CliRunner().invoke(app, ["denoise", str(tmp / "in.csv"), "-o", str(tmp / "out.csv"), *args])
    assert res.exit_code == 0, res.output
    return np.loadtxt(tmp / "out.csv", delimiter=",", ndmin=2)


def sg_rows(noisy, clean, base):
    grid = {(w, p): metrics.snr_db(savgol_filter(noisy, w, p, axis=-1), clean) for w in range(5, min(101, noisy.shape[-1]) + 1, 2) for p in range(1, 6) if p < w}
    best = max(grid, key=grid.get)
    return [{**base, "method": "Savitzky-Golay (11, 3)", "snr_out_db": grid[(11, 3)]},
            {**base, "method": f"Savitzky-Golay best {best} (oracle)", "snr_out_db": grid[best]}]  # fmt: skip


def main() -> None:
    rows = []
    test = scoring.eval_sets(1, 2000, 2.25)[1]
    long = {"chirp": chirp(), "pulse train": pulse_train()}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for level in (0.1, 1.0):
            noisy = test.noisy(level)
            base = {"set": "synthetic held-out (2,000 x 100)", "noise": level, "snr_in_db": metrics.snr_db(noisy, test.clean)}
            for name, args in [("default (auto)", []), ("packaged dae (--no-fit)", ["--no-fit"]),
                               ("study's ae (--method ae --no-fit)", ["--method", "ae", "--no-fit"]),
                               ("svd rank 5 (synthetic)", ["--no-fit", "--method", "svd"]),
                               ("--fit svd", ["--fit", "--method", "svd"])]:  # fmt: skip
                rows.append({**base, "method": name, "snr_out_db": metrics.snr_db(run_cli(noisy, args, tmp), test.clean)})
            rows += sg_rows(noisy, test.clean, base)
            for sig_name, clean in long.items():
                rng = np.random.default_rng([7, int(level * 10)])
                noisy1 = (clean + level * rng.standard_normal(clean.shape))[None]
                base = {"set": f"{sig_name} (5,000 samples)", "noise": level, "snr_in_db": metrics.snr_db(noisy1, clean[None])}
                for name, args in [("default (auto)", []), ("--fit svd", ["--fit", "--method", "svd"]), ("--fit svd --no-scale", ["--fit", "--method", "svd", "--no-scale"]),
                                   ("--fit --method ae", ["--fit", "--method", "ae"]), ("packaged dae (--no-fit)", ["--no-fit"]),
                                   ("study's ae (--method ae --no-fit)", ["--method", "ae", "--no-fit"])]:  # fmt: skip
                    out = run_cli(noisy1, args, tmp)
                    assert out.shape == noisy1.shape
                    rows.append({**base, "method": name, "snr_out_db": metrics.snr_db(out, clean[None])})
                rows += sg_rows(noisy1, clean[None], base)
    df = pd.DataFrame(rows)
    df["gain_db"] = df["snr_out_db"] - df["snr_in_db"]
    df.to_csv(OUT, index=False, float_format="%.2f")
    print(markdown(df))


def markdown(df: pd.DataFrame) -> str:
    cells = [[f"{v:.2f}" if isinstance(v, float) else str(v) for v in r] for r in df.itertuples(index=False)]
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in cells])


if __name__ == "__main__":
    main()
