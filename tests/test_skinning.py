"""skinning.py on a real character (a Quaternius .glb from the data kit) and on copies of it rewritten the ways glTF
allows: its lower legs' and feet's vertices land where they do in the original, and what it cannot read is left out
rather than read wrong."""

from __future__ import annotations

import numpy as np
import pygltflib as G
import pytest

from animgen_ml import retarget, skinning
from animgen_ml import rotations as R

CHARACTER = "characters/quaternius_male_casual.glb"


def _heights(doc, sk, nodes) -> dict[str, np.ndarray | None]:
    """Per side, the sorted rest heights of the lower leg's and foot's vertices (None: no part read)."""
    from animgen_ml.bonemap import map_bones

    names = map_bones(sk.names, sk.parents, {}, fingers=False)
    pos, rot = sk.rest_world()
    scale = sk.world_scales()
    out = {}
    for side in ("Left", "Right"):
        part = skinning.part_mesh(doc, nodes, retarget.joint_and_below(sk, sk.names.index(names[f"{side}LowerLeg"])))
        out[side] = None if part is None else np.sort(skinning.posed(part, pos[None], rot[None], scale)[0, :, 1])
    return out


def _append(doc, data: bytes, stride: int | None = None) -> int:
    """A new buffer view on `data`, appended to the .glb's binary chunk."""
    blob = bytearray(doc.binary_blob() or b"")
    blob.extend(b"\0" * (-len(blob) % 4))
    offset = len(blob)
    blob.extend(data)
    blob.extend(b"\0" * (-len(blob) % 4))
    doc.bufferViews.append(G.BufferView(buffer=0, byteOffset=offset, byteLength=len(data), byteStride=stride))
    doc.buffers[0].byteLength = len(blob)
    doc.set_binary_blob(bytes(blob))
    return len(doc.bufferViews) - 1


def _accessor(doc, view: int, component: int, count: int, type_: str, **kw) -> int:
    doc.accessors.append(G.Accessor(bufferView=view, componentType=component, count=count, type=type_, **kw))
    return len(doc.accessors) - 1


def _leg_primitives(doc):
    return [p for n in doc.nodes if n.mesh is not None and n.skin is not None for p in doc.meshes[n.mesh].primitives]


@pytest.fixture()
def character(shared_data, tmp_path):
    """(the original's heights, a function that saves a changed copy and reads its heights)."""
    path = shared_data / CHARACTER
    sk, doc, nodes = retarget.load_glb_skeleton(path)

    def reread(change) -> dict[str, np.ndarray | None]:
        copy = G.GLTF2().load(str(path))
        change(copy)
        out = tmp_path / "changed.glb"
        copy.save_binary(str(out))
        sk2, doc2, nodes2 = retarget.load_glb_skeleton(out)
        return _heights(doc2, sk2, nodes2)

    return _heights(doc, sk, nodes), reread


def test_interleaved_and_quantised_positions_land_where_the_original_s_do(character):
    original, reread = character
    assert original["Left"] is not None and 300 < len(original["Left"]) and original["Left"][0] < 0.01

    def interleaved(doc):  # position after a 12-byte normal, every 24 bytes
        for p in _leg_primitives(doc):
            pos = skinning.read_accessor(doc, p.attributes.POSITION).astype(np.float32)
            view = _append(doc, np.concatenate([np.full_like(pos, 7.0), pos], 1).tobytes(), stride=24)
            p.attributes.POSITION = _accessor(doc, view, G.FLOAT, len(pos), "VEC3", byteOffset=12,
                                              min=pos.min(0).tolist(), max=pos.max(0).tolist())

    def quantised(doc):  # normalized int16 positions (KHR_mesh_quantization), the scale folded into the skins' IBMs
        k = max(np.abs(skinning.read_accessor(doc, p.attributes.POSITION)).max() for p in _leg_primitives(doc))
        for p in _leg_primitives(doc):
            pos = skinning.read_accessor(doc, p.attributes.POSITION)
            q = np.zeros((len(pos), 4), np.int16)
            q[:, :3] = np.round(pos / k * 32767)
            p.attributes.POSITION = _accessor(doc, _append(doc, q.tobytes(), stride=8), G.SHORT, len(q), "VEC3",
                                              normalized=True, min=q[:, :3].min(0).tolist(),
                                              max=q[:, :3].max(0).tolist())
        for skin in doc.skins:
            ibm = skinning.read_accessor(doc, skin.inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)
            ibm = (ibm @ np.diag([k, k, k, 1.0])).transpose(0, 2, 1).reshape(-1, 16).astype(np.float32)
            skin.inverseBindMatrices = _accessor(doc, _append(doc, ibm.tobytes()), G.FLOAT, len(ibm), "MAT4")
        doc.extensionsUsed = sorted(set(doc.extensionsUsed or []) | {"KHR_mesh_quantization"})

    for change, tol in ((interleaved, 1e-6), (quantised, 2e-4)):
        got = reread(change)
        for side in ("Left", "Right"):
            np.testing.assert_allclose(got[side], original[side], atol=tol)


