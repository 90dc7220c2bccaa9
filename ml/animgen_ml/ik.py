"""Two-bone IK (hip-knee-ankle, shoulder-elbow-wrist), vectorised over frames.

The chain keeps its bend plane: the new middle joint lies on the same side of the root->target line as the
old one, so knees keep pointing where they pointed. Unreachable targets are clamped to the chain's reach
(fully stretched, or fully folded), never NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from animgen_ml import rotations as R

_EPS = 1e-9


@dataclass
class TwoBoneSolution:
    mid: np.ndarray  # (..., 3) new middle joint position
    end: np.ndarray  # (..., 3) new end joint position (== target where reachable)
    delta_upper: np.ndarray  # (..., 4) world-space rotation to apply to the upper bone (and everything below)
    delta_lower: np.ndarray  # (..., 4) extra world-space rotation for the lower bone, after delta_upper
    reached: np.ndarray  # (...,) bool: the target was within reach


HINGE_NEAR_DEG = 20.0  # see solve_two_bone's hinge


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), _EPS)


def solve_two_bone(
    root: np.ndarray, mid: np.ndarray, end: np.ndarray, target: np.ndarray,
    pole: ArrayLike | None = None, max_stretch: float = 0.9999, hinge: bool = False, soft: float = 0.0,
) -> TwoBoneSolution:
    """Place `end` on `target` by bending at `mid`; all arrays (..., 3) world positions.

    pole: (..., 3) or (3,) direction the middle joint should bend toward when the current pose gives none
    (a straight chain); defaults to the current bend. hinge: the middle joint bends only toward the pole (a knee):
    a chain within HINGE_NEAR_DEG of straight but bent the other way (past straight) is bent toward the pole too,
    not further back. A chain bent more keeps its own bend (a kneeling leg's toes may point back). max_stretch keeps
    the chain just short of straight, where the bend direction would become undefined.

    soft: the share of the chain's length, below its reach, over which a far target is approached ever more
    slowly instead of up to the reach at once (soft IK). Near straight a chain's bend changes fastest for its
    length: a pin a few cm out of reach straightened a knee bent 36 degrees in one frame, and it popped back when
    the pin let go. The zone starts no lower than the chain's current length: a chain is never bent more than it
    was to reach further.
    """
    root, mid, end, target = (np.asarray(a, dtype=np.float64) for a in (root, mid, end, target))
    l1 = np.linalg.norm(mid - root, axis=-1)
    l2 = np.linalg.norm(end - mid, axis=-1)
    to_target = target - root
    dist = np.linalg.norm(to_target, axis=-1)
    lo = np.abs(l1 - l2) + 1e-6
    hi = (l1 + l2) * max_stretch
    d = np.clip(dist, lo, hi)
    if soft > 0.0:
        start = np.minimum(np.maximum(hi - soft * (l1 + l2), np.linalg.norm(end - root, axis=-1)), hi)
        zone = np.maximum(hi - start, _EPS)
        d = np.where(dist > start, start - zone * np.expm1(-np.maximum(dist - start, 0.0) / zone), d)
    reached = (dist >= lo) & (dist <= d + 1e-9)
    # Direction to the target; a target on the root falls back to the current end direction.
    u = np.where((dist > _EPS)[..., None], to_target / np.maximum(dist, _EPS)[..., None], _unit(end - root))
    # Bend direction: the middle joint's offset from the current root->end line, turned with the chain onto
    # the root->target line; a straight chain has none, so the pole (if any) decides.
    axis = _unit(end - root)
    bend = (mid - root) - np.sum((mid - root) * axis, -1, keepdims=True) * axis
    straight = np.linalg.norm(bend, axis=-1, keepdims=True) < 1e-3 * np.maximum(l1, _EPS)[..., None]
    if pole is not None:
        toward = np.broadcast_to(np.asarray(pole, dtype=np.float64), bend.shape)
        if hinge:
            cos_bend = np.sum(_unit(mid - root) * _unit(end - mid), -1, keepdims=True)
            past = (np.sum(bend * toward, -1, keepdims=True) < 0.0) & (cos_bend > np.cos(np.radians(HINGE_NEAR_DEG)))
            straight = straight | past
        bend = np.where(straight, toward, bend)
    bend = R.apply(R.between(axis, u), bend)
    bend = bend - np.sum(bend * u, -1, keepdims=True) * u
    any_perp = np.cross(u, np.array([1.0, 0.0, 0.0]))
    any_perp = np.where(np.linalg.norm(any_perp, axis=-1, keepdims=True) < 1e-3,
                        np.cross(u, np.array([0.0, 0.0, 1.0])), any_perp)
    bend = np.where(np.linalg.norm(bend, axis=-1, keepdims=True) < 1e-9, any_perp, bend)
    p = _unit(bend)
    cos_a = np.clip((l1**2 + d**2 - l2**2) / np.maximum(2.0 * l1 * d, _EPS), -1.0, 1.0)
    sin_a = np.sqrt(1.0 - cos_a**2)
    new_mid = root + l1[..., None] * (cos_a[..., None] * u + sin_a[..., None] * p)
    new_end = root + d[..., None] * u
    delta_upper = R.between(mid - root, new_mid - root)
    delta_lower = R.between(R.apply(delta_upper, end - mid), new_end - new_mid)
    return TwoBoneSolution(new_mid, new_end, delta_upper, delta_lower, reached)


def apply_to_clip_chain(world_rot: np.ndarray, parent_world_rot: np.ndarray, sol: TwoBoneSolution
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """New local rotations (upper, lower, end) from a solution; the end bone keeps its old world rotation (a
    planted foot keeps its angle to the floor).

    world_rot: (T, 3, 4) old world rotations of upper, lower and end bones; parent_world_rot: (T, 4) of the
    upper bone's parent.
    """
    upper = R.multiply(sol.delta_upper, world_rot[:, 0])
    lower = R.multiply(sol.delta_lower, R.multiply(sol.delta_upper, world_rot[:, 1]))
    local_upper = R.multiply(R.conjugate(parent_world_rot), upper)
    local_lower = R.multiply(R.conjugate(upper), lower)
    local_end = R.multiply(R.conjugate(lower), world_rot[:, 2])
    return R.normalize(local_upper), R.normalize(local_lower), R.normalize(local_end)
