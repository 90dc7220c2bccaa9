"""The twist convention: rolls move to where HumanoidClip keeps them, and no joint or world rotation moves."""

from __future__ import annotations

import numpy as np

from animgen_ml import mocap, twists
from animgen_ml import rotations as R


def _rolled(clip, rng):
    """The clip with random per-frame rolls added to every bone the convention constrains (each child turned back,
    so the pose is the same): what a rig with other conventions stores."""
    rot = clip.rotations.copy()
    n = len(rot)
    for bone, (joint, child) in twists.NO_ROLL.items():
        turn = R.from_axis_angle(np.broadcast_to(twists._axis(clip, joint), (n, 3)), rng.uniform(-1.5, 1.5, n))
        i = clip.index(bone)
        rot[:, i] = R.multiply(rot[:, i], turn)
        if child is not None:
            rot[:, clip.index(child)] = R.multiply(R.conjugate(turn), rot[:, clip.index(child)])
    for bone, parent in twists.ROLL_TO_PARENT.items():
        turn = R.from_axis_angle(np.broadcast_to(twists._axis(clip, bone), (n, 3)), rng.uniform(-1.5, 1.5, n))
        p, i = clip.index(parent), clip.index(bone)
        rot[:, p] = R.multiply(rot[:, p], R.conjugate(turn))
        rot[:, i] = R.multiply(turn, rot[:, i])
    clip.rotations = rot
    return clip


def test_canonical_twists_move_rolls_without_moving_the_pose(shared_data):
    path = shared_data / "mocap" / "accad_female1" / "Female1_B03_Walk1.bvh"
    clip = mocap.load_clip(path)
    rolled = _rolled(mocap.load_clip(path), np.random.default_rng(0))
    pos0, world0 = rolled.world()
    fixed = twists.canonical_twists(rolled)
    pos1, world1 = fixed.world()
    assert np.abs(pos1 - pos0).max() < 1e-9  # no joint moves
    for bone in ("LeftUpperArm", "RightFoot", "LeftHand", "RightHand"):  # children that take a roll over; hands
        assert np.degrees(R.angle_between(world0[:, fixed.index(bone)], world1[:, fixed.index(bone)])).max() < 1e-6
    for bone, (joint, _) in twists.NO_ROLL.items():
        assert np.abs(twists.roll(fixed.rotations[:, fixed.index(bone)], twists._axis(fixed, joint))).max() < 1e-6
    for bone in twists.ROLL_TO_PARENT:
        assert np.abs(twists.roll(fixed.rotations[:, fixed.index(bone)], twists._axis(fixed, bone))).max() < 1e-6
    # The rolls we added are gone again: the mocap clip (already canonical) comes back.
    assert np.degrees(R.angle_between(fixed.rotations, clip.rotations)).max() < 1e-4
    # And the convention is a fixed point.
    again = twists.canonical_twists(fixed)
    assert np.degrees(R.angle_between(again.rotations, fixed.rotations)).max() < 1e-6
