"""Mocap conversion: our skeleton's FK lands on the source's joints, at 30 fps, with sane units and contacts."""

from __future__ import annotations

import numpy as np
import pytest

from animgen_ml import mocap, skeleton
from animgen_ml import rotations as R
from animgen_ml.bvh import read_bvh
from animgen_ml.errors import InputError

# One file per skeleton family: (path under mocap/, units we must detect).
CASES = [
    ("accad_female1/Female1_B03_Walk1.bvh", "cm"),  # ACCAD, cm, ToSpine
    ("cmu_cgspeed_misc/02_01.bvh", "cmu"),  # cgspeed CMU units, 120 fps
    ("cmu_iclone_ccrig/007/007_02.bvh", "cm"),  # Character Creator rig, non-T rest pose
    ("sfu_accad_terrainrl/0005_Walking001_30fps.bvh", "inch"),  # SFU, inches
    ("cmu_salsa_daz_30fps/60_05_scaled_30fps.bvh", "m"),  # Daz: no UpperChest, no toes
    ("cmu_motionpred_expmap/test_walking_1.bvh", "m"),
    ("animdraw_main/fair1_zombie.bvh", "inch"),  # Meta's fair1, a child: 20 inches of leg, Z-up
]


@pytest.mark.parametrize("rel, units", CASES)
def test_conversion_matches_source_joints(shared_data, rel, units):
    b = read_bvh(shared_data / "mocap" / rel)
    clip = mocap.bvh_to_clip(b)
    assert clip.fps == 30.0
    assert clip.metadata["units"] == units
    assert clip.frame_count == pytest.approx(b.frame_count * 30.0 / b.fps, abs=1.5)
    # Unit rotations, rest pose a T-pose: arms along +-X, legs down.
    assert np.allclose(np.linalg.norm(clip.rotations, axis=-1), 1.0)
    rest = skeleton.rest_positions(clip.parents, clip.rest_offsets)
    i = clip.bones.index
    arm = rest[i("LeftHand")] - rest[i("LeftUpperArm")]
    assert arm[0] > 0.9 * np.linalg.norm(arm)
    leg = rest[i("LeftFoot")] - rest[i("LeftUpperLeg")]
    assert -leg[1] > 0.95 * np.linalg.norm(leg)
    # FK of our skeleton lands on the source joints (within a few cm; mean well under 1 cm).
    ours, _ = clip.world()
    src = mocap.source_joint_positions(b, clip)
    err = np.linalg.norm(ours - src, axis=-1)
    assert np.nanmean(err) < 0.01 and np.nanmax(err) < 0.04
    # Feet on the ground: toes rarely below it, planted part of the time.
    toes = ours[:, [i("LeftToes"), i("RightToes")], 1]
    assert np.percentile(toes.min(axis=1), 5) == pytest.approx(0.0, abs=1e-6)
    assert 0.05 < clip.contacts.mean() < 0.98


def test_walk_moves_forward_with_alternating_contacts(shared_data):
    clip = mocap.load_clip(shared_data / "mocap" / "accad_female1" / "Female1_B03_Walk1.bvh")
    speed = np.linalg.norm(np.diff(clip.hips[:, [0, 2]], axis=0), axis=-1).mean() * clip.fps
    assert 0.7 < speed < 1.8  # m/s: a walk
    # Each foot is both planted and swinging during the walk; the hips stay about a leg length up.
    assert clip.contacts[:, 0].any() and (~clip.contacts[:, 0]).any()
    assert clip.contacts[:, 1].any() and (~clip.contacts[:, 1]).any()
    assert 0.7 < np.median(clip.hips[:, 1]) < 1.1
    # Local rotations are continuous in time (no sign flips).
    d = np.sum(clip.rotations[1:] * clip.rotations[:-1], axis=-1)
    assert d.min() > 0.9
    assert R.angle_between(clip.rotations[1:], clip.rotations[:-1]).max() < np.radians(30)


def test_units_detection():
    assert mocap.detect_units(0.85) == "m"
    assert mocap.detect_units(85.0) == "cm"
    assert mocap.detect_units(33.0) == "inch"
    assert mocap.detect_units(15.0) == "cmu"
    # Nearer an adult's 0.85 m in CMU units (1.15 m), but no person's leg: a child's in inches (0.52 m).
    assert mocap.detect_units(20.3) == "inch"


