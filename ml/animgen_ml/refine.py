"""The "refine" stage: make a generated clip game-ready.

Order matters: contacts first (everything below uses them), then the floor (contacts are judged against it),
joint limits and symmetric bone lengths (IK needs the final lengths), foot locking, and last the user's
edits, which must not be undone by anything else. The loop is blended before foot locking too, so that the feet
are locked on the looped motion.
"""

from __future__ import annotations

import re

import numpy as np

from animgen_ml import contacts as C
from animgen_ml import edit, footlock, ground, limits, solver
from animgen_ml.clip import HumanoidClip
from animgen_ml.landmarks import LM, Landmarks

# Landmarks per body part, for "out of frame" / "hidden" warnings.
_PARTS = {
    "lower body": [LM[n] for n in ("left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
                                   "right_heel", "left_foot_index", "right_foot_index")],
    "left arm": [LM[n] for n in ("left_elbow", "left_wrist")],
    "right arm": [LM[n] for n in ("right_elbow", "right_wrist")],
    "head": [LM[n] for n in ("nose", "left_ear", "right_ear")],
}
LOOP_GAP_WARN_DEG = 30.0  # --loop warns when a bone of the last pose is this far from the first
MIN_WARN_S = 0.3  # shorter losses are bridged by cleaning and not worth a warning
MERGE_GAP_S = 0.5  # losses of one part closer than this are reported as one
_SIDE = re.compile(r"\b(?:left|right) |\b(?:Left|Right)[A-Z]")  # "right arm", "left hand", "LeftUpperLeg"


def _contacts(clip: HumanoidClip, landmarks: Landmarks | None, floor: float | None = None) -> C.FootContacts:
    """The generator's contacts (the network's), else those found on the clip; none where the pose is held for want
    of a person while the Hips travel on (solver.carried_unseen)."""
    if clip.metadata.get("contacts_source") == "network":
        c = clip.contacts.astype(bool)
        fc = C.FootContacts(heel=c.copy(), toe=c.copy())
    else:
        fc = C.detect(clip, floor=floor)
    if landmarks is None or landmarks.frame_count != clip.frame_count:
        return fc
    held = solver.carried_unseen(clip.hips[:, [0, 2]], solver.seen_frames(landmarks), clip.fps)[:, None]
    return C.FootContacts(heel=fc.heel & ~held, toe=fc.toe & ~held)


