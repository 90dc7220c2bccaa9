"""The HTML run report: self-contained, with every chart and the visibility warnings."""

from __future__ import annotations

import base64
import re
from dataclasses import replace

import numpy as np

from animgen_ml import mocap
from animgen_ml.landmarks import LM, Landmarks
from animgen_ml.refine import visibility_warnings
from animgen_ml.report import write_report


def _landmarks(T: int = 150, fps: float = 30.0) -> Landmarks:
    """Landmarks whose lower body leaves the frame from 3.2 s to 4.0 s, nobody is seen from 1.0 to 1.5 s, and the
    right arm, inside the image, is unseen from 0.2 to 0.4 s and 0.5 to 0.7 s (one stretch: the gap is short)
    and from 2.0 to 2.2 s (alone too short to report)."""
    t = np.arange(T) / fps
    rng = np.random.default_rng(0)
    image = rng.uniform(0.3, 0.7, (T, 33, 3))
    vis = np.full((T, 33), 0.95)
    lower = np.array([LM[n] for n in ("left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
                                      "right_heel", "left_foot_index", "right_foot_index")])
    out = (t >= 3.2 - 1e-9) & (t < 4.0 - 1e-9)
    vis[np.ix_(out, lower)] = 0.1
    image[np.ix_(out, lower, np.array([1]))] = 1.1  # below the bottom edge
    arm = np.array([LM["right_elbow"], LM["right_wrist"]])
    for a, b in ((0.2, 0.4), (0.5, 0.7), (2.0, 2.2)):
        vis[np.ix_((t >= a - 1e-9) & (t < b - 1e-9), arm)] = 0.1  # behind the body: low visibility, in the image
    detected = ~((t >= 1.0 - 1e-9) & (t < 1.5 - 1e-9))
    image[~detected] = np.nan
    vis[~detected] = 0.0
    return Landmarks(times=t, image=image, world=np.zeros((T, 33, 3)), visibility=vis, detected=detected,
                     width=640, height=480, source="synthetic.mp4")


def test_visibility_warnings_name_the_part_and_the_times():
    w = visibility_warnings(_landmarks())
    assert "lower body out of frame from 3.2 s to 4.0 s" in w
    assert "no person detected from 1.0 s to 1.5 s" in w
    assert [x for x in w if x.startswith("right arm")] == ["right arm hidden from 0.2 s to 0.7 s"]
    assert not any(x.startswith(("left arm", "head")) for x in w)


def test_report_is_one_self_contained_file(tmp_path, shared_data):
    clip = mocap.load_clip(shared_data / "mocap/cmu_iclone_ccrig/002/002_01.bvh")
    lm = _landmarks()
    warnings = visibility_warnings(lm)
    path = tmp_path / "run.report.html"
    write_report(path, clip, lm, {"pose": 4.2, "clean": 0.01, "generate": 0.3, "refine": 0.1}, warnings)
    text = path.read_text()
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    for w in warnings:
        assert w in text
    for heading in ("Detection and visibility", "Foot contacts", "Root path", "Time per stage"):
        assert heading in text
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(images) == 4
    for b64 in images:
        png = base64.b64decode(b64)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    # nothing fetched from elsewhere
    assert not re.search(r'(src|href)="(?!data:)', text)
    assert "4.61 s" in text  # total of the stage times
    assert "<th>picture</th><td>640x480 px (as played: what --crop counts in)</td>" in text
    assert "looked in (--crop)" not in text
    # With --crop: where MediaPipe looked, drawn and followed.
    looked = np.repeat([[100, 20, 300, 400]], lm.frame_count, axis=0)
    looked[100:, 0] = 240
    write_report(path, clip, replace(lm, crop=looked), {}, [])
    row = "<th>looked in (--crop)</th><td>100,20,300,400 at the start, 240,20,300,400 at the end</td>"
    assert row in path.read_text()


def test_mirror_says_the_clip_has_the_part_on_its_other_side(shared_data):
    """The warnings tell of the video; with --mirror the clip's arm on the other side is the one that was hidden."""
    from animgen_ml.pipeline import GenerateOptions
    from animgen_ml.refine import refine

    clip = mocap.load_clip(shared_data / "mocap/cmu_iclone_ccrig/002/002_01.bvh")
    _, plain = refine(clip, _landmarks(), GenerateOptions())
    _, mirrored = refine(clip, _landmarks(), GenerateOptions(mirror=True))
    assert "right arm hidden from 0.2 s to 0.7 s" in plain
    assert "right arm hidden from 0.2 s to 0.7 s (in the clip, the other side: --mirror)" in mirrored
    assert "no person detected from 1.0 s to 1.5 s" in mirrored  # no side: unchanged


def test_contact_chart_is_on_the_videos_time_axis_at_any_speed(shared_data):
    """With --speed 0.5 the clip has twice the frames of the video span; its contacts were drawn over twice the
    visibility chart's time axis."""
    from dataclasses import replace

    from animgen_ml import edit
    from animgen_ml.report import video_times

    clip = mocap.load_clip(shared_data / "mocap/cmu_iclone_ccrig/002/002_01.bvh")
    clip = replace(clip, rotations=clip.rotations[:90], hips=clip.hips[:90], contacts=clip.contacts[:90],
                   confidence=clip.confidence[:90])
    slow = edit.retime(clip, 0.5)
    assert slow.frame_count > 1.9 * clip.frame_count
    for c, speed in ((clip, 1.0), (slow, 0.5)):
        t = video_times(c, 2.0, speed)
        assert t[0] == 2.0 and abs(t[-1] - (2.0 + (clip.frame_count - 1) / clip.fps)) < 0.5 / clip.fps


def test_root_path_is_seen_from_above(shared_data):
    """Forward up the page, a path towards the character's left (+X) goes left on the page (it went right: the
    chart showed the path from below, every left turn a right turn)."""
    import matplotlib

    matplotlib.use("Agg")
    from dataclasses import replace

    from animgen_ml.report import root_figure

    clip = mocap.load_clip(shared_data / "mocap/cmu_iclone_ccrig/002/002_01.bvh")
    T = 30
    hips = np.stack([np.linspace(0, 1, T), np.full(T, 0.9), np.linspace(0, 1, T)], axis=1)  # forward and left
    clip = replace(clip, rotations=clip.rotations[:T], hips=hips, contacts=clip.contacts[:T],
                   confidence=clip.confidence[:T], root_motion=None)
    ax = root_figure(clip).axes[0]
    start, end = ax.transData.transform([[0, 0], [1, 1]])
    assert end[0] < start[0] and end[1] > start[1]  # to the left and up the page (pixels: y grows upwards)
