"""Foot locking and the whole refine stage on synthetic walking with known contacts, and on mocap from the kit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import refine_synth

from animgen_ml import contacts as C
from animgen_ml import edit, footlock, mocap
from animgen_ml import rotations as R
from animgen_ml.landmarks import Landmarks
from animgen_ml.pipeline import GenerateOptions
from animgen_ml.refine import refine


def _sliding_mm(clip, mask) -> float:
    pos, _ = clip.world()
    out = []
    for f, side in enumerate(C.SIDES):
        xz = pos[:, clip.index(f"{side}Foot")][:, [0, 2]]
        step = np.linalg.norm(np.diff(xz, axis=0), axis=-1)
        out.append(step[mask[1:, f] & mask[:-1, f]])
    return float(np.concatenate(out).mean() * 1000)


def _pivot_sliding_mm(clip) -> float:
    """Mean horizontal motion of the least moving sole point (heel or toe) of planted feet."""
    heel, toe = C.sole_points(clip)
    step = np.minimum(np.linalg.norm(np.diff(heel[..., [0, 2]], axis=0), axis=-1),
                      np.linalg.norm(np.diff(toe[..., [0, 2]], axis=0), axis=-1))
    both = clip.contacts[1:] & clip.contacts[:-1]
    return float(step[both].mean() * 1000)


def _noisy_walk():
    clip, truth = refine_synth.walk(seconds=4.0, fps=30.0)
    rng = np.random.default_rng(3)
    noisy = replace(clip, rotations=R.normalize(clip.rotations + rng.normal(0, 0.003, clip.rotations.shape)),
                    hips=clip.hips + [0.0, 0.1, 0.0] + rng.normal(0, 0.0015, clip.hips.shape))
    return clip, noisy, truth


def test_refine_plants_feet_on_the_ground():
    clean, noisy, truth = _noisy_walk()
    before = _sliding_mm(noisy, truth)
    out, warnings = refine(noisy, None, GenerateOptions())
    after = _sliding_mm(out, truth)
    assert before > 5.0  # the noise makes the feet slide...
    # ...and locking stops it (acceptance: <= 5 mm/frame). Measured 2.19: contacts found from the low-passed foot
    # speed start and end about a frame inside the true ones on input this clean (1.9 with the raw speed, which
    # on jittery input finds far fewer contacts: benchmarks/refine_mocap.py).
    assert after <= 2.5
    assert _pivot_sliding_mm(out) < 0.1  # the foot rolls over a pivot (heel or toe) that does not slide
    heel, toe = C.sole_points(out)
    lowest = np.minimum(heel[..., 1], toe[..., 1]).min(axis=1)
    assert (lowest < -0.01).mean() == 0.0  # no penetration deeper than 1 cm
    assert abs(np.median(lowest[out.contacts.any(axis=1)])) < 0.01  # floor at y = 0
    assert C.f1(out.contacts, truth) >= 0.9
    err_before = np.degrees(R.angle_between(noisy.rotations, clean.rotations)).mean()
    err_after = np.degrees(R.angle_between(out.rotations, clean.rotations)).mean()
    assert err_after <= err_before + 1.0
    assert np.isfinite(out.rotations).all() and warnings == []
    assert out.metadata["feet_locked"] == "yes"  # a --target character's feet are locked too


def test_refine_leaves_a_clean_walk_alone():
    clean, truth = refine_synth.walk(seconds=3.0, fps=30.0)
    out, _ = refine(clean, None, GenerateOptions())
    assert np.degrees(R.angle_between(out.rotations, clean.rotations)).max() < 0.01
    assert np.abs(out.hips - clean.hips).max() < 1e-6


def test_refine_keeps_the_generators_limb_twist():
    """Both generators deliver knees and elbows that bend as hinges (the network's output is untwisted, the solver
    takes the thigh's and upper arm's twist from the hinge plane); a slightly bent limb's plane is loosely defined,
    and real legs carry a few degrees of thigh roll. Refine keeps the twist it is given: no joint moves by it, and a
    second untwist only took the joint angles further from the truth (held-out mocap +0.43 deg)."""
    clean, _ = refine_synth.walk(seconds=3.0, fps=30.0)
    clip = replace(clean, rotations=clean.rotations.copy())
    for side in C.SIDES:  # 8 degrees of thigh roll, the shin turned back: the same pose
        thigh, shin = clip.index(f"{side}UpperLeg"), clip.index(f"{side}LowerLeg")
        roll = R.from_axis_angle([0.0, -1.0, 0.0], np.radians(8.0))
        clip.rotations[:, thigh] = R.multiply(clip.rotations[:, thigh], roll)
        clip.rotations[:, shin] = R.multiply(R.conjugate(roll), clip.rotations[:, shin])
    np.testing.assert_allclose(clip.world()[0], clean.world()[0], atol=1e-9)
    out, _ = refine(clip, None, GenerateOptions())
    assert np.degrees(R.angle_between(out.rotations, clip.rotations)).max() < 0.01


def test_a_heel_that_rises_over_the_toes_does_not_pull_the_root_back():
    """In a stance the heel comes up and the foot rolls over its toes: the ankle travels forward (20 cm a step
    here) while the toe joint stays put. The Hips follow the planted foot's pivot, so a clean walk keeps its
    root (following the ankle pulled it 0.36 m back over these 4 s)."""
    clean, truth = refine_synth.walk(seconds=4.0, fps=30.0, heel_rise=0.6)
    pos, _ = clean.world()
    ankle = pos[:, clean.index("LeftFoot")][:, [0, 2]]
    still = truth[1:, 0] & truth[:-1, 0]
    assert np.linalg.norm(np.diff(ankle, axis=0), axis=-1)[still].sum() > 0.15  # the ankle does travel
    out, _ = refine(clean, None, GenerateOptions())
    assert np.abs(out.hips - clean.hips).max() < 0.005
    assert _pivot_sliding_mm(out) < 0.5  # and the feet stay planted (contacts found here end a frame late)


def test_contacts_a_little_wide_do_not_drag_the_root():
    """A contact's ends are uncertain by a frame or two (the network's, measured), and there the foot still
    moves: the Hips do not follow a contact's first and last few frames, so contacts two frames too wide leave
    a clean walk's root alone."""
    clean, truth = refine_synth.walk(seconds=4.0, fps=30.0, heel_rise=0.6)
    wide = truth.copy()
    for k in (1, 2):
        wide[k:] |= truth[:-k]
        wide[:-k] |= truth[k:]
    out = footlock.root_from_contacts(clean, wide)
    assert np.abs(out.hips - clean.hips).max() < 0.005
    # following every frame of them would have pulled the root back by a step's worth
    dragged = footlock.root_from_contacts(clean, wide, trim=0)
    assert np.abs(dragged.hips - clean.hips).max() > 0.05


