"""Map a skeleton's bone names onto Unity's HumanBodyBones by naming conventions.

Handles HumanBodyBones itself, Mixamo (mixamorig:LeftArm), cgspeed CMU (Hips, LHipJoint, LeftUpLeg, LowerBack),
ACCAD / SFU / AnimatedDrawings / Rokoko (Hips, Spine, LeftForeArm, LeftToeBase), Daz (hip, abdomen, lShldr,
lThigh; Genesis 8's lThighBend, lShldrBend), Character Creator (CC_Base_L_Upperarm), HDM05 / ASF (root, lfemur,
lhumerus), UE4/UE5 Mannequin (pelvis, spine_01.., thigh_l, calf_l, ball_l, clavicle_l, upperarm_l), VRoid / VRM
(J_Bip_L_UpperArm), Rigify (DEF-upper_arm.L, DEF-f_index.01.L), 3ds Max Biped (Bip01 L Thigh, Bip01 L Finger01).
Limbs and fingers are found by name (a finger's phalanges are its first three joints from the hand, however they
are numbered); the Hips are the common ancestor of both thighs and the head; Spine / Chest / UpperChest are spread
over the joints between the Hips and the neck, so any number of spine joints works. Where names do not give a body,
a standing rest pose does (map_by_shape).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from animgen_ml import skeleton
from animgen_ml.errors import InputError

# Bones without which a clip cannot be mapped; the rest (Chest, UpperChest, Neck, shoulders, toes, fingers)
# are optional, as in Unity's Humanoid avatar.
REQUIRED: tuple[str, ...] = tuple(
    ["Hips", "Spine", "Head"]
    + [f"{s}{b}" for s in ("Left", "Right") for b in ("UpperArm", "LowerArm", "Hand", "UpperLeg", "LowerLeg", "Foot")]
)

# Side-less, lower-case names per limb bone (the side is a prefix left/l or suffix l, as in thigh_l).
_LIMB_NAMES: dict[str, tuple[str, ...]] = {
    "Shoulder": ("shoulder", "collar", "clavicle"),
    "UpperArm": ("upperarm", "arm", "shldr", "shldrbend", "humerus", "uparm"),
    "LowerArm": ("lowerarm", "forearm", "forearmbend", "radius", "elbow"),
    "Hand": ("hand", "wrist"),
    "UpperLeg": ("upperleg", "upleg", "thigh", "thighbend", "femur", "hip"),
    "LowerLeg": ("lowerleg", "leg", "shin", "calf", "tibia", "knee"),
    "Foot": ("foot", "ankle"),
    "Toes": ("toes", "toebase", "toe", "toe0", "ball"),
}
_SIDE_FORMS = {"Left": ("left", "l"), "Right": ("right", "r")}
_FINGER_WORDS = {"thumb": "Thumb", "index": "Index", "middle": "Middle", "mid": "Middle", "ring": "Ring",
                 "pinky": "Little", "little": "Little"}
_PHALANGES = ("Proximal", "Intermediate", "Distal")
_FINGER_RE = re.compile(r"^(?:hand|finger|f)?(thumb|index|middle|mid|ring|pinky|little)0?[1-4]$")
# 3ds Max Biped (names Bip01 ..., Bip001 ...): Finger0 (thumb) .. Finger4, then Finger01, Finger02 along each.
_BIPED_RE = re.compile(r"^bip0*1", re.IGNORECASE)
_BIPED_FINGER_RE = re.compile(r"^finger([0-4])[0-9]?$")
_BIPED_FINGERS = ("Thumb", "Index", "Middle", "Ring", "Little")


class BoneMapError(InputError):
    """The skeleton lacks bones a humanoid needs (the message names them)."""


def normalize(name: str) -> str:
    """Lower-case name without namespace (mixamorig:), Character Creator, Biped, Rigify or VRoid prefix, separators."""
    n = name.rsplit(":", 1)[-1].rsplit("|", 1)[-1]
    n = re.sub(r"^(cc_base_|bip0*1[ _]?|def[-_]|j_bip_(?:c_)?)", "", n, flags=re.IGNORECASE)
    return re.sub(r"[\s_.\-]", "", n).lower()


def _finger_of(stem: str, biped: bool) -> str | None:
    """Thumb, Index, Middle, Ring or Little for a side-less finger joint name (index2, f_index.01; a Biped's
    Finger12, which in MakeHuman's finger1-2 is a thumb)."""
    if m := _FINGER_RE.match(stem):
        return _FINGER_WORDS[m.group(1)]
    if biped and (m := _BIPED_FINGER_RE.match(stem)):
        return _BIPED_FINGERS[int(m.group(1))]
    return None


def _side_and_stem(n: str) -> list[tuple[str, str]]:
    out = []
    for side, forms in _SIDE_FORMS.items():
        for f in forms:
            if n.startswith(f) and len(n) > len(f):
                out.append((side, n[len(f):]))
            if n.endswith(f) and len(n) > len(f):
                out.append((side, n[: -len(f)]))
    return out


def _ancestors(j: int, parents: Sequence[int]) -> list[int]:
    """j and its ancestors, j first."""
    out = [j]
    while parents[out[-1]] >= 0:
        out.append(int(parents[out[-1]]))
    return out


def _depth(j: int, parents: Sequence[int]) -> int:
    return len(_ancestors(j, parents))


def _path(start: int, children: list[list[int]], key: np.ndarray) -> list[int]:
    """start, then at each joint the child with the largest key, down to a leaf."""
    path = [start]
    while children[path[-1]]:
        path.append(max(children[path[-1]], key=lambda c: key[c]))
    return path


def _over_subtrees(values: np.ndarray, parents: Sequence[int], pick) -> np.ndarray:
    """(J,) each joint's value picked (np.minimum, np.maximum) over itself and every joint below it."""
    out = values.copy()
    for j in reversed(range(len(parents))):  # parents come before their children
        if parents[j] >= 0:
            out[parents[j]] = pick(out[parents[j]], out[j])
    return out


def _limb(path: list[int], end: int, pos: np.ndarray, short: float) -> tuple[int, int] | None:
    """(upper, middle) joints of the limb path[0] .. end (an arm to its hand, a leg to its ankle). For each joint
    that may start it, the middle joint (elbow, knee) is the one nearest half-way to end; the start kept is the one
    whose middle joint lies nearest its half-way point for the limb's length, which passes a clavicle or hip joint
    before the limb (ASF's lclavicle, CMU's LeftCollar and LHipJoint) and not a twist joint within it. A first link
    shorter than `short` of the rest of the way is passed whatever it gives (Quaternius's clavicles)."""
    starts = path[: path.index(end) - 1]  # a joint must lie between start and end
    if len(starts) >= 2 and np.linalg.norm(pos[path[1]] - pos[path[0]]) < short * np.linalg.norm(
            pos[end] - pos[path[1]]):
        starts = starts[1:]
    best: tuple[float, int, int] | None = None
    for upper in starts:
        mid = 0.5 * (pos[upper] + pos[end])
        middle = min(path[path.index(upper) + 1: path.index(end)], key=lambda j: float(np.linalg.norm(pos[j] - mid)))
        off = float(np.linalg.norm(pos[middle] - mid) / max(float(np.linalg.norm(pos[end] - pos[upper])), 1e-12))
        if best is None or off < best[0]:
            best = (off, upper, middle)
    return best[1:] if best is not None else None


def _head(chain: list[int], parents: Sequence[int], children: list[list[int]], pos: np.ndarray) -> int:
    """The head among the joints above the neck (chain, going up): the first that ends the chain, forks (eyes,
    jaw) or has for its one child an end joint at least half as long again as its own link (Mixamo's HeadTop_End);
    joints before it are more of the neck (ASF's upperneck, Epic's neck_02)."""
    for j in chain:
        if len(children[j]) != 1:
            return j
        (child,) = children[j]
        if not children[child] and np.linalg.norm(pos[child] - pos[j]) >= 1.5 * np.linalg.norm(
                pos[j] - pos[parents[j]]):
            return j
    return chain[-1]


def map_by_shape(parents: Sequence[int], pos: np.ndarray) -> dict[str, int]:
    """{HumanBodyBone: joint} from a standing rest pose alone, for a rig whose bone names follow no convention:
    pos (J, 3) world rest positions, Y up, the character facing +Z as glTF characters do (its left at +X; a rig
    whose toes point to -Z faces that way). The Hips are the joint nearest the root from which two chains go down to
    the floor and one up to the head; along each leg the ankle is the first joint within 15 % of the hip's height
    over the floor, the toes follow it; the arms are the two chains that leave the spine furthest sideways (in a
    T-, A- or arms-down pose), the hand where the fingers fork (else the chain's end); knee and elbow, thigh and
    upper arm as _limb finds them; the Neck is the first joint of the spine above the arms, the Head the one _head
    finds above it; the fingers are the chains leaving each hand (_fingers). Empty where the pose shows no such
    body (one lying, or facing sideways, is not searched)."""
    J = len(parents)
    children: list[list[int]] = [[] for _ in range(J)]
    for j, p in enumerate(parents):
        if p >= 0:
            children[p].append(j)
    low, high = _over_subtrees(pos[:, 1], parents, np.minimum), _over_subtrees(pos[:, 1], parents, np.maximum)
    extent = pos.max(axis=0) - pos.min(axis=0)
    height = float(extent[1])
    if height <= 0 or height < 0.7 * extent[0] or height < 2.0 * extent[2]:  # not standing, facing +-Z
        return {}

    def legs_and_spine(j: int) -> tuple[list[int], int] | None:
        # Measured from each chain's own start: a rig may hang its legs from a root on the floor, beside its Hips.
        down = [c for c in children[j] if low[c] < pos[c, 1] - 0.3 * height]
        up = [c for c in children[j] if high[c] > pos[c, 1] + 0.2 * height]
        if len(down) < 2 or not up:
            return None
        return sorted(down, key=lambda c: low[c])[:2], max(up, key=lambda c: high[c])

    found = [(j, ls) for j in range(J) if (ls := legs_and_spine(j))]
    if not found:
        return {}
    hips, (legs, spine_start) = min(found, key=lambda f: _depth(f[0], parents))
    out = {"Hips": hips}
    limbs: list[tuple[str, dict[str, int], float]] = []  # (part, bones, x of its end)
    for start in legs:
        path = _path(start, children, -low)
        up = pos[start, 1] - low[start]  # the hip joint over the floor
        foot = next((j for j in path[1:] if pos[j, 1] - low[start] <= 0.15 * up), None)
        if foot is None:
            return {}
        thigh_knee = _limb(path, foot, pos, 0.2)  # the thigh past a hip joint (CMU's LHipJoint)
        if thigh_knee is None:
            return {}
        upper, knee = thigh_knee
        after = path[path.index(foot) + 1:]
        toes = after[0] if after and np.linalg.norm(pos[after[0]] - pos[foot]) > 0.01 * height else None
        leg: dict[str, int] = {"UpperLeg": upper, "LowerLeg": knee, "Foot": foot}
        leg |= {"Toes": toes} if toes is not None else {}
        limbs.append(("leg", leg, float(pos[foot, 0])))
    spine = _path(spine_start, children, high)
    side = np.abs(pos[:, 0] - pos[hips, 0])
    reach = _over_subtrees(side, parents, np.maximum)
    arms = sorted((c for j in spine for c in children[j] if c not in spine and reach[c] > 0.1 * height),
                  key=lambda c: -reach[c])[:2]
    if len(arms) < 2:
        return {}
    branch = max(spine.index(parents[a]) for a in arms)
    above = spine[branch + 1:]
    if not above:
        return {}
    out |= {"Head": above[0]} if len(above) == 1 else {"Neck": above[0], "Head": _head(above[1:], parents,
                                                                                       children, pos)}
    for start in arms:
        path = _path(start, children, side)
        while len(path) > 3 and np.linalg.norm(pos[path[-1]] - pos[path[-2]]) < 0.01 * height:
            path.pop()  # an end joint where its parent is (SFU's LeftHandThumb)
        hand = next((j for j in path[1:] if len(children[j]) >= 2), path[-1])
        arm_elbow = _limb(path, hand, pos, 0.3)  # the upper arm past the clavicle
        if arm_elbow is None:
            return {}
        upper, elbow = arm_elbow
        arm: dict[str, int] = {"UpperArm": upper, "LowerArm": elbow, "Hand": hand}
        arm |= {"Shoulder": start} if upper != start else {}
        limbs.append(("arm", arm, float(pos[hand, 0])))
    toes_z = sum(pos[b["Toes"], 2] - pos[b["Foot"], 2] for _, b, _ in limbs if "Toes" in b)  # where the toes point
    facing = -1.0 if toes_z < 0 else 1.0
    for part in ("leg", "arm"):
        pair = sorted((x for x in limbs if x[0] == part), key=lambda x: x[2])  # right, then left (facing +Z)
        if len(pair) != 2 or pair[0][2] == pair[1][2]:
            return {}
        for (_, bones, _), name in zip(pair, ("Right", "Left") if facing > 0 else ("Left", "Right"), strict=True):
            out |= {f"{name}{b}": j for b, j in bones.items()}
    for name in ("Left", "Right"):
        out |= {f"{name}{b}": j for b, j in _fingers(out[f"{name}Hand"], children, pos, facing).items()}
    return out


def _fingers(hand: int, children: list[list[int]], pos: np.ndarray, facing: float) -> dict[str, int]:
    """{Thumb/Index/Middle/Ring/Little + Proximal/Intermediate/Distal: joint} of the chains leaving a hand of a
    T- or A-posed rig: along each chain its first three joints, after a metacarpal (a first joint near the wrist on
    a long chain, as Epic's and Daz's rigs have); the thumb is the chain that then starts nearest the wrist, the
    others follow by how far forward their knuckles lie (index first). Empty for fewer than two chains (a mitten,
    a lone socket bone)."""
    away = np.linalg.norm(pos - pos[hand], axis=1)
    chains = [c for c in (_path(c, children, away) for c in children[hand]) if len(c) >= 2]
    if len(chains) < 2:
        return {}
    for k, c in enumerate(chains):
        length = away[c[0]] + sum(float(np.linalg.norm(pos[b] - pos[a])) for a, b in zip(c, c[1:], strict=False))
        if len(c) >= 4 and away[c[0]] < 0.25 * length:
            chains[k] = c[1:]
    thumb = min(chains, key=lambda c: away[c[0]])
    others = sorted((c for c in chains if c is not thumb), key=lambda c: -facing * pos[c[0], 2])
    out: dict[str, int] = {}
    for finger, chain in zip(("Thumb", "Index", "Middle", "Ring", "Little"), [thumb, *others], strict=False):
        out |= {f"{finger}{phalanx}": j for phalanx, j in zip(_PHALANGES, chain, strict=False)}
    return out


def map_bones(names: Sequence[str], parents: Iterable[int],
              overrides: Mapping[str, str] | None = None, fingers: bool = True,
              rest: Callable[[], np.ndarray | None] | None = None) -> dict[str, str]:
    """{HumanBodyBone: source bone name} for the skeleton given by bone names and parent indices (-1 = root).

    overrides: {HumanBodyBone: source name} that take precedence. rest: gives the (J, 3) world rest positions (Y up,
    facing +Z; None where there are none to go by), called only where the names do not give the bones a humanoid
    needs: then its shape does (map_by_shape). Raises BoneMapError naming what is missing.
    """
    names = list(names)
    parents = [int(p) for p in parents]
    try:
        return _map_by_name(names, parents, overrides, fingers)
    except BoneMapError as e:
        pose = rest() if rest is not None else None
        shape = map_by_shape(parents, np.asarray(pose, dtype=np.float64)) if pose is not None else {}
        if not shape or "bone map override" in str(e):
            raise
    # Names found too little: the shape maps the body (and fingers), spread over the spine as names would be,
    # overrides on top.
    by_shape = {b: names[j] for b, j in shape.items() if fingers or b not in skeleton.FINGER_BONES}
    by_shape |= dict(overrides or {})
    return _map_by_name(names, parents, by_shape, fingers=False)


def _map_by_name(names: list[str], parents: list[int], overrides: Mapping[str, str] | None,
                 fingers: bool) -> dict[str, str]:
    index = {n: i for i, n in enumerate(names)}
    out: dict[str, int] = {}
    for bone, src in (overrides or {}).items():
        if bone not in skeleton.ALL_BONES:
            raise BoneMapError(f"bone map override: {bone!r} is not a HumanBodyBones name")
        if src not in index:
            raise BoneMapError(f"bone map override: the skeleton has no bone named {src!r} (for {bone})")
        out[bone] = index[src]

    def put(bone: str, j: int) -> None:
        # The joint nearest the root wins when several match (e.g. an arm before its twist helpers).
        if bone in out and (bone in (overrides or {}) or _depth(out[bone], parents) <= _depth(j, parents)):
            return
        out[bone] = j

    # Exact HumanBodyBones names first, when the skeleton follows them (Unity, our own clips).
    if "LeftUpperArm" in index:
        for j, n in enumerate(names):
            if n in skeleton.ALL_BONES and n not in (overrides or {}):
                out.setdefault(n, j)

    # Limbs by side + stem, fingers by pattern.
    shoulders: dict[str, list[int]] = {"Left": [], "Right": []}
    joints_of: dict[str, set[int]] = {}  # "LeftIndex": the joints named as that finger's
    for j, n in enumerate(names):
        norm = normalize(n)
        for side, stem in _side_and_stem(norm):
            for part, words in _LIMB_NAMES.items():
                if stem in words:
                    put(f"{side}{part}", j)
                    if part == "Shoulder":
                        shoulders[side].append(j)
            finger = _finger_of(stem, bool(_BIPED_RE.match(n))) if fingers else None
            if finger:
                joints_of.setdefault(f"{side}{finger}", set()).add(j)
    # A finger's phalanges are its first three joints from the hand, whatever number they start from (Quaternius's
    # male rigs count a finger's joints 2, 3, 4 from the knuckle; Mixamo's 1, 2, 3 and a 4 at the tip).
    for finger, joints in joints_of.items():
        for phalanx, j in zip(_PHALANGES, sorted(joints, key=lambda j: (_depth(j, parents), j)), strict=False):
            put(f"{finger}{phalanx}", j)
    # Daz / AnimatedDrawings call the upper arm "shoulder" below a "collar": the deeper one is the arm.
    for side, found in shoulders.items():
        if f"{side}UpperArm" not in out and len(found) >= 2:
            found.sort(key=lambda j: _depth(j, parents))
            out[f"{side}Shoulder"], out[f"{side}UpperArm"] = found[0], found[1]

    # Head, then the spine chain from the Hips to the head.
    if "Head" not in out:
        heads = [j for j, n in enumerate(names) if normalize(n) == "head"]
        if heads:
            out["Head"] = min(heads, key=lambda j: _depth(j, parents))
    if "Hips" not in out and all(k in out for k in ("LeftUpperLeg", "RightUpperLeg", "Head")):
        chains = [_ancestors(out[k], parents) for k in ("LeftUpperLeg", "RightUpperLeg", "Head")]
        common = [j for j in chains[0] if j in chains[1] and j in chains[2]]
        if common:
            out["Hips"] = common[0]
    if "Hips" in out and "Head" in out:
        path = _ancestors(out["Head"], parents)
        if out["Hips"] in path:
            between = list(reversed(path[1:path.index(out["Hips"])]))  # Hips' child .. Head's parent
            if "Neck" not in out:
                necks = [j for j in between if "neck" in normalize(names[j])]
                if necks:
                    out["Neck"] = necks[0]
            spine = between[: between.index(out["Neck"])] if out.get("Neck") in between else between
            if spine:
                out.setdefault("Spine", spine[0])
                if len(spine) >= 2:
                    out.setdefault("Chest", spine[len(spine) // 2] if len(spine) >= 3 else spine[1])
                if len(spine) >= 3:
                    out.setdefault("UpperChest", spine[-1])
    missing = [b for b in REQUIRED if b not in out]
    if missing:
        raise BoneMapError(
            f"cannot map the skeleton onto HumanBodyBones: no bone found for {', '.join(missing)} "
            f"(bones: {', '.join(names[:12])}{', ...' if len(names) > 12 else ''}); pass overrides for them"
        )
    return {b: names[out[b]] for b in skeleton.ALL_BONES if b in out}
