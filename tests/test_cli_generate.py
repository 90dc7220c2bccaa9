"""`animgen generate` as a user and a CI job run it: real videos, real subprocess, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, require_tool, weights_like_shipped
from export_helpers import anonymous_xbot

from animgen_ml.clip import HumanoidClip
from animgen_ml.landmarks import Landmarks

pytestmark = pytest.mark.slow

RUN = "sports2d_run_sideview.mp4"  # 47 frames, 480x352
BASKETBALL = "mmhuman3d_3dpw_basketball.mp4"  # 40 frames at 12 fps


def animgen(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "ml"), str(REPO / "server")]))
    return subprocess.run([sys.executable, "-m", "animgen_server.cli", "generate", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def ffmpeg(*args: str | Path) -> None:
    subprocess.run([require_tool("ffmpeg"), "-v", "error", "-y", *map(str, args)], check=True)


def time_line(stdout: str) -> str:
    return next(ln for ln in stdout.splitlines() if ln.strip().startswith("time:"))


def error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("animgen: error:")]


def assert_one_clean_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = error_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


def test_generate_one_video(videos: Path, tmp_path: Path):
    out = tmp_path / "out"
    proc = animgen(videos / BASKETBALL, "-o", out, "--format", "glb,json", "--format", "npz")
    assert proc.returncode == 0, proc.stderr
    for suffix in (".glb", ".json", ".landmarks.npz"):
        assert (out / f"mmhuman3d_3dpw_basketball{suffix}").stat().st_size > 1000
    clip = HumanoidClip.load_json(out / "mmhuman3d_3dpw_basketball.json")
    lm = Landmarks.load(out / "mmhuman3d_3dpw_basketball.landmarks.npz")
    assert lm.frame_count == 40 and clip.frame_count == 40 and clip.fps == pytest.approx(12.0, abs=0.05)
    assert np.isfinite(clip.rotations).all() and np.isfinite(clip.hips).all()
    # The summary: frames, the picture's size (what --crop counts in), detection rate, time per stage, files.
    assert "frames: 40 in (1080x1920), 40 out" in proc.stdout and "person detected in 100.0%" in proc.stdout
    for stage in ("pose", "clean", "generate", "smooth", "refine", "export"):
        assert f"{stage} " in time_line(proc.stdout)
    assert "wrote glb:" in proc.stdout
    # Captured (no terminal), so no progress bars (tests/test_cli_logs.py has both kinds of progress).
    assert "\r" not in proc.stderr
    # No stray temporary files.
    assert not [p for p in out.iterdir() if ".part" in p.name]
    # One frame has no interval to measure a rate from: the clip takes the video's own (it had been 30 fps).
    assert animgen(videos / BASKETBALL, "-o", tmp_path / "one", "--start", "1", "--end", "1.05",
                   "--format", "json").returncode == 0
    one = HumanoidClip.load_json(tmp_path / "one" / "mmhuman3d_3dpw_basketball.json")
    assert one.frame_count == 1 and one.fps == pytest.approx(12.0, abs=0.05)


def test_trim_and_fps_and_reuse_landmarks(videos: Path, tmp_path: Path):
    out = tmp_path / "out"
    proc = animgen(videos / RUN, "-o", out, "--start", "0.2", "--end", "1.2", "--fps", "20",
                   "--format", "json,npz", "--generator", "analytic")
    assert proc.returncode == 0, proc.stderr
    clip = HumanoidClip.load_json(out / "sports2d_run_sideview.json")
    lm = Landmarks.load(out / "sports2d_run_sideview.landmarks.npz")
    assert lm.times[0] >= 0.2 - 1e-6 and lm.times[-1] < 1.2
    assert clip.fps == 20.0 and abs(clip.frame_count - 20) <= 1
    for fps in ("12", "24", "60"):  # exactly the rate asked for (recomputed from the grid: 11.999999999999998)
        proc = animgen("--landmarks", out / "sports2d_run_sideview.landmarks.npz", "-o", tmp_path / fps, "--fps", fps,
                       "--format", "json", "--generator", "analytic")
        assert HumanoidClip.load_json(tmp_path / fps / "sports2d_run_sideview.json").fps == float(fps), proc.stderr
    # --landmarks reruns every stage after pose from the saved landmarks: same options, same clip.
    again = tmp_path / "again"
    proc = animgen("--landmarks", out / "sports2d_run_sideview.landmarks.npz", "-o", again, "--fps", "20",
                   "--format", "json", "--generator", "analytic")
    assert proc.returncode == 0, proc.stderr
    assert "pose" not in time_line(proc.stdout) and "generate" in time_line(proc.stdout)
    rerun = HumanoidClip.load_json(again / "sports2d_run_sideview.json")
    assert np.array_equal(rerun.rotations, clip.rotations) and np.array_equal(rerun.hips, clip.hips)
    # --hands on landmarks extracted without it: said, not silently at rest.
    proc = animgen("--landmarks", out / "sports2d_run_sideview.landmarks.npz", "-o", again, "--hands",
                   "--format", "json", "--generator", "analytic")
    assert proc.returncode == 0 and "hold no hand points (extracted without --hands)" in proc.stderr, proc.stderr
    # --start/--end cut saved landmarks as they cut the video; a range they do not cover is named.
    proc = animgen("--landmarks", out / "sports2d_run_sideview.landmarks.npz", "-o", again, "--start", "0.5",
                   "--end", "0.8", "--format", "json", "--generator", "analytic")
    assert proc.returncode == 0, proc.stderr
    cut = HumanoidClip.load_json(again / "sports2d_run_sideview.json")
    assert cut.frame_count == int(np.sum((lm.times >= 0.5 - 1e-6) & (lm.times < 0.8 - 1e-6))) == 9
    proc = animgen("--landmarks", out / "sports2d_run_sideview.landmarks.npz", "-o", again, "--start", "1.5",
                   "--summary", tmp_path / "summary.json")
    assert_one_clean_error(proc, "no frame between 1.5 s and the end")
    [row] = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))["videos"]
    assert row["status"] == "failed" and "no frame between 1.5 s and the end" in row["error"]
    # The landmarks are an input of the run: never its summary.
    proc = animgen("--landmarks", out / "sports2d_run_sideview.landmarks.npz", "-o", again, "--summary",
                   out / "sports2d_run_sideview.landmarks.npz")
    assert proc.returncode == 2 and "name it apart" in proc.stderr, proc.stderr
    assert Landmarks.load(out / "sports2d_run_sideview.landmarks.npz").frame_count == lm.frame_count
    # An output folder that cannot be made is a usage error, found before any work: one line, not a traceback.
    (tmp_path / "a_file").write_text("")
    proc = animgen("--landmarks", out / "sports2d_run_sideview.landmarks.npz", "-o", tmp_path / "a_file" / "out")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"-o {tmp_path / 'a_file' / 'out'}: cannot write there" in proc.stderr
    # A folder where an output goes is named, not a Python error after the work.
    (tmp_path / "blocked" / "sports2d_run_sideview.json").mkdir(parents=True)
    proc = animgen("--landmarks", out / "sports2d_run_sideview.landmarks.npz", "-o", tmp_path / "blocked",
                   "--format", "json", "--generator", "analytic")
    assert_one_clean_error(proc, "sports2d_run_sideview.json: is a folder, where this output would be written")
    # Landmarks given with another video than theirs: the clip is theirs, and the run says so.
    proc = animgen(videos / BASKETBALL, "--landmarks", out / "sports2d_run_sideview.landmarks.npz", "-o", again,
                   "--format", "json", "--generator", "analytic")
    assert proc.returncode == 0 and "(sports2d_run_sideview.mp4), and " in proc.stderr, proc.stderr
    assert "the clip is their motion" in proc.stderr
    # A warning about the landmarks themselves is said of the run, as every warning is (the one above says where
    # they came from), and names no other video.
    proc = animgen(videos / BASKETBALL, "--landmarks", out / "sports2d_run_sideview.landmarks.npz", "-o", again,
                   "--format", "json", "--generator", "analytic", "--hands")
    assert f"\nwarning: {videos / BASKETBALL}: these landmarks hold no hand points" in proc.stderr, proc.stderr
    assert f"{videos / RUN}:" not in proc.stderr, proc.stderr
    proc = animgen(videos / RUN, "--landmarks", out / "sports2d_run_sideview.landmarks.npz", "-o", again,
                   "--format", "json", "--generator", "analytic")
    assert proc.returncode == 0 and "the clip is their motion" not in proc.stderr, proc.stderr
    # An empty VIDEO (an unset "$VIDEO" in a script) is refused, not read as the working folder.
    proc = animgen("", "-o", tmp_path / "empty")
    assert proc.returncode == 2 and "VIDEO is an empty name" in proc.stderr and not (tmp_path / "empty").exists()


def test_bad_inputs_each_get_one_clear_line(videos: Path, tmp_path: Path):
    out = tmp_path / "out"
    missing = tmp_path / "missing.mp4"
    assert_one_clean_error(animgen(missing, "-o", out), "missing.mp4", "file not found")
    assert not out.exists()  # -o is made only when there is something to write

    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 50)
    assert_one_clean_error(animgen(text, "-o", out), "notes.mp4", "not a readable video")

    empty = tmp_path / "empty.mov"
    empty.write_bytes(b"")
    assert_one_clean_error(animgen(empty, "-o", out), "empty.mov", "empty")

    truncated = tmp_path / "truncated.mp4"
    data = (videos / RUN).read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    assert_one_clean_error(animgen(truncated, "-o", out), "truncated.mp4")

    nobody = tmp_path / "nobody.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=320x240:r=25:d=1", "-c:v", "libx264", nobody)
    assert_one_clean_error(animgen(nobody, "-o", out), "nobody.mp4", "no person was found")
    assert not out.exists() or not any(out.iterdir())


def test_someone_small_in_the_picture_is_found_in_a_crop_the_error_suggests(videos: Path, tmp_path: Path):
    """MediaPipe's detector sees the picture shrunk to 224 pixels: the side-view runner in a picture five times the
    size is missed, and the error says what finds him; a crop that misses him says so too."""
    small = tmp_path / "small.mp4"
    ffmpeg("-i", videos / RUN, "-t", "0.4", "-vf", "pad=iw*5:ih*5:iw*2:ih*3:color=gray", "-c:v", "libx264", small)
    out = tmp_path / "out"
    proc = animgen(small, "-o", out, "--format", "json")
    assert proc.returncode == 1 and error_lines(proc.stderr)[0] == (
        f"animgen: error: {small}: no person was found in any frame: if the person is small in the picture, a crop "
        "around them (--crop X,Y,W,H; Crop in Unity and Unreal) lets MediaPipe find them"), proc.stderr
    missed = animgen(small, "-o", out, "--format", "json", "--crop", "0,0,640,480")
    assert missed.returncode == 1 and error_lines(missed.stderr)[0] == (
        f"animgen: error: {small}: no person was found in any frame of the crop 0,0,640,480: it should hold the person "
        "(it follows them once found; pixels of the video as played, 2400x1760)"), missed.stderr
    found = animgen(small, "-o", out, "--format", "json", "--crop", "860,1000,640,480")
    assert found.returncode == 0 and "person detected in 100.0%" in found.stdout, found.stderr


def test_person_half_out_of_frame_is_a_warning(videos: Path, tmp_path: Path):
    half = tmp_path / "half.mp4"
    ffmpeg("-i", videos / BASKETBALL, "-vf", "crop=iw:ih*0.6:0:0", "-c:v", "libx264", half)
    proc = animgen(half, "-o", tmp_path / "out", "--format", "json", "--summary", tmp_path / "run.json")
    assert proc.returncode == 0, proc.stderr
    assert f"warning: {half}: the body is partly out of the picture" in proc.stderr.splitlines()[0], proc.stderr
    assert (tmp_path / "out" / "half.json").is_file()
    # The summary's warnings leave the video to its row, as the server's jobs and the engines' summaries do.
    warned = json.loads((tmp_path / "run.json").read_text())["videos"][0]["warnings"]
    assert warned and not [w for w in warned if "half.mp4" in w], warned
    # the legs are cropped away, not hidden: the warning says which, and when
    assert "lower body out of frame from 0.0 s" in proc.stderr and "lower body hidden" not in proc.stderr


def test_usage_errors_exit_2(videos: Path, shared_data: Path, tmp_path: Path):
    for args in (["--smoothing", "3"], ["--format", "gif"], ["--fps", "0"], ["--keyframe-tolerance", "x"],
                 ["--start", "2", "--end", "1"], ["--end", "nan"], ["--start", "inf"], ["--end", "0"],
                 ["--keyframe-tolerance", "1,nan"]):
        proc = animgen(videos / RUN, "-o", tmp_path, *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and "error" in proc.stderr
    # A negative tolerance is named as one, not taken by argparse for an option ("expected one argument").
    proc = animgen(videos / RUN, "-o", tmp_path, "--keyframe-tolerance", "-1,2")
    assert proc.returncode == 2 and "must be numbers >= 0, got -1.0 degrees" in proc.stderr, proc.stderr
    # A tolerance no requested file takes (a BVH and the JSON keep every frame) is refused, not ignored.
    proc = animgen(videos / RUN, "-o", tmp_path, "--format", "bvh,json", "--keyframe-tolerance", "1,2")
    assert proc.returncode == 2 and "--format bvh,json keeps every frame: add glb or vrma" in proc.stderr, proc.stderr
    empty_dir = tmp_path / "nothing"
    empty_dir.mkdir()
    assert animgen(empty_dir).returncode == 2
    for args, why in ((["--crop", "0,0,640"], "argument --crop: want four whole numbers of pixels X,Y,W,H"),
                      (["--crop", "0,0,16,720"], "--crop 0,0,16,720: the width and height must be at least 32"),
                      (["--crop", "0,0,64,64", "--landmarks", "a.npz"], "--crop is where MediaPipe looks")):
        proc = animgen(videos / RUN, "-o", tmp_path, *args)
        assert proc.returncode == 2 and why in proc.stderr and "Traceback" not in proc.stderr, (args, proc.stderr)
    # A target that is not a .glb character is refused before the video is read, by name.
    (tmp_path / "skeleton.bvh").write_text("HIERARCHY")
    proc = animgen(videos / RUN, "-o", tmp_path, "--target", tmp_path / "skeleton.bvh")
    assert proc.returncode == 2 and "skeleton.bvh: --target takes a .glb or .vrm character" in proc.stderr, proc.stderr
    # So is a character whose bones cannot be mapped (named by no convention, lying at rest), by name.
    lying = anonymous_xbot(shared_data / "characters" / "Xbot_threejs.glb", tmp_path / "lying.glb", lying=True)
    proc = animgen(videos, "-o", tmp_path / "ces", "--target", lying)
    assert proc.returncode == 2 and f"{lying}: cannot map the skeleton onto HumanBodyBones" in proc.stderr
    assert not (tmp_path / "ces").exists()  # no video was read


def test_bone_map_maps_a_targets_bones_by_hand(videos: Path, shared_data: Path, tmp_path: Path):
    """--bone-map maps a character's bones by hand, on top of what names and shape find. A character they cannot map
    (bones named bone_0, bone_1, ..., lying at rest) is refused naming it, and mapped by hand plays the clip as the
    Xbot does; a bad map is refused by name, before any video is read."""
    import pygltflib

    from animgen_ml import retarget
    from animgen_ml.bonemap import map_bones

    xbot = shared_data / "characters" / "Xbot_threejs.glb"
    lying = anonymous_xbot(xbot, tmp_path / "lying.glb", lying=True)
    proc = animgen(videos / RUN, "-o", tmp_path / "out", "--target", lying)
    assert proc.returncode == 2 and proc.stderr.strip().endswith("or map them in --bone-map"), proc.stderr
    for args, why in ((["--bone-map", "Hips"], "want BONE=NAME pairs"),
                      (["--bone-map", "Hip=bone_0", "--target", lying], "--bone-map: 'Hip' is not a HumanBodyBones"),
                      (["--bone-map", "Hips=pelvis", "--target", lying], "--bone-map: the skeleton has no bone named "
                                                                          "'pelvis' (for Hips)"),
                      (["--bone-map", "Hips=bone_0"], "--bone-map maps the bones of a --target character")):
        proc = animgen(videos / RUN, "-o", tmp_path / "out", *args)
        assert proc.returncode == 2 and why in proc.stderr and "Traceback" not in proc.stderr, (args, proc.stderr)
    assert not (tmp_path / "out").exists()  # no video was read

    # Mapped by hand, the lying rig's limbs and trunk point where the Xbot's do.
    sk, lain = retarget.load_glb_skeleton(xbot)[0], retarget.load_glb_skeleton(lying)[0]
    body = map_bones(sk.names, sk.parents, fingers=False)
    by_hand = {b: lain.names[sk.names.index(n)] for b, n in body.items()}  # both in the same parent-first order
    proc = animgen(videos / RUN, "-o", tmp_path / "out", "--format", "json", "--target", lying, "--bone-map",
                   ",".join(f"{b}={n}" for b, n in by_hand.items()))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "sports2d_run_sideview.lying.glb").is_file()
    clip = HumanoidClip.load_json(tmp_path / "out" / "sports2d_run_sideview.json")
    ours, theirs = retarget.retarget(clip, sk), retarget.retarget(clip, lain, by_hand)
    assert theirs.mapping == by_hand
    want, got = (m.skeleton.forward(m.rotations, m.translations)[0] for m in (ours, theirs))
    for a, b in (("LeftUpperLeg", "LeftLowerLeg"), ("RightLowerLeg", "RightFoot"), ("LeftUpperArm", "LeftLowerArm"),
                 ("Hips", "Head")):
        d1 = want[:, sk.names.index(body[b])] - want[:, sk.names.index(body[a])]
        d2 = got[:, lain.names.index(by_hand[b])] - got[:, lain.names.index(by_hand[a])]
        cos = np.sum(d1 * d2, axis=-1) / np.linalg.norm(d1, axis=-1) / np.linalg.norm(d2, axis=-1)
        assert np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))).max() < 0.01, (a, b)

    # The Xbot renamed bone_0, bone_1, ... standing: its shape maps it; its left hand is put by hand on a finger.
    renamed = anonymous_xbot(xbot, tmp_path / "hero.glb")
    hero = retarget.load_glb_skeleton(renamed)[0]
    finger = hero.names[sk.names.index("mixamorig:LeftHandMiddle1")]
    proc = animgen(videos / RUN, "-o", tmp_path / "out", "--format", "json", "--target", renamed, "--bone-map",
                   f"LeftHand={finger}")
    assert proc.returncode == 0, proc.stderr
    g = pygltflib.GLTF2().load(str(tmp_path / "out" / "sports2d_run_sideview.hero.glb"))
    turning = {g.nodes[c.target.node].name for c in g.animations[0].channels if c.target.path == "rotation"}
    assert finger in turning and hero.names[sk.names.index("mixamorig:LeftHand")] not in turning
    by_shape = map_bones(hero.names, hero.parents, fingers=False, rest=hero.rest_positions)
    assert by_shape["LeftHand"] == hero.names[sk.names.index("mixamorig:LeftHand")]
    assert retarget.retarget(clip, hero, {"LeftHand": finger}).mapping == by_shape | {"LeftHand": finger}


def test_batch_folder(videos: Path, tmp_path: Path):
    src = tmp_path / "videos"
    src.mkdir()
    ffmpeg("-i", videos / RUN, "-t", "0.8", "-c:v", "libx264", src / "a_run.mp4")
    ffmpeg("-i", videos / BASKETBALL, "-t", "1.5", "-c:v", "libx264", src / "c_ball.mkv")
    (src / "b_bad.mov").write_text("this is not a video")
    (src / "readme.txt").write_text("not a video extension: ignored")
    out = tmp_path / "out"
    # An existing output of the bad file must survive its failure untouched.
    out.mkdir()
    (out / "b_bad.glb").write_bytes(b"old result")

    proc = animgen(src, "-o", out, "--format", "glb,json", "--summary", tmp_path / "first.json")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for stem in ("a_run", "c_ball"):
        assert (out / f"{stem}.glb").is_file() and (out / f"{stem}.json").is_file()
    assert (out / "b_bad.glb").read_bytes() == b"old result"
    assert not [p for p in out.iterdir() if ".part" in p.name]
    tail = proc.stderr.split("failures:")[1]
    assert "b_bad.mov" in tail and "a_run" not in tail
    assert "2 converted, 0 up to date, 1 failed" in proc.stderr
    # --summary: what CI reads instead of the log. Each video in order, its files, frames and warnings, the error.
    first = json.loads((tmp_path / "first.json").read_text(encoding="utf-8"))
    assert first["counts"] == {"converted": 2, "skipped": 0, "failed": 1, "cancelled": 0}
    assert first["options"]["formats"] == ["glb", "json"]
    rows = {Path(r["video"]).name: r for r in first["videos"]}
    assert [Path(r["video"]).name for r in first["videos"]] == ["a_run.mp4", "b_bad.mov", "c_ball.mkv"]
    assert rows["b_bad.mov"]["status"] == "failed" and rows["b_bad.mov"]["outputs"] == {}
    assert rows["b_bad.mov"]["error"] in tail
    # Each warning in the log names its video; the summary gives each video's under it.
    warned = [ln.removeprefix("warning: ") for ln in proc.stderr.splitlines() if ln.startswith("warning: ")]
    assert warned and sorted(warned) == sorted(w if r["video"] in w else f"{r['video']}: {w}"
                                               for r in first["videos"] for w in r["warnings"])
    for stem, frames in (("a_run", 24), ("c_ball", 18)):
        row = rows[next(n for n in rows if n.startswith(stem))]
        assert row["status"] == "converted" and row["error"] is None and row["seconds"] > 0
        assert row["outputs"] == {"glb": str(out / f"{stem}.glb"), "json": str(out / f"{stem}.json")}
        assert row["frames"] == frames and 0 < row["detected"] <= 1
    # It is never one of the files the run reads or writes, and where it cannot be written nothing is done.
    refused = animgen(src, "-o", out, "--format", "glb,json", "--summary", out / "A_RUN.json")
    assert refused.returncode == 2 and "name it apart" in refused.stderr, refused.stderr
    assert HumanoidClip.load_json(out / "a_run.json").frame_count == 24
    weights = tmp_path / "mine.npz"
    weights.write_bytes((REPO / "ml" / "animgen_ml" / "weights" / "animgen_tcn.npz").read_bytes())
    refused = animgen(src, "-o", out, "--model", weights, "--summary", weights)
    assert refused.returncode == 2 and "name it apart" in refused.stderr, refused.stderr
    assert weights.read_bytes() == (REPO / "ml" / "animgen_ml" / "weights" / "animgen_tcn.npz").read_bytes()
    (tmp_path / "a_file").write_text("")
    nowhere = animgen(src, "-o", tmp_path / "fresh", "--summary", tmp_path / "a_file" / "s.json")
    assert nowhere.returncode == 2 and "cannot write there" in nowhere.stderr, nowhere.stderr
    assert not (tmp_path / "fresh").exists()
    unset = animgen(src, "-o", out, "--summary", "")
    assert unset.returncode == 2 and "--summary is an empty name" in unset.stderr, unset.stderr

    # A second run skips what is up to date and still reports the bad file; the summary gives the skipped videos'
    # files, and the warnings, frames and share with a person of the run that made them.
    mtime = (out / "a_run.glb").stat().st_mtime_ns
    proc = animgen(src, "-o", out, "--format", "glb,json", "--summary", tmp_path / "second.json")
    assert proc.returncode == 1 and "0 converted, 2 up to date, 1 failed" in proc.stderr
    assert (out / "a_run.glb").stat().st_mtime_ns == mtime
    second = json.loads((tmp_path / "second.json").read_text(encoding="utf-8"))
    assert second["counts"] == {"converted": 0, "skipped": 2, "failed": 1, "cancelled": 0}
    for before, now in zip(first["videos"], second["videos"], strict=True):
        if now["status"] == "skipped":
            assert (now["outputs"], now["warnings"]) == (before["outputs"], before["warnings"])
            assert now["frames"] == before["frames"] > 0 and now["detected"] == before["detected"] > 0

    # A newer video is converted again; --force redoes everything.
    time.sleep(0.01)
    os.utime(src / "a_run.mp4")
    (src / "b_bad.mov").unlink()
    proc = animgen(src, "-o", out, "--format", "glb,json")
    assert proc.returncode == 0 and "1 converted, 1 up to date, 0 failed" in proc.stderr
    assert (out / "a_run.glb").stat().st_mtime_ns > mtime
    proc = animgen(src, "-o", out, "--format", "json", "--force", "--quiet")
    assert proc.returncode == 0 and "2 converted, 0 up to date" in proc.stderr
    # Other options make other outputs: not up to date (they used to be skipped, leaving the old clip).
    proc = animgen(src, "-o", out, "--format", "json", "--fps", "12", "--quiet")
    assert proc.returncode == 0 and "2 converted, 0 up to date" in proc.stderr
    assert HumanoidClip.load_json(out / "a_run.json").fps == 12.0
    proc = animgen(src, "-o", out, "--format", "json", "--fps", "12", "--quiet")
    assert proc.returncode == 0 and "0 converted, 2 up to date" in proc.stderr


def test_a_folder_tree_with_recursive(videos: Path, tmp_path: Path):
    """--recursive: the videos of a folder's subfolders too (hidden ones aside, a linked one followed, a link back up
    no loop), each one's outputs in the same subfolder of -o, so that two takes of one name in two folders are both
    converted; up to date the second time. Without it the subfolders are left alone; with a file it is a usage
    error."""
    src, out = tmp_path / "refs", tmp_path / "anims"
    for rel in ("top.mp4", "walk/take.mp4", "run/take.mp4", "run/fast/take.mp4", ".cache/take.mp4",
                "../library/jump.mp4"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        ffmpeg("-i", videos / RUN, "-t", "0.4", "-c:v", "libx264", src / rel)
    (src / "shared").symlink_to(tmp_path / "library")  # a studio's shared references, linked in
    (src / "walk" / "up").symlink_to(src)
    args = ("--format", "json", "--generator", "analytic", "--quiet")
    proc = animgen(src, "-r", "-o", out, *args, "--summary", tmp_path / "run.json")
    assert proc.returncode == 0, proc.stderr
    made = sorted(str(p.relative_to(out)) for p in out.rglob("*.json") if not p.name.startswith("."))
    assert made == ["run/fast/take.json", "run/take.json", "shared/jump.json", "top.json", "walk/take.json"]
    summary = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    assert [(str(Path(r["video"]).relative_to(src)), r["status"]) for r in summary["videos"]] == [
        ("run/fast/take.mp4", "converted"), ("run/take.mp4", "converted"), ("shared/jump.mp4", "converted"),
        ("top.mp4", "converted"), ("walk/take.mp4", "converted")]
    assert summary["videos"][1]["outputs"] == {"json": str(out / "run" / "take.json")}
    again = animgen(src, "--recursive", "-o", out, *args)
    assert again.returncode == 0 and "0 converted, 5 up to date, 0 failed" in again.stderr, again.stderr
    flat = animgen(src, "-o", tmp_path / "flat", *args)
    assert flat.returncode == 0, flat.stderr
    assert sorted(p.name for p in (tmp_path / "flat").iterdir() if not p.name.startswith(".")) == ["top.json"]
    one = animgen(src / "top.mp4", "-r", "-o", out, *args)
    assert one.returncode == 2 and "--recursive takes a folder" in one.stderr, one.stderr
    # A file where a subfolder of -o goes fails that subfolder's videos, naming it, and is kept.
    blocked = tmp_path / "blocked"
    (blocked / "run").mkdir(parents=True)
    (blocked / "run" / "fast").write_text("notes")
    proc = animgen(src, "-r", "-o", blocked, *args)
    assert proc.returncode == 1 and "4 converted, 0 up to date, 1 failed" in proc.stderr, proc.stderr
    fast = Path("run") / "fast"
    assert error_lines(proc.stderr)[0] == (f"animgen: error: {src / fast / 'take.mp4'}: {blocked / fast}: is a file, "
                                           "where the folder of this video's outputs would be: move or rename it")
    assert (blocked / "run" / "fast").read_text() == "notes"
    # A Ray batch says it too, before it reaches for the cluster (none here).
    ray = animgen(src, "-r", "-o", blocked, *args, "--force", "--ray", "127.0.0.1:1")
    assert "Traceback" not in ray.stderr and "is a file, where the folder of this video's outputs would be" in \
        ray.stderr and "cannot connect to the Ray cluster" in ray.stderr, ray.stderr


def test_summary_to_standard_output(videos: Path, tmp_path: Path):
    """`--summary -`: the summary is the whole standard output (a CI step pipes it on), the result lines go to stderr;
    a failure's summary too."""
    ffmpeg("-i", videos / RUN, "-t", "0.4", "-c:v", "libx264", tmp_path / "run.mp4")
    proc = animgen(tmp_path / "run.mp4", "-o", tmp_path / "out", "--format", "json", "--generator", "analytic",
                   "--summary", "-")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["counts"]["converted"] == 1 and summary["videos"][0]["outputs"] == {
        "json": str(tmp_path / "out" / "run.json")}
    assert f"  wrote json: {tmp_path / 'out' / 'run.json'}" in proc.stderr.splitlines()
    missing = animgen(tmp_path / "gone.mp4", "--summary", "-")
    assert missing.returncode == 1 and json.loads(missing.stdout)["videos"][0]["status"] == "failed", missing.stdout


