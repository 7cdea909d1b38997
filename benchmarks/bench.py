"""Training benchmarks of sigdenoise (issue 5): one run measures every figure, each next to the
reference it is a ratio of, measured in the same run on the same machine.

    python benchmarks/bench.py                   # everything, ~15 min on 2 busy CPU cores
    python benchmarks/bench.py --quick           # fewer epochs and repeats, ~4 min
    python benchmarks/bench.py --only grid,peak  # some: peak grid members sizes batch micro denoise command
    python benchmarks/bench.py --compile         # adds torch.compile (minutes of compiling)

Prints Markdown tables and writes every figure with the machine, command and date to --json.
FLOPs of training: forward 2 * sum(d_in * d_out) per sample and member, backward twice that.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

from sigdenoise import seeds as seed_streams
from sigdenoise import synthetic
from sigdenoise.device import resolve
from sigdenoise.models.activations import ACTIVATIONS
from sigdenoise.models.architecture import layer_sizes
from sigdenoise.models.autoencoder import Autoencoder
from sigdenoise.study.settings import DEFAULT_EPOCHS
from sigdenoise.train.common import batch_slices
from sigdenoise.train.members import Member
from sigdenoise.train.reference import train_lone
from sigdenoise.train.stack import Ensemble
from sigdenoise.train.stacked import train_ensemble

SD = 2.25
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES: list[dict] = []


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def record(section: str, name: str, value: float, unit: str, note: str = "") -> None:
    FIGURES.append({"section": section, "name": name, "value": value, "unit": unit, "note": note})
    print(f"| {section} | {name} | {value:,.4g} {unit} | {note} |", flush=True)


def flops_per_sample(members: list[Member]) -> float:
    """Training FLOPs per sample, all members: 3 x forward, forward = 2 sum(d_in d_out)."""
    return sum(3 * 2 * sum(a * b for a, b in zip(s[:-1], s[1:])) for s in (layer_sizes(m.latent) for m in members))


def grid_members(n: int) -> list[Member]:
    """7 (latent 5), 14 (both latents), then more seeds: 28, 56, 112."""
    if n == 7:
        return [Member(5, a, 0) for a in ACTIVATIONS]
    return [Member(k, a, s) for s in range(n // 14) for k in (1, 5) for a in ACTIVATIONS]


def datasets(members, n, device) -> dict[int, torch.Tensor]:
    seeds = sorted({m.seed for m in members})
    return {s: torch.as_tensor(synthetic.training_set(s, n, SD), dtype=torch.float32, device=device) for s in seeds}


def time_ensemble(members, n, epochs, device, **kw) -> tuple[float, float, Ensemble, np.ndarray]:
    """(first epoch s, mean later epoch s, trained ensemble, losses): the first epoch carries
    the start-up (buffers, forks, compiling), reported apart. A mean, not a median: the worker
    processes run ahead of on_epoch, so single epochs' stamps are uneven."""
    data = datasets(members, n, device)
    ens = Ensemble.build(members).to(device)
    stamps = [time.perf_counter()]
    log = train_ensemble(ens, data, epochs, on_epoch=lambda e, l: stamps.append(time.perf_counter()), **kw)
    first = stamps[1] - stamps[0]
    later = (stamps[-1] - stamps[1]) / (epochs - 1) if epochs > 1 else first
    return first, later, ens, log.losses


def time_plain(members, n, device, reps: int) -> float:
    """Seconds for one epoch of every member with the plain per-model loop (train_lone), the
    same steps on the same batches; median over reps."""
    data = datasets(members, n, device)
    out = []
    for _ in range(reps):
        total = 0.0
        for m in members:
            model = Autoencoder(m.activation, m.latent, m.seed).to(device)
            total += train_lone(model, data[m.seed], 1).seconds
        out.append(total)
    return statistics.median(out)


