"""`sigdenoise report --quick` through CliRunner, with the files read back; the claims logic on a
hand-made table."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sigdenoise import synthetic
from sigdenoise.cli import app
from sigdenoise.evaluate import claims, scoring
from sigdenoise.models.activations import ACTIVATIONS
from sigdenoise.models.svd import SVDProjector


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    res = CliRunner().invoke(app, ["report", "--quick", "--out", str(root / "out"), "--cache", str(root / "cache"),
                                   "--device", "cpu"])  # fmt: skip
    assert res.exit_code == 0, res.output
    return root / "out"


def test_quick_report_rows(quick):
    df = pd.read_csv(quick / "results.csv", keep_default_na=False, na_values={"latent": [""], "mean_mse": [""]})
    assert {"savgol", "wiener", "wavelet", "bayes", "svd", "noisy", "ae"} == set(df["model"])
    allrows = df[df["family"] == "all"]
    is_variant = (allrows["model"] == "ae") & (allrows["variant"] != "plain")
    study = allrows[~is_variant]
    # 2 seeds x 2 noise x 2 sets x (noisy + 2 svd + 14 ae + 4 baselines + bayes = 22 denoisers).
    assert len(study) == 2 * 2 * 2 * 22
    # Variants (first seed): at each noise level the denoising AE trained for it, sparse,
    # contractive, vae and the wide denoiser, on 2 sets.
    variants = allrows[is_variant]
    assert len(variants) == 2 * 5 * 2 and set(variants["seed"]) == {0}
    assert set(variants["variant"]) == {"denoising", "sparse", "contractive", "vae", "denoising w32"}
    fam = df[df["family"] != "all"]
    assert set(fam["family"]) == {"sin", "cos", "sin+cos", "sin-cos", "sin*cos"} and set(fam["eval"]) == {"test"}
    # The Bayes posterior mean is the best any method can do on average: below every other
    # denoiser's test MSE in every cell (2 seeds x 200 signals leave a wide margin here).
    test = allrows[allrows["eval"] == "test"]
    for (noise, seed), g in test.groupby(["noise", "seed"]):
        bayes = g[g["model"] == "bayes"]["mse"].item()
        assert bayes < g[g["model"] != "bayes"]["mse"].min()
    assert (test[test["model"] == "noisy"]["snr_gain_db"] == 0).all()


def test_quick_report_files(quick):
    text = (quick / "REPORT.md").read_text()
    for heading in ["## The study's figures, reproduced", "## The study's claims, checked", "Bayes ceiling",
                    "## Test MSE by family", "## Baselines and their settings", "sigdenoise report --quick"]:  # fmt: skip
        assert heading in text
    for png in ["probe_noisy.png", "probe_latent1_noise0.1.png", "probe_mean_latent5_noise1.png", "ci_test_mse.png",
                "heatmap_test_mse.png"]:  # fmt: skip
        assert f"figures/{png}" in text
        assert (quick / "figures" / png).read_bytes()[:4] == b"\x89PNG"
    table = pd.read_csv(quick / "claims.csv")
    assert len(table) == 5 and set(table["probe verdict"]) <= {"holds", "partly", "does not hold"}


def _table(values: dict[tuple[str, int, float], float]) -> pd.DataFrame:
    rows = []
    for (label, latent, noise), mse in values.items():
        model = "svd" if label == "svd" else "ae"
        for ev in ("probe", "test"):
            rows.append({"model": model, "variant": "plain" if model == "ae" else "", "activation": "" if model == "svd" else label,
                         "latent": latent, "noise": noise, "seed": 0, "eval": ev, "family": "all", "mse": mse,
                         "mean_mse": mse / 10})  # fmt: skip
    return pd.DataFrame(rows)


def test_claim_verdicts_on_a_hand_made_table():
    vals = {}
    for noise in (0.1, 1.0):
        for i, a in enumerate(ACTIVATIONS):
            vals[(a, 1, noise)] = 0.30 + 0.01 * i
            vals[(a, 5, noise)] = 0.10 + 0.01 * i
        vals[("tanh", 1, noise)] = 0.20  # tanh best at latent 1, and all are poor (> 0.095)
        vals[("svd", 1, noise)] = 0.50
        vals[("identity", 1, noise)] = 0.45
        vals[("relu", 1, noise)] = 0.40  # the three worst
        vals[("svd", 5, noise)] = 0.10
        vals[("identity", 5, noise)] = 0.102  # within 5 %
        vals[("prelu", 5, noise)], vals[("gelu", 5, noise)] = 0.05, 0.06
    t = claims.check_all(_table(vals), {0: np.array([1.0, 2.0, 3.0, 4.0, 5.0])}).set_index("claim")
    v = t["probe verdict"].tolist()
    assert v[:4] == ["holds", "holds", "holds", "holds"]
    assert v[4] == "partly"  # mean_mse = mse/10 is below 0.024 for some models only
    # Break one cell: at noise 1.0 sigmoid beats tanh at latent 1 -> "partly".
    vals[("sigmoid", 1, 1.0)] = 0.15
    assert claims.check_all(_table(vals))["probe verdict"].iloc[0] == "partly"


def test_rows_by_family_split_the_test_set_mse():
    sets = scoring.eval_sets(0, 120, 2.25)
    den = SVDProjector(5).fit(synthetic.generate(500, np.random.default_rng(3))[0])
    base = {"model": "svd", "latent": 5}
    plain, recon = scoring.rows(den, base, sets, 0.5, 7)
    metric_rows, _ = scoring.evaluate(den, sets, 0.5)
    assert plain == [{**base, "noise": 0.5, "seed": 7, **m} for m in metric_rows]
    rows, _ = scoring.rows(den, base, sets, 0.5, 7, by_family=True)
    whole = [r for r in rows if r["family"] == "all"]
    assert [{k: v for k, v in r.items() if k != "family"} for r in whole] == plain
    test = sets[1]
    fam = [r for r in rows if r["family"] != "all"]
    assert {r["eval"] for r in fam} == {"test"} and all(np.isnan(r["mean_mse"]) for r in fam)
    counts = []
    for r in fam:
        sel = test.family == synthetic.FAMILIES.index(r["family"])
        np.testing.assert_allclose(r["mse"], np.mean((recon["test"][sel] - test.clean[sel]) ** 2), rtol=1e-14)
        counts.append(sel.sum())
    # The families partition the test set: their count-weighted MSE is the whole set's.
    np.testing.assert_allclose(np.dot(counts, [r["mse"] for r in fam]) / sum(counts), whole[1]["mse"], rtol=1e-12)


def test_figures_leave_matplotlibs_global_state_alone(tmp_path):
    import matplotlib

    from sigdenoise.study import figures

    t = np.arange(100) / 10
    probe = pd.DataFrame({"model": "noisy", "noise": 1.0, "copy": np.repeat([0, 1], 100), "t": np.tile(t, 2),
                          "value": np.tile(np.sin(t), 2)})  # fmt: skip
    before, backend = dict(matplotlib.rcParams), matplotlib.get_backend()
    figures.noisy_probe_figure(probe, tmp_path / "noisy.png", "footer")
    assert dict(matplotlib.rcParams) == before and matplotlib.get_backend() == backend
    assert (tmp_path / "noisy.png").read_bytes()[:4] == b"\x89PNG" and [p.name for p in tmp_path.iterdir()] == ["noisy.png"]


def test_quick_report_carries_its_banner_and_its_sentences_follow_the_numbers(quick):
    """A quick check says so at the top of the page (its figures: test_quick_footer_is_marked), and
    each variant's sentence says better or no better than the plain AE from its own numbers (it
    said the denoising AE 'removes noise the plain AE passes through' at +3 % MSE)."""
    import re

    text = (quick / "REPORT.md").read_text()
    assert text.splitlines()[2].startswith("> **A quick check, not the study.** 2 seeds, 4 epochs")
    assert "## Findings of this quick check (not the study's)" in text and "\n## Findings\n" not in text
    for line in text.splitlines():
        m = re.match(r"- \*\*(denoising|sparse|contractive|vae)\*\* .*?: (.*?)\. noise", line)
        if not m:
            continue
        nums = re.findall(r"noise ([\d.]+): ([\d.]+) vs plain ([\d.]+)", line)
        better = [lv for lv, a, b in nums if float(a) < float(b)]
        worse = [lv for lv, a, b in nums if float(a) >= float(b)]
        if better:
            assert f"better than the plain AE at noise {', '.join(better)}" in m.group(2), line
        if worse:
            assert f"no better at noise {', '.join(worse)}" in m.group(2), line


def test_quick_footer_is_marked(monkeypatch, tmp_path):
    """report.build hands every figure a footer that opens with the quick-check mark."""
    from sigdenoise.study import report as report_mod
    from sigdenoise.study.settings import ReportSettings

    seen = []
    monkeypatch.setattr(report_mod, "write_figures", lambda df, probe, figs, footer, *a: seen.append(footer))
    import torch

    report_mod.build(ReportSettings.quick_settings(), tmp_path / "out", tmp_path / "cache", torch.device("cpu"))
    assert seen and seen[0].startswith("QUICK CHECK, NOT THE STUDY (4 epochs) | sigdenoise report")


def test_quick_report_checks_the_claims_under_the_variance_reading(quick):
    """The other reading of N(0, 2.25) (sd 1.5): its own results and claims beside the main ones.
    Its SVD rows are the rank-k projector fitted on the sd-1.5 training set and scored on the
    sd-1.5 test set, recomputed here with numpy's SVD; and the page names every verdict that changes."""
    from sigdenoise.study.report_text import verdict_changes

    alt = pd.read_csv(quick / "results-sd1.5.csv", keep_default_na=False, na_values={"latent": [""], "mean_mse": [""]})
    assert set(alt["model"]) == {"svd", "noisy", "ae"}  # the claims need no classical baseline
    rows = alt[(alt["family"] == "all") & (alt["eval"] == "test") & (alt["model"] == "svd")]
    for r in rows.itertuples():
        train = synthetic.training_set(r.seed, 1_000, 1.5)
        test = scoring.eval_sets(r.seed, 200, 1.5)[1]
        clean, noisy = test.clean, test.noisy(r.noise)
        u = np.linalg.svd(train, full_matrices=False)[2][: int(r.latent)].T  # (100, k)
        assert r.mse == pytest.approx(np.mean((noisy @ u @ u.T - clean) ** 2), rel=1e-5)
    main = pd.read_csv(quick / "claims.csv", keep_default_na=False)  # "n/a" is a verdict, not a missing value
    other = pd.read_csv(quick / "claims-sd1.5.csv", keep_default_na=False)
    assert list(other["claim"]) == list(main["claim"])
    text = (quick / "REPORT.md").read_text()
    assert "### The claims under the other reading: r ~ N(0, 2.25) as a variance (sd 1.5)" in text
    assert verdict_changes(main, other, 2.25, 1.5) in text


