#!/usr/bin/python3
"""PyTorch peer of bench/train-cpu.mjs: training tokens/s of one model on Brown word ids.

The same three cases as the lmkit side, the same shapes, AdamW (lr 1e-3, betas (0.9, 0.999),
eps 1e-8, weight decay 1e-2 on parameters of rank >= 2 only, as lmkit), and the same batches,
built from the int32 little-endian ids in --data by the index formulas below (mirrored in
train-cpu.mjs):

  mlp1         B=256, context 4:  example i of step s predicts ids[p], p = 4 + (s*B + i) % (N - 4),
               from ids[p-4 .. p-1]
  lstm         B=32, BPTT 35: B streams of L = N // B tokens; step s reads window w = s % W
               (W = (L - 1) // 35): inputs ids[b*L + 35w + t], targets the next token; the
               state is carried, detached, and reset when w == 0
  transformer  B=16, T=64: row b of step s starts at ((s*B + b) * T) % (N - T - 1)

Prints one JSON line: tokens/s over --steps timed steps (after --warmup untimed ones), the
final loss, peak RSS of this process, versions and BLAS.
usage: torch_train.py --case mlp1|lstm|transformer --data ids.bin [--threads 1] [--steps 20] [--warmup 3]
"""
import argparse
import json
import os
import resource
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("--case", required=True, choices=["mlp1", "lstm", "transformer", "gpt2", "gpt2-reduced"])
p.add_argument("--data", required=True, help="int32 little-endian token ids")
p.add_argument("--threads", type=int, default=1)
p.add_argument("--steps", type=int, default=20)
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--vocab", type=int, default=14114)
a = p.parse_args()

# torch.set_num_threads sets OpenMP (and MKL) threads only; the system OpenBLAS (pthread build,
# what Debian's torch calls for its GEMMs) reads its own count at load time.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ[var] = str(a.threads)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(a.threads)
torch.manual_seed(0)
# The GPT-2-shaped cases of bench/train-cpu.mjs: (layers, heads, width, positions, T, B, vocabulary).
GPT_SHAPES = {"gpt2": (12, 12, 768, 1024, 256, 4, 50257), "gpt2-reduced": (4, 4, 256, 1024, 128, 4, 50257)}
V = GPT_SHAPES[a.case][6] if a.case in GPT_SHAPES else a.vocab

with open(a.data, "rb") as f:
    ids = torch.frombuffer(bytearray(f.read()), dtype=torch.int32).long()
N = ids.numel()
if int(ids.max()) >= V or int(ids.min()) < 0:
    sys.exit(f"ids out of range [0, {V})")


class MLP1(torch.nn.Module):
    """Bengio et al. (2003): y = b + W x + U tanh(d + H x), n = 5, m = 60, h = 50."""

    def __init__(self, ctx=4, m=60, h=50):
        super().__init__()
        self.ctx, self.m = ctx, m
        self.C = torch.nn.Embedding(V, m)
        self.H = torch.nn.Linear(ctx * m, h)
        self.U = torch.nn.Linear(h, V, bias=False)
        self.W = torch.nn.Linear(ctx * m, V)

    def forward(self, x):
        e = self.C(x).reshape(x.shape[0], self.ctx * self.m)
        return self.W(e) + self.U(torch.tanh(self.H(e)))


class LSTMLM(torch.nn.Module):
    def __init__(self, embed=256, hidden=256, layers=2):
        super().__init__()
        self.emb = torch.nn.Embedding(V, embed)
        self.rnn = torch.nn.LSTM(embed, hidden, num_layers=layers, batch_first=True)
        self.out = torch.nn.Linear(hidden, V)

    def forward(self, x, state):
        y, state = self.rnn(self.emb(x), state)
        return self.out(y.reshape(-1, y.shape[-1])), state


