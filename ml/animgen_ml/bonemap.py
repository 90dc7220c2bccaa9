"""Map a skeleton's bone names onto Unity's HumanBodyBones by naming conventions.

Handles HumanBodyBones itself, Mixamo (mixamorig:LeftArm), cgspeed CMU (Hips, LHipJoint, LeftUpLeg, LowerBack),
ACCAD / SFU / AnimatedDrawings / Rokoko (Hips, Spine, LeftForeArm, LeftToeBase), Daz (hip, abdomen, lShldr,
lThigh), Character Creator (CC_Base_L_Upperarm), HDM05 / ASF (root, lfemur, lhumerus), UE4/UE5 Mannequin
(pelvis, spine_01.., thigh_l, calf_l, ball_l, clavicle_l, upperarm_l). Limbs and fingers are found by name; the
Hips are the common ancestor of both thighs and the head; Spine / Chest / UpperChest are spread over the joints
between the Hips and the neck, so any number of spine joints works.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

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
    "UpperArm": ("upperarm", "arm", "shldr", "humerus", "uparm"),
    "LowerArm": ("lowerarm", "forearm", "radius", "elbow"),
    "Hand": ("hand", "wrist"),
    "UpperLeg": ("upperleg", "upleg", "thigh", "femur", "hip"),
    "LowerLeg": ("lowerleg", "leg", "shin", "calf", "tibia", "knee"),
    "Foot": ("foot", "ankle"),
    "Toes": ("toes", "toebase", "toe", "ball"),
}
_SIDE_FORMS = {"Left": ("left", "l"), "Right": ("right", "r")}
_FINGER_WORDS = {"thumb": "Thumb", "index": "Index", "middle": "Middle", "mid": "Middle", "ring": "Ring",
                 "pinky": "Little", "little": "Little"}
_PHALANX = {"1": "Proximal", "2": "Intermediate", "3": "Distal"}
_FINGER_RE = re.compile(r"^(?:hand|finger)?(thumb|index|middle|mid|ring|pinky|little)0?([123])$")


class BoneMapError(InputError):
    """The skeleton lacks bones a humanoid needs (the message names them)."""


def normalize(name: str) -> str:
    """Lower-case name without namespace (mixamorig:), Character Creator prefix, separators."""
    n = name.rsplit(":", 1)[-1].rsplit("|", 1)[-1]
    n = re.sub(r"^(cc_base_|bip0?1[ _]?|def[-_])", "", n, flags=re.IGNORECASE)
    return re.sub(r"[\s_.\-]", "", n).lower()


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


def map_bones(names: Sequence[str], parents: Iterable[int],
              overrides: Mapping[str, str] | None = None, fingers: bool = True) -> dict[str, str]:
    """{HumanBodyBone: source bone name} for the skeleton given by bone names and parent indices (-1 = root).

    overrides: {HumanBodyBone: source name} that take precedence. Raises BoneMapError naming what is missing.
    """
    names = list(names)
    parents = [int(p) for p in parents]
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
    for j, n in enumerate(names):
        norm = normalize(n)
        for side, stem in _side_and_stem(norm):
            for part, words in _LIMB_NAMES.items():
                if stem in words:
                    put(f"{side}{part}", j)
                    if part == "Shoulder":
                        shoulders[side].append(j)
            m = _FINGER_RE.match(stem) if fingers else None
            if m:
                put(f"{side}{_FINGER_WORDS[m.group(1)]}{_PHALANX[m.group(2)]}", j)
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
