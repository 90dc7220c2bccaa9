"""Headless Blender imports the exported .glb and .bvh: an armature with the body bones, an action as long as
the clip, and bone heads where the clip's forward kinematics puts the joints."""

from __future__ import annotations

from pathlib import Path

import pytest
from export_helpers import blender_import, check_blender_armature, make_clip

from animgen_ml import bvh_export, gltf_export

FRAMES = [0, 13, 39]


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".glb", ".bvh"])
def test_blender_imports_clip(tmp_path: Path, suffix: str) -> None:
    clip = make_clip(frames=40, fps=29.97)  # NTSC: Blender's scene rate is an integer plus a base
    path = tmp_path / f"clip{suffix}"
    (gltf_export.write_glb if suffix == ".glb" else bvh_export.write_bvh)(clip, path)
    result = blender_import(path, clip.fps, FRAMES)
    assert len(result["armatures"][0]["bones"]) == 22
    check_blender_armature(result, clip, FRAMES, tol_m=1e-4)


@pytest.mark.slow
def test_blender_imports_glb_with_fingers(tmp_path: Path) -> None:
    clip = make_clip(frames=12, fps=24.0, fingers=True)
    path = tmp_path / "hands.glb"
    gltf_export.write_glb(clip, path)
    result = blender_import(path, clip.fps, [5])
    assert len(result["armatures"][0]["bones"]) == 52
    check_blender_armature(result, clip, [5], tol_m=1e-4)
