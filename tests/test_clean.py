"""Landmark cleaning on synthetic landmarks with known answers: gaps, outliers, swaps, long gaps, resampling."""

from __future__ import annotations

import numpy as np
import pytest

from animgen_ml import clean
from animgen_ml.errors import InputError
from animgen_ml.landmarks import LM, MIRROR, POSE_LANDMARKS, Landmarks

# Half-widths (image units) and heights of a standing figure facing the camera: its left is image right.
_PARTS = {"shoulder": (0.08, 0.30), "elbow": (0.16, 0.32), "wrist": (0.24, 0.33), "pinky": (0.26, 0.33),
          "index": (0.27, 0.33), "thumb": (0.25, 0.32), "hip": (0.05, 0.55), "knee": (0.06, 0.70),
          "ankle": (0.07, 0.85), "heel": (0.07, 0.87), "foot_index": (0.08, 0.89), "eye_inner": (0.01, 0.15),
          "eye": (0.02, 0.15), "eye_outer": (0.03, 0.15), "ear": (0.04, 0.16), "mouth": (0.015, 0.2)}


def figure() -> np.ndarray:
    pts = np.zeros((33, 3))
    for i, name in enumerate(POSE_LANDMARKS):
        if name == "nose":
            pts[i] = (0.5, 0.17, 0.0)
            continue
        side, _, part = name.partition("_")
        if side == "mouth":
            side, part = part, side
        dx, y = _PARTS[part]
        pts[i] = (0.5 + (dx if side == "left" else -dx), y, 0.0)
    return pts


