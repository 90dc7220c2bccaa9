"""The Unity package (unity_package/), checked without a Unity Editor.

- every C# file parses (Debian mono-mcs, `mcs --parse`);
- the engine-free assembly AnimGen.Core compiles with mono, and its NUnit tests (Tests/Core) pass under
  nunit-console, among them decoding the fixture clip that the Python side wrote;
- the batch's -animgenSummary has the keys of `animgen generate --summary` (run_summary.py), plus "client";
- the window's Editor/JobRunner.cs and the batch's Editor/BatchGenerate.cs, compiled with mono against stubs of
  their Unity calls and a scripted server (tests/tools/unity_*_harness.cs), do what they say: the batch's exit code,
  log, clips and summary, how many videos it has on the server at once (-animgenJobs), and the request id of
  each StartJob (one per start of a job, the same on every try; asked again on a cancel before its answer; one left
  unanswered as the server went says it may have made the job), and a stop's CancelJob that the server does not answer
  within 5 s taken as received;
- scripts/codegen.sh reproduces the committed Editor/Generated files byte for byte;
- package.json, the asmdefs and the .meta files are what Unity needs.

Regenerate the fixture clip (Tests/Editor/Fixtures/walk.json) with
    .venv/bin/python tests/test_unity_package.py --write-fixture
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from conftest import failed_serve_log

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "unity_package"
FIXTURE = PKG / "Tests" / "Editor" / "Fixtures" / "walk.json"
GENERATED = PKG / "Editor" / "Generated"
NUNIT_DIRS = sorted(Path("/usr/lib/cli").glob("nunit.framework*"))
# The GUID in YetAnotherHttpHandler's YetAnotherHttpHandler.Unity.asmdef.meta (src/YetAnotherHttpHandler).
YAHH_ASMDEF = "GUID:c3bc0afe4a069b54aa23296f3c18a871"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run `make system-deps`")
    return path


def cs_files(*parts: str) -> list[Path]:
    return sorted((PKG.joinpath(*parts)).rglob("*.cs"))


# ---------------------------------------------------------------- the fixture clip (made by the Python side)


def make_walk_clip():
    """A one-second walk cycle on the 22 body bones: hips forward at 1.2 m/s, legs, knees and arms swinging.

    The metadata holds the world joint positions of frames 0 and 15 (Python forward kinematics) so that the C#
    decoder and the Unity clip builder can check themselves against the Python side.
    """
    from animgen_ml import clip as C
    from animgen_ml import rotations as R
    from animgen_ml import skeleton

    bones = skeleton.bone_names(fingers=False)
    frames, fps = 30, 30.0
    clip = C.empty_clip(bones, frames, fps)
    clip.name = "walk"
    phase = 2 * np.pi * np.arange(frames) / frames
    clip.hips[:, 2] = 1.2 * np.arange(frames) / fps
    clip.hips[:, 1] = clip.rest_offsets[0, 1] + 0.02 * np.cos(2 * phase)
    x, z = np.array([1.0, 0, 0]), np.array([0, 0, 1.0])
    y = np.array([0, 1.0, 0])

    def rot(bone: str, q: np.ndarray) -> None:
        clip.rotations[:, bones.index(bone)] = q

    swing = np.radians(25) * np.sin(phase)
    rot("LeftUpperLeg", R.from_axis_angle(x, -swing))
    rot("RightUpperLeg", R.from_axis_angle(x, swing))
    rot("LeftLowerLeg", R.from_axis_angle(x, np.radians(30) * np.maximum(0, np.sin(phase))))
    rot("RightLowerLeg", R.from_axis_angle(x, np.radians(30) * np.maximum(0, -np.sin(phase))))
    # Arms down from the T-pose (left arm lies along +X: turning it about +Z by -45 degrees lowers it), swinging;
    # elbows bent forward. Every angle stays inside Unity's default muscle limits, so that the Humanoid round
    # trip in the EditMode tests can reproduce the pose.
    down = np.full(frames, np.radians(45))
    rot("LeftUpperArm", R.multiply(R.from_axis_angle(x, swing), R.from_axis_angle(z, -down)))
    rot("RightUpperArm", R.multiply(R.from_axis_angle(x, -swing), R.from_axis_angle(z, down)))
    rot("LeftLowerArm", R.from_axis_angle(y, np.full(frames, -np.radians(20))))
    rot("RightLowerArm", R.from_axis_angle(y, np.full(frames, np.radians(20))))
    rot("Spine", R.from_axis_angle(y, np.radians(6) * np.sin(phase)))
    clip.contacts[:, 0] = np.sin(phase) <= 0
    clip.contacts[:, 1] = np.sin(phase) >= 0
    clip.confidence[:] = 0.9
    world, _ = clip.world()
    clip.metadata = {
        "generator": "tests/test_unity_package.py make_walk_clip",
        "test.world_positions_frame0": json.dumps(np.round(world[0], 6).ravel().tolist()),
        "test.world_positions_frame15": json.dumps(np.round(world[15], 6).ravel().tolist()),
    }
    return clip


def test_fixture_clip_matches_the_python_side():
    """The committed fixture loads in Python and its recorded FK positions are Python's FK of its motion."""
    from animgen_ml.clip import HumanoidClip

    committed = HumanoidClip.load_json(FIXTURE)
    fresh = make_walk_clip()
    assert committed.bones == fresh.bones and committed.frame_count == 30
    np.testing.assert_allclose(committed.rotations, fresh.rotations, atol=1e-12)
    np.testing.assert_allclose(committed.hips, fresh.hips, atol=1e-12)
    world, _ = committed.world()
    for frame in (0, 15):
        recorded = np.array(json.loads(committed.metadata[f"test.world_positions_frame{frame}"])).reshape(-1, 3)
        np.testing.assert_allclose(recorded, world[frame], atol=1e-6)
    # The swing is real: the left foot moves relative to the hips between the two recorded frames.
    left_foot = committed.bones.index("LeftFoot")
    assert np.linalg.norm((world[0, left_foot] - world[0, 0]) - (world[7, left_foot] - world[7, 0])) > 0.1


# ---------------------------------------------------------------- C# syntax and the engine-free assembly


def test_every_csharp_file_parses():
    mcs = tool("mcs")
    files = cs_files()
    assert len(files) >= 20, f"expected the package's C# files, found {len(files)}"
    failures = []
    for f in files:
        done = subprocess.run([mcs, "--parse", str(f)], capture_output=True, text=True)
        if done.returncode != 0:
            failures.append(f"{f.relative_to(REPO)}: {done.stdout.strip()} {done.stderr.strip()}")
    assert not failures, "\n".join(failures)


def test_core_assembly_has_no_engine_or_protobuf_references():
    for f in cs_files("Editor", "Core"):
        code = re.sub(r"//.*", "", f.read_text())  # comments may name them
        for banned in ("UnityEngine", "UnityEditor", "Google.Protobuf", "Grpc."):
            assert banned not in code, f"{f.name} uses {banned}: AnimGen.Core must stay engine-free"


