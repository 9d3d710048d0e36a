#!/usr/bin/python3
"""PyTorch peer of bench/gpt2-cpu.mjs: greedy GPT-2 generation with a KV cache on the CPU.

  /usr/bin/python3 bench/reference/torch_gpt2_generate.py --dir HF_DIR --prompt-ids 1,2,3 --tokens 64 --threads 2

Reads a Hugging Face GPT-2 directory (config.json + model.safetensors, as `lmkit export --to
hf-gpt2` writes it) with a small safetensors reader of its own (`transformers` is not
installable here), and runs GPT-2's forward in plain torch 1.13 (no scaled_dot_product_attention:
written out): learned positions, pre-LN blocks, Conv1D weights laid out (in, out), causal
attention over the cached keys and values, GELU's tanh approximation, layer-norm eps 1e-5,
output tied to the token embedding. Prints one JSON line: the generated ids, seconds for the
prompt and for the generated tokens, tokens/s and the peak RSS.
"""
import argparse
import json
import os
import resource
import struct
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("--dir", required=True)
p.add_argument("--prompt-ids", required=True, help="comma-separated token ids")
p.add_argument("--tokens", type=int, default=64)
p.add_argument("--threads", type=int, default=1)
a = p.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(a.threads)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(a.threads)


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = bytearray(f.read())
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            sys.exit(f"{name}: dtype {info['dtype']} (only F32 here)")
        b, e = info["data_offsets"]
        out[name] = torch.frombuffer(data, dtype=torch.float32, offset=b, count=(e - b) // 4).view(info["shape"])
    return out


with open(os.path.join(a.dir, "config.json")) as f:
    cfg = json.load(f)
L, NH, C, P = cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["n_positions"]
eps = cfg.get("layer_norm_epsilon", 1e-5)
W = {k[len("transformer."):] if k.startswith("transformer.") else k: v for k, v in read_safetensors(os.path.join(a.dir, "model.safetensors")).items()}
wte, wpe = W["wte.weight"], W["wpe.weight"]
HD = C // NH


def ln(x, pre):
    return F.layer_norm(x, (C,), W[pre + ".weight"], W[pre + ".bias"], eps)


def conv1d(x, pre):  # HF Conv1D: y = x @ W + b, W (in, out)
    return torch.addmm(W[pre + ".bias"], x.view(-1, x.shape[-1]), W[pre + ".weight"]).view(*x.shape[:-1], -1)


cache = [None] * L  # per block: (K, V) of shape (NH, t, HD), preallocated to P positions


def forward(ids, start):
    n = len(ids)
    x = wte[torch.tensor(ids)] + wpe[start : start + n]  # (n, C)
    for l in range(L):
        h = f"h.{l}"
        q, k, v = conv1d(ln(x, h + ".ln_1"), h + ".attn.c_attn").split(C, dim=-1)
        q, k, v = (t.view(n, NH, HD).transpose(0, 1) for t in (q, k, v))
        if cache[l] is None:
            cache[l] = (torch.empty(NH, P, HD), torch.empty(NH, P, HD))
        K, V = cache[l]
        K[:, start : start + n] = k
        V[:, start : start + n] = v
        Kt, Vt = K[:, : start + n], V[:, : start + n]
        s = (q @ Kt.transpose(-2, -1)) * (1.0 / HD**0.5)  # (NH, n, start+n)
        if n > 1:
            mask = torch.ones(n, start + n, dtype=torch.bool).triu(start + 1)
            s = s.masked_fill(mask, float("-inf"))
        y = (torch.softmax(s, dim=-1) @ Vt).transpose(0, 1).reshape(n, C)
        x = x + conv1d(y, h + ".attn.c_proj")
        x = x + conv1d(F.gelu(conv1d(ln(x, h + ".ln_2"), h + ".mlp.c_fc"), approximate="tanh"), h + ".mlp.c_proj")
    return ln(x[-1:], "ln_f") @ wte.t()  # (1, V)


prompt = [int(t) for t in a.prompt_ids.split(",")]
if len(prompt) + a.tokens > P:
    sys.exit(f"prompt + tokens = {len(prompt) + a.tokens} > n_positions {P}")
out = []
with torch.no_grad():
    t0 = time.perf_counter()
    logits = forward(prompt, 0)
    t1 = time.perf_counter()
    pos = len(prompt)
    for i in range(a.tokens):
        nxt = int(torch.argmax(logits[0]))
        out.append(nxt)
        if i + 1 == a.tokens:
            break
        logits = forward([nxt], pos)
        pos += 1
    t2 = time.perf_counter()
print(
    json.dumps(
        {
            "peer": "pytorch",
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "prompt_tokens": len(prompt),
            "tokens": len(out),
            "prime_seconds": t1 - t0,
            "gen_seconds": t2 - t1,
            # The first generated token comes from the prompt's forward; the timed steps make the other tokens - 1.
            "tokens_per_s": (len(out) - 1) / (t2 - t1),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "ids": out,
        }
    )
)
