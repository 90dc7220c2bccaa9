"""Landmarks: what pose extraction gives, per video frame, in MediaPipe's conventions.

image: normalised image coordinates (x right, y down, in [0, 1] inside the frame; z MediaPipe's relative depth).
world: MediaPipe's world landmarks, metres, origin between the hips, x to the image's right, y down, z away
from the camera. Frames where no person was found have detected=False and NaN coordinates.
Saved as .npz so that later stages can rerun without extracting again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

# The 33 BlazePose landmarks, in MediaPipe's order.
POSE_LANDMARKS: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
LM = {name: i for i, name in enumerate(POSE_LANDMARKS)}

# The 21 MediaPipe hand landmarks.
HAND_LANDMARKS: tuple[str, ...] = (
    "wrist", "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip", "index_mcp", "index_pip", "index_dip",
    "index_tip", "middle_mcp", "middle_pip", "middle_dip", "middle_tip", "ring_mcp", "ring_pip", "ring_dip",
    "ring_tip", "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
)

# Each landmark's mirror image, for left/right swaps and mirroring.
MIRROR = np.array(
    [LM[n.replace("left", "@").replace("right", "left").replace("@", "right")] for n in POSE_LANDMARKS]
)


HAND_FIELDS = ("left_hand", "right_hand", "left_hand_world", "right_hand_world")

# Frame rates cameras and editors write, and how far a clock may put a video's span from theirs (a millisecond
# clock rounds both ends).
STANDARD_RATES = (24000 / 1001, 24.0, 25.0, 30000 / 1001, 30.0, 48.0, 50.0, 60000 / 1001, 60.0, 90.0, 100.0,
                  120000 / 1001, 120.0, 240.0)
CLOCK_SLOP_S = 0.0011


@dataclass
class Landmarks:
    times: np.ndarray  # (T,) seconds from the start of the video
    image: np.ndarray  # (T, 33, 3)
    world: np.ndarray  # (T, 33, 3)
    visibility: np.ndarray  # (T, 33) in [0, 1]
    detected: np.ndarray  # (T,) bool
    width: int
    height: int
    source: str = ""
    # The video's own frame rate (ffprobe; 0: unknown): the rate of landmarks of a single frame, which have no
    # interval to measure one from (a still of a 12 fps video had come out a 30 fps clip).
    rate: float = 0.0
    # Hands (optional, from Holistic): (T, 21, 3) normalised image coordinates like `image`, NaN where unseen.
    left_hand: np.ndarray | None = None
    right_hand: np.ndarray | None = None
    # The hands placed in world space (metres, around the pose's world wrist; see pose._hand_world_all).
    left_hand_world: np.ndarray | None = None
    right_hand_world: np.ndarray | None = None
    # Where MediaPipe looked, per frame, with --crop: (T, 4) x, y, width, height in pixels of the picture.
    crop: np.ndarray | None = None
    # Where someone far from where the person was lost was found (a cut, someone else; set by clean.clean from
    # pose.reappearances): (last seen, found) in seconds. The root goes on across them (solver.carry_across).
    switches: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        T = len(self.times)
        for name, shape in (("image", (T, 33, 3)), ("world", (T, 33, 3)), ("visibility", (T, 33)),
                            ("detected", (T,))):
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(f"Landmarks.{name} has shape {np.shape(getattr(self, name))}, expected {shape}")
        for name in HAND_FIELDS:
            a = getattr(self, name)
            if a is not None and np.shape(a) != (T, 21, 3):
                raise ValueError(f"Landmarks.{name} has shape {np.shape(a)}, expected {(T, 21, 3)}")
        if self.crop is not None and np.shape(self.crop) != (T, 4):
            raise ValueError(f"Landmarks.crop has shape {np.shape(self.crop)}, expected {(T, 4)}")

    @property
    def frame_count(self) -> int:
        return len(self.times)

    @property
    def fps(self) -> float:
        """The frame rate: from the mean frame interval, leaving out pauses of a variable-rate video (intervals over
        1.5 times the median; a phone video holding its last picture 5 s came out a clip at 11 fps), or the standard
        rate (STANDARD_RATES) whose frames fit that span to a millisecond clock's rounding. The mean, not the median:
        the times of a 29.97 fps video, rounded to milliseconds, alternate 33 and 34 ms."""
        if len(self.times) < 2:
            return self.rate if self.rate > 0 else 30.0
        step = np.diff(np.asarray(self.times, np.float64))
        usual = step[step <= 1.5 * np.median(step)]
        span = float(usual.sum())
        # A clock in milliseconds (Matroska, WebM) puts the span up to a millisecond off, and a 30 fps video came
        # out a 29.999 fps clip (29.969 for 29.97): a standard rate whose frames fit the span to that is the rate.
        fits = [r for r in STANDARD_RATES if abs(span - len(usual) / r) <= CLOCK_SLOP_S]
        if fits:
            return min(fits, key=lambda r: abs(span - len(usual) / r))
        return float(len(usual) / max(span, 1e-9))

    def between(self, start: float | None, end: float | None) -> Landmarks:
        """The frames shown in [start, end) (None: no bound), as video.iter_frames cuts a video."""
        keep = np.ones(len(self.times), bool)
        if start is not None:
            keep &= self.times >= start - 1e-6
        if end is not None:
            keep &= self.times < end - 1e-6
        if keep.all():
            return self
        arrays = {k: getattr(self, k)[keep] for k in ("times", "image", "world", "visibility", "detected")}
        hands = {k: getattr(self, k)[keep] for k in (*HAND_FIELDS, "crop") if getattr(self, k) is not None}
        return replace(self, **arrays, **hands)

    @property
    def detection_rate(self) -> float:
        return float(np.mean(self.detected)) if len(self.detected) else 0.0

    def save(self, path: str | Path) -> None:
        arrays = {k: getattr(self, k) for k in ("times", "image", "world", "visibility", "detected")}
        for k in (*HAND_FIELDS, "crop"):
            if getattr(self, k) is not None:
                arrays[k] = getattr(self, k)
        with open(path, "wb") as f:
            np.savez_compressed(f, width=self.width, height=self.height, source=self.source, rate=self.rate, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> Landmarks:
        """Raises ValueError (or KeyError) naming what is wrong with a file that was not written by save."""
        with np.load(path, allow_pickle=False) as z:
            lm = cls(
                times=z["times"], image=z["image"], world=z["world"], visibility=z["visibility"],
                detected=z["detected"].astype(bool), width=int(z["width"]), height=int(z["height"]),
                source=str(z["source"]), rate=float(z["rate"]) if "rate" in z else 0.0,
                **{k: z[k] for k in (*HAND_FIELDS, "crop") if k in z},
            )
        lm.check_times()
        if lm.width < 1 or lm.height < 1:
            raise ValueError(f"the video's size is {lm.width}x{lm.height}")
        if not (np.isfinite(lm.rate) and lm.rate >= 0):
            raise ValueError(f"the video's frame rate is {lm.rate}")
        for name in ("image", "world", "visibility", *HAND_FIELDS, "crop"):
            a = getattr(lm, name)
            if a is not None and a.dtype.kind not in "fiu":
                raise ValueError(f"{name} holds {a.dtype} values, not numbers")
        if lm.crop is not None and not (np.isfinite(lm.crop).all() and (lm.crop[:, 2:] >= 1).all()):
            raise ValueError("crop holds rectangles that are not finite or under a pixel wide or high")
        return lm

    def check_times(self) -> None:
        """Frame times as a video's are (the stages after pose rely on it): at least one frame, seconds that are
        finite and increase, frames usually at least 0.1 ms apart (times in other units ran out of memory)."""
        t = np.asarray(self.times)
        if t.ndim != 1 or t.dtype.kind not in "fiu":
            raise ValueError(f"times has shape {t.shape} and type {t.dtype}: one number per frame")
        if len(t) == 0:
            raise ValueError("no frames")
        if not np.isfinite(t).all():
            raise ValueError("times holds values that are not finite numbers")
        step = np.diff(t)
        if (step <= 0).any():
            k = int(np.flatnonzero(step <= 0)[0])
            raise ValueError(f"times do not increase (frame {k + 1} at {t[k]:g} s, then {t[k + 1]:g} s)")
        if len(step) and float(np.median(step)) < 1e-4:
            raise ValueError(f"frames are {float(np.median(step)):g} s apart: times are not in seconds")
        if len(step) and step.max() > 3600:
            raise ValueError(f"frames are up to {float(step.max()):g} s apart: times are not in seconds")
