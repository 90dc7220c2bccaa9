"""Each editing option on a real clip: a CMU walk from the data kit (mocap.load_clip)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from animgen_ml import edit, mocap
from animgen_ml import rotations as R

WALK = "mocap/cmu_iclone_ccrig/002/002_01.bvh"


@pytest.fixture(scope="module")
def walk(shared_data):
    return mocap.load_clip(shared_data / WALK)


def _deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.degrees(R.angle_between(a, b))


def test_mirror_twice_is_identity_and_mirror_swaps_sides(walk):
    once = edit.mirror(walk)
    twice = edit.mirror(once)
    assert _deg(twice.rotations, walk.rotations).max() < 1e-6
    assert np.allclose(twice.hips, walk.hips) and np.allclose(twice.rest_offsets, walk.rest_offsets)
    assert (twice.contacts == walk.contacts).all()
    # the mirrored left hand is where the right hand was, reflected across X
    pos, _ = walk.world()
    mpos, _ = once.world()
    flip = np.array([-1.0, 1.0, 1.0])
    assert np.abs(mpos[:, once.index("LeftHand")] - pos[:, walk.index("RightHand")] * flip).max() < 1e-9
    assert (once.contacts[:, 0] == walk.contacts[:, 1]).all()


def test_in_place_removes_horizontal_hips_motion(walk):
    out = edit.in_place(walk)
    travel = np.linalg.norm(walk.hips[-1, [0, 2]] - walk.hips[0, [0, 2]])
    assert travel > 0.5  # the walk does travel
    assert np.abs(out.hips[:, [0, 2]]).max() == 0.0
    assert np.allclose(out.hips[:, 1], walk.hips[:, 1])
    assert np.allclose(out.hips + out.root_motion, walk.hips)  # the motion is kept as root motion


def test_loop_last_pose_meets_first_at_speed(walk):
    out = edit.loop(walk)
    assert _deg(out.rotations[-1], out.rotations[0]).max() < 1e-6
    assert abs(out.hips[-1, 1] - out.hips[0, 1]) < 1e-9
    # the start is untouched and the blend is smooth (no frame-to-frame jump bigger than the source's)
    n = walk.frame_count // 2
    assert _deg(out.rotations[:n], walk.rotations[:n]).max() < 1e-9
    step_src = _deg(walk.rotations[1:], walk.rotations[:-1]).max()
    step_out = _deg(out.rotations[1:], out.rotations[:-1]).max()
    assert step_out < step_src * 2.0
    # ... and the motion keeps its speed into the seam: the last pose is reached moving, not slowed to a stop.
    speed_src = _deg(walk.rotations[-4:], walk.rotations[-5:-1]).mean()
    speed_out = _deg(out.rotations[-4:], out.rotations[-5:-1]).mean()
    assert speed_out > 0.7 * speed_src
    # The root leaves the seam as fast as it arrives (the travel's pace at both ends).
    arrives, leaves = out.hips[-1, [0, 2]] - out.hips[-2, [0, 2]], out.hips[1, [0, 2]] - out.hips[0, [0, 2]]
    assert np.linalg.norm(arrives - leaves) < 0.05 * np.linalg.norm(arrives)
    inplace = edit.loop(edit.in_place(walk))
    assert np.allclose(inplace.hips[-1], inplace.hips[0])
    # Two frames are a loop too (the second becomes the first); they had been left as they were.
    two = edit.loop(_frames(walk, [0, 30]))
    assert _deg(two.rotations[1], two.rotations[0]).max() < 1e-6 and two.hips[1, 1] == pytest.approx(two.hips[0, 1])


def _step(q: np.ndarray) -> np.ndarray:
    """(B, 3) each bone's turn from q[0] to q[1] (local rotation vectors, degrees)."""
    return np.degrees(R.to_axis_angle(R.multiply(R.conjugate(q[0]), q[1])))


