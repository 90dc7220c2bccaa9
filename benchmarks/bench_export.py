"""Export speed and size: a one-minute clip (1800 frames at 30 fps) written as .glb, .bvh, .json and .vrma and the
.glb read back, with the 22 body bones and with the 52 bones of --hands. Prints one line per file type.

    .venv/bin/python benchmarks/bench_export.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from animgen_ml import bvh_export, gltf_export, skeleton
from animgen_ml import rotations as R
from animgen_ml.clip import HumanoidClip

FRAMES, FPS = 1800, 30.0


def moving_clip(fingers: bool) -> HumanoidClip:
    rng = np.random.default_rng(0)
    bones = skeleton.bone_names(fingers)
    B = len(bones)
    t = np.arange(FRAMES)[:, None] / FPS
    rot = R.from_axis_angle(np.broadcast_to(rng.normal(size=(B, 3)), (FRAMES, B, 3)),
                            1.2 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6.3, B)))
    offsets = skeleton.default_rest_offsets(bones)
    hips = offsets[0] + np.concatenate([0.05 * np.sin(6 * t), 0.03 * np.cos(12 * t), 1.2 * t], axis=1)
    return HumanoidClip(bones, offsets, FPS, hips, rot, np.zeros((FRAMES, 2), bool), np.ones((FRAMES, B)))


def timed(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        for fingers in (False, True):
            bench_one(moving_clip(fingers), Path(d))


def bench_one(clip: HumanoidClip, folder: Path) -> None:
    base = folder / f"clip{len(clip.bones)}"
    jobs = {
        "write .glb": (lambda: gltf_export.write_glb(clip, f"{base}.glb"), ".glb"),
        "write .bvh": (lambda: bvh_export.write_bvh(clip, f"{base}.bvh"), ".bvh"),
        "write .json": (lambda: clip.save_json(f"{base}.json"), ".json"),
        "write .vrma": (lambda: gltf_export.write_vrma(clip, f"{base}.vrma"), ".vrma"),
        "read .glb": (lambda: gltf_export.read_glb_clip(f"{base}.glb"), ".glb"),
    }
    for name, (fn, suffix) in jobs.items():
        seconds = timed(fn)
        size = Path(f"{base}{suffix}").stat().st_size / 2**20
        print(f"{len(clip.bones):2d} bones x {FRAMES} frames  {name:11s} {seconds * 1000:7.1f} ms "
              f"({FRAMES / seconds:8.0f} frames/s)  {size:5.2f} MiB")

if __name__ == "__main__":
    main()