def test_a_planted_leg_that_glitches_does_not_drag_the_root(monkeypatch):
    """MediaPipe flips a planted leg for a few frames (a balancing take: the foot flew 10-20 cm while marked
    planted, and the Hips, following it, jumped 19 cm in a frame). A pivot that fast is not followed."""
    clean, truth = refine_synth.walk(seconds=4.0, fps=30.0)
    runs = [(s, e) for s, e in C.runs(truth[:, 0]) if e - s >= 12]
    s, e = runs[0]
    m = (s + e) // 2
    leg = clean.index("LeftUpperLeg")
    rot = clean.rotations.copy()
    kick = R.from_axis_angle(np.array([1.0, 0.0, 0.0]), np.radians(40.0))
    rot[m:m + 3, leg] = R.multiply(rot[m:m + 3, leg], kick)
    glitch = replace(clean, rotations=rot)
    out = footlock.root_from_contacts(glitch, truth)
    assert np.abs(out.hips - clean.hips).max() < 0.02
    monkeypatch.setattr(footlock, "MAX_FOLLOW_SPEED", 1e9)  # followed, as before: dragged half a metre
    dragged = footlock.root_from_contacts(glitch, truth)
    assert np.abs(dragged.hips - clean.hips).max() > 0.3


def test_a_foot_marked_planted_while_it_goes_with_the_body_is_not_pinned(monkeypatch):
    """The network marked a crawling foot planted for 20 s while it went 3.5 m with the body; pinned at one point,
    the leg was pulled round after it (held-out PA-MPJPE 76 -> 117 mm). Here a walk's left foot is marked planted
    through two seconds of its steps: that run is dropped, with a warning, and the leg keeps its own motion, while
    the right foot's true plants are still locked."""
    clean, truth = refine_synth.walk(seconds=4.0, fps=30.0)
    contacts = truth.copy()
    contacts[30:90, 0] = True  # the left foot travels 2 m in these frames, further than its leg is long
    marked = replace(clean, contacts=contacts, metadata={**clean.metadata, "contacts_source": "network"})
    out, warnings = refine(marked, None, GenerateOptions())
    assert not out.contacts[30:90, 0].any() and np.array_equal(out.contacts[:, 1], truth[:, 1])
    assert any(w.startswith("the left foot is marked planted from 1.0 s") and "not locked there" in w for w in warnings)
    thigh = clean.index("LeftUpperLeg")
    turned = np.degrees(R.angle_between(out.rotations[30:90, thigh], clean.rotations[30:90, thigh]))
    assert turned.max() < 10.0
    assert _pivot_sliding_mm(out) < 0.5  # the right foot's plants (and the left's own) do not slide

    monkeypatch.setattr(footlock, "stray_runs", lambda clip, fc: (fc, []))  # pinned as before: the leg is wrenched
    wrenched, _ = refine(marked, None, GenerateOptions())
    assert np.degrees(R.angle_between(wrenched.rotations[30:90, thigh], clean.rotations[30:90, thigh])).max() > 30.0


