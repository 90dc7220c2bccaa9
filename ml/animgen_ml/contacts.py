"""Foot contacts from foot height and speed: per foot, heel (ankle) and toe (ball), with hysteresis and a
minimum duration, so that a noisy foot does not flicker between planted and free. The speed is read off the
point's path low-passed over a few frames: on a clip solved from MediaPipe, jitter alone moves a planted foot
faster than the speed threshold (on MediaPipe-like input of training mocap, the refine stage found 11 % of the
planted frames with the raw speed and 4 cm heights, 26 % as now, at the same precision; ml/EXPERIMENTS.md,
"The analytic path's contacts")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from animgen_ml import rotations as R
from animgen_ml import skeleton
from animgen_ml.clip import HumanoidClip
from animgen_ml.smooth import gaussian_lowpass

SIDES = ("Left", "Right")


@dataclass
class ContactParams:
    height_on: float = 0.07  # m above the floor: a point this low may start a contact
    height_off: float = 0.10  # m: a contact ends above this
    speed_on: float = 0.45  # m/s horizontal: a point this slow may start a contact
    speed_off: float = 0.9  # m/s: a contact ends above this
    speed_sigma_s: float = 0.05  # the speed comes from the path low-passed over this many seconds
    min_contact_s: float = 0.1  # shorter contacts are dropped
    min_gap_s: float = 0.07  # shorter gaps between two contacts are filled
    prob_on: float = 0.6  # a generator's contact probability above this starts a contact ...
    prob_off: float = 0.4  # ... and one below this ends it


@dataclass
class FootContacts:
    heel: np.ndarray  # (T, 2) bool, left/right
    toe: np.ndarray  # (T, 2) bool

    @property
    def foot(self) -> np.ndarray:
        """(T, 2): the foot is planted when its heel or its toe is."""
        return self.heel | self.toe


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index pairs of the True runs of a 1-D mask."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def min_duration(mask: np.ndarray, min_on: int, min_gap: int) -> np.ndarray:
    """Fill gaps shorter than min_gap frames between contacts, then drop contacts shorter than min_on."""
    out = mask.astype(bool).copy()
    for s, e in runs(~out):
        if s > 0 and e < len(out) and e - s < min_gap:
            out[s:e] = True
    for s, e in runs(out):
        if e - s < min_on:
            out[s:e] = False
    return out


def frames_lasting(seconds: float, fps: float) -> int:
    """The fewest frames that last `seconds` (at least 1): a run or gap of fewer lasts less. Rounded to the nearest
    frame instead, 0.07 s at 30 fps came to 2 frames, so a 2-frame gap (0.067 s) between two contacts stayed open:
    one foot's stance split in two, each pinned on its own spot, and the knee popped 16 degrees between them (the
    gym walk)."""
    return max(1, int(np.ceil(seconds * fps - 1e-6)))


def switch(on: np.ndarray, off: np.ndarray) -> np.ndarray:
    """(T,) a state that turns on where `on` holds and stays on until `off` holds."""
    out = np.zeros(len(on), dtype=bool)
    state = False
    for t in range(len(on)):
        state = (not off[t]) if state else bool(on[t])
        out[t] = state
    return out


def hysteresis(height: np.ndarray, speed: np.ndarray, p: ContactParams) -> np.ndarray:
    """(T,) contact of one point: on when low and slow, off only when clearly high or fast."""
    return switch((height < p.height_on) & (speed < p.speed_on), (height > p.height_off) | (speed > p.speed_off))


def from_probability(prob: np.ndarray, fps: float, params: ContactParams | None = None) -> np.ndarray:
    """(T, 2) per-foot contacts from a generator's contact probabilities (T, 2), with hysteresis and the same
    minimum durations as detect, so that a probability hovering near one half does not flicker."""
    p = params or ContactParams()
    min_on, min_gap = frames_lasting(p.min_contact_s, fps), frames_lasting(p.min_gap_s, fps)
    return np.stack([min_duration(switch(prob[:, f] > p.prob_on, prob[:, f] < p.prob_off), min_on, min_gap)
                     for f in range(prob.shape[1])], axis=1)


def horizontal_speed(pos: np.ndarray, fps: float, sigma_s: float = 0.0) -> np.ndarray:
    """(T,) m/s of (T, 3) positions in the XZ plane, central differences of the path low-passed over sigma_s."""
    if len(pos) < 2:
        return np.zeros(len(pos))
    v = np.gradient(gaussian_lowpass(pos[:, [0, 2]], sigma_s * fps), axis=0) * fps
    return np.linalg.norm(v, axis=-1)


def sole_points(clip: HumanoidClip, world: tuple[np.ndarray, np.ndarray] | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """(T, 2, 3) heel and toe sole points per foot: the heel is the point below the ankle by the ankle's rest
    height above the toes' joint, turning with the foot (so heel and toe touch the floor together in a
    flat-footed rest stance, and a heel strike pivots about the heel); the toe is the toes' joint.
    world: the clip's clip.world(), when already at hand."""
    if world is None:  # forward kinematics of the legs alone: nothing above the Hips moves a foot
        legs = [clip.index(b) for b in _LEGS]
        pos, rot = skeleton.forward_kinematics(skeleton.parents_of(_LEGS), clip.rest_offsets[legs], clip.hips,
                                               clip.rotations[:, legs])
        index: Callable[[str], int] = _LEGS.index
    else:
        (pos, rot), index = world, clip.index
    down = np.array([0.0, -_rest_heel_height(clip), 0.0])
    feet = [index(f"{s}Foot") for s in SIDES]
    heel = pos[:, feet] + R.apply(rot[:, feet], np.broadcast_to(down, (len(pos), 2, 3)))
    return heel, pos[:, [index(f"{s}Toes") for s in SIDES]]


_LEGS = ["Hips"] + [f"{s}{b}" for s in SIDES for b in ("UpperLeg", "LowerLeg", "Foot", "Toes")]


def _rest_heel_height(clip: HumanoidClip) -> float:
    """Height of the ankle above the toes' joint in the rest pose (the toes' offset points down and forward)."""
    return float(max(-clip.rest_offsets[clip.index("LeftToes"), 1], 0.0))


def floor_height(heel: np.ndarray, toe: np.ndarray) -> float:
    """A first guess of the floor: a low percentile of the lowest sole point, robust to a few outliers."""
    low = np.minimum(heel[..., 1], toe[..., 1]).min(axis=1)
    return float(np.percentile(low, 5)) if len(low) else 0.0


def detect(clip: HumanoidClip, params: ContactParams | None = None, floor: float | None = None) -> FootContacts:
    """Contacts of each heel and toe from their height above the floor and their horizontal speed."""
    p = params or ContactParams()
    heel, toe = sole_points(clip)
    y0 = floor_height(heel, toe) if floor is None else floor
    min_on, min_gap = frames_lasting(p.min_contact_s, clip.fps), frames_lasting(p.min_gap_s, clip.fps)
    out = {}
    for name, pts in (("heel", heel), ("toe", toe)):
        cols = []
        for f in range(2):
            c = hysteresis(pts[:, f, 1] - y0, horizontal_speed(pts[:, f], clip.fps, p.speed_sigma_s), p)
            cols.append(min_duration(c, min_on, min_gap))
        out[name] = np.stack(cols, axis=1)
    return FootContacts(**out)


def f1(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Contact F1 over all frames and feet."""
    tp = float(np.sum(predicted & truth))
    fp = float(np.sum(predicted & ~truth))
    fn = float(np.sum(~predicted & truth))
    return 2 * tp / max(2 * tp + fp + fn, 1e-9)
