"""Keyframe reduction: per channel, keep the fewest frames whose linear (slerp for rotations) interpolation
stays within a tolerance of every original frame.

Recursive split (Ramer-Douglas-Peucker on the time axis): keep both ends of a span; if the frame worst
served by interpolating between them is out of tolerance, keep it too and handle both halves the same way.
Channels: "Hips.t" (the Hips translation, millimetres) and "<Bone>.r" (local rotations, degrees), matching
the glTF channels that gltf_export writes (LINEAR interpolation).

Down a leg the channels' errors add up at the foot: at 1°, 2 mm a generated walk's planted feet slid 3.6 mm a frame
(0.9 in the full clip) and its soles went 3.8 mm into the floor. So the feet are held as well (hold_feet): a planted
foot stays within the millimetre tolerance of the full motion, and no foot goes further than that under the floor than
the full motion does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from animgen_ml import contacts as C
from animgen_ml import rotations as R
from animgen_ml.clip import HumanoidClip

# Bytes per key in a glb: a float time plus the value.
_KEY_BYTES = {"t": 4 + 12, "r": 4 + 16}


def _interp(values: np.ndarray, i: np.ndarray, j: np.ndarray, frames: np.ndarray, rotation: bool) -> np.ndarray:
    """Values (T, D) at `frames` interpolated between the keys at i and j (arrays of one length)."""
    a = (frames - i) / (j - i)
    if rotation:
        return R.slerp(values[i], values[j], a)
    return values[i] + a[:, None] * (values[j] - values[i])


def _error(truth: np.ndarray, approx: np.ndarray, rotation: bool) -> np.ndarray:
    if rotation:
        return np.degrees(R.angle_between(approx, truth))
    return np.linalg.norm(approx - truth, axis=-1) * 1000.0


def simplify(values: np.ndarray, tol: float, rotation: bool) -> np.ndarray:
    """Sorted kept frame indices of one channel (T, 3) or (T, 4) for an error <= tol (mm or degrees).

    The spans of one depth of the split are handled together, in one pass over their frames: the result is the
    recursive split's, with no Python step per key (a span at a time, the 23 channels of a 20000-frame clip took
    twice as long: 34 s against 16 s, one run)."""
    T = len(values)
    if T <= 2:
        return np.arange(T)
    return split_spans(values, tol, rotation, np.array([[0, T - 1]]))


def split_spans(values: np.ndarray, tol: float, rotation: bool, spans: np.ndarray) -> np.ndarray:
    """The kept frames of the recursive split run on each of spans (N, 2) (first and last frame, both kept)."""
    keep = np.zeros(len(values), dtype=bool)
    keep[spans.ravel()] = True
    while len(spans):
        spans = spans[spans[:, 1] - spans[:, 0] >= 2]
        if not len(spans):
            break
        inner = spans[:, 1] - spans[:, 0] - 1  # frames strictly inside each span
        first = np.concatenate([[0], np.cumsum(inner)[:-1]])  # where each span's frames start in the pass
        owner = np.repeat(np.arange(len(spans)), inner)
        i, j = spans[owner, 0], spans[owner, 1]
        frames = i + 1 + np.arange(len(owner)) - first[owner]
        err = _error(values[frames], _interp(values, i, j, frames, rotation), rotation)
        worst = np.maximum.reduceat(err, first)
        at_worst = np.flatnonzero(err == worst[owner])
        _, pick = np.unique(owner[at_worst], return_index=True)  # each span's first frame at its worst, as argmax
        split = worst > tol
        m = frames[at_worst[pick]][split]
        keep[m] = True
        spans = np.concatenate([np.stack([spans[split, 0], m], 1), np.stack([m, spans[split, 1]], 1)])
    return np.flatnonzero(keep)


def play(values: np.ndarray, idx: np.ndarray, rotation: bool) -> np.ndarray:
    """One channel's values (T, D) played back on every frame from its kept frames idx (sorted, both ends)."""
    out = values.copy()
    frames = np.setdiff1d(np.arange(len(values)), idx)
    if len(frames):
        k = np.searchsorted(idx, frames)  # each dropped frame lies between keys idx[k - 1] and idx[k]
        out[frames] = _interp(values, idx[k - 1], idx[k], frames, rotation)
    return out


Channel = tuple[np.ndarray, float, bool]  # a channel's values (T, D), its tolerance (mm or degrees), rotation or not


