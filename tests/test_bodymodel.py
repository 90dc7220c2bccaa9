"""The body model: where the 33 BlazePose landmarks and 21 hand points sit on the HumanoidClip skeleton."""

from __future__ import annotations

import numpy as np
import pytest

from animgen_ml import bodymodel, skeleton
from animgen_ml import rotations as R
from animgen_ml.clip import empty_clip
from animgen_ml.landmarks import LM

BONES = skeleton.bone_names(True)


def test_joints_sit_on_the_skeleton_and_the_face_looks_forward():
    off = skeleton.default_rest_offsets(BONES)
    rest = bodymodel.rest_landmarks(BONES, off)
    joints = skeleton.rest_positions(skeleton.parents_of(BONES), off)
    for lm, bone in (("left_shoulder", "LeftUpperArm"), ("right_elbow", "RightLowerArm"), ("left_wrist", "LeftHand"),
                     ("right_hip", "RightUpperLeg"), ("left_knee", "LeftLowerLeg"), ("right_ankle", "RightFoot")):
        assert np.allclose(rest[LM[lm]], joints[BONES.index(bone)])
    assert rest[LM["nose"], 2] > rest[LM["left_ear"], 2]  # faces +Z
    assert rest[LM["left_ear"], 0] > 0 > rest[LM["right_ear"], 0]  # its left is +X
    # The sole (heel and toe tip) is level, just below the ankle.
    assert rest[LM["left_heel"], 1] == pytest.approx(rest[LM["left_foot_index"], 1])
    assert rest[LM["left_foot_index"], 2] > rest[LM["left_ankle"], 2] > rest[LM["left_heel"], 2]


def test_landmarks_scale_with_the_actor_and_follow_the_bones():
    off = skeleton.default_rest_offsets(BONES)
    a = bodymodel.rest_landmarks(BONES, off)
    b = bodymodel.rest_landmarks(BONES, off * 1.2)
    hc_a, hc_b = bodymodel.hip_centre(a), bodymodel.hip_centre(b)
    assert np.allclose((b - hc_b), 1.2 * (a - hc_a))
    # Turning the head turns the face points with it, rigidly.
    clip = empty_clip(BONES, 1, 30.0)
    clip.rotations[0, BONES.index("Head")] = R.from_axis_angle(np.array([0.0, 1.0, 0.0]), np.pi / 2)
    pts = bodymodel.clip_pose_landmarks(clip)[0]
    assert pts[LM["nose"], 0] > pts[LM["left_ear"], 0]  # looks toward +X (its left) now
    assert np.allclose(pts[LM["left_hip"]], a[LM["left_hip"]])


def test_mediapipe_world_conversion_and_camera_yaw():
    off = skeleton.default_rest_offsets(BONES)
    pts = bodymodel.rest_landmarks(BONES, off)[None] + np.array([0.5, 0.0, -2.0])
    mp = bodymodel.to_mediapipe_world(pts)
    assert np.allclose(bodymodel.hip_centre(mp), 0.0)
    assert mp[0, LM["left_shoulder"], 0] > 0  # the person's left is on the image's right (facing the camera)
    assert mp[0, LM["nose"], 1] < 0 and mp[0, LM["nose"], 2] < 0  # up is -y; the face is nearer the camera
    # A camera on the person's left (+X, yaw 90 degrees) sees the left shoulder nearest.
    side = bodymodel.to_mediapipe_world(pts, yaw=np.pi / 2)
    assert side[0, LM["left_shoulder"], 2] < side[0, LM["right_shoulder"], 2]
    back = bodymodel.from_mediapipe_world(side, yaw=np.pi / 2)
    assert np.allclose(back, pts - bodymodel.hip_centre(pts)[:, None])


def test_image_projection_is_a_pinhole_view():
    off = skeleton.default_rest_offsets(BONES)
    pts = bodymodel.rest_landmarks(BONES, off)[None]
    near = bodymodel.project_to_image(pts, 1280, 720, distance=3.0)
    far = bodymodel.project_to_image(pts, 1280, 720, distance=6.0)
    span = lambda im: im[0, LM["left_wrist"], 0] - im[0, LM["right_wrist"], 0]  # noqa: E731
    assert span(near) == pytest.approx(2 * span(far))  # twice as far, half as wide
    assert near[0, LM["left_wrist"], 0] > 0.5 > near[0, LM["right_wrist"], 0]
    assert near[0, LM["nose"], 1] < near[0, LM["left_ankle"], 1]  # head above the feet (y down)
    assert 0 < far[..., :2].min() and far[..., :2].max() < 1  # in frame at 6 m (at 3 m the feet are cut)
    with pytest.raises(ValueError, match="behind"):
        bodymodel.project_to_image(pts, 640, 480, distance=0.2)


def test_hand_points_follow_the_finger_bones():
    clip = empty_clip(BONES, 2, 30.0)
    pos, rot = clip.world()
    h = bodymodel.hand_landmarks_world(BONES, clip.rest_offsets, pos, rot, "Left")
    assert h.shape == (2, 21, 3)
    assert np.allclose(h[:, 0], pos[:, BONES.index("LeftHand")])
    assert np.allclose(h[:, 5], pos[:, BONES.index("LeftIndexProximal")])
    assert (h[0, 8, 0] > h[0, 7, 0] > h[0, 6, 0] > h[0, 5, 0])  # the index finger points along +X at rest
    body_only = empty_clip(skeleton.bone_names(False), 2, 30.0)
    p2, r2 = body_only.world()
    assert bodymodel.hand_landmarks_world(body_only.bones, body_only.rest_offsets, p2, r2, "Left") is None
    lm = bodymodel.landmarks_from_clip(clip)
    assert lm.left_hand.shape == (2, 21, 3) and lm.right_hand is not None and lm.detected.all()
