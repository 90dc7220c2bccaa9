"""The model of MediaPipe's errors: fitting recovers a known model from landmarks it made, and synthetic landmarks
carry the shipped fit (the world frame leaning with the camera's pitch, errors of the fitted size)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from animgen_ml import mocap, noise, synth
from animgen_ml.landmarks import LM, MIRROR


@pytest.fixture(scope="module")
def walk(shared_data):
    return mocap.load_clip(shared_data / "mocap" / "accad_female1" / "Female1_B03_Walk1.bvh")


def _known_model() -> noise.NoiseModel:
    rng = np.random.default_rng(5)

    def sym(shape: tuple[int, ...], lo: float, hi: float) -> np.ndarray:
        a = rng.uniform(lo, hi, shape)
        return 0.5 * (a + a[MIRROR])

    return noise.NoiseModel(
        tilt_per_pitch=0.6, tilt_sd=0.0, log_scale_sd=0.04, world_bias_sd=sym((33, 3), 0.02, 0.05),
        world_slow_sd=sym((33, 3), 0.03, 0.1), world_jitter_sd=sym((33, 3), 0.005, 0.02),
        image_bias_sd=sym((33, 2), 0.03, 0.08), image_slow_sd=sym((33, 2), 0.05, 0.1),
        image_jitter_sd=sym((33, 2), 0.01, 0.03), vis_front=np.tile([0.9, 0.05], (33, 1)),
        vis_behind=np.tile([0.5, 0.2], (33, 1)))


def test_fit_recovers_the_model_that_made_the_errors(walk):
    known = _known_model()
    rng = np.random.default_rng(0)
    errors = []
    for _ in range(40):
        cam = synth.random_camera(rng)
        cam.yaw_rate = 0.0
        exact, _ = synth.synthesize(walk, rng, cam, noise=0)
        behind = exact.world[..., 2] > noise.BEHIND_M
        world, image, vis = noise.perturb(exact.world, exact.image, behind, cam.pitch, cam.width, cam.height_px,
                                          rng, model=known)
        mp = replace(exact, world=world, image=image, visibility=vis)
        errors.append(noise.take_errors(mp, exact, cam.pitch))
    fitted = noise.fit(errors)
    assert fitted.takes == 40
    assert abs(fitted.tilt_per_pitch - 0.6) < 0.05
    assert abs(fitted.log_scale_sd - 0.04) < 0.015
    for key in ("world_slow_sd", "world_jitter_sd", "image_slow_sd", "image_jitter_sd", "world_bias_sd"):
        ratio = getattr(fitted, key) / getattr(known, key)
        # Spreads from 40 takes of 229 frames (measured: medians 0.94-1.09 of the truth); the per-take biases, 40
        # draws each, are the least certain.
        assert 0.85 < np.median(ratio) < 1.15 and (0.6 < ratio).all() and (ratio < 1.6).all(), key
    assert np.allclose(fitted.vis_front[:, 0], 0.9, atol=0.03)


def test_synthetic_landmarks_carry_the_shipped_fit(walk):
    m = noise.default_model()
    assert m.takes >= 20 and 0.0 < m.tilt_per_pitch < 1.0
    rng = np.random.default_rng(1)
    high = synth.Camera(0.0, 0.0, 4.0, 2.5, 0.9, 0.0, np.radians(60), 640, 480)  # looking down ~22 degrees
    exact, _ = synth.synthesize(walk, np.random.default_rng(1), high, noise=0)
    noisy, _ = synth.synthesize(walk, rng, high, noise=1)
    errors = noise.take_errors(noisy, exact, high.pitch)
    # The world frame leans by the fitted share of the pitch (within the per-take spread and the severity draw).
    assert abs(errors["theta"] - m.tilt_per_pitch * high.pitch) < 4 * m.tilt_sd + 0.5 * m.tilt_per_pitch * high.pitch
    # Wrists err more than hips, as fitted.
    sd = np.sqrt(errors["world_var"])
    assert sd[LM["left_wrist"]].mean() > 2 * sd[LM["left_hip"]].mean()
