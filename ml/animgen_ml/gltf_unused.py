"""Drop what a glTF document no longer reads: accessors that no mesh, skin or animation uses, and buffer views that
no accessor or image uses, with the binary chunk rebuilt without their bytes. A character written with our clip
(retarget.write_target_glb) loses its own animations, whose keys would otherwise stay in the file (27 % of
Xbot's binary).

Plain data: the document as parsed JSON and the GLB's binary chunk."""

from __future__ import annotations

import copy

# Extensions known to hold no accessor or buffer view index. A document that uses any other (Draco and meshopt
# compression, GPU instancing, ...) is left whole: an index inside it would point at other data once renumbered.
SAFE_EXTENSIONS = ("KHR_materials_", "KHR_texture_transform", "KHR_texture_basisu", "KHR_lights_punctual",
                   "KHR_mesh_quantization", "KHR_xmp_json_ld", "EXT_texture_webp", "EXT_texture_avif",
                   "VRM", "VRMC_")  # VRM's name nodes, meshes, materials, textures and images, not their data


def _safe(name: str) -> bool:
    return any(name == s or (s.endswith("_") and name.startswith(s)) for s in SAFE_EXTENSIONS)


def _accessor_refs(doc: dict) -> list[tuple[dict, str]]:
    """(object, key) of every accessor index in the document."""
    refs = []
    for mesh in doc.get("meshes", []):
        for prim in mesh.get("primitives", []):
            refs += [(prim["attributes"], k) for k in prim.get("attributes", {})]
            refs += [(prim, "indices")] if prim.get("indices") is not None else []
            refs += [(t, k) for t in prim.get("targets", []) for k in t]
    refs += [(s, "inverseBindMatrices") for s in doc.get("skins", []) if s.get("inverseBindMatrices") is not None]
    refs += [(s, k) for a in doc.get("animations", []) for s in a.get("samplers", []) for k in ("input", "output")]
    return refs


def _view_refs(doc: dict) -> list[tuple[dict, str]]:
    """(object, key) of every buffer view index in the document."""
    refs = []
    for acc in doc.get("accessors", []):
        refs += [(acc, "bufferView")] if acc.get("bufferView") is not None else []
        sparse = acc.get("sparse", {})
        refs += [(sparse[part], "bufferView") for part in ("indices", "values") if part in sparse]
    refs += [(img, "bufferView") for img in doc.get("images", []) if img.get("bufferView") is not None]
    return refs


def _keep_used(doc: dict, kind: str, refs: list[tuple[dict, str]]) -> None:
    """Remove the doc[kind] entries that no ref points at, and renumber the refs."""
    used = sorted({obj[key] for obj, key in refs})
    new = {old: i for i, old in enumerate(used)}
    for obj, key in refs:
        obj[key] = new[obj[key]]
    kept = [doc.get(kind, [])[i] for i in used]
    if kept:
        doc[kind] = kept
    else:
        doc.pop(kind, None)  # glTF does not allow an empty array


def drop_unused(doc: dict, blob: bytes) -> tuple[dict, bytes]:
    """(document, binary chunk) without unread accessors and buffer views. The input is not changed; a document
    with an extension not known to be safe (SAFE_EXTENSIONS), or whose first buffer is not the GLB's own, comes
    back as it was."""
    buffers = doc.get("buffers", [])
    if any(not _safe(e) for e in doc.get("extensionsUsed", [])) or not buffers or "uri" in buffers[0]:
        return doc, blob
    doc = copy.deepcopy(doc)
    _keep_used(doc, "accessors", _accessor_refs(doc))
    _keep_used(doc, "bufferViews", _view_refs(doc))
    out = bytearray()
    for view in doc.get("bufferViews", []):
        if view.get("buffer", 0) != 0:
            continue
        while len(out) % 4:  # an accessor's offset must be a multiple of its component's size (at most 4)
            out.append(0)
        start = view.get("byteOffset", 0)
        view["byteOffset"] = len(out)
        out += blob[start:start + view["byteLength"]]
    while len(out) % 4:
        out.append(0)
    doc["buffers"][0]["byteLength"] = len(out)
    return doc, bytes(out)
