"""Foot contacts on synthetic walking whose contacts are known by construction."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import refine_synth

from animgen_ml import contacts as C
from animgen_ml import rotations as R


def test_contacts_of_a_clean_walk():
    clip, truth = refine_synth.walk(seconds=3.0, fps=30.0)
    fc = C.detect(clip)
    # The low-passed speed starts and ends each contact about a frame inside the true one (F1 0.973 with the raw
    # speed, 0.948 with the default): the price of surviving jitter (next test).
    assert C.f1(fc.foot, truth) >= 0.94
    assert C.f1(fc.heel, truth) >= 0.94 and C.f1(fc.toe, truth) >= 0.94


def test_sole_points_from_the_legs_alone_match_the_whole_body():
    clip, _ = refine_synth.walk(seconds=1.0, fps=30.0)
    rng = np.random.default_rng(1)
    clip = replace(clip, rotations=R.normalize(clip.rotations + rng.normal(0, 0.2, clip.rotations.shape)))
    for ours, whole in zip(C.sole_points(clip), C.sole_points(clip, clip.world()), strict=True):
        np.testing.assert_allclose(ours, whole, atol=1e-12)


def test_contacts_survive_noise_and_a_raised_floor():
    clip, truth = refine_synth.walk(seconds=4.0, fps=30.0)
    rng = np.random.default_rng(0)
    noisy = replace(clip, rotations=R.normalize(clip.rotations + rng.normal(0, 0.003, clip.rotations.shape)),
                    hips=clip.hips + [0.0, 0.25, 0.0] + rng.normal(0, 0.002, clip.hips.shape))
    assert C.f1(C.detect(noisy).foot, truth) >= 0.9


def test_hysteresis_and_minimum_duration():
    p = C.ContactParams(min_contact_s=0.1, min_gap_s=0.07)
    h = np.array([0.0, 0.0, 0.08, 0.0, 0.11, 0.11, 0.0, 0.0])  # 0.08 is between the on and off heights
    v = np.zeros(8)
    assert C.hysteresis(h, v, p).tolist() == [True, True, True, True, False, False, True, True]
    m = np.array([1, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0], dtype=bool)
    out = C.min_duration(m, min_on=3, min_gap=2)
    assert out.tolist() == [True] * 8 + [False] * 8  # 1-frame gap filled, 1-frame contact dropped


def test_contacts_from_a_generators_probabilities():
    # 30 fps: contacts of at least 3 frames, one-frame gaps filled.
    left = np.array([0.1, 0.7, 0.55, 0.45, 0.58, 0.9, 0.3, 0.8, 0.8, 0.8, 0.2, 0.2, 0.2, 0.2, 0.65, 0.2])
    right = np.array([0.9] * 6 + [0.1] * 10)
    c = C.from_probability(np.stack([left, right], 1), fps=30.0)
    # Hovering about one half (0.55, 0.45, 0.58) does not end the contact; a one-frame dip is filled; a lone frame
    # over the threshold near the end is too short to count.
    assert c[:, 0].tolist() == [False] + [True] * 9 + [False] * 6
    assert c[:, 1].tolist() == [True] * 6 + [False] * 10


def test_minimum_durations_are_the_seconds_they_say_at_any_frame_rate():
    # 30 fps: a 2-frame gap lasts 0.067 s, under min_gap_s (0.07), and is filled (rounded to 2 frames, it stayed
    # open); a 3-frame gap (0.1 s) stays.
    on, off = 0.9, 0.1
    two = np.array([on] * 6 + [off] * 2 + [on] * 6)
    three = np.array([on] * 6 + [off] * 3 + [on] * 5)
    assert C.from_probability(np.stack([two, three], 1), fps=30.0).tolist() == np.stack(
        [np.ones(14, dtype=bool), three > 0.5], 1).tolist()
    # 24 fps: a 2-frame contact lasts 0.083 s, under min_contact_s (0.1), and is dropped; a 3-frame one stays.
    short = np.array([off] * 4 + [on] * 2 + [off] * 4)
    kept = np.array([off] * 4 + [on] * 3 + [off] * 3)
    assert C.from_probability(np.stack([short, kept], 1), fps=24.0).tolist() == np.stack(
        [np.zeros(10, dtype=bool), kept > 0.5], 1).tolist()
    assert [C.frames_lasting(s, 30.0) for s in (0.07, 0.1, 0.0)] == [3, 3, 1]


def test_planted_feet_that_jitter_like_mediapipe_stay_planted():
    """A clip solved from MediaPipe jitters by centimetres a frame: the raw speed of a planted foot then exceeds
    the speed threshold, the speed of its low-passed path does not (ContactParams.speed_sigma_s)."""
    clip, truth = refine_synth.walk(seconds=4.0, fps=30.0)
    rng = np.random.default_rng(1)
    jitter = rng.normal(0, 0.03, clip.hips.shape) * [1.0, 0.2, 1.0]
    noisy = replace(clip, hips=clip.hips + jitter)
    raw = C.detect(noisy, C.ContactParams(speed_sigma_s=0.0)).foot
    assert C.f1(C.detect(noisy).foot, truth) >= 0.9
    assert C.f1(raw, truth) < 0.6
    # A foot that truly moves keeps its speed through the low pass.
    z = np.linspace(0.0, 2.0, 61)[:, None] * [0.0, 0.0, 1.0]  # 1 m/s at 30 fps
    assert np.allclose(C.horizontal_speed(z, 30.0, 0.05)[5:-5], 1.0, atol=0.01)