def test_a_folder_takes_camcorder_and_phone_videos(videos: Path, tmp_path: Path):
    """AVCHD (.MTS, .m2ts: MPEG transport streams, whose clocks start past zero), 3GP and WMV files in a folder convert
    as its .mp4 does; a .ts file is left alone, as it is as likely TypeScript as a transport stream."""
    src, out = tmp_path / "videos", tmp_path / "out"
    src.mkdir()
    ffmpeg("-i", videos / RUN, "-t", "0.5", "-c:v", "libx264", src / "a.mp4")
    ffmpeg("-i", src / "a.mp4", "-c", "copy", "-f", "mpegts", src / "b.MTS")
    ffmpeg("-i", src / "a.mp4", "-c", "copy", "-f", "mpegts", src / "c.m2ts")
    ffmpeg("-i", src / "a.mp4", "-c", "copy", src / "d.3gp")
    ffmpeg("-i", src / "a.mp4", "-c:v", "wmv2", "-q:v", "2", src / "e.wmv")
    (src / "f.ts").write_text("export const take = 1;\n")
    proc = animgen(src, "-o", out, "--format", "json")
    assert proc.returncode == 0 and "5 converted, 0 up to date, 0 failed" in proc.stderr, proc.stderr
    frames = {p.stem: len(json.loads(p.read_text())["hips"]) for p in out.glob("?.json")}
    assert frames == dict.fromkeys("abcde", frames["a"]) and frames["a"] >= 10, frames