def _mean_twist_deg(q: np.ndarray, axis: np.ndarray) -> float:
    """Circular mean over frames of the twist of local rotations q (T, 4) about their bone's rest axis."""
    tau = 2.0 * np.arctan2(q[:, :3] @ axis, q[:, 3])
    return float(np.degrees(np.arctan2(np.sin(tau).mean(), np.cos(tau).mean())))


@pytest.mark.parametrize("rel, units", CASES)
def test_every_rig_twists_limbs_our_way(shared_data, rel, units):
    # The rigs' own joint frames disagree about limb twist (the CC rig's thighs and toes came out ~160 deg
    # twisted); after conversion a leg's twist averages near zero and the knee bends forward about +X.
    clip = mocap.load_clip(shared_data / "mocap" / rel)
    i = clip.bones.index
    for side in ("Left", "Right"):
        for bone, child in (("UpperLeg", "LowerLeg"), ("LowerLeg", "Foot"), ("Foot", "Toes"), ("Toes", "Toes")):
            axis = clip.rest_offsets[i(side + child)] / np.linalg.norm(clip.rest_offsets[i(side + child)])
            assert abs(_mean_twist_deg(clip.rotations[:, i(side + bone)], axis)) < 25, (rel, side + bone)
        knee = clip.rotations[:, i(side + "LowerLeg")]
        shin = R.apply(knee, np.broadcast_to([0.0, -1.0, 0.0], (len(knee), 3)))
        bent = shin[:, 1] > -np.cos(np.radians(30))  # knee bent more than 30 deg
        if bent.sum() > 5:
            assert np.median(shin[bent, 2]) < 0, (rel, side)  # the ankle goes back: a forward knee bend


def test_a_folded_rest_pose_takes_its_up_axis_from_the_motion(shared_data):
    # Rokoko Video's rig rests with its spine and legs both along +x; hips -> head at rest had laid the dancer on
    # her side. Where the rest pose does not stand, the clip's own hips -> head direction gives the up axis.
    b = read_bvh(shared_data / "mocap" / "animdraw_main" / "rokoko_jesse_dance.bvh")
    clip = mocap.bvh_to_clip(b)
    ours, _ = clip.world()
    i = clip.bones.index
    torso = ours[:, i("Head")] - ours[:, i("Hips")]
    assert np.mean(torso[:, 1] > 0.8 * np.linalg.norm(torso, axis=-1)) > 0.95  # upright nearly throughout
    err = np.linalg.norm(ours - mocap.source_joint_positions(b, clip), axis=-1)
    assert np.nanmean(err) < 0.01 and np.nanmax(err) < 0.04


def test_a_rest_pose_far_from_standing_is_refused_by_name(shared_data):
    # ACCAD Male1's copy in the SFU set bows 90 degrees at rest; mapped, its left clavicle would point right.
    path = shared_data / "mocap" / "sfu_accad_terrainrl" / "Male1_C11_RunTurnLeft90.bvh"
    with pytest.raises(InputError, match="Male1_C11_RunTurnLeft90.bvh: the rest pose puts the LeftShoulder"):
        mocap.load_clip(path)


@pytest.mark.parametrize("rel", [
    "hdm05_cut/bvh_30fps/HDM_bd_squat1Reps_009.bvh",  # ASF: clavicles, two neck joints, Z up
    "cmu_cgspeed_misc/131_01.bvh",  # arms down at rest, LeftCollar and LHipJoint before the limbs
    "sfu_accad_terrainrl/Nus_Subject0017_Run_30fps.bvh",  # an end joint at each hand
    "cmu_salsa_daz_30fps/60_05_scaled_30fps.bvh",  # no toe joints: the feet's End Sites show the facing
    "accad_female1/Female1_B03_Walk1.bvh",
])
def test_a_bvh_whose_joints_are_named_by_no_convention_loads_as_its_named_original(shared_data, rel):
    """Users train on their own captures: where names give no body, the rest pose's shape does (turned to stand,
    facing where its toes or feet's End Sites point), and the clip is the one its conventional names give."""
    from dataclasses import replace

    b = read_bvh(shared_data / "mocap" / rel)
    anonymous = replace(b, names=[f"joint{k}" for k in range(len(b.names))], _cache={})
    named, theirs = mocap.bvh_to_clip(b), mocap.bvh_to_clip(anonymous)
    np.testing.assert_allclose(theirs.rotations, named.rotations, atol=1e-9)
    np.testing.assert_allclose(theirs.hips, named.hips, atol=1e-9)
    assert np.array_equal(theirs.contacts, named.contacts)


