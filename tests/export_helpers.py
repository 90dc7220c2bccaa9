"""Helpers shared by the export, Blender and end-to-end tests: a moving test clip, the real external readers
(the Khronos glTF validator under node, headless Blender), and a character whose skeleton maps onto no humanoid."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, require_tool

from animgen_ml import rotations as R
from animgen_ml import skeleton
from animgen_ml.clip import HumanoidClip

VALIDATE = REPO / "tests" / "tools" / "validate_gltf.mjs"
BLENDER_IMPORT = REPO / "tests" / "tools" / "blender_import.py"
THREE_IMPORT = REPO / "tests" / "tools" / "three_import.mjs"
BODY_BONES = list(skeleton.BODY_BONES)


def make_clip(frames: int = 30, fingers: bool = False, fps: float = 30.0, seed: int = 0) -> HumanoidClip:
    """A moving clip: smooth random rotations up to ~70 degrees per bone, a walking Hips path."""
    rng = np.random.default_rng(seed)
    bones = skeleton.bone_names(fingers)
    B = len(bones)
    t = np.arange(frames)[:, None] / fps
    axes = rng.normal(size=(B, 3))
    phase = rng.uniform(0, 2 * np.pi, size=B)
    angles = 1.2 * np.sin(2 * np.pi * 0.7 * t + phase)  # (T, B)
    rot = R.from_axis_angle(np.broadcast_to(axes, (frames, B, 3)), angles)
    offsets = skeleton.default_rest_offsets(bones)
    hips = offsets[0] + np.concatenate([0.05 * np.sin(6 * t), 0.03 * np.cos(12 * t), 1.2 * t], axis=1)
    return HumanoidClip(bones=bones, rest_offsets=offsets, fps=fps, hips=hips, rotations=rot,
                        contacts=rng.random((frames, 2)) > 0.5, confidence=rng.random((frames, B)),
                        name="test_clip", metadata={"source": "synthetic"})


def validate(*paths: Path) -> list[dict]:
    """The Khronos glTF validator's report per file: errors, warnings, infos, messages."""
    node = require_tool("node")
    if not (REPO / "build" / "node" / "node_modules" / "gltf-validator" / "package.json").is_file():
        pytest.fail("the Khronos glTF validator is not installed: run `make system-deps`")
    proc = subprocess.run([node, str(VALIDATE), *map(str, paths)], capture_output=True, text=True, timeout=120)
    reports = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(reports) == len(paths), proc.stderr
    return reports


