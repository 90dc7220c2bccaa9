"""Fit the model of MediaPipe's errors (animgen_ml/noise.py) to rendered takes, and write it where synth.py reads it.

python scripts/fit_noise.py [--renders build/renders_train] [--out ml/animgen_ml/weights/mediapipe_noise.json]

For each take (scripts/render_mocap.py --split train): MediaPipe's raw landmarks beside the exact landmarks of the
clip the camera saw, filmed by the same camera without noise (synth.synthesize, noise=0). Takes where MediaPipe
lost the character in more than a tenth of the frames are left out (those are failures, not errors).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from animgen_ml import noise, renders, synth
from animgen_ml.clip import HumanoidClip
from animgen_ml.landmarks import LM


def take_errors(truth_path: Path) -> dict | None:
    d = json.loads(truth_path.read_text())
    if d.get("format") != renders.TRUTH_FORMAT:
        raise SystemExit(f"error: {truth_path}: format {d.get('format')!r}; render it again")
    clip = HumanoidClip.from_dict(d["clip"])
    cam = renders.camera_of(d["camera"])
    mp = renders.raw_landmarks(truth_path, truth_path.parent / d["video"])
    exact, _ = synth.synthesize(clip, np.random.default_rng(0), cam, noise=0)
    T = min(mp.frame_count, exact.frame_count)
    mp, exact = renders.slice_landmarks(mp, 0, T), renders.slice_landmarks(exact, 0, T)
    if mp.detection_rate < 0.9:
        return None
    return noise.take_errors(mp, exact, cam.pitch)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--renders", type=Path, default=None, help="default: build/renders_train")
    ap.add_argument("--out", type=Path, default=noise.PATH)
    args = ap.parse_args(argv)
    folder = args.renders or renders.train_dir()
    files = renders.truth_files(folder)
    if not files:
        sys.exit(f"error: no takes in {folder}: make them with `python scripts/render_mocap.py --split train`")
    errors = [e for f in files if (e := take_errors(f)) is not None]
    model = noise.fit(errors)
    model.save(args.out)
    print(f"fitted to {len(errors)} of {len(files)} takes -> {args.out}")
    print(f"world frame turns {model.tilt_per_pitch:.2f} x the camera's pitch (sd {np.degrees(model.tilt_sd):.1f} "
          f"deg); scale sd {model.log_scale_sd:.3f}")
    fmt = lambda a: "/".join(f"{v:.3f}" for v in a)  # noqa: E731
    print("landmark       world sd (m, x/y/z): bias, slow, jitter | image sd (torso lengths, x/y): bias, slow, jitter")
    for name in ("nose", "left_shoulder", "left_wrist", "left_hip", "left_knee", "left_ankle", "left_foot_index"):
        j = LM[name]
        print(f"{name:15s}{fmt(model.world_bias_sd[j])}  {fmt(model.world_slow_sd[j])}  "
              f"{fmt(model.world_jitter_sd[j])} | "
              f"{fmt(model.image_bias_sd[j])}  {fmt(model.image_slow_sd[j])}  {fmt(model.image_jitter_sd[j])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
