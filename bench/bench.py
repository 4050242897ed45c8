#!/usr/bin/python3
"""Time onyx next to ONNX Runtime on bench/models and write docs/performance.md.

Driven by bench/run.sh (`make bench`), which installs the comparison runtime and
builds the models first.  For every model and thread count:

  1. a short probe run of each runtime (catches models a runtime cannot run, and
     sizes the timed runs: about --budget-ms of runs per process);
  2. --rounds rounds, each starting one onyx process and one ONNX Runtime process
     (the order alternates from round to round), under /usr/bin/time for peak RSS;
  3. the figure reported is the median of the per-process medians, with the ratio of
     the two and, beside it, the median of the per-round ratios; load time and peak
     RSS are medians over the rounds too.

ONNX Runtime's peak RSS has the peak RSS of a node process that only loads the
library subtracted.  Each model's outputs are compared once (one thread) between the
two runtimes.

    /usr/bin/python3 bench/bench.py --onyx build/onyx [--rounds N] [--budget-ms MS]
                                    [--threads 1,2] [--out docs/performance.md] [model...]
"""

import argparse
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ["resnet18", "mobilenet_v2", "squeezenet1_1", "efficientnet_b0", "transformer", "bert_like",
          "lstm", "mlp"]
DESCRIPTIONS = {
    "resnet18": "torchvision resnet18, 1x3x224x224",
    "mobilenet_v2": "torchvision mobilenet_v2, 1x3x224x224",
    "squeezenet1_1": "torchvision squeezenet1_1, 1x3x224x224",
    "efficientnet_b0": "torchvision efficientnet_b0, 1x3x224x224",
    "transformer": "4 encoder layers (d_model 256, 4 heads, ff 1024), 1x128x256",
    "bert_like": "token + position embeddings, LayerNorm, the 4-layer encoder (GELU), int64 ids 1x128",
    "lstm": "2-layer LSTM (input 64, hidden 128), 50 steps, batch 1",
    "mlp": "MLP 784-1024-1024-10, batch 64",
}
TIME = "/usr/bin/time"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def first_error_line(text):
    lines = [ln.strip() for ln in text.replace("\r", "\n").splitlines() if ln.strip()]
    return lines[-1] if lines else "failed without a message"


