"""The Unreal plugin's portable client core, built and tested outside Unreal.

CMake builds unreal_plugin/Source/AnimGenClientCore against the system's gRPC C++ and protobuf into
build/unreal-core (kept between runs). The GoogleTest suite checks coordinate conversion and bone mapping on
known poses; a real character's skeleton (Xbot, a Mixamo rig; a Quaternius rig) is retargeted onto; and an
end-to-end program drives a real `animgen serve` on 127.0.0.1. The committed generated C++ must equal what
scripts/codegen.sh produces.
"""

from __future__ import annotations

import contextlib
import filecmp
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, failed_serve_log, require_tool
from service_support import CANCEL_NEVER_ANSWERED, FIRST_ANSWER_LOST, ServerProcess, request_ids, start_job_hook

import animgen_ml
from animgen_ml import rotations as R
from animgen_ml.clip import empty_clip
from animgen_ml.pipeline import GenerateOptions
from animgen_server.run_summary import STATUSES, VideoResult

CORE = REPO / "unreal_plugin" / "Source" / "AnimGenClientCore"
PLUGIN_VERSION = json.loads((REPO / "unreal_plugin" / "AnimGen.uplugin").read_text())["VersionName"]
BUILD = REPO / "build" / "unreal-core"
VENV_BIN = Path(sys.executable).parent


