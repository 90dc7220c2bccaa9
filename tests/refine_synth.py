"""Synthetic walking for the refine tests: a clip whose foot contacts are known by construction.

The Hips travel along +Z; each foot is planted on the floor (sole at y = 0) for the stance part of its cycle
and swings forward along an arc otherwise; the legs are posed by two-bone IK from the rest pose. With heel_rise
the heel comes up in the last third of the stance, the foot rolling over its toe joint (which stays put) as a
real foot does, and the foot levels out again during the swing.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from animgen_ml import ik, skeleton
from animgen_ml import rotations as R
from animgen_ml.clip import HumanoidClip, empty_clip


def walk(seconds: float = 3.0, fps: float = 30.0, speed: float = 1.0, period: float = 1.0,
         stance: float = 0.6, hips_height: float = 0.87, lift: float = 0.10, heel_rise: float = 0.0
         ) -> tuple[HumanoidClip, np.ndarray]:
    """(clip, contacts (T, 2) bool). heel_rise: the foot's pitch at toe-off (radians)."""
    T = int(round(seconds * fps))
    t = np.arange(T) / fps
    clip = empty_clip(skeleton.bone_names(), T, fps)
    hips = np.stack([np.zeros(T), np.full(T, hips_height), speed * t], 1)
    heel_h = -clip.rest_offsets[clip.index("LeftToes"), 1]
    stride = speed * period
    truth = np.zeros((T, 2), dtype=bool)
    toe_offset = clip.rest_offsets[clip.index("LeftToes")]  # from the ankle, the foot at rest
    ankles, pitches = [], []
    for f, (x, phase0) in enumerate(((0.09, 0.0), (-0.09, 0.5))):
        ph = (t / period + phase0) % 1.0
        cycle = np.floor(t / period + phase0)
        in_stance = ph < stance
        truth[:, f] = in_stance
        # planted spot of this cycle's stance; the swing moves from it to the next one
        spot = cycle * stride + 0.25 - phase0 * stride
        s = np.clip((ph - stance) / (1 - stance), 0, 1)
        ease = s * s * (3 - 2 * s)
        z = np.where(in_stance, spot, spot + stride * ease)
        y = heel_h + np.where(in_stance, 0.0, lift * np.sin(np.pi * s))
        # the foot's pitch rises over the stance's last third and falls back over the swing; the ankle turns
        # with it about the toe joint, which in the stance stays put
        rise = np.clip((ph / stance - 2.0 / 3.0) * 3.0, 0, 1)
        q = R.from_axis_angle(np.array([1.0, 0.0, 0.0]),
                              heel_rise * np.where(in_stance, rise * rise * (3 - 2 * rise), 1 - ease))
        roll = toe_offset - R.apply(q, np.broadcast_to(toe_offset, (T, 3)))
        ankles.append(np.stack([np.full(T, x), y, z], 1) + roll)
        pitches.append(q)
    clip = replace(clip, hips=hips)
    pos, rot = clip.world()
    new = clip.rotations.copy()
    for side, target, q in zip(("Left", "Right"), ankles, pitches, strict=True):
        idx = [clip.index(f"{side}{b}") for b in ("UpperLeg", "LowerLeg", "Foot")]
        sol = ik.solve_two_bone(pos[:, idx[0]], pos[:, idx[1]], pos[:, idx[2]], target, pole=[0.0, 0.0, 1.0])
        chain = rot[:, idx].copy()
        chain[:, 2] = q  # the foot's world rotation, which the IK keeps
        up, low, end = ik.apply_to_clip_chain(chain, rot[:, 0], sol)
        new[:, idx[0]], new[:, idx[1]], new[:, idx[2]] = up, low, end
    # a little arm swing and torso turn so that every editing option has something to act on
    sw = 0.4 * np.sin(2 * np.pi * t / period)
    for side, sign in (("Left", 1.0), ("Right", -1.0)):
        i = clip.index(f"{side}UpperArm")
        new[:, i] = R.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.full(T, -sign * 1.2))
        swing = np.stack([np.sin(sign * sw / 2), np.zeros(T), np.zeros(T), np.cos(sign * sw / 2)], 1)
        new[:, i] = R.multiply(swing, new[:, i])
    yaw = 0.1 * np.sin(2 * np.pi * t / period)
    new[:, clip.index("Spine")] = np.stack([np.zeros(T), np.sin(yaw / 2), np.zeros(T), np.cos(yaw / 2)], 1)
    return replace(clip, rotations=new, contacts=truth.copy()), truth
