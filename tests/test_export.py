"""Export: .glb (Khronos validator, read back), .bvh (round trip), .json (exact), write_outputs and atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from export_helpers import make_clip, rotation_error, three_import, validate

from animgen_ml import bvh_export, export, gltf_export
from animgen_ml import rotations as R
from animgen_ml.clip import HumanoidClip
from animgen_ml.landmarks import Landmarks
from animgen_ml.pipeline import GenerateOptions


@pytest.mark.parametrize("fingers", [False, True])
def test_glb_passes_khronos_validator_and_reads_back(tmp_path: Path, fingers: bool) -> None:
    clip = make_clip(fingers=fingers)
    path = tmp_path / "clip.glb"
    gltf_export.write_glb(clip, path)
    (report,) = validate(path)
    assert report["errors"] == 0, report["messages"]
    assert report["warnings"] == 0, report["messages"]

    back = gltf_export.read_glb_clip(path)
    assert back.bones == clip.bones
    assert back.fps == clip.fps and back.frame_count == clip.frame_count
    np.testing.assert_array_equal(back.rest_offsets, clip.rest_offsets)
    assert rotation_error(back.rotations, clip.rotations) < 1e-6
    np.testing.assert_allclose(back.hips, clip.hips, atol=1e-6)


def test_glb_per_channel_keys(tmp_path: Path) -> None:
    """With reduced keys each channel keeps its own frames; reading back interpolates between them."""
    clip = make_clip(frames=31)
    keys = {"Hips.t": np.arange(0, 31, 5), "Hips.r": np.arange(0, 31, 2), "LeftUpperArm.r": np.array([10])}
    path = tmp_path / "keys.glb"
    gltf_export.write_glb(clip, path, keys=keys)
    (report,) = validate(path)
    assert report["errors"] == 0, report["messages"]

    import pygltflib

    g = pygltflib.GLTF2().load(str(path))
    anim = g.animations[0]
    counts = {(g.nodes[c.target.node].name, c.target.path): g.accessors[anim.samplers[c.sampler].input].count
              for c in anim.channels}
    assert counts[("Hips", "translation")] == 7  # 0, 5, ..., 30
    assert counts[("Hips", "rotation")] == 16
    assert counts[("LeftUpperArm", "rotation")] == 3  # frame 10 plus the first and the last
    assert counts[("Spine", "rotation")] == 31

    back = gltf_export.read_glb_clip(path)
    kept = np.arange(0, 31, 2)
    hips_r = clip.index("Hips")
    assert rotation_error(back.rotations[kept, hips_r], clip.rotations[kept, hips_r]) < 1e-6
    np.testing.assert_allclose(back.hips[::5], clip.hips[::5], atol=1e-6)
    # Between keys: the linear interpolation of the kept keys.
    np.testing.assert_allclose(back.hips[2], 0.6 * clip.hips[0] + 0.4 * clip.hips[5], atol=1e-6)
    arm = clip.index("LeftUpperArm")
    mid = R.slerp(clip.rotations[0, arm], clip.rotations[10, arm], 0.5)
    assert rotation_error(back.rotations[5, arm], mid) < 1e-6


def test_bvh_round_trip(tmp_path: Path) -> None:
    clip = make_clip(fingers=True, fps=29.97)
    path = tmp_path / "clip.bvh"
    bvh_export.write_bvh(clip, path)
    text = path.read_text()
    head, motion = text.split("MOTION\n")
    assert head.count("JOINT ") + head.count("ROOT ") == len(clip.bones)
    assert "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation" in head
    rows = motion.strip().splitlines()[2:]
    assert len(rows) == clip.frame_count
    assert all(len(r.split()) == 6 + 3 * (len(clip.bones) - 1) for r in rows)

    back = bvh_export.read_bvh_clip(path)
    assert back.bones == clip.bones
    assert back.fps == pytest.approx(clip.fps, rel=1e-8)
    # The root's OFFSET is zero (its channels are its position in every reader's reading); the rest are the clip's.
    assert not back.rest_offsets[0].any()
    np.testing.assert_allclose(back.rest_offsets[1:], clip.rest_offsets[1:], atol=1e-8)
    np.testing.assert_allclose(back.hips, clip.hips, atol=1e-7)
    assert float(np.degrees(R.angle_between(back.rotations, clip.rotations)).max()) < 1e-5


@pytest.mark.parametrize("suffix", [".bvh", ".glb"])
def test_three_js_plays_the_clip_where_it_is(tmp_path: Path, suffix: str) -> None:
    """three.js's BVHLoader and GLTFLoader, as a web viewer uses them, put every joint where the clip's forward
    kinematics does. Its BVHLoader adds the root's channels to its OFFSET (Blender replaces the OFFSET): with the hips'
    rest offset written there, the whole body floated one hip height above the floor."""
    clip = make_clip(frames=40, fps=29.97)
    path = tmp_path / f"clip{suffix}"
    (gltf_export.write_glb if suffix == ".glb" else bvh_export.write_bvh)(clip, path)
    frames = [0, 13, 39]
    got = three_import(path, [f / clip.fps for f in frames])
    assert got["duration"] == pytest.approx((clip.frame_count - 1) / clip.fps, abs=1e-5)
    unit = bvh_export.CM_PER_M if suffix == ".bvh" else 1.0
    pos, _ = clip.world()
    for f, heads in zip(frames, got["heads"], strict=True):
        err = np.linalg.norm(np.array([heads[b] for b in clip.bones]) / unit - pos[f], axis=-1)
        assert err.max() < 1e-4, f"frame {f}: {clip.bones[int(err.argmax())]} is {err.max():.3f} m off"


def test_euler_zxy_including_gimbal_lock() -> None:
    rng = np.random.default_rng(1)
    q = R.normalize(rng.normal(size=(500, 4)))
    locked = bvh_export.euler_to_quat(np.array([[0.4, np.pi / 2, -0.3], [1.0, -np.pi / 2, 2.0]]), "ZXY")
    q = np.concatenate([q, locked])
    back = bvh_export.euler_to_quat(bvh_export.quat_to_euler_zxy(q), "ZXY")
    assert float(R.angle_between(q, back).max()) < 1e-7
    # The order is Rz @ Rx @ Ry: check against matrices built by hand.
    z, x, y = 0.3, -0.5, 1.1
    rz = np.array([[np.cos(z), -np.sin(z), 0], [np.sin(z), np.cos(z), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(x), -np.sin(x)], [0, np.sin(x), np.cos(x)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    np.testing.assert_allclose(R.to_matrix(bvh_export.euler_to_quat(np.array([z, x, y]), "ZXY")), rz @ rx @ ry,
                               atol=1e-12)


def test_json_round_trips_exactly(tmp_path: Path) -> None:
    clip = make_clip(fingers=True)
    clip.root_motion = clip.hips * [1.0, 0.0, 1.0]
    path = tmp_path / "clip.json"
    clip.save_json(path)
    back = HumanoidClip.load_json(path)
    assert back.bones == clip.bones and back.name == clip.name and back.metadata == clip.metadata
    assert back.fps == clip.fps
    for name in ("rest_offsets", "hips", "rotations", "contacts", "confidence", "root_motion"):
        assert np.array_equal(getattr(back, name), getattr(clip, name)), name


def make_landmarks(frames: int, seed: int = 0) -> Landmarks:
    rng = np.random.default_rng(seed)
    detected = rng.random(frames) > 0.2
    world = rng.normal(size=(frames, 33, 3))
    world[~detected] = np.nan
    return Landmarks(times=np.arange(frames) / 30.0, image=rng.random((frames, 33, 3)), world=world,
                     visibility=rng.random((frames, 33)), detected=detected, width=480, height=352,
                     source="synthetic.mp4")


def test_write_outputs_names_and_contents(tmp_path: Path) -> None:
    clip = make_clip(frames=20)
    landmarks = make_landmarks(20)
    base = tmp_path / "out" / "my.video"  # a dot in the stem must survive
    options = GenerateOptions(formats=("glb", "bvh", "json", "npz"))
    files = export.write_outputs(clip, landmarks, base, options, None, {"pose": 1.0}, [])
    assert files == {"glb": tmp_path / "out" / "my.video.glb", "bvh": tmp_path / "out" / "my.video.bvh",
                     "json": tmp_path / "out" / "my.video.json", "npz": tmp_path / "out" / "my.video.landmarks.npz"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in files.values())
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in files.values())  # not mkstemp's private 0600
    assert gltf_export.read_glb_clip(files["glb"]).frame_count == 20
    assert bvh_export.read_bvh_clip(files["bvh"]).frame_count == 20
    assert np.array_equal(HumanoidClip.load_json(files["json"]).rotations, clip.rotations)
    lm = Landmarks.load(files["npz"])
    assert np.array_equal(lm.world, landmarks.world, equal_nan=True)
    assert np.array_equal(lm.detected, landmarks.detected) and lm.source == landmarks.source


def test_failing_write_keeps_the_old_file(tmp_path: Path) -> None:
    base = tmp_path / "clip"
    good = make_clip(frames=10)
    export.write_outputs(good, make_landmarks(10), base, GenerateOptions(formats=("glb", "json")), None, {}, [])
    old_glb = (tmp_path / "clip.glb").read_bytes()
    old_json = (tmp_path / "clip.json").read_bytes()

    # A clip with no frames cannot be written as glTF (an animation needs keys): the glb write fails.
    empty = HumanoidClip(bones=good.bones, rest_offsets=good.rest_offsets, fps=30.0, hips=np.zeros((0, 3)),
                         rotations=np.zeros((0, len(good.bones), 4)), contacts=np.zeros((0, 2), bool),
                         confidence=np.zeros((0, len(good.bones))))
    with pytest.raises(ValueError, match="no frames"):
        export.write_outputs(empty, make_landmarks(0), base, GenerateOptions(formats=("glb", "json")), None, {}, [])
    assert (tmp_path / "clip.glb").read_bytes() == old_glb
    assert (tmp_path / "clip.json").read_bytes() == old_json  # glb comes first: json was never touched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.glb", "clip.json"]  # no .part file left behind


def test_interrupted_write_keeps_the_old_file(tmp_path: Path) -> None:
    """A write that dies half way (here: after writing half the bytes) leaves the old file as it was."""
    from animgen_ml.files import atomic_path

    path = tmp_path / "clip.glb"
    gltf_export.write_glb(make_clip(frames=5), path)
    old = path.read_bytes()
    with pytest.raises(OSError), atomic_path(path) as tmp:
        gltf_export.write_glb(make_clip(frames=50), tmp)
        data = tmp.read_bytes()
        tmp.write_bytes(data[: len(data) // 2])
        raise OSError("disk full")
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["clip.glb"]


def test_glb_rotations_keep_one_hemisphere(tmp_path: Path) -> None:
    """q and -q are one rotation, but importers that interpolate components (Blender's fcurves) would swing
    through zero between them: the glb stores every channel sign-continuous."""
    clip = make_clip(frames=20)
    clip.rotations[1::2] *= -1  # the same motion, every other frame sign-flipped
    path = tmp_path / "flips.glb"
    gltf_export.write_glb(clip, path)
    back = gltf_export.read_glb_clip(path)
    assert rotation_error(back.rotations, clip.rotations) < 1e-6
    assert (np.sum(back.rotations[1:] * back.rotations[:-1], axis=-1) > 0).all()


@pytest.mark.parametrize("writer", [gltf_export.write_glb, bvh_export.write_bvh])
def test_clip_with_nan_is_refused(tmp_path: Path, writer) -> None:
    clip = make_clip(frames=10)
    clip.rotations[4, 3] = np.nan
    with pytest.raises(ValueError, match="frame 4"):
        writer(clip, tmp_path / "nan.out")


def key_count(path: Path) -> int:
    import pygltflib

    g = pygltflib.GLTF2().load(str(path))
    return sum(g.accessors[s.input].count for s in g.animations[0].samplers)


def test_write_outputs_reduces_keys_within_tolerance(tmp_path: Path) -> None:
    """With keyframe tolerances the glb keeps fewer keys, and plays back within them (keyframes.reduce_keys)."""
    clip = make_clip(frames=90)
    options = GenerateOptions(formats=("glb",), keyframe_tolerance_degrees=2.0, keyframe_tolerance_mm=2.0)
    full = export.write_outputs(clip, make_landmarks(90), tmp_path / "full", GenerateOptions(), None, {}, [])
    reduced = export.write_outputs(clip, make_landmarks(90), tmp_path / "reduced", options, None, {}, [])
    (report,) = validate(reduced["glb"])
    assert report["errors"] == 0, report["messages"]
    assert reduced["glb"].stat().st_size < 0.8 * full["glb"].stat().st_size
    assert key_count(reduced["glb"]) < 0.5 * key_count(full["glb"])
    back = gltf_export.read_glb_clip(reduced["glb"])
    assert back.frame_count == clip.frame_count
    assert float(np.degrees(R.angle_between(back.rotations, clip.rotations)).max()) < 2.0 + 1e-3
    assert float(np.linalg.norm(back.hips - clip.hips, axis=-1).max()) < 0.002 + 1e-6


def test_single_frame_and_meshless_glb(tmp_path: Path) -> None:
    one, bare = tmp_path / "one.glb", tmp_path / "bare.glb"
    gltf_export.write_glb(make_clip(frames=1), one)
    gltf_export.write_glb(make_clip(frames=5), bare, mesh=False)
    r_one, r_bare = validate(one, bare)
    assert r_one["errors"] == 0 and r_bare["errors"] == 0, (r_one["messages"], r_bare["messages"])
    assert gltf_export.read_glb_clip(one).frame_count == 1
    assert gltf_export.read_glb_clip(bare).frame_count == 5


def test_a_name_near_the_file_system_limit_is_written(tmp_path: Path) -> None:
    """The temporary file beside an output is named shortly, so an output whose name is near the 255-byte limit
    (here 80 three-byte characters and .glb: 244 bytes) can still be written."""
    from animgen_ml.files import atomic_path

    path = tmp_path / ("走" * 80 + ".glb")
    with atomic_path(path) as tmp:
        tmp.write_bytes(b"glb")
    assert path.read_bytes() == b"glb" and [p.name for p in tmp_path.iterdir()] == [path.name]
