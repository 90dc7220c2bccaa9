"""Throughput of the whole pipeline against bare decode + MediaPipe, and peak memory on a long 1080p video.

    python benchmarks/bench_pipeline.py                 # 720p throughput + 1-minute 1080p peak memory
    python benchmarks/bench_pipeline.py --no-memory     # throughput only
    python benchmarks/bench_pipeline.py --video X.mp4   # another video

Throughput: frames per second of each stage (decode alone through animgen_ml.video; pose = decode + MediaPipe
streamed together, as the pipeline runs them; then clean, generate, smooth, refine, export), of the whole
pipeline, and of a bare loop that decodes with OpenCV and runs MediaPipe Pose with the same settings. The ratio
pipeline / bare is the figure the issue targets (>= 0.9). Peak memory: the pipeline runs in a child process on
a one-minute 1080p video made by looping romp_fitness_jumping_jacks.mp4; its peak RSS is reported (and the
ffmpeg decoder child's, which lives in its own process), and its throughput beside the bare loop's on that minute.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "ml"), str(REPO / "server")]

from animgen_ml import pipeline, video  # noqa: E402
from animgen_ml.shared_data import require_shared_data  # noqa: E402

FORMATS = ("glb", "bvh", "json", "npz")


def bare_decode_mediapipe(path: Path) -> tuple[int, float]:
    """Frames and seconds for OpenCV decode + MediaPipe Pose (full model, video mode), nothing else."""
    import cv2
    import mediapipe as mp

    cap = cv2.VideoCapture(str(path))
    n = 0
    t0 = time.perf_counter()
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=False) as pose:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            pose.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            n += 1
    cap.release()
    return n, time.perf_counter() - t0


def decode_only(path: Path) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = sum(1 for _ in video.iter_frames(path))
    return n, time.perf_counter() - t0


def run_pipeline(path: Path, out_dir: Path) -> tuple[pipeline.Result, float]:
    opts = pipeline.GenerateOptions(formats=FORMATS)
    t0 = time.perf_counter()
    result = pipeline.run(path, out_dir / path.stem, opts)
    return result, time.perf_counter() - t0


def throughput(path: Path) -> None:
    info = video.probe(path)
    print(f"video: {path.name} {info.width}x{info.height}, {info.frame_count} frames, {info.fps:.2f} fps")
    n_dec, s_dec = decode_only(path)
    n_bare, s_bare = bare_decode_mediapipe(path)
    with tempfile.TemporaryDirectory() as tmp:
        result, s_all = run_pipeline(path, Path(tmp))
    n = result.landmarks.frame_count
    print(f"{'stage':<26}{'seconds':>9}{'fps':>10}")
    print(f"{'decode (alone)':<26}{s_dec:>9.2f}{n_dec / s_dec:>10.1f}")
    for stage, sec in result.stage_seconds.items():
        label = "pose (decode + MediaPipe)" if stage == "pose" else stage
        print(f"{label:<26}{sec:>9.3f}{n / max(sec, 1e-9):>10.1f}")
    ours = sum(s for k, s in result.stage_seconds.items() if k != "pose")
    print(f"{'whole pipeline':<26}{s_all:>9.2f}{n / s_all:>10.1f}")
    print(f"{'bare decode + MediaPipe':<26}{s_bare:>9.2f}{n_bare / s_bare:>10.1f}")
    print(f"ratio pipeline / bare: {(n / s_all) / (n_bare / s_bare):.3f}   "
          f"(stages after pose: {100 * ours / s_all:.1f}% of the pipeline's time)")


def make_minute_1080p(shared: Path, out: Path) -> Path:
    src = shared / "videos" / "monocular" / "romp_fitness_jumping_jacks.mp4"  # 1920x1080, 10 s
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "6", "-i", str(src), "-t", "60", "-c", "copy",
                    str(out)], check=True)
    return out


def memory(shared: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        long = make_minute_1080p(shared, Path(tmp) / "minute_1080p.mp4")
        info = video.probe(long)
        print(f"\npeak memory: {long.name} {info.width}x{info.height}, {info.duration:.1f} s, {info.frame_count} "
              "frames (romp_fitness_jumping_jacks.mp4 looped)")
        proc = subprocess.run([sys.executable, __file__, "--child", str(long), tmp], capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr[-3000:])
            raise SystemExit("the memory run failed")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"pipeline process peak RSS: {r['peak_rss_mb']:.0f} MB (ffmpeg decoder process: "
              f"{r['child_peak_rss_mb']:.0f} MB); {r['frames']} frames in {r['seconds']:.1f} s "
              f"({r['frames'] / r['seconds']:.1f} fps)")
        # The same minute through the bare loop: over a minute, the pipeline's fixed costs (importing MediaPipe,
        # probing the video, starting the decoder) weigh less than on a 13-second clip.
        n_bare, s_bare = bare_decode_mediapipe(long)
        print(f"bare decode + MediaPipe on the same minute: {n_bare / s_bare:.1f} fps; ratio pipeline / bare: "
              f"{(r['frames'] / r['seconds']) / (n_bare / s_bare):.3f}")


def child(path: Path, out_dir: Path) -> None:
    result, seconds = run_pipeline(path, out_dir)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mb": own, "child_peak_rss_mb": kids, "frames": result.landmarks.frame_count,
                      "seconds": seconds}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", type=Path, help="default: shared data videos/monocular/sports2d_walk_gym.mp4 (720p)")
    ap.add_argument("--no-memory", action="store_true", help="skip the one-minute 1080p peak-memory run")
    ap.add_argument("--child", nargs=2, metavar=("VIDEO", "OUTDIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]))
        return
    shared = require_shared_data()
    throughput(args.video or shared / "videos" / "monocular" / "sports2d_walk_gym.mp4")
    if not args.no_memory:
        memory(shared)


if __name__ == "__main__":
    main()
