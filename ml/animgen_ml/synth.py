"""MediaPipe-like landmarks synthesised from a HumanoidClip: the training input of the network.

The 33 BlazePose points hang from the skeleton (bodymodel.py) with a per-sequence offset error; a random camera
(yaw all round, pitch from its height, roll, distance, field of view, portrait or landscape, sometimes orbiting)
projects them to the image; the world view is hip-centred and camera-aligned (x right, y down, z away). Then
MediaPipe's errors as fitted to its real output on rendered takes (noise.py: the world frame leaning with the
camera's pitch, scale, per-landmark bias, slow and jitter errors in world and image, visibility), and its
failures: dropped points (low visibility, wild values), dropped frames (bridged as clean.py bridges them), short
left/right swaps, and limbs out of frame with low visibility.

The targets live in the camera's yaw frame: glTF axes turned about +Y so that the camera sits on +Z. In that
frame MediaPipe's world points are (X, -Y, -Z) up to the camera's pitch and roll, as the common brief says.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from animgen_ml import bodymodel
from animgen_ml import noise as noise_model
from animgen_ml import rotations as R
from animgen_ml.clip import HumanoidClip
from animgen_ml.landmarks import LM, MIRROR, Landmarks

_UP = np.array([0.0, 1.0, 0.0])
_ARM_LEG_GROUPS = [np.arange(11, 23), np.arange(23, 33)]
_LIMB_POINTS = np.arange(13, 33)


@dataclass
class Camera:
    yaw: float  # radians about +Y: where the camera stands seen from the person (0 = in front, on +Z)
    yaw_rate: float  # radians per second (an orbiting camera)
    distance: float  # metres from the person's mean hip position
    height: float  # metres above the ground
    look_height: float  # metres: the height it aims at
    roll: float  # radians
    fov: float  # horizontal-or-vertical field of view on the long side, radians
    width: int
    height_px: int
    centre: tuple[float, float] | None = None  # glTF (x, z) it orbits and aims at; None: the clip's mean hips

    @property
    def pitch(self) -> float:
        """Radians below the horizon at which it looks."""
        return float(np.arctan2(self.height - self.look_height, self.distance))


def random_camera(rng: np.random.Generator) -> Camera:
    portrait = rng.random() < 0.3
    w, h = (480, 640) if portrait else (640, 480)
    return Camera(
        yaw=float(rng.uniform(0, 2 * np.pi)),
        yaw_rate=float(rng.normal(0, 0.25)) if rng.random() < 0.3 else 0.0,
        distance=float(rng.uniform(2.5, 7.0)),
        height=float(rng.uniform(0.4, 2.2)),
        look_height=float(rng.uniform(0.6, 1.2)),
        roll=float(rng.normal(0, np.radians(3))),
        fov=float(np.radians(rng.uniform(40, 75))),
        width=w, height_px=h,
    )


def mirror_clip(clip: HumanoidClip) -> HumanoidClip:
    """The clip mirrored across the YZ plane, left and right bones exchanged: free extra training data."""
    swap = [clip.bones.index(b.replace("Left", "@").replace("Right", "Left").replace("@", "Right"))
            for b in clip.bones]
    rot = clip.rotations[:, swap] * np.array([1.0, -1.0, -1.0, 1.0])
    off = clip.rest_offsets[swap] * np.array([-1.0, 1.0, 1.0])
    return HumanoidClip(bones=list(clip.bones), rest_offsets=off, fps=clip.fps,
                        hips=clip.hips * np.array([-1.0, 1.0, 1.0]), rotations=rot,
                        contacts=clip.contacts[:, ::-1].copy(), confidence=clip.confidence[:, swap],
                        name=clip.name + "-mirror", metadata=dict(clip.metadata))


def camera_frames(cam: Camera, T: int, fps: float) -> np.ndarray:
    """(T,) camera yaw per frame."""
    return cam.yaw + cam.yaw_rate * np.arange(T) / fps


def camera_axes(cpos: np.ndarray, target: np.ndarray, roll: np.ndarray | float = 0.0) -> np.ndarray:
    """(..., 3, 3) camera axes as columns (OpenCV: x right, y down, z forward) of cameras at cpos (..., 3) aimed at
    target, turned by roll (radians) about their forward axis."""
    fwd = target - cpos
    fwd = fwd / np.linalg.norm(fwd, axis=-1, keepdims=True)
    right = np.cross(fwd, _UP)
    right /= np.linalg.norm(right, axis=-1, keepdims=True)
    down = np.cross(fwd, right)
    turn = R.from_axis_angle(fwd, np.broadcast_to(roll, fwd.shape[:-1]))
    right, down = R.apply(turn, right), R.apply(turn, down)
    return np.stack([right, down, fwd], axis=-1)


def project(pts: np.ndarray, cpos: np.ndarray, axes: np.ndarray, fov: float, width: int, height: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pinhole projection of glTF points (..., N, 3) by cameras at cpos (..., 3) with axes (..., 3, 3)
    (camera_axes) and a field of view (radians) on the image's long side: u, v in [0, 1] and depth z (..., N)."""
    cam_pts = (pts - cpos[..., None, :]) @ axes
    z = np.maximum(cam_pts[..., 2], 0.1)
    f = 0.5 * max(width, height) / np.tan(fov / 2)
    return 0.5 + f * cam_pts[..., 0] / z / width, 0.5 + f * cam_pts[..., 1] / z / height, z


