"""The Ray backend against local (issue 17), on this machine, each command timed end to end in a
subprocess, as a user meets it:

- a small grid (2 activations, 2 seeds, 20 epochs) and, with --default, the default grid;
- --files N recordings (20 signals of 500 samples each) through `denoise FILES -O DIR`;
- on Ray started by the command itself (`--backend ray`) and on a Ray cluster already up
  (`ray start --head`, then RAY_ADDRESS), whose start-up a cluster's users do not pay per command.

Writes benchmarks/results/ray_backend.json (each wall time, and each grid task's own time from its
done.json: what the paper projection of a cluster in benchmarks/README.md is computed from).

    pip install -e ".[ray]" && python benchmarks/ray_backend.py --default --files 100
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

SMALL = ["--activation", "gelu", "--activation", "tanh", "--latent", "5", "--noise", "1.0", "--seed", "0", "--seed", "1",
         "--epochs", "20", "--n-train", "2000", "--n-test", "500"]  # fmt: skip


def timed(args: list[str], env: dict | None = None) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(["sigdenoise", *args], capture_output=True, text=True, env={**os.environ, **(env or {})})
    dt = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"sigdenoise {' '.join(args)} failed:\n{res.stderr[-2000:]}")
    return dt


def task_seconds(folder: Path) -> list[float]:
    return [json.loads(p.read_text())["seconds"] for p in sorted(folder.glob("tasks/*/done.json"))]


def makespan(times: list[float], slots: int) -> float:
    """Longest-processing-time-first list scheduling of tasks on `slots` equal slots: the wall time
    a cluster would take if each task took what it took here (no transfer, no start-up)."""
    load = [0.0] * slots
    for t in sorted(times, reverse=True):
        load[load.index(min(load))] += t
    return max(load)


def project(results: dict, report_extra: dict[str, float], shared: dict | None = None) -> str:
    """On paper: the default grid over 5 and 50 seeds, and the report, on N nodes of this
    machine's size, from the measured time of one seed's task (2 CPUs per task: alone on the node;
    1 CPU per task: two to a node, so its time measured with two running, from `shared`, the
    --seeds run, where given) and the report's other grid runs' recorded training times
    (`report_extra`, seconds)."""
    task = {}
    for r in results["rows"]:
        if r["what"].startswith("default grid") and "started by the command" in r["how"] and r.get("tasks"):
            task[int(r["how"].split(", ")[-1].split(" ")[0])] = r["tasks"][0]
    for r in (shared or {}).get("rows", []):
        if r.get("tasks"):
            task[1] = float(np.mean(r["tasks"]))
    cores = os.cpu_count() or 2
    lines = ["| on paper: nodes of 2 cores | 5-seed default grid | 50-seed default grid | report (training) |",
             "|---:|---:|---:|---:|"]
    for n in (1, 2, 5, 10, 50):
        cells = []
        for seeds in (5, 50):
            best = min(makespan([task[c]] * seeds, n * cores // c) for c in task)
            cells.append(f"{best / 60:.1f} min")
        rep = min(makespan([task[c]] * 10 + list(report_extra.values()), n * cores // c) for c in task)
        lines.append(f"| {n} | {cells[0]} | {cells[1]} | {rep / 60:.1f} min |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--default", action="store_true", help="also the default grid (minutes)")
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--no-grids", action="store_true", help="only the files")
    ap.add_argument("--seeds", type=int, default=0, help="only the default grid over this many seeds, local and on Ray")
    ap.add_argument("--project", action="store_true", help="only print the paper projection from the saved results")
    a = ap.parse_args()
    path = Path(__file__).parent / "results" / "ray_backend.json"
    # The report's variants and wide denoiser, as reports/REPORT.md's models record them (one thread
    # each: the vmapped engine trains on one, so a task's CPUs do not change them).
    extra = {"variants": 6.1 * 60, "wide": 4.9 * 60}
    seeds_path = path.with_name("ray_backend_seeds.json")
    shared = json.loads(seeds_path.read_text()) if seeds_path.is_file() else None
    if a.project:
        print(project(json.loads(path.read_text()), extra, shared))
        return
    tmp = Path(tempfile.mkdtemp(prefix="raybench-"))
    out: dict = {"machine": f"{platform.node()}, {os.cpu_count()} CPUs", "date": time.strftime("%Y-%m-%d"), "rows": []}

    def row(what: str, how: str, seconds: float, **extra) -> None:
        out["rows"].append({"what": what, "how": how, "seconds": round(seconds, 2), **extra})
        print(f"| {what} | {how} | {seconds:.1f} s | {extra or ''}", flush=True)

    if a.seeds:  # the paper projection's first row, measured
        seeds = [x for s in range(a.seeds) for x in ("--seed", str(s))]
        what = f"default grid, {a.seeds} seeds"
        for how, extra_args in (("local", []), ("ray, started by the command, 1 CPU/task", ["--backend", "ray"])):
            f = tmp / how.split(",")[0]
            row(what, how, timed(["grid", *seeds, "--device", "cpu", "--out", str(f), *extra_args]),
                **({"tasks": task_seconds(f)} if extra_args else {}))  # fmt: skip
        path.with_name("ray_backend_seeds.json").write_text(json.dumps(out, indent=1) + "\n")
        shutil.rmtree(tmp, ignore_errors=True)
        return
    grids = [] if a.no_grids else [("small grid (2 activations x 2 seeds, 20 epochs)", SMALL)]
    if a.default and not a.no_grids:
        grids.append(("default grid (14 members, 300 epochs, 1 seed)", []))
    rng = np.random.default_rng(0)
    t = np.arange(500) / 10
    inputs = tmp / "in"
    inputs.mkdir()
    for i in range(a.files):
        x = np.sin(t * (1 + i / a.files))[None] + 0.3 * rng.standard_normal((20, 500))
        np.savetxt(inputs / f"r{i:04d}.csv", x, delimiter=",", fmt="%.6g")
    files = sorted(str(p) for p in inputs.iterdir())
    fwhat = f"{a.files} files (20 signals x 500 samples each)"
    outs = []
    try:
        # First each command on its own (a Ray it starts itself: no cluster is up yet, or ray.init
        # would join it), then on a cluster already up (ray start --head), as a cluster's users run.
        for mode in ("local", "own", "up"):
            env = None
            if mode == "up":
                head = subprocess.run(["ray", "start", "--head", f"--num-cpus={os.cpu_count()}", "--include-dashboard=false"],
                                      capture_output=True, text=True)  # fmt: skip
                if head.returncode != 0:
                    print(f"ray start failed: {head.stderr[-500:]}")
                    break
                env = {"RAY_ADDRESS": "auto"}
            how = {"own": "ray, started by the command", "up": "ray, cluster already up"}.get(mode, "local")
            for what, args in grids:
                f = tmp / f"g-{mode}"
                if mode == "local":
                    row(what, how, timed(["grid", *args, "--device", "cpu", "--out", str(f)]))
                else:
                    for cpus in ("1", "2"):
                        g = f.with_name(f"{f.name}{cpus}")
                        row(what, f"{how}, {cpus} CPU/task", timed(["grid", *args, "--device", "cpu", "--out", str(g),
                            "--backend", "ray", "--cpus-per-task", cpus], env), tasks=task_seconds(g))  # fmt: skip
                for old in tmp.glob("g-*"):
                    shutil.rmtree(old)
            o = tmp / f"o-{mode}"
            extra = [] if mode == "local" else ["--backend", "ray"]
            row(fwhat, how if mode != "local" else "local, one after another", timed(["denoise", *files, "-O", str(o), *extra], env))
            outs.append(o)
            if mode == "local":
                o = tmp / "o-jobs"
                row(fwhat, "local, --jobs 2", timed(["denoise", *files, "-O", str(o), "--jobs", "2"]))
                outs.append(o)
        same = all((outs[0] / Path(p).name).read_bytes() == (o / Path(p).name).read_bytes() for p in files for o in outs[1:])
        out["files_identical"] = same
        print(f"outputs identical across {len(outs)} runs: {same}")
    finally:
        subprocess.run(["ray", "stop"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    if a.no_grids:  # beside the full run's results
        path = path.with_name("ray_backend_files.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")
    if a.default:
        print(project(out, extra, shared))


if __name__ == "__main__":
    main()
