"""Smoothing: jitter goes down, still poses and strength 0 stay untouched, no lag on ramps and steps."""

from __future__ import annotations

import numpy as np
import pytest

from animgen_ml import rotations as R
from animgen_ml import skeleton
from animgen_ml.clip import HumanoidClip
from animgen_ml.smooth import filter_params, smooth_clip

DEG = np.pi / 180
BODY = skeleton.bone_names(False)
FPS = 30.0


def clip_from(angles_deg: np.ndarray, hips: np.ndarray | None = None) -> HumanoidClip:
    """Every bone turns by angles_deg (T, B) about its own fixed random axis."""
    T, B = angles_deg.shape
    axes = np.random.default_rng(0).normal(size=(B, 3))
    rot = R.from_axis_angle(np.broadcast_to(axes, (T, B, 3)), angles_deg * DEG)
    off = skeleton.default_rest_offsets(BODY)
    return HumanoidClip(bones=BODY, rest_offsets=off, fps=FPS, hips=np.tile(off[0], (T, 1)) if hips is None else hips,
                        rotations=rot, contacts=np.zeros((T, 2), bool), confidence=np.ones((T, B)))


def accel(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.diff(x, 2, axis=0) ** 2)))


def test_strength_zero_is_identity_and_still_pose_is_unchanged():
    rng = np.random.default_rng(1)
    c = clip_from(rng.uniform(-90, 90, (60, len(BODY))))
    same = smooth_clip(c, 0.0)
    assert np.array_equal(same.rotations, c.rotations) and np.array_equal(same.hips, c.hips)
    still = clip_from(np.tile(rng.uniform(-90, 90, len(BODY)), (60, 1)))
    for s in (0.3, 1.0):
        out = smooth_clip(still, s)
        assert R.angle_between(out.rotations, still.rotations).max() < 1e-9
        assert np.abs(out.hips - still.hips).max() < 1e-12
    with pytest.raises(ValueError, match="between 0 and 1"):
        smooth_clip(c, 1.5)


def test_jitter_is_reduced_and_the_motion_kept():
    rng = np.random.default_rng(2)
    t = np.arange(150) / FPS
    clean = 40 * np.sin(2 * np.pi * 0.8 * t)[:, None] * np.ones(len(BODY))
    noisy = clean + rng.normal(0, 2.0, clean.shape)
    hips_clean = np.stack([np.sin(t), 0.95 + 0.05 * np.sin(4 * t), 1.2 * t], -1)
    hips_noisy = hips_clean + rng.normal(0, 0.02, hips_clean.shape)
    c_clean, c_noisy = clip_from(clean, hips_clean), clip_from(noisy, hips_noisy)
    out = smooth_clip(c_noisy, 0.5)
    assert np.allclose(np.linalg.norm(out.rotations, axis=-1), 1.0)
    # Jitter: the acceleration of the difference from the clean motion.
    acc_in, acc_out = accel(c_noisy.rotations - c_clean.rotations), accel(out.rotations - c_clean.rotations)
    assert acc_out < acc_in / 3, (acc_in, acc_out)
    assert accel(out.hips - hips_clean) < accel(hips_noisy - hips_clean) / 3
    err_in = R.angle_between(c_noisy.rotations, c_clean.rotations).mean() / DEG
    err_out = R.angle_between(out.rotations, c_clean.rotations).mean() / DEG
    assert err_out < 0.75 * err_in, (err_in, err_out)
    assert np.abs(out.hips - hips_clean).mean() < 0.75 * np.abs(hips_noisy - hips_clean).mean()
    # Stronger is smoother.
    assert accel(smooth_clip(c_noisy, 1.0).rotations) < accel(smooth_clip(c_noisy, 0.2).rotations)


def test_no_lag_on_a_ramp_or_a_step():
    T = 120
    t = np.arange(T) / FPS
    ramp = np.tile((90 * t)[:, None], (1, len(BODY)))  # 90 degrees per second
    step = np.zeros((T, 3))
    step[60:, 0] = 1.0
    c = clip_from(ramp, step + [0, 0.95, 0])
    for s in (0.5, 1.0):
        out = smooth_clip(c, s)
        mid = slice(20, T - 20)
        lag_deg = R.angle_between(out.rotations[mid], c.rotations[mid]).max() / DEG
        assert lag_deg < 0.5, lag_deg
        # Zero phase: the smoothed step crosses half way at the step (within a frame), and stays in range.
        x = out.hips[:, 0]
        crossing = np.argmax(x >= 0.5)
        assert abs(crossing - 59.5) <= 1.0 and x.min() > -1e-9 and x.max() < 1.0 + 1e-9


