#!/usr/bin/env python3
# PyTorch side of the init study's cross-check (bench/scripts/init-study.mjs): the character
# LSTM of the study (fortunes-char, 2 x 128, embed 128, untied, batch 8, BPTT 32, Adam 2e-3,
# clip 1, 500 steps, evaluation on the first 30k validation characters with the state carried
# in 8 streams x 64) with PyTorch's own default init: nn.Embedding N(0,1), nn.LSTM and
# nn.Linear U(+-1/sqrt(H)). Compare with `node bench/scripts/init-study.mjs --case
# fortunes-char:lstm:torch`. Prints one JSON line.
#   /usr/bin/python3 bench/reference/init-torch-lstm.py [steps=500] [seed=1]
import json, math, os, sys, time
import torch
import torch.nn as nn

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 500
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
torch.manual_seed(seed)
torch.set_num_threads(2)
D = '/usr/share/games/fortunes'
files = sorted(f for f in os.listdir(D) if '.' not in f and os.path.isfile(os.path.join(D, f)))
text = '\n'.join(open(os.path.join(D, f), encoding='latin1').read() for f in files)
a, z = int(len(text) * 0.9), int(len(text) * 0.95)
train, valid = text[:a], text[a:z][:30000]
counts = {}
for ch in train:
    counts[ch] = counts.get(ch, 0) + 1
chars = sorted(c for c, n in counts.items() if n >= 4)
index = {c: i + 1 for i, c in enumerate(chars)}
V = len(chars) + 1
enc = lambda s: torch.tensor([index.get(c, 0) for c in s], dtype=torch.long)
tr, va = enc(train), enc(valid)

class LM(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, 128)
        self.lstm = nn.LSTM(128, 128, num_layers=2, batch_first=True)
        self.out = nn.Linear(128, V)
    def forward(self, x, s=None):
        h, s = self.lstm(self.emb(x), s)
        return self.out(h), s

def windows(ids, B, T):
    L = len(ids) // B
    streams = ids[: B * L].view(B, L)
    i = 0
    while i + 1 < L:
        t = min(T, L - 1 - i)
        yield streams[:, i : i + t], streams[:, i + 1 : i + 1 + t]
        i += T

m = LM()
opt = torch.optim.Adam(m.parameters(), lr=2e-3)
lossf = nn.CrossEntropyLoss()
t0 = time.time()
step, state = 0, None
while step < steps:
    state = None
    for x, y in windows(tr, 8, 32):
        logits, state = m(x, state)
        state = tuple(s.detach() for s in state)
        loss = lossf(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        step += 1
        if step >= steps:
            break
train_s = time.time() - t0
m.eval()
tot, n, state = 0.0, 0, None
with torch.no_grad():
    for x, y in windows(va, 8, 64):
        logits, state = m(x, state)
        tot += nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1), reduction='sum').item()
        n += y.numel()
print(json.dumps({'corpus': 'fortunes-char', 'family': 'lstm', 'scheme': 'pytorch', 'steps': steps, 'V': V, 'seed': seed,
                  'trainLoss': loss.item(), 'validNll': tot / n, 'metric': 'bits/char', 'value': tot / n / math.log(2),
                  'trainSeconds': round(train_s, 1), 'torch': torch.__version__}))
