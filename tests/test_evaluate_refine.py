"""`animgen evaluate` measures the refined clips beside the raw ones, on real data with ground truth."""

from __future__ import annotations

import numpy as np
from conftest import weights_like_shipped

from animgen_ml import evaluate
from animgen_ml.landmarks import LM


def test_mocap_rows_have_refined_methods_and_refine_cuts_sliding(shared_data):
    # The first 22 held-out clips end with four walks (B01-B03): steps with clear planted feet.
    rows = evaluate.evaluate_mocap(shared_data, limit=22, log=lambda _: None)
    walks = [r for r in rows if "Walk" in r["sequence"]]
    assert walks, "expected held-out walking clips"
    summary = evaluate.summarise(walks)
    assert "network" in summary, "the shipped weights are part of the package"
    for m in ("network", "analytic"):
        raw, refined = summary[m], summary[m + evaluate.REFINED]
        assert set(refined) == set(raw)
        # Joint angles stay close (the issue allows 1 degree over the whole set; on these walks the network
        # measured +1.4, the analytic path +0.4).
        assert refined["angle_deg"] <= raw["angle_deg"] + 2.0
    # On the default path, sliding of truly planted feet falls by more than half (measured: 11.3 -> 3.5 mm/frame
    # on these walks, 13.0 -> 4.9 over the whole set). The analytic path's contacts, found from foot height and
    # speed, are too few under MediaPipe-like noise to cut it (README, "Accuracy").
    raw, refined = summary["network"], summary["network" + evaluate.REFINED]
    assert refined["foot_slide_mm"] < 0.5 * raw["foot_slide_mm"]
    text = evaluate.table({"mocap": summary})
    header = text.splitlines()[2]
    assert "network+refine" in header or "analytic+refine" in header
    # Columns stay aligned: every line of the block has the header's width.
    assert len({len(line) for line in text.splitlines()[2:]}) == 1


def test_the_evaluated_clip_is_the_one_animgen_generate_makes(videos):
    """Both generators are measured as the pipeline runs them (cleaned landmarks, the generator, smoothing, refine):
    the network had been measured unsmoothed beside a smoothed baseline."""
    from animgen_ml import clean, pipeline, pose

    raw = pose.extract(videos / "sports2d_run_sideview.mp4")
    evaluated = {m: c for m, c, _ in evaluate.predictions(evaluate.generators(), clean.clean(raw, None))}
    for generator in ("network", "analytic"):
        made = pipeline.run(None, None, pipeline.GenerateOptions(generator=generator), landmarks=raw).clip
        clip = evaluated[generator + evaluate.REFINED]
        assert np.array_equal(clip.rotations, made.rotations) and np.array_equal(clip.hips, made.hips)
        assert np.array_equal(clip.contacts, made.contacts)


def test_penetration_is_measured_against_the_floor_at_y_0(shared_data):
    """A clip's floor is y = 0, as the truth's: this walk's truth scores 0, and the same clip sunk 30 cm scores 1 (it
    had scored 0: the floor was taken where the clip's own feet were)."""
    from dataclasses import replace

    walk = [shared_data / "mocap" / "accad_female1" / "Female1_B02_WalkToStandT2.bvh"]
    (_, _, truth), = evaluate.mocap_inputs(shared_data, files=walk)
    assert evaluate.clip_metrics(truth, truth)["penetration"] == 0.0
    sunk = replace(truth, hips=truth.hips - [0.0, 0.3, 0.0])
    assert evaluate.clip_metrics(sunk, truth)["penetration"] == 1.0


def test_reference_contacts_find_the_balancing_stance(shared_data):
    root = shared_data / "videos" / "multiview_pose2sim_balancing" / "reference_3d"
    names, pts, rate = evaluate.read_trc(root / "BalancingTrial_filt_butterworth_0-100.trc")
    marker = lambda m: pts[:, [names.index("L" + m), names.index("R" + m)]]  # noqa: E731
    c = evaluate.reference_contacts(marker("Heel"), marker("BigToe"), rate)
    assert c.shape == (len(pts), 2)
    # He stands on both feet, lifts the right one (frames ~12-75) and stands on the left, then steps down.
    assert c[:10, 1].all() and c[80:, 1].all()
    assert not c[20:70, 1].any()
    assert c[25:80, 0].mean() > 0.9


