"""Videos with exact ground truth: mocap played by a rigged character, rendered headless in Blender, then seen by
real MediaPipe (animgen_ml/renders.py describes a take's files).

python scripts/render_mocap.py [--split eval|train] [--data ../shared/data] [--out DIR] [--takes N] [--frames F]
    [--jobs J] [--seed S] [--character FILE.glb --out DIR]

--split eval (default; out build/renders, for `animgen evaluate renders`): N held-out clips (train.HELD_OUT) spread
    evenly over the subject's takes (clips under 60 frames skipped; the first F frames), on EVAL_CHARACTER; a static
    camera seeded per clip: yaw all round, 4-6 m from the character's mean pelvis, 1.2-1.6 m high, 55-60 deg field
    of view, redrawn (then moved back) until every joint of every frame is well inside the picture.
--character (eval only): the held-out takes on another rigged character, a .glb or a name in the data kit's
    characters/, written to their own --out (e.g. Xbot_threejs.glb, which has toe bones where the Quaternius
    characters have none: `ANIMGEN_RENDERS=DIR animgen evaluate renders` then measures them).
--split train (out build/renders_train, for scripts/fit_noise.py and `animgen train --render-share`): N windows of F
    frames drawn from the training BVH (train.TRAIN_SETS; longer clips more often), each on one of
    TRAIN_CHARACTERS (never the evaluation's character), with a broader camera (3-7 m, 0.5-2 m high, aimed 0.7-1.1 m
    up, 40-70 deg, portrait 30 % of the time) and a random sky, floor and sun. Takes already there are kept, so a
    run can be stopped and resumed.

Each take: <name>.glb (the character playing the clip, written by the product's retarget.write_target_glb), frames
rendered by scripts/blender_render.py (Eevee) and encoded to <name>.mp4 (H.264 at the clip's 30 fps), MediaPipe's
landmarks (<name>.landmarks.npz), then <name>.truth.json last (its presence marks a finished take). Blender runs on
about one core, so --jobs 2 renders two takes at once.
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
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from animgen_ml import edit, mocap, renders, retarget, synth
from animgen_ml.clip import HumanoidClip
from animgen_ml.shared_data import shared_data_dir
from animgen_ml.train import TRAIN_SETS, held_out_files, mocap_files

REPO = Path(__file__).resolve().parents[1]
BLENDER_SCRIPT = REPO / "scripts" / "blender_render.py"
MIN_FRAMES = 60
EVAL_CHARACTER = "quaternius_female_casual.glb"
# CC0 characters for training renders; the Xbot is not openly licensed and CesiumMan's bones need overrides.
TRAIN_CHARACTERS = ("quaternius_male_casual.glb", "quaternius_male_suit.glb", "quaternius_female_worker.glb")
EVAL_MARGIN = 0.08  # every joint this far (share of the picture) inside its edges: room for the mesh around it
TRAIN_MARGIN = 0.04


def project(points: np.ndarray, cam: dict) -> np.ndarray:
    """(..., 2) image coordinates in [0, 1] of glTF points (T, J, 3) seen by the camera (synth's camera model)."""
    yaw, centre = cam["yaw"], np.asarray(cam["centre"])
    cpos = centre + [cam["distance"] * np.sin(yaw), 0.0, cam["distance"] * np.cos(yaw)]
    cpos[1] = cam["height"]
    u, v, _ = synth.project(points, cpos, synth.camera_axes(cpos, centre), np.radians(cam["fov_degrees"]),
                            cam["width"], cam["height_px"])
    return np.stack([u, v], -1)


def eval_camera(rng: np.random.Generator, pelvis: np.ndarray) -> dict:
    return {"yaw": float(rng.uniform(0, 2 * np.pi)), "distance": float(rng.uniform(4.0, 6.0)),
            "height": float(rng.uniform(1.2, 1.6)), "fov_degrees": float(rng.uniform(55.0, 60.0)),
            "centre": [float(v) for v in pelvis], "width": 640, "height_px": 480}


def train_camera(rng: np.random.Generator, pelvis: np.ndarray) -> dict:
    w, h = (480, 640) if rng.random() < 0.3 else (640, 480)
    return {"yaw": float(rng.uniform(0, 2 * np.pi)), "distance": float(rng.uniform(3.0, 7.0)),
            "height": float(rng.uniform(0.5, 2.0)), "fov_degrees": float(rng.uniform(40.0, 70.0)),
            "centre": [float(pelvis[0]), float(rng.uniform(0.7, 1.1)), float(pelvis[2])], "width": w, "height_px": h}


def choose_camera(draw, rng: np.random.Generator, joints: np.ndarray, pelvis: np.ndarray, margin: float) -> dict:
    """A static camera from draw(rng, pelvis) with every joint inside the picture: up to 200 draws, else the best
    draw moved back."""
    best, best_margin = None, -np.inf
    for _ in range(200):
        cam = draw(rng, pelvis)
        uv = project(joints, cam)
        m = float(min(uv.min(), 1.0 - uv.max()))
        if m >= margin:
            return cam
        if m > best_margin:
            best, best_margin = cam, m
    assert best is not None
    while best_margin < margin and best["distance"] < 15.0:
        best["distance"] += 0.25
        uv = project(joints, best)
        best_margin = float(min(uv.min(), 1.0 - uv.max()))
    return best


def tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        sys.exit(f"error: {name} was not found on PATH: {hint}")
    return path


def render(glb: Path, frames_dir: Path, cam: dict, fps: float, frames: int, look: dict) -> str:
    """Runs Blender on the glb; its timing line ("N frames: first ... s, median of the rest ... s/frame")."""
    blender = tool("blender", "install Blender (Debian: apt-get install blender; `make system-deps`)")
    cmd = [blender, "-b", "--factory-startup", "--python", str(BLENDER_SCRIPT), "--", str(glb), str(frames_dir),
           "--width", str(cam["width"]), "--height", str(cam["height_px"]), "--distance", str(cam["distance"]),
           "--cam-height", str(cam["height"]), "--yaw", str(np.degrees(cam["yaw"])), "--fov", str(cam["fov_degrees"]),
           "--fps", str(fps), "--frames", str(frames), "--centre", *map(str, cam["centre"])]
    for key in ("sky", "floor"):
        if key in look:
            cmd += [f"--{key}", *map(str, look[key])]
    if "sun_yaw" in look:
        cmd += ["--sun-yaw", str(look["sun_yaw"])]
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


def render_take(clip: HumanoidClip, name: str, character: Path, out: Path, split: str = "eval", seed: int = 0,
                source: str = "", width: int | None = None, height: int | None = None) -> Path:
    """Renders one take of the clip on the character; the truth file's path. width/height override the
    camera's picture size (tests render small)."""
    glb = out / f"{name}.glb"
    motion = retarget.write_target_glb(clip, character, glb, above_floor=False)  # the truth is the clip as mapped
    # The character's joints, for framing; the camera aims at the mean pelvis (between the upper legs). Not the
    # joint our Hips drive: the Quaternius Root sits on the floor below the pelvis, bare of mesh.
    sk = motion.skeleton
    joints, _ = sk.forward(motion.rotations, motion.translations)
    legs = [sk.names.index(motion.mapping[b]) for b in ("LeftUpperLeg", "RightUpperLeg")]
    pelvis = joints[:, legs].mean(1).mean(0)
    joints = joints[:, [sk.names.index(n) for b, n in motion.mapping.items() if b != "Hips"]]
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    if split == "train":
        cam = choose_camera(train_camera, rng, joints, pelvis, TRAIN_MARGIN)
        look = {"sky": rng.uniform(0.2, 0.8, 3).round(3).tolist(), "floor": rng.uniform(0.1, 0.6, 3).round(3).tolist(),
                "sun_yaw": float(rng.uniform(0, 360))}
    else:
        cam, look = choose_camera(eval_camera, rng, joints, pelvis, EVAL_MARGIN), {}
    if width and height:
        cam["width"], cam["height_px"] = width, height
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=out, prefix=f".{name}.") as tmp:
        timing = render(glb, Path(tmp), cam, clip.fps, clip.frame_count, look)
        encode(Path(tmp), out / f"{name}.mp4", clip.fps)
    path = out / f"{name}.truth.json"
    renders.raw_landmarks(path, out / f"{name}.mp4")
    seen = retarget.on_target_proportions(clip, sk)  # what the camera saw: the character's proportions
    truth = {"format": renders.TRUTH_FORMAT, "video": f"{name}.mp4", "glb": glb.name, "character": character.name,
             "source": source, "camera": cam, "look": look, "clip": seen.to_dict()}
    tmp_path = path.with_name(path.name + ".part")
    tmp_path.write_text(json.dumps(truth))
    tmp_path.replace(path)
    print(f"{name}: camera yaw {np.degrees(cam['yaw']):.0f} deg, {cam['distance']:.2f} m; rendered {timing}; "
          f"{time.perf_counter() - t0:.0f} s in all", flush=True)
    return path


