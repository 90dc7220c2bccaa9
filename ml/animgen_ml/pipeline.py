"""The pipeline: video -> landmarks -> clip -> files, one stage at a time, each reporting progress.

decode + pose (streamed together) -> clean -> generate (network or analytic) -> smooth -> refine -> export.
Each stage is a function of plain data in its own module; this module only wires them and times them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from animgen_ml.clip import HumanoidClip
from animgen_ml.errors import Cancelled, InputError
from animgen_ml.landmarks import Landmarks
from animgen_ml.video import VideoInfo

STAGES = ("pose", "clean", "generate", "smooth", "refine", "export")
# Rough share of the run time per stage, for one overall progress figure; with a preview, which decodes the video
# again, export takes a quarter of a long run (1080p: pose 41 s a minute of video, the preview 16 s).
STAGE_WEIGHTS = {"pose": 0.86, "clean": 0.01, "generate": 0.04, "smooth": 0.01, "refine": 0.04, "export": 0.04}
PREVIEW_STAGE_WEIGHTS = STAGE_WEIGHTS | {"pose": 0.65, "export": 0.25}
FORMATS = ("glb", "bvh", "json", "npz", "report", "preview", "vrma")
GENERATORS = ("network", "analytic")


@dataclass
class GenerateOptions:
    """Every option of `animgen generate`; the gRPC GenerateOptions message mirrors it field for field."""

    hands: bool = False
    smoothing: float = 0.5  # 0 none .. 1 strong
    start: float | None = None  # seconds
    end: float | None = None
    fps: float | None = None  # output frame rate; None: the video's
    generator: str = "network"
    formats: tuple[str, ...] = ("glb",)
    in_place: bool = False
    loop: bool = False
    mirror: bool = False
    speed: float = 1.0
    face_forward: bool = False
    foot_lock: bool = True
    keyframe_tolerance_degrees: float = 0.0
    keyframe_tolerance_mm: float = 0.0
    target: str | None = None  # a .glb or .vrm character to retarget onto
    # The target's bones by hand, HumanBodyBone -> bone name (on the wire: options.target.bone_map, which the server
    # keeps in its stored copy of the skeleton).
    bone_map: dict[str, str] = field(default_factory=dict)
    # Where in the picture to look for the person (pixels of the video as played: x, y of the top left corner, width,
    # height), for a video with other people in it; None: the whole picture.
    crop: tuple[int, int, int, int] | None = None

    def validate(self) -> GenerateOptions:
        """Raises InputError naming the first bad option."""
        if not 0.0 <= self.smoothing <= 1.0:
            raise InputError(f"--smoothing must be between 0 and 1, got {self.smoothing}")
        # Written so that NaN fails each check too (every comparison with NaN is false).
        if self.start is not None and not 0 <= self.start < math.inf:
            raise InputError(f"--start must be a time >= 0 seconds, got {self.start}")
        if self.end is not None and not 0 < self.end < math.inf:
            raise InputError(f"--end must be a time > 0 seconds, got {self.end}")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise InputError(f"--end ({self.end}) must be after --start ({self.start})")
        if self.fps is not None and not 1.0 <= self.fps <= 240.0:
            raise InputError(f"--fps must be between 1 and 240, got {self.fps}")
        if self.generator not in GENERATORS:
            raise InputError(f"--generator must be one of {', '.join(GENERATORS)}, got {self.generator!r}")
        bad = [f for f in self.formats if f not in FORMATS]
        if bad or not self.formats:
            raise InputError(f"--format: unknown output format {bad[0] if bad else '(none)'}: use {', '.join(FORMATS)}")
        if not 0.1 <= self.speed <= 10.0:
            raise InputError(f"--speed must be between 0.1 and 10, got {self.speed}")
        if not (0 <= self.keyframe_tolerance_degrees < math.inf and 0 <= self.keyframe_tolerance_mm < math.inf):
            raise InputError("--keyframe-tolerance must be numbers >= 0, got "
                             f"{self.keyframe_tolerance_degrees} degrees, {self.keyframe_tolerance_mm} mm")
        if self.target is not None and not Path(self.target).is_file():
            raise InputError(f"{self.target}: target skeleton file not found")
        if self.crop is not None:
            from animgen_ml.pose import crop_problem

            if (why := crop_problem(self.crop)) is not None:
                raise InputError(f"--crop {','.join(map(str, self.crop))}: {why}")
        if self.bone_map and self.target is None:
            raise InputError("--bone-map maps the bones of a --target character: give one")
        if self.target is not None:  # refused before any work is done
            from animgen_ml.retarget import TARGET_SUFFIXES, check_target

            if Path(self.target).suffix.lower() not in TARGET_SUFFIXES:
                raise InputError(f"{self.target}: --target takes a .glb or .vrm character (it is written playing the "
                                 "clip, as a .glb)")
            check_target(self.target, self.bone_map)
        return self

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class ProgressEvent:
    stage: str
    kind: str  # "started" | "progress" | "finished" | "warning"; a run on a server also "notice" (of the server)
    fraction: float = 0.0  # of the stage
    message: str = ""
    weights: dict[str, float] = field(default_factory=lambda: STAGE_WEIGHTS)  # each stage's share of the run

    @property
    def overall(self) -> float:
        """Progress of the whole run, 0..1."""
        done = sum(self.weights[s] for s in STAGES[: STAGES.index(self.stage)]) if self.stage in STAGES else 0
        frac = 1.0 if self.kind == "finished" else self.fraction
        return min(1.0, done + self.weights.get(self.stage, 0.0) * frac)


ProgressFn = Callable[[ProgressEvent], None]
CancelFn = Callable[[], bool]


@dataclass
class Result:
    clip: HumanoidClip
    landmarks: Landmarks
    files: dict[str, Path] = field(default_factory=dict)  # format -> path
    stage_seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class _Stages:
    """Times stages and turns them into progress events; checks for cancellation between stages."""

    def __init__(self, progress: ProgressFn | None, cancel: CancelFn | None,
                 weights: dict[str, float] = STAGE_WEIGHTS) -> None:
        self.weights = weights
        self.progress = progress or (lambda e: None)
        self.cancel = cancel or (lambda: False)
        self.seconds: dict[str, float] = {}
        self.warnings: list[str] = []

    def run(self, stage: str, fn: Callable, *args, **kwargs):
        if self.cancel():
            raise Cancelled("cancelled")
        self.progress(ProgressEvent(stage, "started", weights=self.weights))
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t0
        self.progress(ProgressEvent(stage, "finished", 1.0, weights=self.weights))
        return out

    def report(self, stage: str, fraction: float, message: str = "") -> None:
        if self.cancel():
            raise Cancelled("cancelled")
        self.progress(ProgressEvent(stage, "progress", fraction, message, self.weights))

    def warn(self, stage: str, message: str) -> None:
        self.warnings.append(message)
        self.progress(ProgressEvent(stage, "warning", 0.0, message, self.weights))


def extract(video: str | Path, options: GenerateOptions, progress: ProgressFn | None = None,
            cancel: CancelFn | None = None) -> Landmarks:
    """Decode and run pose extraction: the landmarks of every frame in [start, end)."""
    st = _Stages(progress, cancel)
    return st.run("pose", _pose_stage, video, options, st)


def run(
    video: str | Path | None,
    out_base: str | Path | None,
    options: GenerateOptions,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    landmarks: Landmarks | None = None,
    info: VideoInfo | None = None,
    name: str | None = None,
) -> Result:
    """Run the whole pipeline on a video (or on landmarks extracted before) and write the requested files
    as out_base + ".glb" etc. With out_base None, nothing is written. info: the video's video.probe, when the
    caller has it already. name: what to call the video in warnings, the clip and the files (default: its path);
    a server passes the uploaded file's own name, not the path it stored it under."""
    from animgen_ml import clean, export, model, refine, smooth
    from animgen_ml.generate import generate_clip

    options.validate()
    if out_base is not None and options.target:
        target = Path(options.target).resolve()
        if any(p.resolve() == target for p in export.output_paths(out_base, options)):
            raise InputError(f"{options.target}: the --target character is also one of the outputs and would be "
                             "overwritten: write elsewhere (-o) or rename the character")
    preview = out_base is not None and "preview" in options.formats
    st = _Stages(progress, cancel, PREVIEW_STAGE_WEIGHTS if preview else STAGE_WEIGHTS)
    extracted = landmarks is None
    if landmarks is None:
        if video is None:
            raise InputError("no video given")
        landmarks = st.run("pose", _pose_stage, video, options, st, info)
    elif options.start is not None or options.end is not None:  # saved landmarks: cut them as the video would be
        landmarks = landmarks.between(options.start, options.end)
        if landmarks.frame_count == 0:
            raise InputError(f"{landmarks.source or 'the landmarks'}: no frame between {options.start or 0:g} s and "
                             f"{'the end' if options.end is None else f'{options.end:g} s'}")
    if name:
        landmarks = replace(landmarks, source=name)
    if not landmarks.detected.any():
        raise InputError(f"{landmarks.source or video}: no person was found in any frame"
                         + (_nobody_hint(landmarks, options.crop) if extracted else ""))
    from animgen_ml.pose import quality_warnings
    from animgen_ml.refine import said_mirrored

    pose_warnings = quality_warnings(landmarks, options.hands)
    for w in said_mirrored(pose_warnings) if options.mirror else pose_warnings:
        st.warn("pose", w)
    if options.hands and landmarks.left_hand_world is None and landmarks.right_hand_world is None:
        st.warn("pose", "these landmarks hold no hand points (extracted without --hands): the fingers stay at rest")
    cleaned = st.run("clean", clean.clean, landmarks)  # at the video's rate: --fps resamples the finished clip
    clip = st.run("generate", generate_clip, cleaned, options)
    if options.generator == "network" and clip.metadata.get("generator") != "network":  # generate_clip fell back
        st.warn("generate", f"the network's weights are missing ({model.weights_path()}): the clip comes from the "
                            "analytic solver; reinstall animgen, or pass --generator analytic to say so")
    clip = st.run("smooth", smooth.smooth_clip, clip, options.smoothing)
    clip, warnings = st.run("refine", refine.refine, clip, cleaned, options)
    for w in warnings:
        st.warn("refine", w)
    files: dict[str, Path] = {}
    if out_base is not None:
        files = st.run("export", export.write_outputs, clip, landmarks, Path(out_base), options,
                       video, st.seconds, st.warnings, progress=lambda f, m="": st.report("export", f, m))
    return Result(clip, landmarks, files, dict(st.seconds), list(st.warnings))


def _nobody_hint(lm: Landmarks, crop: tuple[int, int, int, int] | None) -> str:
    """What to try when MediaPipe found nobody: its detector sees the whole picture shrunk to 224 pixels, where someone
    small is missed, and a crop around them is found (the side-view run padded to five times its size was)."""
    if crop is None:
        return (": if the person is small in the picture, a crop around them (--crop X,Y,W,H; Crop in Unity and "
                "Unreal) lets MediaPipe find them")
    x, y, w, h = crop
    return (f" of the crop {x},{y},{w},{h}: it should hold the person (it follows them once found; pixels of the "
            f"video as played, {lm.width}x{lm.height})")


def _pose_stage(video: str | Path, options: GenerateOptions, st: _Stages, info: VideoInfo | None = None
                ) -> Landmarks:
    from animgen_ml import pose

    return pose.extract(video, hands=options.hands, start=options.start, end=options.end, crop=options.crop,
                        progress=lambda f, m: st.report("pose", f, m), info=info)
