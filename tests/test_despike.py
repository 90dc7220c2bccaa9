"""An arm that flicks out and back while it is unsure is bridged; seen or lasting motion is kept (despike.py)."""

from __future__ import annotations

import numpy as np

from animgen_ml import despike
from animgen_ml import rotations as R

FPS = 30.0


def _elbow(bend_deg: np.ndarray) -> np.ndarray:
    """(T, 1, 4) a bend about X of each frame's angle."""
    half = np.radians(bend_deg) / 2
    return np.stack([np.sin(half), 0 * half, 0 * half, np.cos(half)], axis=-1)[:, None]


def _bends(q: np.ndarray) -> np.ndarray:
    return np.degrees(R.angle_between(q[:, 0], R.identity((len(q),))))


def test_an_unsure_flick_is_bridged_and_a_seen_one_kept():
    bend = np.full(20, 90.0)
    bend[8:10] = [135.0, 130.0]  # out by 45 degrees for two frames, then back
    sure = np.ones((20, 1))
    kept = despike.bridge(_elbow(bend), sure, FPS, [0])
    assert np.allclose(_bends(kept), bend)  # seen (a jab): kept
    sure[9] = 0.2
    bridged = despike.bridge(_elbow(bend), sure, FPS, [0])
    assert np.allclose(_bends(bridged), 90.0)  # unsure in one of its frames: the path between its ends
    assert np.allclose(_bends(despike.bridge(_elbow(bend), sure, FPS, [])), bend)  # not an arm asked for


def test_motion_that_goes_on_or_lasts_is_kept():
    sure = np.full((30, 1), 0.1)
    turn = np.concatenate([np.full(10, 20.0), np.linspace(20.0, 140.0, 4), np.full(16, 140.0)])  # fast, and stays
    assert np.allclose(_bends(despike.bridge(_elbow(turn), sure, FPS, [0])), turn)
    slow = np.full(30, 90.0)
    slow[10:18] = 135.0  # out and back over 0.3 s: longer than MAX_S
    assert np.allclose(_bends(despike.bridge(_elbow(slow), sure, FPS, [0])), slow)
    small = np.full(30, 90.0)
    small[10:12] = 110.0  # out and back by 20 degrees only
    assert np.allclose(_bends(despike.bridge(_elbow(small), sure, FPS, [0])), small)


def test_a_bone_is_as_sure_as_its_joint_and_its_childrens():
    parents = np.array([-1, 0, 1])
    conf = np.array([[1.0, 0.9, 0.3]])
    assert despike.sureness(conf, parents).tolist() == [[0.9, 0.3, 0.3]]