def truth(times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Image and world points of a figure walking right at constant speed with one arm raising linearly:
    motion linear in time, so linear interpolation reproduces it exactly."""
    img = np.repeat(figure()[None], len(times), 0)
    img[:, :, 0] += 0.1 * times[:, None]  # walks right
    img[:, LM["left_wrist"], 1] -= 0.2 * times  # raises the left wrist
    world = (img - img[:, [LM["left_hip"], LM["right_hip"]]].mean(1, keepdims=True)) * (1.8, 1.8, 1.0)
    return img, world


def make(times: np.ndarray) -> Landmarks:
    img, world = truth(times)
    return Landmarks(times=times, image=img.copy(), world=world.copy(), visibility=np.full((len(times), 33), 0.9),
                     detected=np.ones(len(times), bool), width=640, height=480, source="synthetic")


def drop(lm: Landmarks, frames) -> None:
    lm.image[frames] = np.nan
    lm.world[frames] = np.nan
    lm.visibility[frames] = 0.0
    lm.detected[frames] = False


def test_clean_input_untouched_and_exact_on_clean_data():
    times = np.arange(60) / 30.0
    lm = make(times)
    out = clean.clean(lm, None)
    img, world = truth(out.times)
    assert out.frame_count == 60 and np.allclose(out.times, times)
    assert np.allclose(out.image, img) and np.allclose(out.world, world)
    assert out.detected.all() and np.allclose(out.visibility, 0.9)


def test_short_gap_is_interpolated():
    times = np.arange(60) / 30.0
    lm = make(times)
    drop(lm, slice(10, 20))  # 0.37 s without a person
    out = clean.clean(lm, None)
    img, world = truth(times)
    assert out.detected.all()
    assert np.allclose(out.image, img, atol=1e-9) and np.allclose(out.world, world, atol=1e-9)
    assert np.all(out.visibility[10:20] > 0.8)


def test_long_gap_stays_undetected_and_holds_last_pose():
    times = np.arange(90) / 30.0
    lm = make(times)
    drop(lm, slice(20, 50))  # 1 s
    out = clean.clean(lm, None)
    assert not out.detected[20:50].any() and out.detected[:20].all() and out.detected[50:].all()
    assert np.isfinite(out.image).all() and np.isfinite(out.world).all()
    assert np.allclose(out.image[20:50], lm.image[19]) and np.allclose(out.world[20:50], lm.world[19])
    assert np.all(out.visibility[20:50] == 0.0)


def test_leading_frames_without_person_hold_first_pose():
    times = np.arange(60) / 30.0
    lm = make(times)
    drop(lm, slice(0, 25))
    out = clean.clean(lm, None)
    assert not out.detected[:25].any() and out.detected[25:].all()
    assert np.allclose(out.world[:25], lm.world[25])


def test_single_point_spike_is_rejected():
    times = np.arange(60) / 30.0
    lm = make(times)
    lm.image[30, LM["right_knee"], :2] += (0.2, -0.15)  # one bad frame of one point
    lm.world[30, LM["right_knee"]] += (0.4, -0.3, 0.2)
    out = clean.clean(lm, None)
    img, world = truth(times)
    assert np.allclose(out.image, img, atol=1e-9) and np.allclose(out.world, world, atol=1e-9)


def test_a_spike_in_one_point_of_a_foot_or_hand_replaces_the_whole_part():
    """A foot (ankle, heel, toe) or hand (wrist, pinky, index, thumb) moves as one: where one of its points spikes
    and the others jump less, the whole part is taken from the neighbouring frames. (The ankle alone had been
    replaced, 30 cm from its heel and toe, and the solver turned the foot 170 degrees for a frame.)"""
    times = np.arange(60) / 30.0
    lm = make(times)
    foot, hand = ("right_ankle", "right_heel", "right_foot_index"), ("left_wrist", "left_pinky", "left_index")
    lm.image[30, LM["right_ankle"], :2] += (0.25, 0.0)  # a spike
    lm.image[30, [LM["right_heel"], LM["right_foot_index"]], :2] += (0.05, 0.0)  # off, but less than a spike
    lm.world[30, [LM[n] for n in foot]] += (0.3, 0.0, 0.0)
    lm.image[40, LM["left_wrist"], :2] += (0.0, 0.25)
    lm.world[40, [LM[n] for n in hand]] += (0.0, 0.3, 0.0)
    out = clean.clean(lm, None)
    img, world = truth(times)
    assert np.allclose(out.image, img, atol=1e-9) and np.allclose(out.world, world, atol=1e-9)


def test_real_fast_motion_is_not_a_spike():
    """A point moving fast but smoothly (same distance every frame) must be kept."""
    times = np.arange(30) / 30.0
    lm = make(times)
    lm.image[:, LM["left_wrist"], 0] += 0.05 * np.arange(30)  # 0.25 torso lengths per frame
    out = clean.clean(lm, None)
    assert np.allclose(out.image[:, LM["left_wrist"]], lm.image[:, LM["left_wrist"]])


def test_bone_length_spike_frame_is_replaced():
    times = np.arange(60) / 30.0
    lm = make(times)
    lm.world[40, LM["left_elbow"]:LM["right_wrist"] + 1] *= 2.5  # a failed fit: arms twice as long
    out = clean.clean(lm, None)
    _, world = truth(times)
    assert np.allclose(out.world, world, atol=1e-9)


@pytest.mark.parametrize("group", [slice(11, 23), slice(23, 33), slice(0, 33)])
def test_left_right_swap_is_repaired(group):
    times = np.arange(60) / 30.0
    lm = make(times)
    # The figure stands with its arms and legs well apart; MediaPipe swaps labels for frames 20..24.
    idx = np.arange(33)[group]
    for a in (lm.image, lm.world, lm.visibility):
        a[20:25, idx] = a[20:25][:, MIRROR[idx]]
    lm.visibility[20:25, LM["left_wrist"]] = 0.3  # visibility must travel with its point
    expected_vis = np.full((60, 33), 0.9)
    expected_vis[20:25, LM["right_wrist"] if LM["left_wrist"] in idx else LM["left_wrist"]] = 0.3
    out = clean.clean(lm, None)
    img, world = truth(times)
    assert np.allclose(out.image, img, atol=1e-9) and np.allclose(out.world, world, atol=1e-9)
    assert np.allclose(out.visibility, expected_vis)


def test_hands_are_relabelled_with_the_arms():
    """MediaPipe swaps the arms for a few frames, and Holistic's hands with them (it finds each hand at the wrist of
    that label): relabelling the arms relabels the hands too. They had stayed swapped, each on the other wrist."""
    times = np.arange(60) / 30.0
    lm = make(times)
    arms = np.arange(11, 23)
    spread = np.linspace(0.0, 1.0, 21)[None, :, None] * np.ones(3)
    hands = {"left_hand": lm.image[:, [LM["left_wrist"]]] + 0.01 * spread,
             "right_hand": lm.image[:, [LM["right_wrist"]]] + 0.03 * spread,
             "left_hand_world": lm.world[:, [LM["left_wrist"]]] + 0.05 * spread,
             "right_hand_world": lm.world[:, [LM["right_wrist"]]] + 0.08 * spread}
    for a in (lm.image, lm.world, lm.visibility):
        a[20:25, arms] = a[20:25][:, MIRROR[arms]]
    for name, other in (("left_hand", "right_hand"), ("right_hand", "left_hand"),
                        ("left_hand_world", "right_hand_world"), ("right_hand_world", "left_hand_world")):
        seen = hands[name].copy()
        seen[20:25] = hands[other][20:25]
        setattr(lm, name, seen)
    out = clean.clean(lm, None)
    img, world = truth(times)
    assert np.allclose(out.image, img, atol=1e-9) and np.allclose(out.world, world, atol=1e-9)
    for name, want in hands.items():
        np.testing.assert_allclose(getattr(out, name), want, atol=1e-9, err_msg=name)


def test_a_hand_given_for_both_wrists_is_kept_on_the_nearer_one():
    """Holistic sometimes gives one hand as both the left and the right (a jumping jack, 10 frames): it stays the
    left hand's, and the right hand bridges those frames instead of taking its pose. Two real hands together stay."""
    times = np.arange(60) / 30.0
    lm = make(times)
    spread = np.linspace(0.0, 1.0, 21)[None, :, None] * np.ones(3)
    left = lm.image[:, [LM["left_wrist"]]] + 0.02 * spread
    right = lm.image[:, [LM["right_wrist"]]] + 0.04 * spread
    lm.left_hand, lm.right_hand = left.copy(), right.copy()
    lm.right_hand[20:26] = left[20:26] + 0.001  # the left hand, reported again as the right
    out = clean.clean(lm, None)
    np.testing.assert_allclose(out.left_hand, left, atol=1e-9)
    np.testing.assert_allclose(out.right_hand, right, atol=1e-9)  # moving linearly, bridged exactly
    # Two real hands palm to palm, 12 px apart, each by its own wrist (one wrist 2 px off): both are kept.
    hand = np.zeros((21, 3))
    hand[1:5, 1] = -np.array([20.0, 35.0, 48.0, 58.0])  # thumb up, then four fingers one behind the other
    for f in range(4):
        hand[5 + 4 * f:9 + 4 * f, :2] = np.stack([np.full(4, 1.0 * f), -np.array([70.0, 100, 120, 135]) + 3 * f], 1)
    px = np.array([lm.width, lm.height, 1.0])
    chest = np.array([0.5 * lm.width, 0.45 * lm.height, 0.0])
    palms = {"left": chest + [6.0, 0, 0] + hand, "right": chest - [6.0, 0, 0] + hand * [-1.0, 1.0, 1.0]}
    prayer = make(times)
    for side, pts in palms.items():
        setattr(prayer, f"{side}_hand", np.repeat((pts / px)[None], len(times), 0))
        prayer.image[:, LM[f"{side}_wrist"], :2] = pts[0, :2] / px[:2]
    prayer.image[:, LM["left_wrist"], 0] += 2.0 / lm.width
    out = clean.clean(prayer, None)
    assert np.isfinite(out.left_hand).all() and np.isfinite(out.right_hand).all()