def test_unreachable_plant_lowers_the_hips_a_bounded_amount_without_penetration():
    clean, truth = refine_synth.walk(seconds=3.0, fps=30.0)
    # Claim each foot stays planted 8 frames longer: the Hips travel on, so the pinned foot falls out of
    # reach of the stretched leg unless the Hips come down.
    long = truth.copy()
    for k in range(1, 9):
        long[k:] |= truth[:-k]
    fc = C.FootContacts(heel=long, toe=long)
    out, stats = footlock.lock_feet(clean, fc)
    assert 0.01 < stats.hips_lowered_max <= footlock.MAX_HIPS_DROP_M + 1e-9  # a dip, never a crouch
    assert np.abs(out.hips[:, 1] - clean.hips[:, 1]).max() <= footlock.MAX_HIPS_DROP_M + 1e-9
    assert np.isfinite(out.rotations).all()
    # Out of reach even then, the pinned feet slide, but far less than unlocked (25 mm/frame here).
    assert _sliding_mm(out, long) < 0.15 * _sliding_mm(clean, long)
    heel, toe = C.sole_points(out)
    assert np.minimum(heel[..., 1], toe[..., 1]).min() > -1e-6


def test_a_free_foot_comes_down_with_the_hips():
    """The left foot held planted all along, soon out of reach, lowers the Hips; the right foot, never planted, goes
    down with them where it swings clear of the floor, and its knee keeps the generated bend (it had straightened
    to reach the generated height, by up to 9 degrees here)."""
    clean, truth = refine_synth.walk(seconds=3.0, fps=30.0)
    long = np.zeros_like(truth)
    long[:, 0] = True
    out, stats = footlock.lock_feet(clean, C.FootContacts(heel=long, toe=long))
    drop = clean.hips[:, 1] - out.hips[:, 1]
    heel, toe = C.sole_points(clean)
    lowered = (drop > 0.01) & (np.minimum(heel[:, 1, 1], toe[:, 1, 1]) > drop + 0.01)  # the right foot in the air
    assert stats.hips_lowered_max > 0.02 and lowered.sum() > 10

    def bend(clip):  # the knee's angle: thigh against shin
        pos, _ = clip.world()
        hip, knee, ankle = (pos[lowered, clip.index(f"Right{b}")] for b in ("UpperLeg", "LowerLeg", "Foot"))
        cos = np.sum((knee - hip) * (ankle - knee), -1) / np.linalg.norm(knee - hip, axis=-1) \
            / np.linalg.norm(ankle - knee, axis=-1)
        return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))

    assert np.abs(bend(out) - bend(clean)).max() < 1.0, np.abs(bend(out) - bend(clean)).max()


