"""MediaPipe's errors as a fitted model: how its landmarks differ from where they truly are.

Fitted (`python scripts/fit_noise.py`) to rendered takes (renders.py), where real MediaPipe output can be set
beside the exact landmarks of the same camera (synth.synthesize with noise=0). Per take the errors split into:
- the world frame's lean: MediaPipe's world points are camera-aligned only in part; they turn about the camera's
  x axis by a share of the camera's pitch (towards gravity), plus a per-take spread;
- a per-take scale of the world points (MediaPipe's metres are rough);
- per landmark and axis (robust estimates, so that a few frames of tracking failure do not count): a constant
  bias (its spread across takes; the mean across takes, a habit of the characters' rigs, is left out), a slow
  error (smooth over SLOW_SIGMA frames: the pose-dependent part) and frame-to-frame jitter; world points in
  metres, image points in torso lengths (shoulder to hip centre);
- visibility: its mean and spread per landmark, for points in front of the body and behind it.
Left and right landmarks share their values, as training mirrors its clips. synth.py draws from this model.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from animgen_ml.landmarks import LM, MIRROR, Landmarks

PATH = Path(__file__).resolve().parent / "weights" / "mediapipe_noise.json"
SLOW_SIGMA = 6.0  # frames (at 30 fps): the time scale of the slow error
BEHIND_M = 0.05  # a landmark this far behind the hip centre (camera depth) is behind the body
_SHOULDERS = [LM["left_shoulder"], LM["right_shoulder"]]
_HIPS = [LM["left_hip"], LM["right_hip"]]


@dataclass
class NoiseModel:
    tilt_per_pitch: float  # world frame turn about the camera's x axis, per radian of camera pitch
    tilt_sd: float  # radians, per take
    log_scale_sd: float  # per take
    world_bias_sd: np.ndarray  # (33, 3) metres, per take
    world_slow_sd: np.ndarray  # (33, 3)
    world_jitter_sd: np.ndarray  # (33, 3)
    image_bias_sd: np.ndarray  # (33, 2) torso lengths
    image_slow_sd: np.ndarray  # (33, 2)
    image_jitter_sd: np.ndarray  # (33, 2)
    vis_front: np.ndarray  # (33, 2) mean and sd of visibility in front of the body
    vis_behind: np.ndarray  # (33, 2) ... behind it
    takes: int = 0  # how many takes it was fitted to

    def save(self, path: str | Path) -> None:
        d = {k: v.round(5).tolist() if isinstance(v, np.ndarray) else v for k, v in asdict(self).items()}
        Path(path).write_text(json.dumps(d, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path = PATH) -> NoiseModel:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        kw: dict[str, Any] = {k: np.asarray(v, dtype=np.float64) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**kw)


@functools.lru_cache(maxsize=1)
def default_model() -> NoiseModel:
    """The shipped fit (weights/mediapipe_noise.json), read once per process."""
    return NoiseModel.load()


def tilt_matrix(theta: np.ndarray | float) -> np.ndarray:
    """(..., 3, 3) turn about the camera's x axis: MediaPipe's world points are exact points @ tilt_matrix.T."""
    c, s = np.cos(theta), np.sin(theta)
    one, zero = np.ones_like(c), np.zeros_like(c)
    return np.stack([np.stack([one, zero, zero], -1), np.stack([zero, c, s], -1), np.stack([zero, -s, c], -1)], -2)


def smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Unit-variance noise along axis 0, smooth over sigma samples (Gaussian-filtered white noise)."""
    r = int(3 * sigma) + 1
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= np.sqrt((k ** 2).sum())
    white = rng.normal(size=(shape[0] + 2 * r,) + shape[1:])
    return np.lib.stride_tricks.sliding_window_view(white, 2 * r + 1, axis=0) @ k


def torso_length(image_px: np.ndarray) -> float:
    """Mean shoulder-centre to hip-centre distance of (T, 33, 2) image points, in their units."""
    return float(np.nanmean(np.linalg.norm(image_px[:, _SHOULDERS].mean(1) - image_px[:, _HIPS].mean(1), axis=-1)))


