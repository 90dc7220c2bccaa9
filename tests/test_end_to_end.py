"""End to end on real videos: the `animgen generate` command line in a subprocess, then the real readers:
the Khronos glTF validator, headless Blender (GLB and BVH), and the JSON read back exactly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from export_helpers import blender_import, check_blender_armature, rotation_error, validate

from animgen_ml import bvh_export, clean, gltf_export, limits, refine, smooth
from animgen_ml import rotations as R
from animgen_ml.clip import HumanoidClip
from animgen_ml.generate import generate_clip
from animgen_ml.landmarks import Landmarks
from animgen_ml.pipeline import GenerateOptions

# id -> (video, extra arguments): short clips, or trimmed ones, to keep CI fast on two cores.
RUNS = {
    "run": ("sports2d_run_sideview.mp4", []),  # 47 frames, 480x352, 29.97 fps
    "basketball": ("mmhuman3d_3dpw_basketball.mp4", []),  # 40 frames, 1080x1920 portrait, 12 fps
    "ballet": ("pymaf_ballet_pirouette.mp4", ["--end", "1.2"]),  # 1080p 29.97 fps, the first 36 frames
    "run-hands": ("sports2d_run_sideview.mp4", ["--hands"]),  # the 30 finger bones too
}

def animgen_command() -> list[str]:
    script = Path(sys.executable).with_name("animgen")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "animgen_server.cli"]


@pytest.fixture(scope="module", params=list(RUNS))
def generated(request, videos: Path, tmp_path_factory) -> tuple[Path, HumanoidClip, list[str]]:
    """Runs the CLI once per run: out_base (DIR/<video stem>), the clip from its JSON, the run's extra arguments."""
    name, extra = RUNS[request.param]
    video = videos / name
    out = tmp_path_factory.mktemp(request.param)
    cmd = [*animgen_command(), "generate", str(video), "-o", str(out), "--format", "all", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    base = out / video.stem
    for suffix in (".glb", ".bvh", ".json", ".landmarks.npz"):
        assert Path(f"{base}{suffix}").is_file(), f"{base}{suffix} was not written; outputs: {sorted(out.iterdir())}"
    assert not list(out.glob(".*.part*")), "a partial file was left behind"
    clip = HumanoidClip.load_json(f"{base}.json")
    assert len(clip.bones) == (52 if "--hands" in extra else 22)
    return base, clip, extra


@pytest.mark.slow
def test_glb_passes_validator(generated) -> None:
    base, clip, _ = generated
    (report,) = validate(Path(f"{base}.glb"))
    assert report["errors"] == 0, report["messages"]
    back = gltf_export.read_glb_clip(f"{base}.glb")
    assert back.bones == clip.bones and back.frame_count == clip.frame_count
    assert rotation_error(back.rotations, clip.rotations) < 1e-6
    np.testing.assert_allclose(back.hips, clip.hips, atol=1e-5)


@pytest.mark.slow
def test_json_round_trips_exactly(generated, tmp_path: Path) -> None:
    base, clip, _ = generated
    assert len(clip.bones) >= 22 and clip.frame_count > 10
    again = tmp_path / "again.json"
    clip.save_json(again)
    assert again.read_bytes() == Path(f"{base}.json").read_bytes()
    back = HumanoidClip.load_json(again)
    for name in ("rest_offsets", "hips", "rotations", "contacts", "confidence"):
        assert np.array_equal(getattr(back, name), getattr(clip, name)), name


@pytest.mark.slow
def test_foot_locking_snaps_no_knee_straight(generated) -> None:
    """Foot locking does not pull a bent knee straight to reach a pin: clamped at full reach, the run's and the
    basketball's knees went from 36-47 degrees to under 2 in a frame or two (and popped back), where the
    generator had them bent (ik's soft reach). The stages rerun here on the run's own landmarks."""
    base, clip, extra = generated
    cleaned = clean.clean(Landmarks.load(f"{base}.landmarks.npz"))
    options = GenerateOptions(hands="--hands" in extra)
    smoothed = smooth.smooth_clip(generate_clip(cleaned, options), options.smoothing)
    refined, _ = refine.refine(smoothed, cleaned, options)
    assert np.allclose(refined.rotations, clip.rotations, atol=1e-6)  # the stages as the command ran them
    for bone in ("LeftLowerLeg", "RightLowerLeg"):
        i, hinge = clip.index(bone), limits.HINGES[bone]
        before = np.degrees(limits.hinge_angles(smoothed.rotations[:, i], hinge)[0])
        after = np.degrees(limits.hinge_angles(refined.rotations[:, i], hinge)[0])
        snapped = (after < 3.0) & (before > 15.0)
        assert not snapped.any(), (bone, np.flatnonzero(snapped), before[snapped], after[snapped])


@pytest.mark.slow
def test_bvh_matches_clip(generated) -> None:
    base, clip, _ = generated
    back = bvh_export.read_bvh_clip(f"{base}.bvh")
    assert back.bones == clip.bones and back.frame_count == clip.frame_count
    assert float(np.degrees(R.angle_between(back.rotations, clip.rotations)).max()) < 1e-4
    np.testing.assert_allclose(back.hips, clip.hips, atol=1e-7)


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".glb", ".bvh"])
def test_blender_imports(generated, suffix: str) -> None:
    base, clip, _ = generated
    frames = [0, clip.frame_count // 2, clip.frame_count - 1]
    result = blender_import(Path(f"{base}{suffix}"), clip.fps, frames)
    check_blender_armature(result, clip, frames, tol_m=1e-3)

