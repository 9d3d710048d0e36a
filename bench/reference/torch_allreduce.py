# PyTorch's all-reduce over its Gloo backend (torch.distributed, what DDP uses on CPU), the
# second peer of bench/dist-cpu.mjs: same sizes and iterations.
#   RANK=r WORLD_SIZE=w MASTER_PORT=p python3 torch_allreduce.py ELEMENTS:ITERS,...
import json, os, sys, time

import torch
import torch.distributed as dist

rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{os.environ['MASTER_PORT']}", rank=rank, world_size=world)
torch.set_num_threads(1)
for case in sys.argv[1].split(","):
    n, iters = (int(x) for x in case.split(":"))
    buf = torch.ones(n, dtype=torch.float32)
    for _ in range(3):
        dist.all_reduce(buf)
    t0 = time.perf_counter()
    for _ in range(iters):
        dist.all_reduce(buf)
    s = time.perf_counter() - t0
    if rank == 0:
        print(json.dumps({"elements": n, "iters": iters, "seconds": s}), flush=True)
dist.destroy_process_group()