def synthesize(clip: HumanoidClip, rng: np.random.Generator, camera: Camera | None = None,
               noise: float = 1.0, clip_world: tuple[np.ndarray, np.ndarray] | None = None
               ) -> tuple[Landmarks, np.ndarray]:
    """Landmarks on the clip's frame grid as a random camera and MediaPipe would give them, and the camera yaw
    per frame (T,) that defines the target frame (see camera_target). noise: 0 = exact, 1 = typical.
    clip_world: the clip's clip.world(), when already at hand."""
    cam = camera or random_camera(rng)
    T = clip.frame_count
    pos, rot = clip_world if clip_world is not None else clip.world()
    idx, offs = bodymodel.attachments(clip.bones, clip.rest_offsets)
    offs = offs + rng.normal(0, 0.012 * noise, offs.shape)  # where this "person" has their landmarks
    pts = pos[:, idx] + R.apply(rot[:, idx], offs[None])  # (T, 33, 3) glTF world

    # Camera pose per frame: orbiting about the person's mean hip position (or cam.centre), aimed at look_height.
    yaw = camera_frames(cam, T, clip.fps)
    centre = clip.hips.mean(axis=0) if cam.centre is None else np.array([cam.centre[0], 0.0, cam.centre[1]])
    cpos = np.stack([centre[0] + cam.distance * np.sin(yaw), np.full(T, cam.height),
                     centre[2] + cam.distance * np.cos(yaw)], -1)
    target = np.stack([np.full(T, centre[0]), np.full(T, cam.look_height), np.full(T, centre[2])], -1)
    Rc = camera_axes(cpos, target, np.full(T, cam.roll))
    u, v, z = project(pts, cpos, Rc, cam.fov, cam.width, cam.height_px)
    f = 0.5 * max(cam.width, cam.height_px) / np.tan(cam.fov / 2)
    zhip = 0.5 * (z[:, LM["left_hip"]] + z[:, LM["right_hip"]])
    zi = (z - zhip[:, None]) * f / z / cam.width
    image = np.stack([u, v, zi], -1)
    hipc = bodymodel.hip_centre(pts)
    world = (pts - hipc[:, None]) @ Rc

    # MediaPipe's errors, visibility included, as fitted to real MediaPipe output on renders (noise.py); then its
    # failures: points out of frame or lost for a while, left/right swaps, dropped frames.
    behind = world[..., 2] > noise_model.BEHIND_M
    outside = (u < 0) | (u > 1) | (v < 0) | (v > 1)
    if noise > 0:
        k = noise * rng.uniform(0.5, 1.5)
        world, image, vis = noise_model.perturb(world, image, behind, cam.pitch,
                                                cam.width, cam.height_px, rng, k)
        vis[outside] = rng.uniform(0.0, 0.3, outside.sum())
        bad = outside.copy()
        if rng.random() < 0.4:  # dropped limb points for a while: low visibility, wild values
            for _ in range(rng.integers(1, 4)):
                j = rng.choice(_LIMB_POINTS)
                a = rng.integers(0, T)
                bad[a:a + rng.integers(3, 30), j] = True
        world[bad] += rng.normal(0, 0.08, (bad.sum(), 3))
        image[bad] += rng.normal(0, 0.03, (bad.sum(), 3))
        vis[bad] = np.minimum(vis[bad], rng.uniform(0.0, 0.4, bad.sum()))
        if rng.random() < 0.25:  # brief left/right swaps of arms or legs
            for _ in range(rng.integers(1, 3)):
                g = _ARM_LEG_GROUPS[rng.integers(0, 2)]
                a = rng.integers(0, T)
                sl = slice(a, a + rng.integers(1, 6))
                world[sl][:, g] = world[sl][:, MIRROR[g]]
                image[sl][:, g] = image[sl][:, MIRROR[g]]
        if rng.random() < 0.3:  # dropped frames, bridged linearly as the cleaning stage does
            for _ in range(rng.integers(1, 4)):
                a = int(rng.integers(1, max(2, T - 12)))
                b = min(T - 1, a + int(rng.integers(2, 10)))
                if b - a > 1:
                    w = np.linspace(0, 1, b - a + 1)[1:-1, None, None]
                    for arr in (world, image):
                        arr[a + 1:b] = arr[a] * (1 - w) + arr[b] * w
    else:  # exact points, with visibilities that still tell in front, behind and out of frame apart
        vis = np.where(outside, 0.15, np.where(behind, 0.7, 1.0))
    lm = Landmarks(times=np.arange(T) / clip.fps, image=image, world=world, visibility=vis,
                   detected=np.ones(T, dtype=bool), width=cam.width, height=cam.height_px, source=clip.name)
    return lm, yaw


def yaw_frame(yaw: np.ndarray) -> np.ndarray:
    """(T, 4) the turns from glTF world axes into the camera's yaw frame of each frame, for yaws (T,) radians."""
    return R.from_axis_angle(_UP, -np.asarray(yaw))


def hips_in_yaw_frame(hips: np.ndarray, q: np.ndarray) -> np.ndarray:
    """(T, 3) Hips path turned by the yaw-frame turns q (yaw_frame) about the vertical through its mean."""
    return R.apply(q, hips - hips.mean(axis=0) * np.array([1.0, 0.0, 1.0]))


def camera_target(clip: HumanoidClip, yaw: np.ndarray) -> HumanoidClip:
    """The clip seen in the camera's yaw frame (per frame): what the generator should output."""
    q = yaw_frame(yaw)
    rot = clip.rotations.copy()
    rot[:, 0] = R.multiply(q, rot[:, 0])
    hips = hips_in_yaw_frame(clip.hips, q)
    return HumanoidClip(bones=list(clip.bones), rest_offsets=clip.rest_offsets.copy(), fps=clip.fps, hips=hips,
                        rotations=R.make_continuous(rot), contacts=clip.contacts.copy(),
                        confidence=clip.confidence.copy(), name=clip.name, metadata=dict(clip.metadata))
