"""The neural animation generator: a temporal convolutional network from landmarks to HumanoidClip.

Per frame in: MediaPipe world points (hip-centred, camera-aligned, metres), image points relative to the hip
centre in torso units, the hip centre's image motion and scale change (root-motion cues), visibilities.
Per frame out: a 6-D WORLD rotation for each of the 22 body bones in the camera's yaw frame (world rather
than local rotations: an error in the spine does not swing the arms; local ones follow by division), the hips
height, the hips' horizontal velocity in that frame, and two foot-contact logits. Dilated 1-D convolutions
(dilations 1, 3, 9, 27 with kernel 3: an 81-frame receptive field, centred) run over a whole clip in one pass.
"""

from __future__ import annotations

import functools
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from animgen_ml import limits, skeleton, twists
from animgen_ml import rotations as R
from animgen_ml.clip import HumanoidClip
from animgen_ml.landmarks import LM, Landmarks

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_NAME = "animgen_tcn"
TRAIN_FPS = 30.0  # the mocap is resampled to this rate for training
BONES = list(skeleton.BODY_BONES)
PARENTS = skeleton.parents_of(BONES)
N_FEATURES = 33 * 3 + 33 * 2 + 3 + 33
N_OUT = len(BONES) * 6 + 3 + 2
CONFIGS = {
    "small": {"channels": 128, "dilations": (1, 3, 9, 27), "dropout": 0.1},
    "tiny": {"channels": 64, "dilations": (1, 3, 9, 27), "dropout": 0.0},
}


def features(lm: Landmarks) -> np.ndarray:
    """(T, N_FEATURES) camera-independent network input from (cleaned) Landmarks."""
    T = lm.frame_count
    world = np.nan_to_num(lm.world.astype(np.float64))
    px = np.nan_to_num(lm.image[..., :2].astype(np.float64)) * np.array([lm.width, lm.height], dtype=np.float64)
    hip = 0.5 * (px[:, LM["left_hip"]] + px[:, LM["right_hip"]])
    sh = 0.5 * (px[:, LM["left_shoulder"]] + px[:, LM["right_shoulder"]])
    torso = np.maximum(np.linalg.norm(sh - hip, axis=-1), 1e-3)  # (T,) pixels
    scale = max(float(np.median(torso)), 1e-3)
    rel = (px - hip[:, None]) / scale
    vel = np.zeros((T, 2))
    if T > 1:
        vel[1:] = np.diff(hip, axis=0) / scale
        vel[0] = vel[1]
    logsize = np.log(torso / scale)[:, None]
    vis = np.nan_to_num(lm.visibility.astype(np.float64))
    out = np.concatenate([world.reshape(T, -1), rel.reshape(T, -1), vel, logsize, vis], axis=1)
    return np.clip(out, -10, 10).astype(np.float32)