def test_sign_flips_are_made_continuous_before_filtering():
    rng = np.random.default_rng(3)
    c = clip_from(np.tile(rng.uniform(-170, 170, len(BODY)), (40, 1)))
    flipped = c.rotations * np.where(rng.random((40, len(BODY), 1)) < 0.5, -1.0, 1.0)
    c2 = HumanoidClip(bones=c.bones, rest_offsets=c.rest_offsets, fps=FPS, hips=c.hips, rotations=flipped,
                      contacts=c.contacts, confidence=c.confidence)
    out = smooth_clip(c2, 0.8)
    assert R.angle_between(out.rotations, c.rotations).max() < 1e-9


def test_parameters_follow_the_documented_mapping():
    assert filter_params(0.5)[0] == pytest.approx(10 * (0.5 / 10) ** 0.5)
    cut = [filter_params(s)[0] for s in np.linspace(0, 1, 6)]
    assert all(a > b for a, b in zip(cut, cut[1:], strict=False))


def test_each_bone_and_path_is_filtered_on_its_own():
    """smooth_clip filters bones, the Hips path and root motion in one pass; each comes out as if filtered alone,
    so a fast arm does not unsmooth the Hips, nor a walk the still bones."""
    from dataclasses import replace

    from animgen_ml.smooth import zero_phase_one_euro

    rng = np.random.default_rng(3)
    T = 60
    angles = np.zeros((T, len(BODY)))
    angles[:, 5] = np.linspace(0, 300, T) + rng.normal(0, 3, T)  # one fast, noisy bone; the rest still
    hips = np.cumsum(rng.normal(0, 0.02, (T, 3)), axis=0) + [0.0, 1.0, 0.0]
    clip = replace(clip_from(angles, hips), root_motion=np.cumsum(rng.normal(0, 0.05, (T, 3)), axis=0))
    out = smooth_clip(clip, 0.5)
    min_cutoff, beta = filter_params(0.5)
    for path, got in ((clip.hips, out.hips), (clip.root_motion, out.root_motion)):
        np.testing.assert_allclose(got, zero_phase_one_euro(path[:, None], FPS, min_cutoff, beta)[:, 0], atol=1e-12)
    q = R.make_continuous(R.normalize(clip.rotations), axis=0)
    alone = R.normalize(zero_phase_one_euro(q[:, 5:6], FPS, min_cutoff, beta))[:, 0]
    np.testing.assert_allclose(out.rotations[:, 5], alone, atol=1e-12)
    np.testing.assert_allclose(out.rotations[:, 0], clip.rotations[:, 0], atol=1e-12)  # still stays still


def test_gaussian_lowpass_known_answers():
    from animgen_ml.smooth import gaussian_lowpass

    sigma = 2.0
    impulse = np.zeros((41, 2))
    impulse[20, 1] = 1.0
    taps = np.exp(-0.5 * (np.arange(-7, 8) / sigma) ** 2)  # reach 3 sigma + 1 frame
    out = gaussian_lowpass(impulse, sigma)
    np.testing.assert_allclose(out[13:28, 1], taps / taps.sum(), atol=1e-15)
    assert out[:13].max() == 0.0 and out[28:].max() == 0.0 and out[:, 0].max() == 0.0
    ramp = np.arange(30.0)
    np.testing.assert_allclose(gaussian_lowpass(ramp, sigma)[10:20], ramp[10:20], atol=1e-12)  # linear: kept
    assert gaussian_lowpass(ramp, sigma)[0] > 0.0  # the ends are held, not zero-padded
    assert gaussian_lowpass(ramp.astype(np.float32), sigma).dtype == np.float32  # the network's arrays stay float32


def test_local_linear_lowpass_keeps_a_trend_to_the_ends():
    from animgen_ml.smooth import gaussian_lowpass, local_linear_lowpass

    rng = np.random.default_rng(3)
    line = np.stack([0.04 * np.arange(45.0), 1.0 - 0.01 * np.arange(45.0)], axis=1)  # shorter than the window
    np.testing.assert_allclose(local_linear_lowpass(line, 30.0), line, atol=1e-9)  # ends included
    assert gaussian_lowpass(line, 30.0)[-1, 0] < 0.85 * line[-1, 0]  # held ends pull the trend back
    noisy = rng.normal(size=(200, 3))
    np.testing.assert_allclose(local_linear_lowpass(noisy, 4.0)[20:-20], gaussian_lowpass(noisy, 4.0)[20:-20],
                               atol=1e-12)  # inside: the same low-pass
    assert local_linear_lowpass(noisy, 4.0)[:3].std() < noisy[:3].std()  # the ends are still smoothed
    np.testing.assert_array_equal(local_linear_lowpass(noisy[:1], 4.0), noisy[:1])
    # A window whose neighbours weigh nothing (their weights underflow) fits no line: the values, not NaN.
    np.testing.assert_allclose(local_linear_lowpass(noisy, 0.02), noisy, atol=1e-12)
