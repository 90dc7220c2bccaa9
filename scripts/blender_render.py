"""Renders an animated character .glb to PNG frames in headless Blender (driven by scripts/render_mocap.py).

blender -b --factory-startup --python scripts/blender_render.py -- IN.glb OUT_DIR --width 640 --height 480
    --distance 5 --cam-height 1.4 --yaw 30 --fov 58 --fps 30 --centre X Y Z [--frames N] [--engine ENGINE]
    [--sky R G B] [--floor R G B] [--sun-yaw DEGREES]

Geometry is given in glTF axes (+Y up, the character faces +Z), as the driver computes it; Blender's glTF importer
maps glTF (x, y, z) to Blender (x, -z, y). The camera stands at centre + distance * (sin yaw, 0, cos yaw), at
cam-height above the floor, and aims at the centre (the clip's mean hips): yaw 0 = in front of the character,
the convention of animgen_ml.synth.Camera.yaw. --fov is on the image's long side (sensor fit AUTO).
Frames are written as OUT_DIR/frame_NNNN.png, numbered from the action's first frame (0 for our .glb files).
Eevee (2 anti-aliasing samples) is the default: ~0.25-0.35 s a 640x480 frame on 2 busy CPU cores through Mesa's
software OpenGL, against ~1.8 s for Cycles at 8 samples; the first frame adds ~4 s of shader compiling.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import bpy
import numpy

# Blender 3.4's glTF importer still uses numpy.bool, which numpy >= 1.24 removed.
numpy.bool = bool  # type: ignore[attr-defined]  # deliberate shim: numpy 1.24-1.26 have no numpy.bool


def gltf_to_blender(x: float, y: float, z: float) -> tuple[float, float, float]:
    return (x, -z, y)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("glb")
    ap.add_argument("out_dir")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--distance", type=float, default=5.0)
    ap.add_argument("--cam-height", type=float, default=1.4)
    ap.add_argument("--yaw", type=float, default=0.0, help="degrees")
    ap.add_argument("--fov", type=float, default=58.0, help="degrees, long side")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--centre", type=float, nargs=3, default=(0.0, 0.9, 0.0), help="glTF axes")
    ap.add_argument("--frames", type=int, default=0, help="0: the whole action")
    ap.add_argument("--samples", type=int, default=2, help="Eevee's anti-aliasing samples (Cycles: x4)")
    ap.add_argument("--engine", default="BLENDER_EEVEE", choices=("BLENDER_EEVEE", "CYCLES", "BLENDER_WORKBENCH"))
    ap.add_argument("--sky", type=float, nargs=3, default=(0.45, 0.47, 0.5), help="background colour")
    ap.add_argument("--floor", type=float, nargs=3, default=(0.3, 0.3, 0.28), help="floor colour")
    ap.add_argument("--sun-yaw", type=float, default=None, help="degrees; default: 30 past the camera's yaw")
    args = ap.parse_args(sys.argv[sys.argv.index("--") + 1:])

    # An empty scene at the clip's frame rate (the importer keys at time * scene fps).
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps = max(1, round(args.fps))
    scene.render.fps_base = scene.render.fps / args.fps
    bpy.ops.import_scene.gltf(filepath=args.glb)
    arm = next(o for o in scene.objects if o.type == "ARMATURE")
    action = arm.animation_data.action
    start = int(round(action.frame_range[0]))
    end = int(round(action.frame_range[1]))
    if args.frames:
        end = min(end, start + args.frames - 1)
    scene.frame_start, scene.frame_end = start, end

    # Camera: static, on the yaw circle around the centre, aimed at it.
    cx, cy, cz = args.centre
    yaw = math.radians(args.yaw)
    cam_data = bpy.data.cameras.new("Camera")
    cam_data.sensor_fit = "AUTO"  # the angle is on the long side
    cam_data.angle = math.radians(args.fov)
    cam_data.clip_end = 100.0
    cam = bpy.data.objects.new("Camera", cam_data)
    scene.collection.objects.link(cam)
    d = args.distance
    cam.location = gltf_to_blender(cx + d * math.sin(yaw), args.cam_height, cz + d * math.cos(yaw))
    target = bpy.data.objects.new("CameraTarget", None)
    target.location = gltf_to_blender(cx, cy, cz)
    scene.collection.objects.link(target)
    track = cam.constraints.new("TRACK_TO")
    track.target, track.track_axis, track.up_axis = target, "TRACK_NEGATIVE_Z", "UP_Y"
    scene.camera = cam

    # Light: a sun from above (by default turned with the camera), plus a plain world: ambient light, background.
    sun_data = bpy.data.lights.new("Sun", "SUN")
    sun_data.energy = 3.0
    sun = bpy.data.objects.new("Sun", sun_data)
    sun_yaw = yaw + math.radians(30) if args.sun_yaw is None else math.radians(args.sun_yaw)
    sun.rotation_euler = (math.radians(40), 0.0, sun_yaw)
    scene.collection.objects.link(sun)
    world = bpy.data.worlds.new("World")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (*args.sky, 1.0)
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.8
    scene.world = world

    # Floor: a large plain plane at glTF y = 0, a mid grey.
    bpy.ops.mesh.primitive_plane_add(size=40.0, location=gltf_to_blender(cx, 0.0, cz))
    floor_mat = bpy.data.materials.new("Floor")
    floor_mat.diffuse_color = (*args.floor, 1.0)
    floor_mat.use_nodes = True
    floor_mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (*args.floor, 1.0)
    bpy.context.object.data.materials.append(floor_mat)

    # Render settings: few samples, no ambient occlusion; every frame to a PNG.
    r = scene.render
    r.engine = args.engine
    r.resolution_x, r.resolution_y, r.resolution_percentage = args.width, args.height, 100
    r.image_settings.file_format = "PNG"
    r.image_settings.color_mode = "RGB"
    r.filepath = f"{args.out_dir.rstrip('/')}/frame_"
    if args.engine == "BLENDER_EEVEE":
        scene.eevee.taa_render_samples = args.samples  # 2: ~0.35 s a 640x480 frame on 2 busy cores
        scene.eevee.use_gtao = False
    elif args.engine == "CYCLES":
        scene.cycles.device = "CPU"
        scene.cycles.samples = 4 * args.samples
        scene.cycles.use_denoising = False
        scene.cycles.max_bounces = 2
    else:
        scene.display.shading.light = "STUDIO"
        scene.display.shading.color_type = "MATERIAL"

    # Time each frame (render_pre to render_post): the first one also compiles Eevee's shaders.
    times: list[float] = []
    bpy.app.handlers.render_pre.append(lambda *a: times.append(-time.perf_counter()))
    bpy.app.handlers.render_post.append(lambda *a: times.__setitem__(-1, times[-1] + time.perf_counter()))
    bpy.ops.render.render(animation=True)
    steady = sorted(times[1:] or times)[len(times[1:] or times) // 2]
    print(f"RENDERED {len(times)} frames: first {times[0]:.2f} s, median of the rest {steady:.3f} s/frame")


main()