def test_a_contact_that_starts_early_pins_the_foot_where_it_rests():
    """A contact's first frames are its least sure: there the foot may still be swinging in. Pinned where it
    first touched, the whole stance would sit short of where the foot came to rest; pinned where it moves the
    generated foot least, the stance stays where the clip put it."""
    clean, truth = refine_synth.walk(seconds=4.0, fps=30.0)
    early = truth.copy()
    for k in (1, 2):
        early[:-k] |= truth[k:]
    out, _ = footlock.lock_feet(clean, C.FootContacts(heel=early, toe=early))
    before, _ = clean.world()
    after, _ = out.world()
    feet = [clean.index(f"{s}Foot") for s in C.SIDES]
    moved = np.linalg.norm((after[:, feet] - before[:, feet])[..., [0, 2]], axis=-1)  # (T, 2)
    swing_in = early & ~truth
    assert moved[swing_in].mean() > 0.02  # the early frames are pulled onto the pin ...
    # ... and the settled stance barely moves (pinned where the foot first touched: 63 mm)
    assert moved[truth].mean() < 0.01


def test_feet_that_step_far_short_of_the_travel_leave_the_hips_on_the_generated_path():
    """On a walk along the camera's line of sight the generated legs barely step while the generated Hips travel:
    carried with the planted feet, the Hips would walk in place. Here the generator says the body went eight times
    as far as its legs step (carried, the Hips would still travel at its speed where no foot is followed)."""
    clean, truth = refine_synth.walk(seconds=4.0, fps=30.0)
    fast = clean.hips * [1.0, 1.0, 8.0]
    clip = replace(clean, hips=fast, contacts=truth, metadata={"contacts_source": "network"})
    out, warnings = refine(clip, None, GenerateOptions())
    assert any("the planted feet step" in w for w in warnings), warnings
    assert np.abs(out.hips[:, [0, 2]] - fast[:, [0, 2]]).max() < 1e-9
    # Nor are the feet pinned where they were planted: the legs, stretched straight to reach them, snapped at each
    # step (a real walk towards the camera: 52 deg/frame^2 at the knees, 5 unlocked).
    legs = [clip.index(f"{s}{b}") for s in C.SIDES for b in ("UpperLeg", "LowerLeg", "Foot")]
    assert np.degrees(R.angle_between(out.rotations[:, legs], clip.rotations[:, legs])).max() < 1e-6
    assert out.metadata["feet_locked"] == "no"  # nor on a --target character (export.write_target)
    # Legs that step most of the way (here 1 m of every 1.3) still carry the Hips, without a warning: half-way
    # (CARRY_SHARE) from the generator's path to the one the feet step.
    slow = clean.hips * [1.0, 1.0, 1.3]
    out, warnings = refine(replace(clip, hips=slow), None, GenerateOptions())
    assert not any("the planted feet step" in w for w in warnings), warnings
    stepped = footlock.root_from_contacts(replace(clip, hips=slow), truth).hips[-1, 2]
    assert stepped - slow[-1, 2] < -0.4  # the feet say the body went 0.4 m less far ...
    assert abs(out.hips[-1, 2] - (slow[-1, 2] + 0.5 * (stepped - slow[-1, 2]))) < 0.01  # ... and it goes half that


