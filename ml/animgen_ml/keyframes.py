"""Keyframe reduction: per channel, keep the fewest frames whose linear (slerp for rotations) interpolation
stays within a tolerance of every original frame.

Recursive split (Ramer-Douglas-Peucker on the time axis): keep both ends of a span; if the frame worst
served by interpolating between them is out of tolerance, keep it too and handle both halves the same way.
Channels: "Hips.t" (the Hips translation, millimetres) and "<Bone>.r" (local rotations, degrees), matching
the glTF channels that gltf_export writes (LINEAR interpolation).
"""

from __future__ import annotations

import numpy as np

from animgen_ml import rotations as R
from animgen_ml.clip import HumanoidClip

# Bytes per key in a glb: a float time plus the value.
_KEY_BYTES = {"t": 4 + 12, "r": 4 + 16}


def _interp(values: np.ndarray, i: int, j: int, rotation: bool) -> np.ndarray:
    a = (np.arange(i + 1, j) - i) / (j - i)
    if rotation:
        return R.slerp(np.broadcast_to(values[i], (len(a), 4)), np.broadcast_to(values[j], (len(a), 4)), a)
    return values[i] + a[:, None] * (values[j] - values[i])


def _error(truth: np.ndarray, approx: np.ndarray, rotation: bool) -> np.ndarray:
    if rotation:
        return np.degrees(R.angle_between(approx, truth))
    return np.linalg.norm(approx - truth, axis=-1) * 1000.0


def simplify(values: np.ndarray, tol: float, rotation: bool) -> np.ndarray:
    """Sorted kept frame indices of one channel (T, 3) or (T, 4) for an error <= tol (mm or degrees)."""
    T = len(values)
    if T <= 2:
        return np.arange(T)
    keep = np.zeros(T, dtype=bool)
    keep[[0, T - 1]] = True
    stack = [(0, T - 1)]
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        err = _error(values[i + 1:j], _interp(values, i, j, rotation), rotation)
        k = int(np.argmax(err))
        if err[k] > tol:
            m = i + 1 + k
            keep[m] = True
            stack += [(i, m), (m, j)]
    return np.flatnonzero(keep)


def reduce_keys(clip: HumanoidClip, tol_degrees: float, tol_mm: float) -> dict[str, np.ndarray]:
    """Kept frame indices per channel ("Hips.t", "<Bone>.r"); with a tolerance of 0 only frames that
    interpolation reproduces exactly are dropped."""
    rot = R.make_continuous(R.normalize(clip.rotations))
    root = clip.bones[int(np.flatnonzero(clip.parents < 0)[0])]
    keys = {f"{root}.t": simplify(clip.hips, max(tol_mm, 1e-6), rotation=False)}
    for b, name in enumerate(clip.bones):
        keys[f"{name}.r"] = simplify(rot[:, b], max(tol_degrees, 1e-6), rotation=True)
    return keys


def reconstruct(clip: HumanoidClip, keys: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Hips (T, 3) and rotations (T, B, 4) played back from the kept keys, on every frame."""
    T = clip.frame_count
    rot = R.make_continuous(R.normalize(clip.rotations))
    root = clip.bones[int(np.flatnonzero(clip.parents < 0)[0])]

    def play(values: np.ndarray, idx: np.ndarray, rotation: bool) -> np.ndarray:
        out = values.copy()
        for i, j in zip(idx[:-1], idx[1:], strict=True):
            out[i + 1:j] = _interp(values, int(i), int(j), rotation)
        return out

    hips = play(clip.hips, keys[f"{root}.t"], False)
    rots = np.stack([play(rot[:, b], keys[f"{n}.r"], True) for b, n in enumerate(clip.bones)], axis=1)
    return hips, rots.reshape(T, len(clip.bones), 4)


def reduction(clip: HumanoidClip, keys: dict[str, np.ndarray]) -> dict[str, float]:
    """How much smaller the clip got: keys and animation bytes before and after, and the worst errors."""
    T = clip.frame_count
    before = after = bytes_before = bytes_after = 0
    for ch, idx in keys.items():
        kind = ch.rsplit(".", 1)[1]
        before += T
        after += len(idx)
        bytes_before += T * _KEY_BYTES[kind]
        bytes_after += len(idx) * _KEY_BYTES[kind]
    hips, rots = reconstruct(clip, keys)
    return {
        "keys_before": float(before),
        "keys_after": float(after),
        "key_ratio": after / max(before, 1),
        "bytes_before": float(bytes_before),
        "bytes_after": float(bytes_after),
        "max_error_degrees": float(np.degrees(R.angle_between(rots, clip.rotations)).max()) if T else 0.0,
        "max_error_mm": float(np.linalg.norm(hips - clip.hips, axis=-1).max() * 1000.0) if T else 0.0,
    }
