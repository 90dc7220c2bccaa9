"""Foot locking: a planted foot stays put.

Per contact run the foot rolls over a pivot (heel or toe, whichever is lower) pinned on the floor, where it moves the
generated foot least; the ankle target is blended in and out over a few frames; the Hips come down a little
(MAX_HIPS_DROP_M) where a leg could not reach its target, and a foot not pinned comes down with them; both legs are
solved by two-bone IK that keeps the knee direction and the foot's world rotation, and approaches a target near or out
of reach softly (SOFT_REACH) rather than snapping the knee straight. No ankle target is ever below the height that
keeps heel and toe on or above y = 0.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from animgen_ml import contacts as C
from animgen_ml import ik
from animgen_ml import rotations as R
from animgen_ml.clip import HumanoidClip
from animgen_ml.smooth import gaussian_lowpass

PIVOT_SWITCH_M = 0.015


@dataclass
class LockStats:
    locked_frames: int  # (frame, foot) pairs pinned
    hips_lowered_max: float  # m


def _smoothstep(x: float | np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def pivots(heel_y: np.ndarray, toe_y: np.ndarray, planted: np.ndarray) -> np.ndarray:
    """(T,) the point one foot rolls over: 0 the heel, 1 the toe, -1 where it is not planted. Inside a contact
    run the lower of the two, switching only when the other is clearly lower (PIVOT_SWITCH_M), so that a flat
    foot does not rock between them."""
    out = np.full(len(planted), -1)
    for s, e in C.runs(planted):
        p = -1
        for t in range(s, e):
            lower = 0 if heel_y[t] <= toe_y[t] else 1
            if p < 0 or abs(heel_y[t] - toe_y[t]) > PIVOT_SWITCH_M:
                p = lower
            out[t] = p
    return out


def leg_length(clip: HumanoidClip, side: str) -> float:
    """Hip to ankle with the knee straight (m): the thigh's and shin's rest lengths."""
    return sum(float(np.linalg.norm(clip.rest_offsets[clip.index(f"{side}{b}")])) for b in ("LowerLeg", "Foot"))


def stray_runs(clip: HumanoidClip, fc: C.FootContacts) -> tuple[C.FootContacts, list[tuple[int, int, int, float]]]:
    """The contacts without the runs over which the foot's pivot strays further than its leg's length from its mean,
    horizontally, and those runs as (foot, start, end, metres). Pinned at that mean, such a foot is out of its leg's
    reach: it was marked planted while it went with the body (a crawl backwards: one foot "planted" for 20 s while it
    went 3.5 m), and the leg was pulled round after a point metres away (that clip's PA-MPJPE 76 -> 117 mm).
    Measured after carry_hips, as lock_feet sees the clip: on 92 training clips through the noise model and 11 real
    videos no run strays more than 0.38 m; of the 685 held-out runs, that crawl's and a lying-down's stray 1.3 m, the
    next 0.56 (ml/EXPERIMENTS.md, "A foot that goes with the body")."""
    heels, toes = C.sole_points(clip)
    heel, toe = fc.heel.copy(), fc.toe.copy()
    strays = []
    for f, side in enumerate(C.SIDES):
        leg = leg_length(clip, side)
        pivot = pivots(heels[:, f, 1], toes[:, f, 1], fc.foot[:, f])
        point = np.where((pivot == 1)[:, None], toes[:, f], heels[:, f])[:, [0, 2]]
        for s, e in C.runs(fc.foot[:, f]):
            shift = float(np.linalg.norm(point[s:e] - point[s:e].mean(axis=0), axis=-1).max())
            if shift > leg:
                heel[s:e, f] = toe[s:e, f] = False
                strays.append((f, s, e, shift))
    return C.FootContacts(heel=heel, toe=toe), strays


def _ankle_targets(ankle: np.ndarray, heel: np.ndarray, toe: np.ndarray, pivot: np.ndarray,
                   blend: int) -> tuple[np.ndarray, np.ndarray]:
    """One foot: ankle targets (T, 3), given its pivots (see pivots), and how far each frame's target is held to
    its pin (T,): 1 in a contact run, fading to 0 around it.

    Inside a contact run the foot rolls over a pivot that does not slide, pinned on the floor (y = 0) where the
    foot came down: pinned at the height it came down at, a foot that landed a few cm up floated through its stance
    (held-out mocap PA-MPJPE 79.1 -> 78.1 mm with it on the floor). When the pivot changes (heel strike -> toe off)
    the new pivot is pinned where it is at that moment, so the ankle target never jumps. The run's pins
    then move together, horizontally, by the mean of the correction over the run: the foot is pinned where it moves
    the generated foot least, not where it first touched down, which is where a contact's timing is least sure
    (training clips through the noise model: PA-MPJPE 67.9 -> 65.2 mm; ml/EXPERIMENTS.md). Not vertically: the
    height comes from the floor, and moving it too let more toes into the floor for little gain. Around a run the
    correction (target minus where the ankle was) fades out over `blend` frames, so the foot is not dragged back.
    Where the fades of two runs overlap (a gap under 2 * blend frames) their weights add, up to a full hold, and the
    correction is their weighted mean: it passes from one pin's to the other's. Taking the larger weight's switched
    between them in one frame, and where one stance had been split into two pins a knee jumped 25 degrees.
    """
    T = len(ankle)
    planted = pivot >= 0
    target = ankle.copy()
    weight = np.zeros(T)  # summed fade weights and weighted corrections of the frames around the runs
    shift = np.zeros((T, 3))
    for s, e in C.runs(planted):
        pin = np.zeros(3)
        for t in range(s, e):
            point = (heel, toe)[pivot[t]][t] - ankle[t]  # pivot offset from the ankle at this frame
            if t == s:
                pin = ankle[t] + point
                pin[1] = 0.0  # on the floor, wherever the foot came down
            elif pivot[t] != pivot[t - 1]:
                pin = target[t - 1] + point
            target[t] = pin - point
        target[s:e, [0, 2]] -= (target[s:e, [0, 2]] - ankle[s:e, [0, 2]]).mean(axis=0)
        for k in range(1, blend + 1):
            w = _smoothstep(1.0 - k / (blend + 1))
            for t, b in ((s - k, s), (e - 1 + k, e - 1)):
                if 0 <= t < T and not planted[t]:
                    weight[t] += w
                    shift[t] += w * (target[b] - ankle[b])
    near = ~planted & (weight > 0)
    target[near] = ankle[near] + shift[near] / np.maximum(weight[near], 1.0)[:, None]
    return target, np.where(planted, 1.0, np.minimum(weight, 1.0))


# How far foot locking may lower the Hips so that a leg reaches its pinned foot. A few cm take up bone-length
# and timing slop; more (it was 12 cm) sank running clips' hips by up to the whole amount and, on training
# clips through the noise model and rendered training takes, cost PA-MPJPE and the hips' height for a little
# less sliding (ml/EXPERIMENTS.md, "How far the hips come down").
MAX_HIPS_DROP_M = 0.03


def _hips_drop(hip: np.ndarray, target: np.ndarray, reach: float) -> np.ndarray:
    """(T,) how far the Hips must come down so that a hip joint reaches its ankle target."""
    dh = np.linalg.norm((target - hip)[:, [0, 2]], axis=-1)
    vertical = np.sqrt(np.maximum(reach**2 - dh**2, 0.0))
    return np.maximum(hip[:, 1] - target[:, 1] - vertical, 0.0)


def smooth_envelope(x: np.ndarray, width: int, loop: bool = False) -> np.ndarray:
    """A smooth curve at or above x almost everywhere: a running max, then a running mean of it. loop: x belongs to
    a loop (edit.loop: its last frame is its first), and the curve runs round it, the same at both ends."""
    if width < 1 or not np.any(x > 0):
        return x
    loop = loop and len(x) > 2
    mode: Literal["wrap", "edge"]
    y, mode = (x[:-1], "wrap") if loop else (x, "edge")  # a loop's last frame is its first: padded round it
    m = np.lib.stride_tricks.sliding_window_view(np.pad(y, width, mode=mode), 2 * width + 1).max(axis=-1)
    out = np.convolve(np.pad(m, width, mode=mode), np.ones(2 * width + 1) / (2 * width + 1), mode="valid")
    return np.append(out, out[0]) if loop else out


FOLLOW_TRIM_S = 0.13  # seconds (4 frames at 30 fps) at each end of a contact that the Hips do not follow
MAX_FOLLOW_SPEED = 2.0  # m/s: a planted pivot this fast over the floor and about the Hips is not followed


def _trimmed(planted: np.ndarray, k: int) -> np.ndarray:
    """(T, 2) contacts without the first and last k frames of each run."""
    out = planted.copy()
    for f in range(planted.shape[1]):
        for s, e in C.runs(planted[:, f]):
            out[s:s + k, f] = False
            out[e - k:e, f] = False
    return out


def root_from_contacts(clip: HumanoidClip, planted: np.ndarray, trim: int | None = None) -> HumanoidClip:
    """Carry the Hips horizontally with the planted feet: on each frame step where a foot is planted at both
    ends, the Hips move by the generator's step minus the world step of the point that foot rolls over (its
    pivot, heel or toe: see pivots), the mean over planted feet. So a planted foot's pivot no longer slides
    while the pose, relative to the Hips, is untouched. A generator's root velocity is its least reliable
    output (a monocular video shows little of it); the feet show it.

    The pivot, not the ankle: the ankle travels forward as the heel rises over the toe, and following it pulled
    the Hips back on every step. And not a contact's first and last `trim` frames (default FOLLOW_TRIM_S of
    them): there its timing is uncertain (the network's contact starts and ends fall within two frames of the
    true ones 93-94 % of the time on training clips), the foot may still be landing or already lifting, and
    following it pulled the Hips back too; foot locking still pins those frames. Since the feet are pinned where
    they move the generated foot least, trimming up to about four frames costs no pose. Both measured in
    ml/EXPERIMENTS.md (held-out mocap root path error 259 -> 212 -> 193 -> 184 mm). Nor a step where the pivot moves
    faster than MAX_FOLLOW_SPEED both over the floor and about the Hips (a glitching leg)."""
    if clip.frame_count < 2 or not planted.any():
        return clip
    trim = int(round(FOLLOW_TRIM_S * clip.fps)) if trim is None else trim
    planted = _trimmed(planted, trim)
    heel, toe = C.sole_points(clip)
    corr = np.zeros((clip.frame_count - 1, 2))
    hips_step = np.diff(clip.hips[:, [0, 2]], axis=0)
    n = np.zeros((clip.frame_count - 1, 1))
    for f in range(2):
        pivot = pivots(heel[:, f, 1], toe[:, f, 1], planted[:, f])
        point = np.where((pivot == 1)[:, None], toe[:, f], heel[:, f])[:, [0, 2]]
        other = np.where((pivot == 1)[:, None], heel[:, f], toe[:, f])[:, [0, 2]]
        # the step (t-1 -> t) of the point that is the pivot at t, on both frames
        step = point[1:] - np.where((pivot[1:] == pivot[:-1])[:, None], point[:-1], other[:-1])
        # A "planted" pivot moving fast both over the floor and about the Hips is the generated leg glitching: not
        # followed (a balancing take's Hips jumped 19 cm in a frame, following a foot that flew 10-20 cm while marked
        # planted). A foot sliding with the body (legs that do not step) is slow about the Hips, and one the body
        # passes over, however fast it runs, is slow over the floor: both are followed.
        glitch = np.minimum(np.linalg.norm(step, axis=-1), np.linalg.norm(step - hips_step, axis=-1))
        steady = glitch < MAX_FOLLOW_SPEED / clip.fps
        both = (planted[1:, f] & planted[:-1, f] & steady)[:, None]
        corr -= np.where(both, step, 0.0)
        n += both
    # The mean over planted feet: following only the stiller one leaves the other to foot locking's IK,
    # which bends the legs more (held-out mocap: MPJPE +10 mm).
    hips = clip.hips.copy()
    hips[1:, [0, 2]] += np.cumsum(corr / np.maximum(n, 1.0), axis=0)
    return replace(clip, hips=hips)


# Where the planted feet step less than this share of the generator's distance, the Hips keep the generator's
# path (steps_short). On real MediaPipe output of a walk along the camera's line of sight the generated legs
# barely step, and carried with the feet the Hips walked in place (render B24: root path 157 -> 1094 mm). Chosen
# on the 118 rendered training takes (ml/EXPERIMENTS.md, "Walking in place").
MIN_STEP_SHARE = 0.5
MIN_TRAVEL_M = 1.0  # ... and only where the generator's Hips go at least this far
TRAVEL_SIGMA_S = 0.5  # the path is low-passed over this many seconds first, so that jitter does not count


def travel_m(clip: HumanoidClip) -> float:
    """Length (m) of the Hips' horizontal path, low-passed over TRAVEL_SIGMA_S."""
    xz = gaussian_lowpass(clip.hips[:, [0, 2]], TRAVEL_SIGMA_S * clip.fps)
    return float(np.linalg.norm(np.diff(xz, axis=0), axis=-1).sum())


