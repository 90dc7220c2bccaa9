"""Joint limits: knees and elbows are hinges that bend one way within a range; left and right limbs get the
same bone lengths.

A limb's direction in its parent's frame gives a bend angle about the hinge axis and a sideways angle off
the hinge plane; both are clamped and the bone is turned by the smallest rotation onto the clamped
direction, so its twist about its own axis is kept and poses inside the limits are left exactly as they are.
A joint that is "out of range" in most frames has an unusual bone frame (a converter's twist), not a broken
pose, so it is left alone and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from animgen_ml import rotations as R
from animgen_ml.clip import HumanoidClip
from animgen_ml.smooth import gaussian_lowpass


@dataclass(frozen=True)
class Hinge:
    rest_dir: tuple[float, float, float]  # the bone's direction at rest, in its parent's frame
    axis: tuple[float, float, float]  # hinge axis in the parent's frame; a positive angle is a normal bend
    min_deg: float
    max_deg: float
    max_side_deg: float  # how far the bone may leave the hinge plane


# Rest: legs point down -Y, a bent knee moves the ankle back (-Z): +X rotation. Arms point along +-X, a bent
# elbow brings the hand forward (+Z): about -Y for the left arm, +Y for the right.
HINGES: dict[str, Hinge] = {
    "LeftLowerLeg": Hinge((0.0, -1.0, 0.0), (1.0, 0.0, 0.0), -5.0, 160.0, 15.0),
    "RightLowerLeg": Hinge((0.0, -1.0, 0.0), (1.0, 0.0, 0.0), -5.0, 160.0, 15.0),
    "LeftLowerArm": Hinge((1.0, 0.0, 0.0), (0.0, -1.0, 0.0), -5.0, 155.0, 20.0),
    "RightLowerArm": Hinge((-1.0, 0.0, 0.0), (0.0, 1.0, 0.0), -5.0, 155.0, 20.0),
}
MOSTLY_OUT = 0.5  # a joint out of range in more than this share of frames is left alone


def hinge_angles(q: np.ndarray, hinge: Hinge) -> tuple[np.ndarray, np.ndarray]:
    """Bend and sideways angles (radians) of local rotations q (..., 4)."""
    r, h = np.asarray(hinge.rest_dir, float), np.asarray(hinge.axis, float)
    d = R.apply(q, np.broadcast_to(r, q.shape[:-1] + (3,)))
    side = np.arcsin(np.clip(d @ h, -1.0, 1.0))
    dp = d - (d @ h)[..., None] * h
    bend = np.arctan2(np.cross(r, dp) @ h, dp @ r)
    return bend, side


def clamp_hinge(q: np.ndarray, hinge: Hinge) -> tuple[np.ndarray, np.ndarray]:
    """(clamped rotations, mask of the ones that were out of range)."""
    r, h = np.asarray(hinge.rest_dir, float), np.asarray(hinge.axis, float)
    bend, side = hinge_angles(q, hinge)
    b2 = np.clip(bend, np.radians(hinge.min_deg), np.radians(hinge.max_deg))
    s2 = np.clip(side, -np.radians(hinge.max_side_deg), np.radians(hinge.max_side_deg))
    out = ~np.isclose(b2, bend) | ~np.isclose(s2, side)
    in_plane = R.apply(R.from_axis_angle(np.broadcast_to(h, b2.shape + (3,)), b2), np.broadcast_to(r, b2.shape + (3,)))
    target = np.cos(s2)[..., None] * in_plane + np.sin(s2)[..., None] * h
    d = R.apply(q, np.broadcast_to(r, q.shape[:-1] + (3,)))
    new = R.normalize(R.multiply(R.between(d, target), q))
    return np.where(out[..., None], new, q), out


# The untwist of a hinge's parent is low-passed over this many seconds. Frame by frame it popped: where the elbow
# is bent little its plane is poorly defined, and the upper arm rolled up to 60 degrees in one frame (real videos:
# 14 steps over 40 degrees on a jumping-jacks clip's arm, 1 now). Chosen on the training clips through the noise
# model: joint-angle error 20.89 / 20.77 / 20.69 / 20.62 / 20.51 degrees at 0 / 0.1 / 0.15 / 0.2 / 0.3 s, the
# refined clip's acceleration error 8.82 / 8.82 / 8.84 / 8.85 / 8.89 mm/frame^2 (ml/EXPERIMENTS.md, "Limb twist").
UNTWIST_SIGMA_S = 0.2


def untwist_hinges(clip: HumanoidClip, hinges: dict[str, Hinge] | None = None) -> HumanoidClip:
    """Turn each hinge's parent (thigh, upper arm) about its own axis so that the bent child lies in the hinge
    plane: a generator that gets limb twist wrong shows knees bending sideways, though the joint positions are
    right. World poses are unchanged: the twist axis runs through the child joint, and the child's world
    rotation is kept. Fades out below 10-25 degrees of bend, where the hinge plane is not defined; the turn is
    low-passed over UNTWIST_SIGMA_S."""
    chosen = [(clip.index(b), h) for b, h in (HINGES if hinges is None else hinges).items() if b in clip.bones]
    rot = clip.rotations.copy()
    if not chosen:
        return replace(clip, rotations=rot)
    c = np.array([i for i, _ in chosen])
    p = np.asarray(clip.parents)[c]
    if len({*c, *p}) < 2 * len(c):  # a bone in two hinges (a caller's own): one hinge after the other
        for k, h in (HINGES if hinges is None else hinges).items():
            clip = untwist_hinges(clip, {k: h})
        return clip
    # All hinges at once (each array has a hinge axis H): their parents and children are distinct bones.
    r = np.array([h.rest_dir for _, h in chosen], float)  # (H, 3)
    axis = np.broadcast_to(r, (len(rot), *r.shape))  # (T, H, 3)
    d = R.apply(rot[:, c], axis)  # child directions in the parents' frames
    along = np.sum(d * r, axis=-1)
    perp = d - along[..., None] * r
    bend = np.degrees(np.arctan2(np.linalg.norm(perp, axis=-1), along))
    want = np.cross(np.array([h.axis for _, h in chosen], float), r)  # where a positive bend points
    # Signed angle from perp to want about r; the parent turns by minus that.
    alpha = np.arctan2(np.sum(np.cross(perp, want) * r, axis=-1), np.sum(perp * want, axis=-1))
    weight = np.clip((bend - 10.0) / 15.0, 0.0, 1.0)
    # Low-passed as a weighted unit vector (angles wrap), then scaled by the low-passed weight.
    low = gaussian_lowpass(np.stack([weight * np.cos(alpha), -weight * np.sin(alpha), weight], axis=-1),
                           UNTWIST_SIGMA_S * clip.fps)
    turn = R.from_axis_angle(axis, np.arctan2(low[..., 1], low[..., 0]) * np.clip(low[..., 2], 0.0, 1.0))
    rot[:, p] = R.multiply(rot[:, p], turn)
    rot[:, c] = R.multiply(R.conjugate(turn), rot[:, c])
    return replace(clip, rotations=rot)


def apply_limits(clip: HumanoidClip, hinges: dict[str, Hinge] | None = None
                 ) -> tuple[HumanoidClip, int, list[str]]:
    """Clamp every hinge joint; returns the clip, how many (frame, joint) values changed, and the joints
    skipped because they were out of range in most frames."""
    rot = clip.rotations.copy()
    changed = 0
    skipped = []
    for bone, hinge in (HINGES if hinges is None else hinges).items():
        if bone not in clip.bones:
            continue
        i = clip.index(bone)
        new, out = clamp_hinge(rot[:, i], hinge)
        if out.mean() > MOSTLY_OUT:
            skipped.append(bone)
            continue
        changed += int(out.sum())
        rot[:, i] = new
    return replace(clip, rotations=rot), changed, skipped


def symmetric_offsets(clip: HumanoidClip) -> HumanoidClip:
    """Give each Left/Right bone pair the same rest offset (mirrored across X): their mean."""
    off = clip.rest_offsets.copy()
    for i, b in enumerate(clip.bones):
        if b.startswith("Left") and "Right" + b[4:] in clip.bones:
            j = clip.index("Right" + b[4:])
            mean = 0.5 * (off[i] + off[j] * np.array([-1.0, 1.0, 1.0]))
            off[i] = mean
            off[j] = mean * np.array([-1.0, 1.0, 1.0])
    return replace(clip, rest_offsets=off)
