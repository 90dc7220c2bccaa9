"""The shared contracts: skeleton, rotations, HumanoidClip JSON, Landmarks npz, options, generated code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from animgen_ml import rotations as R
from animgen_ml import skeleton
from animgen_ml.clip import HumanoidClip, empty_clip
from animgen_ml.errors import InputError
from animgen_ml.landmarks import MIRROR, POSE_LANDMARKS, Landmarks
from animgen_ml.pipeline import GenerateOptions

REPO = Path(__file__).resolve().parents[1]
rng = np.random.default_rng(0)


def random_quats(shape: tuple[int, ...]) -> np.ndarray:
    return R.normalize(rng.normal(size=shape + (4,)))


def test_skeleton_order_and_rest_pose() -> None:
    bones = skeleton.bone_names(fingers=True)
    assert len(skeleton.BODY_BONES) == 22 and len(bones) == 52
    parents = skeleton.parents_of(bones)
    assert parents[0] == -1 and all(parents[i] < i for i in range(1, len(bones)))
    pos = skeleton.rest_positions(parents, skeleton.default_rest_offsets(bones))
    at = {b: pos[i] for i, b in enumerate(bones)}
    # T-pose in glTF space: left arm along +X, legs down -Y, toes forward +Z, left/right mirror images.
    assert at["LeftHand"][0] > at["LeftLowerArm"][0] > at["LeftUpperArm"][0] > 0
    assert at["LeftFoot"][1] < at["LeftLowerLeg"][1] < at["LeftUpperLeg"][1]
    assert at["LeftToes"][2] > at["LeftFoot"][2]
    for b in bones:
        if b.startswith("Left"):
            np.testing.assert_allclose(at[b] * [-1, 1, 1], at["Right" + b[4:]])
    with pytest.raises(ValueError, match="Neck"):
        skeleton.parents_of(["Hips", "Head"])


def test_quaternions_from_matrices_in_every_case_and_shape() -> None:
    # Shepperd's four cases (w, x, y or z the largest) and their edges: half turns about each axis, near-half turns,
    # and the shapes a caller passes (one matrix, none, a batch of batches).
    half = np.array([[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    near = R.normalize(half + 1e-7 * random_quats((4,)))
    for q in (half, near, random_quats((3, 5))):
        got = R.from_matrix(R.to_matrix(q))
        assert got.shape == q.shape
        np.testing.assert_allclose(np.abs(np.sum(got * q, -1)), 1.0, atol=1e-12)
    np.testing.assert_allclose(R.from_matrix(np.eye(3)), [0, 0, 0, 1])
    assert R.from_matrix(np.zeros((0, 3, 3))).shape == (0, 4)


def test_rotation_round_trips() -> None:
    q = random_quats((100,))
    np.testing.assert_allclose(np.abs(np.sum(R.from_matrix(R.to_matrix(q)) * q, -1)), 1.0, atol=1e-9)
    np.testing.assert_allclose(np.abs(np.sum(R.from_6d(R.to_6d(q)) * q, -1)), 1.0, atol=1e-9)
    v = rng.normal(size=(100, 3))
    np.testing.assert_allclose(R.apply(q, v), np.einsum("nij,nj->ni", R.to_matrix(q), v), atol=1e-9)
    aa = R.to_axis_angle(q)
    back = R.from_axis_angle(aa, np.linalg.norm(aa, axis=-1))
    np.testing.assert_allclose(R.angle_between(q, back), 0.0, atol=1e-6)
    u, w = rng.normal(size=(100, 3)), rng.normal(size=(100, 3))
    turned = R.apply(R.between(u, w), u / np.linalg.norm(u, axis=-1, keepdims=True))
    np.testing.assert_allclose(turned, w / np.linalg.norm(w, axis=-1, keepdims=True), atol=1e-9)
    np.testing.assert_allclose(R.apply(R.between(u, -u), u), -u, atol=1e-9)
    # One direction against many, some of them opposite (the solver's rest axis against a folded-back forearm):
    # it had failed to broadcast on the half-turn branch.
    axis = np.array([1.0, 0.0, 0.0])
    targets = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [-1.0, 1e-6, 0.0]])
    np.testing.assert_allclose(R.apply(R.between(axis, targets), np.broadcast_to(axis, (3, 3))),
                               targets / np.linalg.norm(targets, axis=-1, keepdims=True), atol=1e-6)


def test_make_continuous_removes_sign_flips() -> None:
    q = R.slerp(R.identity((50,)), R.from_axis_angle([0, 1, 0], np.pi * 0.9), np.linspace(0, 1, 50))
    flipped = q * np.where(np.arange(50) % 2 == 0, 1, -1)[:, None]
    fixed = R.make_continuous(flipped)
    assert np.all(np.sum(fixed[1:] * fixed[:-1], -1) > 0)
    np.testing.assert_allclose(R.angle_between(fixed, q), 0.0, atol=1e-6)


def test_forward_kinematics_matches_rotated_rest() -> None:
    bones = skeleton.bone_names()
    clip = empty_clip(bones, 3, 30.0)
    turn = R.from_axis_angle([0, 1, 0], np.pi / 2)  # the whole body turned 90 degrees about +Y
    clip.rotations[:, 0] = turn
    pos, rot = clip.world()
    rest = skeleton.rest_positions(clip.parents, clip.rest_offsets)
    expected = R.apply(turn, rest - rest[0]) + rest[0]
    np.testing.assert_allclose(pos[1], expected, atol=1e-9)
    np.testing.assert_allclose(R.angle_between(rot[2], np.broadcast_to(turn, rot[2].shape)), 0, atol=1e-9)


def test_clip_json_round_trip_is_exact(tmp_path: Path) -> None:
    bones = skeleton.bone_names(fingers=True)
    T = 7
    clip = HumanoidClip(
        bones=bones, rest_offsets=skeleton.default_rest_offsets(bones), fps=29.97,
        hips=rng.normal(size=(T, 3)), rotations=random_quats((T, len(bones))),
        contacts=rng.random((T, 2)) > 0.5, confidence=rng.random((T, len(bones))),
        root_motion=rng.normal(size=(T, 3)), name="walk", metadata={"generator": "analytic"},
    )
    clip.save_json(tmp_path / "c.json")
    back = HumanoidClip.load_json(tmp_path / "c.json")
    assert back.bones == clip.bones and back.fps == clip.fps and back.metadata == clip.metadata
    for name in ("rest_offsets", "hips", "rotations", "contacts", "confidence", "root_motion"):
        assert np.array_equal(getattr(back, name), getattr(clip, name)), name


def test_clip_rejects_bad_shapes() -> None:
    clip = empty_clip(skeleton.bone_names(), 4, 30.0)
    with pytest.raises(ValueError, match="rotations"):
        HumanoidClip(clip.bones, clip.rest_offsets, 30.0, clip.hips, clip.rotations[:, :5], clip.contacts,
                     clip.confidence)


def test_landmarks_npz_round_trip(tmp_path: Path) -> None:
    T = 5
    lm = Landmarks(times=np.arange(T) / 30, image=rng.random((T, 33, 3)), world=rng.normal(size=(T, 33, 3)),
                   visibility=rng.random((T, 33)), detected=np.array([1, 1, 0, 1, 1], bool), width=640,
                   height=480, source="v.mp4", left_hand=rng.random((T, 21, 3)))
    lm.save(tmp_path / "l.npz")
    back = Landmarks.load(tmp_path / "l.npz")
    assert back.width == 640 and back.source == "v.mp4" and back.right_hand is None
    assert back.left_hand is not None and lm.left_hand is not None
    assert np.array_equal(back.world, lm.world) and np.array_equal(back.left_hand, lm.left_hand)
    # The video's own rate goes with them: a single frame has no interval to measure one from.
    still = Landmarks(times=np.zeros(1), image=lm.image[:1], world=lm.world[:1], visibility=lm.visibility[:1],
                      detected=lm.detected[:1], width=640, height=480, rate=12.0)
    still.save(tmp_path / "s.npz")
    assert Landmarks.load(tmp_path / "s.npz").fps == 12.0 and lm.fps == 30.0
    np.savez(tmp_path / "old.npz", **{k: v for k, v in np.load(tmp_path / "s.npz").items() if k != "rate"})
    assert Landmarks.load(tmp_path / "old.npz").fps == 30.0  # written before the rate was kept: the default
    assert POSE_LANDMARKS[MIRROR[POSE_LANDMARKS.index("left_knee")]] == "right_knee"
    assert np.array_equal(MIRROR[MIRROR], np.arange(33))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (GenerateOptions(smoothing=2.0), "smoothing"),
        (GenerateOptions(start=3.0, end=1.0), "--end"),
        (GenerateOptions(generator="magic"), "generator"),
        (GenerateOptions(formats=("fbx",)), "fbx"),
        (GenerateOptions(target="/nonexistent/character.glb"), "character.glb"),
    ],
)
def test_bad_options_are_named(options: GenerateOptions, message: str) -> None:
    with pytest.raises(InputError, match=message):
        options.validate()


def test_generated_python_matches_protos(tmp_path: Path) -> None:
    """The committed Python code under server/animgen/v1 is what protos/ generates."""
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{REPO / 'protos'}", f"--python_out={tmp_path}",
         f"--pyi_out={tmp_path}", f"--grpc_python_out={tmp_path}",
         "animgen/v1/clip.proto", "animgen/v1/service.proto"],
        check=True, cwd=REPO,
    )
    for f in sorted((tmp_path / "animgen" / "v1").iterdir()):
        committed = REPO / "server" / "animgen" / "v1" / f.name
        assert committed.read_bytes() == f.read_bytes(), f"{committed} differs from protos/: run make codegen"
