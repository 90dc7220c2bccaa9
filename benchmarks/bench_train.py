"""Benchmark: what one training step of the shipped recipe costs, and the whole recipe's time projected from it.

    .venv/bin/python benchmarks/bench_train.py [--steps N] [--json OUT]

Prints the cost of making one batch (train.make_batch, in the worker process during training), of the network's
step on one thread, the loop's steps per second with its batch worker as `animgen train` runs it, and the
recipe's projected time with the mocap's loading. Target: `animgen train` (TrainConfig.steps) within 30 minutes.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main(argv: list[str] | None = None) -> int:
    import torch

    from animgen_ml import network, train
    from animgen_ml.shared_data import require_shared_data

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=150, help="steps timed in the loop (after 20 to warm up)")
    ap.add_argument("--json", dest="json_out")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # as `animgen train`
    cfg = train.TrainConfig()

    t0 = time.perf_counter()
    files = train.mocap_files(require_shared_data() / "mocap", train.TRAIN_SETS)
    clips = train.load_clips(files, cfg.window)
    motions = [train.Motion.of(c) for c in clips]
    load_s = time.perf_counter() - t0

    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(10):
        batch = train.make_batch(motions, rng, cfg.batch, cfg.window)
    batch_ms = (time.perf_counter() - t0) / 10 * 1000

    net = network.build(cfg.config)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr)

    def step(b: dict) -> None:
        terms = train.losses(net, b)
        opt.zero_grad()
        terms["total"].backward()
        opt.step()

    for _ in range(3):
        step(batch)
    t0 = time.perf_counter()
    for _ in range(10):
        step(batch)
    step_ms = (time.perf_counter() - t0) / 10 * 1000

    batches = iter(torch.utils.data.DataLoader(train.Batches(motions, cfg), batch_size=None,
                                               num_workers=train.WORKERS, prefetch_factor=4))
    for _ in range(20):
        step(next(batches))
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step(next(batches))
    loop_ms = (time.perf_counter() - t0) / args.steps * 1000
    projected_min = (load_s + cfg.steps * loop_ms / 1000) / 60

    figures = {"load_s": round(load_s, 1), "make_batch_ms": round(batch_ms, 1), "network_step_ms": round(step_ms, 1),
               "loop_ms_per_step": round(loop_ms, 1), "recipe_steps": cfg.steps,
               "recipe_minutes_projected": round(projected_min, 1)}
    for k, v in figures.items():
        print(f"{k:28s} {v}")
    print(f"target: `animgen train` within 30 minutes: {'met' if projected_min <= 30 else 'NOT met'}")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(figures, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