def test_verdict_changes_names_each_moved_verdict():
    """Hand-made tables: one claim moves on the probe only, one does not move."""
    from sigdenoise.study.report_text import verdict_changes

    a = pd.DataFrame({"claim": ["A", "B"], "probe verdict": ["holds", "partly"], "test verdict": ["holds", "n/a"]})
    b = a.assign(**{"probe verdict": ["does not hold", "partly"]})
    assert verdict_changes(a, b, 2.25, 1.5) == ("Verdicts that change with the reading (1 of 2 claims): “A” (probe holds "
                                                "at sd 2.25, does not hold at sd 1.5).")  # fmt: skip
    assert verdict_changes(a, a, 2.25, 1.5).startswith("No verdict changes")


def test_training_curves_give_one_colour_per_model_and_a_line_per_seed(tmp_path, monkeypatch):
    """14 members x 3 seeds: 7 models in the legend (the activations, in the probe panels' order),
    every seed a line of its own (42 lines drawn, none averaged away), latent 1 dashed."""
    from matplotlib.figure import Figure

    from sigdenoise.study import figures

    drawn = []
    monkeypatch.setattr(figures, "_save", lambda fig, path, footer: drawn.append(fig))
    cols = {f"ae-{a}-latent{k}-seed{s}": np.linspace(0.6, 0.01 * (s + 1), 5) for a in ACTIVATIONS for k in (1, 5) for s in range(3)}
    models = figures.training_curves(pd.DataFrame({"epoch": range(5), **cols}), tmp_path / "t.png")
    assert models == list(ACTIVATIONS)
    (fig,) = drawn
    assert isinstance(fig, Figure)
    lines = [ln for ln in fig.axes[0].get_lines() if len(ln.get_xdata()) == 5]
    assert len(lines) == 42
    assert sum(ln.get_linestyle() != "-" for ln in lines) == 21  # the latent-1 members