# The Hips go this share of the way from the generator's path to the one the planted feet carry them on. Two
# estimates of one path, with errors of their own: the feet's add up step by step, the generator's come from a
# monocular view of the body. Held-out mocap root path: 155 mm raw, 184 carried, 130 half-way (renders: 235, 268,
# 249). Chosen on the training clips through the noise model and the rendered training takes: 1 / 0.65 / 0.5 /
# 0.35 / 0 (ml/EXPERIMENTS.md, "Half-way between two paths"). The analytic path, measured the same way, picks the same
# share: its pose is also best from 0.75 to 0.5.
CARRY_SHARE = 0.5
CARRY_SIGMA_S = 0.1  # seconds over which the carried correction is low-passed


def steps_short(clip: HumanoidClip, carried: HumanoidClip) -> str | None:
    """Why the feet cannot be locked, if they cannot: the planted feet step far short of where the generator's Hips
    went (carried: root_from_contacts of the clip). Pinned where they were planted, such feet pulled the legs
    straight and the knees snapped; refine then keeps the clip's path and locks no foot."""
    went, stepped = travel_m(clip), travel_m(carried)
    if went < MIN_TRAVEL_M or stepped >= MIN_STEP_SHARE * went:
        return None
    return (f"the planted feet step {stepped:.1f} m where the body travels {went:.1f} m (as in a walk towards or away "
            "from the camera, which shows little of its stride): the hips keep the generated path and the feet are "
            "not locked, so they may slide")


