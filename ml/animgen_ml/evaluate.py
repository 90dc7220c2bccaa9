"""Evaluation against ground truth: the network beside the analytic baseline, each run as `animgen generate` runs
it with the default options (cleaned landmarks, the generator, smoothing 0.5), and each also through the refine
stage ("network+refine", "analytic+refine"; the default `animgen generate` path is the network, then refine).

Datasets (found in ../shared/data):
- mocap:    held-out mocap subjects (ACCAD Female1) filmed by the synthetic camera + MediaPipe noise model
            (fixed seed); truth = the mocap clip in the camera's yaw frame; all metrics.
- pose2sim: the four real camera videos of the Pose2Sim balancing trial through real MediaPipe; truth = the
            triangulated 3D reference (TRC) on 12 joints both define (hips, knees, ankles, shoulders, elbows,
            wrists); positions compared after one similarity alignment over the sequence; PA-MPJPE per frame;
            at 30 fps (the trial's 60 fps reference, every other frame; the clip generated at 30 fps).
            Foot sliding: of our Foot joints in the clip's own world, on the frames where the reference's foot
            is planted (heel or big toe low and slow, see reference_contacts).
- renders:  held-out mocap played by a rigged character, rendered in Blender and seen by real MediaPipe
            (scripts/render_mocap.py; renders.py); truth = the clip on the character's proportions in the
            camera's yaw frame; all metrics, as mocap. The folder: $ANIMGEN_RENDERS if set, else build/renders
            in the repository; none there: one line saying how to make them, and no rows.
- stills:   the Human3.6M and MPI-INF-3DHP frames with camera-space 3D truth in images/ (single frames through
            MediaPipe in image mode): PA-MPJPE on the same 12 joints.
Metrics are in metrics.py; "seconds_per_frame" is the generator's own time (+ refine's for "+refine").
"foot_slide_mm" is the issue's definition: horizontal motion per frame of a foot joint while the foot is TRULY
in contact (true contacts, never the predicted ones, so a method cannot lower it by predicting fewer contacts).
"root_path_mm": mean horizontal distance of the Hips from the true Hips path once the two paths' means are
aligned (mocap and renders, both in the camera's yaw frame): where the root went. "root_height_mm": mean distance
of the Hips' height from the true one once the two means are aligned: how the hips rise and sink, which neither
the root-aligned joint errors nor the horizontal root path see. "steps_*": the contacts as the footstep events the
Unity and Unreal plugins make of them, one where each contact starts (metrics.step_timing): the share of true
footsteps heard (a predicted one of the same foot within 0.1 s), the share of predicted ones that are a true one's,
and the share of the heard ones within a frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from animgen_ml import contacts, metrics, synth
from animgen_ml.clip import HumanoidClip
from animgen_ml.errors import InputError
from animgen_ml.landmarks import Landmarks

DATASETS = ("mocap", "pose2sim", "stills", "renders")
METHODS = ("network", "network+refine", "analytic", "analytic+refine")
REFINED = "+refine"
COUNT_KEYS = ("contact_tp", "contact_fp", "contact_fn")  # per sequence, kept out of the printed tables
STEP_KEYS = ("steps_true", "steps_predicted", "steps_matched", "steps_on_time_n")  # the same, for the steps_ scores
SMOOTHING = 0.5  # the pipeline's default smoothing, applied to both generators as `animgen generate` does
EVAL_FPS = 30.0  # every dataset is measured at this rate, so that per-frame figures (mm/frame) mean one thing
MIN_FRAMES = 10  # a mocap sequence shorter than this (at EVAL_FPS) is not measured: too short to have an acceleration
# Our joints and the Pose2Sim BODY_25B markers that sit at the same place.
P2S_JOINTS = {
    "LeftUpperLeg": "LHip", "RightUpperLeg": "RHip", "LeftLowerLeg": "LKnee", "RightLowerLeg": "RKnee",
    "LeftFoot": "LAnkle", "RightFoot": "RAnkle", "LeftUpperArm": "LShoulder", "RightUpperArm": "RShoulder",
    "LeftLowerArm": "LElbow", "RightLowerArm": "RElbow", "LeftHand": "LWrist", "RightHand": "RWrist",
}


def generators() -> dict[str, Callable[[Landmarks], HumanoidClip]]:
    """Each generator as `animgen generate` runs it on cleaned landmarks with the default options: the generator,
    then smoothing. (The network had been measured unsmoothed beside a smoothed baseline.)"""
    from animgen_ml import model, smooth, solver

    out: dict[str, Callable[[Landmarks], HumanoidClip]] = {}
    if model.weights_available():
        net = model.load_model()
        out["network"] = lambda lm: smooth.smooth_clip(net.generate(lm), SMOOTHING)
    out["analytic"] = lambda lm: smooth.smooth_clip(solver.solve(lm, fingers=False), SMOOTHING)
    return out


def predictions(gens: dict[str, Callable[[Landmarks], HumanoidClip]],
                lm: Landmarks) -> list[tuple[str, HumanoidClip, float]]:
    """(method, clip, seconds) for each generator and for its output through refine (default options), on
    landmarks the caller cleaned (clean.clean) as the pipeline does (a still's single frame as it comes)."""
    from animgen_ml import refine
    from animgen_ml.pipeline import GenerateOptions

    out = []
    for name, gen in gens.items():
        t0 = time.perf_counter()
        clip = gen(lm)
        t1 = time.perf_counter()
        refined, _ = refine.refine(clip, lm, GenerateOptions())
        t2 = time.perf_counter()
        out += [(name, clip, t1 - t0), (name + REFINED, refined, t2 - t0)]
    return out


def _body(clip: HumanoidClip) -> HumanoidClip:
    """The 22 body bones of a clip (drops fingers), for like-for-like comparison."""
    from animgen_ml import skeleton

    idx = [clip.bones.index(b) for b in skeleton.BODY_BONES]
    return HumanoidClip(bones=list(skeleton.BODY_BONES), rest_offsets=clip.rest_offsets[idx], fps=clip.fps,
                        hips=clip.hips, rotations=clip.rotations[:, idx], contacts=clip.contacts,
                        confidence=clip.confidence[:, idx], name=clip.name, metadata=clip.metadata)


def clip_metrics(pred: HumanoidClip, truth: HumanoidClip) -> dict[str, float]:
    """Every metric of a predicted clip against a true one on the same frame grid and skeleton."""
    pred = _body(pred)
    pp, prot = pred.world()
    tp, _ = truth.world()
    feet = [pred.bones.index("LeftFoot"), pred.bones.index("RightFoot")]
    heels, toes = contacts.sole_points(pred, (pp, prot))
    out = {
        "mpjpe_mm": metrics.mpjpe(pp, tp),
        "pa_mpjpe_mm": metrics.pa_mpjpe(pp, tp),
        "angle_deg": metrics.joint_angle_error(pred.rotations, truth.rotations),
        "accel_err_mm": metrics.acceleration_error(pp, tp),
        "foot_slide_mm": metrics.foot_sliding(pp[:, feet], truth.contacts),
        "root_path_mm": metrics.root_path_error(pred.hips, truth.hips),
        "root_height_mm": metrics.root_height_error(pred.hips, truth.hips),
        # The definition: share of frames with a heel or toe more than 1 cm below the ground, which is y = 0
        # in a HumanoidClip as in the truth. (It had been the clip's own 5th-percentile toe height, which capped the
        # share near 5 % and scored a clip sunk 30 cm at 0.)
        "penetration": metrics.ground_penetration_rate(np.concatenate([heels, toes], 1), ground=0.0, tolerance=0.01),
    }
    counts = metrics.contact_counts(pred.contacts, truth.contacts)
    out.update(metrics.scores_from_counts(*counts))
    out.update(zip(COUNT_KEYS, map(float, counts), strict=True))  # for the pooled overall scores
    steps = metrics.step_timing(pred.contacts, truth.contacts, truth.fps)
    out.update(metrics.step_scores(*steps))
    out.update(zip(STEP_KEYS, map(float, steps), strict=True))
    return out


def mocap_inputs(data_dir: Path, limit: int | None = None, seed: int = 1234, files: list[Path] | None = None,
                 log: Callable[[str], None] = print, noise: float = 1.0, roll: float | None = None
                 ) -> Iterator[tuple[str, Landmarks, HumanoidClip]]:
    """(name, landmarks, truth) of each held-out mocap sequence (or of `files`) through the synthetic
    camera/noise model, the same draws on every run, cleaned as the pipeline cleans MediaPipe's output. A file
    whose skeleton cannot be mapped is skipped, as training skips it. noise: synth.synthesize's (0: exact
    landmarks, the same cameras). roll: the cameras held at this roll (radians) instead of their own."""
    from animgen_ml import clean, mocap
    from animgen_ml.train import held_out_files

    files = held_out_files(data_dir) if files is None else files
    measured = 0
    for k, f in enumerate(files):
        if limit and measured == limit:
            break
        try:
            clip = mocap.load_clip(f)
        except InputError as e:
            log(f"skipping {f.name}: {e}")
            continue
        if clip.frame_count < MIN_FRAMES:
            log(f"skipping {f.name}: {clip.frame_count} frame(s) at 30 fps; at least {MIN_FRAMES} are measured")
            continue
        measured += 1
        rng = np.random.default_rng(seed + k)
        cam = _eval_camera(rng)
        if roll is not None:
            cam.roll = roll
        lm, yaw = synth.synthesize(clip, rng, camera=cam, noise=noise)
        yield f.stem, clean.clean(lm, None), synth.camera_target(clip, yaw)


def evaluate_mocap(data_dir: Path, limit: int | None = None, seed: int = 1234,
                   log: Callable[[str], None] = print) -> list[dict]:
    """Held-out mocap subjects through the synthetic camera/noise model."""
    gens = generators()
    rows = []
    for seq, lm, truth in mocap_inputs(data_dir, limit, seed, log=log):
        row = {"sequence": seq, "frames": truth.frame_count}
        for name, pred, dt in predictions(gens, lm):
            row[name] = clip_metrics(pred, truth) | {"seconds_per_frame": dt / truth.frame_count}
        rows.append(row)
        log(_row_line(row))
    return rows


def _eval_camera(rng: np.random.Generator) -> synth.Camera:
    """A static camera that keeps the person in view: the evaluation's MediaPipe-like input."""
    cam = synth.random_camera(rng)
    cam.yaw_rate = 0.0
    cam.distance = max(cam.distance, 5.0)
    cam.fov = max(cam.fov, np.radians(60))
    return cam


def body_lean(pred: HumanoidClip, truth: HumanoidClip) -> tuple[float, float]:
    """(mean sideways lean, mean angle) in degrees between pred's Hips-to-Head directions and truth's, both clips
    in the camera's yaw frame (metrics.sideways_lean): how far a camera's roll leans the generated body."""
    n = min(pred.frame_count, truth.frame_count)

    def axis(clip: HumanoidClip) -> np.ndarray:
        world, _ = clip.world()
        d = world[:n, clip.bones.index("Head")] - world[:n, clip.bones.index("Hips")]
        return d / np.linalg.norm(d, axis=-1, keepdims=True)

    a, b = axis(pred), axis(truth)
    return metrics.sideways_lean(a, b), float(np.degrees(np.arccos(np.clip((a * b).sum(-1), -1.0, 1.0)).mean()))


def read_trc(path: Path) -> tuple[list[str], np.ndarray, float]:
    """Marker names, positions (T, M, 3) in metres, and the frame rate of a TRC file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    rate = float(lines[2].split()[0])
    names = [n for n in lines[3].split("\t")[2:] if n.strip()]
    rows = [ln.split("\t") for ln in lines[5:] if ln.strip()]
    data = np.array([[float(v) if v.strip() else np.nan for v in r[2:2 + 3 * len(names)]] for r in rows])
    return names, data.reshape(len(rows), len(names), 3), rate


def _similarity(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """pred (T, J, 3) aligned to true by ONE similarity transform over all frames."""
    T, J = pred.shape[:2]
    aligned = metrics.procrustes(pred.reshape(1, T * J, 3), true.reshape(1, T * J, 3))
    return aligned.reshape(T, J, 3)


CONTACT_HEIGHT_M = 0.05  # reference heel/toe this close to its floor ...
CONTACT_SPEED_MS = 0.35  # ... and this slow (horizontal, over +-2 frames) is planted


def reference_contacts(heel: np.ndarray, toe: np.ndarray, fps: float) -> np.ndarray:
    """(T, 2) planted left/right feet of the triangulated reference; heel, toe: (T, 2, 3) markers, +Y up.

    The floor is the 5th percentile of the lower marker; speeds are over a 5-frame span, which the
    triangulation's frame-to-frame noise (~1 cm) cannot fake as motion."""
    low = np.minimum(heel[..., 1], toe[..., 1])  # (T, 2)
    floor = np.nanpercentile(low, 5)
    out = np.zeros(low.shape, dtype=bool)
    k = min(2, (len(low) - 1) // 2)
    for pts in (heel, toe):
        xz = pts[..., [0, 2]]
        if k < 1:
            continue
        speed = np.full(low.shape, np.inf)
        speed[k:-k] = np.linalg.norm(xz[2 * k:] - xz[:-2 * k], axis=-1) * fps / (2 * k)
        speed[:k], speed[-k:] = speed[k], speed[-k - 1]
        out |= (pts[..., 1] < floor + CONTACT_HEIGHT_M) & (speed < CONTACT_SPEED_MS)
    return out


def evaluate_pose2sim(data_dir: Path, limit: int | None = None, log: Callable[[str], None] = print) -> list[dict]:
    """Real videos through real MediaPipe against the triangulated reference."""
    from animgen_ml import clean, pose

    root = data_dir / "videos" / "multiview_pose2sim_balancing"
    names, ref, rate = read_trc(root / "reference_3d" / "BalancingTrial_0-100.trc")
    ours = list(P2S_JOINTS)
    ref = ref[:, [names.index(P2S_JOINTS[b]) for b in ours]]
    # Contacts from the Butterworth-filtered triangulation (the same points, less jitter).
    fnames, filt, _ = read_trc(root / "reference_3d" / "BalancingTrial_filt_butterworth_0-100.trc")
    marker = lambda m: filt[:, [fnames.index("L" + m), fnames.index("R" + m)]]  # noqa: E731
    true_contacts = reference_contacts(marker("Heel"), marker("BigToe"), rate)
    # The trial is filmed and triangulated at 60 fps; it is measured at EVAL_FPS, every other reference frame, with
    # the clip generated at that rate (--fps 30; another rate at its nearest whole fraction). Per frame at 60 fps,
    # sliding and acceleration were not the mocap tables' figures, and the network's own 30 fps steps, interpolated,
    # looked smoother than they are.
    step = max(1, int(round(rate / EVAL_FPS)))
    ref, true_contacts = ref[::step], true_contacts[::step]
    videos = sorted(root.glob("cam*.mp4"))
    videos = videos[:limit] if limit else videos
    gens = generators()
    rows = []
    for v in videos:
        lm = clean.clean(pose.extract(v), rate / step)
        T = min(lm.frame_count, len(ref))
        row = {"sequence": v.stem, "frames": T}
        for name, clip, dt in predictions(gens, lm):
            pred = _body(clip)
            world, _ = pred.world()
            pp = world[:T, [pred.bones.index(b) for b in ours]]
            feet = world[:T, [pred.bones.index("LeftFoot"), pred.bones.index("RightFoot")]]
            true = ref[:T]
            aligned = _similarity(pp, true)
            row[name] = {
                "mpjpe_mm": metrics.mpjpe(aligned, true, root=None),
                "pa_mpjpe_mm": metrics.pa_mpjpe(pp, true),
                "accel_err_mm": metrics.acceleration_error(aligned, true, root=None),
                "accel_mm": metrics.acceleration(aligned, root=None),
                "foot_slide_mm": metrics.foot_sliding(feet, true_contacts[:T]),
                "seconds_per_frame": dt / T,
            }
        row["truth_accel_mm"] = metrics.acceleration(ref[:T], root=None)
        row["truth_contact_frames"] = int(true_contacts[:T].sum())
        rows.append(row)
        log(_row_line(row))
    return rows


def evaluate_renders(data_dir: Path, limit: int | None = None, log: Callable[[str], None] = print,
                     folder: Path | None = None) -> list[dict]:
    """Rendered held-out mocap (scripts/render_mocap.py; renders.py) through real MediaPipe against the clip the
    camera saw. data_dir is unused (the takes carry their truth); folder: default renders.eval_dir()."""
    from animgen_ml import renders

    folder = Path(folder) if folder is not None else renders.eval_dir()
    files = renders.truth_files(folder)
    if not files:
        log(f"no renders in {folder}: make them with `python scripts/render_mocap.py` (needs Blender)")
        return []
    files = files[:limit] if limit else files
    gens = generators()
    rows = []
    for f in files:
        take = renders.load_take(f)
        row = {"sequence": take.name, "frames": take.truth.frame_count}
        for name, pred, dt in predictions(gens, take.landmarks):
            row[name] = clip_metrics(pred, take.truth) | {"seconds_per_frame": dt / take.truth.frame_count}
        rows.append(row)
        log(_row_line(row))
    return rows


# (folder, npz, 17-joint index of our 12 joints in P2S_JOINTS order)
_STILLS = [
    ("h36m_with_3d_gt", "test_h36m_body3d.npz", [4, 1, 5, 2, 6, 3, 11, 14, 12, 15, 13, 16]),
    ("mpi_inf_3dhp_with_3d_gt", "test_3dhp_test.npz", [11, 8, 12, 9, 13, 10, 5, 2, 6, 3, 7, 4]),
    ("mpi_inf_3dhp_with_3d_gt", "test_3dhp_train.npz", [11, 8, 12, 9, 13, 10, 5, 2, 6, 3, 7, 4]),
]


def image_landmarks(path: Path) -> Landmarks | None:
    """MediaPipe Pose on one still image (image mode), as one-frame Landmarks; None when nobody is found."""
    import cv2
    import mediapipe as mp

    bgr = cv2.imread(str(path))
    if bgr is None:  # not "nobody found": a kit without its images would have measured nothing and said so
        why = "cannot read the image" if path.is_file() else "no such image"
        raise InputError(f"{path}: {why} (is it the data kit?)")
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
        res = pose.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    if res.pose_landmarks is None or res.pose_world_landmarks is None:
        return None
    pts = lambda lst: np.array([[(p.x, p.y, p.z) for p in lst.landmark]], dtype=np.float64)  # noqa: E731
    return Landmarks(times=np.zeros(1), image=pts(res.pose_landmarks), world=pts(res.pose_world_landmarks),
                     visibility=np.array([[p.visibility for p in res.pose_landmarks.landmark]]),
                     detected=np.ones(1, dtype=bool), width=bgr.shape[1], height=bgr.shape[0], source=str(path))


def evaluate_stills(data_dir: Path, limit: int | None = None, log: Callable[[str], None] = print) -> list[dict]:
    """Single frames with 3D truth: PA-MPJPE only (no motion, no root, no contacts)."""
    gens = generators()
    rows: list[dict] = []
    ours = list(P2S_JOINTS)
    for folder, npz, order in _STILLS:
        try:
            with np.load(data_dir / "images" / folder / npz, allow_pickle=False) as z:
                names, S = [str(n) for n in z["imgname"]], z["S"][..., :3]
        except (OSError, ValueError, KeyError) as e:  # another file under the kit's name
            raise InputError(f"{data_dir / 'images' / folder / npz}: not the kit's 3D truth ({e})") from e
        for name, truth in zip(names, S, strict=True):
            if limit and len(rows) >= limit:
                return rows
            lm = image_landmarks(data_dir / "images" / folder / Path(name).name)
            if lm is None:
                log(f"{Path(name).name}: MediaPipe found nobody; skipped")
                continue
            row = {"sequence": Path(name).stem, "frames": 1}
            for method, clip, dt in predictions(gens, lm):
                pred = _body(clip)
                pp, _ = pred.world()
                pp = pp[:, [pred.bones.index(b) for b in ours]]
                row[method] = {"pa_mpjpe_mm": metrics.pa_mpjpe(pp, truth[None, order]), "seconds_per_frame": dt}
            rows.append(row)
            log(_row_line(row))
    return rows


def _row_line(row: dict) -> str:
    parts = [f"{row['sequence']:<28} {row['frames']:>5}f"]
    for m in METHODS:
        if m in row:
            r = row[m]
            parts.append(f"{m}: " + " ".join(f"{k.split('_')[0] if k != 'foot_slide_mm' else 'slide'}={v:.3g}"
                                               for k, v in r.items() if k in ("pa_mpjpe_mm", "angle_deg",
                                                                              "foot_slide_mm")))
    return " | ".join(parts)


def summarise(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Frame-weighted mean of each metric per method over sequences; contact precision, recall and F1 from the
    contact frames of all sequences pooled (a clip with few contacts, like lying down, counts by its frames). A
    sequence where any method has no value for a metric counts for none, so that all are averaged over the same."""
    out: dict[str, dict[str, float]] = {}
    finite = lambda r, k: all(np.isfinite(r[m][k]) for m in METHODS if m in r and k in r[m])  # noqa: E731
    for m in METHODS:
        rs = [r for r in rows if m in r]
        if not rs:
            continue
        w = np.array([r["frames"] for r in rs], dtype=float)
        keys = [k for k in rs[0][m] if k not in COUNT_KEYS + STEP_KEYS]
        out[m] = {}
        for k in keys:
            vals = np.array([r[m][k] for r in rs], dtype=float)
            ok = np.array([finite(r, k) for r in rs])
            out[m][k] = float(np.sum(vals[ok] * w[ok]) / np.sum(w[ok])) if ok.any() else float("nan")
        if COUNT_KEYS[0] in rs[0][m]:
            out[m].update(metrics.scores_from_counts(*(sum(r[m][k] for r in rs) for k in COUNT_KEYS)))
        if STEP_KEYS[0] in rs[0][m]:
            out[m].update(metrics.step_scores(*(sum(r[m][k] for r in rs) for k in STEP_KEYS)))
    return out


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """Side-by-side text table: one block per dataset, one row per metric."""
    lines = []
    for ds, res in results.items():
        methods = [m for m in METHODS if m in res]
        lines.append(f"\n[{ds}]")
        width = max(12, *(len(m) + 2 for m in methods))
        lines.append(f"{'metric':<20}" + "".join(f"{m:>{width}}" for m in methods))
        for k in res[methods[0]]:
            lines.append(f"{k:<20}" + "".join(f"{res[m].get(k, float('nan')):>{width}.4g}" for m in methods))
    return "\n".join(lines)


# What each dataset reads from the data kit (the renders are made by this project, under build/): files, and
# patterns of which at least one must match.
_P2S = "videos/multiview_pose2sim_balancing"
REQUIRED = {"pose2sim": [f"{_P2S}/reference_3d/BalancingTrial_0-100.trc",
                         f"{_P2S}/reference_3d/BalancingTrial_filt_butterworth_0-100.trc", f"{_P2S}/cam*.mp4"],
            "stills": [f"images/{folder}/{npz}" for folder, npz, _ in _STILLS]}


def _missing(data_dir: Path, ds: str) -> str | None:
    """The first thing the dataset's evaluation reads that the kit lacks, or None. The mocap set is the kit's
    held-out subject, or any folder's BVH files (train.held_out_files)."""
    from animgen_ml.train import HELD_OUT, held_out_files, kit_mocap

    if ds == "mocap":
        if held_out_files(data_dir):
            return None
        return "BVH files" if kit_mocap(data_dir) is None else f"mocap/{HELD_OUT[0]}/*.bvh"
    return next((p for p in REQUIRED.get(ds, []) if not any(data_dir.glob(p))), None)


def run(data_dir: Path, datasets: list[str] | None = None, limit: int | None = None,
        log: Callable[[str], None] = print) -> tuple[dict, dict]:
    """(summary {dataset: {method: {metric: value}}}, per-sequence rows {dataset: [...]})."""
    summary, rows = {}, {}
    for ds in datasets or list(DATASETS):  # every dataset's data checked before any is evaluated
        if missing := _missing(data_dir, ds):
            raise InputError(f"{data_dir}: no {missing} for the {ds} evaluation (is it the data kit?)")
    for ds in datasets or list(DATASETS):
        log(f"== {ds}")
        if ds == "mocap":
            rows[ds] = evaluate_mocap(data_dir, limit, log=log)
        elif ds == "pose2sim":
            rows[ds] = evaluate_pose2sim(data_dir, limit, log=log)
        elif ds == "stills":
            rows[ds] = evaluate_stills(data_dir, limit, log=log)
        elif ds == "renders":
            rows[ds] = evaluate_renders(data_dir, limit, log=log)
        else:
            raise InputError(f"unknown evaluation dataset {ds!r}: use {', '.join(DATASETS)}")
        if rows[ds]:  # a dataset with nothing to measure (no renders made) is left out of the summary
            summary[ds] = summarise(rows[ds])
        elif ds == "mocap":  # its files were there (_missing): each was skipped, and a gate must not read {} as a pass
            raise InputError(f"{data_dir}: no mocap sequence could be measured (each file was skipped above)")
    return summary, rows