def test_a_loop_turns_as_fast_into_its_seam_as_out_of_it(walk):
    """match_seam_speed meets the speeds into and out of the seam half-way, near the seam only, and bends no bone
    much further than that (a one-sided match had bulged a run's knee 65 degrees)."""
    stride = _frames(walk, np.arange(70))  # about one stride of the walk, its Hips bobbing out of step with it
    bob = stride.hips + np.outer(0.02 * np.sin(np.arange(70) / 8.0), [0.0, 1.0, 0.0])
    looped = edit.loop(replace(stride, hips=bob))
    into, out_of = _step(looped.rotations[-2:]), _step(looped.rotations[:2])
    assert np.linalg.norm(into - out_of, axis=-1).max() > 3.0  # degrees a frame: the seam jumps
    matched = edit.match_seam_speed(looped)
    into2, out_of2 = _step(matched.rotations[-2:]), _step(matched.rotations[:2])
    assert np.linalg.norm(into2 - out_of2, axis=-1).max() < 0.1
    assert np.abs(into2 - 0.5 * (into + out_of)).max() < 0.2  # met half-way
    assert _deg(matched.rotations[-1], matched.rotations[0]).max() < 1e-6  # the seam's pose stays
    n = round(edit.LOOP_MATCH_S * walk.fps)
    assert _deg(matched.rotations[n + 1: -n - 1], looped.rotations[n + 1: -n - 1]).max() < 1e-9
    bend = _deg(matched.rotations, looped.rotations).max(axis=0)
    assert (bend <= 1.3 * 0.5 * np.linalg.norm(into - out_of, axis=-1) + 1e-6).all()
    vy = lambda c: (c.hips[1, 1] - c.hips[0, 1], c.hips[-1, 1] - c.hips[-2, 1])  # noqa: E731
    assert abs(np.subtract(*vy(matched))) < 1e-4 < abs(np.subtract(*vy(looped)))


def test_a_seam_that_is_no_cycle_is_met_only_part_way(walk):
    """A bone that swings one way into the seam and the other way out of it (942 deg/s apart at 30 fps) is met only up
    to LOOP_MATCH_MAX_DEG_S from either side, rather than swung round to meet it."""
    T, bone = 31, walk.index("LeftLowerArm")
    clip = _frames(walk, np.zeros(T, dtype=int))
    angle = np.radians(150.0) * np.abs(np.sin(np.pi * np.arange(T) / (T - 1)))  # a cusp at the seam
    rot = clip.rotations.copy()
    rot[:, bone] = R.from_axis_angle(np.array([1.0, 0.0, 0.0]), angle)
    matched = edit.match_seam_speed(replace(clip, rotations=rot))
    jump = np.linalg.norm(_step(matched.rotations[-2:])[bone] - _step(matched.rotations[:2])[bone])
    assert jump == pytest.approx(np.degrees(np.pi * 2 * np.radians(150.0) / (T - 1)) - 2 * 300.0 / 30.0, abs=0.5)


def test_loop_span_finds_where_the_walk_comes_back(walk):
    """The CMU walk's first and last poses are 79 degrees apart; loop_span finds the last frame that comes back to the
    start within 30 (pose and the next step), about a stride in, and the loop ending there closes that well."""
    assert edit.loop_gap(walk)[1] > 30.0
    start, end = edit.loop_span(walk, 30.0)
    assert start == 0 and 30 < end < walk.frame_count - 1  # from the clip's start where a loop from there closes
    assert edit.loop_gap(_frames(walk, np.arange(end + 1)))[1] <= 30.0
    assert edit.loop_span(walk, 0.1) is None and edit.loop_span(_frames(walk, np.arange(10)), 30.0) is None
    assert edit.loop_span(_frames(walk, np.zeros(40, dtype=int)), 30.0) is None  # a pose held still is no loop


