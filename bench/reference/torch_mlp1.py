#!/usr/bin/python3
"""PyTorch peer for the Bengio MLP1 training step (n=5, m=60, h=50, direct, |V|=14114).

Times forward + backward + AdamW step on random ids (same shapes as lmkit's bench) and
prints one JSON line: tokens/s (median over repetitions), threads, versions.
usage: torch_mlp1.py [--threads N] [--batch 256] [--steps 20] [--reps 5]
"""
import argparse, json, statistics, time
import torch

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--batch", type=int, default=256)
p.add_argument("--steps", type=int, default=20)
p.add_argument("--reps", type=int, default=5)
p.add_argument("--vocab", type=int, default=14114)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
V, ctx, m, h, B = a.vocab, 4, 60, 50, a.batch


class MLP1(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.C = torch.nn.Embedding(V, m)
        self.H = torch.nn.Linear(ctx * m, h)
        self.U = torch.nn.Linear(h, V, bias=False)
        self.W = torch.nn.Linear(ctx * m, V)

    def forward(self, ids):
        x = self.C(ids).reshape(ids.shape[0], ctx * m)
        return self.W(x) + self.U(torch.tanh(self.H(x)))


model = MLP1()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
x = (torch.arange(B * ctx) * 7919 % V).reshape(B, ctx)
y = torch.arange(B) * 104729 % V


def step():
    opt.zero_grad(set_to_none=True)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()


for _ in range(3):
    step()
rates = []
for _ in range(a.reps):
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    rates.append(B * a.steps / (time.perf_counter() - t))
print(json.dumps({"peer": "pytorch", "torch": torch.__version__, "threads": a.threads, "batch": B,
                  "tokens_per_s": statistics.median(rates), "min": min(rates), "max": max(rates),
                  "blas": "openblas" if "openblas" in torch.__config__.show().lower() else "other"}))
