#!/usr/bin/env python3
"""Can this machine give a second core right now? One, then two processes multiplying MiniLM-sized matrices on
one torch thread each for 6 s; prints the products done and CPU ms per product.

The control for bench/scale.py: if two processes of pure arithmetic do not do about 2x the work of one, two
winloss workers cannot either, and the scale figures measure the machine's load (docs/PERFORMANCE.md).

    .venv/bin/python bench/cores.py
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time


def work(dtype: str, queue) -> None:
    import torch

    torch.set_num_threads(1)
    a = torch.randn(640, 384, dtype=getattr(torch, dtype))
    b = torch.randn(384, 1536, dtype=getattr(torch, dtype))
    for _ in range(20):
        a @ b
    n, cpu0, wall0 = 0, time.process_time(), time.perf_counter()
    while time.perf_counter() - wall0 < 6:
        a @ b
        n += 1
    queue.put((n, time.process_time() - cpu0))


def main() -> None:
    ctx = mp.get_context("spawn")
    for dtype in ("bfloat16", "float32"):
        done = {}
        for k in (1, 2):
            queue = ctx.Queue()
            procs = [ctx.Process(target=work, args=(dtype, queue)) for _ in range(k)]
            for p in procs:
                p.start()
            for p in procs:
                p.join()
            results = [queue.get() for _ in procs]
            done[k] = sum(r[0] for r in results)
            print(f"{dtype} {k} process(es): {done[k]} products, CPU ms per product "
                  f"{[round(1000 * cpu / n, 3) for n, cpu in results]}, load average {os.getloadavg()[0]:.2f}")
        print(f"{dtype}: two processes did {done[2] / done[1]:.2f}x the work of one")


if __name__ == "__main__":
    main()