class Block(nn.Module):
    def __init__(self, ch: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(ch, ch, 3, dilation=dilation, padding=dilation, padding_mode="replicate")
        self.mix = nn.Conv1d(ch, ch, 1)
        self.norm = nn.BatchNorm1d(ch)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(self.mix(torch.relu(self.norm(self.conv(x)))))


class TemporalNet(nn.Module):
    def __init__(self, channels: int = 256, dilations: tuple[int, ...] = (1, 3, 9, 27), dropout: float = 0.1):
        super().__init__()
        self.inp = nn.Conv1d(N_FEATURES, channels, 1)
        self.blocks = nn.Sequential(*[Block(channels, d, dropout) for d in dilations])
        self.out = nn.Conv1d(channels, N_OUT, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x: (N, T, F) -> rot6 (N, T, B, 6), height (N, T), velocity (N, T, 2), contact logits (N, T, 2)."""
        h = self.out(self.blocks(torch.relu(self.inp(x.transpose(1, 2))))).transpose(1, 2)
        N, T = h.shape[:2]
        B = len(BONES)
        rot6 = h[..., : B * 6].reshape(N, T, B, 6)
        # Bias the 6-D output towards identity (columns x, y) so that training starts from the rest pose.
        rot6 = rot6 + torch.tensor([1.0, 0, 0, 0, 1.0, 0], dtype=h.dtype)
        return {"rot6": rot6, "height": h[..., B * 6] + 0.9, "velocity": 0.05 * h[..., B * 6 + 1: B * 6 + 3],
                "contact_logits": h[..., B * 6 + 3:]}


def _interp(a: np.ndarray, t: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Linear interpolation of (T, ...) values at times t onto grid (held at the ends)."""
    flat = a.reshape(len(a), -1)
    out = np.stack([np.interp(grid, t, flat[:, k]) for k in range(flat.shape[1])], axis=1)
    return out.reshape((len(grid),) + a.shape[1:])


def rot6_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3) rotation matrices whose first two columns follow d6 (Gram-Schmidt)."""
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = torch.nn.functional.normalize(a1, dim=-1)
    b2 = torch.nn.functional.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


def fk_torch(world: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Joint positions relative to the Hips (N, T, B, 3) from WORLD rotation matrices (N, T, B, 3, 3) and
    rest offsets (N, B, 3)."""
    pos = [torch.zeros_like(world[..., 0, :, 0])]
    for b in range(1, len(BONES)):
        p = int(PARENTS[b])
        pos.append(pos[p] + (world[..., p, :, :] @ offsets[:, None, b, :, None])[..., 0])
    return torch.stack(pos, dim=-2)


class Generator:
    """A loaded network: Landmarks in, HumanoidClip out (same frame grid as the landmarks)."""

    def __init__(self, net: TemporalNet, info: dict) -> None:
        self.net = net.eval()
        self.info = info

    @torch.no_grad()
    def predict(self, lm: Landmarks) -> dict[str, np.ndarray]:
        """Raw network outputs on the landmarks' own frames. The network works at TRAIN_FPS (its receptive field
        and velocities are in those frames), so other rates are resampled there and back."""
        T = lm.frame_count
        t = np.arange(T) / lm.fps
        if T > 1 and abs(lm.fps - TRAIN_FPS) > 0.5:
            grid = np.arange(0.0, t[-1] + 1e-9, 1.0 / TRAIN_FPS)
            x = _interp(features(lm), t, grid)
        else:
            grid, x = t, features(lm)
        out = self.net(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None])
        out = {k: v[0].numpy().astype(np.float64) for k, v in out.items()}
        if grid is not t:
            out = {k: _interp(v, grid, t) for k, v in out.items()}
            out["velocity"] *= TRAIN_FPS / lm.fps  # metres per input frame
        return out

    def generate(self, landmarks: Landmarks, fingers: bool = False) -> HumanoidClip:
        out = self.predict(landmarks)
        offsets = rest_offsets(landmarks)
        world = R.from_6d(out["rot6"])
        if BLEND_WEIGHT > 0:
            from animgen_ml import solver

            world = blend_limbs(world, offsets, solver.solve(landmarks, fingers=False), BLEND_WEIGHT,
                                BLEND_SIGMA_S * landmarks.fps)
        rot = world.copy()  # world (camera yaw frame) -> local: each bone relative to its parent
        rot[:, 1:] = R.multiply(R.conjugate(world[:, PARENTS[1:]]), world[:, 1:])
        rot = R.make_continuous(R.normalize(rot))
        vel = out["velocity"]
        xz = np.concatenate([np.zeros((1, 2)), np.cumsum(vel[:-1], axis=0)], axis=0)
        hips = np.stack([xz[:, 0], out["height"], xz[:, 1]], axis=-1)
        contacts = 1.0 / (1.0 + np.exp(-out["contact_logits"])) > 0.5
        clip = HumanoidClip(bones=list(BONES), rest_offsets=offsets, fps=landmarks.fps, hips=hips, rotations=rot,
                            contacts=contacts, confidence=_confidence(landmarks), name=Path(landmarks.source).stem
                            or "clip", metadata={"generator": "network", "contacts_source": "network",
                                                 "model": self.info.get("name", DEFAULT_NAME)})
        # World rotations leave thigh and upper-arm twist loosely determined; the knee and elbow hinges fix it
        # without moving a joint (held-out mocap, 16 clips: joint-angle error 40.1 -> 32.3 degrees).
        clip = limits.untwist_hinges(clip)
        clip = twists.canonical_twists(spread_spine(clavicles_at_rest(clip)))
        if fingers:
            clip = _with_solver_fingers(clip, landmarks)
        return clip


