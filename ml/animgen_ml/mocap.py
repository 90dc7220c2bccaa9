"""BVH motion capture (any of the kit's skeletons, units and up axes) -> HumanoidClip on our skeleton.

How a source skeleton becomes ours:
- units from the leg length (metres, centimetres, inches or CMU units), up axis from the rest pose (hips->head),
  or from the motion where the rest pose does not stand;
- bones mapped by name (bonemap.py), else by the shape of the rest pose turned to stand (source_bones); joints our
  skeleton has and the source lacks (e.g. UpperChest) are placed halfway along the source chain;
- each of our bones takes its world rotation from the source bone that carries it, times a fixed rest correction
  computed from the source rest pose (which need not be a T-pose), then a small per-frame swing so that its
  direction points exactly at the source's next joint: directions follow the source, twist follows the source;
- the source's joint frames fix each limb's twist only up to the rig's conventions (the CC rig's thighs came out
  ~160 deg twisted), so a constant per-clip twist makes them ours: knees and elbows bend about their hinge axes,
  feet are level across (see _standard_twists); then twists.canonical_twists puts the remaining rolls where our
  convention keeps them (no clavicle, shin, wrist or toe roll);
- rest offsets keep our T-pose directions with the source's bone lengths, so our FK lands on the source joints;
- resampled to 30 fps; the floor levelled where still toes show it tilted (floor_tilt); the ground is the
  clip's lowest toe height; foot contacts from toe/ankle height + speed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np

from animgen_ml import rotations as R
from animgen_ml import skeleton, twists
from animgen_ml.bonemap import BoneMapError, map_bones, map_by_shape
from animgen_ml.bvh import Bvh, read_bvh
from animgen_ml.clip import HumanoidClip
from animgen_ml.errors import InputError

BONES = list(skeleton.BODY_BONES)
PARENTS = skeleton.parents_of(BONES)
_DEFAULT = skeleton.default_rest_offsets(BONES)
# The child joint that gives each bone its direction (None: a leaf, which keeps its parent's rest correction).
DIRECTION_CHILD: dict[str, str | None] = {
    "Hips": None, "Spine": "Chest", "Chest": "UpperChest", "UpperChest": "Neck", "Neck": "Head", "Head": None,
}
for _s in ("Left", "Right"):
    DIRECTION_CHILD.update({
        f"{_s}Shoulder": f"{_s}UpperArm", f"{_s}UpperArm": f"{_s}LowerArm", f"{_s}LowerArm": f"{_s}Hand",
        f"{_s}Hand": None, f"{_s}UpperLeg": f"{_s}LowerLeg", f"{_s}LowerLeg": f"{_s}Foot", f"{_s}Foot": f"{_s}Toes",
        f"{_s}Toes": None,
    })
# Metres per file unit that we recognise, by name.
UNITS = {"m": 1.0, "cm": 0.01, "inch": 0.0254, "cmu": 0.056444, "mm": 0.001}
LEG_LENGTH_M = 0.85  # thigh + shin of an adult
LEG_RANGE_M = (0.3, 1.1)  # thigh + shin of anyone, a small child to a very tall adult
CONTACT_HEIGHT_M = 0.05
CONTACT_SPEED_MS = 0.6
# Levelling the floor (floor_tilt): still toes (slower than this) ...
FLOOR_SPEED_MS = 0.3
FLOOR_MIN_EXTENT_M = 1.0  # ... spread over this much ground in a direction, for a slope along it ...
FLOOR_FIT_BAND_M = 0.03  # ... within this above the lowest of them, for the refit ...
FLOOR_GAIN = 0.25  # ... their heights' spread (10th-90th percentile) cut by at least a quarter ...
FLOOR_MAX_SLOPE = 0.06  # ... and sloping by at most this (3.4 degrees)


def detect_units(leg_length: float) -> str:
    """The unit name that makes a thigh+shin length closest to an adult's, among those that make it a person's at
    all (LEG_RANGE_M): a child in inches is no giant in CMU units (Meta's fair1: 20.3 inches, 0.52 m, had read
    1.15 m)."""
    def off(u: str) -> float:
        return abs(np.log(max(leg_length * UNITS[u], 1e-9) / LEG_LENGTH_M))

    human = [u for u in UNITS if LEG_RANGE_M[0] <= leg_length * UNITS[u] <= LEG_RANGE_M[1]]
    return min(human or UNITS, key=off)


def _axis(v: np.ndarray) -> np.ndarray:
    """The signed coordinate axis nearest v's direction."""
    axis = np.zeros(3)
    k = int(np.argmax(np.abs(v)))
    axis[k] = np.sign(v[k])
    return axis


