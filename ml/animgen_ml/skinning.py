"""Where a part of a glTF character's skinned mesh goes (its lower legs and feet): the vertices posed by linear blend
skinning, as glTF defines it (each vertex moved by its joints' world transforms times their inverse bind matrices,
weighted), frame by frame.

Our foot model is a heel point and a toe joint; a character's foot mesh reaches past both (a toe-less Quaternius
foot pitched rigidly about our toe joint, its tip 3-4 cm under the floor at toe-off). retarget uses these vertices
to roll such a foot over the front of its sole and to keep the character's legs out of the floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

from animgen_ml import rotations as R

_COMPONENT = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}
_CHUNK_VALUES = 2_000_000  # vertices x frames whose heights are taken at once: a long clip's are not all held at once


@dataclass
class PartMesh:
    """The vertices skinned mostly to some joints: for each of up to 4 influences, its joint (an index into the
    TargetSkeleton), its weight and the vertex in that joint's bind space (inverse bind matrix times position)."""

    joints: np.ndarray  # (V, 4) int
    weights: np.ndarray  # (V, 4), rows summing to 1
    bind: np.ndarray  # (V, 4, 3)


def read_accessor(g, index: int) -> np.ndarray | None:
    """(count, width) float64 values of a glTF accessor in the .glb's own binary chunk; None for one this reader does
    not take (sparse, with no buffer view, in another buffer, or reaching past its view)."""
    a = g.accessors[index]
    if a.bufferView is None or a.sparse is not None or a.componentType not in _COMPONENT or a.type not in _WIDTH:
        return None
    view = g.bufferViews[a.bufferView]
    if (view.buffer or 0) != 0 or not g.buffers or g.buffers[0].uri is not None:
        return None
    dtype, width = np.dtype(_COMPONENT[a.componentType]), _WIDTH[a.type]
    row = dtype.itemsize * width
    stride = view.byteStride or row
    offset = a.byteOffset or 0
    raw = np.frombuffer(g.binary_blob() or b"", np.uint8)
    end = (view.byteOffset or 0) + view.byteLength
    start = (view.byteOffset or 0) + offset
    if a.count == 0 or offset + stride * (a.count - 1) + row > view.byteLength or end > len(raw):
        return None
    rows = np.lib.stride_tricks.as_strided(raw[start:], shape=(a.count, row), strides=(stride, 1))
    out = np.ascontiguousarray(rows).view(dtype).reshape(a.count, width).astype(np.float64)
    if a.normalized and dtype.kind in "iu":  # glTF: max(c / 127, -1) for a signed byte
        out = np.maximum(out / np.iinfo(cast("np.dtype[np.integer]", dtype)).max, -1.0)  # kind "iu": an integer
    return out


def part_mesh(g, joint_nodes: list[int], joints_of_part: set[int]) -> PartMesh | None:
    """The vertices of every skinned mesh whose largest weight is on one of joints_of_part (TargetSkeleton indices;
    joint_nodes[j] is joint j's node), or None where there are none. A primitive or skin whose data this cannot
    read is left out, and so is a vertex that leans on a joint outside the skeleton."""
    joint_of_node = {n: j for j, n in enumerate(joint_nodes)}
    joints, weights, bind = [], [], []
    for node in g.nodes:
        if node.mesh is None or node.skin is None or node.mesh >= len(g.meshes) or node.skin >= len(g.skins):
            continue
        skin = g.skins[node.skin]
        own = np.array([joint_of_node.get(n, -1) for n in skin.joints])
        if skin.inverseBindMatrices is None:  # glTF: identity matrices
            ibm = np.tile(np.eye(4), (len(own), 1, 1))
        else:
            stored = read_accessor(g, skin.inverseBindMatrices)
            if stored is None:
                continue
            ibm = stored.reshape(-1, 4, 4).transpose(0, 2, 1)  # stored column-major
        for prim in g.meshes[node.mesh].primitives:
            at = prim.attributes
            if at.POSITION is None or at.JOINTS_0 is None or at.WEIGHTS_0 is None:
                continue
            pos, jt, wt = (read_accessor(g, i) for i in (at.POSITION, at.JOINTS_0, at.WEIGHTS_0))
            if pos is None or jt is None or wt is None or len(ibm) != len(own):
                continue
            jt = jt.astype(np.int64)
            if jt.max(initial=0) >= len(own) or not len(pos) == len(jt) == len(wt):
                continue
            mine = np.isin(own[jt[np.arange(len(jt)), wt.argmax(axis=1)]], list(joints_of_part)) & (wt.sum(axis=1) > 0)
            mine &= ~((own[jt] < 0) & (wt > 0)).any(axis=1)  # a vertex led by a bone outside the skeleton: left out
            if not mine.any():
                continue
            jt, wt, pos = jt[mine], wt[mine], pos[mine]
            m = ibm[jt]  # (V, 4, 4, 4): each influence's inverse bind matrix
            bind.append(np.einsum("vkab,vb->vka", m[..., :3, :3], pos) + m[..., :3, 3])
            joints.append(np.maximum(own[jt], 0))  # a joint of weight 0 outside the skeleton: any will do
            weights.append(wt / wt.sum(axis=1, keepdims=True))
    if not joints:
        return None
    return PartMesh(joints=np.concatenate(joints), weights=np.concatenate(weights), bind=np.concatenate(bind))


