"""Metrics on hand-made cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from animgen_ml import metrics
from animgen_ml import rotations as R


def _points(T=5, J=12, seed=0):
    return np.random.default_rng(seed).normal(0, 0.3, (T, J, 3))


def test_pa_mpjpe_of_rotated_scaled_copy_is_zero():
    x = _points()
    q = R.from_axis_angle(np.array([0.3, 1.0, -0.2]), 1.1)
    y = 1.7 * R.apply(q, x) + np.array([0.4, -2.0, 3.0])
    assert metrics.pa_mpjpe(x, y) == pytest.approx(0.0, abs=1e-6)
    assert metrics.mpjpe(x, y) > 100  # but not the same points


def test_mpjpe_known_offset_and_root_alignment():
    x = _points()
    y = x.copy()
    y[:, 3] += [0.0, 0.03, 0.04]  # one joint of 12 off by 5 cm
    assert metrics.mpjpe(x, y) == pytest.approx(50.0 / 12)
    assert metrics.mpjpe(x + 1.0, x) == pytest.approx(0.0)  # root-aligned
    assert metrics.mpjpe(x + [0.003, 0.004, 0.0], x, root=None) == pytest.approx(5.0)


def test_pa_mpjpe_does_not_reflect():
    x = _points(T=1, J=8)
    mirrored = x * np.array([-1.0, 1.0, 1.0])
    assert metrics.pa_mpjpe(mirrored, x) > 10


def test_joint_angle_error_degrees():
    q0 = R.identity((4, 3))
    q1 = R.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.full((4, 3), np.radians(10)))
    assert metrics.joint_angle_error(q1, q0) == pytest.approx(10.0)
    assert metrics.joint_angle_error(-q1, q0) == pytest.approx(10.0)  # q and -q are the same rotation


def test_acceleration_error():
    t = np.arange(10)[:, None, None].astype(float)
    still = np.zeros((10, 2, 3))
    accel = np.zeros((10, 2, 3))
    accel[..., 0] = 0.001 * t[..., 0] ** 2 / 2  # 1 mm/frame^2 on joint... both joints
    assert metrics.acceleration_error(accel, still, root=None) == pytest.approx(1.0)
    assert metrics.acceleration_error(still + t * 0.01, still, root=None) == pytest.approx(0.0)  # constant velocity
    assert metrics.acceleration(accel, root=None) == pytest.approx(1.0)


def test_foot_sliding_and_penetration():
    feet = np.zeros((5, 2, 3))
    feet[:, 0, 0] = np.arange(5) * 0.002  # left foot slides 2 mm/frame
    contacts = np.array([[1, 1], [1, 1], [1, 1], [0, 1], [0, 1]], bool)
    # Left: pairs (0,1), (1,2) planted -> 2 mm each; right: 4 pairs, 0 mm -> mean 4 mm / 6 pairs.
    assert metrics.foot_sliding(feet, contacts) == pytest.approx(4.0 / 6)
    assert np.isnan(metrics.foot_sliding(feet, np.zeros((5, 2), bool)))  # no planted foot: nothing measured
    feet[2, 1, 1] = -0.05
    assert metrics.ground_penetration_rate(feet) == pytest.approx(0.2)


def test_contact_scores_hand_made():
    true = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], bool)
    pred = np.array([[1, 0], [0, 0], [0, 1], [1, 1]], bool)
    s = metrics.contact_scores(pred, true)
    # tp = 3, fp = 1, fn = 1
    assert s["contact_precision"] == pytest.approx(0.75)
    assert s["contact_recall"] == pytest.approx(0.75)
    assert s["contact_f1"] == pytest.approx(0.75)
    perfect = metrics.contact_scores(true, true)
    assert perfect["contact_f1"] == 1.0


def test_footsteps_hand_made():
    true = np.zeros((30, 2), bool)
    true[:6, 0] = true[10:15, 0] = true[20:25, 0] = true[4:12, 1] = True  # footsteps: left 10, 20; right 4
    assert [list(f) for f in metrics.footsteps(true)] == [[10, 20], [4]]  # none at the first frame: no landing
    pred = np.zeros((30, 2), bool)
    pred[11:16, 0] = True  # the left landing at 10, a frame late: on time
    pred[23:26, 0] = True  # the one at 20, three frames late: heard (within 0.1 s at 30 fps), not on time
    pred[17:19, 1] = True  # a right footstep where none was: 13 frames after the true one
    assert metrics.step_timing(pred, true, 30.0) == (3, 3, 2, 1)
    scores = metrics.step_scores(*metrics.step_timing(pred, true, 30.0))
    assert scores == pytest.approx({"steps_found": 2 / 3, "steps_precision": 2 / 3, "steps_on_time": 0.5})
    # One predicted footstep answers one true one: two landings two frames apart, one event between them.
    near = np.zeros((10, 2), bool)
    near[2:3, 0] = near[5:9, 0] = True
    one = np.zeros((10, 2), bool)
    one[3:9, 0] = True
    assert metrics.step_timing(one, near, 30.0) == (2, 1, 1, 1)
    assert metrics.step_timing(true, true, 30.0) == (3, 3, 3, 3)
    assert np.isnan(metrics.step_scores(0, 0, 0, 0)["steps_found"])


def test_overall_contact_scores_pool_the_frames_of_all_sequences():
    from animgen_ml import evaluate

    def row(name, frames, pred, true):
        counts, steps = metrics.contact_counts(pred, true), metrics.step_timing(pred, true, 30.0)
        return {"sequence": name, "frames": frames,
                "network": metrics.scores_from_counts(*counts) | dict(zip(evaluate.COUNT_KEYS, counts, strict=True))
                | dict(zip(evaluate.STEP_KEYS, steps, strict=True))}

    walk_true = np.zeros((100, 2), bool)
    walk_true[10:90, 0] = True
    walk_pred = walk_true.copy()
    walk_pred[90:, 0] = True  # 10 false positives, no misses
    lie_true = np.zeros((10, 2), bool)
    lie_true[5:, 1] = True  # 5 contacts, all missed
    summary = evaluate.summarise([row("walk", 100, walk_pred, walk_true),
                                  row("lie", 10, np.zeros((10, 2), bool), lie_true)])["network"]
    assert summary["contact_precision"] == pytest.approx(80 / 90)
    assert summary["contact_recall"] == pytest.approx(80 / 85)
    assert summary["contact_f1"] == pytest.approx(2 * 80 / (2 * 80 + 10 + 5))
    assert not set(evaluate.COUNT_KEYS) & set(summary)
    # Footsteps pool the same way: the walk's landing heard on time, the lying clip's missed.
    assert (summary["steps_found"], summary["steps_precision"], summary["steps_on_time"]) == (0.5, 1.0, 1.0)
    assert not set(evaluate.STEP_KEYS) & set(summary)


def test_root_path_error_known_answers():
    t = np.linspace(0.0, 1.0, 11)[:, None]
    path = np.concatenate([t, np.zeros_like(t), 2 * t], axis=1)  # a straight walk, +Y up
    assert metrics.root_path_error(path + [5.0, 1.0, -3.0], path) == pytest.approx(0.0)  # start does not count
    # Heights do not count; a path at half speed errs by |p - mean| / 2 on average.
    half = path * [0.5, 7.0, 0.5]
    centred = np.linalg.norm((path - path.mean(0))[:, [0, 2]], axis=-1)
    assert metrics.root_path_error(half, path) == pytest.approx(500.0 * centred.mean())


def test_root_height_error_known_answers():
    t = np.linspace(0.0, 1.0, 10)[:, None]
    path = np.concatenate([t, np.full_like(t, 0.9), 2 * t], axis=1)  # a level walk, hips 0.9 m up
    # A floor (or hips) 10 cm higher does not count, nor does the horizontal path.
    assert metrics.root_height_error(path * [3.0, 1.0, -1.0] + [0.0, 0.1, 0.0], path) == pytest.approx(0.0)
    # Hips 10 cm lower for half the frames: 5 cm off the mean height on every frame.
    sunk = path.copy()
    sunk[5:, 1] -= 0.1
    assert metrics.root_height_error(sunk, path) == pytest.approx(50.0)


def test_a_frame_without_a_value_is_left_out_not_spread():
    """One NaN frame (a joint never seen) leaves the other frames' figures as they were."""
    rng = np.random.default_rng(4)
    path, truth = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    gap = path.copy()
    gap[10] = np.nan
    keep = np.arange(50) != 10
    assert metrics.root_path_error(gap, truth) == pytest.approx(metrics.root_path_error(path[keep], truth[keep]))
    assert metrics.root_height_error(gap, truth) == pytest.approx(metrics.root_height_error(path[keep], truth[keep]))
    feet = rng.normal(size=(50, 2, 3))
    planted = np.ones((50, 2), bool)
    feet_gap = feet.copy()
    feet_gap[10, 0] = np.nan
    assert np.isfinite(metrics.foot_sliding(feet_gap, planted))