def _run(cmd: list[str], timeout: float, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


@pytest.fixture(scope="session")
def core_build() -> Path:
    """Configures (once) and builds the client core and its test programs; returns the build folder."""
    for tool in ("cmake", "pkg-config", "protoc", "grpc_cpp_plugin"):
        require_tool(tool)
    if not (BUILD / "CMakeCache.txt").exists():
        r = _run(["cmake", "-S", str(CORE), "-B", str(BUILD), "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], 300)
        assert r.returncode == 0, f"cmake configure failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    r = _run(["nice", "cmake", "--build", str(BUILD), "-j2"], 1800)
    assert r.returncode == 0, f"cmake build failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    return BUILD


def test_unit_tests_pass_under_ctest(core_build: Path, tmp_path: Path):
    env = dict(os.environ, **failed_serve_log(tmp_path))
    r = _run(["ctest", "--test-dir", str(core_build), "--output-on-failure"], 300, env=env)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    # The suite really ran the conversion and mapping tests (ctest reports the one gtest binary).
    g = _run([str(core_build / "animgen_core_tests"), "--gtest_brief=1"], 120, env=env)
    assert g.returncode == 0, g.stdout[-4000:]
    assert "SKIPPED" not in g.stdout, g.stdout[-4000:]
    assert re.search(r"\[  PASSED  \] (\d+) tests", g.stdout), g.stdout[-2000:]
    listed = _run([str(core_build / "animgen_core_tests"), "--gtest_list_tests"], 60).stdout
    for suite in ("CoordinateConversion.", "BoneMapping.", "Sha256.", "Client.", "VideoFiles.", "FrameRates.",
                  "LocalServer.", "ServerExecutable.", "HumanoidClip.", "OptionsProblem.", "BatchSummary.", "JobInfo.",
                  "QueueWait.", "Outage.", "FollowJob.", "BatchQueue.", "CancelJob.", "CommandLine."):
        assert suite in listed
    assert "FootstepTimesAreWhereAFootLands" in listed


def test_regenerated_cpp_matches_committed(tmp_path: Path):
    require_tool("protoc")
    require_tool("grpc_cpp_plugin")
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", PYTHON=sys.executable)
    r = _run(["bash", str(REPO / "scripts" / "codegen.sh"), str(tmp_path)], 300, env=env, cwd=REPO)
    assert r.returncode == 0, r.stderr[-3000:]
    fresh = tmp_path / "unreal_plugin" / "Source" / "AnimGenClientCore" / "Generated"
    committed = CORE / "Generated"
    fresh_files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    committed_files = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    assert fresh_files == committed_files
    assert len(fresh_files) == 8  # clip and service: .pb.h/.pb.cc/.grpc.pb.h/.grpc.pb.cc
    differing = [str(p) for p in fresh_files if not filecmp.cmp(fresh / p, committed / p, shallow=False)]
    assert not differing, f"run `make codegen`: these generated files are stale: {differing}"


# ---- retargeting onto real characters' skeletons ----

def _skeleton_text(glb: Path) -> str:
    """The skin's joints as `name parent tx ty tz qx qy qz qw` lines (local, metres, glTF space), with any
    node scale (an armature scaled 0.01, say) baked into the translations."""
    import pygltflib

    g = pygltflib.GLTF2().load(str(glb))
    parent_of: dict[int, int] = {}
    for i, n in enumerate(g.nodes):
        for c in n.children or []:
            parent_of[c] = i

    def local_matrix(n) -> np.ndarray:
        if n.matrix:
            return np.array(n.matrix, dtype=np.float64).reshape(4, 4).T
        m = np.eye(4)
        q = np.array(n.rotation or [0, 0, 0, 1], dtype=np.float64)
        m[:3, :3] = R.to_matrix(q) * np.array(n.scale or [1, 1, 1], dtype=np.float64)
        m[:3, 3] = n.translation or [0, 0, 0]
        return m

    def world(i: int) -> np.ndarray:
        m = local_matrix(g.nodes[i])
        return world(parent_of[i]) @ m if i in parent_of else m

    joints = list(g.skins[0].joints)

    # Order parents first (skins do not promise it).
    def depth(j: int) -> int:
        return 0 if j not in parent_of else 1 + depth(parent_of[j])
    joints.sort(key=depth)
    index = {j: k for k, j in enumerate(joints)}
    pos, rot, lines = {}, {}, []
    for j in joints:
        m = world(j)
        pos[j] = m[:3, 3]
        basis = m[:3, :3] / np.linalg.norm(m[:3, :3], axis=0)
        rot[j] = R.from_matrix(basis)
        p = parent_of.get(j)
        while p is not None and p not in index:
            p = parent_of.get(p)
        if p is None:
            t, q, pi = pos[j], rot[j], -1
        else:
            inv = R.conjugate(rot[p])
            t, q, pi = R.apply(inv, pos[j] - pos[p]), R.multiply(inv, rot[j]), index[p]
        name = g.nodes[j].name.replace(" ", "_")
        lines.append(f"{name} {pi} " + " ".join(f"{v:.9g}" for v in [*t, *q]))
    return "\n".join(lines) + "\n"


def _retarget(core_build: Path, skeleton: Path, *args: str) -> dict[str, str]:
    r = _run([str(core_build / "animgen_core_retarget"), str(skeleton), *args], 120)
    assert r.returncode == 0, r.stderr
    return dict(line.split(" ", 1) for line in r.stdout.strip().splitlines())


def _server_leg_length(glb: Path, overrides: str = "") -> float:
    """The character's thigh and shin (m) as the server's retarget reads them: its Hips' scale times our leg's."""
    from animgen_ml import retarget, skeleton

    clip = empty_clip(skeleton.bone_names(False), 1, 30.0)
    pairs = dict(p.split("=") for p in overrides.split(",")) if overrides else None
    leg = sum(float(np.linalg.norm(clip.rest_offsets[clip.index(b)])) for b in ("LeftLowerLeg", "LeftFoot"))
    return retarget.retarget(clip, retarget.load_target(glb), pairs).hips_scale * leg


def test_retarget_onto_mixamo_xbot(core_build: Path, shared_data: Path, tmp_path: Path):
    glb, skeleton = shared_data / "characters" / "Xbot_threejs.glb", tmp_path / "xbot.txt"
    skeleton.write_text(_skeleton_text(glb))
    out = _retarget(core_build, skeleton)
    assert out["PRESET"] == "mixamo"  # recognised from "mixamorig:" names alone
    assert int(out["MAPPED"]) == 52  # 22 body bones and the 30 finger bones
    assert float(out["MAX_DIRECTION_ERROR_DEG"]) < 0.01
    # The Hips travel as far as the server's retarget moves them (leg lengths; the core had used hip heights).
    leg = float(out["HIPS_SCALE"]) * float(out["CLIP_LEG_M"])
    assert leg == pytest.approx(_server_leg_length(glb), rel=1e-6)


QUATERNIUS_MAP = ",".join(
    ["Hips=Hips", "Spine=Abdomen", "Chest=Torso", "UpperChest=Chest", "Neck=Neck", "Head=Head"]
    + [f"{side}{h}={t}.{side[0]}" for side in ("Left", "Right") for h, t in
       [("Shoulder", "Shoulder"), ("UpperArm", "UpperArm"), ("LowerArm", "LowerArm"), ("Hand", "Hand"),
        ("UpperLeg", "UpperLeg"), ("LowerLeg", "LowerLeg"), ("Foot", "Foot")]])


def test_retarget_onto_quaternius_rig_with_bone_map(core_build: Path, shared_data: Path, tmp_path: Path):
    # A Blender-made rig: bone axes along the bones, arms not in a T-pose; mapped by hand (no table fits).
    skeleton = tmp_path / "quaternius.txt"
    skeleton.write_text(_skeleton_text(shared_data / "characters" / "quaternius_male_casual.glb"))
    out = _retarget(core_build, skeleton, "auto", QUATERNIUS_MAP)
    assert int(out["MAPPED"]) >= 20
    assert float(out["MAX_DIRECTION_ERROR_DEG"]) < 0.01
    assert float(out["REST_TPOSE_ERROR_DEG"]) < 0.01
    leg = float(out["HIPS_SCALE"]) * float(out["CLIP_LEG_M"])
    assert leg == pytest.approx(_server_leg_length(shared_data / "characters" / "quaternius_male_casual.glb",
                                                   QUATERNIUS_MAP), rel=1e-6)


@pytest.mark.parametrize("character, renamed, phalanges", [
    ("Xbot_threejs.glb", True, 30), ("CesiumMan.glb", False, 0),
    ("quaternius_male_casual.glb", False, 28),  # two-jointed thumbs
    ("quaternius_female_casual.glb", False, 30)])
def test_a_rig_no_table_knows_is_mapped_by_its_shape_as_the_server_maps_it(core_build: Path, shared_data: Path,
                                                                          tmp_path: Path, character: str,
                                                                          renamed: bool, phalanges: int):
    """Auto-detect falls back to the skeleton's standing reference pose where no table finds the body (CesiumMan's
    leg_joint_L_1, Quaternius's UpperLeg.L, the Xbot renamed bone_0, bone_1, ...), and maps it, fingers included, to
    the very bones the server's bonemap finds, so that the map the Editor sends and the server's own agree. The
    female Quaternius rigs hang their legs from a root on the floor, beside their Hips."""
    from animgen_ml import retarget
    from animgen_ml.bonemap import map_bones

    lines = _skeleton_text(shared_data / "characters" / character).splitlines()
    names = [line.split(" ", 1)[0] for line in lines]
    if renamed:
        names = [f"bone_{k}" for k in range(len(names))]
        lines = [" ".join([n, *line.split(" ")[1:]]) for n, line in zip(names, lines, strict=True)]
    skeleton = tmp_path / "rig.txt"
    skeleton.write_text("\n".join(lines) + "\n")
    out = _retarget(core_build, skeleton)
    assert out["PRESET"] == "shape" and float(out["MAX_DIRECTION_ERROR_DEG"]) < 0.01
    client = dict(pair.split("=") for pair in out["BONES"].split(","))
    sk = retarget.load_glb_skeleton(shared_data / "characters" / character)[0]
    server = map_bones(names if renamed else sk.names, sk.parents, rest=sk.rest_positions)
    assert client == server
    assert sum(bone.endswith(("Proximal", "Intermediate", "Distal")) for bone in client) == phalanges


@pytest.mark.parametrize("rel", [
    "hdm05_cut/bvh_30fps/HDM_bd_squat1Reps_009.bvh",  # ASF: clavicles, two neck joints
    "cmu_cgspeed_misc/131_01.bvh",  # arms down, LeftCollar and LHipJoint before the limbs
    "sfu_accad_terrainrl/Nus_Subject0017_Run_30fps.bvh",  # an end joint at each hand
    "cmu_salsa_daz_30fps/60_05_scaled_30fps.bvh",  # metacarpal-less fingers, no toes
])
def test_mocap_rigs_map_by_shape_as_the_server_maps_them(core_build: Path, shared_data: Path, tmp_path: Path,
                                                         rel: str):
    """Rigs from motion capture, imported into an engine with their joints' names lost: the core's auto-detect maps
    their standing rest pose (preset `shape`) to the very bones the server's bonemap finds, fingers included."""
    from animgen_ml import mocap
    from animgen_ml.bonemap import map_bones
    from animgen_ml.bvh import read_bvh

    b = read_bvh(shared_data / "mocap" / rel)
    pos = mocap.standing_rest(b.parents, b.rest_positions(), b.end_sites)
    assert pos is not None
    names = [f"joint{k}" for k in range(len(b.names))]
    lines = [f"{n} {p} {' '.join(f'{v:.9g}' for v in (pos[j] - pos[p] if p >= 0 else pos[j]))} 0 0 0 1"
             for j, (n, p) in enumerate(zip(names, b.parents, strict=True))]
    skeleton = tmp_path / "rig.txt"
    skeleton.write_text("\n".join(lines) + "\n")
    out = _retarget(core_build, skeleton)  # (CMU's rig puts its neck and collars where its chest is: no direction)
    assert out["PRESET"] == "shape"
    client = dict(pair.split("=") for pair in out["BONES"].split(","))
    assert client == map_bones(names, b.parents, rest=lambda: pos)
    assert client["Head"] == names[b.names.index(map_bones(b.names, b.parents, fingers=False)["Head"])]


# ---- end to end against a real server ----

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_serving(address: str, proc: subprocess.Popen, timeout: float, tls_ca: Path | None) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout
    channel = (grpc.secure_channel(address, grpc.ssl_channel_credentials(tls_ca.read_bytes())) if tls_ca
               else grpc.insecure_channel(address))
    with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"animgen serve exited with {proc.returncode}")
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=2).status == \
                        health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.3)
    pytest.fail(f"animgen serve did not become ready on {address} within {timeout:.0f} s")


