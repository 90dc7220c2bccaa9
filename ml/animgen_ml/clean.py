"""Landmark cleaning: repair left/right swaps, reject outliers, fill short gaps, resample to a uniform grid.

Order matters: swaps are repaired first (a swapped frame looks like an outlier of every limb point), then
single-point spikes (a foot or hand as a whole) and whole-frame failures are removed, then the result is
interpolated onto the grid.
Gaps longer than MAX_GAP seconds are not invented: those grid frames keep detected=False, hold the last seen
pose (so later stages always get finite numbers) and have visibility 0. A gap in the video's own frame times (a
variable-rate video holding one picture) is that picture, held: the person in it stays detected.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from animgen_ml.errors import InputError
from animgen_ml.landmarks import CLOCK_SLOP_S, HAND_FIELDS, LM, MIRROR, Landmarks
from animgen_ml.pose import reappearances

MAX_GAP = 0.5  # seconds: longer gaps without a person stay marked undetected
MAX_FPS = 240.0  # the default grid's highest rate (as --fps's): a high-speed camera's frames are thinned
MAX_HOLD_S = 60.0  # a video holding one picture longer than this has a broken clock: refused, not a huge grid
# Left/right groups that MediaPipe swaps independently: face, arms (with hand points), legs (with feet).
_GROUPS = [np.arange(0, 11), np.arange(11, 23), np.arange(23, 33)]
_ARMS = 1  # the arms' group
# Each group's left/right pair whose world axis turns round when MediaPipe really swaps the group.
_AXES = [(LM["left_ear"], LM["right_ear"]), (LM["left_shoulder"], LM["right_shoulder"]),
         (LM["left_hip"], LM["right_hip"])]
# A swap is accepted when the mirrored labels sit this much closer to the previous frame in the picture...
SWAP_RATIO = 0.5
# ...and the unswapped labels moved at least this far (in torso lengths): no flipping on tiny differences; and the
# world points do not say otherwise (_world_keeps_sides, where the world axis is at least AXIS_SURE of its usual
# length: a pelvis side-on, flattened by MediaPipe, is not).
SWAP_MIN_MOTION = 0.15
SWAP_MAX_DT = 0.25  # seconds
AXIS_SURE = 0.6
# A point is a spike when it is this many torso lengths (at 30 fps) away from both neighbours' mean while
# the neighbours agree with each other to a third of that.
SPIKE_TORSO = 0.35
# Points on one rigid part, a foot or a hand: a spike in one of them takes all of them. (A spike in the ankle alone
# had been replaced while the heel and toe stayed, 30 cm away: the analytic solver turned the foot 170 degrees.)
_RIGID = [[LM[f"{s}_{p}"] for p in parts] for s in ("left", "right")
          for parts in (("ankle", "heel", "foot_index"), ("wrist", "pinky", "index", "thumb"))]
# A frame is rejected when its world limb lengths differ from their clip medians by this fraction on average.
BONE_TOLERANCE = 0.35
_LIMBS = [(LM[a], LM[b]) for a, b in [
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"), ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"), ("left_shoulder", "right_shoulder"),
    ("left_hip", "right_hip"),
]]


def clean(landmarks: Landmarks, fps: float | None = None) -> Landmarks:
    """Cleaned landmarks on a uniform time grid at `fps` (None: the input's frame rate, Landmarks.fps, at most
    MAX_FPS)."""
    lm = landmarks
    if not lm.detected.any():
        raise InputError(f"{lm.source or 'landmarks'}: no person was found in any frame")
    image, world, vis = lm.image.copy(), lm.world.copy(), lm.visibility.copy()
    valid = lm.detected.copy() & np.isfinite(image).all((1, 2)) & np.isfinite(world).all((1, 2))
    swapped = repair_swaps(image, world, vis, valid, lm.times)
    lm = _one_hand_per_wrist(_hands_follow_arms(lm, swapped[:, _ARMS]), image)
    valid &= ~bone_length_outliers(world, valid)
    point_ok = np.repeat(valid[:, None], 33, axis=1) & ~spikes(image, lm.times, valid)
    switches = tuple((float(landmarks.times[a]), float(landmarks.times[b])) for a, b, _ in reappearances(landmarks))
    return replace(resample(lm, image, world, vis, point_ok, valid, fps or min(lm.fps, MAX_FPS)), switches=switches)


def torso_size(image: np.ndarray) -> np.ndarray:
    """(T,) shoulder-centre to hip-centre distance in the image (normalised units), the body's yardstick."""
    sh = image[:, [LM["left_shoulder"], LM["right_shoulder"]], :2].mean(1)
    hp = image[:, [LM["left_hip"], LM["right_hip"]], :2].mean(1)
    return np.linalg.norm(sh - hp, axis=-1)


