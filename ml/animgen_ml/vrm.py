"""VRM, the humanoid avatar format of VRoid Studio and VRoid Hub: a glTF file whose extension names the node of
every humanoid bone. Read here as a `--target` character's bone map, and written as VRM Animation (`.vrma`), a clip
that any VRM avatar plays (three-vrm, UniVRM, VRoid Hub) with no retargeting on our side.

VRM 0.x (extension "VRM") names its bones as Unity's HumanBodyBones do, first letter lower-case; VRM 1.0
("VRMC_vrm", and "VRMC_vrm_animation") names the thumb's three bones metacarpal, proximal, distal where Unity says
proximal, intermediate, distal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from animgen_ml import skeleton

VRM0, VRM1, VRMA = "VRM", "VRMC_vrm", "VRMC_vrm_animation"
VRMA_SPEC_VERSION = "1.0"

_THUMB_1_0 = {"ThumbProximal": "ThumbMetacarpal", "ThumbIntermediate": "ThumbProximal"}  # Unity -> VRM 1.0


def vrm_name(bone: str) -> str:
    """The VRM 1.0 name of a HumanBodyBones name (LeftUpperArm -> leftUpperArm)."""
    for unity, vrm in _THUMB_1_0.items():
        if bone.endswith(unity):
            bone = bone.removesuffix(unity) + vrm
            break
    return bone[0].lower() + bone[1:]


def _unity_name(name: str, version_1: bool) -> str:
    bone = name[0].upper() + name[1:]
    if version_1:
        for unity, vrm in reversed(_THUMB_1_0.items()):  # proximal first: VRM 1.0's proximal is Unity's intermediate
            if bone.endswith(vrm):
                return bone.removesuffix(vrm) + unity
    return bone


def human_bones(extensions: Mapping[str, Any] | None) -> dict[str, int]:
    """{HumanBodyBone: node index} that a glTF document's root extensions give (VRM 1.0 or 0.x), for the bones a
    HumanoidClip has (eyes and jaw left out); {} for a file that is no VRM."""
    ext = extensions or {}
    if VRM1 in ext:
        pairs: Iterable[tuple[str, Any]] = ((k, v.get("node")) for k, v in
                                            (ext[VRM1].get("humanoid", {}).get("humanBones") or {}).items())
        version_1 = True
    elif VRM0 in ext:
        pairs = ((b.get("bone", ""), b.get("node")) for b in ext[VRM0].get("humanoid", {}).get("humanBones") or [])
        version_1 = False
    else:
        return {}
    out = {}
    for name, node in pairs:
        bone = _unity_name(name, version_1) if name else ""
        if bone in skeleton.ALL_BONES and isinstance(node, int) and node >= 0:
            out[bone] = node
    return out


def animation_extension(bone_nodes: Mapping[str, int]) -> dict[str, Any]:
    """The root extension that makes a glTF file of a HumanoidClip's skeleton a VRM Animation: each humanoid bone's
    node. The clip's rest pose (a T-pose, rest rotations identity, facing +Z, standing on y = 0) is the VRM T-pose
    the format asks of it."""
    return {VRMA: {"specVersion": VRMA_SPEC_VERSION,
                   "humanoid": {"humanBones": {vrm_name(b): {"node": n} for b, n in bone_nodes.items()}}}}