def _rough_walk(seconds: float):
    """A walk with a heel that rises, rougher than _noisy_walk: 3.5 s ends half a stride away from where it began."""
    clip, _ = refine_synth.walk(seconds=seconds, fps=30.0, heel_rise=0.4)
    rng = np.random.default_rng(3)
    return replace(clip, rotations=R.normalize(clip.rotations + rng.normal(0, 0.01, clip.rotations.shape)),
                   hips=clip.hips + [0.0, 0.1, 0.0] + rng.normal(0, 0.004, clip.hips.shape))


def _lowest(clip) -> np.ndarray:
    heel, toe = C.sole_points(clip)
    return np.minimum(heel[..., 1], toe[..., 1]).min(axis=1)


def test_the_hips_carried_by_the_feet_do_not_surge():
    """Where the generator's hips run ahead of the feet, carrying them with the planted feet changes their pace where a
    foot starts or stops being followed: the correction is low-passed, so the Hips do not surge (a real walk's root had
    gone 1.38 -> 0.04 -> 1.45 m/s in three frames, 44 m/s^2)."""
    clean, truth = refine_synth.walk(seconds=4.0, fps=30.0)
    clip = replace(clean, hips=clean.hips * [1.0, 1.0, 1.3], contacts=truth, metadata={"contacts_source": "network"})
    out, _ = refine(clip, None, GenerateOptions())
    pace = np.diff(out.hips[:, [0, 2]], axis=0) * clip.fps
    assert np.linalg.norm(np.diff(pace, axis=0), axis=-1).max() * clip.fps < 1.5  # m/s^2; 4.5 before
    assert out.hips[-1, 2] < clip.hips[-1, 2] - 0.2  # still carried most of the way back towards the feet's path


def test_a_pose_held_for_want_of_a_person_plants_no_foot_while_the_hips_go_on():
    """A walker at 0.6 m/s unseen for a second: the analytic root goes straight on, and refine, which finds that
    path's contacts again, plants no foot under the held pose (it kept one planted and foot locking halved the Hips'
    speed there)."""
    from animgen_ml import bodymodel, solver

    clip, _ = refine_synth.walk(seconds=4.0, fps=30.0, speed=0.6)
    lm = bodymodel.landmarks_from_clip(clip)
    gap = slice(40, 70)
    lm.image[gap], lm.world[gap], lm.visibility[gap], lm.detected[gap] = np.nan, np.nan, 0.0, False
    solved = solver.solve(lm)
    out, _ = refine(solved, lm, GenerateOptions())
    assert not out.contacts[gap].any()
    pace = np.linalg.norm(np.diff(out.hips[:, [0, 2]], axis=0), axis=-1) * clip.fps
    assert abs(pace[40:69].mean() - 0.6) < 0.05


def _seam_sliding_mm(clip, frames: int = 15) -> tuple[float, float]:
    """Planted feet's mean step (the heel's or the toe's, whichever moved less; mm a frame) within `frames` of either
    end of a loop, and elsewhere."""
    heel, toe = C.sole_points(clip)
    step = np.minimum(np.linalg.norm(np.diff(heel[..., [0, 2]], axis=0), axis=-1),
                      np.linalg.norm(np.diff(toe[..., [0, 2]], axis=0), axis=-1)) * 1000
    planted = clip.contacts[1:] & clip.contacts[:-1]
    t = np.arange(len(step))[:, None]
    near = planted & ((t < frames) | (t >= len(step) - frames))
    return float(step[near].mean()), float(step[planted & ~near].mean())