# Turns that stand a rest pose Y up and facing along Z, as map_by_shape reads it: a BVH file stands Y up or Z up and
# faces along either horizontal axis.
_STANDING_TURNS = (R.identity(), R.from_axis_angle([0.0, 1.0, 0.0], np.pi / 2),
                   R.from_axis_angle([1.0, 0.0, 0.0], -np.pi / 2),
                   R.multiply(R.from_axis_angle([0.0, 1.0, 0.0], np.pi / 2),
                              R.from_axis_angle([1.0, 0.0, 0.0], -np.pi / 2)))
_HALF_TURN = R.from_axis_angle([0.0, 1.0, 0.0], np.pi)


def standing_rest(parents: np.ndarray, rest: np.ndarray,
                  end_sites: Mapping[int, np.ndarray] | None = None) -> np.ndarray | None:
    """The rest positions (J, 3) turned as bonemap.map_by_shape reads a pose (Y up, facing +Z): of _STANDING_TURNS
    the first in which a body stands, facing where its toe joints point, else where the End Sites below its feet
    do (end_sites: joint -> offset, as Bvh.end_sites); None where no turn shows a body facing a known way."""
    ends = end_sites or {}
    for turn in _STANDING_TURNS:
        turned = R.apply(turn, rest)
        found = map_by_shape([int(p) for p in parents], turned)
        if "LeftToes" in found and "RightToes" in found:
            return turned
        feet = [found[f"{side}Foot"] for side in ("Left", "Right") if f"{side}Foot" in found]
        ahead = sum(float(R.apply(turn, ends[j])[2]) for j in feet if j in ends)
        if ahead:  # map_by_shape takes a pose without toes to face +Z
            return turned if ahead > 0 else R.apply(_HALF_TURN, turned)
    return None


def source_bones(names: list[str], parents: np.ndarray, rest: np.ndarray,
                 overrides: Mapping[str, str] | None = None,
                 end_sites: Mapping[int, np.ndarray] | None = None) -> dict[str, str]:
    """{HumanBodyBone: source joint name} for a source skeleton with rest positions (J, 3): by the joints' names,
    else by the shape of its rest pose turned to stand (standing_rest); with neither, the names' error stands, saying
    how to fix a motion file (train and evaluate take no bone map)."""
    try:
        return map_bones(names, parents, overrides, fingers=False,
                         rest=lambda: standing_rest(parents, rest, end_sites))
    except BoneMapError as e:
        said = str(e)
        if not said.endswith("; pass overrides for them"):  # a bad override, said as it is
            raise
        raise BoneMapError(said.removesuffix("; pass overrides for them") + "; " + NAME_JOINTS) from None


NAME_JOINTS = ("name those joints as CMU, Mixamo or Unity name them, or save the file with a standing rest pose (T or "
               "A), whose shape then tells the joints apart")


def _up_rotation(rest: np.ndarray, pos: np.ndarray, src: Mapping[str, int]) -> np.ndarray:
    """Rotation taking the source's up axis to +Y: hips -> head in the rest pose where that pose stands (head and
    feet on opposite sides of the hips along one axis); else the clip's mean hips -> head direction, for rigs whose
    rest pose is folded (Rokoko's spine and legs both lie along +x)."""
    hips = rest[src["Hips"]]
    head, feet = rest[src["Head"]] - hips, 0.5 * (rest[src["LeftFoot"]] + rest[src["RightFoot"]]) - hips
    up = head
    if not np.array_equal(_axis(head), -_axis(feet)):
        d = pos[:, src["Head"]] - pos[:, src["Hips"]]
        up = (d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-9)).mean(axis=0)
    return R.between(_axis(up), np.array([0.0, 1.0, 0.0]))