def time_legacy(members, n, device, epochs: int = 2) -> float:
    """The stacked trainer as it was before issue 5 (autograd through Stack.forward, per-group
    slicing and cat, torch.optim.Adam over per-layer parameters): seconds per epoch."""
    data = datasets(members, n, device)
    ens = Ensemble.build(members).to(device)
    seeds = sorted(data)
    stacked = torch.stack([data[s] for s in seeds])
    index = [torch.tensor([seeds.index(m.seed) for m in st.members], device=device) for st in ens.stacks]
    opt, gen = torch.optim.Adam(ens.parameters(), lr=1e-3), seed_streams.batch_order(0)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.stack([torch.randperm(n, generator=gen) for _ in seeds]).to(device)
        for sl in batch_slices(n, 256):
            xb = torch.gather(stacked, 1, perm[:, sl, None].expand(-1, -1, stacked.shape[2]))
            xs = [xb[0] if len(seeds) == 1 else xb[i] for i in index]
            losses = [((st(x) - x) ** 2).mean((1, 2)) for st, x in zip(ens.stacks, xs)]
            opt.zero_grad(set_to_none=True)
            torch.cat(losses).sum().backward()
            opt.step()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def matmul_peak(device, threads: int | None = None, n: int = 4096, reps: int = 5) -> float:
    """FLOP/s of a large square float32 matmul: the device's practical peak."""
    old = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    a = torch.randn(n, n, device=device)
    a @ a
    ts = []
    for _ in range(reps):
        sync(device)
        t0 = time.perf_counter()
        a @ a
        sync(device)
        ts.append(time.perf_counter() - t0)
    torch.set_num_threads(old)
    return 2 * n**3 / statistics.median(ts)


def section_peak(device, args) -> float:
    """The device's matmul peak: the best of three large square sizes (median of 5 each), so
    that a slow moment at one size does not lower the bar."""
    sizes = (4096, 8192, 16384) if device.type == "cuda" else (2048, 4096, 8192)
    rates = {n: matmul_peak(device, n=n) for n in sizes}
    peak = max(rates.values())
    record("peak", "float32 matmul peak, default threads", peak / 1e9, "GFLOP/s",
           f"{torch.get_num_threads()} threads; best of " + ", ".join(f"{n}²: {r / 1e9:.0f}" for n, r in rates.items()))  # fmt: skip
    if device.type == "cpu":
        one = matmul_peak(device, threads=1)
        record("peak", "float32 matmul, 1 thread, 4096²", one / 1e9, "GFLOP/s",
               "a 2-thread figure under 1.6x this one means another job held a core")  # fmt: skip
    return peak


PLAIN: dict[str, float] = {}  # the plain loop's s/epoch, for the command section's ratio


def section_grid(device, args, peak: float) -> None:
    """The full grid (14 members, 20,000 signals, batch 256, lr 1e-3): stacked vs plain loop."""
    members, n = grid_members(14), 20_000
    fl_epoch = flops_per_sample(members) * n
    # The default trainer of a 300-epoch grid: the compiled step (its first epoch compiles).
    first, epoch, _, _ = time_ensemble(members, n, 2 * args.epochs, device, compile=True)
    _, tape, _, _ = time_ensemble(members, n, args.epochs, device, compile=False)
    plain = time_plain(members, n, device, args.reps)
    PLAIN["default"] = plain
    record("grid", "stacked ensemble, compiled step, s/epoch (the grid's default)", epoch, "s",
           f"mean of epochs 2-{2 * args.epochs}")  # fmt: skip
    record("grid", "its first epoch: compiling (inductor cache as found) and forking", first, "s")
    record("grid", "stacked ensemble, tape (uncompiled), s/epoch", tape, "s", f"mean of epochs 2-{args.epochs}")
    threads = torch.get_num_threads()
    record("grid", "plain per-model loop, s/epoch (14 models)", plain, "s", f"torch default, {threads} threads")
    record("grid", "speed-up vs plain loop, compiled / tape", plain / epoch, "x", f"tape {plain / tape:.2f}x")
    for name, t in (("compiled", epoch), ("tape", tape)):
        record("grid", f"training FLOP/s, {name}", fl_epoch / t / 1e9, "GFLOP/s",
               f"{100 * fl_epoch / t / peak:.1f} % of the matmul peak")  # fmt: skip
    if device.type == "cpu":
        torch.set_num_threads(1)
        plain1 = time_plain(members, n, device, args.reps)
        PLAIN["1 thread"] = plain1
        _, one, _, _ = time_ensemble(members, n, args.epochs, device, workers=1, compile=False)
        torch.set_num_threads(2)
        _, omp, _, _ = time_ensemble(members, n, args.epochs, device, workers=1, compile=False)
        torch.set_num_threads(args.threads)
        record("grid", "plain per-model loop, 1 thread, s/epoch", plain1, "s", f"speed-up {plain1 / epoch:.2f}x")
        record("grid", "tape, 1 process 1 thread, s/epoch", one, "s", "workers=1")
        record("grid", "tape, 1 process 2 OpenMP threads, s/epoch", omp, "s", "workers=1, set_num_threads(2)")
    record("grid", "stacked, before issue 5 (autograd), s/epoch", time_legacy(members, n, device), "s")
    record("grid", "peak resident memory so far", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "MiB")