def test_a_looped_clip_is_locked_on_its_looped_motion():
    """--loop blends the last 0.5 s towards the first pose, before the feet are locked, and the feet are locked round
    the seam. Blended after locking, the blend moved planted feet there 33 mm a frame on this walk; blended before
    with each end locked on its own, closing the seam again moved them 7.8 (1.1 now)."""
    out, warnings = refine(_rough_walk(3.5), None, GenerateOptions(loop=True))
    assert np.degrees(R.angle_between(out.rotations[-1], out.rotations[0])).max() < 1e-4
    assert abs(out.hips[-1, 1] - out.hips[0, 1]) < 1e-9
    near, elsewhere = _seam_sliding_mm(out)
    assert near < 2.0 and elsewhere < 1.0
    assert _lowest(out).min() > -0.005
    # --speed may drop the looped last frame (90 frames at 2x end on frame 88): still no foot in the floor.
    fast, _ = refine(_rough_walk(3.0), None, GenerateOptions(loop=True, speed=2.0))
    assert _lowest(fast).min() > -0.005 and abs(fast.hips[-1, 1] - fast.hips[0, 1]) < 1e-9
    # Half a stride apart, the ends are worth a warning, which says where the last loop that would not be ends; whole
    # strides are not.
    said = [w for w in warnings if w.startswith("--loop: the last pose is far from the first (RightLowerLeg 45°")]
    assert len(said) == 1 and "(--end " in said[0]
    end = float(said[0].split("(--end ")[1].split()[0])
    assert 2.0 < end < 3.5
    assert refine(edit.trim(_rough_walk(3.5), None, end), None, GenerateOptions(loop=True))[1] == []
    assert refine(_rough_walk(3.0), None, GenerateOptions(loop=True))[1] == []


def _arms_up_then(clip, seconds: float):
    """clip after `seconds` of its first pose with both arms raised overhead, which never comes back."""
    n = int(round(seconds * clip.fps))
    idx = np.r_[np.zeros(n, dtype=int), np.arange(clip.frame_count)]
    out = replace(clip, hips=clip.hips[idx], rotations=clip.rotations[idx].copy(), contacts=clip.contacts[idx],
                  confidence=clip.confidence[idx])
    for side, sign in (("Left", 1.0), ("Right", -1.0)):
        up = R.from_axis_angle(np.array([0.0, 0.0, 1.0]), sign * np.radians(80.0))
        arm = out.index(f"{side}UpperArm")
        out.rotations[:n, arm] = R.multiply(up, out.rotations[:n, arm])
    return out


def test_a_loop_warning_names_a_start_where_nothing_comes_back_to_the_first_pose():
    """A take that opens with a pose it never returns to (arms up, then a walk): no --end from its start closes, so
    the warning names the --start and --end of the longest loop within it (it had named neither), and that cut loops
    without a warning."""
    clip = _arms_up_then(_rough_walk(3.5), 1.0)
    assert edit.loop_span(clip, 30.0)[0] > 0
    _, warnings = refine(clip, None, GenerateOptions(loop=True))
    said = [w for w in warnings if w.startswith("--loop: the last pose is far from the first")]
    assert len(said) == 1 and "(--start " in said[0], warnings
    hint = said[0].split("(--start ")[1]
    start, end = float(hint.split()[0]), float(hint.split("--end ")[1].split()[0])
    assert 1.0 - 1.0 / clip.fps < start < end <= clip.duration and end - start > 1.0  # the walk, from its start
    assert refine(edit.trim(clip, start, end), None, GenerateOptions(loop=True))[1] == []


def test_a_looped_stride_keeps_its_planted_feet_at_the_seam(shared_data):
    """A CMU walk cut to one stride and looped: a foot planted across the seam is one contact, pinned once (each end
    had been pinned on its own, and closing the seam again slid the feet there 2.7 mm a frame)."""
    walk = mocap.load_clip(shared_data / "mocap/cmu_iclone_ccrig/002/002_01.bvh")
    stride = edit.trim(walk, None, 70 / walk.fps)
    out, warnings = refine(stride, None, GenerateOptions(loop=True))
    assert warnings == []
    near, elsewhere = _seam_sliding_mm(out)
    assert near < 1.0 and elsewhere < 1.0, (near, elsewhere)
    assert np.degrees(R.angle_between(out.rotations[-1], out.rotations[0])).max() < 1e-4