def test_videos_of_one_name_in_folders_of_one_name_but_case_are_named_by_their_paths():
    from animgen_ml.pipeline import GenerateOptions
    from animgen_server.cmd_generate import out_bases, output_clashes

    src = Path("refs")
    videos = [src / "Walk" / "take.mp4", src / "walk" / "take.mp4", src / "run" / "take.mp4"]
    clashes = output_clashes(out_bases(videos, src, Path("anims")), GenerateOptions())
    said = "refs/Walk/take.mp4, refs/walk/take.mp4 would all write take.glb: rename all but one"
    assert clashes == {videos[0]: said, videos[1]: said}  # run/take.mp4 writes anims/run/take.glb


def test_videos_that_would_write_one_output_are_refused(videos: Path, tmp_path: Path):
    src, out = tmp_path / "videos", tmp_path / "out"
    src.mkdir()
    ffmpeg("-i", videos / RUN, "-t", "0.5", "-c:v", "libx264", src / "walk.mp4")
    ffmpeg("-i", src / "walk.mp4", "-c", "copy", src / "run.mp4")
    ffmpeg("-i", src / "walk.mp4", "-c", "copy", src / "Run.mov")  # one output name on Windows and macOS
    proc = animgen(src, "-o", out, "--format", "json")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    for name in ("run.mp4", "Run.mov"):
        line = next(x for x in error_lines(proc.stderr) if x.startswith(f"animgen: error: {src / name}:"))
        assert "Run.mov, run.mp4 would all write" in line and "rename all but one" in line, line
    assert sorted(p.name for p in out.iterdir()) == [".walk.animgen.json", "walk.json"]  # and what made it
    assert "1 converted, 0 up to date, 2 failed" in proc.stderr
    # One of them converted alone has outputs that look up to date: in the folder both still fail, as which one
    # made them is unknown.
    assert animgen(src / "run.mp4", "-o", out, "--format", "json").returncode == 0
    proc = animgen(src, "-o", out, "--format", "json")
    assert proc.returncode == 1 and "0 converted, 1 up to date, 2 failed" in proc.stderr, proc.stderr
    # A Ray batch follows the same rule, before it reaches any cluster.
    (src / "walk.mp4").unlink()
    made = (out / "run.json").stat().st_mtime_ns
    proc = animgen(src, "-o", out, "--format", "json", "--ray", "127.0.0.1:1")
    assert proc.returncode == 1 and "rename all but one" in proc.stderr, proc.stderr
    assert "cannot connect" not in proc.stderr and (out / "run.json").stat().st_mtime_ns == made


