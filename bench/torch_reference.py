#!/usr/bin/env python3
"""PyTorch peer of `mmeureka bench engine`: GEMM GFLOP/s, one GPT training step, KV-cached sampling and
the training run's peak RSS, each at PyTorch's fastest use of 1 or 2 threads.

    python3 bench/torch_reference.py            # table
    python3 bench/torch_reference.py --json     # one JSON object (bench/compare.sh reads it)
    python3 bench/torch_reference.py --quick    # fewer repeats
    python3 bench/torch_reference.py --single-thread   # only torch=1,blas=1 (single-core comparisons)
    python3 bench/torch_reference.py --vlm-checkpoint DIR   # also MiniVlm's KV-cache sampling from that checkpoint
"""
import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import Gpt  # noqa: E402

# (torch intra-op threads, OpenBLAS threads): Debian's torch.mm runs in OpenBLAS, whose pool
# torch.set_num_threads does not reach, so each pair is tried and each item keeps its fastest.
CONFIGS = ((1, 1), (1, 2), (2, 1), (2, 2))
GEMM_SIZES = (128, 256, 512, 1024)
# The GPT of the brief: vocab 96, dim 128, 4 layers, 4 heads, sequence 96, batch 32.
VOCAB, DIM, LAYERS, HEADS, SEQ, BATCH = 96, 128, 4, 4, 96, 32
PROMPT, NEW_TOKENS, GEN_BATCHES = 16, 64, (8, 64)
# MiniVlm sampling: the workload of src/MMEureka.Cli/Bench/VlmSamplingBenchmark.cs
VLM_NEW_TOKENS, VLM_BATCHES = 160, (8, 64)


def median_seconds(fn, warmup, repeats, budget_s, warmup_s=0.0):
    """Median of up to `repeats` timed calls after at least `warmup` calls and `warmup_s` seconds of untimed calls;
    stops early once three samples are in and budget_s has passed, so a badly oversubscribed thread configuration
    cannot stretch the whole run."""
    t0, done = time.perf_counter(), 0
    while done < warmup or time.perf_counter() - t0 < warmup_s:
        fn()
        done += 1
    times, start = [], time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 3 and time.perf_counter() - start > budget_s:
            break
    return statistics.median(times)


def bench_gemm(n, samples):
    """Same method as cblas_direct.c and GemmBenchmark.cs: warm up (>= 2 calls and >= 50 ms), size a sample
    to last >= 50 ms, median over the samples."""
    g = torch.Generator().manual_seed(n)
    a, b = torch.rand(n, n, generator=g) * 2 - 1, torch.rand(n, n, generator=g) * 2 - 1
    out = torch.empty(n, n)
    min_sample = 0.05
    t0, warm = time.perf_counter(), 0
    while warm < 2 or time.perf_counter() - t0 < min_sample:
        torch.mm(a, b, out=out)
        warm += 1
    t0 = time.perf_counter()
    torch.mm(a, b, out=out)
    calls = max(1, math.ceil(min_sample / (time.perf_counter() - t0)))
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(calls):
            torch.mm(a, b, out=out)
        times.append((time.perf_counter() - t0) / calls)
    return 2 * n ** 3 / statistics.median(times) / 1e9


def train_item(quick):
    """The first thing its process runs (see all_items), so that ru_maxrss is this benchmark's alone."""
    torch.manual_seed(0)
    model = Gpt(VOCAB, DIM, LAYERS, HEADS, SEQ)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01)
    g = torch.Generator().manual_seed(1)
    data = torch.randint(0, VOCAB, (BATCH, SEQ + 1), generator=g)
    x, y = data[:, :-1], data[:, 1:]

    def step():
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    # the same warm-up rule as EngineBenchmark.TrainStepSeconds: steady state, as in a long training run
    warmup, steps, warmup_s = (1, 4, 1.0) if quick else (2, 8, 3.0)
    ms = median_seconds(step, warmup, steps, budget_s=3.0, warmup_s=warmup_s) * 1e3
    # ru_maxrss is the peak so far; read before anything else runs in this process (Linux reports KiB)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"train_step_ms": ms, "peak_rss_mb": rss_mb}