def refine(clip: HumanoidClip, landmarks: Landmarks | None, options) -> tuple[HumanoidClip, list[str]]:
    """options: a pipeline.GenerateOptions (foot_lock, speed, fps, mirror, in_place, loop, face_forward)."""
    warnings = visibility_warnings(landmarks) if landmarks is not None else []
    from_network = clip.metadata.get("contacts_source") == "network"
    fc = _contacts(clip, landmarks)
    clip = ground.put_on_ground(clip, ground.floor_from_contacts(clip, fc))
    if not from_network:
        fc = _contacts(clip, landmarks, floor=0.0)
    clip = limits.symmetric_offsets(clip)
    # No untwist_hinges here: both generators deliver knees and elbows as hinges, and a second pass only
    # moved slightly bent limbs' twist away from the truth (held-out mocap joint angles +0.43 deg).
    clip, _, skipped = limits.apply_limits(clip)
    if skipped:
        warnings.append(f"joint limits not applied to {', '.join(skipped)}: bent the other way in most frames")
    if options.loop:
        # Blended into a loop, its speeds through the seam met, before the feet are locked, so that they are locked
        # on the looped motion: blended after, planted feet slid and sank into the floor over the blend. The last
        # frame's contacts are the first's (the same instant of the loop).
        bone, gap = edit.loop_gap(clip)
        if gap > LOOP_GAP_WARN_DEG:
            warnings.append(f"--loop: the last pose is far from the first ({bone} {gap:.0f}° apart); the last "
                            f"{edit.LOOP_BLEND_S:g} s turn it back: cut the video to whole cycles with --start and "
                            f"--end{_loop_cut_hint(clip, landmarks)}")
        clip = edit.match_seam_speed(edit.loop(clip))
        fc = C.FootContacts(heel=np.concatenate([fc.heel[:-1], fc.heel[:1]]),
                            toe=np.concatenate([fc.toe[:-1], fc.toe[:1]]))
    locked = False
    if options.foot_lock and clip.frame_count > 1:
        # The path the planted feet carry the Hips on: whether the feet can be locked at all, then how the Hips go.
        carried = footlock.root_from_contacts(clip, fc.foot) if fc.foot.any() else None
        if carried is None:
            warnings.append("no foot contact found: foot locking skipped")
        elif warning := footlock.steps_short(clip, carried):
            warnings.append(warning)
        else:
            clip, fc, strays = _lock_loop(clip, fc) if options.loop else _lock(clip, fc, carried)
            for f, s, e, shift in strays:
                warnings.append(f"the {C.SIDES[f].lower()} foot is marked planted from {s / clip.fps:.1f} s to "
                                f"{e / clip.fps:.1f} s but strays {shift:.1f} m from one spot, out of its leg's reach: "
                                "not locked there")
            locked = True
    if not locked:  # the floor is the planted feet's median height: about half of them were under it
        clip = footlock.raise_above_floor(clip)
    metadata = dict(clip.metadata)
    metadata.setdefault("contacts_source", "heuristic")
    metadata["feet_locked"] = "yes" if locked else "no"  # a --target character's feet are locked only where ours were
    clip = _with(clip, contacts=fc.foot, metadata=metadata)
    if options.speed != 1.0 or (options.fps is not None and options.fps != clip.fps):
        # The clip is made at the video's own rate and only then sampled at --fps: made at that rate, the motion
        # itself changed (the gym walk's refined hips ended 17 cm apart at 24 and 30 fps). Resampled between
        # frames, a sole on the floor dips into it (up to 7 mm seen): the pose comes up there.
        clip = footlock.raise_above_floor(edit.retime(clip, options.speed, options.fps))
    if options.mirror:
        clip = edit.mirror(clip)
        warnings = said_mirrored(warnings)
    if options.face_forward:
        clip = edit.face_forward(clip)
    if options.loop:
        # What is left between the two ends (--speed may drop the looped last frame; locking, round the seam, leaves
        # little) blended out, the Hips' path kept; then feet that this pushed into the floor come out, the lift
        # running round the loop so that both ends rise alike. (Raised at one end only and the other end then lifted
        # to it, a looped walk's start had floated 2 cm and its hips left the seam at -4 mm/s where they arrived at
        # -50.)
        clip = footlock.raise_above_floor(edit.loop(clip, keep_path=True), loop=True)
    clip = edit.start_at_origin(clip)
    if options.in_place:
        clip = edit.in_place(clip)
    return clip, warnings


def _loop_cut_hint(clip: HumanoidClip, landmarks: Landmarks | None) -> str:
    """' (--end 3.52 ends the last loop that closes within 30°)', or where no loop from the start closes,
    ' (--start 1.20 --end 3.52 ...)': the longest stretch that comes back that well (edit.loop_span) where the person
    was seen, in the video's clock (the cleaned landmarks' times); '' where none does."""
    grid = landmarks if landmarks is not None and landmarks.frame_count == clip.frame_count else None
    span = edit.loop_span(clip, LOOP_GAP_WARN_DEG, seen=None if grid is None else solver.seen_frames(grid))
    if span is None:
        return ""
    times = None if grid is None else grid.times
    at = lambda k: times[k] if times is not None else k / clip.fps  # noqa: E731
    start, end = span
    cut = f"--start {at(start) - 0.5 / clip.fps:.2f} --end" if start else "--end"
    which = "is the longest loop in the cut that closes" if start else "ends the last loop that closes"
    return f" ({cut} {at(end) + 0.5 / clip.fps:.2f} {which} within {LOOP_GAP_WARN_DEG:.0f}°)"


def _lock(clip: HumanoidClip, fc: C.FootContacts, carried: HumanoidClip
          ) -> tuple[HumanoidClip, C.FootContacts, list[tuple[int, int, int, float]]]:
    """The Hips carried part of the way the planted feet take them (carried: footlock.root_from_contacts), runs that
    stray out of reach dropped, the feet locked: (clip, the contacts locked, the strays as footlock.stray_runs gives
    them)."""
    clip = footlock.carry_hips(clip, carried)
    fc, strays = footlock.stray_runs(clip, fc)
    clip, _ = footlock.lock_feet(clip, fc)
    return clip, fc, strays