def test_a_videos_clip_and_anothers_target_output_are_refused(videos: Path, shared_data: Path, tmp_path: Path):
    """walk.mp4's --target output walk.hero.glb is walk.hero.mp4's clip: one replaced the other, and both were said
    to be converted."""
    src, out = tmp_path / "videos", tmp_path / "out"
    src.mkdir()
    ffmpeg("-i", videos / RUN, "-t", "0.5", "-c:v", "libx264", src / "walk.mp4")
    ffmpeg("-i", src / "walk.mp4", "-c", "copy", src / "walk.hero.mp4")
    hero = tmp_path / "hero.glb"
    hero.symlink_to(shared_data / "characters" / "Xbot_threejs.glb")
    proc = animgen(src, "-o", out, "--format", "glb", "--target", hero)
    assert proc.returncode == 1 and "0 converted, 0 up to date, 2 failed" in proc.stderr, proc.stderr
    for name in ("walk.mp4", "walk.hero.mp4"):
        line = next(x for x in error_lines(proc.stderr) if x.startswith(f"animgen: error: {src / name}:"))
        assert "walk.hero.mp4, walk.mp4 would all write walk.hero.glb: rename all but one" in line, line
    assert not (out / "walk.hero.glb").exists()


def test_a_target_character_is_never_overwritten(videos: Path, shared_data: Path, tmp_path: Path):
    """hero.mp4 with --target hero.glb in the same folder: hero.glb is both the character and the clip's GLB."""
    (tmp_path / "hero.mp4").write_bytes((videos / RUN).read_bytes())
    character = (shared_data / "characters" / "quaternius_male_suit.glb").read_bytes()
    (tmp_path / "hero.glb").write_bytes(character)
    proc = animgen(tmp_path / "hero.mp4", "--target", tmp_path / "hero.glb", "-o", tmp_path)
    assert_one_clean_error(proc, "hero.glb: the --target character is also one of the outputs")
    assert (tmp_path / "hero.glb").read_bytes() == character and not (tmp_path / "hero.hero.glb").exists()


