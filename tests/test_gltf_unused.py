"""Dropping what a glTF document no longer reads: the data every remaining accessor reads is unchanged, indices are
renumbered, and a document whose extensions may hold indices is left whole. On a real character:
tests/test_retarget.py."""

from __future__ import annotations

import copy

import numpy as np

from animgen_ml.gltf_unused import drop_unused


def _read(doc: dict, blob: bytes, accessor: int) -> bytes:
    a = doc["accessors"][accessor]
    view = doc["bufferViews"][a["bufferView"]]
    start = view.get("byteOffset", 0) + a.get("byteOffset", 0)
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[a["type"]]
    return blob[start:start + 4 * width * a["count"]]


def _document() -> tuple[dict, bytes]:
    """A mesh (positions, indices) and an animation (times, rotations) over one binary chunk; the animation's
    data lies between the mesh's, so dropping it moves the indices' bytes."""
    parts = [np.arange(9, dtype=np.float32), np.array([0.0, 1.0], np.float32),
             np.arange(8, dtype=np.float32) / 8, np.array([0, 1, 2], np.uint32)]
    views, blob = [], b""
    for p in parts:
        views.append({"buffer": 0, "byteOffset": len(blob), "byteLength": p.nbytes})
        blob += p.tobytes()
    f, u = 5126, 5125
    doc = {
        "asset": {"version": "2.0"},
        "buffers": [{"byteLength": len(blob)}],
        "bufferViews": views,
        "accessors": [{"bufferView": 0, "componentType": f, "count": 3, "type": "VEC3"},
                      {"bufferView": 1, "componentType": f, "count": 2, "type": "SCALAR"},
                      {"bufferView": 2, "componentType": f, "count": 2, "type": "VEC4"},
                      {"bufferView": 3, "componentType": u, "count": 3, "type": "SCALAR"}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 3}]}],
        "nodes": [{"mesh": 0}],
        "animations": [{"samplers": [{"input": 1, "output": 2}],
                        "channels": [{"sampler": 0, "target": {"node": 0, "path": "rotation"}}]}],
    }
    return doc, blob


def test_an_animations_data_leaves_with_it_and_the_mesh_reads_the_same():
    doc, blob = _document()
    before = copy.deepcopy(doc)
    positions, indices = _read(doc, blob, 0), _read(doc, blob, 3)
    doc["animations"] = []
    out, out_blob = drop_unused(doc, blob)
    assert len(out["accessors"]) == 2 and len(out["bufferViews"]) == 2
    prim = out["meshes"][0]["primitives"][0]
    assert _read(out, out_blob, prim["attributes"]["POSITION"]) == positions
    assert _read(out, out_blob, prim["indices"]) == indices
    assert len(out_blob) == len(positions) + len(indices) == out["buffers"][0]["byteLength"]
    before["animations"] = []
    assert doc == before  # the caller's document is not changed


def test_a_used_document_keeps_everything():
    doc, blob = _document()
    out, out_blob = drop_unused(doc, blob)
    assert out == doc and out_blob == blob


def test_an_extension_that_may_hold_indices_leaves_the_document_whole():
    doc, blob = _document()
    doc["animations"] = []
    doc["extensionsUsed"] = ["KHR_materials_unlit", "KHR_draco_mesh_compression"]
    assert drop_unused(doc, blob) == (doc, blob)
    doc["extensionsUsed"] = ["KHR_materials_unlit", "KHR_texture_transform"]
    assert len(drop_unused(doc, blob)[0]["accessors"]) == 2