def posed(part: PartMesh, world_pos: np.ndarray, world_rot: np.ndarray, world_scale: np.ndarray) -> np.ndarray:
    """(T, V, 3) the part's vertices in world space, given the skeleton's world joint positions (T, J, 3), rotations
    (T, J, 4) and uniform scales (J,) (TargetSkeleton.forward, world_scale): each influence's s R b + p, weighted."""
    T = len(world_pos)
    s = world_scale[part.joints][..., None]  # (V, 4, 1)
    moved = s * R.apply(world_rot[:, part.joints], np.broadcast_to(part.bind, (T,) + part.bind.shape))
    return ((moved + world_pos[:, part.joints]) * part.weights[..., None]).sum(axis=-2)


def _heights(part: PartMesh, world_pos: np.ndarray, world_rot: np.ndarray, world_scale: np.ndarray):
    """(frame slice, (t, V) heights) of the part's vertices, a chunk of frames at a time; arguments as for posed.
    Heights only, as one product per chunk: a vertex's height is, over its influences, weight x (its joint's scale x
    the second row of the joint's rotation matrix . the bind-space vertex + the joint's height), linear in each used
    joint's second row and height. (Posing whole vertices cost Xbot's 3574 foot vertices 4 s in a 400-frame clip;
    gathering each influence's row every frame, 1.5 s of a 1832-frame --keyframe-tolerance.)"""
    used, own = np.unique(part.joints, return_inverse=True)  # the part's joints, and each influence's among them
    own = own.reshape(part.joints.shape)
    V, U = len(part.joints), len(used)
    rows = np.zeros((U, V, 3))  # the second rows' coefficients, per used joint and vertex
    lift = np.zeros((U, V))  # the joints' heights' coefficients
    vertex = np.arange(V)
    scaled = part.weights * world_scale[part.joints]
    for k in range(part.joints.shape[1]):
        np.add.at(rows, (own[:, k], vertex), scaled[:, k, None] * part.bind[:, k])
        np.add.at(lift, (own[:, k], vertex), part.weights[:, k])
    rows = rows.transpose(0, 2, 1).reshape(3 * U, V)
    chunk = max(1, _CHUNK_VALUES // V)
    for t in range(0, len(world_pos), chunk):
        sl = slice(t, t + chunk)
        row = R.to_matrix(world_rot[sl, used])[..., 1, :]  # (t, U, 3)
        yield sl, row.reshape(len(row), 3 * U) @ rows + world_pos[sl, used, 1] @ lift


def lowest(part: PartMesh, world_pos: np.ndarray, world_rot: np.ndarray, world_scale: np.ndarray) -> np.ndarray:
    """(T,) the lowest height (world y) of the part's vertices; arguments as for posed."""
    out = np.empty(len(world_pos))
    for sl, y in _heights(part, world_pos, world_rot, world_scale):
        out[sl] = y.min(axis=1)
    return out


def near_lowest(part: PartMesh, world_pos: np.ndarray, world_rot: np.ndarray, world_scale: np.ndarray,
                margin: float) -> PartMesh:
    """The part's vertices that come within margin (m) of its lowest in some frame of this motion (arguments as for
    posed): those that can be its lowest in a motion near it."""
    gap = np.full(len(part.joints), np.inf)
    for _, y in _heights(part, world_pos, world_rot, world_scale):
        gap = np.minimum(gap, (y - y.min(axis=1, keepdims=True)).min(axis=0))
    near = gap <= margin
    return PartMesh(joints=part.joints[near], weights=part.weights[near], bind=part.bind[near])
