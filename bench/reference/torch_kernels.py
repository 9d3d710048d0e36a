#!/usr/bin/python3
"""PyTorch peer of bench/native/bench_kernels.cpp: the same cases on the same shapes.

    OMP_NUM_THREADS=N OPENBLAS_NUM_THREADS=N /usr/bin/python3 bench/reference/torch_kernels.py \
        --cases cases.json --threads N [--reps 7] [--min-ms 40] [--cooldown-ms 100]
    python3 bench/reference/torch_kernels.py --cases cases.json --device cuda [--tf32 1|0] [--deadline-s S]

cases.json is `bench_kernels --list` output ({"cases": [...]}); `lmkit bench kernels` writes it and
sets the thread variables before this process starts (OpenBLAS reads them when it loads), and
torch.set_num_threads(N) is called here. Prints ONE JSON object on stdout:
    {"torch": version, "threads": N, "results": [{case, impl, threads, seconds{median,min,max}, ...}],
     "skipped": [{case, why}]}
Timing mirrors bench_kernels: one warm-up call, a calibration call, then `reps` samples, each
after a cooldown and one untimed call, of `calls_per_rep` calls (>= min-ms). Seconds per call.

--device cuda (the peer of bench/scripts/kernels-gpu.mjs, which times lmkit's CUDA addon the same
way): every tensor lives on the GPU; torch.cuda.synchronize() runs after the untimed call and after
the last timed call of each sample, so a sample is host wall-clock time from an idle device to the
end of the last kernel, divided by the calls (launch overhead included, as in an eager training
step). --tf32 (default: 1 unless LMKIT_CUDA_TF32=0, matching lmkit's cuBLAS setting) sets
torch.set_float32_matmul_precision('high' | 'highest'). AdamW runs PyTorch's CUDA default
(foreach) implementation. --deadline-s skips the remaining cases once that many seconds have passed
(listed in "skipped"). The JSON adds "device", "gpu", "cuda" and "tf32".

What runs (eager PyTorch, as a training step would call it):
  matmul              torch.mm(opA, opB, out=C), or C.addmm_(opA, opB) when beta = 1
  embedding_forward   F.embedding(ids, table)
  embedding_backward  dtable.index_add_(0, ids, dout)   (what embedding_dense_backward runs on CPU,
                      accumulating into an existing table as lmkit does)
  lstm_cell_forward   chunk(4) -> sigmoid/sigmoid/tanh/sigmoid -> c = f*c_prev + i*g, h = o*tanh(c)
  lstm_cell_backward  torch.autograd.grad of that graph (retain_graph), for dh and dc_next
  attention_forward   (q k^T) * scale, causal masked_fill(-inf), softmax, @ v  (per head, batched)
  attention_backward  torch.autograd.grad of that graph for q, k, v
  crossentropy        F.cross_entropy(x, t) (mean) + torch.autograd.grad(loss, x) + loss.item()
  adamw               torch.optim.AdamW([p], lr=1e-3, weight_decay=1e-2).step() (foreach=False,
                      the CPU default of 1.13)
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def _nosync():
    pass


def timeit(fn, reps, min_ms, cooldown_ms, sync=_nosync):
    fn()
    sync()
    t0 = time.perf_counter()
    fn()
    sync()
    one = max(1e-7, time.perf_counter() - t0)
    inner = max(1, math.ceil(min_ms * 1e-3 / one))
    per = []
    for _ in range(reps):
        if cooldown_ms:
            time.sleep(cooldown_ms / 1000)
        fn()
        sync()
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        sync()
        per.append((time.perf_counter() - t0) / inner)
    return {"median": statistics.median(per), "min": min(per), "max": max(per)}, inner


def make(case, dev="cpu"):
    kind, d = case["kind"], case["dims"]
    g = torch.Generator().manual_seed(7)
    cuda = dev != "cpu"

    # Values are drawn on the CPU (the same values for every device), then moved.
    def rnd(*shape, lo=-1.0, hi=1.0):
        return (torch.rand(*shape, generator=g) * (hi - lo) + lo).to(dev)

    def ids(n, V):
        return torch.randint(0, V, (n,), generator=g, dtype=torch.int64).to(dev)

    if kind == "matmul":
        M, N, K = d["M"], d["N"], d["K"]
        A = rnd(K, M) if d["transA"] else rnd(M, K)
        B = rnd(N, K) if d["transB"] else rnd(K, N)
        opA = A.t() if d["transA"] else A
        opB = B.t() if d["transB"] else B
        C = torch.zeros(M, N, device=dev)
        if d["beta"]:
            return lambda: C.addmm_(opA, opB)
        return lambda: torch.mm(opA, opB, out=C)
    if kind == "embedding_forward":
        table, i = rnd(d["V"], d["C"]), ids(d["N"], d["V"])
        return lambda: F.embedding(i, table)
    if kind == "embedding_backward":
        dtable, dout, i = rnd(d["V"], d["C"]), rnd(d["N"], d["C"]), ids(d["N"], d["V"])
        return lambda: dtable.index_add_(0, i, dout)
    if kind in ("lstm_cell_forward", "lstm_cell_backward"):
        B, H = d["B"], d["H"]
        pre, c_prev = rnd(B, 4 * H, lo=-2, hi=2), rnd(B, H)

        def cell(pre, c_prev):
            i, f, gg, o = pre.chunk(4, 1)
            c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(gg)
            return torch.sigmoid(o) * torch.tanh(c), c

        if kind == "lstm_cell_forward":
            def fwd():
                with torch.no_grad():
                    return cell(pre, c_prev)
            return fwd
        pre.requires_grad_(True)
        c_prev.requires_grad_(True)
        h, c = cell(pre, c_prev)
        dh, dc = rnd(B, H), rnd(B, H)
        return lambda: torch.autograd.grad([h, c], [pre, c_prev], [dh, dc], retain_graph=True)
    if kind in ("attention_forward", "attention_backward"):
        B, T, C, NH = d["B"], d["T"], d["C"], d["NH"]
        hs = C // NH
        scale = 1.0 / math.sqrt(hs)
        q, k, v = rnd(B, T, C), rnd(B, T, C), rnd(B, T, C)
        mask = torch.ones(T, T, dtype=torch.bool, device=dev).triu(1)

        def attn(q, k, v):
            qh = q.view(B, T, NH, hs).transpose(1, 2)
            kh = k.view(B, T, NH, hs).transpose(1, 2)
            vh = v.view(B, T, NH, hs).transpose(1, 2)
            s = (qh @ kh.transpose(-2, -1)) * scale
            p = torch.softmax(s.masked_fill(mask, float("-inf")), dim=-1)
            return (p @ vh).transpose(1, 2).reshape(B, T, C)

        if kind == "attention_forward":
            def fwd():
                with torch.no_grad():
                    return attn(q, k, v)
            return fwd
        for t in (q, k, v):
            t.requires_grad_(True)
        out = attn(q, k, v)
        dout = rnd(B, T, C)
        return lambda: torch.autograd.grad(out, [q, k, v], dout, retain_graph=True)
    if kind == "crossentropy":
        x = rnd(d["N"], d["V"], lo=-4, hi=4).requires_grad_(True)
        t = ids(d["N"], d["V"])

        def step():
            loss = F.cross_entropy(x, t)
            (gx,) = torch.autograd.grad(loss, x)
            return loss.item(), gx
        return step
    if kind == "adamw":
        p = torch.nn.Parameter(rnd(d["n"]))
        p.grad = rnd(d["n"], lo=-1e-2, hi=1e-2)
        # CPU: the single-tensor loop (the CPU default of 1.13); CUDA: PyTorch's CUDA default (foreach).
        opt = torch.optim.AdamW([p], lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                                foreach=None if cuda else False)
        return opt.step
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", required=True)
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (required with --device cpu)")
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    ap.add_argument("--tf32", type=int, choices=(0, 1), default=None,
                    help="cuda: allow TF32 matmuls (default: 1 unless LMKIT_CUDA_TF32=0)")
    ap.add_argument("--deadline-s", type=float, default=0.0, help="skip the remaining cases after this many seconds")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--min-ms", type=float, default=40.0)
    ap.add_argument("--cooldown-ms", type=int, default=100)
    a = ap.parse_args()
    dev = a.device
    if dev not in ("cpu", "cuda"):
        ap.error(f"--device must be cpu or cuda (got {dev})")
    extra = {"device": dev}
    sync = _nosync
    if dev == "cpu":
        if a.threads is None:
            ap.error("--threads is required with --device cpu")
        torch.set_num_threads(a.threads)
    else:
        if not torch.cuda.is_available():
            print(f"torch_kernels.py: --device cuda but torch {torch.__version__} sees no CUDA device "
                  f"(torch.version.cuda = {torch.version.cuda})", file=sys.stderr)
            sys.exit(3)
        tf32 = a.tf32 if a.tf32 is not None else (0 if os.environ.get("LMKIT_CUDA_TF32") == "0" else 1)
        torch.set_float32_matmul_precision("high" if tf32 else "highest")
        try:
            torch.backends.cuda.matmul.allow_tf32 = bool(tf32)
        except Exception:  # newer releases steer this through fp32_precision only
            pass
        if a.threads is not None:
            torch.set_num_threads(a.threads)
        sync = torch.cuda.synchronize
        p = torch.cuda.get_device_properties(0)
        extra.update({"gpu": torch.cuda.get_device_name(0), "cuda": torch.version.cuda, "tf32": bool(tf32),
                      "compute_capability": f"{p.major}.{p.minor}", "multiprocessors": p.multi_processor_count,
                      "total_memory": p.total_memory, "adamw": "torch.optim.AdamW default on CUDA (foreach)"})
    threads = a.threads if a.threads is not None else 1
    with open(a.cases) as f:
        cases = json.load(f)["cases"]
    results, skipped = [], []
    t_start = time.perf_counter()
    for case in cases:
        if a.deadline_s and time.perf_counter() - t_start > a.deadline_s:
            skipped.append({"case": case["case"], "why": f"time budget of {a.deadline_s:.0f} s spent"})
            continue
        try:
            fn = make(case, dev)
            if fn is None:
                skipped.append({"case": case["case"], "why": f"no PyTorch mapping for kind {case['kind']}"})
                continue
            sec, inner = timeit(fn, a.reps, a.min_ms, a.cooldown_ms, sync)
        except RuntimeError as e:  # on the GPU (out of memory and the like) this case only is lost
            if dev == "cpu":
                raise
            skipped.append({"case": case["case"], "why": f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:200]}"})
            continue
        finally:
            fn = None  # the closure holds the case's tensors
            if dev != "cpu":
                torch.cuda.empty_cache()
        results.append({"case": case["case"], "impl": "pytorch", "threads": threads, "seconds": sec,
                        "reps": a.reps, "calls_per_rep": inner})
        print(f"pytorch {case['case']} {dev} t={threads}: {sec['median'] * 1e3:.3f} ms", file=sys.stderr)
    print(json.dumps({"torch": torch.__version__, "threads": threads, "torch_num_threads": torch.get_num_threads(),
                      "parallel_info": torch.__config__.parallel_info().splitlines()[:6], **extra,
                      "results": results, "skipped": skipped}))


if __name__ == "__main__":
    main()
