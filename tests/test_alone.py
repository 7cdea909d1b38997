"""A member's numbers are its own, to the bit in float32 on CPU: trained alone, in the full grid
(with its forked workers) or in a run resumed after a kill, it gives the same weights and the same
results rows (issue 12). The reference is the member's own lone run; nothing is compared to a
tolerance."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from safetensors.torch import load_file
from typer.testing import CliRunner

from sigdenoise.cli import app

# A short last batch (600 = 2 x 256 + 88) and both noise levels; float32, the default.
SMALL = ["--epochs", "3", "--n-train", "600", "--n-test", "40", "--noise", "0.1", "--noise", "1.0", "--device", "cpu"]
VARIANTS = ["--variant", "plain", "--variant", "denoising", "--variant", "vae"]
ALONE = [("relu", "5"), ("gelu", "1"), ("prelu", "5")]


def grid(out, *args) -> None:
    res = CliRunner().invoke(app, ["grid", *SMALL, *[str(a) for a in args], "--out", str(out)])
    assert res.exit_code == 0, res.output


def models(run) -> dict[str, dict]:
    return {p.name: load_file(p) for p in sorted((run / "models").glob("*.safetensors"))}


def rows(run, names) -> pd.DataFrame:
    # Not compared: the wall time, and how many members the run trained (what the run was, not its numbers).
    df = pd.read_csv(run / "results.csv").drop(columns=["train_seconds", "ensemble_size"])
    df = df[df["model"] == "ae"]
    df = df[df.apply(lambda r: _name(r) in names, axis=1)]
    return df.sort_values(list(df.columns[:8])).reset_index(drop=True)


def _name(r) -> str:
    extra = "" if r["variant"] == "plain" else "-" + r["variant"] + (f"{r['train_noise']:g}" if r["variant"] == "denoising" else "")
    return f"ae-{r['activation']}-latent{int(r['latent'])}-seed{int(r['seed'])}{extra}"


def same_models(a: dict, b: dict, names) -> None:
    for name in names:
        ta, tb = a[name + ".safetensors"], b[name + ".safetensors"]
        assert ta.keys() == tb.keys()
        for k in ta:
            assert ta[k].dtype == tb[k].dtype and (ta[k] == tb[k]).all(), (name, k)  # bit for bit


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """The full plain grid (7 activations x latents 1, 5) with the variants, on the forked workers."""
    out = tmp_path_factory.mktemp("full") / "run"
    grid(out, *VARIANTS)
    return out


@pytest.mark.parametrize("activation,latent", ALONE)
def test_a_member_trained_alone_is_the_member_of_the_full_grid(full, tmp_path, activation, latent):
    alone = tmp_path / "alone"
    grid(alone, *VARIANTS, "--activation", activation, "--latent", latent)
    names = [p.stem for p in (alone / "models").glob("*.safetensors")]
    assert len(names) == 4  # plain, denoising at 0.1 and 1.0, vae
    same_models(models(alone), models(full), names)
    pd.testing.assert_frame_equal(rows(alone, names), rows(full, names), check_exact=True)


def test_a_resumed_run_gives_the_full_runs_numbers(full, tmp_path):
    """Killed after some models were saved and before any of their rows: the rerun trains the
    others and every row and model equals the uninterrupted run's."""
    run = tmp_path / "run"
    shutil.copytree(full, run)
    saved = sorted((run / "models").glob("*.safetensors"))
    for p in saved[1::2]:  # every other model was not saved yet
        p.unlink()
    df = pd.read_csv(run / "results.csv")
    df[df["model"] != "ae"].to_csv(run / "results.csv", index=False)  # no member's rows yet
    grid(run, *VARIANTS)
    names = [p.stem for p in saved]
    same_models(models(run), models(full), names)
    pd.testing.assert_frame_equal(rows(run, names), rows(full, names), check_exact=True)
