"""Pose extraction with MediaPipe on real videos: detection, finite landmarks, plausible world scale, frames
without a person kept, a body half out of the picture gives a warning, hands."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import require_tool

from animgen_ml import clean, pipeline, pose, video
from animgen_ml.contacts import runs
from animgen_ml.errors import InputError
from animgen_ml.generate import generate_clip
from animgen_ml.landmarks import LM, Landmarks

pytestmark = pytest.mark.slow

BASKETBALL = "mmhuman3d_3dpw_basketball.mp4"  # 40 frames, portrait 1080x1920, one person fully in view


def ffmpeg(*args: str) -> None:
    subprocess.run([require_tool("ffmpeg"), "-v", "error", "-y", *args], check=True)


def shoulder_width(lm: Landmarks) -> np.ndarray:
    return np.linalg.norm(lm.world[:, LM["left_shoulder"]] - lm.world[:, LM["right_shoulder"]], axis=-1)


def test_pose_on_real_video(videos: Path, tmp_path: Path):
    path = videos / BASKETBALL
    seen: list[float] = []
    lm = pose.extract(path, progress=lambda f, m: seen.append(f))
    assert lm.frame_count == 40 and (lm.width, lm.height) == (1080, 1920)
    assert np.allclose(lm.times, [t for t, _ in video.iter_frames(path)])
    assert lm.detection_rate >= 0.95
    det = lm.detected
    assert np.isfinite(lm.image[det]).all() and np.isfinite(lm.world[det]).all()
    assert np.all((lm.visibility >= 0) & (lm.visibility <= 1))
    # World scale: metres, a real person's shoulders and thighs.
    assert 0.25 < np.median(shoulder_width(lm)[det]) < 0.5
    thigh = np.linalg.norm(lm.world[det, LM["left_hip"]] - lm.world[det, LM["left_knee"]], axis=-1)
    assert 0.25 < np.median(thigh) < 0.6
    # MediaPipe world: origin between the hips, y down: the ankles are below (greater y than) the hips.
    hips = lm.world[det][:, [LM["left_hip"], LM["right_hip"]]].mean(1)
    assert np.abs(hips).max() < 0.05
    assert np.all(lm.world[det, LM["left_ankle"], 1] > 0.4) and np.all(lm.world[det, LM["nose"], 1] < -0.2)
    # Progress: fractions of the frames, rising to 1.
    assert seen[-1] == 1.0 and all(b >= a for a, b in zip(seen, seen[1:], strict=False))
    # Landmarks save and load unchanged.
    lm.save(tmp_path / "lm.npz")
    back = Landmarks.load(tmp_path / "lm.npz")
    assert np.array_equal(back.world, lm.world, equal_nan=True) and back.source == str(path)
    assert pose.quality_warnings(lm) == []


def test_frames_without_person_are_marked_not_dropped(videos: Path, tmp_path: Path):
    """1 s of an empty grey picture, then the person (both 12 fps): the empty frames stay, detected=False."""
    src = videos / BASKETBALL
    mixed = tmp_path / "mixed.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=1080x1920:r=12:d=1", "-i", str(src), "-filter_complex",
           "[0:v]setsar=1[a];[1:v]setsar=1[b];[a][b]concat=n=2:v=1", "-c:v", "libx264", "-preset",
           "ultrafast", str(mixed))
    lm = pose.extract(mixed)
    assert lm.frame_count == 12 + 40
    assert not lm.detected[:12].any() and lm.detected[14:].mean() > 0.9
    assert np.isnan(lm.world[:12]).all() and np.all(lm.visibility[:12] == 0)
    assert "a person was found in only" in pose.quality_warnings(lm)[0]


def test_video_with_no_person(tmp_path: Path):
    empty = tmp_path / "nobody.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=darkgreen:s=320x240:r=25:d=1", "-c:v", "libx264", str(empty))
    lm = pose.extract(empty)
    assert lm.frame_count == 25 and not lm.detected.any() and np.isnan(lm.image).all()
    assert "found in only 0%" in pose.quality_warnings(lm)[0]


def test_person_half_out_of_frame_gives_a_warning(videos: Path, tmp_path: Path):
    half = tmp_path / "half.mp4"
    ffmpeg("-i", str(videos / BASKETBALL), "-vf", "crop=iw:ih*0.6:0:0", "-c:v", "libx264", str(half))
    lm = pose.extract(half)
    assert lm.detection_rate > 0.9  # still tracked: the upper body is in view
    warnings = pose.quality_warnings(lm)
    assert len(warnings) == 1 and "partly out of the picture" in warnings[0] and "ankles" in warnings[0]
    assert "half.mp4" not in warnings[0]  # each client names the video where it says the warning, once


@pytest.mark.parametrize("turn", ["transpose=1", "transpose=2", "hflip,vflip"])
def test_a_video_turned_from_upright_says_how_to_turn_it_back(videos: Path, tmp_path: Path, turn: str):
    # A portrait video whose rotation was lost (or any turned picture): MediaPipe still finds the person, lying
    # across the picture, and the clip would lie on its side. The warning names the ffmpeg filter that turns the
    # video back; run as it says, the person stands and nothing is said.
    turned = tmp_path / "turned.mp4"
    ffmpeg("-i", str(videos / BASKETBALL), "-vf", turn, "-c:v", "libx264", str(turned))
    said = [w for w in pose.quality_warnings(pose.extract(turned)) if "far from upright" in w]
    assert len(said) == 1 and said[0].startswith("the body is far from upright")
    back = re.search(r"\(ffmpeg -i IN -vf (\S+) OUT\)", said[0])
    assert back is not None, said[0]
    upright = tmp_path / "upright.mp4"
    ffmpeg("-i", str(turned), "-vf", back.group(1), "-c:v", "libx264", str(upright))
    lm = pose.extract(upright)
    assert pose.turned_warning(lm) is None
    assert np.median(np.abs(pose.torso_angles(lm))) < 30


@pytest.mark.parametrize("hidden", [True, False])
def test_someone_else_found_after_the_person_is_lost_is_warned_of(videos: Path, tmp_path: Path, hidden: bool):
    # Two people side by side: MediaPipe follows the one on the right (lifting dumbbells). Hidden from 4 s, it takes
    # the one walking on the left a little later, far away: the clip's Hips would travel there. Not hidden, it stays.
    both = tmp_path / "both.mp4"
    hide = ",drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='gte(t,4)'" if hidden else ""
    ffmpeg("-i", str(videos / "sports2d_walk_gym.mp4"), "-i", str(videos / "sports2d_dumbbell_lateral_raise.mp4"),
           "-filter_complex", f"[0:v]scale=-2:360,trim=0:8,setpts=PTS-STARTPTS[a];"
           f"[1:v]scale=-2:360,trim=0:8,setpts=PTS-STARTPTS{hide}[b];[a][b]hstack=inputs=2",
           "-an", "-r", "30", "-c:v", "libx264", str(both))
    lm = pose.extract(both)
    said = [w for w in pose.quality_warnings(lm) if "torso lengths" in w]
    if hidden:
        assert len(said) == 1 and "if it is someone else" in said[0] and "--start/--end" in said[0], said
        # The crop it offers, round the one found first, follows them: hidden, they are not swapped for the walker.
        crop = re.search(r"--crop (\d+),(\d+),(\d+),(\d+) follows the person found at 0.0 s", said[0])
        assert crop is not None, said[0]
        x, y, w, h = (int(v) for v in crop.groups())
        kept = pose.extract(both, crop=(x, y, w, h))
        assert not [w for w in pose.quality_warnings(kept) if "torso lengths" in w]
        assert not kept.detected[kept.times > 4.1].any()  # nobody in the picture's black half
        assert np.nanmin(kept.image[:, LM["left_hip"], 0] * kept.width) > 0.5 * kept.width  # always the lifter
    else:
        assert said == []


def test_a_cut_to_another_shot_is_warned_of_at_the_cut(videos: Path, tmp_path: Path):
    # Two shots joined by a hard cut at 3 s, the person on the left of the first and on the right of the second:
    # MediaPipe loses a frame at the cut and finds the other person 10 torso lengths away.
    cut = tmp_path / "cut.mp4"
    shot = "scale=-2:360,trim=0:3,setpts=PTS-STARTPTS,setsar=1,fps=30,pad=iw*2:ih"
    ffmpeg("-i", str(videos / "sports2d_walk_gym.mp4"), "-i", str(videos / "sports2d_dumbbell_lateral_raise.mp4"),
           "-filter_complex", f"[0:v]{shot}:0:0[a];[1:v]{shot}:iw:0[b];[a][b]concat=n=2:v=1:a=0", "-an",
           "-c:v", "libx264", str(cut))
    lm = pose.extract(cut)
    said = pose.reappear_warnings(lm)
    assert len(said) == 1, said
    # Both times to 0.01 s: at 0.1 s they read alike ("found at 3.0 s ... last seen at 3.0 s").
    assert re.search(r"found at 3\.0\d s is \d+ torso lengths from where one was last seen at 2\.9\d s", said[0]), said
    # The clip's root goes on across the cut, in steps of a walk's size. Without carrying it across, the network's
    # root went 0.21 m in a frame (the walk before the cut: 0.06), the solver's 3.7 m.
    for generator in ("network", "analytic"):
        options = pipeline.GenerateOptions(generator=generator)
        step = np.linalg.norm(np.diff(pipeline.run(None, None, options, landmarks=lm).clip.hips[:, [0, 2]], axis=0),
                              axis=1)
        near = slice(round(2.9 * 30), round(3.2 * 30))  # the frames around the cut
        assert step[near].max() < 0.1, (generator, np.round(step[near], 3))
        cleaned = clean.clean(lm)
        assert cleaned.switches and cleaned.switches[0][1] == pytest.approx(3.03, abs=0.02)
        uncarried = generate_clip(replace(cleaned, switches=()), options).hips[:, [0, 2]]
        assert np.linalg.norm(np.diff(uncarried, axis=0), axis=1)[near].max() > 0.15  # the test sees the jump


def test_a_runner_found_again_where_his_pace_took_him_is_not_warned_of(videos: Path, tmp_path: Path):
    # The side-view run played twice as fast, a band across the middle of the picture: MediaPipe loses the runner in
    # it and finds him again past it, further from where he was lost than a jogger goes in that time, but where his
    # pace would have taken him.
    run = tmp_path / "run.mp4"
    ffmpeg("-i", str(videos / "sports2d_run_sideview.mp4"), "-vf",
           "setpts=PTS/2,drawbox=x=150:y=0:w=200:h=ih:color=black:t=fill", "-r", "30", "-an", "-c:v", "libx264",
           str(run))
    lm = pose.extract(run)
    seen = runs(lm.detected)
    assert len(seen) == 2, seen
    hips, up = pose.trunk_pixels(lm)
    last, found = seen[0][1] - 1, seen[1][0]
    far = np.linalg.norm(hips[found] - hips[last]) / np.linalg.norm(up[last])
    assert far > pose.REAPPEAR_TORSOS + pose.REAPPEAR_TORSOS_PER_S * (lm.times[found] - lm.times[last])
    assert pose.reappear_warnings(lm) == []
    # A crop drawn round him at the start looks for him, while he is lost, where his pace takes him: it finds him past
    # the band in every frame the whole picture does. One held where he was lost never found him again.
    drawn = pose.crop_round(lm.image[0], lm.width, lm.height)
    followed = pose.extract(run, crop=drawn)
    assert followed.crop is not None and followed.detected[lm.detected].all(), followed.detected.astype(int)
    lost = slice(last + 1, found)
    assert (np.diff(followed.crop[lost, 0]) > 0).all() and (followed.crop[lost, 2] > drawn[2]).all()  # on, grown


def test_trimmed_extraction(videos: Path):
    lm = pose.extract(videos / BASKETBALL, start=1.0, end=2.0)
    assert lm.frame_count == 12  # a 12 fps clip
    assert lm.times[0] >= 1.0 - 1e-6 and lm.times[-1] < 2.0


def test_hands_with_holistic(videos: Path):
    lm = pose.extract(videos / "sports2d_dumbbell_lateral_raise.mp4", hands=True, end=0.5)
    assert lm.left_hand is not None and lm.right_hand is not None and lm.left_hand_world is not None
    for side in ("left", "right"):
        img = getattr(lm, f"{side}_hand")
        world = getattr(lm, f"{side}_hand_world")
        seen = np.isfinite(img).all((1, 2))
        assert seen.mean() > 0.8
        # Holistic's left hand is the person's left: its wrist sits on the pose's left wrist.
        gap = np.linalg.norm(img[seen, 0, :2] - lm.image[seen, LM[f"{side}_wrist"], :2], axis=-1)
        other = np.linalg.norm(img[seen, 0, :2] - lm.image[seen, LM[f"{'right' if side == 'left' else 'left'}_wrist"],
                                                               :2], axis=-1)
        assert np.median(gap) < 0.03 and np.median(gap) < np.median(other) / 3
        # World hand: placed on the pose's world wrist, a hand-sized span (wrist to middle knuckle 5-15 cm).
        assert np.allclose(world[seen, 0], lm.world[seen, LM[f"{side}_wrist"]])
        palm = np.linalg.norm(world[seen, 9] - world[seen, 0], axis=-1)
        assert 0.04 < np.median(palm) < 0.15
    # Both hands seen: no warning; a hand never seen is said (its fingers stay at rest).
    assert not [w for w in pose.quality_warnings(lm) if "hand was found" in w]
    left_image = lm.left_hand
    lm.left_hand, lm.left_hand_world = np.full_like(left_image, np.nan), np.full_like(left_image, np.nan)
    said = ["the left hand was found in 0% of the frames with a person; its fingers stay at rest elsewhere"]
    assert [w for w in pose.quality_warnings(lm) if "hand was found" in w] == said
    # The fingers come from the world points: a file with the image hand only is said too (it was silent).
    lm.left_hand, lm.left_hand_world = left_image, None
    assert [w for w in pose.quality_warnings(lm) if "hand was found" in w] == said
    # A run without --hands does not animate fingers: nothing to say about them.
    assert not [w for w in pose.quality_warnings(lm, hands=False) if "hand" in w]


def test_image_to_world_scale_recovers_a_known_scale():
    rng = np.random.default_rng(3)
    world = rng.normal(size=(33, 3)) * 0.3
    image = np.zeros((33, 3))
    image[:, :2] = (world[:, :2] / 0.002 + (320, 240)) / (640, 480)  # 2 mm per pixel
    assert pose.image_to_world_scale(image, world, 640, 480) == pytest.approx(0.002)


def test_a_given_probe_is_not_made_again(videos: Path, tmp_path: Path, monkeypatch):
    """The server probes an upload when its job starts and hands the result on: with it, extraction runs where
    ffprobe cannot (only ffmpeg on PATH); without it, it must probe, and says what is missing."""
    clip = videos / "sports2d_run_sideview.mp4"
    info = video.probe(clip)
    only_ffmpeg = tmp_path / "bin"
    only_ffmpeg.mkdir()
    (only_ffmpeg / "ffmpeg").symlink_to(require_tool("ffmpeg"))
    monkeypatch.setenv("PATH", str(only_ffmpeg))
    lm = pose.extract(clip, end=0.5, info=info)
    assert lm.frame_count == pytest.approx(0.5 * info.fps, abs=1) and lm.detected.all()
    with pytest.raises(InputError, match="ffprobe was not found"):
        pose.extract(clip, end=0.5)


def test_progress_comes_at_least_every_second(videos: Path):
    """Progress is where a cancel is seen: reported only every 1 % of the frames, a long video with --hands went 7 s
    without one, past the 5 s after which a server kills a worker that has not stopped."""
    import time

    said: list[str] = []

    def slow_first(fraction: float, message: str = "") -> None:
        if not said:
            time.sleep(1.1)  # as if 1 % of the frames took over a second
        said.append(message)

    lm = pose.extract(videos / "sports2d_walk_gym.mp4", end=8.0, progress=slow_first)
    assert lm.frame_count == 240  # 1 % is every 2nd frame
    assert said[:2] == ["frame 1/240", "frame 2/240"], said[:4]


def test_crop_finds_the_person_in_that_part_of_the_picture(videos: Path, tmp_path: Path):
    # Two people side by side (jumping jacks on the left, taiji on the right): MediaPipe takes the left one; with the
    # right half cropped it finds the taiji, whose landmarks, in the whole picture's terms, are those of the taiji
    # video alone put in that half.
    shot = "scale=640:360,setsar=1,fps=30"
    both, alone = tmp_path / "both.mp4", tmp_path / "alone.mp4"
    ffmpeg("-t", "2", "-i", str(videos / "romp_fitness_jumping_jacks.mp4"), "-t", "2", "-i",
           str(videos / "hybrik_taiji.mp4"), "-filter_complex", f"[0:v]{shot}[a];[1:v]{shot}[b];[a][b]hstack", "-an",
           "-c:v", "libx264", str(both))
    ffmpeg("-t", "2", "-i", str(videos / "hybrik_taiji.mp4"), "-vf", shot, "-an", "-c:v", "libx264", str(alone))
    assert np.nanmedian(pose.extract(both).image[:, LM["left_hip"], 0]) < 0.5
    right = (640, 0, 640, 360)
    cropped, single = pose.extract(both, crop=right), pose.extract(alone)
    assert cropped.detected.all() and single.detected.all() and (cropped.width, cropped.height) == (1280, 360)
    off = np.abs(cropped.image - pose.uncrop(single.image, right, 1280, 360))[..., :2]
    assert np.median(off) < 0.002 and np.percentile(off, 95) < 0.02, (np.median(off), np.percentile(off, 95))
    assert np.median(np.abs(cropped.world - single.world)) < 0.01  # metric about the hips: the crop changes nothing
    with pytest.raises(InputError, match=r"--crop 640,0,700,360: it reaches outside the 1280x360 picture"):
        pose.extract(both, crop=(640, 0, 700, 360))
    assert pose.crop_problem((0, 0, 31, 100)) == "the width and height must be at least 32 pixels"
    assert pose.crop_problem((-1, 0, 64, 64)) is not None and pose.crop_problem((0, 0, 64, 64), 64, 64) is None


def test_crop_follows_a_person_who_walks_out_of_it(videos: Path, tmp_path: Path):
    # Taiji on the left, the gym walk on the right (the walker comes in at its right edge and crosses to its left):
    # the rectangle drawn where the walker comes in follows them across, and their landmarks are those of the walk
    # alone put in that half. A rectangle that stayed put lost them after 3 s (detected in 27 % of the frames).
    shot = "scale=640:360,setsar=1,fps=30"
    both, alone = tmp_path / "both.mp4", tmp_path / "alone.mp4"
    ffmpeg("-t", "8", "-i", str(videos / "hybrik_taiji.mp4"), "-t", "8", "-i", str(videos / "sports2d_walk_gym.mp4"),
           "-filter_complex", f"[0:v]{shot}[a];[1:v]{shot}[b];[a][b]hstack", "-an", "-c:v", "libx264", str(both))
    ffmpeg("-t", "8", "-i", str(videos / "sports2d_walk_gym.mp4"), "-vf", shot, "-an", "-c:v", "libx264", str(alone))
    start = (1000, 0, 280, 360)
    followed, single = pose.extract(both, crop=start), pose.extract(alone)
    assert followed.crop is not None and tuple(followed.crop[0]) == start and single.crop is None
    assert (followed.crop[:, 2:] == start[2:]).all() and (followed.crop[:, 0] >= 0).all()
    assert (followed.crop[:, 0] + 280 <= 1280).all() and followed.crop[:, 0].min() < 700  # across, in the picture
    seen = followed.detected & single.detected
    assert seen.sum() >= 0.95 * single.detected.sum(), (seen.sum(), single.detected.sum())
    off = np.abs(followed.image - pose.uncrop(single.image, (640, 0, 640, 360), 1280, 360))[seen][..., :2]
    assert np.median(off) < 0.002 and np.percentile(off, 95) < 0.02, (np.median(off), np.percentile(off, 95))


def test_the_crop_moves_only_as_far_as_keeps_the_person_in_it():
    def body(x0: float, x1: float, y0: float, y1: float) -> np.ndarray:  # points spanning a box, 0..1 of the crop
        return np.array([[x0, y0, 0], [x1, y1, 0]] * 16 + [[x0, y1, 0]], np.float64)

    crop, drawn = (100, 50, 200, 300), (200, 300)  # on a 640x480 picture
    assert pose.follow(crop, body(0.3, 0.7, 0.2, 0.8), 640, 480, drawn) == crop  # well inside: stays put
    # At the right edge (x 270..310 px; margin 0.1 x its 180 px height): moved right until 328 px is inside.
    assert pose.follow(crop, body(0.85, 1.05, 0.2, 0.8), 640, 480, drawn) == (128, 50, 200, 300)
    # Taller than the crop with its margin (y 0..380 px, margin 38): grown to hold them, inside the picture; as tall
    # as the picture at most, centred on them; back to the size drawn once they fit it again.
    assert pose.follow(crop, body(0.3, 0.7, -0.3, 1.1), 640, 480, drawn) == (100, 0, 200, 456)
    assert pose.follow(crop, body(0.3, 0.7, -1.0, 2.0), 640, 480, drawn) == (100, 0, 200, 480)
    assert pose.follow((100, 0, 200, 456), body(0.3, 0.7, 0.5, 0.9), 640, 480, drawn) == (100, 129, 200, 300)
    # Never out of the picture.
    assert pose.follow(crop, body(-1.0, -0.8, 0.2, 0.8), 640, 480, drawn) == (0, 50, 200, 300)
    assert pose.follow((440, 180, 200, 300), body(1.5, 1.9, 0.2, 0.8), 640, 480, drawn) == (440, 180, 200, 300)


def test_a_lost_person_is_looked_for_where_their_pace_takes_them_while_that_is_in_the_picture():
    def body(cx: float, window: tuple[int, int, int, int]) -> np.ndarray:  # a 40 x 160 px body at x = cx, y = 240
        x, y, w, h = window
        px = np.array([[cx - 20, 160], [cx + 20, 320]] * 16 + [[cx, 240]], np.float64)
        return np.concatenate([(px - [x, y]) / [w, h], np.zeros((33, 1))], axis=1)

    f = pose.Follower((0, 100, 200, 300), 640, 480)
    for k in range(4):  # walking right at 10 px a frame, 30 frames a second
        f.update(k / 30, body(100 + 10 * k, f.window))
    seen = f.window
    f.update(4 / 30, None)  # lost: moved on 10 px and grown by as much
    assert f.window == (seen[0] + 5, seen[1], seen[2] + 10, seen[3])
    for k in range(5, 34):
        f.update(k / 30, None)
    # 1 s on: at most twice as wide, its middle gone on 300 px; after that, back where they were lost.
    assert f.window[2] == 2 * seen[2] and f.window[0] + f.window[2] / 2 == seen[0] + seen[2] / 2 + 300
    f.update(35 / 30, None)
    assert f.window == seen
    g = pose.Follower((400, 100, 200, 300), 640, 480)  # running out of the picture at 60 px a frame: held there
    for k in range(3):
        g.update(k / 30, body(520 + 60 * k, g.window))
    out = g.window
    g.update(3 / 30, None)
    assert g.window == out
    # Standing, with MediaPipe's jitter (3 px): lost, looked for where they stood.
    h = pose.Follower((100, 100, 200, 300), 640, 480)
    for k, jitter in enumerate((0, 3, -2, 3)):
        h.update(k / 30, body(200 + jitter, h.window))
    stood = h.window
    h.update(4 / 30, None)
    assert h.window == stood
    # A crop of the whole picture never moves.
    whole = pose.Follower((0, 0, 640, 480), 640, 480)
    for k in range(10):
        whole.update(k / 30, body(100 + 40 * k, whole.window) if k < 6 else None)
        assert whole.window == (0, 0, 640, 480)


def test_each_frame_is_put_back_from_the_rectangle_it_was_looked_at_in():
    rng = np.random.default_rng(0)
    points, looked = rng.random((5, 33, 3)), rng.integers(0, 300, (5, 4)) + [0, 0, 32, 32]
    together = pose.uncrop(points, looked, 640, 480)
    for t in range(5):
        assert np.allclose(together[t], pose.uncrop(points[t], tuple(looked[t]), 640, 480))
    x, y, w, h = looked[2]
    assert np.allclose(together[2, :, :2], (points[2, :, :2] * [w, h] + [x, y]) / [640, 480])


def test_the_crop_offered_round_a_person_is_one_crop_takes():
    rng = np.random.default_rng(1)
    for _ in range(200):
        lo = rng.uniform(-0.3, 1.0, 2)
        points = np.concatenate([rng.uniform(lo, lo + rng.uniform(0, 0.6, 2), (33, 2)), np.zeros((33, 1))], axis=1)
        assert pose.crop_problem(pose.crop_round(points, 640, 480), 640, 480) is None
    # The warning leaves it out where it is no help: the whole picture, or a picture too small for any crop.
    t = np.arange(3) / 30.0
    lm = Landmarks(times=t, image=np.full((3, 33, 3), 0.5), world=np.zeros((3, 33, 3)), visibility=np.ones((3, 33)),
                   detected=np.ones(3, bool), width=640, height=480)
    lm.image[:, :, :2] = rng.uniform(0.4, 0.6, (3, 33, 2))
    assert pose._keep_first(lm, 0).startswith(" ") and "follows the person found at 0.0 s" in pose._keep_first(lm, 0)
    lm.image[0, :2, :2] = [[-0.5, -0.5], [1.5, 1.5]]  # the body fills the picture
    assert pose._keep_first(lm, 0) == ""
    assert pose._keep_first(replace(lm, width=20, height=20), 1) == ""


def test_crop_grows_with_a_person_coming_towards_the_camera(videos: Path):
    # The walk towards the camera (1812x1004) in a rectangle drawn round the walker far away (410 px tall): they grow
    # to leave its bottom, and it grows with them, so their landmarks are those MediaPipe finds in the whole picture.
    drawn = (850, 380, 320, 520)
    followed = pose.extract(videos / "motionbert_walk_toward_camera.mp4", crop=drawn)
    whole = pose.extract(videos / "motionbert_walk_toward_camera.mp4")
    assert followed.crop is not None and followed.detected.all() and whole.detected.all()
    assert (followed.crop[:, 2:] >= drawn[2:]).all() and followed.crop[-1, 3] > 650
    assert (followed.crop[:, :2] + followed.crop[:, 2:] <= (1812, 1004)).all()
    off = np.abs(followed.image - whole.image)[..., :2]
    assert np.median(off) < 0.002 and np.percentile(off, 95) < 0.02, (np.median(off), np.percentile(off, 95))