def bench_generate(model, batch, repeats):
    g = torch.Generator().manual_seed(batch)
    prompt = torch.randint(0, VOCAB, (batch, PROMPT), generator=g)
    t = median_seconds(lambda: model.generate(prompt, NEW_TOKENS, 1.0, g), warmup=1, repeats=repeats, budget_s=2.0)
    return batch * NEW_TOKENS / t


def kernels_item(quick):
    gemm_samples, gen_rep = (3, 3) if quick else (7, 5)
    out = {f"gemm_{n}": bench_gemm(n, gemm_samples) for n in GEMM_SIZES}
    torch.manual_seed(0)
    model = Gpt(VOCAB, DIM, LAYERS, HEADS, SEQ).eval()
    out.update({f"generate_{b}": bench_generate(model, b, gen_rep) for b in GEN_BATCHES})
    return out


def vlm_workload(cfg, tokenizer_path, batch):
    """Prompts and images of VlmSamplingBenchmark.cs: prompt i = <bos>What is {i} + {i % 7}?\n (characters are
    single tokens), image i value ((j * 7 + i * 31) mod 251) / 250 at channel-first index j."""
    with open(tokenizer_path, encoding="utf-8") as f:
        ids = {text: int(i) for i, text in json.load(f).items()}
    prompts = [[ids["<bos>"]] + [ids[ch] for ch in f"What is {i} + {i % 7}?\n"] for i in range(batch)]
    c, s = cfg["channels"], cfg["image_size"]
    j = torch.arange(c * s * s, dtype=torch.long)
    pixels = torch.stack([((j * 7 + i * 31) % 251).float() / 250.0 for i in range(batch)]).reshape(batch, c, s, s)
    return pixels, prompts


def vlm_item(checkpoint, quick):
    """Median tokens/s of MiniVlm.generate (temperature 1, at most 160 new tokens) over calls with seeds 1, 2, ...
    after >= 1 call and >= 2 s of untimed ones, as VlmSamplingBenchmark.Measure; and the mean tokens per row."""
    from parity import load_vlm, read_vlm_config  # noqa: E402 (numpy-based safetensors reader)
    cfg = read_vlm_config(checkpoint)
    model = load_vlm(checkpoint, cfg, torch.float32)
    out = {}
    for batch in VLM_BATCHES:
        pixels, prompts = vlm_workload(cfg, os.path.join(checkpoint, "tokenizer.json"), batch)
        t0, seed = time.perf_counter(), 1000
        while True:
            model.generate(pixels, prompts, VLM_NEW_TOKENS, 1.0, torch.Generator().manual_seed(seed))
            seed += 1
            if time.perf_counter() - t0 >= 2.0:
                break
        rates, tokens, start = [], 0, time.perf_counter()
        for call in range(3 if quick else 5):
            t1 = time.perf_counter()
            rows = model.generate(pixels, prompts, VLM_NEW_TOKENS, 1.0, torch.Generator().manual_seed(call + 1))
            n = sum(len(r) for r in rows)
            rates.append(n / (time.perf_counter() - t1))
            tokens += n
            if len(rates) >= 3 and time.perf_counter() - start > 6.0:
                break
        out[f"vlm_generate_{batch}"] = statistics.median(rates)
        out[f"vlm_tokens_per_row_{batch}"] = tokens / (len(rates) * batch)
    return out


def all_items(quick, vlm_checkpoint=None):
    """Training first, so that the peak RSS read after it is the training's own."""
    out = train_item(quick)
    out.update(kernels_item(quick))
    if vlm_checkpoint:
        out.update(vlm_item(vlm_checkpoint, quick))
    return out


def config_name(cfg):
    return f"torch={cfg[0]},blas={cfg[1]}"


def run_config(cfg, quick, vlm_checkpoint=None):
    """Every item at one thread configuration, in a fresh process (pool sizes are fixed at load time)."""
    torch_threads, blas_threads = cfg
    env = dict(os.environ, OMP_NUM_THREADS=str(torch_threads), OPENBLAS_NUM_THREADS=str(blas_threads),
               MKL_NUM_THREADS=str(blas_threads))
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--threads", str(torch_threads)]
    if quick:
        cmd.append("--quick")
    if vlm_checkpoint:
        cmd += ["--vlm-checkpoint", vlm_checkpoint]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        raise RuntimeError(f"the run at {config_name(cfg)} failed: {res.stderr.strip()}")
    return json.loads(res.stdout)