def test_evaluate_measures_a_folder_of_ones_own_bvh(shared_data, tmp_path):
    """`animgen evaluate mocap --data DIR` on a studio's own held-out takes: every BVH file under DIR, through the
    same synthetic cameras and noise as the kit's held-out subject; in the kit only that subject, as itself or as
    its mocap/ folder."""
    import json
    import subprocess
    import sys

    from animgen_ml import train

    own = tmp_path / "our_takes"
    (own / "day1").mkdir(parents=True)
    (own / "day1" / "walk.bvh").symlink_to(shared_data / "mocap" / "cmu_cgspeed_misc" / "05_06.bvh")
    (own / "jog.bvh").symlink_to(shared_data / "mocap" / "sfu_accad_terrainrl" / "0005_Jogging001_30fps.bvh")
    assert [f.name for f in train.held_out_files(own)] == ["walk.bvh", "jog.bvh"]
    kit = train.held_out_files(shared_data)
    assert kit == train.held_out_files(shared_data / "mocap") and all("accad_female1" in f.parts for f in kit)
    res = subprocess.run([sys.executable, "-m", "animgen_server.cli", "evaluate", "--data", str(own), "mocap",
                          "--json", str(tmp_path / "ours.json")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "walk" in res.stderr and "jog" in res.stderr  # a line per take
    ours = json.loads((tmp_path / "ours.json").read_text())["mocap"]
    assert ours["network"]["pa_mpjpe_mm"] < ours["analytic"]["pa_mpjpe_mm"] < 300


def test_animgen_evaluate_command(shared_data, tmp_path):
    """`animgen evaluate` as a user runs it: a table, the JSON layout the issue asks for, and usage errors."""
    import json
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "animgen_server.cli", "evaluate", "--data", str(shared_data)]
    res = subprocess.run(cmd + ["mocap", "--limit", "1", "--json", str(tmp_path / "eval.json")],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "[mocap]" in res.stdout and "root_path_mm" in res.stdout
    assert "== mocap" in res.stderr and "Female1" not in res.stdout  # progress apart from the table
    out = json.loads((tmp_path / "eval.json").read_text())
    assert set(out) == {"mocap"} and set(out["mocap"]) == set(evaluate.METHODS)
    for method in out["mocap"].values():
        assert 0 < method["root_path_mm"] < 2000 and 0 <= method["root_height_mm"] < 500
        assert 0 <= method["contact_f1"] <= 1
    # --model measures other weights beside the same baseline, and says which.
    mine = weights_like_shipped(tmp_path / "mine.npz", "mine", scale=0.7)
    res = subprocess.run(cmd + ["mocap", "--limit", "1", "--json", str(tmp_path / "mine.json"), "--model", str(mine)],
                         capture_output=True, text=True)
    assert res.returncode == 0 and f"network: {mine}" in res.stderr, res.stderr[-2000:]
    theirs = json.loads((tmp_path / "mine.json").read_text())["mocap"]
    timing = {"seconds_per_frame": theirs["analytic"]["seconds_per_frame"]}
    assert theirs["analytic"] == out["mocap"]["analytic"] | timing
    assert theirs["network"]["pa_mpjpe_mm"] != out["mocap"]["network"]["pa_mpjpe_mm"]
    bad = subprocess.run(cmd + ["nosuch"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.strip() == ("animgen evaluate: error: unknown dataset 'nosuch': "
                                  "use mocap, pose2sim, stills, renders")
    # A folder with nothing to measure, a kit without its held-out subject, and a --json that cannot be written, are
    # said before any work.
    (tmp_path / "not_a_kit").mkdir()
    wrong = subprocess.run([*cmd[:-1], str(tmp_path / "not_a_kit"), "mocap"], capture_output=True, text=True)
    assert wrong.returncode == 1 and "not_a_kit: no BVH files for the mocap evaluation" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    # A folder whose every file is skipped (unreadable, too short) is a failure, not an empty table and "{}".
    nothing = tmp_path / "nothing_measurable"
    nothing.mkdir()
    (nothing / "junk.bvh").write_text("junk")
    walk = (shared_data / "mocap" / "cmu_iclone_ccrig" / "002" / "002_01.bvh").read_text()
    head, motion = walk.split("MOTION")
    rows = [r for r in motion.strip().splitlines()[2:] if r.strip()]
    frame_time = next(r for r in motion.splitlines() if r.startswith("Frame Time"))
    (nothing / "short.bvh").write_text(head + f"MOTION\nFrames: 5\n{frame_time}\n" + "\n".join(rows[:5]) + "\n")
    wrong = subprocess.run([*cmd[:-1], str(nothing), "mocap", "--json", str(tmp_path / "none.json")],
                           capture_output=True, text=True)
    assert wrong.returncode == 1 and "nothing_measurable: no mocap sequence could be measured" in wrong.stderr
    assert "skipping junk.bvh: " in wrong.stderr and "skipping short.bvh: 3 frame(s) at 30 fps" in wrong.stderr
    assert not (tmp_path / "none.json").exists() and "Traceback" not in wrong.stderr
    (tmp_path / "kit_no_subject" / "mocap").mkdir(parents=True)
    (tmp_path / "kit_no_subject" / "mocap" / "cmu_cgspeed_misc").symlink_to(shared_data / "mocap" / "cmu_cgspeed_misc")
    wrong = subprocess.run([*cmd[:-1], str(tmp_path / "kit_no_subject"), "mocap"], capture_output=True, text=True)
    assert wrong.returncode == 1 and "no mocap/accad_female1/*.bvh for the mocap evaluation" in wrong.stderr
    # Every named dataset's data is checked first: a kit without stills was found out after the whole mocap run.
    (tmp_path / "half_kit" / "mocap").mkdir(parents=True)
    (tmp_path / "half_kit" / "mocap" / "accad_female1").symlink_to(shared_data / "mocap" / "accad_female1")
    half = subprocess.run([*cmd[:-1], str(tmp_path / "half_kit"), "mocap", "stills"], capture_output=True, text=True)
    assert half.returncode == 1 and "no images/h36m_with_3d_gt/test_h36m_body3d.npz for the stills" in half.stderr
    # Each file a dataset reads is checked, not only its folder (a kit with the folders and not all the files got a
    # traceback after minutes of the other datasets).
    (tmp_path / "half_kit" / "images" / "h36m_with_3d_gt").mkdir(parents=True)
    half = subprocess.run([*cmd[:-1], str(tmp_path / "half_kit"), "mocap", "stills"], capture_output=True, text=True)
    assert half.returncode == 1 and "no images/h36m_with_3d_gt/test_h36m_body3d.npz" in half.stderr, half.stderr
    assert "== mocap" not in half.stdout + half.stderr
    (tmp_path / "a_file").write_text("")
    no_json = subprocess.run(cmd + ["mocap", "--json", str(tmp_path / "a_file" / "x.json")], capture_output=True,
                             text=True)
    assert no_json.returncode == 2 and "is not a folder" in no_json.stderr
    to_dir = subprocess.run(cmd + ["mocap", "--json", str(tmp_path)], capture_output=True, text=True)
    assert to_dir.returncode == 2 and "is a folder; --json takes a file name" in to_dir.stderr
    # Nor does it replace the weights it measures, a file of its data, or a read-only file.
    for json_out, why in ((mine, "is the weights being measured"), (shared_data / "MANIFEST.md", "is a file of the "
                          "data being measured"), (tmp_path / "locked.json", "the file is read-only")):
        if json_out.name == "locked.json":
            json_out.write_text("{}")
            json_out.chmod(0o444)
        before = json_out.read_bytes()
        over = subprocess.run(cmd + ["mocap", "--model", str(mine), "--json", str(json_out)], capture_output=True,
                              text=True)
        assert over.returncode == 2 and why in over.stderr, over.stderr
        assert json_out.read_bytes() == before


def test_mocap_inputs_of_given_files_skip_an_unmappable_skeleton(shared_data):
    """scripts/contact_curve.py --training feeds training clips through the evaluation's input model; a clip
    whose rest pose cannot be mapped is skipped with its reason, as training skips it, and is not counted against
    the limit (`--limit 1` measures one sequence)."""
    good = shared_data / "mocap" / "sfu_accad_terrainrl" / "0005_Walking001_30fps.bvh"
    bad = shared_data / "mocap" / "sfu_accad_terrainrl" / "Male1_C12_RunTurnLeft45.bvh"
    said: list[str] = []
    out = list(evaluate.mocap_inputs(shared_data, limit=1, files=[bad, good], log=said.append))
    assert [name for name, _, _ in out] == ["0005_Walking001_30fps"]
    _, lm, truth = out[0]
    assert lm.frame_count == truth.frame_count > 30
    assert truth.contacts.any(), "a walk has planted feet"
    assert len(said) == 1 and said[0].startswith("skipping Male1_C12_RunTurnLeft45.bvh: ")


def test_exact_mocap_inputs_keep_the_cameras_and_drop_the_noise(shared_data):
    """scripts/contact_curve.py --exact asks whether MediaPipe's noise is what costs contact precision: the same
    draws with the noise model off must see the same person from the same cameras, only without the errors."""
    walk = [shared_data / "mocap" / "sfu_accad_terrainrl" / "0005_Walking001_30fps.bvh"]
    (_, noisy, truth), = evaluate.mocap_inputs(shared_data, files=walk)
    (_, exact, exact_truth), = evaluate.mocap_inputs(shared_data, files=walk, noise=0.0)
    assert np.allclose(exact_truth.hips, truth.hips) and np.allclose(exact_truth.rotations, truth.rotations)
    # Exact world landmarks keep every bone's length through the clip; MediaPipe-like ones do not.
    knee, ankle = LM["left_knee"], LM["left_ankle"]
    shin = {k: np.linalg.norm(lm.world[:, knee] - lm.world[:, ankle], axis=-1) for k, lm in
            (("exact", exact), ("noisy", noisy))}
    assert shin["exact"].std() < 1e-6
    assert shin["noisy"].std() > 0.005
    assert np.abs(exact.image[..., :2] - noisy.image[..., :2]).mean() > 0.002  # not the same input
