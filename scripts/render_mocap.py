"""Evaluation videos with exact ground truth: held-out mocap played by a rigged character, rendered headless in
Blender, for `animgen evaluate renders` (real MediaPipe in the loop).

python scripts/render_mocap.py [--data ../shared/data] [--out build/renders] [--clips N] [--frames F]
    [--character quaternius_female_casual.glb]

For N held-out clips (train.HELD_OUT) spread evenly over the subject's takes (clips under 60 frames skipped; at
most F frames each):
- <name>.glb: the character (mesh and all) playing the clip, written by the product's retarget.write_target_glb;
- a static camera, seeded per clip: yaw all round, 4-6 m from the character's mean pelvis, 1.2-1.6 m high,
  55-60 deg field of view, redrawn (then moved back) until every joint of every frame is well inside the picture;
- frames rendered by scripts/blender_render.py (Eevee), encoded to <name>.mp4 (H.264, the clip's 30 fps);
- <name>.truth.json: {"clip": the HumanoidClip JSON (clip.py), "camera": {"yaw": radians, ...}, ...}. The yaw
  follows synth.Camera.yaw (camera at centre + distance * (sin yaw, 0, cos yaw) in glTF axes), so
  synth.camera_target(clip, yaw) is the truth in the camera's yaw frame, what the generators output.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

from animgen_ml import edit, mocap, retarget, synth
from animgen_ml.shared_data import shared_data_dir
from animgen_ml.train import held_out_files

REPO = Path(__file__).resolve().parents[1]
BLENDER_SCRIPT = REPO / "scripts" / "blender_render.py"
TRUTH_FORMAT = "animgen.RenderTruth/1"
MIN_FRAMES = 60
MARGIN = 0.08  # every joint this far (share of the picture) inside its edges: room for the mesh around it


def project(points: np.ndarray, cam: dict) -> np.ndarray:
    """(..., 2) image coordinates in [0, 1] of glTF points (T, J, 3) seen by the camera (synth's camera model)."""
    yaw, centre = cam["yaw"], np.asarray(cam["centre"])
    cpos = centre + [cam["distance"] * np.sin(yaw), 0.0, cam["distance"] * np.cos(yaw)]
    cpos[1] = cam["height"]
    u, v, _ = synth.project(points, cpos, synth.camera_axes(cpos, centre), np.radians(cam["fov_degrees"]),
                            cam["width"], cam["height_px"])
    return np.stack([u, v], -1)


def choose_camera(rng: np.random.Generator, joints: np.ndarray, centre: np.ndarray, width: int,
                  height: int) -> dict:
    """A static camera with every joint inside the picture: up to 200 draws, else the best draw moved back."""
    best, best_margin = None, -np.inf
    for _ in range(200):
        cam = {"yaw": float(rng.uniform(0, 2 * np.pi)), "distance": float(rng.uniform(4.0, 6.0)),
               "height": float(rng.uniform(1.2, 1.6)), "fov_degrees": float(rng.uniform(55.0, 60.0)),
               "centre": [float(v) for v in centre], "width": width, "height_px": height}
        uv = project(joints, cam)
        margin = float(min(uv.min(), 1.0 - uv.max()))
        if margin >= MARGIN:
            return cam
        if margin > best_margin:
            best, best_margin = cam, margin
    while best_margin < MARGIN and best["distance"] < 15.0:
        best["distance"] += 0.25
        uv = project(joints, best)
        best_margin = float(min(uv.min(), 1.0 - uv.max()))
    return best


def tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        sys.exit(f"error: {name} was not found on PATH: {hint}")
    return path


def render(glb: Path, frames_dir: Path, cam: dict, fps: float, frames: int) -> str:
    """Runs Blender on the glb; its timing line ("N frames: first ... s, median of the rest ... s/frame")."""
    blender = tool("blender", "install Blender (Debian: apt-get install blender; `make system-deps`)")
    cmd = [blender, "-b", "--factory-startup", "--python", str(BLENDER_SCRIPT), "--", str(glb), str(frames_dir),
           "--width", str(cam["width"]), "--height", str(cam["height_px"]), "--distance", str(cam["distance"]),
           "--cam-height", str(cam["height"]), "--yaw", str(np.degrees(cam["yaw"])), "--fov", str(cam["fov_degrees"]),
           "--fps", str(fps), "--frames", str(frames), "--centre", *map(str, cam["centre"])]
    res = subprocess.run(cmd, capture_output=True, text=True)
    pngs = sorted(frames_dir.glob("frame_*.png"))
    if res.returncode != 0 or len(pngs) != frames:
        tail = "\n".join((res.stdout + res.stderr).splitlines()[-15:])
        raise RuntimeError(f"Blender failed on {glb.name} ({len(pngs)}/{frames} frames):\n{tail}")
    return next((ln.split(" ", 1)[1] for ln in res.stdout.splitlines() if ln.startswith("RENDERED ")), "")


def encode(frames_dir: Path, mp4: Path, fps: float) -> None:
    ffmpeg = tool("ffmpeg", "install FFmpeg (apt-get install ffmpeg)")
    first = sorted(frames_dir.glob("frame_*.png"))[0].stem.split("_")[1]
    cmd = [ffmpeg, "-y", "-v", "error", "-framerate", f"{fps:g}", "-start_number", first, "-i",
           str(frames_dir / "frame_%04d.png"), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "18", str(mp4)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"ffmpeg failed on {frames_dir}: {res.stderr.strip()[-800:]}")


def render_clip(bvh: Path, character: Path, out: Path, frames: int, width: int = 640, height: int = 480,
                seed: int = 0, log=lambda s: print(s, flush=True)) -> Path | None:
    """Renders one clip; the truth file's path, or None when the clip is too short."""
    clip = mocap.load_clip(bvh)
    if clip.frame_count < MIN_FRAMES:
        return None
    clip = edit.trim(clip, 0.0, (min(frames, clip.frame_count) - 0.5) / clip.fps)
    name = bvh.stem
    glb = out / f"{name}.glb"
    motion = retarget.write_target_glb(clip, character, glb)
    # The character's joints, for framing; the camera aims at the mean pelvis (between the upper legs). Not the
    # joint our Hips drive: the Quaternius Root sits on the floor below the pelvis, bare of mesh.
    sk = motion.skeleton
    joints, _ = sk.forward(motion.rotations, motion.translations)
    legs = [sk.names.index(motion.mapping[b]) for b in ("LeftUpperLeg", "RightUpperLeg")]
    pelvis = joints[:, legs].mean(1)
    joints = joints[:, [sk.names.index(n) for b, n in motion.mapping.items() if b != "Hips"]]
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    cam = choose_camera(rng, joints, pelvis.mean(0), width, height)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=out, prefix=f".{name}.") as tmp:
        timing = render(glb, Path(tmp), cam, clip.fps, clip.frame_count)
        encode(Path(tmp), out / f"{name}.mp4", clip.fps)
    truth = {"format": TRUTH_FORMAT, "video": f"{name}.mp4", "glb": glb.name, "character": character.name,
             "source": f"{bvh.parent.name}/{bvh.name}",
             "camera": cam, "clip": clip.to_dict()}
    path = out / f"{name}.truth.json"
    path.write_text(json.dumps(truth))
    log(f"{name}: camera yaw {np.degrees(cam['yaw']):.0f} deg, {cam['distance']:.2f} m; rendered {timing}; "
        f"{time.perf_counter() - t0:.0f} s in all -> {name}.mp4")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=None, help="the data kit (default: ../shared/data)")
    ap.add_argument("--out", type=Path, default=REPO / "build" / "renders")
    ap.add_argument("--clips", type=int, default=8, help="how many held-out clips (default 8)")
    ap.add_argument("--frames", type=int, default=150, help="at most this many frames a clip (default 150)")
    ap.add_argument("--character", default="quaternius_female_casual.glb", help="a .glb in the kit's characters/")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    data = args.data or shared_data_dir()
    if data is None or not (data / "mocap").is_dir():
        sys.exit("error: the data kit was not found: pass --data or set ANIMGEN_SHARED_DATA")
    character = Path(args.character) if Path(args.character).is_file() else data / "characters" / args.character
    if not character.is_file():
        sys.exit(f"error: character {args.character} not found")
    tool("blender", "install Blender (Debian: apt-get install blender; `make system-deps`)")
    tool("ffmpeg", "install FFmpeg (apt-get install ffmpeg)")
    args.out.mkdir(parents=True, exist_ok=True)
    # Spread over the subject's takes (stand, lift, crouch, walk, run, ...), not the first few in name order.
    clips = [f for f in held_out_files(data) if mocap.load_clip(f).frame_count >= MIN_FRAMES]
    picked = [clips[int(i)] for i in np.unique(np.linspace(0, len(clips) - 1, min(args.clips, len(clips))).round())]
    done = 0
    for bvh in picked:
        if render_clip(bvh, character, args.out, args.frames, args.width, args.height, args.seed) is not None:
            done += 1
    print(f"{done} renders in {args.out}; evaluate them with `animgen evaluate renders`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
