"""Smoothing: quaternion continuity, then a forward-backward One Euro filter on rotations and the Hips path.

One Euro (Casiez et al., CHI 2012) is a low-pass filter whose cutoff rises with speed: still poses lose their
jitter, fast moves keep their peaks. Run forward then backward over the clip, its phase lag cancels, so keys
do not trail the video (the clip is offline, nothing needs a causal filter). Rotations are filtered as
continuous quaternions (signs made consistent over time), then renormalised; one speed per bone (the norm of
the quaternion's rate) sets the cutoff for all four components, so a bone is never bent by the filter.

strength s in [0, 1] maps to:
- min_cutoff = 10 Hz * (0.5 / 10) ** s: 10 Hz at s -> 0 (keeps nearly everything), 2.2 Hz at 0.5, 0.5 Hz
  at 1 (human motion has most of its energy below ~3 Hz; MediaPipe's jitter is broadband);
- beta = 3 * (1 - 0.5 s) per unit/s of speed: a quaternion turning at 1 rad/s moves ~0.5 unit/s, so a
  fast limb (5 rad/s) raises the cutoff by ~4-7 Hz and keeps its peaks;
- the derivative's own cutoff d_cutoff = 1 Hz.
s = 0 returns the clip untouched.

gaussian_lowpass is the plain zero-phase low-pass for signals that need no speed-dependent cutoff;
local_linear_lowpass the same inside a signal, but one whose ends follow its trend instead of holding still.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from animgen_ml import rotations as R
from animgen_ml.clip import HumanoidClip

D_CUTOFF = 1.0


def filter_params(strength: float) -> tuple[float, float]:
    """(min_cutoff Hz, beta) for a smoothing strength in [0, 1]."""
    s = float(np.clip(strength, 0.0, 1.0))
    return 10.0 * (0.5 / 10.0) ** s, 3.0 * (1.0 - 0.5 * s)


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray:
    """The smoothing factor of an exponential filter with this cutoff (Hz) at this step (s): 1 / (1 + tau / dt)."""
    c = 2.0 * np.pi * dt * np.asarray(cutoff)
    return c / (1.0 + c)


def one_euro(x: np.ndarray, fps: float, min_cutoff: float, beta: float, d_cutoff: float = D_CUTOFF) -> np.ndarray:
    """Causal One Euro filter along axis 0 of x (T, ..., D); one speed per item (norm over the last axis)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    if len(x) == 0:
        return out
    dt = 1.0 / fps
    a_d = float(_alpha(d_cutoff, dt))
    out[0] = prev = x[0]
    speed = np.zeros(x.shape[1:-1])
    for t in range(1, len(x)):  # the loop is the filter's cost: plain array arithmetic, no helper calls
        step = x[t] - prev
        speed += a_d * (np.sqrt(np.einsum("...i,...i", step, step)) / dt - speed)
        prev = prev + _alpha(min_cutoff + beta * speed, dt)[..., None] * step
        out[t] = prev
    return out


def zero_phase_one_euro(x: np.ndarray, fps: float, min_cutoff: float, beta: float) -> np.ndarray:
    """One Euro forward, then backward over the result: no phase lag."""
    fwd = one_euro(x, fps, min_cutoff, beta)
    return one_euro(fwd[::-1], fps, min_cutoff, beta)[::-1].copy()


def gaussian_lowpass(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian low-pass along axis 0 (time) over sigma samples, ends held."""
    if sigma <= 0 or len(x) < 2:
        return x
    r = int(3 * sigma) + 1
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    pad = np.pad(x, [(r, r)] + [(0, 0)] * (x.ndim - 1), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(pad, 2 * r + 1, axis=0)  # (T, ..., 2r + 1), no copy
    return windows @ (k.astype(pad.dtype) if np.issubdtype(pad.dtype, np.floating) else k)  # float32 stays float32


def local_linear_lowpass(x: np.ndarray, sigma: float) -> np.ndarray:
    """Along axis 0 (time): at each frame, the value at that frame of the straight line fitted to the signal with
    Gaussian weights over sigma samples (local linear regression). Inside the signal this is gaussian_lowpass; near
    an end, where the window has one side only, a steady trend carries on to the end rather than being pulled back
    towards the inside, as held ends pull it."""
    x = np.asarray(x, dtype=np.float64)
    if sigma <= 0 or len(x) < 2:
        return x
    r = int(3 * sigma) + 1
    u = np.arange(-r, r + 1, dtype=np.float64)  # offset of each window sample from the frame
    k = np.exp(-0.5 * (u / sigma) ** 2)
    flat = x.reshape(len(x), -1)
    inside = np.lib.stride_tricks.sliding_window_view(np.pad(np.ones(len(x)), r), 2 * r + 1)  # (T, 2r + 1)
    win = np.lib.stride_tricks.sliding_window_view(np.pad(flat, [(r, r), (0, 0)]), 2 * r + 1, axis=0)  # (T, D, 2r + 1)
    # Weighted least squares of value on (1, offset), solved in closed form from the window's weighted moments.
    s0, s1, s2 = inside @ k, inside @ (k * u), inside @ (k * u * u)
    t0, t1 = win @ k, win @ (k * u)
    det = s0 * s2 - s1 * s1
    # A window so narrow that its neighbours weigh nothing fits no line: the plain weighted mean there.
    line = det > 1e-12 * s0 * s0
    out = np.where(line[:, None], (s2[:, None] * t0 - s1[:, None] * t1) / np.where(line, det, 1.0)[:, None],
                   t0 / s0[:, None])
    return out.reshape(x.shape)


def smooth_clip(clip: HumanoidClip, strength: float) -> HumanoidClip:
    """A smoothed copy of the clip (rotations and Hips path); contacts and confidence are kept."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"smoothing strength must be between 0 and 1, got {strength}")
    if strength == 0.0 or clip.frame_count < 3:
        return replace(clip, rotations=clip.rotations.copy(), hips=clip.hips.copy())
    min_cutoff, beta = filter_params(strength)
    q = R.make_continuous(R.normalize(clip.rotations), axis=0)
    # One pass over the bones and the paths together: the filter's cost is its loop over frames, not its width.
    # A path is an item of four with a 4th component of 0, which leaves its speed and so its filtering as alone.
    paths = [p for p in (clip.hips, clip.root_motion) if p is not None]
    items = np.concatenate([q] + [np.concatenate([p, np.zeros((len(p), 1))], 1)[:, None] for p in paths], axis=1)
    out = zero_phase_one_euro(items, clip.fps, min_cutoff, beta)
    B = q.shape[1]
    return replace(clip, rotations=R.normalize(out[:, :B]), hips=out[:, B, :3],
                   root_motion=None if clip.root_motion is None else out[:, B + 1, :3], metadata=dict(clip.metadata))