def test_what_it_cannot_read_is_left_out_not_read_wrong(character):
    original, reread = character

    def sparse_ibm(doc):  # the skins' matrices in a sparse accessor: not read, and not taken for identity
        for skin in doc.skins:
            a = doc.accessors[skin.inverseBindMatrices]
            idx = _append(doc, np.zeros(1, np.uint16).tobytes())
            val = _append(doc, np.eye(4, dtype=np.float32).tobytes())
            a.sparse = G.Sparse(count=1, indices=G.AccessorSparseIndices(bufferView=idx,
                                                                         componentType=G.UNSIGNED_SHORT),
                                values=G.AccessorSparseValues(bufferView=val))

    assert reread(sparse_ibm) == {"Left": None, "Right": None}

    def stray_weight(doc):  # one vertex of the right foot gives 1 % of its weight to a bone outside the skeleton
        doc.nodes.append(G.Node(name="ShoeLace"))
        for skin in doc.skins:
            skin.joints.append(len(doc.nodes) - 1)
            ibm = skinning.read_accessor(doc, skin.inverseBindMatrices)
            ibm = np.concatenate([ibm, np.eye(4).reshape(1, 16)]).astype(np.float32)
            skin.inverseBindMatrices = _accessor(doc, _append(doc, ibm.tobytes()), G.FLOAT, len(ibm), "MAT4")
        p = next(p for p in _leg_primitives(doc) if doc.accessors[p.attributes.POSITION].count)
        jt = skinning.read_accessor(doc, p.attributes.JOINTS_0).astype(np.uint16)
        wt = skinning.read_accessor(doc, p.attributes.WEIGHTS_0).astype(np.float32)
        v = int(np.argmin(skinning.read_accessor(doc, p.attributes.POSITION)[:, 0]))  # a vertex of one side
        slot = int(np.argmin(wt[v]))
        jt[v, slot], wt[v] = len(doc.skins[0].joints) - 1, wt[v] * 0.99
        wt[v, slot] = 0.01
        p.attributes.JOINTS_0 = _accessor(doc, _append(doc, jt.tobytes()), G.UNSIGNED_SHORT, len(jt), "VEC4")
        p.attributes.WEIGHTS_0 = _accessor(doc, _append(doc, wt.tobytes()), G.FLOAT, len(wt), "VEC4")

    got = reread(stray_weight)
    kept = sorted(len(got[s]) for s in ("Left", "Right"))
    assert kept[1] == len(original["Left"]) and kept[0] >= len(original["Left"]) - 1  # that vertex alone goes


def test_lowest_is_the_lowest_posed_vertex_in_chunks(shared_data, monkeypatch):
    """Heights alone, a few frames at a time (skinning._CHUNK_VALUES), as whole posed vertices give them; and
    near_lowest keeps the vertices that can be the lowest in a motion near this one."""
    monkeypatch.setattr(skinning, "_CHUNK_VALUES", 20_000)
    from animgen_ml import mocap

    walk = mocap.load_clip(shared_data / "mocap/cmu_iclone_ccrig/002/002_01.bvh")
    sk, doc, nodes = retarget.load_glb_skeleton(shared_data / CHARACTER)
    m = retarget.retarget(walk, sk)
    pos, rot = sk.forward(m.rotations, m.translations)
    scale = sk.world_scales()
    part = skinning.part_mesh(doc, nodes, retarget.joint_and_below(sk, sk.names.index(m.mapping["LeftLowerLeg"])))
    assert skinning._CHUNK_VALUES // part.joints.size < walk.frame_count  # more than one chunk
    np.testing.assert_allclose(skinning.lowest(part, pos, rot, scale),
                               skinning.posed(part, pos, rot, scale)[..., 1].min(axis=1), atol=1e-9)

    # The vertices near the lowest: a few of the part's, and the same lowest on this motion; on the motion turned 3°
    # at every joint, the same lowest from those within 4 cm.
    heights = skinning.posed(part, pos, rot, scale)[..., 1]
    near = skinning.near_lowest(part, pos, rot, scale, 0.0)
    assert len(np.unique(heights.argmin(axis=1))) <= len(near.joints) < 0.1 * len(part.joints)  # seam twins
    np.testing.assert_allclose(skinning.lowest(near, pos, rot, scale), heights.min(axis=1), atol=1e-9)
    rng = np.random.default_rng(0)
    axes = rng.normal(size=m.rotations.shape[:-1] + (3,))
    turn = R.from_axis_angle(axes, np.full(axes.shape[:-1], np.radians(3.0)))
    bent = sk.forward(R.multiply(m.rotations, turn), m.translations)
    near = skinning.near_lowest(part, pos, rot, scale, 0.04)
    assert len(near.joints) < 0.5 * len(part.joints)  # the sole, not the shin
    np.testing.assert_allclose(skinning.lowest(near, *bent, scale), skinning.lowest(part, *bent, scale), atol=1e-9)


def test_data_in_another_buffer_is_not_read_from_the_glb_s_own(shared_data):
    sk, doc, nodes = retarget.load_glb_skeleton(shared_data / CHARACTER)
    doc.buffers.append(G.Buffer(uri="elsewhere.bin", byteLength=len(doc.binary_blob())))
    for p in _leg_primitives(doc):
        doc.bufferViews[doc.accessors[p.attributes.POSITION].bufferView].buffer = 1
    assert skinning.read_accessor(doc, _leg_primitives(doc)[0].attributes.POSITION) is None
    assert _heights(doc, sk, nodes) == {"Left": None, "Right": None}