def _lock_loop(clip: HumanoidClip, fc: C.FootContacts
               ) -> tuple[HumanoidClip, C.FootContacts, list[tuple[int, int, int, float]]]:
    """_lock on a loop (edit.loop: its last frame is its first), round its seam (edit.three_cycles), so that a foot
    planted across the seam is one contact with one pin and the Hips are carried alike at both ends. Locked as a
    clip, each end was pinned and carried on its own, they no longer met (knees up to 21 degrees, the Hips 3 cm
    apart), and closing the seam again slid planted feet there 2.2 mm a frame on loops cut from the real videos (0.04
    elsewhere; ml/EXPERIMENTS.md, "A loop's seam")."""
    T = clip.frame_count
    if fc.foot.all(axis=0).any():
        # A foot planted all through: the loop goes nowhere (an idle), and what travel it has is drift, which had
        # pulled that foot from its pin at one end.
        hips = clip.hips.copy()
        hips[:, [0, 2]] -= np.linspace(0.0, 1.0, T)[:, None] * (hips[-1, [0, 2]] - hips[0, [0, 2]])
        clip = _with(clip, hips=hips)
    frames, middle = edit.loop_frames(T), edit.middle_frames(T)
    cycles, fc = edit.three_cycles(clip), C.FootContacts(heel=fc.heel[frames], toe=fc.toe[frames])
    locked, fc, strays = _lock(cycles, fc, footlock.root_from_contacts(cycles, fc.foot))
    # Strays in the loop's own frames: those in the middle cycle, cut to it.
    strays = [(f, max(s - middle[0], 0), min(e - middle[0], T), shift) for f, s, e, shift in strays
              if s <= middle[-1] and e > middle[0]]
    return edit.middle_cycle(locked, clip), C.FootContacts(heel=fc.heel[middle], toe=fc.toe[middle]), strays


def said_mirrored(warnings: list[str]) -> list[str]:
    """Warnings that tell of the video (or of the clip before --mirror), as they read for the mirrored clip: a part
    named by its side is on the clip's other side."""
    return [f"{w} (in the clip, the other side: --mirror)" if _SIDE.search(w) else w for w in warnings]


def _with(clip: HumanoidClip, **changes) -> HumanoidClip:
    from dataclasses import replace

    return replace(clip, **changes)


def _spans(mask: np.ndarray, times: np.ndarray) -> list[tuple[int, int, float, float]]:
    """(start, end, t0, t1) of each stretch of `mask` worth a warning: stretches less than MERGE_GAP_S apart are
    one (an arm that flickers in and out behind the body is one warning, not a list), and those where `mask`
    holds for less than MIN_WARN_S in all are left out."""
    runs: list[tuple[int, int]] = []
    for s, e in C.runs(mask):
        if runs and times[s] - times[runs[-1][1]] < MERGE_GAP_S:
            runs[-1] = (runs[-1][0], e)
        else:
            runs.append((s, e))
    step = (times[-1] - times[0]) / max(len(times) - 1, 1)
    out = []
    for s, e in runs:
        t0 = float(times[s])
        t1 = float(times[e]) if e < len(times) else float(times[-1] + step)
        if np.count_nonzero(mask[s:e]) * step >= MIN_WARN_S - 1e-9:
            out.append((s, e, t0, t1))
    return out


def visibility_warnings(lm: Landmarks, threshold: float = 0.5) -> list[str]:
    """'lower body out of frame from 3.2 s to 4.0 s' for each long enough stretch where a body part is
    unseen: "out of frame" where its points lie mostly outside the image, "hidden" where they are inside it but
    MediaPipe does not see them (behind the body, in a side view); and stretches with no person at all."""
    if lm.frame_count == 0:
        return []
    times = np.asarray(lm.times, dtype=np.float64)
    warnings = [f"no person detected from {a:.1f} s to {b:.1f} s" for _, _, a, b in _spans(~lm.detected, times)]
    img = np.nan_to_num(lm.image[..., :2], nan=-1.0)
    outside = np.any((img < -0.02) | (img > 1.02), axis=-1)
    unseen = (np.nan_to_num(lm.visibility, nan=0.0) < threshold) | outside
    for part, idx in _PARTS.items():
        lost = lm.detected & (unseen[:, idx].mean(axis=1) > 0.5)
        gone = outside[:, idx].mean(axis=1) > 0.5
        for s, e, a, b in _spans(lost, times):
            where = "out of frame" if gone[s:e][lost[s:e]].mean() >= 0.5 else "hidden"
            warnings.append(f"{part} {where} from {a:.1f} s to {b:.1f} s")
    return warnings