def test_a_looped_idle_loses_its_drift_and_keeps_its_feet(shared_data):
    """A pose held with both feet planted while the Hips drift 7 cm: looped, it goes nowhere and its feet stay put (the
    drift had been kept as the loop's travel and pulled back at the seam: the feet slid 39 mm there)."""
    walk = mocap.load_clip(shared_data / "mocap/cmu_iclone_ccrig/002/002_01.bvh")
    held = [0] * 60
    shake = np.random.default_rng(0).normal(0, 0.004, walk.rotations[held].shape)
    idle = replace(walk, hips=walk.hips[held] + np.linspace(0, 1, 60)[:, None] * [0.06, 0.0, 0.03],
                   rotations=R.normalize(walk.rotations[held] + shake), contacts=walk.contacts[held],
                   confidence=walk.confidence[held])
    out, _ = refine(idle, None, GenerateOptions(loop=True))
    assert out.contacts.all()
    assert np.abs(out.hips[-1] - out.hips[0]).max() < 1e-9
    heel, _ = C.sole_points(out)
    assert np.linalg.norm(heel[..., [0, 2]] - heel[:1, :, [0, 2]], axis=-1).max() < 0.003


def test_a_loop_s_lift_runs_round_the_seam():
    """A foot in the floor just after a loop's seam lifts the frames just before it too, and the two ends alike
    (one end had been lifted and the other then raised to it over 0.5 s: a looped walk's start floated 2 cm)."""
    from animgen_ml.footlock import smooth_envelope

    dip = np.zeros(40)
    dip[2] = 0.01
    once, round_ = smooth_envelope(dip, 4), smooth_envelope(dip, 4, loop=True)
    assert once[-3] == 0.0 and round_[-3] > 0.0  # frame 2 is 3 frames from the seam's other side
    assert round_[0] == round_[-1] and round_.min() >= 0.0
    turned = np.roll(dip[:-1], 7)  # the same loop with its seam 7 frames earlier
    shifted = smooth_envelope(np.append(turned, turned[0]), 4, loop=True)
    np.testing.assert_allclose(np.roll(shifted[:-1], -7), round_[:-1], atol=1e-12)  # where the seam falls is moot


def test_speed_keeps_the_soles_out_of_the_floor():
    """--speed resamples the locked clip between its frames, where a sole on the floor dipped into it (0.9 mm here,
    2.4 on a real walk at half speed, 7 seen)."""
    for speed in (0.3, 0.5, 1.5):
        out, _ = refine(_rough_walk(3.0), None, GenerateOptions(speed=speed))
        assert _lowest(out).min() > -1e-6, speed


def test_without_foot_locking_no_foot_is_in_the_floor():
    """The floor is the planted feet's median height, so unlocked feet were under it about half the time (2.3 cm
    here): the whole pose comes up instead, as foot locking does before it pins the feet."""
    out, _ = refine(_rough_walk(3.0), None, GenerateOptions(foot_lock=False))
    assert _lowest(out).min() > -0.005


def test_a_foot_that_comes_down_above_the_floor_is_pinned_on_it():
    """The pin took its height from the frame the foot came down on: a foot planted 4 cm up stayed 4 cm up for its
    whole stance (73 % of the planted frames of a Pose2Sim camera floated over 2 cm)."""
    T = 20
    ankle = np.tile([0.0, 0.10, 0.0], (T, 1))
    heel, toe = ankle + [0.0, -0.06, 0.0], ankle + [0.0, -0.06, 0.15]  # both 4 cm above the floor
    planted = np.zeros(T, dtype=bool)
    planted[5:15] = True
    target, _ = footlock._ankle_targets(ankle, heel, toe, footlock.pivots(heel[:, 1], toe[:, 1], planted), blend=2)
    assert np.allclose(target[5:15, 1], 0.06)  # heel on the floor
    assert np.allclose(target[5:15, [0, 2]], 0.0)  # and no slide
    assert np.allclose(target[:3], ankle[:3]) and np.allclose(target[-3:], ankle[-3:])  # faded out around the run


