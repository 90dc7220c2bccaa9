"""Figures for the analytic solver and smoothing (README): accuracy on synthetic poses with known rotations,
speed per frame, and what smoothing does to jitter. Run: .venv/bin/python benchmarks/solver_smooth_figures.py"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import test_smooth as tsm  # noqa: E402
import test_solver as ts  # noqa: E402

from animgen_ml import bodymodel, solver  # noqa: E402
from animgen_ml import rotations as R  # noqa: E402
from animgen_ml.smooth import smooth_clip  # noqa: E402


def main() -> None:
    rng = np.random.default_rng(3)
    off = ts.actor_offsets(ts.BODY)
    for name, kw in (("exact family", {}), ("spine bends up to 20 deg", {"spine_bend": 20}),
                     ("straight elbows/knees (twist unobservable)", {"straight_limbs": True})):
        truth = ts.make_clip(ts.random_pose(rng, 500, ts.BODY, **kw), off, ts.BODY)
        err = ts.errors_deg(solver.solve(bodymodel.landmarks_from_clip(truth)), truth)
        vals = [e for b, e in err.items() if b not in ts._FREE]
        print(f"solver, {name}: mean local-rotation error {np.mean([e.mean() for e in vals]):.3f} deg, "
              f"max {max(e.max() for e in vals):.3f} deg (500 frames)")
    truth = ts.make_clip(ts.random_pose(rng, 1800, ts.BODY), off, ts.BODY)
    lm = bodymodel.landmarks_from_clip(truth)
    clip = solver.solve(lm)
    t0 = time.perf_counter()
    solver.solve(lm)
    t1 = time.perf_counter()
    smooth_clip(clip, 0.5)
    t2 = time.perf_counter()
    print(f"speed: solve {(t1 - t0) / 1800 * 1e3:.3f} ms/frame, "
          f"smooth {(t2 - t1) / 1800 * 1e3:.3f} ms/frame (1800 frames)")

    rng = np.random.default_rng(2)
    t = np.arange(150) / tsm.FPS
    clean = 40 * np.sin(2 * np.pi * 0.8 * t)[:, None] * np.ones(len(tsm.BODY))
    noisy = clean + rng.normal(0, 2.0, clean.shape)
    hc = np.stack([np.sin(t), 0.95 + 0.05 * np.sin(4 * t), 1.2 * t], -1)
    hn = hc + rng.normal(0, 0.02, hc.shape)
    cc, cn = tsm.clip_from(clean, hc), tsm.clip_from(noisy, hn)
    deg = 180 / np.pi
    for s in (0.25, 0.5, 1.0):
        out = smooth_clip(cn, s)
        print(f"smoothing {s}: rotation jitter (acceleration) / "
              f"{tsm.accel(cn.rotations - cc.rotations) / tsm.accel(out.rotations - cc.rotations):.1f}, "
              f"error {R.angle_between(cn.rotations, cc.rotations).mean() * deg:.2f} -> "
              f"{R.angle_between(out.rotations, cc.rotations).mean() * deg:.2f} deg; hips jitter / "
              f"{tsm.accel(hn - hc) / tsm.accel(out.hips - hc):.1f}, error "
              f"{np.linalg.norm(hn - hc, axis=-1).mean() * 1e3:.1f} -> "
              f"{np.linalg.norm(out.hips - hc, axis=-1).mean() * 1e3:.1f} mm")


if __name__ == "__main__":
    main()
