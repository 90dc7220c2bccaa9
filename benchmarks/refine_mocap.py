"""Refine-stage figures on mocap with known motion: foot sliding in contact, ground penetration, contact F1,
joint-angle change and root path error (the Hips' horizontal path against the clip's, means aligned), on clean
clips and on clips with smooth noise (a stand-in for a generator's errors).

    .venv/bin/python benchmarks/refine_mocap.py            # prints one line per clip and the means

Contacts of reference: mocap.load_clip's (toe/ankle height and speed on the clean clip). Sliding is measured on
the ankles over frame pairs where the reference says the foot is planted; penetration on heel/toe sole points.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from animgen_ml import contacts as C
from animgen_ml import metrics, mocap
from animgen_ml import rotations as R
from animgen_ml.pipeline import GenerateOptions
from animgen_ml.refine import refine
from animgen_ml.shared_data import require_shared_data

CLIPS = [
    "accad_female1/Female1_B03_Walk1.bvh",
    "accad_female1/Female1_B09_WalkTurnLeft90.bvh",
    "accad_female1/Female1_B05_WalkBackwards.bvh",
    "accad_female1/Female1_A13_Skipping.bvh",
    "cmu_iclone_ccrig/002/002_01.bvh",
    "cmu_iclone_ccrig/005/005_01.bvh",
]


def _smooth_noise(shape: tuple[int, ...], sigma: float, rng: np.random.Generator, width: int = 5) -> np.ndarray:
    n = rng.normal(0, sigma, shape)
    k = np.ones(width) / width
    return np.apply_along_axis(lambda x: np.convolve(x, k, mode="same"), 0, n) * np.sqrt(width)


def figures(clip, ref_contacts) -> dict[str, float]:
    pos, _ = clip.world()
    ankles = np.stack([pos[:, clip.index("LeftFoot")], pos[:, clip.index("RightFoot")]], 1)
    heel, toe = C.sole_points(clip)
    soles = np.concatenate([heel, toe], axis=1)
    return {"slide_mm": metrics.foot_sliding(ankles, ref_contacts),
            "penetration": metrics.ground_penetration_rate(soles)}


def main() -> None:
    data = require_shared_data() / "mocap"
    rng = np.random.default_rng(0)
    rows = []
    for name in CLIPS:
        ref = mocap.load_clip(data / name)
        truth = ref.contacts.copy()
        noisy = replace(ref, rotations=R.normalize(ref.rotations + _smooth_noise(ref.rotations.shape, 0.01, rng)),
                        hips=ref.hips + _smooth_noise(ref.hips.shape, 0.01, rng))
        for kind, clip in (("clean", ref), ("noisy", noisy)):
            out, warnings = refine(clip, None, GenerateOptions())
            before, after = figures(clip, truth), figures(out, truth)
            f1 = metrics.contact_scores(out.contacts, truth)["contact_f1"]
            ang_before = metrics.joint_angle_error(clip.rotations, ref.rotations)
            ang_after = metrics.joint_angle_error(out.rotations, ref.rotations)
            root_before = metrics.root_path_error(clip.hips, ref.hips)
            root_after = metrics.root_path_error(out.hips, ref.hips)
            rows.append((after["slide_mm"], after["penetration"], f1, ang_after - ang_before, root_after))
            print(f"{name:48s} {kind}: slide {before['slide_mm']:5.1f} -> {after['slide_mm']:4.1f} mm/frame, "
                  f"penetration>1cm {100 * before['penetration']:4.1f}% -> {100 * after['penetration']:4.1f}%, "
                  f"contact F1 {f1:.3f}, joint angle err {ang_before:.2f} -> {ang_after:.2f} deg, "
                  f"root path {root_before:.0f} -> {root_after:.0f} mm"
                  + (f"  [{'; '.join(warnings)}]" if warnings else ""))
    a = np.array(rows)
    print(f"mean: slide {a[:, 0].mean():.2f} mm/frame, penetration {100 * a[:, 1].mean():.2f}%, "
          f"contact F1 {a[:, 2].mean():.3f}, joint angle change {a[:, 3].mean():+.2f} deg, "
          f"root path error {a[:, 4].mean():.0f} mm")


if __name__ == "__main__":
    main()
