"""Keyframe reduction (--keyframe-tolerance) on refined mocap, as `generate` writes it: the share of keys kept, the
planted ankles' sliding and the soles' depth under the floor, played back per channel alone and with the feet held
(keyframes.hold_feet), and the time both take; then a character (--target, the Xbot) written reduced and not.

    .venv/bin/python benchmarks/bench_keyframes.py

Sliding is measured on the ankles over frame pairs where the refined clip marks the foot planted (metrics.foot_sliding);
the depth is the lowest heel or toe sole point under y = 0 over the clip.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from animgen_ml import contacts as C
from animgen_ml import keyframes, metrics, mocap, retarget
from animgen_ml import rotations as R
from animgen_ml.clip import HumanoidClip
from animgen_ml.pipeline import GenerateOptions
from animgen_ml.refine import refine
from animgen_ml.shared_data import require_shared_data

CLIPS = ["accad_female1/Female1_B03_Walk1.bvh", "accad_female1/Female1_A13_Skipping.bvh",
         "cmu_iclone_ccrig/002/002_01.bvh"]
TOLERANCES = [(0.5, 1.0), (1.0, 2.0), (2.0, 5.0)]
LONG_FRAMES = 1800  # a minute at 30 fps: the walk played over and over


def per_channel(clip: HumanoidClip, deg: float, mm: float) -> dict[str, np.ndarray]:
    """The reduction without the feet held: each channel within its own tolerance alone."""
    rot = R.make_continuous(R.normalize(clip.rotations))
    keys = {"Hips.t": keyframes.simplify(clip.hips, max(mm, 1e-6), False)}
    keys |= {f"{b}.r": keyframes.simplify(rot[:, i], max(deg, 1e-6), True) for i, b in enumerate(clip.bones)}
    return keys


def feet_figures(clip: HumanoidClip, keys: dict[str, np.ndarray] | None) -> tuple[float, float]:
    """Planted ankles' sliding (mm a frame) and the deepest sole under the floor (mm) as the keys play back."""
    if keys is not None:
        hips, rotations = keyframes.reconstruct(clip, keys)
        clip = replace(clip, hips=hips, rotations=rotations)
    pos, _ = clip.world()
    ankles = pos[:, [clip.index("LeftFoot"), clip.index("RightFoot")]]
    soles = np.concatenate(C.sole_points(clip), axis=1)
    return metrics.foot_sliding(ankles, clip.contacts), 1000 * max(0.0, -float(soles[..., 1].min()))


def timed(fn, *args, **kwargs):
    """(seconds, fn's result)."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def main() -> None:
    data = require_shared_data()
    clips = []
    for name in CLIPS:
        clip, _ = refine(mocap.load_clip(data / "mocap" / name), None, GenerateOptions())
        clips.append((Path(name).stem, clip))
    walk = clips[0][1]
    n = -(-LONG_FRAMES // walk.frame_count)
    travel = (walk.hips[-1] - walk.hips[0]) * [1.0, 0.0, 1.0]  # each repeat walks on from where the last ended
    clips.append((f"walk x{n}", replace(walk, hips=np.concatenate([walk.hips + k * travel for k in range(n)]),
                                        rotations=np.concatenate([walk.rotations] * n),
                                        contacts=np.concatenate([walk.contacts] * n),
                                        confidence=np.concatenate([walk.confidence] * n))))
    print(f"{'clip':24s} {'frames':>6s} {'DEG,MM':>7s}  {'keys kept':>15s}  {'sliding mm/frame':>22s}  "
          f"{'under floor mm':>16s}  {'time ms':>13s}")
    print(f"{'':24s} {'':>6s} {'':>7s}  {'channel  held':>15s}  {'full  channel  held':>22s}  "
          f"{'channel  held':>16s}  {'channel  held':>13s}")
    for label, clip in clips:
        full_slide, _ = feet_figures(clip, None)
        for deg, mm in TOLERANCES:
            t_alone, alone = timed(per_channel, clip, deg, mm)
            t_held, held = timed(keyframes.reduce_keys, clip, deg, mm)
            share = [keyframes.reduction(clip, k)["key_ratio"] for k in (alone, held)]
            (s_alone, d_alone), (s_held, d_held) = feet_figures(clip, alone), feet_figures(clip, held)
            print(f"{label:24s} {clip.frame_count:6d} {deg:3.1f},{mm:<3.0f}  {share[0]:6.2f} {share[1]:6.2f}  "
                  f"{full_slide:6.2f} {s_alone:7.2f} {s_held:6.2f}  {d_alone:7.1f} {d_held:6.1f}  "
                  f"{1000 * t_alone:6.0f} {1000 * t_held:5.0f}")

    xbot = data / "characters" / "Xbot_threejs.glb"
    with tempfile.TemporaryDirectory() as d:
        # A first write parses the character (about 1.2 s for the Xbot), once for a whole folder's videos: not timed,
        # or the first clip's unreduced write carried it.
        retarget.write_target_glb(clips[0][1], xbot, Path(d) / "warm.glb", plant_feet=True)
        for label, clip in (clips[0], clips[-1]):
            full, reduced = (Path(d) / f for f in ("full.glb", "reduced.glb"))
            t_full, _ = timed(retarget.write_target_glb, clip, xbot, full, plant_feet=True)
            t_reduced, _ = timed(retarget.write_target_glb, clip, xbot, reduced, tolerance=(1.0, 2.0), plant_feet=True)
            print(f"--target Xbot, {label} ({clip.frame_count} frames): {t_full:.2f} s every frame, {t_reduced:.2f} s "
                  f"at 1,2 ({reduced.stat().st_size / 2**20:.2f} vs {full.stat().st_size / 2**20:.2f} MiB)")

if __name__ == "__main__":
    main()
