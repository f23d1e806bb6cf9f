#!/usr/bin/env python3
"""The libtorch 2.10 column of bench/compare.sh: our engine against TorchSharp's libtorch beside PyTorch 1.13.

    compare_torchsharp.py --ours ours.json --torch torch.json --twin twin.json

ours.json: `mmeureka bench engine --json`; torch.json: torch_reference.py --json (PyTorch 1.13, best thread configuration);
twin.json: `MMEureka.TorchSharp bench --json` (the engine's own benchmark code, then libtorch 2.10 through TorchSharp at
each thread count, in one process on the same weights and prompts). Against PyTorch the ratio uses ours.json; against
libtorch it uses the engine row of twin.json (measured minutes apart vs seconds apart). Ratios are ours/theirs for time
(lower is better) and for tokens per second (higher is better); libtorch's best thread count is used. A missing number
is printed as missing. Always exits 0 once the files parse.
"""
import argparse
import json

TRAIN_GOAL = 0.5  # issue 16: our train step at most half of libtorch's time


def best(rows, key, lower_is_better):
    """(value, threads) of the best row for one item."""
    have = [(r[key], r["threads"]) for r in rows if r.get(key) is not None]
    if not have:
        return None, None
    return (min if lower_is_better else max)(have, key=lambda v: v[0])


def fmt(x, digits=1):
    return "missing" if x is None else f"{x:.{digits}f}"


def ratio(a, b):
    return None if a is None or not b else a / b


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ours", required=True)
    ap.add_argument("--torch", required=True)
    ap.add_argument("--twin", required=True)
    a = ap.parse_args()
    ours, torch, twin = (json.load(open(p)) for p in (a.ours, a.torch, a.twin))
    rows = twin.get("by_threads", [])
    engine = twin.get("engine") or {}
    for r in rows + [engine]:  # flatten the sampling batches so that best() can pick per item
        for b, v in (r.get("generate_tok_s") or {}).items():
            r[f"gen_{b}"] = v

    print(f"Ours vs libtorch {twin.get('lib_torch', '?')}")
    print(f"(load average {twin.get('load_average1m', float('nan')):.2f} when the libtorch run started; "
          f"per thread count: " + ", ".join(f"{r['threads']}t train {fmt(r.get('train_step_ms'))} ms" for r in rows) + ")")
    head = (f"{'item':<30}{'ours':>10}{'PyTorch 1.13':>14}{'ours/PT':>9}  |{'ours*':>10}{'libtorch 2.10':>15}{'thr':>4}"
            f"{'ours*/LT':>9}  winner vs libtorch")
    print(head)
    print("-" * len(head))

    def line(label, mine, pt, mine_here, lt, threads, lower_is_better, goal=None):
        r_pt, r_lt = ratio(mine, pt), ratio(mine_here, lt)
        if r_lt is None:
            winner = "?"
        else:
            ours_wins = r_lt < 1 if lower_is_better else r_lt > 1
            winner = "ours" if ours_wins else "libtorch"
        if goal is not None and r_lt is not None:
            winner += f" (goal <= {goal}: {'met' if r_lt <= goal else 'missed'})"
        print(f"{label:<30}{fmt(mine):>10}{fmt(pt):>14}{fmt(r_pt, 2):>9}  |{fmt(mine_here):>10}{fmt(lt):>15}{threads or '-':>4}"
              f"{fmt(r_lt, 2):>9}  {winner}")

    lt, th = best(rows, "train_step_ms", True)
    line("train step ms", ours.get("train_step_ms"), torch.get("train_step_ms"), engine.get("train_step_ms"), lt, th, True,
         TRAIN_GOAL)
    for b in ("8", "64"):
        lt, th = best(rows, f"gen_{b}", False)
        line(f"GPT sampling tok/s, batch {b}", (ours.get("generate_tok_s") or {}).get(b),
             (torch.get("generate_tok_s") or {}).get(b), engine.get(f"gen_{b}"), lt, th, False)
    lt, th = best(rows, "vlm_tok_s", False)
    line("MiniVlm sampling tok/s, b 64", None, None, engine.get("vlm_tok_s"), lt, th, False)
    # The train step against the machine: its nominal GFLOP (matrix products only, attention unmasked) per second, as
    # a share of the FMA ceiling `bench engine` measured on all cores; and what the goal would ask of the engine.
    gflop, peaks = ours.get("train_step_gflop"), ours.get("fma_peak_gflops") or {}
    peak = peaks[max(peaks, key=int)] if peaks else None
    if gflop and peak:
        def rate(ms):
            return None if not ms else gflop / (ms / 1e3)
        lt, th = best(rows, "train_step_ms", True)

        def share(ms):
            r = rate(ms)
            return f"{fmt(r)} ({fmt(None if r is None else 100 * r / peak, 0)}%)"

        parts = [f"ours* {share(engine.get('train_step_ms'))}", f"libtorch {share(lt)}"]
        print(f"train step rate, GFLOP/s ({gflop:.1f} GFLOP a step; % of the FMA peak, {peak:.0f} GFLOP/s on {max(peaks, key=int)} threads): "
              + ", ".join(parts))
        if lt:
            need = rate(lt * TRAIN_GOAL)
            print(f"the goal ({TRAIN_GOAL}x libtorch's time, {lt * TRAIN_GOAL:.0f} ms) needs {need:.1f} GFLOP/s, {100 * need / peak:.0f}% of the FMA peak")
    print("ours/PT and ours/LT: time ratios for the train step (lower is better), speed ratios for sampling (higher is better).")
    print("ours: `mmeureka bench engine`; ours*: the same engine code in the twin's process, seconds before libtorch ran.")
    print("MiniVlm sampling: both sides in the twin's process, same weights, prompts and seeds (no PyTorch peer).")


if __name__ == "__main__":
    main()