def test_a_bvh_neither_names_nor_shape_map_is_refused_naming_what_is_missing(shared_data):
    # Rokoko's rig rests folded (spine and legs along +x): with its names gone there is no standing pose to go by.
    from dataclasses import replace

    b = read_bvh(shared_data / "mocap" / "animdraw_main" / "rokoko_jesse_dance.bvh")
    with pytest.raises(InputError, match="no bone found for Hips, Spine, Head") as e:
        mocap.bvh_to_clip(replace(b, names=[f"joint{k}" for k in range(len(b.names))], _cache={}))
    # What to do about it in a motion file: train and evaluate take no bone map.
    assert str(e.value).endswith("; " + mocap.NAME_JOINTS) and "overrides" not in str(e.value)
    with pytest.raises(InputError) as e:  # a bad override is said as it is
        mocap.bvh_to_clip(b, overrides={"Hips": "nojoint"})
    assert str(e.value) == "bone map override: the skeleton has no bone named 'nojoint' (for Hips)"


def _still_lower_toe(clip):
    """Height and contact of the lower toe on the frames where it is still (speed < 0.3 m/s)."""
    fk, _ = clip.world()
    toes = fk[:, [clip.index("LeftToes"), clip.index("RightToes")]]
    speed = np.zeros(toes.shape[:2])
    speed[1:] = np.linalg.norm(np.diff(toes[..., [0, 2]], axis=0), axis=-1) * clip.fps
    i, low = np.arange(len(toes)), np.argmin(toes[..., 1], axis=1)
    still = speed[i, low] < 0.3
    return toes[i, low, 1][still], clip.contacts[i, low][still]


def _tilted(clip, axis, degrees):
    """The clip turned about a horizontal axis through the origin, as a capture with a tilted vertical is."""
    from dataclasses import replace

    q = np.broadcast_to(R.from_axis_angle(np.asarray(axis, float), np.radians(degrees)), (clip.frame_count, 4))
    rot = clip.rotations.copy()
    rot[:, 0] = R.multiply(q, rot[:, 0])
    return replace(clip, hips=R.apply(q, clip.hips), rotations=rot, metadata={})


def test_a_tilted_capture_floor_is_levelled(shared_data):
    """ACCAD Female1's vertical axis is off by about a degree: without levelling, her planted toes rise 7 cm over
    the walk and half the still-toe frames counted as lifted."""
    clip = mocap.load_clip(shared_data / "mocap" / "accad_female1" / "Female1_B03_Walk1.bvh")
    slope = np.array([float(v) for v in clip.metadata["floor_slope"].split(",")])
    assert 0.5 < np.degrees(np.arctan(np.linalg.norm(slope))) < 1.5
    height, planted = _still_lower_toe(clip)
    assert np.percentile(height, 90) - np.percentile(height, 10) < 0.04
    assert planted.mean() > 0.95


def test_floor_tilt_finds_a_known_tilt_only_where_the_toes_show_it(shared_data):
    clip = mocap.load_clip(shared_data / "mocap" / "accad_female1" / "Female1_B03_Walk1.bvh")
    assert mocap.floor_tilt(clip) is None  # already level
    path = clip.hips[-1, [0, 2]] - clip.hips[0, [0, 2]]
    path /= np.linalg.norm(path)
    along = _tilted(clip, (path[1], 0.0, -path[0]), 1.5)  # the floor rises along the walk
    slope = mocap.floor_tilt(along)
    assert np.degrees(np.arctan(np.linalg.norm(slope))) == pytest.approx(1.5, abs=0.1)
    toes = [clip.index("LeftToes"), clip.index("RightToes")]
    back = mocap.level_floor(along)
    assert np.abs(back.world()[0][:, toes] - clip.world()[0][:, toes]).max() < 0.002
    # Across a straight walk the still toes lie on a line: they cannot tell a slope that way, so none is found.
    assert mocap.floor_tilt(_tilted(clip, (path[0], 0.0, path[1]), 1.5)) is None