class Block(torch.nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.NH = NH
        self.ln1 = torch.nn.LayerNorm(C)
        self.qkv = torch.nn.Linear(C, 3 * C)
        self.proj = torch.nn.Linear(C, C)
        self.ln2 = torch.nn.LayerNorm(C)
        self.fc = torch.nn.Linear(C, 4 * C)
        self.fc_proj = torch.nn.Linear(4 * C, C)

    def attn(self, x, mask):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        heads = lambda t: t.view(B, T, self.NH, C // self.NH).transpose(1, 2)  # noqa: E731
        q, k, v = heads(q), heads(k), heads(v)
        # torch 1.13 has no F.scaled_dot_product_attention (2.0+): written out.
        s = (q @ k.transpose(-2, -1)) * (1.0 / (C // self.NH) ** 0.5)
        y = torch.softmax(s.masked_fill(mask[:T, :T], float("-inf")), dim=-1) @ v
        return self.proj(y.transpose(1, 2).reshape(B, T, C))

    def forward(self, x, mask):
        x = x + self.attn(self.ln1(x), mask)
        return x + self.fc_proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(torch.nn.Module):
    """GPT-2 layout, pre-norm, learned positions, output tied to the token embedding."""

    def __init__(self, context=64, C=128, NH=4, layers=2):
        super().__init__()
        self.tok = torch.nn.Embedding(V, C)
        self.pos = torch.nn.Embedding(context, C)
        self.blocks = torch.nn.ModuleList([Block(C, NH) for _ in range(layers)])
        self.lnf = torch.nn.LayerNorm(C)
        self.register_buffer("mask", torch.triu(torch.ones(context, context, dtype=torch.bool), 1))

    def forward(self, x):
        B, T = x.shape
        h = self.tok(x) + self.pos.weight[:T]
        for blk in self.blocks:
            h = blk(h, self.mask)
        return self.lnf(h).reshape(B * T, -1) @ self.tok.weight.t()


total = a.warmup + a.steps
batches = []  # (inputs, targets, reset_state)
if a.case == "mlp1":
    B, ctx = 256, 4
    model = MLP1()
    for s in range(total):
        pos = 4 + (s * B + torch.arange(B)) % (N - 4)
        x = torch.stack([ids[pos - ctx + j] for j in range(ctx)], dim=1)
        batches.append((x, ids[pos], False))
elif a.case == "lstm":
    B, T = 32, 35
    model = LSTMLM()
    L = N // B
    W = (L - 1) // T
    streams = ids[: B * L].view(B, L)
    for s in range(total):
        w = s % W
        batches.append((streams[:, w * T : w * T + T].contiguous(), streams[:, w * T + 1 : w * T + T + 1].reshape(-1), w == 0))
else:
    if a.case in GPT_SHAPES:
        L_, NH_, C_, P_, T, B, _ = GPT_SHAPES[a.case]
        model = GPT(context=P_, C=C_, NH=NH_, layers=L_)
    else:
        B, T = 16, 64
        model = GPT()
    for s in range(total):
        starts = ((s * B + torch.arange(B)) * T) % (N - T - 1)
        idx = starts[:, None] + torch.arange(T)[None, :]
        batches.append((ids[idx], ids[idx + 1].reshape(-1), False))

# Initial weights as lmkit's models (they set the loss scale, not the speed).
with torch.no_grad():
    for name, q in model.named_parameters():
        if a.case == "lstm":
            q.uniform_(-0.05, 0.05)  # RecurrentLM's initRange
        elif a.case == "transformer" or a.case in GPT_SHAPES:
            if q.dim() >= 2:
                q.normal_(0.0, 0.02)  # GPT-2 (lmkit scales the residual projections further)
            elif not name.endswith("weight"):
                q.zero_()

decay = [q for q in model.parameters() if q.dim() >= 2]
no_decay = [q for q in model.parameters() if q.dim() < 2]
opt = torch.optim.AdamW(
    [{"params": decay, "weight_decay": 1e-2}, {"params": no_decay, "weight_decay": 0.0}],
    lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
)
state = None


def step(s):
    global state
    x, y, reset = batches[s]
    if reset:
        state = None
    if a.case == "lstm":
        logits, st = model(x, state)
        state = tuple(t.detach() for t in st)
    else:
        logits = model(x)
    loss = F.cross_entropy(logits, y)
    value = loss.item()
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    return value


model.train()
for s in range(a.warmup):
    step(s)
t0 = time.perf_counter()
for s in range(a.warmup, total):
    loss = step(s)
sec = time.perf_counter() - t0
tokens = a.steps * batches[0][1].numel()
cfg = torch.__config__.show().lower()
with open("/proc/self/maps") as f:
    libs = sorted({ln.split()[-1] for ln in f if "blas" in ln.lower() and ln.rstrip().endswith(".so") or ".so." in ln and "blas" in ln.lower()})
print(json.dumps({
    "peer": "pytorch", "case": a.case, "torch": torch.__version__, "threads": a.threads,
    "torch_threads": torch.get_num_threads(), "steps": a.steps, "warmup": a.warmup,
    "tokens": tokens, "seconds": sec, "tokens_per_s": tokens / sec, "final_loss": loss,
    "params": sum(q.numel() for q in model.parameters()),
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "blas": ("openblas" if "openblas" in cfg else ("mkl" if "blas_info=mkl" in cfg else "generic libblas.so.3")),
    "blas_libs_loaded": [os.path.realpath(x) for x in libs],
}))
