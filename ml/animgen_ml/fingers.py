"""Finger rotations after they are solved from MediaPipe's hand points: held within the joints' range, steadied, and
eased to rest where the hand is not seen.

MediaPipe's hands in ordinary footage are small (a palm of 20-60 px, a phalanx of 3-14 px): on the real test videos
its finger points bent 15-36 % of finger joints backwards, and a palm that turned over for a frame flipped every
finger with it (steps over 60 degrees in a frame, hundreds per clip). A finger's joints bend one way and little
sideways, and fingers do not turn over in a thirtieth of a second: each phalanx's direction is clamped to its
joint's range, then low-passed.

Local frames: in the rest pose (a T-pose) the fingers point along +x (left hand) or -x (right), the palm faces -y
and the thumb's side is +z; each range is measured from the segment's own rest direction. A finger's local rotation
is a swing of its segment (solver._solve_fingers), so it is rebuilt from the segment's direction. The thumb, whose
joints face across the palm, is steadied but not clamped.
"""

from __future__ import annotations

import numpy as np

from animgen_ml import bodymodel
from animgen_ml import rotations as R
from animgen_ml.contacts import runs
from animgen_ml.smooth import gaussian_lowpass

# Where a hand is not seen its fingers ease to rest over this many seconds and back to the hand when it returns; a
# gap shorter than twice this goes straight from the last seen fingers to the next. The fingers had gone to rest in
# one frame and back (taiji: 112 degrees in a frame when a lost hand returned).
EASE_S = 0.3
# Per phalanx: flexion towards the palm (least, most) and sideways bend (either way), degrees; generous, with the
# passive range.
RANGE = {"Proximal": (-30.0, 95.0, 25.0), "Intermediate": (-10.0, 115.0, 10.0), "Distal": (-20.0, 90.0, 10.0)}
STEADY_S = 0.08  # the phalanx directions are low-passed over this (Gaussian sigma, seconds)


def settle(local: np.ndarray, bones: list[str], offsets: np.ndarray, side: str, seen: np.ndarray,
           fps: float) -> np.ndarray:
    """(T, B, 4) local rotations with `side`'s finger bones (bones, rest offsets (B, 3)) clamped to their range,
    low-passed, and eased to rest where the hand was not seen (seen (T,) False)."""
    out = local.copy()
    ahead = 1.0 if side == "Left" else -1.0  # the fingers' rest direction along x
    for chain in bodymodel.hand_chain(side):
        for k, bone in enumerate(chain):
            i = bones.index(bone)
            out[:, i] = ease_unseen(out[:, i], seen, fps)
            seg = offsets[bones.index(chain[k + 1])] if k + 1 < len(chain) else offsets[i]
            u = np.broadcast_to(seg / np.linalg.norm(seg), (len(out), 3))
            d = R.apply(out[:, i], u)
            if "Thumb" not in bone:  # measured from the segment's rest direction (fingers splay a little at rest)
                to_x = R.between(u[0], np.array([ahead, 0.0, 0.0]))
                d = R.apply(R.conjugate(to_x), _within_range(R.apply(to_x, d), ahead, RANGE[_phalanx(bone)]))
            d = gaussian_lowpass(d, STEADY_S * fps)
            out[:, i] = R.between(u, d / np.linalg.norm(d, axis=-1, keepdims=True))
    return out


def _phalanx(bone: str) -> str:
    return next(p for p in RANGE if bone.endswith(p))


def _within_range(d: np.ndarray, ahead: float, limits: tuple[float, float, float]) -> np.ndarray:
    """(T, 3) segment directions in the parent's frame, clamped to a flexion range and a sideways bend."""
    least, most, sideways = np.radians(limits)
    flex = np.clip(np.arctan2(-d[:, 1], ahead * d[:, 0]), least, most)
    side = np.clip(np.arcsin(np.clip(d[:, 2], -1.0, 1.0)), -sideways, sideways)
    return np.stack([ahead * np.cos(flex) * np.cos(side), -np.sin(flex) * np.cos(side), np.sin(side)], axis=1)


def ease_unseen(q: np.ndarray, seen: np.ndarray, fps: float) -> np.ndarray:
    """(T, 4) local rotations of a finger bone with the frames where the hand was not seen (seen (T,) False) eased
    between the seen ones around them and the rest pose (identity)."""
    out = q.copy()
    if not seen.any():
        return R.identity(q.shape[:-1])
    n = max(1, int(round(EASE_S * fps)))
    rest = R.identity()
    for s, e in runs(~seen):  # frames s .. e-1 unseen
        k = np.arange(s, e)
        if e - s < 2 * n:  # a short gap: from the last seen fingers to the next (held at the clip's ends)
            before, after = q[s - 1] if s > 0 else q[e], q[e] if e < len(q) else q[s - 1]
            out[k] = R.slerp(before[None], after[None], (k - s + 1) / (e - s + 1))
            continue
        before, after = q[s - 1] if s > 0 else rest, q[e] if e < len(q) else rest
        leave = np.clip((k - s + 1) / n, 0.0, 1.0) if s > 0 else np.ones(len(k))
        arrive = np.clip((e - k) / n, 0.0, 1.0) if e < len(q) else np.ones(len(k))
        out[k] = R.slerp(before[None], rest[None], leave)
        back = arrive < 1.0
        out[k[back]] = R.slerp(after[None], rest[None], arrive[back])
    return out