def test_preview_keeps_a_variable_rate_videos_timing():
    """3 s at 10 fps then 3 s at 60 fps: each preview frame shows the source frame shown by its time (played at the
    mean rate, the frame of 3.0 s used to appear at 0.83 s)."""
    from animgen_ml.landmarks import CLOCK_SLOP_S
    from animgen_ml.preview import frame_schedule

    times = np.concatenate([np.arange(30) / 10, 3 + np.arange(180) / 60])
    fps = (len(times) - 1) / (times[-1] - times[0])
    show = frame_schedule(times, fps)
    out_t = times[0] + np.arange(len(show)) / fps
    assert len(show) == len(times)  # the same length as the source
    early = times[show] - out_t  # up to a millisecond clock's slop early, at most a 10 fps frame late
    assert np.all(early <= CLOCK_SLOP_S) and np.all(-early < 0.1 + 1e-6)
    steady = np.arange(47) / 29.97
    assert np.array_equal(frame_schedule(steady, 46 / steady[-1]), np.arange(47))  # a steady video: frame by frame
    ms = np.round(np.arange(401) / 30.0, 3)  # a Matroska clock: the span is a hair short of 400 frames at 30 fps
    assert np.array_equal(frame_schedule(ms, 30.0), np.arange(401))  # the last frame kept, as the clip keeps it