def eval_jobs(data: Path, takes: int, frames: int) -> list[tuple[HumanoidClip, str, str]]:
    """Held-out clips spread over the subject's takes (stand, lift, crouch, walk, run, ...), their first frames."""
    clips = [(f, c) for f in held_out_files(data) if (c := mocap.load_clip(f)).frame_count >= MIN_FRAMES]
    picked = [clips[int(i)] for i in np.unique(np.linspace(0, len(clips) - 1, min(takes, len(clips))).round())]
    return [(edit.trim(c, 0.0, (min(frames, c.frame_count) - 0.5) / c.fps), f.stem, f"{f.parent.name}/{f.name}")
            for f, c in picked]


def train_jobs(data: Path, takes: int, frames: int, seed: int) -> list[tuple[HumanoidClip, str, str, str]]:
    """Windows of the training mocap (longer clips more often), each with its character."""
    # The BVH sets only: the takes the shipped noise model was fitted to (DeepMimic's clips came later).
    files = [f for f in mocap_files(data / "mocap", TRAIN_SETS) if f.suffix == ".bvh"]
    clips = []
    for f in files:
        try:
            c = mocap.load_clip(f)
        except Exception as e:  # a skeleton the converter refuses: training skips it too
            print(f"skipping {f.name}: {e}")
            continue
        if c.frame_count >= MIN_FRAMES:
            clips.append((f, c))
    rng = np.random.default_rng(seed)
    weights = np.array([c.frame_count for _, c in clips], dtype=float)
    jobs = []
    for k in range(takes):
        f, c = clips[int(rng.choice(len(clips), p=weights / weights.sum()))]
        n = min(frames, c.frame_count)
        start = int(rng.integers(0, c.frame_count - n + 1))
        window = edit.trim(c, start / c.fps, (start + n - 0.5) / c.fps)
        character = TRAIN_CHARACTERS[k % len(TRAIN_CHARACTERS)]
        name = f"{k:04d}_{f.stem}_{start:05d}_{character.split('_', 1)[1].removesuffix('.glb')}"
        jobs.append((window, name, f"{f.parent.name}/{f.name}@{start}", character))
    return jobs