def section_command(device, args) -> None:
    """The whole `sigdenoise grid` command (14 trainings of DEFAULT_EPOCHS, evaluation, figures)
    against the plain loop's training alone for the same trainings; with inductor's disk cache
    as this run left it (warm) and empty (a fresh machine's first run)."""
    import tempfile

    plain = PLAIN.get("1 thread") or PLAIN.get("default")
    if plain is None:
        plain = time_plain(grid_members(14), 20_000, device, 1)
    plain_total = plain * DEFAULT_EPOCHS
    epochs = DEFAULT_EPOCHS if not args.quick else 20
    scaled = plain * epochs  # the plain loop's training alone at the epochs timed here
    for cache in ("warm", "cold"):
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ)
            if cache == "cold":
                env["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(tmp, "inductor")
            cmd = [sys.executable, "-m", "sigdenoise", "grid", "--out", os.path.join(tmp, "run"), "--epochs", str(epochs),
                   "--device", device.type]  # fmt: skip
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            total = time.perf_counter() - t0
        record("command", f"sigdenoise grid, {epochs} epochs, inductor cache {cache}", total, "s",
               f"{scaled / total:.1f}x the plain loop's training alone ({scaled:.0f} s)")  # fmt: skip
    record("command", f"plain loop's training alone, {DEFAULT_EPOCHS} epochs (s/epoch x epochs)", plain_total, "s",
           "its best thread setting" if "1 thread" in PLAIN else "torch default threads")  # fmt: skip


def section_members(device, args) -> None:
    for m in (7, 14, 28, 56, 112):
        members = grid_members(m)
        _, epoch, _, _ = time_ensemble(members, 20_000, args.epochs, device, compile=False)
        record("members", f"{m} members, tape, s/epoch", epoch, "s", f"{1e3 * epoch / m:.1f} ms per member-epoch")


def section_sizes(device, args) -> None:
    for n in (5_000, 10_000, 20_000, 40_000, 80_000):
        _, epoch, _, _ = time_ensemble(grid_members(14), n, args.epochs, device, compile=False)
        record("sizes", f"N = {n:,}, tape, s/epoch", epoch, "s", f"{1e6 * epoch / n:.1f} us per signal")


def section_batch(device, args) -> None:
    """Larger batches with sqrt-scaled lr: time, and quality after the same number of epochs."""
    members, epochs = grid_members(14), DEFAULT_EPOCHS if not args.quick else 15
    test = synthetic.training_set(10_001, 2_000, SD)  # held-out clean signals
    ref = None
    for batch, lr in ((256, 1e-3), (1024, 2e-3), (4096, 4e-3)):
        data = datasets(members, 20_000, device)
        ens = Ensemble.build(members).to(device)
        t0 = time.perf_counter()
        log = train_ensemble(ens, data, epochs, batch, lr, compile=False)  # like for like: the tape
        total = time.perf_counter() - t0
        mse = np.array([np.mean((m.cpu().eval().denoise(test) - test) ** 2) for m in ens.to_models()])
        ref = mse if ref is None else ref
        worst = np.max(mse / ref)
        record("batch", f"batch {batch}, lr {lr:g}: {epochs} epochs", total, "s",
               f"test MSE mean {mse.mean():.4g}, worst member {worst:.2f}x batch 256's; train loss {log.losses[-1].mean():.4g}")  # fmt: skip


def section_micro(device, args) -> None:
    """Mechanisms, one at a time."""
    M, B = 14, 256
    h, W = torch.randn(M, B, 50, device=device), torch.randn(M, 50, 25, device=device)
    block = torch.block_diag(*W)  # (M*50, M*25)
    flat = h.transpose(0, 1).reshape(B, -1)
    record("micro", "layer 50->25, bmm", bench(lambda: torch.bmm(h, W), device) * 1e6, "us")
    record("micro", "layer 50->25, one block-diagonal matmul", bench(lambda: flat @ block, device) * 1e6, "us",
           "M x the FLOPs")  # fmt: skip
    # The step's matmuls alone, one thread: the ceiling of this model's shapes at batch 256.
    torch.set_num_threads(1 if device.type == "cpu" else args.threads)  # as in a training process
    sizes, x = layer_sizes(5), torch.randn(B, 100, device=device)
    Ws = [torch.randn(M, a, b, device=device) for a, b in zip(sizes[:-1], sizes[1:])]
    hs = [torch.randn(M, B, a, device=device) for a in sizes]
    W0 = Ws[0].transpose(0, 1).reshape(100, -1)

    def matmuls():
        z0 = x @ W0
        for l in range(1, 8):
            torch.bmm(hs[l], Ws[l])
            torch.bmm(hs[l].transpose(1, 2), hs[l + 1]), torch.bmm(hs[l + 1], Ws[l].transpose(1, 2))
        x.T @ z0

    t = bench(matmuls, device, 20)
    fl = flops_per_sample(grid_members(14)) * B / t
    record("micro", "one step's matmuls alone (14 members, batch 256)", fl / 1e9, "GFLOP/s",
           f"{1 if device.type == 'cpu' else args.threads} thread; {t * 1e3:.2f} ms")  # fmt: skip
    p = torch.zeros(190_000, device=device)
    p.grad = torch.randn_like(p)
    for name, opt in (("torch.optim.Adam fused", torch.optim.Adam([p], fused=True)),
                      ("torch.optim.Adam foreach", torch.optim.Adam([p], foreach=True))):  # fmt: skip
        record("micro", f"Adam step, 190k params, {name}", bench(opt.step, device) * 1e6, "us")
    from sigdenoise.train.adam import FlatAdam

    for fused in (False, True):
        fa = FlatAdam(p, p.grad, 1e-3, fused=fused)
        record("micro", f"Adam step, 190k params, FlatAdam {'fused kernel (default)' if fused else '7 kernels'}",
               bench(fa.step, device) * 1e6, "us")  # fmt: skip
    torch.set_num_threads(args.threads)
    cold = subprocess.run([sys.executable, "-c", "import torch,time; t=time.perf_counter(); "
                           "torch.optim.Adam([torch.zeros(1, requires_grad=True)]); print(time.perf_counter()-t)"],
                          capture_output=True, text=True).stdout  # fmt: skip
    record("micro", "first torch.optim.Adam() in a process", float(cold), "s", "imports torch._dynamo")
    t0 = time.perf_counter()
    x = torch.as_tensor(synthetic.training_set(0, 20_000, SD), dtype=torch.float32, device=device)
    record("micro", "training set, 20,000 signals: numpy + copy to device", (time.perf_counter() - t0) * 1e3, "ms",
           "once per seed and run")  # fmt: skip
    perm = torch.randperm(20_000, device=device)
    record("micro", "batches by gather each step, per epoch",
           bench(lambda: [x[perm[sl]] for sl in batch_slices(20_000, 256)], device, 5) * 1e3, "ms")  # fmt: skip
    record("micro", "batches as slices of one shuffle, per epoch",
           bench(lambda: [xp[sl] for xp in [x[perm]] for sl in batch_slices(20_000, 256)], device, 5) * 1e3, "ms")  # fmt: skip
    if device.type == "cpu":
        import threading

        def mul_loop(n=2000):
            a, o = torch.randn(100_000), torch.empty(100_000)
            for _ in range(n):
                torch.mul(a, a, out=o)

        torch.set_num_threads(1)
        one = bench(mul_loop, device, 1)
        ts = [threading.Thread(target=mul_loop) for _ in range(2)]
        t0 = time.perf_counter()
        [t.start() for t in ts], [t.join() for t in ts]
        two = time.perf_counter() - t0
        torch.set_num_threads(args.threads)
        record("micro", "2 Python threads vs 1, same kernels each", 2 * one / two, "x throughput",
               "why workers are processes: GIL hand-offs")  # fmt: skip


def bench(fn, device, reps: int = 50) -> float:
    fn()
    ts = []
    for _ in range(max(reps // 10, 3)):
        sync(device)
        t0 = time.perf_counter()
        for _ in range(10 if reps >= 10 else 1):
            fn()
        sync(device)
        ts.append((time.perf_counter() - t0) / (10 if reps >= 10 else 1))
    return statistics.median(ts)


def section_denoise(device, args) -> None:
    """In-memory Autoencoder.denoise (no CSV files), in a fresh process so that its peak resident
    memory is its own: signals per second and memory."""
    code = (f"import resource,time,torch; from benchmarks.bench import *; d=resolve('{device.type}'); "
            "x=np.concatenate([synthetic.training_set(s, 20_000, SD) for s in range(10)]); "
            "m=Autoencoder('tanh', 5).to(d).eval(); "
            "rss=int(open('/proc/self/statm').read().split()[1])*os.sysconf('SC_PAGE_SIZE')/2**20; "
            "t=bench(lambda: m.denoise(x), d, 3); cuda=torch.cuda.max_memory_allocated() if d.type=='cuda' else 0; "
            "print(len(x)/t, t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024, rss, cuda/2**20)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    rate, t, peak, before, cuda = map(float, out.stdout.split())
    record("denoise", "Autoencoder.denoise, 200,000 signals (in memory)", rate, "signals/s", f"{t:.3f} s a call")
    record("denoise", "peak resident memory of that process", peak, "MiB",
           f"{before:.0f} MiB with torch and the 160 MB of signals loaded" + (f"; GPU {cuda:.0f} MiB" if cuda else ""))  # fmt: skip


def section_compile(device, args) -> None:
    """torch.compile of the autograd stacked forward: compile time, then step time."""
    members = grid_members(14)
    ens = Ensemble.build(members).to(device)
    x = datasets(members, 256, device)[0]
    opt = torch.optim.Adam(ens.parameters(), lr=1e-3)

    def loss(ens, x):
        return sum(((st(x) - x) ** 2).mean((1, 2)).sum() for st in ens.stacks)

    compiled = torch.compile(loss)
    for name, fn in (("eager autograd", loss), ("torch.compile", compiled)):
        t0 = time.perf_counter()
        fn(ens, x).backward()
        record("compile", f"{name}: first step", time.perf_counter() - t0, "s")

        def step():
            opt.zero_grad()
            fn(ens, x).backward()
            opt.step()

        record("compile", f"{name}: step", bench(step, device, 20) * 1e3, "ms")


SECTIONS = {"peak": None, "grid": section_grid, "members": section_members, "sizes": section_sizes,
            "batch": section_batch, "micro": section_micro, "denoise": section_denoise,
            "command": section_command}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default=",".join(SECTIONS))
    p.add_argument("--compile", action="store_true")
    p.add_argument("--json", default=None, help="where to write the figures (default benchmarks/results/<date>.json)")
    args = p.parse_args()
    args.epochs, args.reps = (3, 1) if args.quick else (5, 3)
    args.threads = torch.get_num_threads()
    device = resolve(args.device)
    cpu = platform.processor() or platform.machine()
    if os.path.exists("/proc/cpuinfo"):
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), cpu)
    machine = torch.cuda.get_device_name() if device.type == "cuda" else f"{cpu}, {os.cpu_count()} cores"
    start, load0 = datetime.datetime.now().isoformat(timespec="seconds"), os.getloadavg()
    print(f"machine: {machine}; torch {torch.__version__}; threads {args.threads}; load {os.getloadavg()}; {start}\n")
    print("| section | figure | value | note |\n|---|---|---|---|")
    peak = section_peak(device, args)
    for name in args.only.split(","):
        if SECTIONS.get(name):
            SECTIONS[name](device, args, peak) if name == "grid" else SECTIONS[name](device, args)
    if args.compile:
        section_compile(device, args)
    out = args.json or f"benchmarks/results/{start[:10]}-{device.type}.json"
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"machine": machine, "torch": torch.__version__, "command": " ".join(sys.argv), "date": start,
                   "load_start_end": [load0, os.getloadavg()], "figures": FIGURES}, f, indent=1)  # fmt: skip
    print(f"\nwrote {out}; load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