def test_legs_that_cross_in_the_picture_are_not_relabelled():
    """Seen from the side, legs that cross look swapped in the picture, and hips one behind the other cost nothing to
    swap; MediaPipe's world points keep each leg on its side. Relabelled on the picture alone, the analytic solver
    spun the hips round (151 degrees in a frame on a walk filmed side-on)."""
    times = np.arange(60) / 30.0
    lm = make(times)
    legs = np.arange(23, 33)
    lm.image[20:25, legs] = lm.image[20:25][:, MIRROR[legs]]  # the picture only: the world hips stay on their sides
    crossed = lm.image.copy()
    out = clean.clean(lm, None)
    _, world = truth(times)
    assert np.allclose(out.image, crossed, atol=1e-9) and np.allclose(out.world, world, atol=1e-9)


def test_where_the_world_hips_flatten_the_picture_decides():
    """A pelvis side-on to the camera: MediaPipe flattens its depth, and its world hip axis shrinks and flickers with
    the labels (a balancing actor, Pose2Sim camera 2). There the picture alone says whether the legs swapped."""
    times = np.arange(60) / 30.0
    lm = make(times)
    legs, hips = np.arange(23, 33), [LM["left_hip"], LM["right_hip"]]
    centre = lm.world[:, hips].mean(1, keepdims=True)
    lm.world[18:25, hips] = centre[18:25] + 0.2 * (lm.world[18:25, hips] - centre[18:25])  # a fifth of its width
    lm.image[20:25, legs] = lm.image[20:25][:, MIRROR[legs]]  # swapped in the picture; the short world axis says not
    relabelled = lm.world.copy()
    relabelled[20:25, legs] = relabelled[20:25][:, MIRROR[legs]]
    out = clean.clean(lm, None)
    img, _ = truth(times)
    assert np.allclose(out.image, img, atol=1e-9) and np.allclose(out.world, relabelled, atol=1e-9)


