"""Imports a character .glb in headless Blender and reports, as one JSON line prefixed "RESULT ", whether its
skinned meshes move: per sampled frame the evaluated (deformed) vertices' bounding box, and the largest vertex
displacement from the first sampled frame; plus each pose bone's world head (Blender space, Z up).

blender -b --factory-startup --python tests/tools/retarget_blender_check.py -- FILE --fps F --frames 0,10,20
Test helper only; the numpy shim patches Blender 3.4's bundled glTF importer for the numpy installed here.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import bpy
import numpy

if not hasattr(numpy, "bool"):
    numpy.bool = bool  # type: ignore[attr-defined]  # deliberate shim: numpy 1.24-1.26 have no numpy.bool


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--fps", type=float, required=True)
    ap.add_argument("--frames", required=True)
    args = ap.parse_args(sys.argv[sys.argv.index("--") + 1:])
    bpy.ops.object.select_all(action="SELECT")
    bpy.ops.object.delete()
    scene = bpy.context.scene
    scene.render.fps = max(1, round(args.fps))
    scene.render.fps_base = 1.0
    bpy.ops.import_scene.gltf(filepath=args.file)
    arm = next(o for o in scene.objects if o.type == "ARMATURE")
    action = arm.animation_data.action if arm.animation_data else None
    meshes = [o for o in scene.objects if o.type == "MESH" and any(m.type == "ARMATURE" for m in o.modifiers)]
    start = action.frame_range[0] if action else 0.0
    frames = [int(v) for v in args.frames.split(",")]
    first = None
    out: dict[str, Any] = {"action": None if action is None else list(action.frame_range),
                           "skinned_meshes": len(meshes), "frames": {}}
    for f in frames:
        scene.frame_set(int(start + f))
        dg = bpy.context.evaluated_depsgraph_get()
        verts = []
        for o in meshes:
            ev = o.evaluated_get(dg)
            me = ev.to_mesh()
            co = numpy.empty(len(me.vertices) * 3)
            me.vertices.foreach_get("co", co)
            co = co.reshape(-1, 3)
            mw = numpy.array(ev.matrix_world)
            verts.append(co @ mw[:3, :3].T + mw[:3, 3])
            ev.to_mesh_clear()
        v = numpy.concatenate(verts)
        if first is None:
            first = v
        out["frames"][str(f)] = {
            "min": v.min(0).tolist(), "max": v.max(0).tolist(),
            "max_displacement": float(numpy.linalg.norm(v - first, axis=1).max()),
            "heads": {pb.name: list(arm.matrix_world @ pb.head) for pb in arm.pose.bones},
        }
    print("RESULT " + json.dumps(out))


main()
