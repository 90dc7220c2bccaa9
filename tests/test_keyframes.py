"""Keyframe reduction on a real clip: fewer keys, error within the tolerance at every original frame."""

from __future__ import annotations

import numpy as np
import pytest

from animgen_ml import keyframes, mocap

WALK = "mocap/cmu_iclone_ccrig/002/002_01.bvh"


@pytest.fixture(scope="module")
def walk(shared_data):
    return mocap.load_clip(shared_data / WALK)


@pytest.mark.parametrize(("deg", "mm"), [(0.5, 1.0), (2.0, 5.0)])
def test_error_within_tolerance_and_fewer_keys(walk, deg, mm):
    keys = keyframes.reduce_keys(walk, deg, mm)
    assert set(keys) == {"Hips.t"} | {f"{b}.r" for b in walk.bones}
    for idx in keys.values():
        assert idx[0] == 0 and idx[-1] == walk.frame_count - 1 and (np.diff(idx) > 0).all()
    r = keyframes.reduction(walk, keys)
    assert r["max_error_degrees"] <= deg + 1e-6
    assert r["max_error_mm"] <= mm + 1e-6
    assert r["keys_after"] < 0.75 * r["keys_before"]
    assert r["bytes_after"] < r["bytes_before"]


def test_looser_tolerance_keeps_fewer_keys_and_zero_keeps_the_curve(walk):
    tight = keyframes.reduction(walk, keyframes.reduce_keys(walk, 0.5, 1.0))
    loose = keyframes.reduction(walk, keyframes.reduce_keys(walk, 2.0, 5.0))
    assert loose["keys_after"] < tight["keys_after"]
    exact = keyframes.reduction(walk, keyframes.reduce_keys(walk, 0.0, 0.0))
    assert exact["max_error_degrees"] < 1e-3 and exact["max_error_mm"] < 1e-3


def test_a_still_channel_needs_two_keys():
    from animgen_ml import skeleton
    from animgen_ml.clip import empty_clip

    clip = empty_clip(skeleton.bone_names(), 50, 30.0)
    keys = keyframes.reduce_keys(clip, 0.1, 0.1)
    assert all(len(k) == 2 for k in keys.values())


def _split_one_span_at_a_time(values: np.ndarray, tol: float, rotation: bool) -> np.ndarray:
    """The split as first written, for comparison: a stack of spans, each split at its worst frame."""
    T = len(values)
    keep = np.zeros(T, dtype=bool)
    keep[[0, T - 1]] = True
    stack = [(0, T - 1)]
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        frames = np.arange(i + 1, j)
        approx = keyframes._interp(values, np.full(len(frames), i), np.full(len(frames), j), frames, rotation)
        err = keyframes._error(values[frames], approx, rotation)
        k = int(np.argmax(err))
        if err[k] > tol:
            keep[i + 1 + k] = True
            stack += [(i, i + 1 + k), (i + 1 + k, j)]
    return np.flatnonzero(keep)


def test_splitting_a_depth_at_a_time_keeps_the_same_keys(walk):
    from animgen_ml import rotations as R

    rot = R.make_continuous(R.normalize(walk.rotations))
    for tol in (0.3, 1.0, 4.0):
        for b in range(len(walk.bones)):
            assert np.array_equal(keyframes.simplify(rot[:, b], tol, True),
                                  _split_one_span_at_a_time(rot[:, b], tol, True)), (walk.bones[b], tol)
        assert np.array_equal(keyframes.simplify(walk.hips, tol, False),
                              _split_one_span_at_a_time(walk.hips, tol, False))


def test_planted_feet_stay_where_the_full_clip_holds_them(walk):
    """Per channel, a leg's errors add up at the foot; the reduction also holds each planted foot within the
    millimetre tolerance of the full clip and keeps the soles from going further under the floor, every channel
    still within its own tolerance. The per-channel split alone breaks both on this walk."""
    from dataclasses import replace

    from animgen_ml import contacts as C
    from animgen_ml import rotations as R

    def soles(hips: np.ndarray, rotations: np.ndarray) -> np.ndarray:
        return np.stack(C.sole_points(replace(walk, hips=hips, rotations=rotations)), axis=2)  # (T, 2, 2, 3)

    full = soles(walk.hips, walk.rotations)
    held = walk.contacts.astype(bool)
    assert held.mean() > 0.3  # the walk's stances

    def worst(keys: dict[str, np.ndarray]) -> tuple[float, float]:
        """The held feet's largest distance from the full clip's (mm), and how far further a sole goes under."""
        got = soles(*keyframes.reconstruct(walk, keys))
        off = np.linalg.norm(got - full, axis=-1).max(axis=2)[held].max()
        under = (np.minimum(full[..., 1], 0.0) - got[..., 1]).max()
        return 1000 * float(off), 1000 * float(under)

    rot = R.make_continuous(R.normalize(walk.rotations))
    per_channel = {"Hips.t": keyframes.simplify(walk.hips, 2.0, False)}
    per_channel |= {f"{b}.r": keyframes.simplify(rot[:, i], 1.0, True) for i, b in enumerate(walk.bones)}
    off, under = worst(per_channel)
    assert off > 4.0 and under > 2.0  # what the per-channel rule alone leaves

    keys = keyframes.reduce_keys(walk, 1.0, 2.0)
    off, under = worst(keys)
    assert off <= 2.0 + 1e-6 and under <= 2.0 + 1e-6
    r = keyframes.reduction(walk, keys)
    assert r["max_error_degrees"] <= 1.0 + 1e-6 and r["max_error_mm"] <= 2.0 + 1e-6
    assert r["keys_after"] < 0.75 * r["keys_before"]
    assert r["keys_after"] > sum(map(len, per_channel.values()))  # the feet's keys