def repair_swaps(image: np.ndarray, world: np.ndarray, vis: np.ndarray, valid: np.ndarray,
                 times: np.ndarray) -> np.ndarray:
    """Relabels, in place, each group of left/right points that matches the previous valid frame better when
    mirrored. Returns (T, groups) bool: which groups were swapped."""
    swapped = np.zeros((len(image), len(_GROUPS)), bool)
    torso = torso_size(image)
    typical = [float(np.median(np.linalg.norm(world[valid, a] - world[valid, b], axis=-1))) if valid.any() else 0.0
               for a, b in _AXES]
    prev = None
    for t in np.flatnonzero(valid):
        # After a gap the person may have really turned around: only compare frames close in time.
        if prev is not None and times[t] - times[prev] <= SWAP_MAX_DT:
            scale = max(float(np.nanmedian(torso[[prev, t]])), 1e-3)
            for g, idx in enumerate(_GROUPS):
                mir = MIRROR[idx]
                same = np.linalg.norm(image[t, idx, :2] - image[prev, idx, :2], axis=-1).mean() / scale
                flip = np.linalg.norm(image[t, mir, :2] - image[prev, idx, :2], axis=-1).mean() / scale
                if (same > SWAP_MIN_MOTION and flip < SWAP_RATIO * same
                        and not _world_keeps_sides(world, t, prev, g, typical[g])):
                    for a in (image, world, vis):
                        a[t, idx] = a[t, mir]
                    swapped[t, g] = True
        prev = t
    return swapped


def _hands_follow_arms(lm: Landmarks, arms: np.ndarray) -> Landmarks:
    """The hands exchanged on the frames whose arms repair_swaps relabelled: Holistic finds each hand at the pose's
    wrist of that label, so its hands swap with MediaPipe's arms (they had stayed, each hand on the other wrist)."""
    if not arms.any() or all(getattr(lm, name) is None for name in HAND_FIELDS):
        return lm
    out: dict[str, Any] = {}
    for left, right in (("left_hand", "right_hand"), ("left_hand_world", "right_hand_world")):
        a, b = (getattr(lm, n) if getattr(lm, n) is not None else np.full((lm.frame_count, 21, 3), np.nan)
                for n in (left, right))
        out[left], out[right] = np.where(arms[:, None, None], b, a), np.where(arms[:, None, None], a, b)
    return replace(lm, **out)


def _one_hand_per_wrist(lm: Landmarks, image: np.ndarray) -> Landmarks:
    """Where Holistic gives one hand twice, as the left and as the right (their points within half a hand's size of
    each other), it is dropped from the side whose body wrist it is farther from, whose fingers then bridge the gap;
    they had taken that hand's pose. Two real hands together (palm to palm) each stay by their own wrist and are
    kept. image: the body's relabelled image points."""
    left, right = lm.left_hand, lm.right_hand
    if left is None or right is None:
        return lm
    px = np.array([lm.width, lm.height], dtype=np.float64)
    both = np.isfinite(left).all((1, 2)) & np.isfinite(right).all((1, 2))
    apart = np.linalg.norm((left[..., :2] - right[..., :2]) * px, axis=-1).mean(axis=1)
    size = np.minimum(*(np.linalg.norm((h[:, 9, :2] - h[:, 0, :2]) * px, axis=-1) for h in (left, right)))
    same = both & (apart < 0.5 * size)
    if not same.any():
        return lm
    out: dict[str, Any] = {}
    for side, other, hand in (("left", "right", left), ("right", "left", right)):
        near = {s: np.linalg.norm((hand[:, 0, :2] - image[:, LM[f"{s}_wrist"], :2]) * px, axis=-1)
                for s in (side, other)}
        drop = same & (near[other] < near[side])
        for name in (f"{side}_hand", f"{side}_hand_world"):
            a = getattr(lm, name)
            if a is not None:
                out[name] = np.where(drop[:, None, None], np.nan, a)
    return replace(lm, **out)


