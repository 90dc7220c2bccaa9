"""Preview video: the 2D skeleton drawn over the input video, beside a side view of the clip's 3D skeleton.

Left panel: each input frame with the MediaPipe landmarks of the nearest landmark frame (green: the person's
left, orange: right, grey: low visibility). Right panel: the HumanoidClip's joints (clip.world()) seen from the
character's right side in an orthographic projection (the way it faces on average to the right, up +Y up), a
floor line at the lowest foot height, so sliding, floating, striding and leaning show at a glance. Frames stream
through an ffmpeg pipe (H.264, yuv420p: plays in browsers and editors) and the file is written aside, then renamed.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from animgen_ml import video as vid
from animgen_ml.clip import HumanoidClip
from animgen_ml.errors import InputError
from animgen_ml.files import atomic_path
from animgen_ml.landmarks import CLOCK_SLOP_S, LM, Landmarks

PANEL_HEIGHT = 480
# MediaPipe pose connections drawn in the left panel.
_POSE_EDGES = [(LM[a], LM[b]) for a, b in [
    ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"), ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"), ("left_hip", "left_knee"),
    ("left_knee", "left_ankle"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("left_ankle", "left_heel"), ("left_heel", "left_foot_index"), ("left_ankle", "left_foot_index"),
    ("right_ankle", "right_heel"), ("right_heel", "right_foot_index"), ("right_ankle", "right_foot_index"),
    ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"), ("right_eye", "right_ear"),
]]
_LEFT, _RIGHT, _MID, _DIM = (60, 200, 60), (240, 140, 30), (230, 230, 230), (130, 130, 130)  # RGB
_CROP = (255, 220, 0)  # where MediaPipe looked (--crop)


def _side_colour(name: str) -> tuple[int, int, int]:
    return _LEFT if name.lower().startswith("left") else _RIGHT if name.lower().startswith("right") else _MID


def frame_schedule(times: np.ndarray, fps: float) -> np.ndarray:
    """For each frame of a constant-rate output starting at times[0], the index of the latest source frame (of
    `times`) shown by then. A clock in milliseconds (Matroska, WebM) may end the span just short of the last frame's
    time at the exact rate: that frame is shown, as the clip keeps it (clean.resample)."""
    n = int(np.floor((times[-1] - times[0] + CLOCK_SLOP_S) * fps + 1e-6)) + 1
    return np.searchsorted(times, times[0] + np.arange(n) / fps + CLOCK_SLOP_S, side="right") - 1


def render_preview(video: str | Path, landmarks: Landmarks, clip: HumanoidClip, path: str | Path,
                   progress: Callable[[float], None] | None = None) -> Path:
    """Writes the preview MP4 to `path` (atomically) and returns it. progress(fraction) is called every few frames
    (on a long video this is most of the export stage); an exception it raises (Cancelled) stops the render. With
    --crop, each frame shows the part of the picture MediaPipe looked in, so that one sees whom it followed."""
    path = Path(path)
    info = vid.probe(video)
    t0, t1 = float(landmarks.times[0]), float(landmarks.times[-1])
    scale = PANEL_HEIGHT / info.height
    lw = int(round(info.width * scale / 2)) * 2
    side = _SideView(clip, PANEL_HEIGHT)
    out_w, out_h = lw + side.width, PANEL_HEIGHT
    fps = max(1.0, min(120.0, landmarks.fps))
    # Output frames at a constant rate, each showing the latest source frame shown by then: a variable-rate
    # video (or one over 120 fps) keeps its timing instead of playing its frames at the mean rate.
    show = frame_schedule(landmarks.times, fps)
    with atomic_path(path) as tmp:
        cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "-s", f"{out_w}x{out_h}", "-r", f"{fps:.6f}", "-i", "pipe:0", "-c:v", "libx264", "-preset",
               "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", str(tmp)]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdin is not None
        done = False
        try:
            written = 0
            source = iter(vid.iter_frames(video, start=t0, end=t1 + 0.5 / fps, info=info, size=(lw, PANEL_HEIGHT)))
            every = max(1, len(show) // 100)
            i, frame = -1, None  # the source frame at hand: landmarks frame i
            for n, want in enumerate(show):
                while i < want:
                    step = next(source, None)
                    if step is None:
                        break
                    i, frame = i + 1, step[1]
                if frame is None:
                    break
                left = frame.copy()  # decoded at the panel's size; drawn on
                j = min(i, landmarks.frame_count - 1)
                if landmarks.crop is not None:  # pixels of the picture the landmarks came from
                    x, w = (round(float(v) * lw / landmarks.width) for v in landmarks.crop[j, 0::2])
                    y, h = (round(float(v) * PANEL_HEIGHT / landmarks.height) for v in landmarks.crop[j, 1::2])
                    cv2.rectangle(left, (x, y), (x + w - 1, y + h - 1), _CROP, 2)
                _draw_landmarks(left, landmarks, j)
                # The clip may have another frame rate or speed: map by the fraction of the time span.
                k = int(round(n / fps / max(t1 - t0, 1e-9) * (clip.frame_count - 1)))
                right = side.render(int(np.clip(k, 0, clip.frame_count - 1)))
                proc.stdin.write(np.ascontiguousarray(np.concatenate([left, right], axis=1)).tobytes())
                written += 1
                if progress is not None and written % every == 0:
                    progress(written / len(show))
            done = True
        except BrokenPipeError:
            done = True  # ffmpeg stopped reading: its exit code and stderr say why
        finally:
            if not done:  # an error or an interrupt here: ffmpeg would wait for input for ever
                proc.kill()
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
            err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
            rc = proc.wait()
        if written == 0 and rc == 0:
            raise InputError(f"{video}: no video frames in the landmarks' time range for the preview")
        # ffmpeg exits 0 when only its last write fails (a full disk), leaving a file without its index: it is read
        # back. Its own words end with the reason; the paths before it are temporary names.
        if rc != 0 or not _reads_back(tmp, written):
            why = err.strip().splitlines()[-1].rsplit(": ", 1)[-1] if err.strip() else "it does not read back"
            raise InputError(f"ffmpeg could not write the preview ({why})")
    return path


def _reads_back(path: Path, frames: int) -> bool:
    try:
        return vid.probe(path).frame_count == frames
    except InputError:
        return False


def _draw_landmarks(img: np.ndarray, lm: Landmarks, i: int) -> None:
    if not lm.detected[i]:
        cv2.putText(img, "no person", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 60, 60), 2, cv2.LINE_AA)
        return
    h, w = img.shape[:2]
    pts = lm.image[i, :, :2] * (w, h)
    vis = lm.visibility[i]
    for a, b in _POSE_EDGES:
        if not np.isfinite(pts[[a, b]]).all():
            continue
        name = _edge_name(a, b)
        colour = _side_colour(name) if min(vis[a], vis[b]) >= 0.5 else _DIM
        cv2.line(img, _pt(pts[a]), _pt(pts[b]), colour, 2, cv2.LINE_AA)
    for j, p in enumerate(pts):
        if np.isfinite(p).all():
            cv2.circle(img, _pt(p), 3, _DIM if vis[j] < 0.5 else (255, 255, 255), -1, cv2.LINE_AA)


def _edge_name(a: int, b: int) -> str:
    from animgen_ml.landmarks import POSE_LANDMARKS

    na, nb = POSE_LANDMARKS[a], POSE_LANDMARKS[b]
    return na if na.split("_")[0] == nb.split("_")[0] else "mid"


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def mean_facing(clip: HumanoidClip) -> np.ndarray:
    """The horizontal unit vector the character faces on average over the clip (+Z when it faces every way alike)."""
    from animgen_ml.edit import facing

    mean = np.nan_to_num(facing(clip, slice(None))).mean(axis=0) if clip.frame_count else np.zeros(3)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 1e-3 else np.array([0.0, 0.0, 1.0])


class _SideView:
    """Orthographic side view of the clip from the character's right: the way it faces on average to the right, up
    (+Y) up. A clip is in the camera's frame, so a fixed world axis showed a person filmed from the side face-on,
    stride and lean hidden. The frame is fitted once to the whole clip so that motion through space stays visible."""

    def __init__(self, clip: HumanoidClip, height: int) -> None:
        joints, _ = clip.world()
        ahead = mean_facing(clip)
        self.zy = np.nan_to_num(np.stack([joints @ ahead, joints[..., 1]], axis=-1))  # (T, B, 2): ahead, up
        self.parents = clip.parents
        self.colours = [_side_colour(b) for b in clip.bones]
        lo, hi = self.zy.reshape(-1, 2).min(0), self.zy.reshape(-1, 2).max(0)
        foot = [clip.index(b) for b in ("LeftFoot", "RightFoot", "LeftToes", "RightToes") if b in clip.bones]
        self.floor = float(self.zy[:, foot, 1].min()) if foot else float(lo[1])
        lo[1] = min(lo[1], self.floor)
        span = max(float((hi - lo).max()), 0.5) * 1.15
        self.height = height
        self.width = int(round(height * 0.75 / 2)) * 2
        self.ppm = min(height, self.width * 1.0) / span  # pixels per metre
        self.centre = (lo + hi) / 2
        self.base = np.full((height, self.width, 3), 32, np.uint8)
        fy = self._px(np.array([0.0, self.floor]))[1]
        cv2.line(self.base, (0, fy), (self.width - 1, fy), (110, 110, 110), 1, cv2.LINE_AA)
        cv2.putText(self.base, "side view", (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (200, 200, 200), 1, cv2.LINE_AA)

    def _px(self, zy: np.ndarray) -> tuple[int, int]:
        x = self.width / 2 + (zy[0] - self.centre[0]) * self.ppm
        y = self.height / 2 - (zy[1] - self.centre[1]) * self.ppm
        return int(round(x)), int(round(y))

    def render(self, k: int) -> np.ndarray:
        img = self.base.copy()
        # The far side (the character's left, +X, away from a viewer on its right) first, so the near side
        # is drawn over it.
        for far in (True, False):
            for b, p in enumerate(self.parents):
                if p < 0 or (self.colours[b] == _LEFT) != far:
                    continue
                cv2.line(img, self._px(self.zy[k, p]), self._px(self.zy[k, b]), self.colours[b], 3, cv2.LINE_AA)
        return img