def test_loop_span_keeps_to_where_the_person_was_seen(walk):
    """Told which frames had a person, loop_span offers only a loop that begins and ends on them and has one in
    nine of its frames in ten: where nobody was seen the clip's poses are held or made up, not filmed."""
    start, end = edit.loop_span(walk, 30.0)
    seen = np.ones(walk.frame_count, dtype=bool)
    assert edit.loop_span(walk, 30.0, seen=seen) == (start, end)
    seen[:5] = False  # nobody at the start: a loop from there is not offered
    later = edit.loop_span(walk, 30.0, seen=seen)
    assert later is not None and later[0] >= 5 and seen[list(later)].all()
    seen[:] = True
    seen[end - 2:end + 2] = False  # nobody where the loop from the start ended
    got = edit.loop_span(walk, 30.0, seen=seen)
    assert got is not None and got != (start, end) and seen[[got[0], got[0] + 1, got[1], got[1] + 1]].all()
    seen[:] = True
    seen[start + 10:start + 10 + (end - start) // 5] = False  # a fifth of that loop unseen
    got = edit.loop_span(walk, 30.0, seen=seen)
    assert got is not None and got != (start, end) and seen[got[0]:got[1] + 1].mean() >= edit.SEEN_IN_LOOP


def test_three_cycles_of_a_loop_run_on_from_each_other(walk):
    looped = edit.loop(walk)
    T, travel = looped.frame_count, looped.hips[-1] - looped.hips[0]
    cycles = edit.three_cycles(looped)
    assert cycles.frame_count == 3 * (T - 1) + 1
    np.testing.assert_allclose(cycles.hips[2 * (T - 1):] - 2 * travel * [1, 0, 1], looped.hips, atol=1e-12)
    middle = edit.middle_cycle(cycles, looped)
    np.testing.assert_allclose(middle.hips, looped.hips, atol=1e-12)
    assert _deg(middle.rotations, looped.rotations).max() < 1e-6 and (middle.contacts == looped.contacts).all()


def _frames(clip, idx):
    return replace(clip, hips=clip.hips[idx], rotations=clip.rotations[idx], contacts=clip.contacts[idx],
                   confidence=clip.confidence[idx])


def test_speed_halves_the_length(walk):
    fast = edit.retime(walk, 2.0)
    assert fast.frame_count == (walk.frame_count - 1) // 2 + 1
    assert fast.fps == walk.fps
    # frame k of the fast clip is frame 2k of the source
    assert _deg(fast.rotations, walk.rotations[::2][: fast.frame_count]).max() < 1e-6
    slow = edit.retime(walk, 0.5)
    assert slow.frame_count == 2 * (walk.frame_count - 1) + 1


def test_retime_samples_at_another_rate(walk):
    at24 = edit.retime(walk, 1.0, 24.0)
    assert at24.fps == 24.0 and at24.frame_count == int(round((walk.frame_count - 1) * 24 / walk.fps)) + 1
    t, t24 = np.arange(walk.frame_count) / walk.fps, np.arange(at24.frame_count) / 24.0
    assert np.abs(np.interp(t24, t, walk.hips[:, 0]) - at24.hips[:, 0]).max() < 1e-9


def test_fps_samples_the_finished_clip_and_leaves_the_motion(walk):
    """--fps is the clip's sampling only: the clip is made at the landmarks' own rate, then resampled. Made at the
    asked rate, the refined hips of a real walk had ended 17 cm apart at 24 and 30 fps (this walk's, 1.7 cm)."""
    from animgen_ml import bodymodel, pipeline

    lm = bodymodel.landmarks_from_clip(walk, distance=12.0)
    native = pipeline.run(None, None, pipeline.GenerateOptions(), landmarks=lm).clip
    at24 = pipeline.run(None, None, pipeline.GenerateOptions(fps=24.0), landmarks=lm).clip
    assert at24.fps == 24.0 and at24.frame_count == int(round((native.frame_count - 1) * 24 / native.fps)) + 1
    t, t24 = np.arange(native.frame_count) / native.fps, np.arange(at24.frame_count) / 24.0
    gap = max(np.abs(np.interp(t24, t, native.hips[:, k]) - at24.hips[:, k]).max() for k in range(3))
    assert gap < 0.005, gap


def test_trim_keeps_the_window(walk):
    out = edit.trim(walk, 0.5, 1.5)
    assert out.frame_count == int(round(1.0 * walk.fps))
    assert np.allclose(out.hips[0], walk.hips[int(round(0.5 * walk.fps))])


def test_face_forward_faces_plus_z(walk):
    # turn the walk to face some other way first, then ask for +Z
    q = R.from_axis_angle(np.array([0.0, 1.0, 0.0]), 2.0)
    turned = edit.rotate_about_y(walk, q, walk.hips[0])
    assert edit.facing(turned, 0)[2] < 0.0
    out = edit.face_forward(turned)
    f = edit.facing(out, 0)
    assert np.degrees(np.arccos(np.clip(f[2], -1, 1))) < 0.01
    assert np.allclose(out.hips[0], turned.hips[0])
    assert _deg(out.rotations[:, 1:], turned.rotations[:, 1:]).max() < 1e-9  # only the Hips turned


def test_refined_clips_start_above_the_origin(walk):
    """The generators' paths start where the camera placed the person (a network clip up to 0.25 m off); the clip
    starts at x = z = 0 and keeps its path's shape, whatever the options."""
    from animgen_ml.pipeline import GenerateOptions
    from animgen_ml.refine import refine

    off = replace(walk, hips=walk.hips + [0.25, 0.0, -0.4])
    for options in (GenerateOptions(), GenerateOptions(mirror=True, face_forward=True, loop=True, speed=0.5)):
        out, _ = refine(off, None, options)
        assert np.allclose(out.hips[0, [0, 2]], 0.0, atol=1e-9)
    plain, _ = refine(walk, None, GenerateOptions())
    out, _ = refine(off, None, GenerateOptions())
    assert np.allclose(out.hips, plain.hips, atol=1e-6)