def _resample_index(n: int, fps_src: float, fps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.arange(0.0, (n - 1) / fps_src + 1e-9, 1.0 / fps)
    x = t * fps_src
    i0 = np.clip(np.floor(x).astype(int), 0, n - 1)
    i1 = np.clip(i0 + 1, 0, n - 1)
    return i0, i1, x - i0


def foot_contacts(pos: np.ndarray, fps: float, foot_rest_height: np.ndarray) -> np.ndarray:
    """(T, 2) contacts from our FK positions (T, B, 3) with the ground at y = 0."""
    out = np.zeros((len(pos), 2), dtype=bool)
    for k, side in enumerate(("Left", "Right")):
        for bone, rest_h in ((f"{side}Toes", 0.0), (f"{side}Foot", foot_rest_height[k])):
            p = pos[:, BONES.index(bone)]
            v = np.zeros(len(p))
            if len(p) > 1:
                v[1:] = np.linalg.norm(np.diff(p[:, [0, 2]], axis=0), axis=-1) * fps
                v[0] = v[1]
            out[:, k] |= (p[:, 1] < rest_h + CONTACT_HEIGHT_M) & (v < CONTACT_SPEED_MS)
    return out


def floor_tilt(clip: HumanoidClip) -> np.ndarray | None:
    """The floor's slope (d height / dx, d height / dz) where the clip's still toes lie, or None when they do not
    show one. Some captures' vertical axis is off by a degree or so (ACCAD Female1's planted toes rise 7 cm over
    a 5 m walk); against one floor height, feet planted at the far end count as lifted.

    The plane is fitted to the lower toe of each frame where that toe is still, refitted to the points near it
    (not toes resting on a step), with no slope along a direction the points cover less than FLOOR_MIN_EXTENT_M of
    (a straight walk says nothing about the slope across it); kept only where it makes those points' heights
    clearly more alike (FLOOR_GAIN) and slopes gently (FLOOR_MAX_SLOPE; steeper is terrain)."""
    fk, _ = clip.world()
    toes = fk[:, [BONES.index("LeftToes"), BONES.index("RightToes")]]  # (T, 2, 3)
    speed = np.zeros(toes.shape[:2])
    speed[1:] = np.linalg.norm(np.diff(toes[..., [0, 2]], axis=0), axis=-1) * clip.fps
    i, low = np.arange(len(toes)), np.argmin(toes[..., 1], axis=1)
    pts = toes[i, low][speed[i, low] < FLOOR_SPEED_MS]
    if len(pts) < 10:
        return None
    xz = pts[:, [0, 2]] - pts[:, [0, 2]].mean(axis=0)
    _, _, axes = np.linalg.svd(xz, full_matrices=False)  # rows: principal directions on the floor
    u = xz @ axes.T
    extent = np.percentile(u, 95, axis=0) - np.percentile(u, 5, axis=0)
    wide = extent >= FLOOR_MIN_EXTENT_M
    if not wide.any():
        return None
    A = np.c_[u[:, wide], np.ones(len(pts))]
    keep = np.ones(len(pts), dtype=bool)
    for _ in range(4):
        coef, *_ = np.linalg.lstsq(A[keep], pts[keep, 1], rcond=None)
        resid = pts[:, 1] - A @ coef
        keep = resid - np.percentile(resid, 5) < FLOOR_FIT_BAND_M
        if keep.sum() < 10:
            return None
    slope = np.zeros(2)
    slope[wide] = coef[:-1]
    slope = axes.T @ slope  # back to (x, z)
    spread = lambda h: np.percentile(h, 90) - np.percentile(h, 10)  # noqa: E731
    if spread(resid) > (1.0 - FLOOR_GAIN) * spread(pts[:, 1]) or np.linalg.norm(slope) > FLOOR_MAX_SLOPE:
        return None
    return slope


def level_rotation(slope: np.ndarray) -> np.ndarray:
    """The rotation (xyzw) that turns a floor of this slope (d height / dx, d height / dz) level."""
    normal = np.array([-slope[0], 1.0, -slope[1]])
    return R.between(normal / np.linalg.norm(normal), np.array([0.0, 1.0, 0.0]))


def level_floor(clip: HumanoidClip) -> HumanoidClip:
    """The clip turned so that its floor (floor_tilt) is level: the root's position and rotation turn about the
    origin, nothing else changes; metadata["floor_slope"] records the slope found ("dx,dz")."""
    slope = floor_tilt(clip)
    if slope is None:
        return clip
    q = np.broadcast_to(level_rotation(slope), (clip.frame_count, 4))
    rot = clip.rotations.copy()
    rot[:, 0] = R.multiply(q, rot[:, 0])
    return replace(clip, hips=R.apply(q, clip.hips), rotations=rot,
                   metadata=dict(clip.metadata) | {"floor_slope": f"{slope[0]:.5f},{slope[1]:.5f}"})


def _twist(W: np.ndarray, i: int, axis: np.ndarray, phi: float) -> np.ndarray:
    """W with bone i turned by phi about its own rest direction `axis` (its direction child does not move)."""
    W = W.copy()
    W[:, i] = R.multiply(W[:, i], R.from_axis_angle(np.broadcast_to(axis, (len(W), 3)), np.full(len(W), phi)))
    return W


def _standard_twists(W: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per-clip constant twists of limbs so that every rig follows our convention (rest rotations identity in a
    T-pose): on average over the clip, the knee and elbow bend about their hinge axes (limits.HINGES) and the
    foot's left-right axis is level. Constant per clip, so genuine twist motion stays."""
    from animgen_ml.limits import HINGES

    def unit(v: np.ndarray) -> np.ndarray:
        return v / max(float(np.linalg.norm(v)), 1e-9)

    n = len(W)
    for child, hinge in HINGES.items():
        c = BONES.index(child)
        p = int(PARENTS[c])
        r, h = np.asarray(hinge.rest_dir, float), np.asarray(hinge.axis, float)
        d = R.apply(R.multiply(R.conjugate(W[:, p]), W[:, c]), np.broadcast_to(r, (n, 3)))
        perp = d - (d @ r)[:, None] * r
        bend = np.degrees(np.arctan2(np.linalg.norm(perp, axis=-1), d @ r))
        weight = np.clip((bend - 20.0) / 20.0, 0.0, 1.0)
        if weight.sum() < 3.0:  # hardly ever bent: the hinge plane says nothing
            continue
        m = (weight[:, None] * perp / np.maximum(np.linalg.norm(perp, axis=-1), 1e-9)[:, None]).sum(axis=0)
        want = np.cross(h, r)  # where a positive bend points
        W = _twist(W, p, r, -np.arctan2(np.cross(m, want) @ r, m @ want))
    up = np.array([0.0, 1.0, 0.0])
    for side in ("Left", "Right"):
        f, t = (BONES.index(f"{side}{b}") for b in ("Foot", "Toes"))
        a = unit(offsets[t])
        x = unit(np.array([1.0, 0.0, 0.0]) - a[0] * a)  # the foot's left-right axis, across its length
        y = np.cross(a, x)
        target = np.cross(up, R.apply(W[:, f], np.broadcast_to(a, (n, 3))))  # level, to the left; |.| weights
        u, v = R.apply(W[:, f], np.broadcast_to(x, (n, 3))), R.apply(W[:, f], np.broadcast_to(y, (n, 3)))
        W = _twist(W, f, a, float(np.arctan2((v * target).sum(), (u * target).sum())))
    return W


def bvh_to_clip(b: Bvh, fps: float = 30.0, overrides: Mapping[str, str] | None = None,
                units: str | None = None, name: str | None = None) -> HumanoidClip:
    """Convert a parsed BVH onto the HumanoidClip body skeleton at `fps`."""
    pos, rot = b.forward_kinematics()
    return motion_to_clip(b.names, b.parents, b.rest_positions(), pos, rot, b.fps, b.source, fps=fps,
                          overrides=overrides, units=units, name=name, end_sites=b.end_sites)


def motion_to_clip(names: list[str], parents: np.ndarray, rest: np.ndarray, pos: np.ndarray, rot: np.ndarray,
                   source_fps: float, source: str, fps: float = 30.0, overrides: Mapping[str, str] | None = None,
                   units: str | None = None, name: str | None = None,
                   end_sites: Mapping[int, np.ndarray] | None = None) -> HumanoidClip:
    """Convert any skeleton's motion onto the HumanoidClip body skeleton at `fps`: joint names and parents, rest
    positions (J, 3) with every rotation zero, world joint positions (T, J, 3) and rotations (T, J, 4 xyzw), in the
    source's units and up axis (both detected); end_sites as source_bones takes them."""
    mapping = source_bones(names, parents, rest, overrides, end_sites)
    src = {bone: names.index(n) for bone, n in mapping.items() if bone in BONES}

    # Units and up axis from the rest pose.
    leg = sum(np.linalg.norm(rest[src[f"Left{c}"]] - rest[src[f"Left{p}"]])
              for p, c in (("UpperLeg", "LowerLeg"), ("LowerLeg", "Foot")))
    unit = units or detect_units(float(leg))
    scale = UNITS[unit]
    A = _up_rotation(rest, pos, src)
    rest = R.apply(A, rest) * scale
    pos = R.apply(A, pos) * scale
    rot = R.multiply(R.multiply(A, rot), R.conjugate(A))

    # Positions of our joints in the source (rest and per frame); missing ones halfway along the chain.
    T = len(pos)
    jrest = np.zeros((len(BONES), 3))
    jpos = np.zeros((T, len(BONES), 3))
    carrier = np.zeros(len(BONES), dtype=int)  # source joint whose rotation carries our bone
    for i, bone in enumerate(BONES):
        if bone in src:
            jrest[i], jpos[:, i], carrier[i] = rest[src[bone]], pos[:, src[bone]], src[bone]
    for i, bone in enumerate(BONES):
        if bone in src:
            continue
        p = PARENTS[i]
        nxt = DIRECTION_CHILD.get(bone)
        while nxt is not None and nxt not in src:
            nxt = DIRECTION_CHILD.get(nxt)
        carrier[i] = carrier[p]
        if nxt is not None:
            j = BONES.index(nxt)
            jrest[i] = 0.5 * (jrest[p] + jrest[j])
            jpos[:, i] = 0.5 * (jpos[:, p] + jpos[:, j])
        else:  # a leaf the source lacks (toes): along the parent's carrier from its rest direction
            off = _DEFAULT[i] * (np.linalg.norm(jrest[p] - jrest[PARENTS[p]]) / np.linalg.norm(_DEFAULT[p]))
            jrest[i] = jrest[p] + off
            jpos[:, i] = jpos[:, p] + R.apply(rot[:, carrier[p]], off)

    # Rest corrections B: our rest frame -> the source's rest frame, parents first.
    B = R.identity((len(BONES),))
    hips = BONES.index("Hips")
    x_axis = jrest[BONES.index("LeftUpperLeg")] - jrest[BONES.index("RightUpperLeg")]
    B[hips] = R.from_basis(x_axis, jrest[BONES.index("Head")] - jrest[hips])
    has_dir = np.zeros(len(BONES), dtype=bool)
    for i, bone in enumerate(BONES):
        if i == hips:
            continue
        p = PARENTS[i]
        child = DIRECTION_CHILD[bone]
        B[i] = B[p]
        if child is not None:
            c = BONES.index(child)
            d_src = jrest[c] - jrest[i]
            if np.linalg.norm(d_src) > 1e-3:
                B[i] = R.multiply(R.between(R.apply(B[p], _DEFAULT[c]), d_src), B[p])
                has_dir[i] = True

    # Rest offsets: the source's rest layout seen from each parent's corrected frame (our T-pose directions
    # for single-child chains, the source's own lengths everywhere).
    offsets = np.zeros((len(BONES), 3))
    for i in range(1, len(BONES)):
        p = PARENTS[i]
        offsets[i] = R.apply(R.conjugate(B[p]), jrest[i] - jrest[p])
    for side, sign in (("Left", 1.0), ("Right", -1.0)):  # e.g. ACCAD Male1's bowing rest pose in the SFU set
        for bone in ("Shoulder", "UpperArm", "UpperLeg"):
            if sign * offsets[BONES.index(side + bone)][0] < -0.02:
                raise InputError(f"{source}: the rest pose puts the {side}{bone} joint on the other side of "
                                 "its parent; a rest pose this far from standing cannot be mapped onto ours")

    # World rotations: carried by the source, rest-corrected, then swung to point at the source's next joint.
    W = R.multiply(rot[:, carrier], B[None])
    for i, bone in enumerate(BONES):
        if has_dir[i]:
            child = DIRECTION_CHILD[bone]
            assert child is not None  # has_dir: a bone with a direction child
            c = BONES.index(child)
            cur = R.apply(W[:, i], np.broadcast_to(offsets[c], (T, 3)))
            W[:, i] = R.multiply(R.between(cur, jpos[:, c] - jpos[:, i]), W[:, i])
    W = _standard_twists(W, offsets)
    local = W.copy()
    for i in range(1, len(BONES)):
        local[:, i] = R.multiply(R.conjugate(W[:, PARENTS[i]]), W[:, i])
    local = R.make_continuous(R.normalize(local))
    hip_pos = jpos[:, hips]

    # Resample to the target frame rate.
    i0, i1, w = _resample_index(T, source_fps, fps)
    local = R.slerp(local[i0], local[i1], np.broadcast_to(w[:, None], (len(w), len(BONES))))
    hip_pos = hip_pos[i0] * (1 - w[:, None]) + hip_pos[i1] * w[:, None]
    local = R.make_continuous(local)

    # Hips rest height: our T-pose standing on its toes joints (the source rest pose may not be standing).
    rest_fk = skeleton.rest_positions(PARENTS, offsets)
    offsets[0] = (0.0, float(-rest_fk[[BONES.index("LeftToes"), BONES.index("RightToes")], 1].min()), 0.0)
    clip = HumanoidClip(
        bones=list(BONES), rest_offsets=offsets, fps=fps, hips=hip_pos, rotations=local,
        contacts=np.zeros((len(hip_pos), 2), dtype=bool), confidence=np.ones((len(hip_pos), len(BONES))),
        name=name or Path(source).stem,
        metadata={"source": Path(source).name, "units": unit, "generator": "mocap"},
    )
    clip = twists.canonical_twists(clip)
    clip = level_floor(clip)
    # Ground: the clip's lowest toe height (5th percentile, robust to a glitch frame) becomes y = 0.
    fk, _ = clip.world()
    toes = fk[:, [BONES.index("LeftToes"), BONES.index("RightToes")], 1].min(axis=1)
    clip.hips = clip.hips - np.array([0.0, np.percentile(toes, 5), 0.0])
    fk[..., 1] -= np.percentile(toes, 5)
    rest_fk = skeleton.rest_positions(PARENTS, offsets)
    foot_h = rest_fk[[BONES.index("LeftFoot"), BONES.index("RightFoot")], 1] - rest_fk[
        [BONES.index("LeftToes"), BONES.index("RightToes")], 1].min()
    clip.contacts = foot_contacts(fk, fps, foot_h)
    return clip


def load_clip(path: str | Path, fps: float = 30.0, overrides: Mapping[str, str] | None = None,
              units: str | None = None) -> HumanoidClip:
    """Read a BVH file and convert it (see bvh_to_clip)."""
    return bvh_to_clip(read_bvh(path), fps=fps, overrides=overrides, units=units)


def source_joint_positions(b: Bvh, clip: HumanoidClip, fps: float = 30.0) -> np.ndarray:
    """The source's joints that our bones map to, in our space and frame grid (T, B, 3; NaN where unmapped),
    for checking a conversion: compare with clip.world()[0]."""
    rest = b.rest_positions()
    mapping = source_bones(b.names, b.parents, rest, end_sites=b.end_sites)
    src = {bone: b.index(n) for bone, n in mapping.items() if bone in BONES}
    pos, _ = b.forward_kinematics()
    pos = R.apply(_up_rotation(rest, pos, src), pos) * UNITS[clip.metadata["units"]]
    i0, i1, w = _resample_index(len(pos), b.fps, fps)
    pos = pos[i0] * (1 - w[:, None, None]) + pos[i1] * w[:, None, None]
    out = np.full((len(pos), len(BONES), 3), np.nan)
    for i, bone in enumerate(BONES):
        if bone in src:
            out[:, i] = pos[:, src[bone]]
    if "floor_slope" in clip.metadata:  # the same levelling as the clip's (level_floor)
        q = level_rotation(np.array([float(v) for v in clip.metadata["floor_slope"].split(",")]))
        out = R.apply(np.broadcast_to(q, out.shape[:-1] + (4,)), out)
    # Same ground shift as the clip: align the hips.
    out += (clip.hips - out[:, 0])[:, None, :]
    return out
