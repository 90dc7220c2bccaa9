"""The preview's side view shows the character from its right whichever way it walks."""

from __future__ import annotations

import numpy as np
import pytest

from animgen_ml import edit, mocap
from animgen_ml import rotations as R
from animgen_ml.landmarks import Landmarks
from animgen_ml.preview import _SideView, mean_facing


def test_side_view_of_a_walk_across_the_camera_shows_the_stride(shared_data):
    """A clip is in the camera's frame: a person filmed from the side walks along X. The side view projected onto Z
    and showed such a walk face-on, its stride and travel gone."""
    walk = mocap.load_clip(shared_data / "mocap" / "sfu_accad_terrainrl" / "0005_Walking001_30fps.bvh")
    walk = edit.face_forward(walk)  # facing +Z at its start
    for yaw_deg in (0.0, 90.0, -135.0):
        q = R.from_axis_angle(np.array([0.0, 1.0, 0.0]), np.radians(yaw_deg))
        turned = edit.rotate_about_y(walk, q, walk.hips[0])
        heading = R.apply(q, mean_facing(walk))
        assert np.dot(mean_facing(turned), heading) > 0.999
        view = _SideView(turned, 480)
        hips = view.zy[:, turned.index("Hips")]
        travel = float(np.dot(turned.hips[-1] - turned.hips[0], heading))
        assert travel > 1.0 and abs(hips[-1, 0] - hips[0, 0] - travel) < 1e-6  # forward is to the right
        feet = view.zy[:, [turned.index("LeftFoot"), turned.index("RightFoot")], 0]
        assert np.abs(feet[:, 0] - feet[:, 1]).max() > 0.3  # the stride, seen from the side


def test_the_preview_reports_progress_and_stops_when_cancelled(videos, tmp_path):
    """The preview decodes the video again: a quarter of a long run, which went by without a progress event (a
    server job sat at 96 % for minutes) and could not be cancelled (its worker was killed after 5 s)."""
    from animgen_ml import pipeline
    from animgen_ml.errors import Cancelled

    video = videos / "sports2d_run_sideview.mp4"
    landmarks = pipeline.extract(video, pipeline.GenerateOptions())
    options = pipeline.GenerateOptions(formats=("json", "preview"))
    seen: list[pipeline.ProgressEvent] = []
    pipeline.run(video, tmp_path / "run", options, progress=seen.append, landmarks=landmarks)
    export = [e for e in seen if e.stage == "export" and e.kind == "progress"]
    previews = [e.fraction for e in export if e.message == "preview"]
    assert len(previews) > 20 and previews == sorted(previews) and previews[-1] > 0.95
    overall = [e.overall for e in seen if e.kind != "warning"]
    assert overall == sorted(overall) and overall[-1] == 1.0
    assert export[0].overall < 0.8  # with a preview, export is a quarter of the run, not its last 4 %
    # Cancelled half-way through the preview: it stops there, and leaves no part of it behind.
    stop = lambda: any(e.message == "preview" and e.fraction > 0.5 for e in seen)  # noqa: E731
    seen.clear()
    with pytest.raises(Cancelled):
        pipeline.run(video, tmp_path / "again", options, progress=seen.append, cancel=stop, landmarks=landmarks)
    assert max(e.fraction for e in seen if e.message == "preview") < 0.6
    assert not (tmp_path / "again.preview.mp4").exists() and not list(tmp_path.glob(".*part*"))


def test_the_preview_shows_where_crop_looked(videos, tmp_path):
    """With --crop, each frame of the preview draws the rectangle MediaPipe looked in, so that one sees whom it
    followed: on the side-view run it starts where it was drawn and ends where the runner took it."""
    from animgen_ml import pipeline, video
    from animgen_ml.preview import _CROP, PANEL_HEIGHT

    clip = videos / "sports2d_run_sideview.mp4"  # 480x352
    crop = (0, 40, 240, 280)
    options = pipeline.GenerateOptions(formats=("preview", "npz"), crop=crop)
    result = pipeline.run(clip, tmp_path / "run", options)
    looked = Landmarks.load(result.files["npz"]).crop
    assert looked is not None and tuple(looked[0]) == crop and looked[-1][0] == 240  # followed the runner across
    frames = [f for _, f in video.iter_frames(result.files["preview"])]
    scale = PANEL_HEIGHT / 352
    for frame, (x, y, w, h) in ((frames[0], crop), (frames[-1], looked[-1])):
        x, y, w, h = (round(float(v) * scale) for v in (x, y, w, h))
        top = frame[y, x + w // 2].astype(int)  # the rectangle's top edge, half-way along
        assert np.abs(top - _CROP).max() < 40, top
        inside = frame[y + 8: y + h - 8, x + 8: x + w - 8].reshape(-1, 3).astype(int)
        assert (np.abs(inside - _CROP).max(axis=1) < 40).mean() < 0.01  # only its edge is drawn