def test_the_first_line_says_what_was_trained_and_what_was_loaded():
    """Hand-made timings (seconds of training per grid run, and whether it came from the cache):
    all loaded, all trained, and a resumed cache (two loaded, one trained) each say so, and the
    time of a run from nothing is the training recorded plus this run's own time less its training."""
    from sigdenoise.study.report_text import regenerated
    from sigdenoise.study.settings import ReportSettings

    s = ReportSettings()
    loaded = regenerated(s, "abc", 120.0, [(True, 600.0), (True, 300.0), (True, 60.0)])
    assert "`sigdenoise report --out reports` in 2.0 min with the trained models loaded from the cache" in loaded
    assert "takes about 18 min (16.0 min of it training" in loaded
    trained = regenerated(s, "abc", 1080.0, [(False, 600.0), (False, 300.0), (False, 60.0)])
    assert "`sigdenoise report --fresh --out reports` in 18.0 min (16.0 min of it training)" in trained
    resumed = regenerated(s, "abc", 480.0, [(True, 600.0), (False, 300.0), (True, 60.0)])
    assert "in 8.0 min, 2 of its 3 grid runs loaded from the cache and the others trained (5.0 min)" in resumed
    assert "which trains them all, takes about 19 min (16.0 min of it training" in resumed


def _probe_table(rng, copies=3):
    """A hand-made probe.csv at noise 1.0, rows shuffled: noisy copies, an identity AE at latent 5
    and the SVD, each copy's values drawn at random. Returns it and the curves (copies, 100) by model."""
    t = np.arange(100) / 10
    curves = {m: rng.normal(size=(copies, 100)) for m in ("noisy", "identity", "svd")}
    rows = [{"model": "ae" if m == "identity" else m, "variant": "" if m == "identity" else np.nan,
             "activation": m if m == "identity" else np.nan, "latent": np.nan if m == "noisy" else 5, "noise": 1.0,
             "copy": c, "t": t[i], "value": curves[m][c, i]}
            for m in curves for c in range(copies) for i in range(100)]  # fmt: skip
    return pd.DataFrame(rows).sample(frac=1, random_state=0), curves, t