def _world_keeps_sides(world: np.ndarray, t: int, prev: int, group: int, typical: float) -> bool:
    """Whether MediaPipe's own world points say a group did not swap: the world vector between its left/right pair
    (ears, shoulders, hips: _AXES) points the way it did on the previous frame, both times at least AXIS_SURE of its
    usual length. Seen from the side, legs that cross in the picture look swapped there, and the hips, one behind
    the other, cost nothing to swap: relabelled on the picture alone, a walk filmed side-on had 22 swaps, each
    against the world hips, and the analytic solver spun the hips 151 degrees in a frame. Where MediaPipe's world
    axis shrinks (a pelvis side-on to the camera, whose depth it flattens) it flickers with the labels, and the
    picture decides."""
    left, right = _AXES[group]
    now, before = world[t, left] - world[t, right], world[prev, left] - world[prev, right]
    sure = typical > 0.0 and min(np.linalg.norm(now), np.linalg.norm(before)) >= AXIS_SURE * typical
    return bool(sure and np.dot(now, before) > 0.0)


def bone_length_outliers(world: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(T,) bool: valid frames whose world limb lengths are far off the clip's medians (a failed fit)."""
    a = np.array([i for i, _ in _LIMBS])
    b = np.array([j for _, j in _LIMBS])
    lengths = np.linalg.norm(world[:, a] - world[:, b], axis=-1)  # (T, limbs)
    if valid.sum() < 5:
        return np.zeros(len(world), bool)
    med = np.median(lengths[valid], axis=0)
    err = np.abs(lengths / np.maximum(med, 1e-6) - 1.0).mean(1)
    return valid & (err > BONE_TOLERANCE)


def spikes(image: np.ndarray, times: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(T, 33) bool: points that jump away for a single frame and come back (velocity spikes), judged in the
    image against the mean of the neighbouring valid frames, in torso lengths."""
    out = np.zeros(image.shape[:2], bool)
    idx = np.flatnonzero(valid)
    if len(idx) < 3:
        return out
    prev, cur, nxt = idx[:-2], idx[1:-1], idx[2:]
    # Only judge frames whose neighbours are close in time: across a long gap motion is unknown.
    rate = max(_rate(times), 1.0)
    close = (times[nxt] - times[prev]) <= 4.0 / rate
    # At low frame rates real motion covers more ground per frame: widen the threshold below 30 fps.
    limit = SPIKE_TORSO * max(1.0, 30.0 / rate)
    torso = np.maximum(torso_size(image)[cur], 1e-3)[:, None]
    mid = 0.5 * (image[prev, :, :2] + image[nxt, :, :2])
    dev = np.linalg.norm(image[cur, :, :2] - mid, axis=-1) / torso
    agree = np.linalg.norm(image[prev, :, :2] - image[nxt, :, :2], axis=-1) / torso
    bad = close[:, None] & (dev > limit) & (agree < dev / 3.0)
    for group in _RIGID:  # a foot or hand moves as one: replaced alone, its point bent the rest out of shape
        bad[:, group] |= bad[:, group].any(axis=1, keepdims=True)
    out[cur] = bad
    return out


def _rate(times: np.ndarray) -> float:
    d = np.diff(times)
    return 1.0 / float(np.median(d)) if len(d) and np.median(d) > 0 else 30.0


def resample(lm: Landmarks, image: np.ndarray, world: np.ndarray, vis: np.ndarray, point_ok: np.ndarray,
             valid: np.ndarray, fps: float) -> Landmarks:
    """Interpolates every point onto the grid t0 + k / fps over the input's time span."""
    t0, t1 = float(lm.times[0]), float(lm.times[-1])
    step = np.diff(lm.times)
    if len(step) and step.max() > MAX_HOLD_S:  # a clock jump (an MPEG-TS wrap) made a grid of millions of frames
        k = int(step.argmax())
        raise InputError(f"{lm.source or 'landmarks'}: the frame times jump by {step[k]:.0f} s at {lm.times[k]:.1f} s; "
                         "cut the video with --start/--end, or re-encode it")
    # A clock in milliseconds may end the span just short of the last frame's time at the exact rate
    # (Landmarks.fps): that frame is kept.
    n = int(np.floor((t1 - t0 + CLOCK_SLOP_S) * fps + 1e-6)) + 1
    grid = t0 + np.arange(n) / fps
    out_img = np.empty((n, 33, 3))
    out_world = np.empty((n, 33, 3))
    out_vis = np.zeros((n, 33))
    covered = np.zeros((n, 33), bool)
    # The video frame on screen at each grid time: a variable-rate video may hold one picture for seconds.
    shown = np.clip(np.searchsorted(lm.times, grid + 1e-6, side="right") - 1, 0, len(lm.times) - 1)
    for j in range(33):
        ok = point_ok[:, j]
        for src, dst in ((image, out_img), (world, out_world)):
            dst[:, j], cov = _interp_gaps(lm.times[ok], src[ok, j], grid)
        out_vis[:, j], _ = _interp_gaps(lm.times[ok], vis[ok, j], grid)
        covered[:, j] = cov | ok[shown]  # outside cover, the value held is the shown frame's own
    # A grid frame is detected when it lies within a short gap of real detections, or shows a frame with one.
    detected = _interp_gaps(lm.times[valid], np.zeros((int(valid.sum()), 1)), grid)[1] | valid[shown]
    out_vis = np.where(covered & detected[:, None], np.clip(out_vis, 0.0, 1.0), 0.0)
    hands: dict[str, Any] = {}
    for name in HAND_FIELDS:
        a = getattr(lm, name)
        if a is None:
            continue
        ok = np.isfinite(a).all((1, 2))
        filled, cov = _interp_gaps(lm.times[ok], a[ok], grid, hold=False)
        held = ~cov & ok[shown]  # a picture the video holds: its hand, held
        filled[held] = a[shown[held]]
        hands[name] = np.where((cov | held)[:, None, None], filled, np.nan)  # hands unseen for long stay NaN
    return Landmarks(times=grid, image=out_img, world=out_world, visibility=out_vis, detected=detected,
                     width=lm.width, height=lm.height, source=lm.source, rate=lm.rate, **hands)


def _interp_gaps(t: np.ndarray, v: np.ndarray, grid: np.ndarray, hold: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation of samples v (N, ...) at times t onto grid. Returns (values, covered): covered is
    False where the grid time falls in a gap longer than MAX_GAP or outside the samples; values there hold the
    last sample before (the first sample at the start) when `hold`, else NaN."""
    shape = (len(grid),) + v.shape[1:]
    if len(t) == 0:
        return np.zeros(shape) if hold else np.full(shape, np.nan), np.zeros(len(grid), bool)
    flat = v.reshape(len(t), -1)
    out = np.empty((len(grid), flat.shape[1]))
    for c in range(flat.shape[1]):
        out[:, c] = np.interp(grid, t, flat[:, c])  # holds the end values outside [t0, tN]
    k = np.searchsorted(t, grid, side="right")  # t[k-1] <= grid < t[k]
    before = np.clip(k - 1, 0, len(t) - 1)
    after = np.clip(k, 0, len(t) - 1)
    exact = np.isclose(t[before], grid, atol=1e-6)
    inside = (k > 0) & (k < len(t))
    gap = t[after] - t[before]
    covered = exact | (inside & (gap <= MAX_GAP + 1e-9))
    # Also count the short stretches just outside the samples as covered when they are within half a frame
    # of a sample (grid rounding at the ends).
    near_end = (np.abs(grid - t[before]) < 1e-3) | (np.abs(grid - t[after]) < 1e-3)
    covered |= near_end
    held = flat[before]
    out = np.where(covered[:, None], out, held if hold else np.nan)
    return out.reshape(shape), covered
