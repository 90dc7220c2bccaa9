"""What --target costs each video of a folder, on the kit's characters: the character read the first time (parsed),
read again (a run reads it for the check before its videos and for each video's file: a copy of what was parsed),
and its .glb written playing a refined mocap walk (ACCAD, 229 frames), feet planted.

    .venv/bin/python benchmarks/bench_target.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from animgen_ml import mocap, retarget
from animgen_ml.pipeline import GenerateOptions
from animgen_ml.refine import refine
from animgen_ml.shared_data import require_shared_data

WALK = "mocap/accad_female1/Female1_B03_Walk1.bvh"
CHARACTERS = ["Xbot_threejs.glb", "quaternius_male_suit.glb", "CesiumMan.glb"]


def seconds(fn, *args, **kwargs) -> float:
    t0 = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - t0


def main() -> None:
    data = require_shared_data()
    clip = refine(mocap.load_clip(data / WALK), None, GenerateOptions())[0]
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "out.glb"
        for name in CHARACTERS:
            path = data / "characters" / name
            retarget._PARSED.clear()  # as a new run finds it
            first = seconds(retarget.load_glb_skeleton, path)
            again = min(seconds(retarget.load_glb_skeleton, path) for _ in range(3))
            write = min(seconds(retarget.write_target_glb, clip, path, out, plant_feet=True) for _ in range(3))
            print(f"{name:26s} read: first {first * 1000:6.0f} ms, again {again * 1000:5.0f} ms;  "
                  f"written with {clip.frame_count} frames: {write * 1000:5.0f} ms")


if __name__ == "__main__":
    main()