def test_resample_to_new_fps_and_from_variable_frame_times():
    rng = np.random.default_rng(1)
    times = np.cumsum(rng.uniform(0.025, 0.045, 80))  # variable frame rate around 29 fps
    times -= times[0]
    lm = make(times)
    out = clean.clean(lm, 50.0)
    assert np.allclose(np.diff(out.times), 1 / 50.0)
    assert out.times[0] == times[0] and out.times[-1] <= times[-1] + 1e-9
    assert times[-1] - out.times[-1] < 1 / 50.0
    img, world = truth(out.times)
    assert np.allclose(out.image, img, atol=1e-9) and np.allclose(out.world, world, atol=1e-9)
    mean = clean.clean(lm, None)
    assert abs(mean.fps - lm.fps) < 0.5


def test_hands_short_gaps_filled_long_gaps_nan():
    times = np.arange(60) / 30.0
    lm = make(times)
    hand = np.repeat(np.linspace(0, 1, 21)[None, :, None] * np.ones(3), 60, 0) + times[:, None, None]
    lm.left_hand = hand.copy()
    lm.left_hand[5:8] = np.nan  # 0.1 s: filled
    lm.left_hand[20:50] = np.nan  # 1 s: stays unseen
    out = clean.clean(lm, None)
    assert np.allclose(out.left_hand[5:8], hand[5:8])
    assert np.isnan(out.left_hand[21:49]).all() and np.isfinite(out.left_hand[50:]).all()
    assert out.right_hand is None


def test_a_picture_the_video_holds_is_held_with_its_person_and_hands():
    """A variable-rate video holding its 30th picture 3 s: the grid keeps the usual 30 fps, and through the hold the
    person and hands of that picture stay (the person was said undetected there, the fingers went to rest)."""
    times = np.concatenate([np.arange(30) / 30.0, 29 / 30.0 + 3.0 + np.arange(1, 31) / 30.0])
    lm = make(times)
    lm.left_hand_world = np.repeat(np.linspace(0, 0.1, 21)[None, :, None] * np.ones(3), 60, 0)
    out = clean.clean(lm, None)
    assert abs(out.fps - 30.0) < 1e-6 and out.frame_count == int(round((times[-1] - times[0]) * 30)) + 1
    hold = (out.times > times[29] + 1e-6) & (out.times < times[30] - 1e-6)
    assert hold.sum() > 80 and out.detected[hold].all() and (out.visibility[hold] > 0).all()
    np.testing.assert_allclose(out.world[hold], np.broadcast_to(lm.world[29], out.world[hold].shape), atol=1e-9)
    np.testing.assert_allclose(out.left_hand_world[hold], np.broadcast_to(lm.left_hand_world[29],
                                                                          out.left_hand_world[hold].shape))
    # A clock that jumps by a day is refused by where it jumps (it made a grid of millions of frames).
    jump = make(np.concatenate([np.arange(30) / 30.0, 95443.0 + np.arange(5) / 30.0]))
    with pytest.raises(InputError, match=r"the frame times jump by 95442 s at 1.0 s"):
        clean.clean(jump, None)


def test_no_person_anywhere_is_an_input_error():
    times = np.arange(10) / 30.0
    lm = make(times)
    drop(lm, slice(0, 10))
    with pytest.raises(InputError, match="synthetic: no person"):
        clean.clean(lm, None)
