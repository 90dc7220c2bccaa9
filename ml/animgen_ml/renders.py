"""Rendered takes: mocap played by a rigged character, rendered in headless Blender and seen by real MediaPipe
(`scripts/render_mocap.py` makes them). The held-out subject's takes are evaluation data (`animgen evaluate
renders`); takes of the training mocap on other characters give training real MediaPipe errors with exact truth.

A take is three files beside each other:
- <name>.mp4: the video;
- <name>.truth.json: {"format": TRUTH_FORMAT, "video", "character", "source", "camera": {"yaw": radians, ...},
  "clip": the HumanoidClip JSON on the character's proportions (retarget.on_target_proportions), world space};
  the yaw follows synth.Camera.yaw, so synth.camera_target(clip, yaw) is the truth in the camera's yaw frame;
- <name>.landmarks.npz: MediaPipe's landmarks of the video (pose.extract), made when missing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from animgen_ml import synth
from animgen_ml.clip import HumanoidClip
from animgen_ml.errors import InputError
from animgen_ml.landmarks import Landmarks

TRUTH_FORMAT = "animgen.RenderTruth/2"  # /2: the clip on the character's proportions (/1: the mocap's)
EVAL_ENV = "ANIMGEN_RENDERS"
TRAIN_ENV = "ANIMGEN_TRAIN_RENDERS"
_REPO_BUILD = Path(__file__).resolve().parents[2] / "build"


@dataclass
class Take:
    name: str
    truth: HumanoidClip  # in the camera's yaw frame, on the landmarks' frame grid
    landmarks: Landmarks  # cleaned MediaPipe output
    character: str
    source: str


def eval_dir() -> Path:
    """Held-out takes: $ANIMGEN_RENDERS if set, else build/renders in the repository."""
    return Path(os.environ.get(EVAL_ENV) or _REPO_BUILD / "renders")


def train_dir() -> Path:
    """Training takes: $ANIMGEN_TRAIN_RENDERS if set, else build/renders_train in the repository."""
    return Path(os.environ.get(TRAIN_ENV) or _REPO_BUILD / "renders_train")


def truth_files(folder: Path) -> list[Path]:
    return sorted(Path(folder).glob("*.truth.json"))


def landmarks_path(truth_path: Path) -> Path:
    return truth_path.with_name(truth_path.name.removesuffix(".truth.json") + ".landmarks.npz")


def raw_landmarks(truth_path: Path, video: Path) -> Landmarks:
    """MediaPipe's landmarks of a take's video, extracted once and kept beside it."""
    from animgen_ml import pose
    from animgen_ml.files import atomic_path

    cache = landmarks_path(truth_path)
    if cache.is_file():
        return Landmarks.load(cache)
    lm = pose.extract(video)
    with atomic_path(cache) as tmp:
        lm.save(tmp)
    return lm


def load_take(truth_path: str | Path) -> Take:
    """A take's truth in the camera's yaw frame and its cleaned landmarks, cut to the frames both have."""
    from animgen_ml import clean, edit

    truth_path = Path(truth_path)
    try:
        d = json.loads(truth_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"{truth_path}: cannot read the take's truth ({e})") from e
    if d.get("format") != TRUTH_FORMAT:
        raise InputError(f"{truth_path}: truth format {d.get('format')!r}, expected {TRUTH_FORMAT!r}; "
                         "render it again with scripts/render_mocap.py")
    clip = HumanoidClip.from_dict(d["clip"])
    lm = clean.clean(raw_landmarks(truth_path, truth_path.parent / d["video"]), None)
    if abs(lm.fps - clip.fps) > 1e-3 * clip.fps:
        raise InputError(f"{truth_path}: video at {lm.fps:.3f} fps, truth at {clip.fps:.3f}")
    T = min(lm.frame_count, clip.frame_count)
    clip = edit.trim(clip, 0.0, (T - 0.5) / clip.fps)
    truth = synth.camera_target(clip, np.full(T, d["camera"]["yaw"]))
    return Take(name=truth_path.name.removesuffix(".truth.json"), truth=truth, landmarks=slice_landmarks(lm, 0, T),
                character=d.get("character", ""), source=d.get("source", ""))


def camera_of(cam: dict) -> synth.Camera:
    """A take's camera (its truth's "camera") as the synthetic camera model's, which films the same picture."""
    x, y, z = cam["centre"]
    return synth.Camera(yaw=cam["yaw"], yaw_rate=0.0, distance=cam["distance"], height=cam["height"], look_height=y,
                        roll=0.0, fov=float(np.radians(cam["fov_degrees"])), width=cam["width"],
                        height_px=cam["height_px"], centre=(x, z))


def slice_landmarks(lm: Landmarks, start: int, stop: int) -> Landmarks:
    """Frames [start, stop) of landmarks (hands included)."""
    sl = slice(start, stop)
    per_frame = {f.name: getattr(lm, f.name)[sl] for f in fields(lm)
                 if isinstance(getattr(lm, f.name), np.ndarray) and len(getattr(lm, f.name)) == lm.frame_count}
    return replace(lm, **per_frame)