def test_a_variable_rate_video_that_holds_a_picture(videos: Path, tmp_path: Path):
    """A phone video may hold one picture for seconds. The clip came out at the mean rate (10 fps here), and the
    hold was said to be a person not detected; it is the held picture, at the video's own rate."""
    held = tmp_path / "held.mp4"
    ffmpeg("-i", videos / RUN, "-vf", "setpts='if(gte(N,21),PTS+3/TB,PTS)'", "-fps_mode", "passthrough",
           "-c:v", "libx264", held)
    plain = animgen(videos / RUN, "-o", tmp_path / "plain", "--format", "json")
    proc = animgen(held, "-o", tmp_path / "held", "--format", "json")
    assert plain.returncode == 0 and proc.returncode == 0, proc.stderr
    clip = HumanoidClip.load_json(tmp_path / "held" / "held.json")
    assert abs(clip.fps - 30.0) < 0.1 and abs(clip.duration - (47 / 30 + 3.0)) < 0.1, (clip.fps, clip.duration)
    # The video's own gap (1.1 to 1.6 s) comes 3 s later; the hold (0.7 to 3.7 s) is not one.
    gaps = [ln for ln in proc.stderr.splitlines() if "no person detected" in ln]
    assert [ln for ln in plain.stderr.splitlines() if "no person detected" in ln] == [
        f"warning: {videos / RUN}: no person detected from 1.1 s to 1.6 s"]
    assert gaps == [f"warning: {held}: no person detected from 4.1 s to 4.6 s"], proc.stderr


def test_all_formats_with_preview(videos: Path, tmp_path: Path):
    out = tmp_path / "out"
    proc = animgen(videos / BASKETBALL, "-o", out, "--format", "all")
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in out.iterdir())
    stem = "mmhuman3d_3dpw_basketball"
    made = [f"{stem}{s}" for s in (".glb", ".bvh", ".json", ".landmarks.npz", ".report.html", ".preview.mp4",
                                    ".vrma")]
    assert names == sorted([f".{stem}.animgen.json", *made])  # the hidden note: what made them
    probe = subprocess.run([require_tool("ffprobe"), "-v", "error", "-select_streams", "v:0", "-count_frames",
                            "-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json",
                            out / f"{stem}.preview.mp4"], capture_output=True, text=True, check=True)
    s = json.loads(probe.stdout)["streams"][0]
    assert s["codec_name"] == "h264" and int(s["height"]) == 480 and int(s["nb_read_frames"]) == 40
    assert int(s["width"]) > 480 * 1080 / 1920  # the video panel plus the side view
    # The preview of landmarks over a video that has no frames in their time range: one line, no hang (ffmpeg was
    # left waiting for input), no part files.
    wrong = tmp_path / "wrong"
    proc = subprocess.run([sys.executable, "-m", "animgen_server.cli", "generate", str(videos / RUN), "--landmarks",
                           str(out / f"{stem}.landmarks.npz"), "--start", "2", "-o", str(wrong), "--format", "preview"],
                          capture_output=True, text=True, timeout=120)
    assert_one_clean_error(proc, "is past the end of the video")
    assert list(wrong.iterdir()) == []