def hold_feet(channels: dict[str, Channel],
              feet: Callable[[dict[str, np.ndarray] | None], tuple[np.ndarray, np.ndarray]], planted: np.ndarray,
              floor: float, movers: Sequence[Sequence[str]], tol_m: float) -> dict[str, np.ndarray]:
    """Kept frames per channel (simplify) such that, played back, every foot also stays within tol_m of the full
    motion where it is planted (T, S), and goes under the floor no more than tol_m further than it does. feet(keys)
    gives the feet's points (T, S, P, 3) and each foot's lowest height (T, S) played back from keys (None: the full
    motion).
    Each round the worst frame of every stretch that is out becomes a fixed key of each channel that moves that
    foot (movers[s]; a frame keyed in all of them plays back exactly), and the span between the fixed keys either
    side of it is simplified again, so that each channel stays within its own tolerance too."""
    keys = {ch: simplify(v, max(tol, 1e-6), rot) for ch, (v, tol, rot) in channels.items()}
    full, full_low = feet(None)
    held = planted.astype(bool)
    floor_low = np.minimum(full_low, floor)
    fixed = {ch: np.array([0, len(v) - 1]) for ch, (v, _, _) in channels.items()}  # the ends are always keys
    while True:
        got, low = feet(keys)
        off = np.where(held, np.linalg.norm(got - full, axis=-1).max(axis=2), 0.0)
        out = np.maximum(off, floor_low - low)
        if not (out > tol_m).any():
            return keys
        new: dict[str, list[int]] = {}
        for s, moving in enumerate(movers):
            worst = [a + int(np.argmax(out[a:b, s])) for a, b in C.runs(out[:, s] > tol_m)]
            for ch in moving:
                new.setdefault(ch, []).extend(worst)
        added_any = False
        for ch, frames in new.items():
            values, tol, rot = channels[ch]
            added = np.setdiff1d(frames, fixed[ch])
            if not len(added):
                continue
            added_any = True
            old, fixed[ch] = fixed[ch], np.union1d(fixed[ch], added)
            # The spans between the fixed keys that the new ones cut are split again; the others keep their keys.
            at = np.searchsorted(fixed[ch], added)
            spans = np.unique(np.concatenate([np.stack([fixed[ch][at - 1], added], 1),
                                              np.stack([added, fixed[ch][at + 1]], 1)]), axis=0)
            cut = np.searchsorted(old, added)
            inside = np.zeros(len(values) + 1, dtype=int)
            np.add.at(inside, old[cut - 1] + 1, 1)
            np.add.at(inside, old[cut], -1)
            stale = np.cumsum(inside)[keys[ch]] > 0
            keys[ch] = np.union1d(keys[ch][~stale], split_spans(values, max(tol, 1e-6), rot, spans))
        if not added_any:  # out only where every channel that moves the foot is keyed: rounding, nothing to add
            return keys


def reduce_keys(clip: HumanoidClip, tol_degrees: float, tol_mm: float) -> dict[str, np.ndarray]:
    """Kept frame indices per channel ("Hips.t", "<Bone>.r"), the feet held (hold_feet) within tol_mm; with a
    tolerance of 0 only frames that interpolation reproduces exactly are dropped."""
    rot = R.make_continuous(R.normalize(clip.rotations))
    root = clip.bones[int(np.flatnonzero(clip.parents < 0)[0])]
    channels: dict[str, Channel] = {f"{root}.t": (clip.hips, tol_mm, False)}
    channels.update({f"{name}.r": (rot[:, b], tol_degrees, True) for b, name in enumerate(clip.bones)})
    if not all(f"{s}{b}" in clip.bones for s in C.SIDES for b in ("Foot", "Toes")):
        return {ch: simplify(v, max(tol, 1e-6), r) for ch, (v, tol, r) in channels.items()}

    def feet(kept: dict[str, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
        """Heel and toe (T, side, 2, 3) and each foot's lower one's height, played back from kept keys (None: from
        the channels' own values, as a frame that is a key of every channel plays)."""
        hips, rotations = (clip.hips, rot) if kept is None else reconstruct(clip, kept)
        points = np.stack(C.sole_points(replace(clip, hips=hips, rotations=rotations)), axis=2)
        return points, points[..., 1].min(axis=2)

    movers = [[f"{root}.t", f"{root}.r"] + [f"{s}{b}.r" for b in ("UpperLeg", "LowerLeg", "Foot", "Toes")]
              for s in C.SIDES]
    return hold_feet(channels, feet, clip.contacts, 0.0, movers, max(tol_mm, 1e-6) / 1000.0)


def reconstruct(clip: HumanoidClip, keys: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Hips (T, 3) and rotations (T, B, 4) played back from the kept keys, on every frame."""
    T = clip.frame_count
    rot = R.make_continuous(R.normalize(clip.rotations))
    root = clip.bones[int(np.flatnonzero(clip.parents < 0)[0])]
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