def run_all(quick, single_thread=False, vlm_checkpoint=None):
    load_before = os.getloadavg()[0]
    configs = ((1, 1),) if single_thread else CONFIGS
    runs = {cfg: run_config(cfg, quick, vlm_checkpoint) for cfg in configs}

    result = {"gemm": [], "threads": {}, "thread_config": {}}

    def pick(key, label, higher_is_better):
        choose = max if higher_is_better else min
        cfg = choose(configs, key=lambda c: runs[c][key])
        result["threads"][label] = max(cfg)  # cores in use
        result["thread_config"][label] = config_name(cfg)
        return cfg, runs[cfg][key]

    for n in GEMM_SIZES:
        _, v = pick(f"gemm_{n}", f"gemm_{n}", True)
        result["gemm"].append({"n": n, "backend": "torch", "gflops": round(v, 2)})
    cfg, v = pick("train_step_ms", "train", False)
    result["train_step_ms"] = round(v, 2)
    result["peak_rss_mb"] = round(runs[cfg]["peak_rss_mb"], 1)  # of the run whose time is reported
    result["generate_tok_s"] = {}
    for b in GEN_BATCHES:
        _, v = pick(f"generate_{b}", f"generate_{b}", True)
        result["generate_tok_s"][str(b)] = round(v, 1)
    if vlm_checkpoint:
        result["vlm_generate_tok_s"], result["vlm_tokens_per_row"] = {}, {}
        for b in VLM_BATCHES:
            cfg, v = pick(f"vlm_generate_{b}", f"vlm_generate_{b}", True)
            result["vlm_generate_tok_s"][str(b)] = round(v, 1)
            result["vlm_tokens_per_row"][str(b)] = round(runs[cfg][f"vlm_tokens_per_row_{b}"], 1)
        result["vlm_model"] = vlm_checkpoint
    result["by_config"] = {config_name(c): {k: round(v, 2) for k, v in runs[c].items()} for c in configs}
    result["torch"] = torch.__version__
    result["loadavg_1m"] = round(load_before, 2)  # other work on the machine skews the 2-thread numbers
    return result


def print_table(r):
    print(f"PyTorch {r['torch']}, fastest thread configuration per item")
    print(f"{'item':<22}{'value':>12}  {'unit':<9} threads")
    cfg = r["thread_config"]
    for g in r["gemm"]:
        print(f"{'gemm n=' + str(g['n']):<22}{g['gflops']:>12.2f}  GFLOP/s   {cfg['gemm_' + str(g['n'])]}")
    print(f"{'train step':<22}{r['train_step_ms']:>12.2f}  ms        {cfg['train']}")
    for b, v in r["generate_tok_s"].items():
        print(f"{'sampling batch ' + b:<22}{v:>12.1f}  tok/s     {cfg['generate_' + b]}")
    for b, v in r.get("vlm_generate_tok_s", {}).items():
        print(f"{'MiniVlm sampling b=' + b:<22}{v:>12.1f}  tok/s     {cfg['vlm_generate_' + b]}"
              f" ({r['vlm_tokens_per_row'][b]} tokens per row)")
    print(f"{'train peak RSS':<22}{r['peak_rss_mb']:>12.1f}  MB        {cfg['train']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ap.add_argument("--quick", action="store_true", help="fewer repeats (noisier, about half the time)")
    ap.add_argument("--single-thread", action="store_true",
                    help="only torch=1,blas=1 (for single-core comparisons, e.g. under taskset -c N)")
    ap.add_argument("--vlm-checkpoint", metavar="DIR",
                    help="also time MiniVlm's KV-cache sampling (the twin in torch_models.py) from this checkpoint")
    # internal: one thread configuration, in the subprocess run_config starts
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        torch.set_num_threads(args.threads)
        print(json.dumps(all_items(args.quick, args.vlm_checkpoint)))
        return
    if args.vlm_checkpoint and not os.path.exists(os.path.join(args.vlm_checkpoint, "model.safetensors")):
        ap.error(f"--vlm-checkpoint {args.vlm_checkpoint}: no model.safetensors there")
    r = run_all(args.quick, args.single_thread, args.vlm_checkpoint)
    if args.json:
        print(json.dumps(r))
    else:
        print_table(r)


if __name__ == "__main__":
    main()