@pytest.mark.parametrize("mean", [False, True])
def test_probe_figure_draws_each_models_curves_from_the_table(tmp_path, monkeypatch, mean):
    """Each panel draws its model's copies (one LineCollection each: the noisy ones, then the
    reconstructions), or their means, and sin(t), in t order whatever the rows' order."""
    from sigdenoise.study import figures

    drawn = []
    monkeypatch.setattr(figures, "_save", lambda fig, path, footer: drawn.append(fig))
    probe, curves, t = _probe_table(np.random.default_rng(3))
    assert figures.probe_figure(probe, 5, 1.0, tmp_path / "p.png", mean=mean) == ["identity", "svd"]
    (fig,) = drawn
    for ax, name in zip(fig.axes, ["identity", "svd"]):
        lines = [np.asarray(ln.get_xydata()) for ln in ax.get_lines()]
        np.testing.assert_allclose(lines[-1], np.column_stack([t, np.sin(t)]), rtol=0, atol=1e-15)
        if mean:
            for got, model in zip(lines[:2], ["noisy", name]):
                np.testing.assert_allclose(got, np.column_stack([t, curves[model].mean(axis=0)]), rtol=0, atol=1e-15)
        else:
            for col, model in zip(ax.collections, ["noisy", name]):
                segs = np.stack(col.get_segments())
                np.testing.assert_array_equal(segs[..., 0], np.broadcast_to(t, curves[model].shape))
                np.testing.assert_array_equal(segs[..., 1], curves[model])


def test_heatmap_writes_each_cells_value_in_ink_that_reads_on_it(tmp_path, monkeypatch):
    """Every cell's text is its mean test MSE to three significant digits; dark ink on the light
    (low, yellow) end of viridis_r, white on the dark end; rows in the table's order."""
    from sigdenoise.study import figures

    drawn = []
    monkeypatch.setattr(figures, "_save", lambda fig, path, footer: drawn.append(fig))
    values = {("noisy", 1): 1.0, ("noisy", 5): 0.9, ("svd", 1): 0.02, ("svd", 5): 0.03, ("gelu", 1): 0.3, ("gelu", 5): np.nan}
    rows = [{"model": "ae" if m == "gelu" else m, "activation": m if m == "gelu" else "", "latent": k, "noise": 1.0,
             "seed": 0, "eval": "test", "family": "all", "mse": v} for (m, k), v in values.items()]  # fmt: skip
    figures.mse_heatmap(pd.DataFrame(rows), tmp_path / "h.png")
    ax = drawn[0].axes[0]
    texts = [(tx.get_text(), tx.get_color(), tx.get_position()) for tx in ax.texts]
    assert [label.get_text() for label in ax.get_yticklabels()] == ["noisy", "svd", "gelu"]
    assert [label.get_text() for label in ax.get_xticklabels()] == ["latent 1\nnoise 1", "latent 5\nnoise 1"]
    # (column + 0.5, row + 0.5); the NaN cell (gelu, latent 5) has no text
    assert texts == [("1.00", "w", (0.5, 0.5)), ("0.900", "w", (1.5, 0.5)), ("0.0200", ".15", (0.5, 1.5)),
                     ("0.0300", ".15", (1.5, 1.5)), ("0.300", "w", (0.5, 2.5))]  # fmt: skip
