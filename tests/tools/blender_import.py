"""Imports a .glb or .bvh in headless Blender and prints what it built as one JSON line prefixed "RESULT ".

blender -b --factory-startup --python tests/tools/blender_import.py -- FILE [--fps F] [--bvh-scale S]
    [--frames 0,10,20]
--fps: the clip's frame rate; the glTF importer keys at time * scene fps, so the scene is set to it first.
--frames: clip frames (0-based) at which to report every pose bone's world head, in Blender's space (Z up).
Test helper only: the shims below patch Blender 3.4's bundled importers for the newer numpy / Python here.
"""

from __future__ import annotations

import argparse
import builtins
import json
import sys

import bpy
import numpy

# Blender 3.4's glTF importer still uses numpy.bool, which numpy >= 1.24 removed.
if not hasattr(numpy, "bool"):
    numpy.bool = bool  # type: ignore[attr-defined]  # deliberate shim: numpy 1.24-1.26 have no numpy.bool

# Its BVH importer opens files with mode "rU"; Python 3.11 removed "U".
_open = builtins.open


def _open_without_u(file, mode="r", *args, **kwargs):
    return _open(file, mode.replace("U", "") if isinstance(mode, str) else mode, *args, **kwargs)


builtins.open = _open_without_u


def main() -> None:
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--fps", type=float, default=None)
    ap.add_argument("--bvh-scale", type=float, default=1.0)
    ap.add_argument("--frames", default="")
    args = ap.parse_args(argv)

    bpy.ops.object.select_all(action="SELECT")
    bpy.ops.object.delete()
    scene = bpy.context.scene
    if args.fps:
        scene.render.fps = max(1, round(args.fps))
        scene.render.fps_base = 1.0
    if args.file.lower().endswith((".glb", ".gltf")):
        result = bpy.ops.import_scene.gltf(filepath=args.file)
    elif args.file.lower().endswith(".bvh"):
        result = bpy.ops.import_anim.bvh(filepath=args.file, global_scale=args.bvh_scale, update_scene_fps=True,
                                         update_scene_duration=True)
    else:
        raise SystemExit(f"unsupported file type: {args.file}")

    armatures = []
    for obj in scene.objects:
        if obj.type != "ARMATURE":
            continue
        action = obj.animation_data.action if obj.animation_data else None
        info = {
            "name": obj.name,
            "bones": [b.name for b in obj.data.bones],
            "action": None if action is None else {"name": action.name, "frame_range": list(action.frame_range),
                                                   "fcurves": len(action.fcurves)},
            "heads": {},
        }
        if action is not None and args.frames:
            start = action.frame_range[0]
            for f in (int(v) for v in args.frames.split(",")):
                scene_fps = scene.render.fps / scene.render.fps_base
                t = start + f * scene_fps / (args.fps or scene_fps)
                scene.frame_set(int(t), subframe=t - int(t))
                info["heads"][str(f)] = {pb.name: list(obj.matrix_world @ pb.head) for pb in obj.pose.bones}
        armatures.append(info)
    out = {"result": sorted(result), "scene_fps": scene.render.fps / scene.render.fps_base, "armatures": armatures,
           "objects": [o.type for o in scene.objects]}
    print("RESULT " + json.dumps(out))


main()