def eval_character(data: Path, character: Path | None, split: str, out: Path | None) -> Path:
    """The character the evaluation takes are rendered on: EVAL_CHARACTER, or `character` (a file, or a name in the
    data kit's characters/). Another character's takes need their own folder: in the default one they would pass for
    the standard set's (the same take names) and be skipped as already made."""
    if character is None:
        return (data / "characters" / EVAL_CHARACTER).absolute()  # joined to characters/ below: kept absolute
    if split != "eval":
        sys.exit("error: --character is for --split eval (the training takes' characters are chosen for their "
                 "licence)")
    if out is None:
        sys.exit("error: --character needs its own --out (the default folder holds the standard set's takes)")
    path = character if character.is_file() else data / "characters" / character
    if not path.is_file():
        sys.exit(f"error: no character {character} (neither a file nor in {data / 'characters'})")
    return path.resolve()  # joined to characters/ below, an absolute path stays itself


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=("eval", "train"), default="eval")
    ap.add_argument("--data", type=Path, default=None, help="the data kit (default: ../shared/data)")
    ap.add_argument("--out", type=Path, default=None, help="default: build/renders (eval), build/renders_train")
    ap.add_argument("--takes", type=int, default=None,
                    help="how many takes (default 8 eval; 120 train, the takes behind the shipped noise fit)")
    ap.add_argument("--frames", type=int, default=150, help="at most this many frames a take (default 150)")
    ap.add_argument("--jobs", type=int, default=1, help="takes rendered at once (default 1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--character", type=Path, default=None,
                    help=f"eval only: render on this character (a .glb, or a name in the data kit's characters/; "
                         f"default {EVAL_CHARACTER}), into its own --out")
    args = ap.parse_args(argv)
    data = args.data or shared_data_dir()
    if data is None or not (data / "mocap").is_dir():
        sys.exit("error: the data kit was not found: pass --data or set ANIMGEN_SHARED_DATA")
    character = eval_character(data, args.character, args.split, args.out)
    tool("blender", "install Blender (Debian: apt-get install blender; `make system-deps`)")
    tool("ffmpeg", "install FFmpeg (apt-get install ffmpeg)")
    out = args.out or (renders.train_dir() if args.split == "train" else renders.eval_dir())
    out.mkdir(parents=True, exist_ok=True)
    jobs: Sequence[tuple[HumanoidClip, str, str, str | Path]]  # the character: a name in characters/, or a path
    if args.split == "train":
        jobs = train_jobs(data, args.takes or 120, args.frames, args.seed)
    else:
        jobs = [(c, n, s, character) for c, n, s in eval_jobs(data, args.takes or 8, args.frames)]
    todo = [j for j in jobs if not (out / f"{j[1]}.truth.json").is_file()]
    print(f"{len(jobs) - len(todo)} of {len(jobs)} takes already in {out}; rendering {len(todo)}", flush=True)
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(render_take, clip, name, data / "characters" / character, out, args.split, args.seed,
                               source) for clip, name, source, character in todo]
        for fut in futures:
            fut.result()
    where = "" if out.resolve() == renders.eval_dir().resolve() else f"{renders.EVAL_ENV}={out} "
    print(f"{len(jobs)} takes in {out}" + (f"; evaluate them with `{where}animgen evaluate renders`"
                                          if args.split == "eval"
                                          else "; fit the noise model to them with `python scripts/fit_noise.py`"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
