"""The "export" stage: write the clip (and the landmarks behind it) in every requested format.

Names: out_base + ".glb" ".bvh" ".json" ".landmarks.npz" ".report.html" ".preview.mp4" ".vrma", and with a target
skeleton out_base + ".<target stem>.glb". Each file is written aside and renamed into place (files.atomic_path),
so an existing output is never replaced by a partial one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np

from animgen_ml.clip import HumanoidClip
from animgen_ml.files import atomic_path
from animgen_ml.landmarks import Landmarks

SUFFIXES = {
    "glb": ".glb",
    "bvh": ".bvh",
    "json": ".json",
    "npz": ".landmarks.npz",
    "report": ".report.html",
    "preview": ".preview.mp4",
    "vrma": ".vrma",
}


def output_path(out_base: str | Path, fmt: str) -> Path:
    """Where format `fmt` goes (out_base may hold dots, so suffixes are appended, never substituted)."""
    return Path(f"{out_base}{SUFFIXES[fmt]}")


def target_output_path(out_base: str | Path, target: str | Path) -> Path:
    return Path(f"{out_base}.{Path(target).stem}.glb")


def output_files(out_base: str | Path, options) -> dict[str, Path]:
    """Every file write_outputs writes for these options, by format ("target": the --target character's)."""
    files = {f: output_path(out_base, f) for f in options.formats}
    if options.target:
        files["target"] = target_output_path(out_base, options.target)
    return files


def output_paths(out_base: str | Path, options) -> list[Path]:
    return list(output_files(out_base, options).values())


def keyframes_for(clip: HumanoidClip, options) -> dict[str, np.ndarray] | None:
    """Kept frames per channel when a keyframe tolerance is set; None (every frame) otherwise."""
    if options.keyframe_tolerance_degrees <= 0 and options.keyframe_tolerance_mm <= 0:
        return None
    from animgen_ml import keyframes

    return keyframes.reduce_keys(clip, options.keyframe_tolerance_degrees, options.keyframe_tolerance_mm)


PREVIEW_COST = 20.0  # the preview's share of the export's work against one of the other files


def write_outputs(
    clip: HumanoidClip,
    landmarks: Landmarks,
    out_base: Path,
    options,
    video: str | Path | None,
    stage_seconds: dict[str, float],
    warnings: list[str],
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, Path]:
    """Write every format in options.formats (and the retargeted glb when options.target is set).
    Returns format -> path ("target" for the retargeted glb). progress(fraction, what) as they are written; the
    preview, which draws every video frame, counts as most of the work when it is asked for."""
    from animgen_ml import bvh_export, gltf_export

    formats = list(dict.fromkeys(options.formats))
    cost = {f: PREVIEW_COST if f == "preview" else 1.0 for f in formats}
    total = sum(cost.values()) + (1.0 if options.target else 0.0)
    done = 0.0

    def report(fraction: float, what: str) -> None:
        if progress is not None:
            progress(min(1.0, fraction / total), what)

    keys = functools.cache(lambda: keyframes_for(clip, options))  # the .glb's and the .vrma's, reduced once
    writers: dict[str, Callable[[Path], None]] = {
        "glb": lambda p: gltf_export.write_glb(clip, p, keys=keys()),
        "bvh": lambda p: bvh_export.write_bvh(clip, p),
        "json": clip.save_json,
        "npz": landmarks.save,
        "report": lambda p: _report().write_report(p, clip, landmarks, stage_seconds, warnings, options.speed),
        "preview": lambda p: _preview().render_preview(
            video, landmarks, clip, p, progress=lambda f: report(done + PREVIEW_COST * f, "preview")),
        "vrma": lambda p: gltf_export.write_vrma(clip, p, keys=keys()),
    }
    files: dict[str, Path] = {}
    for fmt in formats:  # in order, once each
        report(done, fmt)
        path = output_path(out_base, fmt)
        with atomic_path(path) as tmp:
            writers[fmt](tmp)
        files[fmt] = path
        done += cost[fmt]
    if options.target:
        report(done, "target")
        files["target"] = write_target(clip, out_base, options)
    return files


# Formats the service has no OutputFormat for: a --server run writes them from the clip it receives.
CLIENT_FORMATS = ("vrma",)


def write_client_formats(clip: HumanoidClip, out_base: Path, options) -> dict[str, Path]:
    """The CLIENT_FORMATS of options.formats (the .vrma), written aside and renamed; format -> path."""
    from animgen_ml import gltf_export

    if "vrma" not in options.formats:
        return {}
    path = output_path(out_base, "vrma")
    with atomic_path(path) as tmp:
        gltf_export.write_vrma(clip, tmp, keys=keyframes_for(clip, options))
    return {"vrma": path}


def write_target(clip: HumanoidClip, out_base: Path, options) -> Path:
    """The --target character (mesh and all) playing the clip, written aside and renamed; its path."""
    from animgen_ml import retarget

    path = target_output_path(out_base, options.target)
    with atomic_path(path) as tmp:
        tolerance = (options.keyframe_tolerance_degrees, options.keyframe_tolerance_mm)
        retarget.write_target_glb(clip, Path(options.target), tmp, options.bone_map, tolerance=tolerance,
                                  plant_feet=_plant_on_target(clip, options), loop=options.loop)
    return path


def target_motion(clip: HumanoidClip, options):
    """The retarget.TargetMotion that write_target's file plays (before keyframe reduction): for a client that builds
    its own animation on the target from it."""
    from animgen_ml import retarget

    sk, g, nodes = retarget.load_glb_skeleton(Path(options.target), options.bone_map)
    return retarget.motion_on_target(clip, sk, g, nodes, plant_feet=_plant_on_target(clip, options), loop=options.loop)


def _plant_on_target(clip: HumanoidClip, options) -> bool:
    """Planted feet are locked on the character's own legs where refine locked ours, unless the clip's feet are not
    meant to stay put (--in-place takes the travel out from under them)."""
    return clip.metadata.get("feet_locked") == "yes" and not options.in_place


# Other stages' modules, imported only when their format is asked for.
def _report():
    from animgen_ml import report

    return report


def _preview():
    from animgen_ml import preview

    return preview