def test_a_short_gap_between_two_pins_passes_from_one_to_the_other():
    """One stance split into two runs by a 2-frame gap, the generated foot sliding forward through it: each run's pin
    sits at its own mean, so the two corrections differ. The gap's frames took the larger fade's correction and
    switched from one to the other in one frame (a real walk's knee jumped 25 degrees); now they pass between
    them, and the foot stays held through the gap."""
    T, blend = 40, 4
    ankle = np.stack([np.linspace(0.0, 0.4, T), np.full(T, 0.10), np.zeros(T)], axis=1)
    heel, toe = ankle + [0.0, -0.10, 0.0], ankle + [0.0, -0.10, 0.15]
    planted = np.zeros(T, dtype=bool)
    planted[8:20] = planted[22:34] = True
    target, held = footlock._ankle_targets(ankle, heel, toe, footlock.pivots(heel[:, 1], toe[:, 1], planted), blend)
    shift = (target - ankle)[:, 0]
    first, second = shift[19], shift[22]  # the two pins' corrections at the gap's ends
    assert abs(first - second) > 0.05
    steps = np.abs(np.diff(shift[19:23]))
    assert steps.max() < 0.5 * abs(first - second)  # the old switch moved it 0.9 of the way in one frame
    assert np.isclose(steps.sum(), abs(first - second))  # monotone: from one to the other, no overshoot
    assert np.allclose(held[20:22], 1.0)

def test_toes_on_the_floor_lie_level_as_the_heel_rises():
    """A walk whose heel rises 0.5 rad over the toes at toe-off: where the toes' joint is on the floor they bend up
    to lie level (a character's long toes had gone 3-5 cm into the floor); in the air they stay as they were, and
    the bend is capped."""
    clip, _ = refine_synth.walk(seconds=3.0, fps=30.0, heel_rise=0.5)
    out = footlock.level_toes(clip)
    pos, rot = out.world()
    before, _ = clip.world()
    for side in C.SIDES:
        t = clip.index(f"{side}Toes")
        tip = R.apply(rot[:, t], np.broadcast_to([0.0, 0.0, 1.0], (clip.frame_count, 3)))
        pitch = np.degrees(np.arcsin(np.clip(-tip[:, 1], -1, 1)))  # > 0: toe tips below level
        grounded = before[:, t, 1] <= footlock.TOE_FLOOR_M
        raised = grounded & (np.degrees(R.angle_between(clip.rotations[:, clip.index(f"{side}Foot")],
                                                          R.identity((clip.frame_count,)))) > 5.0)
        assert raised.sum() >= 3 and np.abs(pitch[grounded]).max() < 0.5  # level on the floor ...
        aloft = before[:, t, 1] >= 2 * footlock.TOE_FLOOR_M
        assert np.allclose(out.rotations[aloft, t], clip.rotations[aloft, t])  # ... untouched in the air
    assert np.allclose(pos, before)  # the toes turn; no joint moves
    bent = np.degrees(R.angle_between(out.rotations[:, clip.index("LeftToes")], R.identity((clip.frame_count,))))
    assert bent.max() <= footlock.TOE_BEND_MAX_DEG + 1e-6


def test_a_loop_warning_offers_only_a_loop_where_the_person_was_seen():
    """Where nobody was seen for the take's first half second, the loop the warning offers starts after it: the
    poses there were held, not filmed (on the same walk seen throughout, it offers an --end from the start)."""
    clip = _rough_walk(3.5)
    T, unseen = clip.frame_count, 15
    detected = np.arange(T) >= unseen
    points = np.where(detected[:, None, None], 0.5, np.nan) * np.ones((T, 33, 3))
    landmarks = Landmarks(times=np.arange(T) / clip.fps, image=points, world=points,
                          visibility=detected[:, None] * np.ones((T, 33)), detected=detected, width=640, height=480)
    _, warnings = refine(clip, landmarks, GenerateOptions(loop=True))
    said = [w for w in warnings if w.startswith("--loop: the last pose is far from the first")]
    assert len(said) == 1 and "(--start " in said[0], warnings
    start = float(said[0].split("(--start ")[1].split()[0])
    assert round(start * clip.fps + 0.5) >= unseen  # the hint's --start is half a frame before the loop's first
