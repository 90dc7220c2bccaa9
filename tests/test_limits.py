"""Joint limits: hinge joints whose parent carries the wrong twist are untwisted without moving any joint."""

from __future__ import annotations

import numpy as np

from animgen_ml import limits, skeleton
from animgen_ml import rotations as R
from animgen_ml.clip import empty_clip

rng = np.random.default_rng(3)


def _twisted_legs_and_arms(frames: int = 60, wrong_deg: np.ndarray | None = None):
    """Knees and elbows bent as hinges (30-120 deg), then the thigh / upper arm twisted about its own axis by
    wrong_deg (default: 50 to 70 deg, slowly changing) with the child turned back, as a generator that gets limb
    twist wrong would give."""
    clip = empty_clip(skeleton.bone_names(), frames, 30.0)
    bend = np.radians(rng.uniform(30, 120, frames))
    if wrong_deg is None:
        wrong_deg = 60.0 + 10.0 * np.sin(2 * np.pi * np.arange(frames) / 120.0)
    wrong = np.radians(wrong_deg)
    for bone, hinge in limits.HINGES.items():
        c = clip.index(bone)
        p = int(clip.parents[c])
        r, h = np.asarray(hinge.rest_dir), np.asarray(hinge.axis)
        clip.rotations[:, p] = R.normalize(rng.normal(size=(frames, 4)) * 0.2 + [0, 0, 0, 1])
        true_child = R.from_axis_angle(np.broadcast_to(h, (frames, 3)), bend)
        twist = R.from_axis_angle(np.broadcast_to(r, (frames, 3)), wrong)
        clip.rotations[:, p] = R.multiply(clip.rotations[:, p], twist)
        clip.rotations[:, c] = R.multiply(R.conjugate(twist), true_child)
    return clip, bend


def test_untwist_keeps_the_pose_and_makes_true_hinges() -> None:
    clip, bend = _twisted_legs_and_arms()
    before_pos, before_rot = clip.world()
    for bone, hinge in limits.HINGES.items():  # the wrong twist shows as a sideways bend
        _, side = limits.hinge_angles(clip.rotations[:, clip.index(bone)], hinge)
        assert np.degrees(np.abs(side)).max() > 20
    fixed = limits.untwist_hinges(clip)
    after_pos, after_rot = fixed.world()
    np.testing.assert_allclose(after_pos, before_pos, atol=1e-9)
    hands_feet = [clip.index(b) for b in ("LeftHand", "RightHand", "LeftFoot", "RightFoot")]
    np.testing.assert_allclose(R.angle_between(after_rot[:, hands_feet], before_rot[:, hands_feet]), 0, atol=1e-7)
    for bone, hinge in limits.HINGES.items():  # the untwist is low-passed: a slow error is taken out all but
        b, side = limits.hinge_angles(fixed.rotations[:, clip.index(bone)], hinge)
        assert np.degrees(np.abs(side)).max() < 1.0
        assert np.degrees(np.abs(b - bend)).max() < 0.1
    assert limits.apply_limits(fixed)[2] == []  # nothing left "bent the other way"


def test_untwist_does_not_pop_where_the_hinge_plane_flickers() -> None:
    """An elbow bent 20 deg whose bend direction jitters 30 deg either side of its hinge plane, the upper arm still:
    untwisted frame by frame, the upper arm rolled with the jitter (60 deg a frame); low-passed, it barely moves."""
    frames = 60
    clip = empty_clip(skeleton.bone_names(), frames, 30.0)
    hinge = limits.HINGES["LeftLowerArm"]
    r, h = np.asarray(hinge.rest_dir), np.asarray(hinge.axis)
    jitter = np.radians(np.where(np.arange(frames) % 2, 30.0, -30.0))
    axis = R.apply(R.from_axis_angle(np.broadcast_to(r, (frames, 3)), jitter), np.broadcast_to(h, (frames, 3)))
    clip.rotations[:, clip.index("LeftLowerArm")] = R.from_axis_angle(axis, np.full(frames, np.radians(20.0)))
    fixed = limits.untwist_hinges(clip)
    arm = clip.index("LeftUpperArm")
    rolls = np.degrees(R.angle_between(fixed.rotations[1:, arm], fixed.rotations[:-1, arm]))
    assert np.median(rolls) < 5.0, np.median(rolls)


def test_untwist_leaves_straight_limbs_and_true_hinges_alone() -> None:
    clip = empty_clip(skeleton.bone_names(), 5, 30.0)
    knee = clip.index("LeftLowerLeg")
    clip.rotations[:, knee] = R.from_axis_angle([1.0, 0, 0], np.radians([0, 5, 40, 90, 130]))
    fixed = limits.untwist_hinges(clip)
    np.testing.assert_allclose(fixed.rotations, clip.rotations, atol=1e-12)


def test_untwist_of_hinges_that_share_a_bone_turns_it_for_each() -> None:
    """A caller's hinge set may name a bone twice (here two hinges under one parent, the Hips): each hinge is then
    applied in turn; at once, the parent kept only the last one's turn."""
    clip, _ = _twisted_legs_and_arms()
    hip = limits.Hinge((0.0, -1.0, 0.0), (1.0, 0.0, 0.0), -30.0, 120.0, 30.0)
    both = limits.untwist_hinges(clip, {"LeftUpperLeg": hip, "RightUpperLeg": hip})
    one_by_one = limits.untwist_hinges(limits.untwist_hinges(clip, {"LeftUpperLeg": hip}), {"RightUpperLeg": hip})
    np.testing.assert_allclose(both.rotations, one_by_one.rotations, atol=1e-12)
    assert R.angle_between(both.rotations[:, 0], clip.rotations[:, 0]).max() > 0.1  # the Hips did turn