SPINE = ("Spine", "Chest", "UpperChest")
# The analytic solver reads limb directions straight off the landmarks; the network's are smoother but biased
# (trained on synthetic noise). Limb directions move this share of the way towards the solver's, with the
# difference low-passed (Gaussian, this many seconds) so that the solver's jitter stays out.
BLEND_WEIGHT = 0.5
BLEND_SIGMA_S = 0.15
LIMBS = [(f"{s}{b}", f"{s}{c}") for s in ("Left", "Right")
         for b, c in (("UpperArm", "LowerArm"), ("LowerArm", "Hand"), ("UpperLeg", "LowerLeg"), ("LowerLeg", "Foot"))]


def lowpass(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian low-pass along axis 0 (time), ends held."""
    if sigma <= 0 or len(x) < 2:
        return x
    r = int(3 * sigma) + 1
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    pad = np.pad(x, [(r, r)] + [(0, 0)] * (x.ndim - 1), mode="edge")
    return sum(k[j] * pad[j: j + len(x)] for j in range(2 * r + 1))


def blend_limbs(world: np.ndarray, offsets: np.ndarray, ref: HumanoidClip, weight: float,
                sigma: float) -> np.ndarray:
    """World rotations (T, B, 4) with each limb bone swung part of the way to the reference clip's direction for
    it; twist stays the network's. Both are in the camera's frame (as the solver's output is): seen from each
    clip's own Hips instead, the two Hips' disagreement would add to the limbs' error (PA-MPJPE 63 -> 68 mm)."""
    _, ref_world = ref.world()
    out = world.copy()
    for bone, child in LIMBS:
        i, j = BONES.index(bone), BONES.index(child)
        k = ref.bones.index(child)
        d = R.apply(world[:, i], np.broadcast_to(offsets[j] / np.linalg.norm(offsets[j]), (len(world), 3)))
        d_ref = R.apply(ref_world[:, ref.bones.index(bone)],
                        np.broadcast_to(ref.rest_offsets[k] / np.linalg.norm(ref.rest_offsets[k]), (len(world), 3)))
        want = d + weight * lowpass(d_ref - d, sigma)
        out[:, i] = R.multiply(R.between(d, want), world[:, i])
    return out


def clavicles_at_rest(clip: HumanoidClip) -> HumanoidClip:
    """Clavicles at rest, as the solver holds them; each upper arm keeps its world rotation. The training rigs
    disagree about where the clavicle joint sits and how their mocap solvers move it, so the network's clavicle is a
    rig habit rather than the actor's (held-out mocap: PA-MPJPE 63.8 -> 61.3 mm, joint angles 22.3 -> 21.1 deg)."""
    rot = clip.rotations.copy()
    for side in ("Left", "Right"):
        i, j = clip.index(f"{side}Shoulder"), clip.index(f"{side}UpperArm")
        rot[:, j] = R.multiply(rot[:, i], rot[:, j])
        rot[:, i] = R.identity(rot.shape[:1])
    return replace(clip, rotations=rot)


def spread_spine(clip: HumanoidClip) -> HumanoidClip:
    """The bend from the Hips to the UpperChest shared equally by Spine, Chest and UpperChest. The training rigs
    split it among their spine joints each their own way (the CC rig bends its waist most), which landmarks cannot
    show; an even split is the neutral guess. The UpperChest's world rotation (and so the arms and head) stays."""
    idx = [clip.index(b) for b in SPINE]
    rot = clip.rotations.copy()
    total = rot[:, idx[0]]
    for i in idx[1:]:
        total = R.multiply(total, rot[:, i])
    part = R.make_continuous(R.slerp(R.identity(total.shape[:-1]), total, np.full(total.shape[:-1], 1 / 3)))
    for i in idx:
        rot[:, i] = part
    return replace(clip, rotations=rot)


def rest_offsets(lm: Landmarks) -> np.ndarray:
    """The actor's rest offsets from landmark distances, as the analytic solver measures them (so that both
    generators draw the same body); the default skeleton scaled by leg length when no frame is usable."""
    from animgen_ml import solver

    good = lm.detected & np.isfinite(lm.world).all(axis=(1, 2))
    if good.sum() == 0:
        return skeleton.default_rest_offsets(BONES) * body_scale(lm)
    P = lm.world[good] * np.array([1.0, -1.0, -1.0])  # MediaPipe world -> glTF axes (camera frame)
    return solver.estimate_rest_offsets(P, np.nan_to_num(lm.visibility[good]), BONES)


def body_scale(lm: Landmarks) -> float:
    """Actor size relative to the default skeleton, from the median hip-to-ankle length in world landmarks."""
    w = lm.world
    legs = [np.linalg.norm(w[:, LM[f"{s}_hip"]] - w[:, LM[f"{s}_knee"]], axis=-1)
            + np.linalg.norm(w[:, LM[f"{s}_knee"]] - w[:, LM[f"{s}_ankle"]], axis=-1) for s in ("left", "right")]
    leg = np.nanmedian(np.concatenate(legs)) if np.isfinite(np.concatenate(legs)).any() else 0.84
    return float(np.clip(leg / 0.84, 0.6, 1.4))


def _confidence(lm: Landmarks) -> np.ndarray:
    """Per bone: the visibility of the landmark at the bone's joint (1 for the trunk)."""
    joint_lm = {"LeftUpperArm": "left_shoulder", "LeftLowerArm": "left_elbow", "LeftHand": "left_wrist",
                "LeftUpperLeg": "left_hip", "LeftLowerLeg": "left_knee", "LeftFoot": "left_ankle",
                "LeftToes": "left_foot_index", "Head": "nose"}
    conf = np.ones((lm.frame_count, len(BONES)))
    vis = np.nan_to_num(lm.visibility)
    for i, b in enumerate(BONES):
        name = joint_lm.get(b.replace("Right", "Left"))
        if name:
            conf[:, i] = vis[:, LM[name.replace("left", "right") if b.startswith("Right") else name]]
    return np.clip(conf, 0.0, 1.0)


def _with_solver_fingers(clip: HumanoidClip, lm: Landmarks) -> HumanoidClip:
    from animgen_ml import solver

    full = solver.solve(lm, fingers=True)
    extra = [b for b in full.bones if b not in clip.bones]
    if not extra:
        return clip
    idx = [full.bones.index(b) for b in extra]
    return HumanoidClip(
        bones=clip.bones + extra, rest_offsets=np.concatenate([clip.rest_offsets, full.rest_offsets[idx]]),
        fps=clip.fps, hips=clip.hips, rotations=np.concatenate([clip.rotations, full.rotations[:, idx]], axis=1),
        contacts=clip.contacts, confidence=np.concatenate([clip.confidence, full.confidence[:, idx]], axis=1),
        name=clip.name, metadata=clip.metadata)


def weights_path(name: str | None = None) -> Path:
    return WEIGHTS_DIR / f"{name or DEFAULT_NAME}.pt"


def weights_available(name: str | None = None) -> bool:
    return weights_path(name).is_file()


def build(config: str | dict) -> TemporalNet:
    cfg = CONFIGS[config] if isinstance(config, str) else config
    return TemporalNet(cfg["channels"], tuple(cfg["dilations"]), cfg["dropout"])


def save(net: TemporalNet, path: str | Path, info: dict) -> None:
    from animgen_ml.files import atomic_path

    state = {k: v.detach().to(torch.float16) if v.is_floating_point() else v for k, v in net.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"state_dict": state, "info": info}, tmp)


def load_file(path: str | Path) -> Generator:
    blob = torch.load(path, map_location="cpu", weights_only=True)
    info = blob["info"]
    net = build(info["config"])
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()})
    return Generator(net, info)


@functools.lru_cache(maxsize=4)
def load_model(name: str | None = None) -> Generator:
    """The shipped generator (weights/<name>.pt), loaded once per process."""
    path = weights_path(name)
    if not path.is_file():
        from animgen_ml.errors import AnimGenError

        raise AnimGenError(f"{path}: network weights not found (train them with `animgen train`)")
    t0 = time.perf_counter()
    gen = load_file(path)
    gen.info["load_seconds"] = time.perf_counter() - t0
    return gen
