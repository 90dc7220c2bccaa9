"""The HumanoidClip's twist convention: where a limb's roll about its own length lives.

Joint positions do not show a bone's roll about its own axis, and rigs store it each their own way (one puts
forearm pronation in the hand bone, another in the forearm; a clavicle or toe joint may carry any roll). Every
clip we make follows one convention, as an engine's humanoid muscle space does:
- clavicles and toes do not roll on their parents;
- the wrist does not roll: pronation lives in the forearm;
- the shin does not roll on the thigh (a knee is a hinge): the roll goes to the foot.
Each change turns a bone about its own axis and gives the opposite turn to its child, so no joint moves and
every world rotation below is kept. Mocap ground truth (mocap.py) and both generators apply it, so that the
joint-angle error compares like with like.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from animgen_ml import rotations as R
from animgen_ml.clip import HumanoidClip

# bone -> (the joint its axis points at, the child that takes the roll over; None: nothing below it)
NO_ROLL: dict[str, tuple[str, str | None]] = {}
for _s in ("Left", "Right"):
    NO_ROLL.update({
        f"{_s}Shoulder": (f"{_s}UpperArm", f"{_s}UpperArm"),
        f"{_s}LowerLeg": (f"{_s}Foot", f"{_s}Foot"),
        f"{_s}Toes": (f"{_s}Toes", None),  # a leaf: its axis continues the foot's (foot -> toes)
    })
# bone -> its parent, which takes the bone's roll over (the parent turns about its own axis, which runs through
# this bone's joint, so the bone's world rotation is kept).
ROLL_TO_PARENT = {"LeftHand": "LeftLowerArm", "RightHand": "RightLowerArm"}


def _axis(clip: HumanoidClip, joint: str) -> np.ndarray:
    v = clip.rest_offsets[clip.index(joint)]
    return v / max(float(np.linalg.norm(v)), 1e-9)


def roll(q: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """(T,) twist angle (radians) of local rotations q (T, 4) about a unit axis in the bone's own frame."""
    return 2.0 * np.arctan2(q[:, :3] @ axis, q[:, 3])


def canonical_twists(clip: HumanoidClip) -> HumanoidClip:
    """The clip in our twist convention (module docstring); bones a clip lacks are skipped."""
    rot = clip.rotations.copy()
    n = len(rot)
    for bone, (joint, child) in NO_ROLL.items():
        if bone not in clip.bones or joint not in clip.bones:
            continue
        i, a = clip.index(bone), _axis(clip, joint)
        turn = R.from_axis_angle(np.broadcast_to(a, (n, 3)), roll(rot[:, i], a))
        rot[:, i] = R.multiply(rot[:, i], R.conjugate(turn))  # swing only
        if child is not None:
            j = clip.index(child)
            rot[:, j] = R.multiply(turn, rot[:, j])  # its world rotation is kept
    for bone, parent in ROLL_TO_PARENT.items():
        if bone not in clip.bones:
            continue
        i, p = clip.index(bone), clip.index(parent)
        a = _axis(clip, bone)  # the forearm's axis (elbow -> wrist); the hand continues it at rest
        turn = R.from_axis_angle(np.broadcast_to(a, (n, 3)), roll(rot[:, i], a))
        rot[:, p] = R.multiply(rot[:, p], turn)
        rot[:, i] = R.multiply(R.conjugate(turn), rot[:, i])  # the hand's world rotation (and fingers') is kept
    return replace(clip, rotations=R.make_continuous(R.normalize(rot)))