def carry_hips(clip: HumanoidClip, carried: HumanoidClip) -> HumanoidClip:
    """The Hips CARRY_SHARE of the way to the carried path (root_from_contacts of the clip), the correction
    low-passed over CARRY_SIGMA_S: it changes pace where a foot starts or stops being followed, and the Hips are not
    to surge (a walk's root went 1.38 -> 0.04 -> 1.45 m/s in three frames); foot locking pins the feet anyway."""
    shift = gaussian_lowpass(carried.hips - clip.hips, CARRY_SIGMA_S * clip.fps)
    return replace(clip, hips=clip.hips + CARRY_SHARE * shift)


def raise_above_floor(clip: HumanoidClip, blend: int | None = None, loop: bool = False) -> HumanoidClip:
    """Raise the Hips (smoothly, over `blend` frames: default BLEND_S) where a heel or toe is below y = 0: the whole
    pose goes up, so no knee has to bend to pull a foot out of the floor. loop: the clip is a loop, and the lift runs
    round it (smooth_envelope)."""
    blend = blend_frames(clip.fps) if blend is None else blend
    heels, toes = C.sole_points(clip)
    depth = np.maximum(-np.minimum(heels[..., 1], toes[..., 1]).min(axis=1), 0.0)
    hips = clip.hips.copy()
    hips[:, 1] += smooth_envelope(depth, blend, loop)
    return replace(clip, hips=hips)