def test_image_sequences_are_named_with_what_to_do(videos: Path, tmp_path: Path):
    """Frames exported as pictures, given as a folder or as an ffmpeg pattern: the error says sequences are not read
    and how to make them a video (it said only "file not found", or "no videos in this folder")."""
    frames = tmp_path / "frames"
    frames.mkdir()
    ffmpeg("-i", videos / RUN, "-frames:v", "3", frames / "frame_%04d.png")
    for given, code in ((frames, 2), (frames / "frame_%04d.png", 1), (frames / "frame_0001.png", 1)):
        proc = animgen(given, "-o", tmp_path / "out")
        assert proc.returncode == code and "image sequences are not read: make them a video first" in proc.stderr, \
            proc.stderr


def test_a_video_that_grows_while_it_is_read_fails_by_name(videos: Path, tmp_path: Path):
    """A video still being copied in when the run began: its outputs are of the part that was there, so the video
    fails (exit 1 in a folder run) with a line that says why, and gets no up-to-date note. It had passed silently."""
    from animgen_ml.errors import InputError
    from animgen_ml.pipeline import GenerateOptions
    from animgen_server.cmd_generate import inputs_id, note_made, up_to_date

    video, out_base = tmp_path / "take.mp4", tmp_path / "out" / "take"
    data = (videos / RUN).read_bytes()
    video.write_bytes(data[: len(data) // 2])
    options = GenerateOptions(formats=("json",))
    made_from = inputs_id(video, options)
    with open(video, "ab") as f:  # the copy goes on while the video is read
        f.write(data[len(data) // 2:])
    with pytest.raises(InputError, match=r"take\.mp4: changed while it was read \(a file still being copied in\?\)"):
        note_made(out_base, options, video, made_from, [])
    assert not up_to_date(video, out_base, options)


def test_a_name_near_the_file_system_limit_is_noted_up_to_date(videos: Path, tmp_path: Path):
    """The outputs' names fit in 255 bytes but the hidden note's did not: such a video was made again on every run."""
    video = tmp_path / ("t" * 245 + ".mp4")
    ffmpeg("-i", videos / RUN, "-t", "0.6", "-c:v", "libx264", video)
    fast = ("--format", "json", "--generator", "analytic")
    assert animgen(video, "-o", tmp_path / "out", *fast).returncode == 0
    proc = animgen(video, "-o", tmp_path / "out", *fast)
    assert proc.returncode == 0 and "up to date" in proc.stderr, proc.stderr


def test_up_to_date_means_made_from_this_video_by_a_run_that_ended_well(videos: Path, shared_data: Path,
                                                                          tmp_path: Path):
    day1, day2, out = tmp_path / "day1", tmp_path / "day2", tmp_path / "out"
    day1.mkdir()
    day2.mkdir()
    ffmpeg("-i", videos / RUN, "-t", "1.2", "-c:v", "libx264", day1 / "take1.mp4")
    ffmpeg("-i", videos / RUN, "-t", "0.6", "-c:v", "libx264", day2 / "take1.mp4")
    os.utime(day2 / "take1.mp4", (1e9, 1e9))  # older than the outputs: copied with its date kept
    fast = ("--format", "json,npz", "--generator", "analytic")
    assert animgen(day1 / "take1.mp4", "-o", out, *fast).returncode == 0
    # Another video with the same name is not "up to date" with day1's outputs.
    proc = animgen(day2 / "take1.mp4", "-o", out, *fast)
    assert proc.returncode == 0 and "up to date" not in proc.stderr, proc.stderr
    short = HumanoidClip.load_json(out / "take1.json").frame_count
    assert short < 20
    assert "up to date" in animgen(day2 / "take1.mp4", "-o", out, *fast).stderr

    # The order of --format does not matter, nor how the --target character is spelled; that it changed does.
    assert "up to date" in animgen(day2 / "take1.mp4", "-o", out, "--format", "npz,json", "--generator",
                                   "analytic").stderr
    character = tmp_path / "hero.glb"
    character.write_bytes((shared_data / "characters" / "Xbot_threejs.glb").read_bytes())
    with_target = (*fast, "--target", character)
    assert "up to date" not in animgen(day2 / "take1.mp4", "-o", out, *with_target).stderr
    assert "up to date" in animgen(day2 / "take1.mp4", "-o", out, *with_target).stderr
    spelled = animgen(day2 / "take1.mp4", "-o", out, *fast, "--target", tmp_path / ".." / tmp_path.name / "hero.glb")
    assert "up to date" in spelled.stderr, spelled.stderr  # the same character by another path
    character.write_bytes((shared_data / "characters" / "quaternius_male_casual.glb").read_bytes())
    assert "up to date" not in animgen(day2 / "take1.mp4", "-o", out, *with_target).stderr

    # A run that fails after it replaced some outputs leaves none of them "up to date": here day2's landmarks over
    # a 0.2 s video, whose preview fails (the landmarks start past its end) after the json was written.
    lm = out / "take1.landmarks.npz"
    ffmpeg("-i", videos / RUN, "-t", "0.2", "-c:v", "libx264", tmp_path / "tiny.mp4")
    proc = animgen(tmp_path / "tiny.mp4", "--landmarks", lm, "-o", out, "--start", "0.3", "--fps", "60",
                   "--format", "json,preview", "--generator", "analytic")
    assert proc.returncode == 1 and round(HumanoidClip.load_json(out / "take1.json").fps) == 60, proc.stderr
    proc = animgen(day2 / "take1.mp4", "-o", out, *fast)
    assert proc.returncode == 0 and "up to date" not in proc.stderr, proc.stderr
    assert round(HumanoidClip.load_json(out / "take1.json").fps) == 30

    # --landmarks into their own folder, cut with --start: the saved landmarks stay whole.
    frames = Landmarks.load(lm).frame_count
    proc = animgen("--landmarks", lm, "-o", out, "--start", "0.3", "--format", "json,npz", "--generator", "analytic")
    assert proc.returncode == 0 and Landmarks.load(lm).frame_count == frames, proc.stderr
    proc = animgen(day1, "--landmarks", lm, "-o", out)
    assert proc.returncode == 2 and "is a folder" in proc.stderr
    # Their video, named as it was typed then, is looked for before anything is written, not after.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    ffmpeg("-i", videos / RUN, "-t", "0.4", "-c:v", "libx264", elsewhere / "clip.mp4")
    assert animgen("clip.mp4", "-o", "lm", "--format", "npz", "--generator", "analytic", cwd=elsewhere).returncode == 0
    proc = animgen("--landmarks", elsewhere / "lm" / "clip.landmarks.npz", "-o", tmp_path / "far", "--format",
                   "glb,preview", cwd=tmp_path)
    assert proc.returncode == 2 and "clip.mp4 is not found from here: give it as VIDEO" in proc.stderr, proc.stderr
    assert not (tmp_path / "far").exists()


def test_a_folder_converted_into_itself_skips_its_previews(videos: Path, tmp_path: Path):
    ffmpeg("-i", videos / RUN, "-t", "0.5", "-c:v", "libx264", tmp_path / "walk.mp4")
    for _ in range(2):
        proc = animgen(tmp_path, "-o", tmp_path, "--format", "json,preview", "--generator", "analytic")
        assert proc.returncode == 0, proc.stderr
    assert "walk.mp4: up to date, skipped" in proc.stderr and "preview.mp4:" not in proc.stderr, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [".walk.animgen.json", "walk.json", "walk.mp4",
                                                          "walk.preview.mp4"]


def test_a_read_only_output_is_refused_by_name(videos: Path, tmp_path: Path):
    """Version control leaves a file not checked out read-only: replacing it (a rename needs only the folder's
    permission) lost that protection, and the file came back writable."""
    out = tmp_path / "out"
    out.mkdir()
    kept = out / "mmhuman3d_3dpw_basketball.glb"
    kept.write_bytes(b"checked in")
    kept.chmod(0o444)
    proc = animgen(videos / BASKETBALL, "-o", out, "--format", "glb,json")
    assert_one_clean_error(proc, f"{kept}: read-only, not replaced")
    assert kept.read_bytes() == b"checked in" and not (out / "mmhuman3d_3dpw_basketball.json").exists()


def test_sigterm_stops_like_ctrl_c(videos: Path, tmp_path: Path):
    """A CI job's time limit sends SIGTERM: the run stops as Ctrl-C stops it (exit 143, one line), and leaves no
    part of a file behind. By default the process died at once, with the files it was writing."""
    import signal

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "ml"), str(REPO / "server")]))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "animgen_server.cli", "generate", str(videos / RUN), "-o",
                             str(out), "--format", "all", "--summary", str(tmp_path / "summary.json")],
                            stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # the pose stage's first warning: the run is under way, its files not yet written
        seen.append(line)
        if line.startswith("warning: "):
            break
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 143, "".join(seen) + rest
    assert "animgen: terminated" in rest and "Traceback" not in rest
    assert not [p for p in out.iterdir() if p.name.startswith(".animgen-")]
    # The --summary is written however the run ends: the video it was converting is cancelled.
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert [(r["video"], r["status"]) for r in summary["videos"]] == [(str(videos / RUN), "cancelled")]