@pytest.fixture(scope="module")
def core_build(tmp_path_factory) -> Path:
    """AnimGen.Core.dll and AnimGen.Core.Tests.dll built with mono into a temp dir."""
    mcs = tool("mcs")
    out = tmp_path_factory.mktemp("unity_core")
    core = out / "AnimGen.Core.dll"
    done = subprocess.run(
        [mcs, "-target:library", "-warnaserror+", f"-out:{core}", *map(str, cs_files("Editor", "Core"))],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, f"AnimGen.Core does not compile:\n{done.stdout}{done.stderr}"
    nunit = [d / "nunit.framework.dll" for d in NUNIT_DIRS if (d / "nunit.framework.dll").exists()]
    if not nunit:
        pytest.fail("nunit.framework.dll not found under /usr/lib/cli: install libnunit-cil-dev (make system-deps)")
    tests = out / "AnimGen.Core.Tests.dll"
    done = subprocess.run(
        [mcs, "-target:library", f"-out:{tests}", f"-r:{core}", f"-r:{nunit[-1]}",
         *map(str, cs_files("Tests", "Core"))],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, f"the Core tests do not compile:\n{done.stdout}{done.stderr}"
    shutil.copy(nunit[-1], out)
    return out


@pytest.fixture(scope="module")
def jobrunner_harness(tmp_path_factory) -> Path:
    """Editor/JobRunner.cs as it is, with AnimGen.Core and tests/tools/unity_jobrunner_harness.cs (its Unity calls
    stubbed, its server scripted by the scenario)."""
    exe = tmp_path_factory.mktemp("unity_jobrunner") / "harness.exe"
    sources = [REPO / "tests" / "tools" / "unity_jobrunner_harness.cs", PKG / "Editor" / "JobRunner.cs",
               *cs_files("Editor", "Core")]
    done = subprocess.run([tool("mcs"), f"-out:{exe}", *map(str, sources)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return exe


def run_jobrunner(exe: Path, tmp_path: Path, scenario: str) -> subprocess.CompletedProcess:
    (tmp_path / "walk.mp4").write_bytes(b"a video")
    run = subprocess.run([tool("mono"), str(exe), scenario, str(tmp_path / "walk.mp4")], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    return run


def ended(lines: list[str]) -> dict[str, str]:
    """The harness's last line, `ended=... phase=... start_calls=...`, as a dict."""
    return dict(kv.split("=", 1) for kv in lines[-1].split(" ") if "=" in kv)

@pytest.mark.parametrize("scenario, phase, starts, cancels", [("run", "Succeeded", 1, 0),
                                                              ("cancel-while-starting", "Cancelled", 2, 1),
                                                              ("cancel-while-running", "Cancelled", 1, 1)])
def test_the_windows_job_runner_starts_watches_cancels_and_imports(jobrunner_harness: Path, tmp_path: Path,
                                                                    scenario: str, phase: str, starts: int,
                                                                    cancels: int):
    """Editor/JobRunner.cs as compiled, its Unity calls stubbed and its server scripted (tests/tools/
    unity_jobrunner_harness.cs). Every job the window started was cancelled by the runner itself: Watch cancelled
    the token that then told it Cancel had been pressed (a Cancel during StartJob ends that call and asks again under
    its request id, a second StartJob, for the job to cancel). A job that succeeded keeps the frames its result told
    (47, a person in 70.2 % of them) with its status, for the window, and its log line says them as the CLI does."""
    run = run_jobrunner(jobrunner_harness, tmp_path, scenario)
    saved = "Assets/AnimGen/walk.anim" if phase == "Succeeded" else ""
    read = "47 frames read; person detected in 70.2%" if phase == "Succeeded" else ""
    assert run.stdout.splitlines()[-1] == (f"ended=True phase={phase} start_calls={starts} cancel_calls={cancels} "
                                           f"saved={saved} read={read}"), run.stdout
    logged = [line for line in run.stdout.splitlines() if line.startswith("log: AnimGen: saved ")]
    # The stub's clip is empty (HumanoidClipData's defaults: 0 frames at 30 fps); the video's frames are the server's.
    assert logged == ([f"log: AnimGen: saved {saved} (0 frames at 30 fps, from {read})"] if saved else []), run.stdout


WAITING = "waiting: the server's queue is full; trying again every 0.1 s for up to 10 min"


@pytest.mark.parametrize("scenario, phase, message", [
    ("queue-full", "Succeeded", ""),
    ("refused", "Failed", "the video is 40 s long; this server takes videos up to 30 s"),
    ("cancel-while-waiting", "Cancelled", "")])
def test_the_windows_job_runner_waits_out_a_full_queue_only(jobrunner_harness: Path, tmp_path: Path, scenario: str,
                                                            phase: str, message: str):
    """StartJob answers RESOURCE_EXHAUSTED. With "animgen-retry-after-ms" (a full queue) the window says so once, in
    its status, and tries again after that delay until the job starts and converts; Cancel ends that wait, no job
    having been made. Without the key (a video too long) the job fails at once with the server's message."""
    run = run_jobrunner(jobrunner_harness, tmp_path, scenario)
    lines = run.stdout.splitlines()
    last = ended(lines)
    assert last["ended"] == "True" and last["phase"] == phase and last["cancel_calls"] == "0", run.stdout
    assert lines[-2] == f"message={message}", run.stdout
    waiting = [line for line in lines if line.startswith("waiting: ")]
    if scenario == "queue-full":
        assert last["start_calls"] == "3" and last["saved"] == "Assets/AnimGen/walk.anim", run.stdout
        assert waiting == [WAITING], run.stdout  # said once, however many tries
    elif scenario == "refused":
        assert last["start_calls"] == "1" and waiting == [], run.stdout
    else:
        assert waiting == [WAITING] and int(last["start_calls"]) >= 1 and last["saved"] == "", run.stdout


LOST = "lost the server; trying to reach it again for up to 1 min"  # the harness waits 60 s (server-gone: 1.5 s)
AGAIN = "the server stopped while the job ran; running it again"
UNREACHABLE = "Cannot reach the AnimGen server at 127.0.0.1:50051: failed to connect to all addresses"
NOT_CANCELLED = "could not cancel job job-1 on the server: `animgen cancel job-1` does, once it can be reached"


@pytest.mark.parametrize("scenario, phase, starts, watches, said, message", [
    ("lost-mid-watch", "Succeeded", 1, 3, [LOST, "reached the server again"], ""),
    ("interrupted", "Succeeded", 2, 2, [AGAIN], ""),
    ("interrupted-4-times", "Failed", 4, 4, [AGAIN] * 3,
     "the server stopped while the job ran, 4 times; run it again once the server stays up"),
    ("server-gone", "Failed", 1, None, ["lost the server; trying to reach it again for up to 0.025 min"],
     f"{UNREACHABLE} (tried to reach it again for 0.025 min)"),
    ("cancel-while-lost", "Cancelled", 1, 1, [LOST, NOT_CANCELLED], NOT_CANCELLED),
    ("first-contact", "Failed", 0, 0, [], UNREACHABLE)])
def test_the_windows_job_runner_rides_out_a_restart_of_the_server(jobrunner_harness: Path, tmp_path: Path,
                                                                  scenario: str, phase: str, starts: int,
                                                                  watches: int | None, said: list[str], message: str):
    """The scripted server goes away (UNAVAILABLE) and comes back as a restart would. The window waits for it from when
    it was lost, saying so once in the Console and in its status, and once that it is back; the watch attached again
    replays the job's state and a warning, kept once, and the job converts. A job a stop interrupted is started again on
    its upload, at most three times. A server that stays away past the wait (shortened here) fails the job with the
    connection's words and how long it waited; Cancel during that wait ends it at once, and a job the server cannot be
    told to cancel is named. A first contact that fails (a wrong address) fails at once."""
    started = time.monotonic()
    run = run_jobrunner(jobrunner_harness, tmp_path, scenario)
    lines = run.stdout.splitlines()
    last = ended(lines)
    assert last["ended"] == "True" and last["phase"] == phase and last["start_calls"] == str(starts), run.stdout
    assert lines[-2] == f"message={message}", run.stdout
    assert [line[len("log: AnimGen: "):] for line in lines
            if line.startswith("log: AnimGen: ") and not line.startswith("log: AnimGen: saved ")] == said, run.stdout
    runs = re.fullmatch(r"watch_calls=(?P<watch_calls>\d+) restarts=(?P<restarts>\d+) warnings=(?P<warnings>.*)",
                        lines[-3])
    assert runs, run.stdout
    if watches is not None:
        assert runs["watch_calls"] == str(watches), run.stdout
    assert last["saved"] == ("Assets/AnimGen/walk.anim" if phase == "Succeeded" else ""), run.stdout
    assert last["cancel_calls"] == ("1" if scenario == "cancel-while-lost" else "0"), run.stdout
    if scenario == "lost-mid-watch":  # the replayed warning is kept once
        assert runs["warnings"] == "left arm hidden from 2.1 s to 3.3 s|feet slide", run.stdout
    if scenario == "interrupted":
        assert runs["restarts"] == "1", run.stdout  # kept with the status, over a reload
    assert time.monotonic() - started < 15, run.stdout  # a cancelled wait of 60 s ended at once


def starts(lines: list[str]) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The harness's StartJob calls, each (request id, deadline in s or "-" for the connection's own), and the rest of
    its starts= line (jobs_made, cancelled)."""
    line = next(line for line in lines if line.startswith("starts="))
    first, *rest = line.split(" ")
    calls = [(call.split("/")[0], call.split("/")[1]) for call in first[len("starts="):].split(",") if call]
    return calls, dict(kv.split("=", 1) for kv in rest)


REQUEST_ID = re.compile(r"[0-9a-f]{32}")  # Guid "N": what the server takes (letters, digits, '-', '_'; at most 64)
MAY_HAVE_STARTED = ("the server may have started a job on walk.mp4 as the run stopped: `animgen jobs` lists the "
                    "server's jobs, `animgen cancel JOB` cancels one")


@pytest.mark.parametrize("scenario, ids", [("run", "A"), ("queue-full", "AAA"), ("start-lost", "AA"),
                                           ("start-timeout", "AAA"), ("interrupted", "AB"),
                                           ("interrupted-4-times", "ABCD")])
def test_the_windows_job_runner_asks_each_start_of_a_job_under_one_request_id(jobrunner_harness: Path,
                                                                               tmp_path: Path, scenario: str,
                                                                               ids: str):
    """Every try of one start of a job (after a full queue, after an answer lost with the server, after a try that
    timed out) carries the same request id, made for that start: asked again, the server answers with the job the first
    try made (start-lost, start-timeout: one job, not a second that would run for nobody). A start again after the job
    was interrupted is a new start, under a new id."""
    run = run_jobrunner(jobrunner_harness, tmp_path, scenario)
    calls, rest = starts(run.stdout.splitlines())
    assert all(REQUEST_ID.fullmatch(rid) for rid, _ in calls), run.stdout
    letters = {rid: chr(ord("A") + n) for n, rid in enumerate(dict.fromkeys(rid for rid, _ in calls))}
    assert "".join(letters[rid] for rid, _ in calls) == ids, run.stdout
    assert [within for _, within in calls] == ["-"] * len(ids), run.stdout  # the connection's own deadline
    assert rest["jobs_made"] == "1", run.stdout  # an interrupted job is run again as the same job
    if scenario != "interrupted-4-times":  # which fails after its fourth start
        assert " phase=Succeeded " in run.stdout.splitlines()[-1], run.stdout


SLOW_START = "the server took over 30 s to start the job; asking again"


def test_the_windows_job_runner_asks_again_after_a_startjob_that_timed_out(jobrunner_harness: Path, tmp_path: Path):
    """StartJob makes the job and its call times out (DEADLINE_EXCEEDED), twice: the window asks again at once under
    the same request id, as `animgen generate --server` does, and the server answers with the job the first try made;
    the run converts, one job having been made. The asking again is said once, in the Console and in its status."""
    run = run_jobrunner(jobrunner_harness, tmp_path, "start-timeout")
    lines = run.stdout.splitlines()
    last = ended(lines)
    assert last["ended"] == "True" and last["phase"] == "Succeeded" and last["start_calls"] == "3", run.stdout
    assert last["saved"] == "Assets/AnimGen/walk.anim" and last["cancel_calls"] == "0", run.stdout
    calls, rest = starts(lines)
    assert len({rid for rid, _ in calls}) == 1 and [within for _, within in calls] == ["-"] * 3, run.stdout
    assert rest["jobs_made"] == "1", run.stdout
    assert [line for line in lines if SLOW_START in line] == [f"log: AnimGen: {SLOW_START}",
                                                              f"waiting: {SLOW_START}"], run.stdout
    assert lines[-2] == "message=", run.stdout


@pytest.mark.parametrize("scenario, message", [("cancel-while-start-lost", ""),
                                               ("cancel-while-start-gone", MAY_HAVE_STARTED),
                                               ("cancel-while-start-hangs", "")])
def test_a_cancel_while_startjob_is_unanswered_asks_again_and_cancels_the_job_it_made(jobrunner_harness: Path,
                                                                                     tmp_path: Path, scenario: str,
                                                                                     message: str):
    """Cancel pressed while StartJob is on the wire, whose answer is then lost (the server made the job), or never
    comes (hangs: only the Cancel ends the call, at once, not at its 30 s deadline): the window asks StartJob again
    under the same request id, with a 5 s deadline, and cancels the job it answers, as `animgen generate --server`
    does on Ctrl-C. Where the server cannot be asked (gone), the window says that it may have started a job, and how
    to find and cancel it, in the Console and in its status."""
    started = time.monotonic()
    run = run_jobrunner(jobrunner_harness, tmp_path, scenario)
    lines = run.stdout.splitlines()
    last = ended(lines)
    assert last["ended"] == "True" and last["phase"] == "Cancelled" and last["saved"] == "", run.stdout
    calls, rest = starts(lines)
    assert len(calls) == 2 and calls[0][0] == calls[1][0] and REQUEST_ID.fullmatch(calls[0][0]), run.stdout
    assert [within for _, within in calls] == ["-", "5"], run.stdout
    assert rest["jobs_made"] == "1", run.stdout
    assert lines[-2] == f"message={message}", run.stdout
    if message:
        assert last["cancel_calls"] == "0" and f"log: AnimGen: {message}" in lines, run.stdout
    else:
        assert last["cancel_calls"] == "1" and rest["cancelled"] == "job-1", run.stdout
        assert not [line for line in lines if "may have started" in line], run.stdout
    assert time.monotonic() - started < 15, run.stdout


@pytest.mark.parametrize("scenario, cancelled, message", [("cancel-while-restarting", "job-1", ""),
                                                           ("cancel-while-restart-lost", "job-1", ""),
                                                           ("cancel-while-restart-gone", "", MAY_HAVE_STARTED)])
def test_a_cancel_while_an_interrupted_job_is_started_again_cancels_the_job_it_started(
        jobrunner_harness: Path, tmp_path: Path, scenario: str, cancelled: str, message: str):
    """The job ends INTERRUPTED and Cancel is pressed while StartJob starts it again: Cancel's CancelJob finds the job
    interrupted, which the server ignores, and Cancel ends that StartJob's call at once (or its answer is lost). It is
    asked again under its own request id, within 5 s, and the window cancels the job it answers (not watched again,
    nor imported), as `animgen generate --server` does on Ctrl-C; where the server cannot be asked, the window says
    that it may have started a job, as after a first start."""
    started = time.monotonic()
    run = run_jobrunner(jobrunner_harness, tmp_path, scenario)
    lines = run.stdout.splitlines()
    last = ended(lines)
    assert last["ended"] == "True" and last["phase"] == "Cancelled" and last["saved"] == "", run.stdout
    calls, rest = starts(lines)
    letters = {rid: chr(ord("A") + n) for n, rid in enumerate(dict.fromkeys(rid for rid, _ in calls))}
    assert "".join(letters[rid] for rid, _ in calls) == "ABB", run.stdout  # the start again: its own id, asked again
    assert [within for _, within in calls] == ["-", "-", "5"], run.stdout
    assert rest["jobs_made"] == "1" and rest["ignored_cancels"] == "1", run.stdout  # Cancel's own, on the old state
    assert rest["cancelled"] == cancelled, run.stdout
    assert last["cancel_calls"] == ("2" if cancelled else "1"), run.stdout
    assert lines[-2] == f"message={message}", run.stdout
    if message:
        assert f"log: AnimGen: {message}" in lines, run.stdout
    else:
        assert not [line for line in lines if "may have started" in line], run.stdout
    assert f"log: AnimGen: {AGAIN}" in lines, run.stdout
    assert time.monotonic() - started < 15, run.stdout


@pytest.mark.parametrize("scenario, cancels", [("cancel-unanswered-while-running", "5"),
                                               ("cancel-unanswered-while-restarting", "5,5")])
def test_a_cancel_the_server_does_not_answer_in_time_was_received_and_ends_the_run_within_seconds(
        jobrunner_harness: Path, tmp_path: Path, scenario: str, cancels: str):
    """Cancel's CancelJob is taken by the server but not answered (its worker is slow to stop): the window waits 5 s
    for it (JobStart.StopWait, the CLI's STOP_WAIT_S), not 30, and counts it as received, as the CLI and the batch do:
    no client error, nor a job it could not cancel. While the job runs, the watch then reports it Cancelled; for a job
    started again after an interruption (no watch left), the window says it Cancelled itself."""
    started = time.monotonic()
    run = run_jobrunner(jobrunner_harness, tmp_path, scenario)
    took = time.monotonic() - started
    lines = run.stdout.splitlines()
    last = ended(lines)
    assert last["ended"] == "True" and last["phase"] == "Cancelled" and last["saved"] == "", run.stdout
    assert lines[-2] == "message=", run.stdout
    _, rest = starts(lines)
    assert rest["cancelled"] == "job-1" and rest["cancel_within"] == cancels, run.stdout  # every CancelJob: 5 s
    assert not [line for line in lines if "could not cancel" in line or "did not answer" in line], run.stdout
    assert 4.5 < took < 12, (took, run.stdout)  # the stop's 5 s, not CancelJob's old 30 s


# ---------------------------------------------------------------- the batch entry point, compiled with stubs

BATCH_ARGS = ["-batchmode", "-nographics", "-executeMethod", "AnimGen.Editor.BatchGenerate.Run",
              "-animgenInput", "Videos", "-animgenOutput", "Assets/Clips", "-animgenSummary", "build/run.json"]
LOG = "log: AnimGen batch: "
ERROR = "error: AnimGen batch: "


@pytest.fixture(scope="module")
def batch_harness(tmp_path_factory) -> Path:
    """Editor/BatchGenerate.cs as it is, with AnimGen.Core and tests/tools/unity_batch_harness.cs (its Unity calls
    stubbed, its server scripted by each video's bytes)."""
    exe = tmp_path_factory.mktemp("unity_batch") / "batch.exe"
    sources = [REPO / "tests" / "tools" / "unity_batch_harness.cs", PKG / "Editor" / "BatchGenerate.cs",
               *cs_files("Editor", "Core")]
    done = subprocess.run([tool("mcs"), f"-out:{exe}", *map(str, sources)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return exe


class Batch:
    """One run of the harness in a project folder: its exit code, its stdout lines and the summary it wrote."""

    def __init__(self, exe: Path, project: Path, videos: dict[str, str], *args: str, **harness_env: str):
        (project / "Videos").mkdir(parents=True, exist_ok=True)
        for name, script in videos.items():
            (project / "Videos" / name).parent.mkdir(parents=True, exist_ok=True)  # "walk/take.mp4": in a subfolder
            (project / "Videos" / name).write_text(script)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANIMGEN_")}  # no ANIMGEN_TOKEN of the caller's
        env.update({f"ANIMGEN_HARNESS_{k}": v for k, v in harness_env.items()})
        done = subprocess.run([tool("mono"), str(exe), *BATCH_ARGS, *args], cwd=project, env=env, capture_output=True,
                              text=True, timeout=120)
        self.rc = done.returncode
        self.out = done.stdout + done.stderr
        self.lines = done.stdout.splitlines()
        assert self.lines and re.fullmatch(r"exit=\d+ max_in_flight=\d+", self.lines[-1]), self.out
        self.max_in_flight = int(self.lines[-1].rsplit("=", 1)[1])
        assert self.lines[-1].startswith(f"exit={self.rc} "), self.out  # EditorApplication.Exit's code is the process's
        assert not [line for line in self.lines if line.startswith("off the main thread")], self.out
        summary = project / "build" / "run.json"
        self.summary = json.loads(summary.read_text(encoding="utf-8")) if summary.exists() else None

    def errors(self) -> list[str]:
        return [line[len(ERROR):] for line in self.lines if line.startswith(ERROR)]

    def results(self) -> list[str]:
        """Each video's line in the log: its clip or its error, in the order logged."""
        return [line for line in self.lines if line.startswith((LOG + "Videos/", ERROR + "Videos/"))]

    def server(self, what: str) -> list[str]:
        return [line.split()[-1] for line in self.lines if line.startswith(f"server: {what} ")]

    def requests(self, video: str) -> list[tuple[str, str]]:
        """The video's StartJob calls, in order: each (request id, deadline in s or "-" for the connection's own)."""
        return [(rid, within) for _, name, rid, within in (line.split() for line in self.lines
                                                           if line.startswith("request: ")) if name == video]

    def request_ids(self, video: str) -> str:
        """The video's StartJob calls as letters, one per request id (AAB: two tries of one start, then another)."""
        ids = [rid for rid, _ in self.requests(video)]
        assert all(REQUEST_ID.fullmatch(rid) for rid in ids), self.out
        letters = {rid: chr(ord("A") + n) for n, rid in enumerate(dict.fromkeys(ids))}
        return "".join(letters[rid] for rid in ids)

    def index(self, line: str) -> int:
        assert line in self.lines, self.out
        return self.lines.index(line)

    def statuses(self) -> list[str]:
        assert self.summary is not None, self.out
        return [v["status"] for v in self.summary["videos"]]

    def summary_errors(self) -> list[str]:
        assert self.summary is not None, self.out
        return [v["error"] for v in self.summary["videos"] if v["error"] is not None]


@pytest.mark.parametrize("jobs", [None, "4"])
def test_the_batch_converts_refuses_and_fails_each_video_and_summarises_them(batch_harness: Path, tmp_path: Path,
                                                                            jobs: str | None):
    """A folder of six videos and a note: a name clash (both refused, neither uploaded), one converted with the
    server's stages, warnings (one replayed) and frames, a clip that is read-only (refused before its upload, left as
    it was), a job that fails, and one converted by a server that does not send frames. The log's error lines are the
    summary's errors, in the folder's order, also with the three sent at once."""
    locked = tmp_path / "Assets" / "Clips" / "locked.anim"
    locked.parent.mkdir(parents=True)
    locked.write_text("checked in\n")
    locked.chmod(0o444)
    (tmp_path / "Videos").mkdir()
    (tmp_path / "Videos" / "notes.txt").write_text("not a video")
    videos = {
        "Run.mov": "", "run.mp4": "",
        "jump.mp4": "ms=300\nstage=pose\nstage=solve\nwarn=left arm hidden from 2.1 s to 3.3 s\nwarn=feet slide\n"
                    "warn=left arm hidden from 2.1 s to 3.3 s\nframes=90\ndetected=0.51234\nclip_frames=45\n",
        "locked.mp4": "",
        "sit.mp4": "ms=300\nstage=pose\nfail=sit.mp4: no person found\n",  # a server names the file it was sent
        "walk.mp4": "ms=300\nclip_frames=12\n",
    }
    b = Batch(batch_harness, tmp_path, videos, *(["-animgenJobs", jobs] if jobs else []))
    assert b.rc == 1 and b.max_in_flight == (3 if jobs else 1), b.out
    # The refused videos never reach the server.
    assert sorted(b.server("upload")) == ["jump.mp4", "sit.mp4", "walk.mp4"], b.out
    clash = "Run.mov, run.mp4 would all become Run.anim: rename all but one"
    locked_error = "Videos/locked.mp4: Assets/Clips/locked.anim is read-only: make it writable, then generate again."
    assert b.results() == [ERROR + f"Videos/Run.mov: {clash}",
                           LOG + "Videos/jump.mp4 -> Assets/Clips/jump.anim (45 frames, from 90 frames read; "
                                 "person detected in 51.2%)",
                           ERROR + locked_error,
                           ERROR + f"Videos/run.mp4: {clash}",
                           ERROR + "Videos/sit.mp4: no person found",
                           LOG + "Videos/walk.mp4 -> Assets/Clips/walk.anim (12 frames)"]
    # The server's stages and warnings in the log as they came, each warning once.
    assert [line for line in b.lines if line.startswith("AnimGen batch: Videos/jump.mp4: ")] == [
        "AnimGen batch: Videos/jump.mp4: pose", "AnimGen batch: Videos/jump.mp4: solve",
        "AnimGen batch: Videos/jump.mp4: warning: left arm hidden from 2.1 s to 3.3 s",
        "AnimGen batch: Videos/jump.mp4: warning: feet slide"]
    assert b.lines[-3:-1] == ["assets saved", LOG + "2 of 6 videos made clips"]
    assert [line for line in b.lines if line.startswith("saved: ")] == ["saved: Assets/Clips/jump.anim (45 frames)",
                                                                        "saved: Assets/Clips/walk.anim (12 frames)"]
    assert sorted(p.name for p in locked.parent.iterdir()) == ["jump.anim", "locked.anim", "walk.anim"]
    assert locked.read_text() == "checked in\n"

    s = b.summary
    assert s is not None and s["animgen"] == "0.2.11"  # from "animgen 0.2.11 (grpcio 1.62.3, python 3.11.9)"
    assert [v["video"] for v in s["videos"]] == [f"Videos/{n}" for n in
                                                 ("Run.mov", "jump.mp4", "locked.mp4", "run.mp4", "sit.mp4",
                                                  "walk.mp4")]
    assert b.statuses() == ["failed", "converted", "failed", "failed", "failed", "converted"]
    assert s["counts"] == {"converted": 2, "skipped": 0, "failed": 4, "cancelled": 0}
    assert b.summary_errors() == b.errors() and len(b.errors()) == 4  # the log's lines, in order
    jump, walk = s["videos"][1], s["videos"][5]
    assert jump["outputs"] == {"anim": "Assets/Clips/jump.anim"}
    assert walk["outputs"] == {"anim": "Assets/Clips/walk.anim"}
    assert jump["warnings"] == ["left arm hidden from 2.1 s to 3.3 s", "feet slide"]
    assert (jump["frames"], jump["detected"]) == (90, 0.5123)
    assert (walk["frames"], walk["detected"], walk["warnings"]) == (None, None, [])  # a server that sends no frames
    assert all(isinstance(v["seconds"], float) and 0 < v["seconds"] < 30 for v in (jump, walk))
    assert all(v["outputs"] == {} and v["seconds"] is None for v in s["videos"] if v["status"] == "failed")


@pytest.mark.parametrize("server_version, number", [("animgen 0.2.11 (grpcio 1.62.3, python 3.11.9)", "0.2.11"),
                                                    ("animgen 0.3.0", "0.3.0"), ("other 1.0", "other 1.0"),
                                                    ("fail", None)])
def test_a_batch_that_converts_every_video_exits_0_whatever_the_server_says_of_its_version(
        batch_harness: Path, tmp_path: Path, server_version: str, number: str | None):
    """The summary's "animgen" is the version number of the server's text; null where it cannot be asked, which
    does not keep the videos from converting."""
    b = Batch(batch_harness, tmp_path, {"a.mp4": "frames=10\ndetected=1\n", "b.mov": ""}, VERSION=server_version)
    assert b.rc == 0 and b.errors() == [], b.out
    assert b.summary is not None and b.summary["animgen"] == number
    assert b.statuses() == ["converted", "converted"]
    assert b.summary["counts"] == {"converted": 2, "skipped": 0, "failed": 0, "cancelled": 0}
    assert (tmp_path / "Assets" / "Clips" / "a.anim").read_text() == "a 30\n"  # the clip is named after its video
    assert (tmp_path / "Assets" / "Clips" / "b.anim").exists()


def test_a_save_that_throws_fails_its_video_only(batch_harness: Path, tmp_path: Path):
    b = Batch(batch_harness, tmp_path, {"a.mp4": "", "b.mp4": "frames=5\n", "c.mp4": ""},
              SAVE_FAILS="Assets/Clips/b.anim")
    assert b.rc == 1, b.out
    assert b.errors() == ["Videos/b.mp4: disk full writing Assets/Clips/b.anim"]
    assert b.statuses() == ["converted", "failed", "converted"]
    assert b.summary_errors() == b.errors()
    assert b.summary is not None and b.summary["videos"][1]["frames"] is None  # frames only for a converted video
    assert b.server("upload") == ["a.mp4", "b.mp4", "c.mp4"]


@pytest.mark.parametrize("jobs", ["1", "3"])
def test_an_exception_that_ends_the_batch_still_writes_the_summary(batch_harness: Path, tmp_path: Path, jobs: str):
    """Whatever escapes the batch (here: telling a failure throws) is logged and exits 1, and the summary says what
    became of the videos done so far; the others are cancelled. Jobs still on the server are cancelled there, and the
    batch does not wait for them to end (30 s each)."""
    videos = {"a.mp4": "ms=100\n", "b.mp4": "ms=400\nfail=the worker died\n", "c.mp4": "ms=30000\n",
              "d.mp4": "ms=30000\n", "e.mp4": ""}
    clock = time.monotonic()
    b = Batch(batch_harness, tmp_path, videos, "-animgenJobs", jobs, DESCRIBE_FAILS="the worker died")
    assert time.monotonic() - clock < 15, b.out
    assert b.rc == 1, b.out
    assert b.errors() == ["Describe broke on: the worker died"]
    assert b.statuses() == ["converted", "failed", "cancelled", "cancelled", "cancelled"]
    assert b.summary is not None and b.summary["counts"] == {"converted": 1, "skipped": 0, "failed": 1, "cancelled": 3}
    assert [line for line in b.lines if line.startswith("saved: ")] == ["saved: Assets/Clips/a.anim (30 frames)"]
    if jobs == "1":  # c is sent as b's job ends, before b's turn
        assert b.server("upload") == ["a.mp4", "b.mp4", "c.mp4"], b.out
    else:  # c and d were on the server for a while (from the start, and from a's end); e went as b's job ended
        assert {"a.mp4", "b.mp4", "c.mp4", "d.mp4"} <= set(b.server("upload")) <= set(videos), b.out
        assert {"c.mp4", "d.mp4"} <= set(b.server("cancel")) <= {"c.mp4", "d.mp4", "e.mp4"}, b.out


def test_a_connection_that_cannot_be_made_cancels_every_video(batch_harness: Path, tmp_path: Path):
    b = Batch(batch_harness, tmp_path, {"a.mp4": "", "b.mp4": ""}, CONNECT="no HTTP/2 handler")
    assert b.rc == 1 and b.errors() == ["no HTTP/2 handler"], b.out
    assert b.summary is not None and b.summary["animgen"] is None
    assert b.statuses() == ["cancelled", "cancelled"] and b.summary_errors() == []
    assert b.server("upload") == [] and not (tmp_path / "Assets").exists()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_video_past_the_timeout_is_cancelled_on_the_server_and_the_next_goes_on(batch_harness: Path, tmp_path: Path,
                                                                                  jobs: str):
    """-animgenTimeout is each video's own, from when it is sent: three of 0.8 s each convert under a limit of 1.8 s
    though the last ends 2.6 s in (with -animgenJobs 2 it is sent when a gives up, 1.8 s in)."""
    videos = {"a.mp4": "hang\n", "b.mp4": "ms=800\n", "c.mp4": "ms=800\n", "d.mp4": "ms=800\n"}
    b = Batch(batch_harness, tmp_path, videos, "-animgenTimeout", "0.03", "-animgenJobs", jobs)
    assert b.rc == 1, b.out
    assert b.errors() == ["Videos/a.mp4: no clip within 0.03 minutes (-animgenTimeout): gave up"]
    assert b.server("cancel") == ["a.mp4"]  # the server need not finish a job nobody waits for
    assert b.statuses() == ["failed", "converted", "converted", "converted"]
    assert b.max_in_flight == int(jobs)


@pytest.mark.parametrize("jobs", [None, "1", "2", "3"])
def test_jobs_sends_up_to_n_videos_at_once_and_takes_their_results_in_the_folders_order(
        batch_harness: Path, tmp_path: Path, jobs: str | None):
    """-animgenJobs N: the scripted server sees at most N videos at once, and N when there are enough; one that ends
    early frees its place at once (c is sent while a still runs). Clips are saved, and lines logged, in the folder's
    order however the jobs end (b before a); a failed video does not stop the others; each row keeps its own
    warnings and frames."""
    videos = {"a.mp4": "ms=1000\nwarn=a is dark\nframes=10\ndetected=1\n",
              "b.mp4": "ms=100\nwarn=b is blurred\nframes=20\ndetected=0.5\n",
              "c.mp4": "ms=100\n", "d.mp4": "ms=50\nfail=no person found\n", "e.mp4": "ms=100\nframes=50\n"}
    b = Batch(batch_harness, tmp_path, videos, *(["-animgenJobs", jobs] if jobs else []))
    n = int(jobs or "1")
    assert b.rc == 1 and b.max_in_flight == n, b.out
    a_line = LOG + "Videos/a.mp4 -> Assets/Clips/a.anim (30 frames, from 10 frames read; person detected in 100.0%)"
    assert b.results() == [a_line,
                           LOG + "Videos/b.mp4 -> Assets/Clips/b.anim (30 frames, from 20 frames read; "
                                 "person detected in 50.0%)",
                           LOG + "Videos/c.mp4 -> Assets/Clips/c.anim (30 frames)",  # a server that sends no frames
                           ERROR + "Videos/d.mp4: no person found",
                           LOG + "Videos/e.mp4 -> Assets/Clips/e.anim (30 frames, from 50 frames read; "
                                 "person detected in 0.0%)"], b.out
    assert [line.split()[1] for line in b.lines if line.startswith("saved: ")] == [
        f"Assets/Clips/{v}.anim" for v in "abce"]
    ended = [line.split()[-1] for line in b.lines if line.startswith(("server: done ", "server: failed "))]
    if n == 1:
        assert ended == list(videos), b.out
        assert b.index("server: done a.mp4") < b.index("server: upload b.mp4")
    else:
        assert ended[-1] == "a.mp4" and sorted(ended) == list(videos), b.out
        assert b.index("server: start c.mp4") < b.index("server: done a.mp4")
        assert b.index("server: done b.mp4") < b.index(a_line)
    assert b.statuses() == ["converted", "converted", "converted", "failed", "converted"]
    assert b.summary_errors() == b.errors() == ["Videos/d.mp4: no person found"]
    assert b.summary is not None
    rows = {Path(v["video"]).name: v for v in b.summary["videos"]}
    assert [rows[v]["warnings"] for v in ("a.mp4", "b.mp4", "c.mp4")] == [["a is dark"], ["b is blurred"], []]
    assert [(rows[v]["frames"], rows[v]["detected"]) for v in ("a.mp4", "b.mp4", "c.mp4", "e.mp4")] == [
        (10, 1), (20, 0.5), (None, None), (50, 0)]


@pytest.mark.parametrize("jobs", [None, "4"])
def test_the_batch_waits_out_a_full_queue_within_the_timeout_and_fails_a_final_refusal_at_once(
        batch_harness: Path, tmp_path: Path, jobs: str | None):
    """StartJob's RESOURCE_EXHAUSTED with "animgen-retry-after-ms" (a full queue): the video says so once in the log
    and is tried again after that delay until it starts (a), or until -animgenTimeout ends the wait, no job having
    been made to cancel (c). Without the key (a video too long) the video fails at once with the server's message (b).
    A job StartJob leaves waiting for a worker is said to be queued (d), as the CLI says it."""
    waiting = "the server's queue is full; trying again every 0.1 s for up to 10 min"
    videos = {"a.mp4": "full=2\nframes=10\n", "b.mp4": "refuse=the video is 40 s long; this server takes up to 30 s\n",
              "c.mp4": "full=100000\n", "d.mp4": "queued\n"}
    b = Batch(batch_harness, tmp_path, videos, "-animgenTimeout", "0.02", *(["-animgenJobs", jobs] if jobs else []))
    assert b.rc == 1, b.out
    assert b.results() == [LOG + "Videos/a.mp4 -> Assets/Clips/a.anim (30 frames, from 10 frames read; "
                                 "person detected in 0.0%)",
                           ERROR + "Videos/b.mp4: the video is 40 s long; this server takes up to 30 s",
                           ERROR + "Videos/c.mp4: no clip within 0.02 minutes (-animgenTimeout): gave up",
                           LOG + "Videos/d.mp4 -> Assets/Clips/d.anim (30 frames)"], b.out
    assert b.statuses() == ["converted", "failed", "failed", "converted"]
    said = [line for line in b.lines if line.startswith("AnimGen batch: Videos/") and "queue" in line]
    assert sorted(said) == [f"AnimGen batch: Videos/a.mp4: {waiting}", f"AnimGen batch: Videos/c.mp4: {waiting}",
                            "AnimGen batch: Videos/d.mp4: queued on the server: waiting for a free worker"], b.out
    assert b.server("full").count("a.mp4") == 2 and b.server("start").count("a.mp4") == 1, b.out
    assert b.server("refused") == ["b.mp4"] and "b.mp4" not in b.server("full"), b.out  # asked once
    assert b.server("full").count("c.mp4") >= 3 and "c.mp4" not in b.server("start"), b.out
    assert b.server("cancel") == [], b.out  # c had no job on the server to cancel
    # Every try of one start carries its request id; another video's start has its own.
    assert b.request_ids("a.mp4") == "AAA" and b.request_ids("d.mp4") == "A", b.out
    assert b.requests("a.mp4")[0][0] != b.requests("d.mp4")[0][0], b.out
    assert sorted(b.server("made")) == ["a.mp4", "d.mp4"], b.out


@pytest.mark.parametrize("jobs", [None, "4"])
def test_the_batch_rides_out_a_restart_of_the_server(batch_harness: Path, tmp_path: Path, jobs: str | None):
    """The scripted server goes away and comes back as a restart would. A video whose watch loses it (a) waits for it,
    saying so once and once that it is back, and its watch attached again replays the stage and warning, each logged
    once; a job a stop interrupted is started again (b), at most three times (c). A server that stays away past the wait
    (shortened here to 1.5 s) fails the video with the connection's words and how long it waited (d)."""
    lost = "lost the server; trying to reach it again for up to 0.025 min"
    again = "the server stopped while the job ran; running it again"
    videos = {"a.mp4": "stage=pose\nwarn=left arm hidden\nlost=2\nframes=10\n", "b.mp4": "interrupted=1\n",
              "c.mp4": "interrupted=100\n", "d.mp4": "gone\n"}
    started = time.monotonic()
    b = Batch(batch_harness, tmp_path, videos, *(["-animgenJobs", jobs] if jobs else []), RECONNECT_MS="1500")
    assert time.monotonic() - started < 15, b.out
    assert b.rc == 1, b.out
    assert b.results() == [
        LOG + "Videos/a.mp4 -> Assets/Clips/a.anim (30 frames, from 10 frames read; person detected in 0.0%)",
        LOG + "Videos/b.mp4 -> Assets/Clips/b.anim (30 frames)",
        ERROR + "Videos/c.mp4: the server stopped while the job ran, 4 times; run it again once the server stays up",
        ERROR + "Videos/d.mp4: Cannot reach the AnimGen server at 127.0.0.1:50051: failed to connect to all addresses "
                "(tried to reach it again for 0.025 min)"], b.out

    def said(video: str) -> list[str]:
        prefix = f"AnimGen batch: Videos/{video}: "
        return [line[len(prefix):] for line in b.lines if line.startswith(prefix)]

    assert said("a.mp4") == ["pose", "warning: left arm hidden", lost, "reached the server again"], b.out
    assert said("b.mp4") == [again] and said("c.mp4") == [again] * 3 and said("d.mp4") == [lost], b.out
    assert b.server("watch").count("a.mp4") == 4 and b.server("start").count("a.mp4") == 1, b.out
    assert b.server("start").count("b.mp4") == 2 and b.server("start").count("c.mp4") == 4, b.out
    # A start again after an interruption is a new start, under a new request id (which runs the same job again).
    assert b.request_ids("b.mp4") == "AB" and b.request_ids("c.mp4") == "ABCD", b.out
    assert sorted(b.server("made")) == ["a.mp4", "b.mp4", "c.mp4", "d.mp4"], b.out
    assert b.statuses() == ["converted", "converted", "failed", "failed"]
    assert b.summary is not None and b.summary["videos"][0]["warnings"] == ["left arm hidden"]


@pytest.mark.parametrize("jobs", [None, "3"])
def test_startjob_asked_again_under_its_request_id_answers_with_the_job_it_made(batch_harness: Path, tmp_path: Path,
                                                                              jobs: str | None):
    """StartJob makes the job and its answer is lost with the server (a): asked again under the same request id, the
    server answers with that job, and no second job is made. A -animgenTimeout that comes while StartJob is sent and
    unanswered (b) asks StartJob again under the same id, with a 5 s deadline, and cancels the job it answers, as
    `animgen generate --server` does on Ctrl-C; where the server cannot be asked (c), the log says that it may have
    started a job on the video, and how to find and cancel it."""
    b = Batch(batch_harness, tmp_path / "lost", {"a.mp4": "start_lost=2\nframes=10\n"}, RECONNECT_MS="3000")
    assert b.rc == 0 and b.statuses() == ["converted"], b.out
    assert b.request_ids("a.mp4") == "AAA" and b.server("made") == ["a.mp4"], b.out
    assert b.server("start") == ["a.mp4"], b.out

    may = ("the server may have started a job on c.mp4 as the run stopped: `animgen jobs` lists the server's jobs, "
           "`animgen cancel JOB` cancels one")
    b = Batch(batch_harness, tmp_path / "stop", {"b.mp4": "start_hang\n", "c.mp4": "start_gone\n", "d.mp4": ""},
              "-animgenTimeout", "0.01", *(["-animgenJobs", jobs] if jobs else []))
    assert b.rc == 1 and b.statuses() == ["failed", "failed", "converted"], b.out
    gave_up = "no clip within 0.01 minutes (-animgenTimeout): gave up"
    assert b.errors() == [f"Videos/{v}.mp4: {gave_up}" for v in "bc"], b.out
    for v in ("b.mp4", "c.mp4"):
        calls = b.requests(v)
        assert b.request_ids(v) == "AA" and [within for _, within in calls] == ["-", "5"], b.out
        assert b.server("made").count(v) == 1, b.out
    assert b.server("cancel") == ["b.mp4"], b.out  # the job StartJob asked again answered
    assert [line for line in b.lines if "may have started" in line] == [f"AnimGen batch: Videos/c.mp4: {may}"], b.out


@pytest.mark.parametrize("jobs", [None, "2"])
def test_a_startjob_that_timed_out_is_asked_again_under_its_request_id(batch_harness: Path, tmp_path: Path,
                                                                      jobs: str | None):
    """StartJob makes a's job and its call times out (DEADLINE_EXCEEDED), twice: the batch asks again at once under
    the same request id, as `animgen generate --server` does, and the server answers with the job the first try made.
    a converts, one job having been made, and its log says the asking again once; b is not held up."""
    b = Batch(batch_harness, tmp_path, {"a.mp4": "start_timeout=2\nframes=10\n", "b.mp4": ""},
              *(["-animgenJobs", jobs] if jobs else []))
    assert b.rc == 0 and b.statuses() == ["converted", "converted"], b.out
    assert b.request_ids("a.mp4") == "AAA" and [within for _, within in b.requests("a.mp4")] == ["-"] * 3, b.out
    assert b.server("timeout") == ["a.mp4", "a.mp4"] and sorted(b.server("made")) == ["a.mp4", "b.mp4"], b.out
    assert [line for line in b.lines if SLOW_START in line] == [f"AnimGen batch: Videos/a.mp4: {SLOW_START}"], b.out
    assert b.server("cancel") == [], b.out


def test_a_startjob_that_times_out_until_the_wait_is_over_says_the_server_may_have_made_the_job(batch_harness: Path,
                                                                                               tmp_path: Path):
    """a's StartJob times out on every try (100 ms each here) until the wait for the server to start the job is over
    (0.5 s here; 10 min for real): a fails with the connection's words and, as the CLI says it, how long it asked and
    that the job may be on the server; b converts."""
    b = Batch(batch_harness, tmp_path, {"a.mp4": "start_timeout=1000\nstart_timeout_ms=100\n", "b.mp4": ""},
              QUEUE_WAIT_MS="500")
    assert b.rc == 1 and b.statuses() == ["failed", "converted"], b.out
    assert b.errors() == ["Videos/a.mp4: The AnimGen server at 127.0.0.1:50051 did not answer in time. (asked for "
                          "0.008 min; the server may have made the job: `animgen jobs` lists it)"], b.out
    assert len(set(b.request_ids("a.mp4"))) == 1 and 4 <= len(b.server("timeout")) <= 7, b.out
    assert b.server("cancel") == [], b.out


@pytest.mark.parametrize("jobs", [None, "2"])
def test_a_server_gone_for_good_mid_batch_fails_the_later_videos_at_once(batch_harness: Path, tmp_path: Path,
                                                                         jobs: str | None):
    """The server goes away for good while b runs (a wait of 3 s here). b waits for it, and so does c, which was on the
    server then (with -animgenJobs 2), from when b lost it; each says so for itself. The videos sent after the wait is
    over (c without -animgenJobs, d, e) fail at their first try, in the same words, without saying they will try to
    reach the server again: the batch takes one wait, not one per video (remote.py's one outage per server)."""
    lost = "lost the server; trying to reach it again for up to 0.05 min"
    gave_up = ("Cannot reach the AnimGen server at 127.0.0.1:50051: failed to connect to all addresses "
               "(tried to reach it again for 0.05 min)")
    videos = {"a.mp4": "frames=10\n", "b.mp4": "down\nms=200\n", "c.mp4": "ms=1000\n", "d.mp4": "", "e.mp4": ""}
    started = time.monotonic()
    b = Batch(batch_harness, tmp_path, videos, *(["-animgenJobs", jobs] if jobs else []), RECONNECT_MS="3000")
    took = time.monotonic() - started
    assert b.rc == 1, b.out
    assert b.results() == [
        LOG + "Videos/a.mp4 -> Assets/Clips/a.anim (30 frames, from 10 frames read; person detected in 0.0%)",
        *(ERROR + f"Videos/{v}.mp4: {gave_up}" for v in "bcde")], b.out
    assert sorted(b.server("upload")) == list(videos), b.out  # each tried once: d and e were not waited for
    for v in "bcde":
        waited = v == "b" or (v == "c" and jobs)
        assert [line for line in b.lines if line.startswith(f"AnimGen batch: Videos/{v}.mp4: ")] == (
            [f"AnimGen batch: Videos/{v}.mp4: {lost}"] if waited else []), b.out
    assert b.statuses() == ["converted", "failed", "failed", "failed", "failed"]
    assert b.server("cancel") == [], b.out
    assert 3 < took < 7.5, (took, b.out)  # one wait of 3 s; one per video would be 12 s


def test_a_startjob_left_unanswered_as_the_server_went_says_the_server_may_have_made_the_job(batch_harness: Path,
                                                                                            tmp_path: Path):
    """a's StartJob makes the job and its answer is lost with the server (UNAVAILABLE), every try, until the wait for
    the server (1.5 s here) is over: a fails with the connection's words, how long it waited, and that the server may
    have made the job before it went, which `animgen jobs` lists once it is back, as the CLI says it. A video whose
    other call the wait ends (c: its watch) says only the first two: its job's StartJob had its answer."""
    from animgen_server.remote import MAY_HAVE_MADE_JOB

    lost = "lost the server; trying to reach it again for up to 0.025 min"
    waited = "(tried to reach it again for 0.025 min)"
    unreachable = "Cannot reach the AnimGen server at 127.0.0.1:50051"
    b = Batch(batch_harness, tmp_path, {"a.mp4": "start_lost=100000\n", "b.mp4": "", "c.mp4": "gone\n"},
              RECONNECT_MS="1500")
    assert b.rc == 1 and b.statuses() == ["failed", "converted", "failed"], b.out
    assert b.errors() == [
        f"Videos/a.mp4: {unreachable}: Socket closed {waited}; the server may have made the job before it went: "
        "`animgen jobs` lists it once the server is back",
        f"Videos/c.mp4: {unreachable}: failed to connect to all addresses {waited}"], b.out
    assert b.summary_errors() == b.errors(), b.out
    assert b.errors()[0].endswith(f"; {MAY_HAVE_MADE_JOB}")  # the CLI's words
    assert set(b.request_ids("a.mp4")) == {"A"} and len(b.requests("a.mp4")) > 2, b.out  # one start, tried again
    assert b.server("made").count("a.mp4") == 1 and "a.mp4" not in b.server("start"), b.out
    assert [line for line in b.lines if line.startswith("AnimGen batch: Videos/a.mp4: ")] == [
        f"AnimGen batch: Videos/a.mp4: {lost}"], b.out


@pytest.mark.parametrize("jobs", [None, "3"])
def test_recursive_takes_the_subfolders_videos_and_saves_each_clip_in_the_same_subfolder(batch_harness: Path,
                                                                                        tmp_path: Path,
                                                                                        jobs: str | None):
    """-animgenRecursive, as `animgen generate DIR -r`: the videos of the subfolders too, hidden ones and AnimGen's
    own previews aside, in the CLI's order (cmd_generate.videos_in), each clip in the same subfolder of -animgenOutput
    as the CLI's outputs (out_bases): two take.mp4 in different subfolders do not clash, but Run/Take.mov and
    run/take.mp4 would share one clip where case does not count (Windows, macOS), and neither is made."""
    from animgen_server.cmd_generate import out_bases, videos_in

    videos = {"a.mp4": "", "walk-2.mp4": "", "walk/take.mp4": "frames=5\n", "walk/slow/take.mov": "clip_frames=12\n",
              "run/take.mp4": "", "Run/Take.mov": "", "walk/.hidden.mp4": "", ".cache/x.mp4": "",
              "walk/take.preview.mp4": "", "a.Preview.MP4": "", "walk/clip.mpeg": "", "walk/cam.MTS": ""}
    b = Batch(batch_harness, tmp_path, videos, "-animgenRecursive", *(["-animgenJobs", jobs] if jobs else []))
    assert b.rc == 1, b.out
    folder = tmp_path / "Videos"
    cli = videos_in(folder, recursive=True)
    order = [p.relative_to(folder).as_posix() for p in cli]
    assert order == ["Run/Take.mov", "a.mp4", "run/take.mp4", "walk/cam.MTS", "walk/clip.mpeg", "walk/slow/take.mov",
                     "walk/take.mp4", "walk-2.mp4"]
    assert b.summary is not None and [v["video"] for v in b.summary["videos"]] == [f"Videos/{v}" for v in order]
    clash = "Run/Take.mov, run/take.mp4 would all become Take.anim: rename all but one"
    assert b.errors() == [f"Videos/Run/Take.mov: {clash}", f"Videos/run/take.mp4: {clash}"], b.out
    clips = {v: (base.as_posix() + ".anim") for v, base in out_bases(cli, folder, Path("Assets/Clips")).items()}
    made = [clips[p] for p in cli if p.relative_to(folder).as_posix() not in ("Run/Take.mov", "run/take.mp4")]
    assert made == ["Assets/Clips/a.anim", "Assets/Clips/walk/cam.anim", "Assets/Clips/walk/clip.anim",
                    "Assets/Clips/walk/slow/take.anim", "Assets/Clips/walk/take.anim", "Assets/Clips/walk-2.anim"]
    assert [line.split()[1] for line in b.lines if line.startswith("saved: ")] == made, b.out
    assert all((tmp_path / clip).is_file() for clip in made)
    assert (tmp_path / "Assets" / "Clips" / "walk" / "slow" / "take.anim").read_text() == "take 12\n"
    assert b.statuses() == ["failed", "converted", "failed"] + ["converted"] * 5
    assert [v["outputs"] for v in b.summary["videos"] if v["status"] == "converted"] == [{"anim": c} for c in made]
    assert LOG + "Videos/walk/take.mp4 -> Assets/Clips/walk/take.anim (30 frames, from 5 frames read; " \
                 "person detected in 0.0%)" in b.lines, b.out
    # Not the hidden ones, nor the previews.
    assert sorted(b.server("upload")) == ["a.mp4", "cam.MTS", "clip.mpeg", "take.mov", "take.mp4", "walk-2.mp4"], b.out


def test_recursive_refuses_the_videos_of_a_cvs_subfolder_naming_it(batch_harness: Path, tmp_path: Path):
    """Unity does not import a folder named cvs (in any case), nor one whose name ends in '~': a clip saved there would
    never show. raw~'s clip goes to raw/; a cvs subfolder's videos are refused before their upload, each naming the
    subfolder to rename, and the others go on."""
    videos = {"a.mp4": "", "CVS/take.mp4": "", "raw~/b.mp4": "", "walk/cvs/c.mp4": "", "cvs2/d.mp4": ""}
    b = Batch(batch_harness, tmp_path, videos, "-animgenRecursive")
    assert b.rc == 1, b.out
    refused = "a folder Unity does not import: rename the subfolder"
    assert b.errors() == [
        f"Videos/CVS/take.mp4: its clip would go in Assets/Clips/CVS, {refused} Videos/CVS",
        f"Videos/walk/cvs/c.mp4: its clip would go in Assets/Clips/walk/cvs, {refused} Videos/walk/cvs"]
    assert b.statuses() == ["failed", "converted", "converted", "converted", "failed"], b.out
    assert [line.split()[1] for line in b.lines if line.startswith("saved: ")] == [
        "Assets/Clips/a.anim", "Assets/Clips/cvs2/d.anim", "Assets/Clips/raw/b.anim"], b.out
    assert sorted(b.server("upload")) == ["a.mp4", "b.mp4", "d.mp4"], b.out


def test_without_recursive_the_subfolders_are_left_and_a_file_is_refused_with_it(batch_harness: Path, tmp_path: Path):
    b = Batch(batch_harness, tmp_path, {"a.mp4": "", "walk/take.mp4": "", "a.preview.mp4": "", "b.PREVIEW.mp4": ""})
    assert b.rc == 0 and b.statuses() == ["converted"] and b.server("upload") == ["a.mp4"], b.out  # no previews
    assert not (tmp_path / "Assets" / "Clips" / "walk").exists()
    # A folder whose videos are all in subfolders has none of its own; with -animgenRecursive it says where it looked.
    empty = tmp_path / "only_subfolders"
    (empty / "Videos" / "walk").mkdir(parents=True)
    (empty / "Videos" / "walk" / ".hidden.mp4").write_text("")
    b = Batch(batch_harness, empty, {}, "-animgenRecursive")
    assert b.rc == 1 and b.errors() == [f"no videos (.mp4, .mov, ...) in {empty / 'Videos'} or its subfolders"], b.out
    # As the CLI refuses `animgen generate walk.mp4 -r`, before anything is sent.
    b = Batch(batch_harness, tmp_path, {}, "-animgenRecursive", "-animgenInput", "Videos/a.mp4")
    assert b.rc == 1 and b.errors() == ["-animgenRecursive takes a folder of videos (and its subfolders); "
                                        "-animgenInput Videos/a.mp4 is a file"], b.out
    assert b.server("upload") == [], b.out


def test_a_timeout_while_the_server_is_away_ends_the_wait_and_names_the_job_it_could_not_cancel(batch_harness: Path,
                                                                                                 tmp_path: Path):
    """-animgenTimeout comes while the video waits for its lost server (a wait of 60 s here): the wait ends then, and
    the job, which the server cannot be told to cancel, is named as the CLI names it."""
    started = time.monotonic()
    b = Batch(batch_harness, tmp_path, {"e.mp4": "gone\n"}, "-animgenTimeout", "0.01")
    assert time.monotonic() - started < 15, b.out
    assert b.errors() == ["Videos/e.mp4: no clip within 0.01 minutes (-animgenTimeout): gave up"], b.out
    assert "AnimGen batch: Videos/e.mp4: could not cancel job job-e.mp4 on the server: `animgen cancel job-e.mp4` " \
           "does, once it can be reached" in b.lines, b.out
    assert b.server("cancel") == ["e.mp4"], b.out


def test_a_cancel_the_server_answers_is_not_said_as_not_cancelled(batch_harness: Path, tmp_path: Path):
    """-animgenTimeout cancels the job; the server answers the cancel with a refusal (here its deadline's words): it
    was told, so the job is not named as one it could not cancel (remote.py cancel_jobs counts UNAVAILABLE only)."""
    b = Batch(batch_harness, tmp_path, {"h.mp4": "hang\ncancel=The AnimGen server did not answer in time.\n"},
              "-animgenTimeout", "0.01")
    assert b.errors() == ["Videos/h.mp4: no clip within 0.01 minutes (-animgenTimeout): gave up"], b.out
    assert b.server("cancel") == ["h.mp4"], b.out
    assert not [line for line in b.lines if "could not cancel" in line], b.out


@pytest.mark.parametrize("stop", ["timeout", "batch-end"])
def test_a_stops_cancel_the_server_does_not_answer_ends_within_seconds_and_is_not_said_as_not_cancelled(
        batch_harness: Path, tmp_path: Path, stop: str):
    """CancelJob is taken and never answered (a worker slow to stop, or a wedged server): the stop's cancel waits 5 s
    (JobStart.StopWait, the CLI's STOP_WAIT_S), not 30, and was received, so the job is not named as one it could not
    cancel (remote.py cancel_jobs). The stop is a's -animgenTimeout (b then converts), or the batch's end (an exception,
    as telling a's failure throws here) while b runs, which the batch waits for no longer than its stop's calls."""
    started = time.monotonic()
    if stop == "timeout":
        b = Batch(batch_harness, tmp_path, {"a.mp4": "hang\ncancel_hang\n", "b.mp4": ""}, "-animgenTimeout", "0.01")
        assert b.errors() == ["Videos/a.mp4: no clip within 0.01 minutes (-animgenTimeout): gave up"], b.out
        assert b.statuses() == ["failed", "converted"], b.out
        cancelled = ["a.mp4"]
    else:
        b = Batch(batch_harness, tmp_path, {"a.mp4": "ms=100\nfail=the worker died\n",
                                            "b.mp4": "ms=30000\ncancel_hang\n"},
                  "-animgenJobs", "2", DESCRIBE_FAILS="the worker died")
        assert b.errors() == ["Describe broke on: the worker died"], b.out
        assert b.statuses() == ["failed", "cancelled"], b.out
        cancelled = ["b.mp4"]
    took = time.monotonic() - started
    assert b.rc == 1, b.out
    assert b.server("cancel") == cancelled, b.out
    assert [line for line in b.lines if line.startswith("cancelling: ")] == [f"cancelling: {cancelled[0]} 5"], b.out
    assert not [line for line in b.lines if "could not cancel" in line], b.out
    assert 4.5 < took < 12, (took, b.out)  # the stop's 5 s, not CancelJob's old 30 s


def test_core_nunit_tests_pass(core_build: Path, tmp_path: Path):
    runner = tool("nunit-console")
    result = core_build / "TestResult.xml"
    env = dict(os.environ, ANIMGEN_FIXTURE_CLIP=str(FIXTURE), **failed_serve_log(tmp_path))
    done = subprocess.run(
        [runner, "-nologo", "-noshadow", f"-xml={result}", str(core_build / "AnimGen.Core.Tests.dll")],
        capture_output=True, text=True, cwd=core_build, env=env, timeout=300,
    )
    root = ET.parse(result).getroot()
    total, failures, errors = (int(root.get(k, 0)) for k in ("total", "failures", "errors"))
    not_run = int(root.get("not-run", 0))
    assert done.returncode == 0 and failures == 0 and errors == 0, done.stdout[-6000:]
    assert total >= 25 and not_run == 0, f"{total} tests ran, {not_run} not run"
    names = {c.attrib["name"].rsplit(".", 1)[-1] for c in root.iter("test-case") if c.get("executed") == "True"}
    # The checks the package promises: known poses converted, exact round trips, job transitions, decoding, and
    # where Start local server finds animgen.
    for expected in (
        "KnownPoseTurnLeftBecomesNegativeYaw",
        "RoundTripIsBitExact",
        "ServerEventsDriveRunningToSucceeded",
        "SerializedStatusRoundTrips",
        "FixtureClipDecodesAndMatchesPythonForwardKinematics",
        "FootContactCurvesStepThroughEveryFramesContact",
        "SetPathsFindTheExecutableInTheRepositoryOrItsVenv",
        "MissesNameWhatWasLookedFor",
        "AnExitIsToldByTheReasonTheServerLogged",
        "SummaryOfAConvertedAFailedAndARefusedVideoParsesBack",
        "SummaryThatCouldNotBeWrittenIsRefusedBeforeAnyWork",
        "OnlyTheRetryAfterKeyMakesARefusalWorthTryingAgain",
        "PastTheDeadlineItFailsWithTheServersMessageAndHowLongItWaited",
        "ALostServerIsWaitedForFromWhenItWasLostNotFromTheCallsStart",
        "ASecondOutageIsSaidAgainAndWaitedForFromItsOwnStart",
        "ItGivesUpAfterTheWindowWithTheLastFailuresWords",
        "AJobIsStartedAgainAfterAnInterruptionUpToThreeTimes",
        "ALaterOutageOfAServerThatStayedDownFailsAtOnceUntilItAnswersAgain",
        "RecursiveTakesTheSubfoldersButNotHiddenOnesInTheClisOrder",
        "AnimGensOwnPreviewsAreNotVideosToConvert",
        "ARefusalIsAnAnswerThatEndsTheOutageForEveryRun",
        "AFullQueueAfterAnOutageSaysTheServerIsBackAndTheWaitForRoomKeepsOneDeadline",
        "SameNamedVideosInTwoSubfoldersDoNotClashButOneFolderOfTwoCasesDoes",
        "RecursiveIsAnArgumentThatTakesAFolderOnly",
        "EveryTryOfOneStartCarriesItsRequestIdAndAnotherStartANewOne",
        "ATryWithoutAnAnswerLeavesTheStartUnansweredARefusalOrAJobDoNot",
        "AStartJobThatTimesOutIsAskedAgainUnderItsRequestIdAndSaidOnce",
        "ATimeoutPastTheOneDeadlineFailsWithTheServersWords",
        "ACancelEndsTheAskingAgainAndLeavesTheStartUnanswered",
        "ACancelJustAfterATimeoutSendsNoFurtherTry",
        "AStartJobAskedAgainIsNotSaidAsAFullQueue",
        "AStopEndsATryOnTheWireAtOnceAndAsksAgainUnderItsIdForTheJobItMade",
        "AStopSendsNoTryAfterItAndAsksNothingWhereNoTryIsUnanswered",
        "AStopWhoseAskingAgainHasNoAnswerSaysTheJobMayHaveStartedARefusalSaysNothing",
        "AServerGoneWithStartJobUnansweredSaysItMayHaveMadeTheJobBeforeItWent",
        "AStartJobThatTimedOutUntilTheWaitWasOverSaysItMayHaveMadeTheJob",
        "OnlyTheCallsOwnDeadlineIsATimeout",
        "EveryStatusButUnavailableCancelledAndTheDeadlineIsTheServersAnswer",
        "AClipFolderUnityDoesNotImportIsRefusedByName",
        "AVideoInACvsSubfolderIsRefusedNamingTheFolder",
    ):
        assert expected in names, f"NUnit test {expected} did not run"


def test_the_core_status_codes_are_grpcs():
    """AnimGen.Core.CallStatus decides on a status code as a number (AnimGenConnection casts Grpc.Core.StatusCode to
    int): each of its constants is gRPC's number for that status, as Python's grpc has it."""
    import grpc

    code = (PKG / "Editor" / "Core" / "CallStatus.cs").read_text()
    constants = dict(re.findall(r"public const int (\w+) = (\d+);", code))
    assert set(constants) == {"Cancelled", "DeadlineExceeded", "Unavailable"}, constants
    for name, number in constants.items():
        status = getattr(grpc.StatusCode, re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper())
        assert status.value[0] == int(number), name


# A batch's -animgenSummary through AnimGen.Core as BatchGenerate fills it: a converted, a failed and a cancelled video.
# Its floats are whole numbers (fps 24, a person in every frame, 3 s), which Python's json writes 24.0, 1.0, 3.0.
SUMMARY_PROGRAM = r"""
using AnimGen.Core;

static class WriteSummary
{
    static void Main(string[] args)
    {
        var settings = new GenerateSettings { Crop = true, UseVideoFps = false, Fps = 24f };
        var s = new BatchSummary(settings) { ServerVersion = "0.2.11" };
        var run = new BatchVideoResult("Videos/run.mp4")
        {
            Outcome = BatchOutcome.Converted, Clip = "Assets/AnimGen/run.anim", Frames = 90, DetectedShare = 1f,
            Seconds = 3,
        };
        run.Warnings.Add("left arm hidden from 2.1 s to 3.3 s");
        s.Videos.Add(run);
        s.Videos.Add(new BatchVideoResult("Videos/walk.mp4") { Error = "Videos/walk.mp4: no person found" });
        s.CancelRest(new[] { "Videos/run.mp4", "Videos/walk.mp4", "Videos/zz.mp4" });
        s.WriteTo(args[0]);
    }
}
"""


def test_the_batch_summary_has_the_clis_keys(tmp_path: Path):
    """One CI script reads `animgen generate --summary` and the Unity batch's -animgenSummary: the same keys (plus
    "client", this package's version) at the top, per count, per option and per video; values of the same types, a
    float that is a whole number (24.0) told from an int as Python's json tells it."""
    from animgen_ml.pipeline import GenerateOptions
    from animgen_server import run_summary
    from animgen_server.run_summary import VideoResult

    program = tmp_path / "write_summary.cs"
    program.write_text(SUMMARY_PROGRAM)
    exe = tmp_path / "write_summary.exe"
    done = subprocess.run([tool("mcs"), f"-out:{exe}", str(program), *map(str, cs_files("Editor", "Core"))],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    unity_json = tmp_path / "unity.json"
    run = subprocess.run([tool("mono"), str(exe), str(unity_json)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    unity = json.loads(unity_json.read_text(encoding="utf-8"))

    cli_json = tmp_path / "cli.json"
    cli_row = VideoResult("v", "converted", frames=90, seconds=2.5, warnings=["w"], outputs={"glb": Path("v.glb")},
                          detected=0.5)
    run_summary.write(cli_json, [cli_row], GenerateOptions(crop=(640, 0, 640, 720), fps=24.0).to_dict())
    cli = json.loads(cli_json.read_text())

    def kind(value):  # int and float apart, as a typed reader (Python's json) tells 24 from 24.0
        return type(value).__name__

    assert [k for k in unity if k != "client"] == list(cli) and list(unity)[1] == "client"  # in the CLI's order
    version = json.loads((PKG / "package.json").read_text())["version"]
    assert unity["client"] == f"unity {version}", "BatchSummary.Client must follow package.json's version"
    assert list(unity["counts"]) == list(cli["counts"]) == list(run_summary.STATUSES)
    assert unity["counts"] == {"converted": 1, "skipped": 0, "failed": 1, "cancelled": 1}
    assert [kind(n) for n in unity["counts"].values()] == [kind(n) for n in cli["counts"].values()] == ["int"] * 4
    # The batch's options by the CLI's names, with values of the same kinds.
    assert set(unity["options"]) <= set(cli["options"]), set(unity["options"]) - set(cli["options"])
    for name, value in unity["options"].items():
        assert kind(value) == kind(cli["options"][name]), name
    assert unity["options"]["crop"] == [0, 0, 640, 720] and unity["options"]["fps"] == 24
    assert [kind(v) for v in unity["options"]["crop"]] == [kind(v) for v in cli["options"]["crop"]] == ["int"] * 4
    assert kind(unity["options"]["fps"]) == kind(cli["options"]["fps"]) == "float"
    ray_only = {"ray_worker"}
    keys = [k for k in VideoResult("v", "converted").to_dict() if k not in ray_only]
    assert [list(v) for v in unity["videos"]] == [keys] * 3
    assert [v["status"] for v in unity["videos"]] == ["converted", "failed", "cancelled"]
    converted = unity["videos"][0]
    for name, value in cli["videos"][0].items():
        if name not in ray_only:
            assert kind(converted[name]) == kind(value), name
    assert (converted["frames"], converted["detected"], converted["seconds"]) == (90, 1.0, 3.0)
    assert [kind(converted[k]) for k in ("frames", "detected", "seconds")] == ["int", "float", "float"]
    assert converted["outputs"] == {"anim": "Assets/AnimGen/run.anim"}


# ---------------------------------------------------------------- generated code


def test_codegen_reproduces_committed_csharp(tmp_path: Path):
    tool("protoc")
    env = dict(os.environ, PYTHON=sys.executable)
    done = subprocess.run(["bash", str(REPO / "scripts" / "codegen.sh"), str(tmp_path)], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    fresh_dir = tmp_path / "unity_package" / "Editor" / "Generated"
    fresh = sorted(p.name for p in fresh_dir.iterdir())
    hand_written = ("AnimGen.Protocol.asmdef", "AnimGen.Protocol.asmdef.meta")
    committed = sorted(p.name for p in GENERATED.iterdir() if p.name not in hand_written)
    assert fresh == committed, f"generated files differ: {fresh} vs committed {committed}"
    for name in fresh:
        assert (fresh_dir / name).read_bytes() == (GENERATED / name).read_bytes(), (
            f"unity_package/Editor/Generated/{name} is stale: run `make codegen`")


def test_generated_files_say_do_not_edit_and_are_internal():
    for f in GENERATED.glob("*.cs"):
        head = f.read_text()[:400]
        assert "DO NOT EDIT" in head, f"{f.name} lacks the generated-code header"
        body = f.read_text()
        # Top-level types sit at most one indent (2 spaces) inside the namespace; nested ones may be public.
        assert not re.search(r"^ {0,2}public (sealed |static |partial )*(class|enum|struct) ", body, re.M), (
            f"{f.name} declares a public top-level type: generated code must be internal")
    assert 'InternalsVisibleTo("AnimGen.Editor")' in (GENERATED / "AssemblyInfo.cs").read_text()
    client = (GENERATED / "ServiceGrpc.cs").read_text()
    assert "internal sealed class AnimGenClient" in client
    for rpc, kind in (("UploadVideo", "ClientStreaming"), ("StartJob", "Unary"), ("WatchJob", "ServerStreaming"),
                      ("GetResult", "ServerStreaming"), ("CancelJob", "Unary"), ("ListJobs", "Unary"),
                      ("GetServerInfo", "Unary")):
        assert f'MethodType.{kind}, ServiceName, "{rpc}"' in client


# ---------------------------------------------------------------- package manifest, asmdefs, .meta files


def test_package_json():
    pkg = json.loads((PKG / "package.json").read_text())
    assert pkg["name"] == "com.animgen.generator"
    assert pkg["unity"] == "2021.3"
    assert re.fullmatch(r"\d+\.\d+\.\d+(-[\w.]+)?", pkg["version"])
    assert pkg["displayName"] and pkg["description"]
    for f in ("README.md", "CHANGELOG.md", "LICENSE.md"):
        assert (PKG / f).stat().st_size > 100, f"{f} is missing or empty"


def test_package_declares_the_built_in_modules_its_code_uses():
    """A project may turn built-in modules off (Package Manager > Built-in): the package must ask for those it uses."""
    code = "\n".join(p.read_text() for p in (PKG / "Editor").rglob("*.cs"))
    deps = json.loads((PKG / "package.json").read_text())["dependencies"]
    uses = {"com.unity.modules.video": r"\bVideoClip\b", "com.unity.modules.animation": r"\b(AnimationClip|Animator)\b"}
    for module, pattern in uses.items():
        assert re.search(pattern, code), pattern
        assert module in deps, f"package.json: dependencies must name {module}"


# Types of namespace System that a file may only name unqualified under `using System;` (mcs --parse cannot tell:
# without Unity's assemblies the Editor code is not compiled here).
SYSTEM_TYPES = ("Exception", "ArgumentException", "InvalidOperationException", "OperationCanceledException",
                "TimeoutException", "NotSupportedException", "AggregateException", "Uri", "DateTime", "TimeSpan",
                "StringComparison", "StringComparer", "Environment", "Action", "Func", "Math")


def test_system_types_are_named_under_using_system():
    pattern = re.compile(r"(?<![\w.])(" + "|".join(SYSTEM_TYPES) + r")\b(?=\s*[\(\)\[<.\w])")
    missing = []
    for path in sorted(PKG.rglob("*.cs")):
        if "Generated" in path.parts:
            continue
        code = re.sub(r"//[^\n]*|\"(?:\\.|[^\"\\])*\"", "", path.read_text())  # no comments or strings
        if re.search(r"^using System;", code, re.M):
            continue
        used = sorted(set(pattern.findall(code)))
        if used:
            missing.append(f"{path.relative_to(PKG)}: {', '.join(used)}")
    assert not missing, f"add `using System;` or qualify the names (System.X): {missing}"


def asmdefs() -> dict[str, dict]:
    return {json.loads(p.read_text())["name"]: json.loads(p.read_text()) for p in PKG.rglob("*.asmdef")}


def test_asmdefs_are_editor_only_and_layered():
    defs = asmdefs()
    assert set(defs) == {"AnimGen.Protocol", "AnimGen.Core", "AnimGen.Editor", "AnimGen.Core.Tests",
                         "AnimGen.Editor.Tests"}
    for name, d in defs.items():
        assert d["includePlatforms"] == ["Editor"], f"{name} must be Editor-only"
    assert defs["AnimGen.Core"]["noEngineReferences"] is True and defs["AnimGen.Core"]["references"] == []
    assert defs["AnimGen.Protocol"]["references"] == []
    # YetAnotherHttpHandler is an assembly definition of its own (installed by git URL), and an asmdef sees another
    # asmdef's types only by reference: by GUID, since its assembly name changed between releases.
    assert set(defs["AnimGen.Editor"]["references"]) == {"AnimGen.Core", "AnimGen.Protocol", YAHH_ASMDEF}
    for test_asm in ("AnimGen.Core.Tests", "AnimGen.Editor.Tests"):
        d = defs[test_asm]
        assert d["defineConstraints"] == ["UNITY_INCLUDE_TESTS"]
        assert "nunit.framework.dll" in d["precompiledReferences"]
        assert d["autoReferenced"] is False
    # Every referenced assembly exists in the package.
    for d in defs.values():
        for ref in d["references"]:
            assert ref in defs or ref == YAHH_ASMDEF or ref.startswith(("UnityEngine.", "UnityEditor.")), ref


def test_every_asset_has_a_unique_meta():
    """A package installed by git URL is read-only: Unity ignores any file or folder without a .meta."""
    guids: dict[str, Path] = {}
    missing = []
    for p in sorted(PKG.rglob("*")):
        if p.name.endswith(".meta") or p.name.startswith("."):
            continue
        meta = p.with_name(p.name + ".meta")
        if not meta.exists():
            missing.append(str(p.relative_to(PKG)))
            continue
        m = re.search(r"^guid: ([0-9a-f]{32})$", meta.read_text(), re.M)
        assert m, f"{meta} has no guid"
        assert m.group(1) not in guids, f"{meta} repeats the guid of {guids.get(m.group(1))}"
        guids[m.group(1)] = meta
        assert ("folderAsset: yes" in meta.read_text()) == p.is_dir(), f"{meta}: folder flag wrong"
    assert not missing, f"files without a .meta: {missing}"
    orphans = [m for m in PKG.rglob("*.meta") if not m.with_name(m.name[: -len(".meta")]).exists()]
    assert not orphans, f".meta files without their asset: {orphans}"


def write_fixture() -> None:
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    make_walk_clip().save_json(FIXTURE)
    print(f"wrote {FIXTURE}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-fixture"]:
        write_fixture()
    else:
        print(__doc__)