# Toes on the floor bend up as the heel rises (roll-off), up to TOE_BEND_MAX_DEG; fully within TOE_FLOOR_M of the
# floor, not at all from twice that.
TOE_FLOOR_M = 0.015
TOE_BEND_MAX_DEG = 60.0
_TOE_FORWARD = np.array([0.0, 0.0, 1.0])  # the toes' own direction at rest (our T-pose faces +Z, feet flat)


def level_toes(clip: HumanoidClip) -> HumanoidClip:
    """Bend the toes up so that they lie level where their joint is on the floor and the heel has risen. No landmark
    sees the toes (they are held at rest), and a rigid foot rolling over the ball pushed its toe tips into the floor:
    the toes of a character with long ones (Xbot, 9 cm) went 3-5 cm under it at every step."""
    pos, rot = clip.world()
    out = clip.rotations.copy()
    for side in C.SIDES:
        t = clip.index(f"{side}Toes")
        tip = R.apply(rot[:, t], np.broadcast_to(_TOE_FORWARD, (clip.frame_count, 3)))
        level = tip * [1.0, 0.0, 1.0]
        ok = (tip[:, 1] < 0.0) & (np.linalg.norm(level, axis=-1) > 1e-6)
        bend = R.between(tip, np.where(ok[:, None], level, tip))  # world turn that levels the toes
        angle = np.degrees(R.angle_between(bend, R.identity((len(bend),))))
        w = (1.0 - _smoothstep((pos[:, t, 1] - TOE_FLOOR_M) / TOE_FLOOR_M)) * np.minimum(
            1.0, TOE_BEND_MAX_DEG / np.maximum(angle, 1e-9))
        bend = R.slerp(R.identity((len(bend),)), bend, w)
        parent = rot[:, clip.parents[t]]
        out[:, t] = R.normalize(R.multiply(R.conjugate(parent), R.multiply(bend, rot[:, t])))
    return replace(clip, rotations=out)