def cpus_for(threads, rnd):
    """The CPUs a round's processes run on when they use fewer threads than there are CPUs:
    the same ones for both runtimes, moving on every two rounds (so each runtime goes first
    once on each set). On a virtual machine one CPU can run far slower than another for
    minutes (another tenant on its core): left to the scheduler, one runtime could keep
    landing on the slow one. None: all of them."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if threads >= len(cpus):
        return None
    start = (rnd // 2) * threads % len(cpus)
    return {cpus[(start + k) % len(cpus)] for k in range(threads)}


def run_measured(cmd, timeout, cpus=None):
    """Run cmd under /usr/bin/time (on the given CPUs, if any); return (json result or None, error
    text, peak RSS in KiB)."""
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        try:
            p = subprocess.run([TIME, "-f", "%M", "-o", rss.name] + cmd, capture_output=True, text=True,
                               timeout=timeout, cwd=ROOT, preexec_fn=pin)
        except subprocess.TimeoutExpired:
            return None, f"timed out after {timeout:.0f} s", None
        try:
            kib = int(rss.read().strip().splitlines()[-1])
        except (ValueError, IndexError):
            kib = None
    if p.returncode != 0:
        return None, first_error_line(p.stderr or p.stdout), kib
    for line in reversed(p.stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line), None, kib
    return None, "no JSON line in the output", kib


class Runner:
    def __init__(self, name, base_cmd, extra):
        self.name, self.base_cmd, self.extra = name, base_cmd, extra

    def cmd(self, model, inputs, threads, iters, warmup):
        c = list(self.base_cmd) + [model]
        for k, f in inputs:
            c += ["-i", f"{k}={f}"]
        return c + ["--threads", str(threads), "--iters", str(iters), "--warmup", str(warmup)] + self.extra


def model_inputs(models_dir, name):
    pre = f"{name}."
    out = []
    for f in sorted(os.listdir(models_dir)):
        if f.startswith(pre) and f.endswith(".npy"):
            out.append((f[len(pre):-4], os.path.join(models_dir, f)))
    return out


def profile_lines(args, name, threads, top=6):
    """The first op types of `onyx bench --profile` for one model: where the time goes."""
    model = os.path.join(args.models, f"{name}.onnx")
    cmd = [args.onyx, "bench", model, "--threads", str(threads), "--iters", "20", "--profile"]
    for inp, path in model_inputs(args.models, name):
        cmd += ["-i", f"{inp}={path}"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("time per op type"):
            types = []
            for l in lines[i + 1:]:
                if not l.startswith("  ") or len(types) == top:
                    break  # the op types end where the slowest nodes begin
                types.append(l.strip())
            return types
    return []


def compare_outputs(args, model, inputs):
    """Largest |onyx - ORT| over all outputs, relative to the largest |ORT| value."""
    with tempfile.TemporaryDirectory() as d:
        od, rd = os.path.join(d, "onyx"), os.path.join(d, "ort")
        cmd = [args.onyx, "run", model, "--outdir", od]
        for k, f in inputs:
            cmd += ["-i", f"{k}={f}"]
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=args.timeout)
        if p.returncode != 0:
            return None
        cmd = ["node", args.ort_script, model, "--iters", "1", "--warmup", "0", "--dump", rd]
        for k, f in inputs:
            cmd += ["-i", f"{k}={f}"]
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=args.timeout)
        if p.returncode != 0:
            return None
        worst = 0.0
        for f in sorted(os.listdir(rd)):
            ref = np.load(os.path.join(rd, f)).astype(np.float64)
            path = os.path.join(od, f)
            if not os.path.exists(path):
                return f"output {f[:-4]} missing"
            got = np.load(path).astype(np.float64)
            if got.shape != ref.shape:
                return f"output {f[:-4]}: shape {got.shape} vs {ref.shape}"
            scale = max(float(np.max(np.abs(ref))) if ref.size else 0.0, 1e-30)
            diff = float(np.max(np.abs(got - ref))) if ref.size else 0.0
            worst = max(worst, diff / scale)
        return worst


def bench_model(args, runners, name, threads):
    model = os.path.join(args.models, f"{name}.onnx")
    inputs = model_inputs(args.models, name)
    res = {}
    plans = {}
    for r in runners:
        out, err, _ = run_measured(r.cmd(model, inputs, threads, 2, 1), args.timeout)
        if err:
            res[r.name] = {"error": err}
            log(f"  {r.name}: {err}")
            continue
        probe = max(out["min_ms"], 0.001)
        iters = int(min(max(args.budget_ms / probe, 3), 2000))
        warmup = int(min(max(iters // 10, 1), 20))
        plans[r.name] = (iters, warmup)
        res[r.name] = {"medians": [], "mins": [], "loads": [], "envs": [], "rss": [], "iters": iters}
    for rnd in range(args.rounds):
        order = runners if rnd % 2 == 0 else list(reversed(runners))
        for r in order:
            if r.name not in plans or "error" in res[r.name]:
                continue
            iters, warmup = plans[r.name]
            out, err, kib = run_measured(r.cmd(model, inputs, threads, iters, warmup), args.timeout,
                                         cpus_for(threads, rnd))
            if err:
                res[r.name] = {"error": err}
                log(f"  {r.name}: {err}")
                continue
            e = res[r.name]
            e["medians"].append(out["median_ms"])
            e["mins"].append(out["min_ms"])
            e["loads"].append(out["load_ms"])
            e["envs"].append(out.get("env_ms", 0.0))
            if kib is not None:
                e["rss"].append(kib)
    for r in runners:
        e = res[r.name]
        if "error" in e or not e["medians"]:
            continue
        e["median"] = statistics.median(e["medians"])
        e["min"] = min(e["mins"])
        e["load"] = statistics.median(e["loads"])
        e["env"] = statistics.median(e["envs"])
        e["rss_kib"] = statistics.median(e["rss"]) if e["rss"] else None
        log(f"  {r.name}: median {e['median']:.3f} ms (per-round {', '.join(f'{m:.2f}' for m in e['medians'])}),"
            f" load {e['load']:.1f} ms, {e['iters']} iters")
    return res


def cpu_info():
    info = {"model": "unknown", "flags": [], "logical": os.cpu_count() or 0, "physical": None}
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        m = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
        if m:
            info["model"] = m.group(1).strip()
        m = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
        if m:
            flags = set(m.group(1).split())
            info["flags"] = [f for f in ("avx2", "fma", "avx512f") if f in flags]
        cores = set(re.findall(r"^physical id\s*:\s*(\d+)$.*?^core id\s*:\s*(\d+)$", text, re.M | re.S))
        info["physical"] = len(cores) or None
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            m = re.search(r"MemTotal:\s*(\d+)", f.read())
            info["mem_gib"] = int(m.group(1)) / 2**20 if m else None
    except OSError:
        info["mem_gib"] = None
    return info


def build_cpu_probe(args, name="cpu_probe", flags=("-march=native",)):
    """bench/NAME.c built for this machine, or None."""
    exe = os.path.join(ROOT, args.build, name)
    src = os.path.join(ROOT, "bench", name + ".c")
    try:
        r = subprocess.run([os.environ.get("CC", "cc"), "-O2", *flags, src, "-o", exe],
                           capture_output=True, timeout=120)
        return exe if r.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def round_trip_ns(probe):
    """The cache-line round trip between CPU 0 and CPU 1 (bench/xcore_probe.c), or None."""
    if not probe or (os.cpu_count() or 1) < 2:
        return None
    try:
        out = subprocess.run([probe, "0", "1"], capture_output=True, text=True, timeout=60)
        return float(out.stdout.split()[0]) if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def cpu_speeds(probe, together=False):
    """The probe's GFLOP/s on each CPU (pinned with taskset), or {}: one CPU at a time,
    or with together all at once, as a run on every CPU uses them. This VM has had
    phases where each CPU alone is at full speed and together one drops to 60% (its
    host core then runs other work beside it): only the second probe shows those."""
    if not probe or not shutil.which("taskset"):
        return {}
    cpus = range(os.cpu_count() or 1)
    try:
        if together:
            procs = {c: subprocess.Popen(["taskset", "-c", str(c), probe], stdout=subprocess.PIPE,
                                         text=True) for c in cpus}
            outs = {c: p.communicate(timeout=60)[0] for c, p in procs.items()}
        else:
            outs = {c: subprocess.run(["taskset", "-c", str(c), probe], capture_output=True,
                                      text=True, timeout=60).stdout for c in cpus}
        return {c: float(out.split()[0]) for c, out in outs.items()}
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return {}


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def sgemm_section(args):
    """The SGEMM table from `make bench-sgemm` when both it and bench/sgemm_bench.c exist."""
    has_src = os.path.exists(os.path.join(ROOT, "bench", "sgemm_bench.c"))
    has_target = False
    try:
        with open(os.path.join(ROOT, "Makefile")) as f:
            has_target = re.search(r"^bench-sgemm\s*:", f.read(), re.M) is not None
    except OSError:
        pass
    if not (has_src and has_target) or args.skip_sgemm:
        return ["The SGEMM table (onyx's kernel in GFLOP/s next to OpenBLAS) comes with `make bench-sgemm`."]
    log("== make bench-sgemm")
    p = subprocess.run(["make", "-s", f"BUILD={args.build}", "bench-sgemm"], capture_output=True, text=True,
                       cwd=ROOT, timeout=900)
    if p.returncode != 0:
        return [f"`make bench-sgemm` failed: {first_error_line(p.stderr or p.stdout)}"]
    table = [ln for ln in p.stdout.splitlines() if ln.startswith("|")]
    if table:
        return ["From `make bench-sgemm` (GFLOP/s; onyx's SGEMM next to OpenBLAS):", ""] + table
    return ["From `make bench-sgemm` (GFLOP/s; onyx's SGEMM next to OpenBLAS):", "", "```"] + \
        p.stdout.rstrip().splitlines() + ["```"]


def esc(s):
    return s.replace("|", "\\|").replace("\n", " ")


def fmt_ms(x):
    return f"{x:.3f}" if x < 10 else f"{x:.2f}" if x < 100 else f"{x:.1f}"


def speed_lines(args):
    """The report's lines on the CPUs' speed probe (bench/cpu_probe.c)."""
    before, after = getattr(args, "speeds_before", {}), getattr(args, "speeds_after", {})
    if not before or not after:
        return []
    cpus = sorted(before)
    line = ("- CPU speed probe (bench/cpu_probe.c: register-only multiply-adds, GFLOP/s per CPU "
            "before / after the rounds): "
            + ", ".join(f"CPU {c} {before[c]:.0f} / {after.get(c, 0):.0f}" for c in cpus))
    lows = [min(before[c], after.get(c, 0)) for c in cpus]
    highs = [max(before[c], after.get(c, 0)) for c in cpus]
    uneven = len(cpus) > 1 and min(lows) < 0.85 * max(highs)
    tb, ta = getattr(args, "together_before", {}), getattr(args, "together_after", {})
    if len(cpus) > 1 and tb and ta:
        line += ("; all CPUs at once: "
                 + ", ".join(f"CPU {c} {tb.get(c, 0):.0f} / {ta.get(c, 0):.0f}" for c in cpus))
        for t in (tb, ta):
            # together each CPU runs about 10% under its speed alone here: a CPU far under
            # the others, or under 75% of its own speed alone, is one the host shares
            vals = [t.get(c, 0) for c in cpus]
            uneven = uneven or min(vals) < 0.85 * max(vals) or any(
                t.get(c, 0) < 0.75 * min(before[c], after.get(c, 0)) for c in cpus)
    rb, ra = getattr(args, "trip_before", None), getattr(args, "trip_after", None)
    if rb and ra:
        line += (f"; a cache line from CPU 0 to CPU 1 and back (bench/xcore_probe.c): {rb:.0f} / "
                 f"{ra:.0f} ns")
    if uneven:
        line += (". One CPU delivered well under another's throughput at some point (alone or "
                 "beside the others): the host shares it with other work, and figures that use "
                 "it (2-thread runs, the 1-thread rounds pinned to it) swing with that share")
    return [line]


def write_report(args, results, checks, baseline_kib, started, elapsed):
    cpu = cpu_info()
    ort_version = "?"
    try:
        with open(os.path.join(ROOT, "bench", "node_modules", "onnxruntime-node", "package.json")) as f:
            ort_version = json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        pass
    commit = sh(["git", "rev-parse", "--short", "HEAD"]) or "?"
    if sh(["git", "status", "--porcelain", "--untracked-files=no"]):
        commit += " (with local changes)"
    cc = (sh([os.environ.get("CC", "cc"), "--version"]).splitlines() or ["?"])[0]
    load = os.getloadavg()
    L = ["# Performance", "",
         f"Generated by `make bench` on {started:%Y-%m-%d %H:%M} UTC (took {elapsed / 60:.1f} minutes); "
         "run `make bench` to regenerate this file.", "",
         "## Machine", "",
         f"- CPU: {cpu['model']}; {cpu['logical']} logical CPUs"
         + (f", {cpu['physical']} cores" if cpu["physical"] else "")
         + f"; flags: {', '.join(cpu['flags']) or 'none of avx2/fma/avx512f'}",
         f"- Memory: {cpu['mem_gib']:.0f} GiB" if cpu.get("mem_gib") else "- Memory: unknown",
         f"- Load average when the run ended: {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} "
         "(figures from a busy machine are noisy; compare ratios rather than absolute times)",
         *speed_lines(args),
         f"- onyx: commit {commit}, built by `make` ({cc}, -O2)",
         f"- ONNX Runtime {ort_version} (npm onnxruntime-node, its bundled CPU library; graph optimization "
         "level `all`, intra-op threads = the thread count, inter-op threads 1, sequential execution)",
         "",
         "## Method", "",
         "Each model is timed in separate processes: a short probe run sizes the timed runs (about "
         f"{args.budget_ms / 1000:.1f} s of runs per process, at least 3, after a warm-up of about a tenth of "
         f"that), then {args.rounds} rounds each start one onyx process (`onyx bench --json`) and one ONNX "
         "Runtime process (`node bench/ort_bench.js`), alternating which goes first; with fewer threads than "
         "CPUs both processes of a round run on the same CPUs, the next ones every two rounds (this virtual "
         "machine's CPUs can differ in speed for minutes at a time). The latency is the median "
         "over the rounds of each process's median; load is model load + session creation (median over the "
         "rounds); peak RSS is the process's maximum resident set from `/usr/bin/time -f %M` (median over the "
         f"rounds). ONNX Runtime's RSS has the peak RSS of a node process that only loads the library "
         f"({baseline_kib / 1024:.0f} MB here) subtracted. ONNX Runtime's one-off environment set-up in a "
         "process is measured apart (by opening a one-node model first) and is not in its load time; it is "
         "given below the tables.",
         "", "The ratio is onyx's median over ONNX Runtime's: above 1 means onyx is slower. The column "
         "after it is the median over the rounds of each round's ratio (the two processes of a round run "
         "one after the other, so a slow phase of the machine falls on both): it reads the same as the "
         "ratio on a steady machine and stays put when the machine changes speed between rounds.",
         "", "## Models", ""]
    for name in args.models_list:
        L.append(f"- `{name}`: {DESCRIPTIONS.get(name, '')}")
    L.append("")
    L.append("Built by `tools/make_bench_models.py` (random weights with a fixed seed, eval mode, opset 17) into "
             "`bench/models/`, with one `.npy` per input so both runtimes get the same inputs.")
    L.append("")
    envs = []
    for threads in args.thread_list:
        L += [f"## {threads} thread{'s' if threads > 1 else ''}", "",
              "| model | onyx median ms | ORT median ms | onyx/ORT | per round | onyx peak RSS MB "
              "| ORT peak RSS MB | onyx load ms | ORT load ms |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        notes = []
        for name in args.models_list:
            res = results.get((name, threads), {})
            o, r = res.get("onyx", {}), res.get("ort", {})
            if "env" in r:
                envs.append(r["env"])

            def cell(e, key, f):
                return f(e[key]) if key in e and e[key] is not None else "–"
            if "error" in o and "error" in r:
                L.append(f"| {name} | not run: {esc(o['error'])} | not run: {esc(r['error'])} | | | | | | |")
                continue
            ratio = f"{o['median'] / r['median']:.2f}" if "median" in o and "median" in r else "–"
            pairs = list(zip(o.get("medians", []), r.get("medians", [])))
            per_round = (f"{statistics.median(a / b for a, b in pairs):.2f}"
                         if "median" in o and "median" in r and pairs else "–")
            ort_rss = (lambda k: f"{max(k - baseline_kib, 0) / 1024:.0f}")
            if "error" in o:
                L.append(f"| {name} | not run (see below) | {cell(r, 'median', fmt_ms)} | – | – | – | "
                         f"{cell(r, 'rss_kib', ort_rss)} | – | {cell(r, 'load', fmt_ms)} |")
                notes.append(f"- {name}: onyx cannot run it yet: `{esc(o['error'])}`")
                continue
            if "error" in r:
                notes.append(f"- {name}: ONNX Runtime failed: `{esc(r['error'])}`")
            L.append(f"| {name} | {cell(o, 'median', fmt_ms)} | {cell(r, 'median', fmt_ms)} | {ratio} | {per_round} | "
                     f"{cell(o, 'rss_kib', lambda k: f'{k / 1024:.0f}')} | {cell(r, 'rss_kib', ort_rss)} | "
                     f"{cell(o, 'load', fmt_ms)} | {cell(r, 'load', fmt_ms)} |")
        L.append("")
        if notes:
            L += notes + [""]
    if envs:
        L += [f"ONNX Runtime's one-off environment set-up per process (not in its load times above): median "
              f"{statistics.median(envs):.0f} ms. onyx has no such set-up.", ""]
    slow = [(n, t) for t in args.thread_list for n in args.models_list
            if "median" in results.get((n, t), {}).get("onyx", {})
            and "median" in results.get((n, t), {}).get("ort", {})
            and results[(n, t)]["onyx"]["median"] > results[(n, t)]["ort"]["median"]]
    if slow:
        L += ["## Where onyx is slower: where the time goes", "",
              "For each row above with onyx/ORT > 1, the op types that take the most time in "
              "`onyx bench MODEL --threads N --profile` (each node's median over its runs, summed by "
              "op type; fused steps are named by their ops, e.g. `Conv+Add+Relu`):", ""]
        for name, threads in slow:
            prof = profile_lines(args, name, threads)
            L += [f"- `{name}`, {threads} thread{'s' if threads > 1 else ''}:", "", "  ```"]
            L += [f"  {p}" for p in prof] or ["  (no profile)"]
            L += ["  ```", ""]
    L += ["## Do the outputs agree?", "",
          "Each model run once by both (one thread); the largest |onyx − ORT| over all outputs, divided by the "
          "largest |ORT| value:", "", "| model | max relative difference |", "|---|---:|"]
    for name in args.models_list:
        c = checks.get(name)
        L.append(f"| {name} | {c if isinstance(c, str) else '–' if c is None else f'{c:.1e}'} |")
    L += ["", "## SGEMM", ""] + sgemm_section(args) + [""]
    with open(args.out, "w") as f:
        f.write("\n".join(L))
    log(f"wrote {os.path.relpath(args.out, ROOT)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onyx", default=os.path.join(ROOT, "build", "onyx"))
    ap.add_argument("--build", default="build")
    ap.add_argument("--models", default=os.path.join(ROOT, "bench", "models"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "performance.md"))
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "6")))
    ap.add_argument("--budget-ms", type=float, default=float(os.environ.get("BENCH_BUDGET_MS", "1000")))
    ap.add_argument("--threads", default=os.environ.get("BENCH_THREADS", "1,2"))
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--skip-sgemm", action="store_true")
    ap.add_argument("models_list", nargs="*")
    args = ap.parse_args()
    args.onyx = os.path.abspath(args.onyx)
    args.models = os.path.abspath(args.models)
    args.out = os.path.abspath(args.out)
    args.ort_script = os.path.join(ROOT, "bench", "ort_bench.js")
    args.thread_list = [int(t) for t in args.threads.split(",") if t.strip()]
    if not args.models_list:
        args.models_list = [m for m in MODELS if os.path.exists(os.path.join(args.models, f"{m}.onnx"))]
        missing = [m for m in MODELS if m not in args.models_list]
        if missing:
            log(f"bench: no model file for {', '.join(missing)} (left out)")
    for tool in (TIME, args.onyx):
        if not os.access(tool, os.X_OK):
            sys.exit(f"bench: {tool} is missing")
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = datetime.datetime.now().timestamp()
    probe = build_cpu_probe(args)
    args.speeds_before = cpu_speeds(probe)
    args.together_before = cpu_speeds(probe, together=True)
    xprobe = build_cpu_probe(args, "xcore_probe", ("-pthread",))
    args.trip_before = round_trip_ns(xprobe)
    log(f"cache-line round trip: {args.trip_before} ns")
    log(f"CPU speed probe: {args.speeds_before}, all at once {args.together_before}")

    base = []
    for _ in range(3):
        out, err, kib = run_measured(["node", args.ort_script, "--baseline"], 60)
        if err:
            sys.exit(f"bench: the comparison runtime does not load: {err}")
        base.append(kib or 0)
    baseline_kib = statistics.median(base)
    log(f"node + ONNX Runtime library alone: {baseline_kib / 1024:.0f} MB peak RSS")

    warm = os.path.join(args.models, "_identity.onnx")
    runners = [Runner("onyx", [args.onyx, "bench"], ["--json"]),
               Runner("ort", ["node", args.ort_script], ["--warm-env", warm] if os.path.exists(warm) else [])]
    results, checks = {}, {}
    for name in args.models_list:
        for threads in args.thread_list:
            log(f"== {name}, {threads} thread{'s' if threads > 1 else ''}")
            results[(name, threads)] = bench_model(args, runners, name, threads)
        if "error" not in results[(name, args.thread_list[0])].get("onyx", {"error": 1}):
            checks[name] = compare_outputs(args, os.path.join(args.models, f"{name}.onnx"),
                                           model_inputs(args.models, name))
    args.speeds_after = cpu_speeds(probe)
    args.together_after = cpu_speeds(probe, together=True)
    args.trip_after = round_trip_ns(xprobe)
    log(f"cache-line round trip: {args.trip_after} ns")
    log(f"CPU speed probe: {args.speeds_after}, all at once {args.together_after}")
    write_report(args, results, checks, baseline_kib, started, datetime.datetime.now().timestamp() - t0)


if __name__ == "__main__":
    main()