def perturb(world: np.ndarray, image: np.ndarray, vis_behind: np.ndarray, pitch: float, width: int, height: int,
            rng: np.random.Generator, severity: float = 1.0,
            model: NoiseModel | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact camera-aligned world points (T, 33, 3), image points (T, 33, 3, normalised) and a behind-the-body
    mask (T, 33) -> MediaPipe-like world and image points and visibilities (T, 33). severity scales the errors."""
    m = model or default_model()
    T = len(world)
    theta = m.tilt_per_pitch * pitch + rng.normal(0, m.tilt_sd) * severity
    world = world @ tilt_matrix(theta).T * np.exp(rng.normal(0, m.log_scale_sd) * severity)
    world = world + severity * (rng.normal(size=(1, 33, 3)) * m.world_bias_sd
                                + smooth_noise(rng, (T, 33, 3), SLOW_SIGMA) * m.world_slow_sd
                                + rng.normal(size=(T, 33, 3)) * m.world_jitter_sd)
    px = image[..., :2] * np.array([width, height])
    err = severity * (rng.normal(size=(1, 33, 2)) * m.image_bias_sd + smooth_noise(rng, (T, 33, 2), SLOW_SIGMA)
                      * m.image_slow_sd + rng.normal(size=(T, 33, 2)) * m.image_jitter_sd)
    image = image.copy()
    image[..., :2] = (px + err * torso_length(px)) / np.array([width, height])
    mean = np.where(vis_behind, m.vis_behind[:, 0], m.vis_front[:, 0])
    sd = np.where(vis_behind, m.vis_behind[:, 1], m.vis_front[:, 1])
    vis = np.clip(mean + sd * smooth_noise(rng, (T, 33), SLOW_SIGMA), 0.0, 1.0)
    return world, image, vis


def robust_var(e: np.ndarray) -> np.ndarray:
    """Variance along axis 0 from the median absolute deviation: a tracking failure of a few frames (a swap, a
    lost point) is a failure, which synth.py draws on its own, not part of the error's spread."""
    return (1.4826 * np.median(np.abs(e - np.median(e, axis=0)), axis=0)) ** 2


def take_errors(mp: Landmarks, exact: Landmarks, pitch: float) -> dict[str, np.ndarray | float]:
    """One take's errors: MediaPipe's raw landmarks against the exact ones of the same camera (noise-free
    synth.synthesize), on the same frames; frames where MediaPipe found nobody are left out."""
    ok = mp.detected & np.isfinite(mp.world).all(axis=(1, 2))
    if ok.sum() < 3 * SLOW_SIGMA:
        raise ValueError(f"{mp.source}: MediaPipe found the person in only {ok.sum()} frames")
    X, Y = mp.world[ok].reshape(-1, 3), exact.world[ok].reshape(-1, 3)
    # exact ~ s * mp @ Rm (least squares); the turn about x is the frame's lean, s the scale error.
    U, S, Vt = np.linalg.svd(X.T @ Y)
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(U @ Vt))])
    Rm = U @ D @ Vt
    s = float(np.trace(np.diag(S) @ D) / np.sum(X ** 2))
    theta = float(np.arctan2(Rm[1, 2], Rm[2, 2]))
    # Per-landmark errors in the exact camera frame once the lean and scale are undone.
    r = s * mp.world[ok] @ Rm - exact.world[ok]
    size = np.array([mp.width, mp.height])
    px_exact = exact.image[ok, :, :2] * size
    ri = (mp.image[ok, :, :2] * size - px_exact) / torso_length(px_exact)
    behind = exact.world[ok, :, 2] > BEHIND_M
    out: dict[str, np.ndarray | float] = {"theta": theta, "pitch": pitch, "log_scale": -np.log(s),
                                          "frames": int(ok.sum())}
    step = np.diff(np.flatnonzero(ok)) == 1  # differences between consecutive frames only
    for key, e in (("world", r), ("image", ri)):
        out[key + "_bias"] = np.median(e, axis=0)
        out[key + "_var"] = robust_var(e)
        out[key + "_step_var"] = robust_var(np.diff(e, axis=0)[step])
    v = mp.visibility[ok]
    out["vis_front"] = np.stack([np.where(~behind, v, 0).sum(0), np.where(~behind, v ** 2, 0).sum(0),
                                 (~behind).sum(0)], -1)
    out["vis_behind"] = np.stack([np.where(behind, v, 0).sum(0), np.where(behind, v ** 2, 0).sum(0),
                                  behind.sum(0)], -1)
    return out


def _symmetric(a: np.ndarray) -> np.ndarray:
    """Left and right landmarks averaged (the x axis of a mirrored landmark is mirrored too, which a spread or
    variance does not notice)."""
    return 0.5 * (a + a[MIRROR])


def fit(errors: list[dict]) -> NoiseModel:
    """The model from take_errors of many takes."""
    if len(errors) < 3:
        raise ValueError(f"fitting MediaPipe's errors needs at least 3 takes, got {len(errors)}")
    pitch = np.array([e["pitch"] for e in errors])
    theta = np.array([e["theta"] for e in errors])
    slope = float(np.sum(pitch * theta) / max(np.sum(pitch ** 2), 1e-12))  # through the origin
    w = np.array([e["frames"] for e in errors], dtype=float)

    def slow_and_jitter(key: str) -> tuple[np.ndarray, np.ndarray]:
        # e = slow + jitter: var(e) = S + J and var(e[t+1] - e[t]) = 2 S (1 - rho) + 2 J, rho the slow part's
        # correlation one frame apart (smooth_noise: a Gaussian over SLOW_SIGMA frames).
        v = _symmetric(np.average([e[key + "_var"] for e in errors], axis=0, weights=w))
        d = _symmetric(np.average([e[key + "_step_var"] for e in errors], axis=0, weights=w))
        c = 1.0 - np.exp(-1.0 / (4.0 * SLOW_SIGMA ** 2))
        jitter = np.clip((d / 2 - c * v) / (1 - c), 0.0, v)
        return np.sqrt(v - jitter), np.sqrt(jitter)

    def bias_sd(key: str) -> np.ndarray:
        b = np.array([e[key] for e in errors])
        return np.sqrt(_symmetric(b.var(axis=0)))  # spread about the rigs' mean

    def vis(key: str) -> np.ndarray:
        s = _symmetric(np.sum([e[key] for e in errors], axis=0))
        n = np.maximum(s[:, 2], 1.0)
        mean = np.where(s[:, 2] > 0, s[:, 0] / n, 0.5)
        return np.stack([mean, np.sqrt(np.maximum(s[:, 1] / n - mean ** 2, 0.0))], -1)

    world_slow, world_jitter = slow_and_jitter("world")
    image_slow, image_jitter = slow_and_jitter("image")
    return NoiseModel(
        tilt_per_pitch=slope, tilt_sd=float(np.std(theta - slope * pitch)),
        log_scale_sd=float(np.std([e["log_scale"] for e in errors])),
        world_bias_sd=bias_sd("world_bias"), world_slow_sd=world_slow, world_jitter_sd=world_jitter,
        image_bias_sd=bias_sd("image_bias"), image_slow_sd=image_slow, image_jitter_sd=image_jitter,
        vis_front=vis("vis_front"), vis_behind=vis("vis_behind"), takes=len(errors))