# Seconds over which a foot's pin, or a lift out of the floor, fades in and out. Longer fades are a little smoother and
# slide a little less, but change more of a clean clip: 0.2 s took refine's change to clean mocap's joint angles from
# +0.82 to +0.98 degrees, at its +1 degree target (ml/EXPERIMENTS.md, "How long a pin fades").
BLEND_S = 0.12


def blend_frames(fps: float) -> int:
    return max(1, int(round(BLEND_S * fps)))


# The last share of a leg's length over which a pin near or out of reach is approached ever more slowly
# (ik.solve_two_bone's soft): clamped at full reach, a knee bent 36 degrees went straight in one frame and popped
# back when the pin let go (real videos: 35-41 degree steps on four of eleven, knees held straight for up to 35
# frames; now none straight, those four's worst steps 17-21 degrees). Held-out mocap after refine: PA-MPJPE 77.87
# -> 77.78 mm, acceleration error 9.41 -> 9.21, sliding 4.73 -> 4.78 mm/frame (ml/EXPERIMENTS.md, "Knees
# straightened to reach a pin").
SOFT_REACH = 0.05


def lock_feet(clip: HumanoidClip, fc: C.FootContacts) -> tuple[HumanoidClip, LockStats]:
    """Pin planted feet (the clip's floor must already be y = 0) and solve the legs by IK."""
    blend = blend_frames(clip.fps)
    clip = raise_above_floor(clip, blend)
    pos, rot = clip.world()
    heels, toes = C.sole_points(clip)
    legs = []
    for f, side in enumerate(C.SIDES):
        idx = [clip.index(f"{side}{b}") for b in ("UpperLeg", "LowerLeg", "Foot", "Toes")]
        ankle, heel, toe = pos[:, idx[2]], heels[:, f], toes[:, f]
        target, held = _ankle_targets(ankle, heel, toe, pivots(heel[:, 1], toe[:, 1], fc.foot[:, f]), blend)
        # Keep heel and toe out of the floor (the foot keeps its world rotation, so their offsets are known).
        floor = np.maximum(-(heel - ankle)[:, 1], -(toe - ankle)[:, 1])
        target[:, 1] = np.maximum(target[:, 1], floor)
        reach = 0.999 * leg_length(clip, side)
        legs.append((idx, target, held, floor, reach))
    drop = np.max([_hips_drop(pos[:, idx[0]], target, reach) for idx, target, _, _, reach in legs], axis=0)
    # Past MAX_HIPS_DROP_M the foot falls short instead. The drop is what full reach needs: within the last
    # SOFT_REACH of the leg the soft IK falls short of a pin by up to about 2 cm too.
    drop = np.minimum(smooth_envelope(drop, blend), MAX_HIPS_DROP_M)
    hips = clip.hips.copy()
    hips[:, 1] -= drop
    out = replace(clip, hips=hips)
    pos, rot = out.world()
    new_rot = out.rotations.copy()
    hips_i = out.index("Hips")
    for idx, target, held, floor, _ in legs:
        # A foot not held to its pin comes down with the Hips, keeping the generated leg's bend (left at its
        # generated height, a lowered leg straightened to reach it: a 3 cm drop unbends a straight-ish knee by about
        # 30 degrees), as far as the floor lets it.
        target[:, 1] = np.maximum(target[:, 1] - (1.0 - held) * drop, floor)
        # A knee bends toward the toes: one a little past straight (joint limits allow -5 deg) was bent further
        # back to reach its pin (up to -22 deg).
        toes_dir = pos[:, idx[3]] - pos[:, idx[2]]
        sol = ik.solve_two_bone(pos[:, idx[0]], pos[:, idx[1]], pos[:, idx[2]], target, pole=toes_dir, hinge=True,
                                soft=SOFT_REACH)
        up, low, end = ik.apply_to_clip_chain(rot[:, idx[:3]], rot[:, hips_i], sol)
        new_rot[:, idx[0]], new_rot[:, idx[1]], new_rot[:, idx[2]] = up, low, end
    out = replace(out, rotations=new_rot)
    return out, LockStats(int(fc.foot.sum()), float(drop.max()) if len(drop) else 0.0)