@contextlib.contextmanager
def _serve(tmp_path: Path, *extra: str, tls_ca: Path | None = None):
    """A real `animgen serve` on a free loopback port; yields its address and stops it afterwards."""
    animgen = VENV_BIN / "animgen"
    if not animgen.exists():
        pytest.fail(f"{animgen} is missing: run `make setup`")
    port = _free_port()
    address = f"127.0.0.1:{port}"
    log_path = tmp_path / f"serve-{port}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(animgen), "serve", "--port", str(port), "--data-dir", str(tmp_path / f"data-{port}"), *extra],
            stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_serving(address, proc, 120, tls_ca)
            yield address
        except BaseException:
            print(log_path.read_text()[-3000:])
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _facts(text: str) -> dict[str, dict[str, str]]:
    """The e2e program's `KEY k=v k=v` lines (first line of each key)."""
    facts: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(" ")
        facts.setdefault(key, dict(kv.split("=", 1) for kv in rest.split() if "=" in kv))
    return facts


def _run_e2e(*args: str, when: str, stdin: int | None = None
             ) -> tuple[subprocess.Popen, list[str], threading.Event, threading.Thread]:
    """The end-to-end program started, its output lines gathered as they come (by the thread returned: join it before
    reading them whole), and an event set at the first line that starts with `when` (when the test acts on the
    server). stdin: subprocess.PIPE for a program that waits for the test's word."""
    proc = subprocess.Popen(list(args), stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    seen = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith(when):
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return proc, lines, seen, reader


@pytest.mark.slow
def test_end_to_end_against_animgen_serve(core_build: Path, videos: Path, shared_data: Path, tmp_path: Path):
    video = videos / "sports2d_run_sideview.mp4"
    big = videos / "hybrik_taiji.mp4"  # 2.6 MB: uploaded in several 1 MiB chunks
    token = "unreal-e2e-token"
    out_dir = tmp_path / "result"
    skeleton = tmp_path / "xbot.txt"  # an engine's skeleton for "Server retarget"
    skeleton.write_text(_skeleton_text(shared_data / "characters" / "Xbot_threejs.glb"))
    summary = tmp_path / "ci" / "summary.json"
    summary.parent.mkdir()
    with _serve(tmp_path, "--token", token) as address:
        r = _run([str(core_build / "animgen_core_e2e"), "--address", address, "--video", str(video),
                  "--out", str(out_dir), "--token", token, "--big-video", str(big), "--skeleton", str(skeleton),
                  "--target-video", str(videos / "romp_fitness_jumping_jacks.mp4"), "--summary", str(summary),
                  "--client-version", PLUGIN_VERSION], 600)
        text = r.stdout
        assert r.returncode == 0, text[-4000:] + r.stderr[-2000:]

    facts = _facts(text)
    assert facts["WRONG_TOKEN"]["code"] == "UNAUTHENTICATED"
    assert facts["NO_TOKEN"]["code"] == "UNAUTHENTICATED"
    assert facts["UPLOAD"]["sha_match"] == "1"
    # The same video again: the server answers after the header (UploadHeader.may_answer_early), the same upload.
    assert facts["REUPLOAD"] == {"same_id": "1", "already_stored": "1", "first_already_stored": "0"}
    serve_log = "".join(p.read_text() for p in tmp_path.glob("serve-*.log"))
    assert f"{video.name} again, {video.stat().st_size} bytes (already stored: not sent again)" in serve_log
    assert int(facts["UPLOAD"]["bytes"]) == video.stat().st_size
    assert int(facts["BIG_UPLOAD"]["bytes"]) == big.stat().st_size
    assert int(facts["BIG_UPLOAD"]["chunks"]) == -(-big.stat().st_size // (1 << 20))
    assert facts["BIG_UPLOAD"]["sha_match"] == "1"
    assert facts["WATCH"]["final"] == "SUCCEEDED" and facts["WATCH"]["monotonic"] == "1"
    assert facts["WATCH"]["cached"] == "0"  # a fresh data dir: the pipeline really ran
    assert int(facts["WATCH"]["events"]) >= 3
    stages = {m.group(1) for m in re.finditer(r"^EVENT type=\d+ stage=(\S+)", text, re.M)}
    assert "pose" in stages, stages
    clip = facts["CLIP"]
    assert clip["bones"] == "22" and clip["hips"] == "Hips"
    assert int(clip["frames"]) > 0 and float(clip["max_norm_error"]) < 1e-3
    # The feet's contact curves (a key where a foot lands or lifts) step through every frame's contact of the run.
    curves = facts["CONTACT_CURVES"]
    assert curves["wrong"] == "0" and int(curves["planted"]) > 0 and 4 <= int(curves["keys"]) < int(clip["frames"])
    # The footstep notifies (FootstepTimes): one on each frame where a foot lands, none elsewhere.
    steps = facts["FOOTSTEPS"]
    assert steps["misplaced"] == "0" and steps["count"] == steps["landings"] and int(steps["count"]) > 0, steps
    glb = next(out_dir.glob("*.glb"))
    assert glb.read_bytes()[:4] == b"glTF"
    assert not list(out_dir.glob("*.part"))
    assert facts["FILE"]["sha_ok"] == "1"
    assert facts["CANCEL"]["state"] == "CANCELLED"
    assert facts["CANCELLED_RESULT"]["code"] == "FAILED_PRECONDITION"
    assert facts["LOCAL_CANCEL"]["code"] == "CANCELLED"
    assert facts["UNKNOWN_JOB"]["code"] == "NOT_FOUND"
    assert facts["CROP_OUTSIDE"] == {"code": "INVALID_ARGUMENT", "named": "1"}  # the crop crossed the wire
    assert int(facts["LIST"]["jobs"]) >= 3
    # "Server retarget": the clip on the engine's skeleton as the server's target file plays it, its planted feet
    # locked on that skeleton's legs. The core's own retarget of the clip leaves the planted ankles further from their
    # rest height (floating or sinking) and sliding more.
    motion = facts["TARGET_MOTION"]
    assert motion["matches"] == "1" and motion["feet_locked"] == "1" and float(motion["max_norm_error"]) < 1e-5
    assert motion["frames"] == motion["clip_frames"] and int(motion["bones"]) == len(skeleton.read_text().splitlines())
    assert float(motion["height_mm"]) < 3.0 and float(motion["height_mm"]) < 0.5 * float(motion["height_alone_mm"])
    assert float(motion["slide_mm"]) < float(motion["slide_alone_mm"])
    # The commandlet's -Summary for that video: the CLI's --summary shape, the server's own figures.
    _check_summary_shape(doc := json.loads(summary.read_text(encoding="utf-8")))
    assert [p.name for p in summary.parent.iterdir()] == ["summary.json"]  # nothing left aside
    assert doc["animgen"] == animgen_ml.__version__ and doc["client"] == f"unreal {PLUGIN_VERSION}"
    assert doc["counts"] == {"converted": 1, "skipped": 0, "failed": 0, "cancelled": 0}
    (row,) = doc["videos"]
    assert row["video"] == str(video) and row["status"] == "converted" and row["error"] is None
    assert row["outputs"] == {"glb": str(glb)}
    assert row["frames"] > 0 and 0 < row["detected"] <= 1, row  # Job.frames / Job.detected_share, from the server
    # The tab's and the commandlet's line for them is the CLI's (cmd_generate.py _print_result), figure for figure.
    frames, detected = int(facts["READ"]["frames"]), float(facts["READ"]["detected"])
    assert frames == row["frames"] and round(detected, 4) == row["detected"]
    (read_line,) = re.findall(r"^READ_LINE (.*)$", text, re.M)
    assert read_line == f"{frames} frames read; person detected in {100 * detected:.1f}%"
    assert 0 < row["seconds"] < 600
    assert row["warnings"] == list(dict.fromkeys(m.group(1) for m in re.finditer(r"^EVENT type=6 .*? state=\S+ (.*)$",
                                                                                    text, re.M)))


@pytest.mark.slow
def test_start_job_waits_out_a_full_queue(core_build: Path, videos: Path, tmp_path: Path):
    """A server with one worker and no room in its queue (`--workers 1 --max-queued 0`), its worker busy with a 10 s
    video sent from Python: the core's StartJob refuses a video over the server's limit at once (RESOURCE_EXHAUSTED
    without the retry key: nothing said, no wait). For a short video it says once that the queue is full and waits,
    which Client::Cancel() ends at once; waiting again, it starts the job once Python cancels the busy one (the server
    asks for a try every 5 s), and the job succeeds."""
    from animgen.v1 import service_pb2
    from animgen_server import convert
    from animgen_server.client import AnimGenClient

    fast = convert.options_to_proto(GenerateOptions(generator="analytic", formats=("json",)))
    waiting = "the server's queue is full; trying again every 5 s for up to 10 min"
    with _serve(tmp_path, "--workers", "1", "--max-queued", "0", "--max-video-seconds", "12") as address, \
            AnimGenClient(address, timeout=60) as c:
        busy = c.start(c.upload(videos / "motionbert_boxing.mp4").upload_id, fast)
        deadline = time.monotonic() + 60  # until the worker takes it: a job still queued leaves a free slot
        while not [j for j in c.list() if j.job_id == busy.job_id and j.state == service_pb2.JOB_STATE_RUNNING]:
            assert time.monotonic() < deadline, c.list()
            time.sleep(0.1)
        proc, lines, second, reader = _run_e2e(
            str(core_build / "animgen_core_e2e"), "--address", address, "--queue-full",
            str(videos / "sports2d_run_sideview.mp4"), "--too-long",
            str(videos / "sports2d_dumbbell_lateral_raise.mp4"), when="QUEUE_WAIT try=2 ")
        try:
            assert second.wait(60), lines
            still = [j.state for j in c.list() if j.job_id == busy.job_id]
            assert still == [service_pb2.JOB_STATE_RUNNING], lines  # the wait was the full queue's
            c.cancel(busy.job_id)  # room: the next try starts the job
            proc.wait(120)
        finally:
            if proc.poll() is None:
                proc.kill()
        reader.join(10)
    text = "\n".join(lines)
    assert proc.returncode == 0, text
    facts = _facts(text)
    assert facts["REFUSED"]["code"] == "RESOURCE_EXHAUSTED" and facts["REFUSED"]["said"] == "0", text
    assert float(facts["REFUSED"]["seconds"]) < 2, text  # at once: trying again would not help
    assert re.search(r"^REFUSED_MESSAGE sports2d_dumbbell_lateral_raise.mp4: 18\.\d s to process; this server takes "
                     r"at most 12 s: trim it", text, re.M), text  # the server's own message
    assert [line for line in lines if line.startswith("QUEUE_WAIT ")] == [f"QUEUE_WAIT try=1 {waiting}",
                                                                         f"QUEUE_WAIT try=2 {waiting}"], text
    assert facts["QUEUE_CANCEL"]["code"] == "CANCELLED" and float(facts["QUEUE_CANCEL"]["seconds"]) < 3, text
    job = facts["QUEUE_JOB"]
    assert job["code"] == "OK" and job["said"] == "1" and float(job["seconds"]) < 30, text
    assert facts["QUEUE_DONE"]["final"] == "SUCCEEDED" and lines[-1] == "OK", text


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["kill9", "sigterm"])
def test_a_followed_job_rides_out_a_restart_of_the_server(core_build: Path, videos: Path, tmp_path: Path, stop: str):
    """The core follows a job on a 10 s video as the tab and the commandlet follow it (Outage, Client::FollowJob); the
    server is stopped once the job runs (kill -9: a crash; SIGTERM: a deploy, whose server cancels the calls it gets as
    it stops) and started again on the same port 3 s later. The client says once that it lost the server and once that
    it reached it again, starts the job the stop interrupted again (the same job: StartJob on the same upload), says
    each warning once, and the job succeeds."""
    import signal

    server = ServerProcess(tmp_path / "data", "--workers", "1").start()
    port = server.address.rsplit(":", 1)[1]
    server.args[server.args.index("--port") + 1] = port  # comes back where the client knows it
    proc, lines, running, reader = _run_e2e(str(core_build / "animgen_core_e2e"), "--address", server.address,
                                            "--restart", str(videos / "motionbert_boxing.mp4"), when="RUNNING ")
    try:
        assert running.wait(90), lines
        if stop == "kill9":
            server.kill9()
        else:
            assert server.stop(signal.SIGTERM) == 0, server.output()
        time.sleep(3)  # a restart takes a while: the client keeps trying meanwhile
        server.start()
        proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
        rc = server.stop(signal.SIGTERM)
        reader.join(10)
    text = "\n".join(lines)
    assert proc.returncode == 0 and rc == 0, text + server.output()[-3000:]
    said = [line[len("NOTICE "):] for line in lines if line.startswith("NOTICE ") and "queued" not in line]
    lost, back = "lost the server; trying to reach it again for up to 2 min", "reached the server again"
    again = "the server stopped while the job ran; running it again"
    # Each once. A crash is found by the watch; a stopping server first tells the watch the job was interrupted.
    assert sorted(said) == sorted([lost, back, again]) and said.index(lost) < said.index(back), text
    started = re.findall(r"^STARTED job=(\S+)", text, re.M)
    assert len(started) == 2 and started[0] == started[1], text  # the same job, run again
    done = _facts(text)["DONE"]
    assert done["code"] == "OK" and done["final"] == "SUCCEEDED" and done["job"] == started[0], text
    assert done["repeated"] == "0", text  # the re-attached watch replays the warnings: each said once
    assert int(_facts(text)["RESULT"]["clip_frames"]) > 0 and lines[-1] == "OK", text


def _e2e_on_hooked_server(core_build: Path, tmp_path: Path, hook: str, mode: str, video: Path, when: str,
                          act: Callable[[subprocess.Popen, ServerProcess], None] | None = None,
                          extra: tuple[str, ...] = ()) -> tuple[list[str], list]:
    """The end-to-end program in `mode` on `video` (and `extra` arguments) against a real server with one worker whose
    StartJob `hook` changes (service_support.start_job_hook); act(program, server), if given, once it runs (its stdin is
    then a pipe). Returns the program's lines and the server's jobs at the end; StartJob was asked twice, under one
    request id."""
    import signal

    from animgen_server.client import AnimGenClient

    server = ServerProcess(tmp_path / "data", "--workers", "1", first=hook).start()
    proc, lines, _, reader = _run_e2e(str(core_build / "animgen_core_e2e"), "--address", server.address, mode,
                                      str(video), *extra, when=when, stdin=subprocess.PIPE if act else None)
    try:
        if act:
            act(proc, server)
        proc.wait(120)
        with AnimGenClient(server.address, timeout=60) as c:
            listed = c.list()
    finally:
        if proc.poll() is None:
            proc.kill()
        rc = server.stop(signal.SIGTERM)
        reader.join(10)
    assert proc.returncode == 0 and rc == 0, "\n".join(lines) + server.output()[-3000:]
    asked = request_ids(server)  # every try of the start under its first one's id
    assert len(asked) == 2 and asked[0] == asked[1] and re.fullmatch(r"[0-9a-f]{32}", asked[0]), asked
    return lines, listed


@pytest.mark.slow
def test_a_start_whose_answer_was_lost_runs_one_job(core_build: Path, videos: Path, tmp_path: Path):
    """The server makes the job, but StartJob's answer is lost (UNAVAILABLE, as a dropped connection or a server gone
    loses it): the core's FollowJob waits for the server as for any outage and asks again under the same request id;
    the server answers with the job it made, which is followed and converts. The server ran one job, not two."""
    from animgen.v1 import service_pb2

    lines, listed = _e2e_on_hooked_server(core_build, tmp_path, FIRST_ANSWER_LOST, "--restart",
                                             videos / "sports2d_run_sideview.mp4", "DONE ")
    text = "\n".join(lines)
    said = [line[len("NOTICE "):] for line in lines if line.startswith("NOTICE ") and "queued" not in line]
    assert said == ["lost the server; trying to reach it again for up to 2 min", "reached the server again"], text
    done = _facts(text)["DONE"]
    assert done["code"] == "OK" and done["final"] == "SUCCEEDED", text
    assert [(j.job_id, j.state) for j in listed] == [(done["job"], service_pb2.JOB_STATE_SUCCEEDED)], listed
    assert int(_facts(text)["RESULT"]["clip_frames"]) > 0 and lines[-1] == "OK", text


@pytest.mark.slow
def test_a_start_that_times_out_is_asked_again_and_runs_one_job(core_build: Path, videos: Path, tmp_path: Path):
    """The server makes the job but answers StartJob only 12 s later (a server slow to answer), past the 4 s deadline
    the program gives its calls (ConnectionOptions::deadline): the core's StartJob takes the timeout for an answer lost,
    as the CLI does (remote.py _Run._start), says so once in the CLI's words, and asks again at once under the same
    request id; the server answers with the job it made, which is followed and converts. The server ran one job, not
    two."""
    from animgen.v1 import service_pb2

    lines, listed = _e2e_on_hooked_server(core_build, tmp_path, start_job_hook("await asyncio.sleep(12)"), "--restart",
                                          videos / "sports2d_run_sideview.mp4", "DONE ",
                                          extra=("--deadline-ms", "4000"))
    text = "\n".join(lines)
    said = [line[len("NOTICE "):] for line in lines if line.startswith("NOTICE ") and "queued" not in line]
    assert said == ["the server took over 4 s to start the job; asking again"], text
    done = _facts(text)["DONE"]
    assert done["code"] == "OK" and done["final"] == "SUCCEEDED", text
    assert re.findall(r"^STARTED job=(\S+)", text, re.M) == [done["job"]], text  # the first try's job, started once
    assert [(j.job_id, j.state) for j in listed] == [(done["job"], service_pb2.JOB_STATE_SUCCEEDED)], listed
    assert int(_facts(text)["RESULT"]["clip_frames"]) > 0 and lines[-1] == "OK", text


@pytest.mark.slow
def test_a_stop_before_start_job_answers_cancels_the_job_it_made(core_build: Path, videos: Path, tmp_path: Path):
    """The tab's Cancel comes after the server made the job and before it answered StartJob: Client::Cancel() ends the
    call at once, StartJob asks again under its request id and answers with that job, which is cancelled, rather than
    left to run for nobody (remote.py _Run._cancel): Client::FinishStop, as the tab's runner finishes a stop."""
    from animgen.v1 import service_pb2

    made: list[str] = []

    def stop_once_made(proc: subprocess.Popen, server: ServerProcess) -> None:
        made.append(server.wait_for(" on upload ", 60))  # logged as the job is made, a minute before StartJob answers
        assert proc.stdin is not None
        proc.stdin.write("stop\n")
        proc.stdin.close()

    # The first StartJob answers a minute after it made the job (a server slow to answer); later ones at once.
    lines, listed = _e2e_on_hooked_server(core_build, tmp_path, start_job_hook("await asyncio.sleep(60)"),
                                             "--stop-start", videos / "sports2d_run_sideview.mp4", "STOPPED ",
                                             stop_once_made)
    text = "\n".join(lines)
    stopped = _facts(text)["STOPPED"]
    assert stopped["code"] == "CANCELLED" and stopped["unanswered"] == "0", text
    assert float(stopped["seconds"]) < 5, text  # the call ended at once, not when the server answered it
    assert _facts(text)["FINISH_STOP"]["said"] == "0", text  # cancelled, as the runner finishes a stop: nothing to say
    assert [(j.job_id, j.state) for j in listed] == [(stopped["job"], service_pb2.JOB_STATE_CANCELLED)], listed
    assert f"job {stopped['job']} on upload" in made[0], made
    assert "STARTED " not in text and lines[-1] == "OK", text


# A server whose CancelJob never answers (hung, or its answers lost); each call prints the job it was asked to cancel.
@pytest.mark.slow
def test_a_stop_whose_cancel_is_never_answered_ends_within_seconds(core_build: Path, videos: Path, tmp_path: Path):
    """The tab's Cancel (Client::Cancel()) as StartJob answers, then the stop's CancelJob (Client::FinishStop) to a
    server that never answers it: the run ends after the stop's own 5 s (kStopWait), not the connection's 60 s
    deadline, which had kept the tab "running" a minute. The server has the request, so nothing is said, as the CLI
    says nothing (remote.py cancel_jobs: a server answers once the job's worker has stopped)."""
    import signal

    server = ServerProcess(tmp_path / "data", "--workers", "1", first=CANCEL_NEVER_ANSWERED).start()
    try:
        r = _run([str(core_build / "animgen_core_e2e"), "--address", server.address, "--stop-cancel",
                  str(videos / "sports2d_run_sideview.mp4")], 120)
    finally:
        rc = server.stop(signal.SIGTERM)
    text = r.stdout
    assert r.returncode == 0 and text.splitlines()[-1] == "OK" and rc == 0, text + r.stderr + server.output()[-3000:]
    stopped = _facts(text)["STOPPED"]
    assert stopped["code"] == "CANCELLED" and stopped["state"] in ("QUEUED", "RUNNING"), text
    job = stopped["job"]
    finish = _facts(text)["FINISH_STOP"]
    assert finish["said"] == "0" and 4.5 <= float(finish["seconds"]) < 8, text  # 5 s (kStopWait), not 60 s
    assert not re.findall(r"^FINISH_STOP_SAID (.*)$", text, re.M), text
    assert f"CancelJob job_id={job!r}" in server.output()  # asked, and never answered


@pytest.mark.slow
def test_a_start_job_the_server_left_unanswered_as_it_went_says_the_job_may_be_there(core_build: Path, videos: Path,
                                                                                      tmp_path: Path):
    """The server makes the job and is killed before it answers StartJob, and does not come back: the core's FollowJob
    waits for it (here 6 s, --reconnect-ms) and fails with the outage's error, ending with the CLI's words that the
    job may be on the server. It is: the server, started again, lists it."""
    import signal

    from animgen_server.client import AnimGenClient

    server = ServerProcess(tmp_path / "data", "--workers", "1", first=start_job_hook("await asyncio.sleep(60)")).start()
    proc, lines, _, reader = _run_e2e(str(core_build / "animgen_core_e2e"), "--address", server.address,
                                      "--start-lost", str(videos / "sports2d_run_sideview.mp4"), "--reconnect-ms",
                                      "6000", when="UPLOADED")
    try:
        made = server.wait_for(" on upload ", 60)  # logged as the job is made, a minute before StartJob answers
        server.kill9()
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(10)
    text = "\n".join(lines)
    assert proc.returncode == 0 and lines[-1] == "OK", text
    lost = _facts(text)["START_LOST"]
    assert lost["code"] == "UNAVAILABLE" and lost["job"] == "" and 5 < float(lost["seconds"]) < 20, text
    assert [line for line in lines if line.startswith("NOTICE ")] == [
        "NOTICE lost the server; trying to reach it again for up to 0.1 min"], text
    (message,) = re.findall(r"^START_LOST_MESSAGE (.*)$", text, re.M)
    assert message.endswith(" (tried to reach it again for 0.1 min); the server may have made the job before it went: "
                            "`animgen jobs` lists it once the server is back"), text
    server.start()
    try:
        with AnimGenClient(server.address, timeout=60) as c:
            listed = [j.job_id for j in c.list()]
    finally:
        server.stop(signal.SIGTERM)
    assert listed == re.findall(r"job (\S+) on upload", made), (listed, made)


# Short videos, the longest first: the first job is still running when the second's is made.
IN_ORDER_VIDEOS = ("mmhuman3d_3dpw_basketball.mp4", "sports2d_run_sideview.mp4", "pymaf_ballet_pirouette.mp4")


@pytest.mark.slow
@pytest.mark.parametrize("at_once", [2, 1])
def test_the_commandlets_videos_at_once_are_finished_in_order(core_build: Path, videos: Path, tmp_path: Path,
                                                              at_once: int):
    """The commandlet's -Jobs=N (animgen::RunInOrder) against a real server with two workers: three short videos, each
    sent as RunBlocking sends it (a client of its own: the upload, FollowJob, the result) on a worker thread. With 2 at
    once the second video's job is made, and running, before the first's ends (the server's times and the client's);
    with 1, the check's control, it is not. Either way all three convert, no more than at_once are in flight, and they
    are finished on the calling thread in the folder's order, each after its own send and those before it."""
    with _serve(tmp_path, "--workers", "2") as address:
        r = _run([str(core_build / "animgen_core_e2e"), "--address", address, "--in-order",
                  ",".join(str(videos / v) for v in IN_ORDER_VIDEOS), "--at-once", str(at_once)], 300)
    text = r.stdout
    assert r.returncode == 0 and text.splitlines()[-1] == "OK", text[-4000:] + r.stderr[-2000:]
    lines = text.splitlines()

    def said(kind: str) -> list[dict[str, str]]:
        return [dict(kv.split("=", 1) for kv in line.split()[1:]) for line in lines if line.startswith(kind + " ")]

    finishes = said("FINISH")
    assert [f["i"] for f in finishes] == ["0", "1", "2"], text
    for f in finishes:  # converted, and handed over on the thread that builds the assets
        assert f["caller"] == "1" and f["code"] == "OK" and f["state"] == "SUCCEEDED" and int(f["clip_frames"]) > 0, f
    assert all(s["caller"] == "0" for s in said("SEND")), text
    in_flight = most = 0
    for line in lines:
        in_flight += line.startswith("SEND ") - line.startswith("SENT ")
        most = max(most, in_flight)
    assert most == at_once, text
    where = {" ".join(line.split()[:2]): k for k, line in enumerate(lines)}  # "SENT i=0": its line's place
    for i in range(3):
        assert all(where[f"SENT i={j}"] < where[f"FINISH i={i}"] for j in range(i + 1)), text
    server = said("SERVER_JOB")
    assert [j["job"] for j in server] == [f["job"] for f in finishes] and len({j["job"] for j in server}) == 3, text
    overlap = "1" if at_once > 1 else "0"
    assert _facts(text)["OVERLAP"] == {"server": overlap, "client": overlap}, text


SUMMARY_VIDEO_KEYS = list(VideoResult("v", "converted").to_dict())


def _check_summary_shape(doc: dict) -> None:
    """The keys `animgen generate --summary` writes (run_summary.py), in its order: one CI script reads both."""
    assert list(doc) == ["animgen", "client", "options", "counts", "videos"]
    assert list(doc["counts"]) == list(STATUSES)
    assert set(doc["options"]) <= set(GenerateOptions().to_dict()), doc["options"]
    for row in doc["videos"]:
        assert list(row) == SUMMARY_VIDEO_KEYS and row["status"] in STATUSES


def test_batch_summary_reads_back_with_json(core_build: Path, tmp_path: Path):
    """A commandlet's summary with a converted, a failed and a refused video (Tests/ClientCore/SampleSummary.h), read
    back with Python's json: every value as meant, strings escaped, numbers rounded as run_summary rounds them, and laid
    out as json.dumps(indent=1) lays out the CLI's."""
    path = tmp_path / "run.json"
    path.write_text("an old summary, replaced whole")
    r = _run([str(core_build / "animgen_core_e2e"), "--sample-summary", str(path)], 60)
    assert r.returncode == 0, r.stdout + r.stderr
    text = path.read_text(encoding="utf-8")  # strict UTF-8: the byte that was not is U+FFFD
    doc = json.loads(text)
    _check_summary_shape(doc)
    assert text == json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    assert doc["options"] == {"hands": True, "smoothing": 0.3, "fps": 29.97, "generator": "analytic", "in_place": True,
                              "loop": False, "mirror": True, "crop": [10, 20, 640, 360],
                              "target": "/Game/Characters/SK_Mannequin.SK_Mannequin"}
    assert doc["counts"] == {"converted": 2, "skipped": 0, "failed": 2, "cancelled": 0}
    converted = VideoResult("C:\\ci\\J\u00f6rg \"fast\"\t\x01 \u8dd1.mp4", "converted", frames=12345, seconds=12.3456,
                            warnings=["no person for 0.5 s", "bad \ufffd byte"], detected=0.97312,
                            outputs={"anim_sequence": Path("/Game/Anims/A_run.A_run"),
                                     "glb": Path("D:/Out/run.mp4/run.glb")})
    failed = VideoResult("/ci/videos/walk.mp4", "failed", warnings=["a hand seen too rarely"],
                         error="/ci/videos/walk.mp4: the job failed: no person found in the video")
    refused = VideoResult("/ci/videos/Run.mov", "failed",
                          error="/ci/videos/Run.mov: run.mp4, Run.mov would all become A_run: rename all but one")
    older = VideoResult("/ci/videos/jump.mp4", "converted", seconds=1.0,
                        outputs={"anim_sequence": Path("/Game/Anims/A_jump.A_jump")})
    assert doc["videos"] == [v.to_dict() for v in (converted, failed, refused, older)]
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_tls_connection_with_root_certificates(core_build: Path, tmp_path: Path):
    openssl = require_tool("openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    r = _run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
              "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], 60)
    assert r.returncode == 0, r.stderr
    e2e = str(core_build / "animgen_core_e2e")
    with _serve(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key), tls_ca=cert) as address:
        ok = _run([e2e, "--address", address, "--info-only", "1", "--tls-ca", str(cert)], 120)
        assert ok.returncode == 0 and "SERVER version=" in ok.stdout, ok.stdout + ok.stderr
        plain = _run([e2e, "--address", address, "--info-only", "1"], 120)  # plaintext against TLS: refused
        assert plain.returncode == 1 and "GetServerInfo: UNAVAILABLE" in plain.stdout, plain.stdout