def three_import(path: Path, times: list[float]) -> dict:
    """Load a .bvh or .glb with three.js's loaders and play it (tests/tools/three_import.mjs): its duration and, per
    given time, the bones' world positions, in the file's units."""
    node = require_tool("node")
    if not (REPO / "build" / "node" / "node_modules" / "three" / "package.json").is_file():
        pytest.fail("three.js is not installed: run `make system-deps`")
    proc = subprocess.run([node, str(THREE_IMPORT), str(path), ",".join(map(str, times))], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def rotation_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest difference between two quaternion arrays, insensitive to the sign (q and -q are one rotation)."""
    return float(np.max(np.minimum(np.abs(a - b).max(-1), np.abs(a + b).max(-1))))


def blender_import(path: Path, fps: float, frames: list[int]) -> dict:
    """Import a .glb or .bvh (centimetres) in headless Blender; what it built (see tests/tools/blender_import.py)."""
    blender = require_tool("blender")
    cmd = [blender, "-b", "--factory-startup", "--python", str(BLENDER_IMPORT), "--", str(path), "--fps", str(fps),
           "--bvh-scale", "0.01", "--frames", ",".join(map(str, frames))]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"Blender failed on {path}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1][len("RESULT "):])


def check_blender_armature(result: dict, clip: HumanoidClip, frames: list[int], tol_m: float) -> None:
    """One armature with the clip's body bones, an action spanning the clip, and bone heads where FK puts the
    joints at the sampled frames (Blender is Z up: glTF (x, y, z) = Blender (x, z, -y))."""
    (arm,) = result["armatures"]
    assert set(BODY_BONES) <= set(arm["bones"]), sorted(set(BODY_BONES) - set(arm["bones"]))
    assert len(arm["bones"]) == len(clip.bones)
    start, end = arm["action"]["frame_range"]
    # Blender keys at frame = time * scene fps; the action spans the clip's duration between first and last frame.
    assert (end - start) / result["scene_fps"] == pytest.approx((clip.frame_count - 1) / clip.fps, abs=0.5 / clip.fps)
    pos, _ = clip.world()
    for f in frames:
        heads = arm["heads"][str(f)]
        got = np.array([[heads[b][0], heads[b][2], -heads[b][1]] for b in clip.bones])
        err = np.linalg.norm(got - pos[f], axis=-1)
        assert err.max() < tol_m, f"frame {f}: {clip.bones[int(err.argmax())]} is {err.max():.4f} m off"


def anonymous_xbot(src: Path, out: Path, lying: bool = False) -> Path:
    """The Xbot (src) with its bones named bone_0, bone_1, ... (no naming convention to go by) and, lying, its
    armature turned 90 degrees about X so that its rest pose does not stand either: no humanoid can be found in it."""
    import pygltflib

    g = pygltflib.GLTF2().load(str(src))
    joints = g.skins[0].joints
    for k, j in enumerate(joints):
        g.nodes[j].name = f"bone_{k}"
    if lying:
        parent = {c: i for i, n in enumerate(g.nodes) for c in (n.children or [])}
        root = joints[0]
        while root in parent:
            root = parent[root]
        turn = R.from_axis_angle([1.0, 0.0, 0.0], np.pi / 2)
        g.nodes[root].rotation = R.multiply(turn, np.asarray(g.nodes[root].rotation or R.identity())).tolist()
    g.save_binary(str(out))
    return out


def as_vrm(src: Path, out: Path, bone_nodes: dict[str, int], version: str = "1.0") -> Path:
    """The glTF character src made a VRM avatar: its humanoid bones (HumanBodyBones name -> node index) named in a
    VRM 1.0 ("VRMC_vrm") or 0.x ("VRM", a list; the thumb's bones named as Unity names them) extension."""
    import pygltflib

    from animgen_ml import vrm

    g = pygltflib.GLTF2().load(str(src))
    if version == "1.0":
        g.extensions = {vrm.VRM1: {"specVersion": "1.0", "meta": {
            "name": out.stem, "authors": ["AnimGen tests"], "licenseUrl": "https://vrm.dev/licenses/1.0/"},
            "humanoid": {"humanBones": {vrm.vrm_name(b): {"node": n} for b, n in bone_nodes.items()}}}}
    else:
        g.extensions = {vrm.VRM0: {"specVersion": "0.0", "meta": {"title": out.stem}, "humanoid": {"humanBones": [
            {"bone": b[0].lower() + b[1:], "node": n, "useDefaultValues": True} for b, n in bone_nodes.items()]}}}
    g.extensionsUsed = sorted(g.extensions)
    g.save_binary(str(out))
    return out


def vrm_play(avatar: Path, animation: Path | None, times: list[float]) -> dict:
    """Play a .vrma (or with None, the avatar file's own glTF animation) on a VRM avatar with pixiv's three-vrm
    (tests/tools/vrm_play.mjs): the clip's duration and, per given time, the avatar's humanoid bones' world
    positions keyed by VRM 1.0 bone name."""
    node = require_tool("node")
    if not (REPO / "build" / "node" / "node_modules" / "@pixiv" / "three-vrm-animation" / "package.json").is_file():
        pytest.fail("three-vrm is not installed: run `make system-deps`")
    tool = REPO / "tests" / "tools" / "vrm_play.mjs"
    proc = subprocess.run([node, str(tool), str(avatar), str(animation or "embedded"), ",".join(map(str, times))],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])