def test_methods_are_averaged_over_the_same_sequences():
    """A sequence where one method has no value for a metric (a clip too short for acceleration, say) is left out of
    that metric for every method: each side had dropped only its own, so the two averaged over different clips."""
    from animgen_ml import evaluate

    rows = [{"sequence": "a", "frames": 100, "network": {"accel_err_mm": 2.0}, "analytic": {"accel_err_mm": 6.0}},
            {"sequence": "b", "frames": 100, "network": {"accel_err_mm": float("nan")},
             "analytic": {"accel_err_mm": 50.0}}]
    summary = evaluate.summarise(rows)
    assert summary["network"]["accel_err_mm"] == 2.0 and summary["analytic"]["accel_err_mm"] == 6.0


def test_sideways_lean_known_answers():
    up = np.tile([0.0, 1.0, 0.0], (4, 1))
    tilt = np.radians(20.0)
    rolled = np.tile([np.sin(tilt), np.cos(tilt), 0.0], (4, 1))
    assert metrics.sideways_lean(rolled, up) == pytest.approx(20.0)
    assert metrics.sideways_lean(up, rolled) == pytest.approx(-20.0)
    # A lean towards the camera (about x) is not sideways; nor is a body bent forward in both.
    forward = np.tile([0.0, np.cos(tilt), np.sin(tilt)], (4, 1))
    assert metrics.sideways_lean(forward, up) == pytest.approx(0.0, abs=1e-9)
    # Across the downward direction the difference wraps rather than jumping by 360 degrees.
    a, b = np.tile([0.1, -1.0, 0.0], (2, 1)), np.tile([-0.1, -1.0, 0.0], (2, 1))
    assert metrics.sideways_lean(a, b) == pytest.approx(-np.degrees(2 * np.arctan(0.1)))