def test_a_full_disk_fails_the_preview_and_keeps_the_earlier_one(videos: Path, tmp_path: Path):
    """On a full disk ffmpeg exits 0 with a preview that has no index: it was renamed over the good one, noted up
    to date, and never redone. It is read back now."""
    lm = tmp_path / "lm"
    assert animgen(videos / RUN, "-o", lm, "--format", "npz", "--quiet").returncode == 0
    full = tmp_path / "full"
    full.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1300k", "tmpfs", str(full)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (it needs root): no disk to fill")
    try:
        run: list[str | Path] = [videos / RUN, "--landmarks", lm / "sports2d_run_sideview.landmarks.npz", "-o",
                                 full, "--format", "preview", "--quiet", "--force"]
        assert animgen(*run).returncode == 0
        preview = full / "sports2d_run_sideview.preview.mp4"
        good = preview.read_bytes()
        free = os.statvfs(full).f_bavail * os.statvfs(full).f_frsize
        (full / "filler").write_bytes(bytes(free - 64 * 1024))  # 64 KiB left: half a preview
        proc = animgen(*run)
        assert_one_clean_error(proc, "ffmpeg could not write the preview (No space left on device)")
        assert preview.read_bytes() == good
        assert not [p for p in full.iterdir() if p.name.startswith(".animgen-")]
    finally:
        subprocess.run(["umount", "--lazy", str(full)], check=True)


def test_model_runs_the_given_weights(videos: Path, tmp_path: Path):
    """--model: weights trained elsewhere (`animgen train --out`) make the clip, and a clip made with them is not
    "up to date" for the shipped ones."""
    out, mine = tmp_path / "out", weights_like_shipped(tmp_path / "mine.npz", "mine", scale=0.7)
    assert animgen(videos / RUN, "-o", out, "--format", "json,npz").returncode == 0
    shipped = HumanoidClip.load_json(out / "sports2d_run_sideview.json")
    assert shipped.metadata["model"] == "animgen_tcn"
    proc = animgen(videos / RUN, "-o", out, "--format", "json,npz", "--model", mine)
    assert proc.returncode == 0 and "up to date" not in proc.stderr, proc.stderr
    clip = HumanoidClip.load_json(out / "sports2d_run_sideview.json")
    assert clip.metadata["model"] == "mine"
    assert np.isfinite(clip.rotations).all() and np.abs(clip.rotations - shipped.rotations).max() > 0.01
    assert "up to date" in animgen(videos / RUN, "-o", out, "--format", "json,npz", "--model", mine).stderr
    assert "up to date" not in animgen(videos / RUN, "-o", out, "--format", "json,npz").stderr
    lm = out / "sports2d_run_sideview.landmarks.npz"

    # Weights that cannot run are a usage error before anything is done, naming what is wrong.
    (tmp_path / "notes.txt").write_text("not weights")
    other = weights_like_shipped(tmp_path / "old.npz", "old", drop_inputs=3)
    for given, words in [(tmp_path / "none.npz", "no such file"), (tmp_path, "a folder"),
                         (tmp_path / "notes.txt", "not a weights file of `animgen train`"),
                         (other, "weights of another version of AnimGen (its network takes 198 inputs")]:
        proc = animgen("--landmarks", lm, "-o", tmp_path / "bad", "--model", given)
        assert proc.returncode == 2 and f"animgen generate: error: --model {given}" in proc.stderr, proc.stderr
        assert words in proc.stderr, proc.stderr
    assert not (tmp_path / "bad").exists()
    for extra, words in [(("--generator", "analytic"), "--generator analytic does not use them"),
                         (("--server", "127.0.0.1:1"), "a server runs its own network (animgen serve --model)")]:
        proc = animgen(videos / RUN, "-o", tmp_path / "bad", "--model", mine, *extra)
        assert proc.returncode == 2 and words in proc.stderr, proc.stderr

    # $ANIMGEN_WEIGHTS naming a file that is not there is said before any work; it does not fall back to the baseline.
    env = dict(os.environ, ANIMGEN_WEIGHTS=str(tmp_path / "gone.npz"),
               PYTHONPATH=os.pathsep.join([str(REPO / "ml"), str(REPO / "server")]))
    run = [sys.executable, "-m", "animgen_server.cli", "generate", str(videos / RUN), "-o", str(tmp_path / "env"),
           "--format", "json"]
    proc = subprocess.run(run, capture_output=True, text=True, env=env)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip() == f"animgen: error: environment variable ANIMGEN_WEIGHTS={tmp_path / 'gone.npz'}: " \
                                  "no such file"
    assert not (tmp_path / "env").exists()
    assert subprocess.run(run + ["--generator", "analytic"], capture_output=True, text=True, env=env).returncode == 0
