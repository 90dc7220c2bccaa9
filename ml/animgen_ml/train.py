"""Training the generator: mocap clips -> MediaPipe-like landmarks -> network.

One loop you can read in one sitting. Each step draws random windows: most from random mocap clips (mirrored
half the time) filmed by a random synthetic camera (synth.py), some (TrainConfig.take_share) from rendered takes
of the same mocap on rigged characters with real MediaPipe output (renders.py; made by scripts/render_mocap.py
--split train; none by default, see take_share). It fits the network's world rotations (6-D, as matrices) and
the local ones they imply, FK joint positions, joint velocities, the feet's clearance above the floor, the root's
velocity, and foot contacts.
The data are the kit's licence-clear mocap only (CMU, SFU, DeepMimic's MIT clips), with the ACCAD Female1 subject
held out for evaluation. Clips shorter than a training window are left out.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from animgen_ml import model as M
from animgen_ml import network, synth
from animgen_ml import rotations as R
from animgen_ml.clip import HumanoidClip
from animgen_ml.errors import AnimGenError, InputError
from animgen_ml.files import atomic_path
from animgen_ml.renders import Take, load_take, slice_landmarks, train_dir, truth_files

# Folders of ../shared/data/mocap used for the shipped weights: commercial use allowed, no share-alike.
TRAIN_SETS = ("cmu_iclone_ccrig", "cmu_salsa_daz_30fps", "cmu_motionpred_expmap", "cmu_cgspeed_misc",
              "sfu_accad_terrainrl", "animdraw_prhist/cmu_db", "deepmimic_humanoid3d/deepmimic")
DEEPMIMIC_GLOB = "humanoid3d_*.txt"  # DeepMimic's motion files (MIT; deepmimic.py reads them)
# The only floor work in the licence-clear mocap (DeepMimic's crawl, get-ups and roll, 12 s; keys follow
# "humanoid3d_" in their file names): drawn this many times as often as their length alone would make them, so
# that lying and crawling are not a rare sight.
FLOOR_WORK = {"crawl": 8.0, "getup": 8.0, "roll": 8.0}
HELD_OUT = ("accad_female1",)  # a whole subject (and a whole lab) never seen in training
EXCLUDE = ("mocapnet",)  # FORTH's re-sampled copy: its host licence is non-commercial
WORKERS = 1  # a process making batches (about half the cost of the network's step) while the network steps
# Fine-tuning's peak learning rate (--init): at the full 2e-3 the shipped weights' loss jumped from 1.0 to 7.6 at
# the first step; ml/EXPERIMENTS.md's fine-tunes used this.
FINE_TUNE_LR = 2e-4
LOSS_WEIGHTS = {"rot": 1.0, "local": 1.0, "pos": 8.0, "vel": 20.0, "root": 2.0, "contact": 0.5}


@dataclass
class TrainConfig:
    config: str = "small"
    steps: int = 10454  # the shipped weights' recipe (about 27 minutes on the project's 2-core CPU)
    minutes: float | None = None  # a time budget instead of steps; the learning rate then follows the clock
    batch: int = 24
    window: int = 96
    lr: float = 2e-3
    seed: int = 0
    # Share of windows from rendered takes (when there are any). 0 for the shipped weights: a quarter of windows
    # from the Quaternius takes made real videos worse (Pose2Sim PA-MPJPE 103.8 -> 114.2 mm, stills 114 -> 133 mm;
    # ml/EXPERIMENTS.md, "Rendered takes in training"), while fitting the noise model to them helped.
    take_share: float = 0.0
    takes_dir: Path | None = None  # default renders.train_dir()
    # Fine-tuning: start from these weights (a network.save file, e.g. the shipped ones) instead of from scratch,
    # with their network size; batch norm stays as trained (network.freeze_norm).
    init: Path | None = None


def bvh_files(folder: Path) -> list[Path]:
    """Every BVH file under folder, in order, whatever the case of its suffix (Windows tools write Take01.BVH)."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() == ".bvh" and p.is_file())


def mocap_files(data_dir: Path, sets: tuple[str, ...], exclude: tuple[str, ...] = EXCLUDE) -> list[Path]:
    """The BVH and DeepMimic motion files of each of sets (folders under data_dir), but those whose name holds any of
    exclude (the data kit's files it must not train on)."""
    files = []
    for s in sets:
        found = bvh_files(data_dir / s) + sorted((data_dir / s).rglob(DEEPMIMIC_GLOB))
        files += [f for f in found if not any(e in f.name for e in exclude)]
    return files


def kit_mocap(data_dir: Path) -> Path | None:
    """The data kit's mocap folder where DIR is the kit or that folder (it holds any of TRAIN_SETS or HELD_OUT),
    else None: a folder of one's own capture."""
    return next((m for m in (data_dir / "mocap", data_dir) if any((m / s).is_dir() for s in TRAIN_SETS + HELD_OUT)),
                None)


def training_files(data_dir: Path) -> tuple[list[Path], list[str]]:
    """What `animgen train --data DIR` trains on, and the sets to record: in the data kit, its licence-clear sets
    only, never the held-out subject or the others; in any other folder, every BVH and DeepMimic motion file under
    it (a studio's own capture)."""
    mocap = kit_mocap(data_dir)
    if mocap is not None:
        return mocap_files(mocap, TRAIN_SETS), list(TRAIN_SETS)
    return mocap_files(data_dir, ("",), exclude=()), [str(data_dir)]


def held_out_files(data_dir: Path) -> list[Path]:
    """What `animgen evaluate mocap --data DIR` measures, in a fixed order: in the data kit, the held-out subject's
    BVH files (never a training set's); in any other folder, every BVH file under it (a studio's own held-out
    takes)."""
    mocap = kit_mocap(data_dir)
    if mocap is not None:
        return [f for s in HELD_OUT for f in bvh_files(mocap / s)]
    return bvh_files(data_dir)


def load_clips(files: list[Path], min_frames: int) -> list[HumanoidClip]:
    """Each clip and its mirror image, with metadata["train_weight"] (FLOOR_WORK, as text) for make_batch."""
    from animgen_ml import deepmimic, mocap

    clips, short = [], []
    for f in files:
        try:
            c = deepmimic.load_clip(f) if f.suffix == ".txt" else mocap.load_clip(f)
        except InputError as e:  # a skeleton we cannot map: skip it, say so
            print(f"skipping {f.name}: {e}", file=sys.stderr)
            continue
        weight = next((w for k, w in FLOOR_WORK.items()
                       if f.suffix == ".txt" and f.stem.startswith(f"humanoid3d_{k}")), 1.0)
        c.metadata["train_weight"] = repr(weight)  # metadata holds strings (it is exported); repr round-trips
        if c.frame_count >= min_frames:
            clips += [c, synth.mirror_clip(c)]
        else:
            short.append(f.name)
    if short:
        print(f"left out {len(short)} clip(s) shorter than the {min_frames}-frame training window "
              f"({min_frames / M.TRAIN_FPS:.1f} s at {M.TRAIN_FPS:g} fps): {', '.join(short[:3])}"
              + (", ..." if len(short) > 3 else ""), file=sys.stderr)
    return clips


def window(clip: HumanoidClip, start: int, length: int) -> HumanoidClip:
    sl = slice(start, start + length)
    return HumanoidClip(bones=list(clip.bones), rest_offsets=clip.rest_offsets, fps=clip.fps, hips=clip.hips[sl],
                        rotations=clip.rotations[sl], contacts=clip.contacts[sl], confidence=clip.confidence[sl],
                        name=clip.name, metadata=clip.metadata)


@dataclass
class Motion:
    """A training clip with its forward kinematics, computed once: every window of it slices both."""
    clip: HumanoidClip
    pos: np.ndarray  # (T, B, 3) clip.world()
    rot: np.ndarray  # (T, B, 4)

    @classmethod
    def of(cls, clip: HumanoidClip) -> Motion:
        return cls(clip, *clip.world())

    def window(self, start: int, length: int) -> tuple[HumanoidClip, tuple[np.ndarray, np.ndarray]]:
        sl = slice(start, start + length)
        return window(self.clip, start, length), (self.pos[sl], self.rot[sl])


def targets(clip: HumanoidClip, world: tuple[np.ndarray, np.ndarray], yaw: np.ndarray) -> dict[str, np.ndarray]:
    """What the network should output for a window filmed from camera yaws (T,) (synth.synthesize): the clip in
    the camera's yaw frame, as synth.camera_target turns it, from the clip's world (clip.world()) turned about +Y
    instead of a second forward kinematics. Heights, and so the clearance, do not change with the turn."""
    pos, rot = world
    q = synth.yaw_frame(yaw)
    v = np.diff(synth.hips_in_yaw_frame(clip.hips, q)[:, [0, 2]], axis=0)
    return {
        "rotm": R.to_matrix(R.multiply(q[:, None], rot)),  # the network predicts world rotations in that frame
        "localm": R.to_matrix(clip.rotations[:, 1:]),  # ... and is also judged on the local ones below the hips
        "offsets": clip.rest_offsets, "clearance": M.sole_height(clip, world),
        "velocity": np.concatenate([v, v[-1:]]), "contacts": clip.contacts,
        "pos": R.apply(q[:, None], pos - pos[:, :1]),
    }


def make_batch(motions: list[Motion], rng: np.random.Generator, batch: int, length: int,
               takes: Sequence[Take] = (), take_share: float = 0.0) -> dict:
    """Inputs and targets for `batch` random windows: from rendered takes (real MediaPipe output) with
    probability take_share, else from mocap clips filmed by a random synthetic camera."""
    weights = np.array([m.clip.frame_count * float(m.clip.metadata.get("train_weight", "1.0")) for m in motions])
    p = weights / weights.sum() if motions else None
    samples = []
    for _ in range(batch):
        if takes and rng.random() < take_share:
            take = takes[int(rng.integers(len(takes)))]
            s = int(rng.integers(0, take.truth.frame_count - length + 1))
            lm, tgt = slice_landmarks(take.landmarks, s, s + length), window(take.truth, s, length)
            out = targets(tgt, tgt.world(), np.zeros(length))  # the take's truth is in the yaw frame already
        else:
            m = motions[int(rng.choice(len(motions), p=p))]
            w, world = m.window(int(rng.integers(0, m.clip.frame_count - length + 1)), length)
            lm, yaw = synth.synthesize(w, rng, clip_world=world)
            out = targets(w, world, yaw)
        samples.append({"x": M.features(lm)} | out)
    return {k: torch.from_numpy(np.stack([s[k] for s in samples]).astype(np.float32)) for k in samples[0]}


def load_takes(folder: Path, length: int, min_detected: float = 0.9) -> list[Take]:
    """The rendered training takes in a folder that are long enough and where MediaPipe found the character in
    most frames (a lost character teaches nothing about MediaPipe's errors)."""
    out = []
    for f in truth_files(folder):
        try:
            take = load_take(f)
        except InputError:  # MediaPipe found nobody in the video at all
            continue
        if take.truth.frame_count >= length and take.landmarks.detection_rate >= min_detected:
            out.append(take)
    return out


class Batches(torch.utils.data.IterableDataset):
    """An endless stream of make_batch batches, made in WORKERS processes so that synthesis overlaps the network's
    step; each worker has its own seeded generator, so a seed gives the same sequence."""

    def __init__(self, motions: list[Motion], cfg: TrainConfig, takes: Sequence[Take] = ()) -> None:
        self.motions, self.cfg, self.takes = motions, cfg, list(takes)

    def __iter__(self):
        worker = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.cfg.seed, worker.id if worker else 0])  # one stream per worker
        while True:
            yield make_batch(self.motions, rng, self.cfg.batch, self.cfg.window, self.takes, self.cfg.take_share)


def losses(net: network.TemporalNet, b: dict) -> dict[str, torch.Tensor]:
    out = net(b["x"])
    rotm = network.rot6_to_matrix(out["rot6"])
    pos = network.fk_torch(rotm, b["offsets"])
    true_pos = b["pos"]
    # Local (parent-relative) rotations: what the clip stores and the angle metric reads; world rotations alone
    # leave a bone's error relative to its parent's error free.
    local = rotm[..., M.PARENTS[1:].tolist(), :, :].transpose(-1, -2) @ rotm[..., 1:, :, :]
    terms = {
        "rot": (rotm - b["rotm"]).abs().mean(),
        "local": (local - b["localm"]).abs().mean(),
        "pos": (pos - true_pos).abs().mean(),
        "vel": (pos.diff(dim=1) - true_pos.diff(dim=1)).abs().mean(),
        "root": (out["clearance"] - b["clearance"]).abs().mean() + 10 * (out["velocity"] - b["velocity"]).abs().mean(),
        "contact": torch.nn.functional.binary_cross_entropy_with_logits(out["contact_logits"], b["contacts"]),
    }
    terms["total"] = sum(LOSS_WEIGHTS[k] * v for k, v in terms.items())
    return terms


LOG_EVERY_S = 60.0  # without a terminal, a progress line this often


def outputs(out_dir: Path, name: str) -> tuple[Path, Path, Path]:
    """The files train writes: the weights, the loss history (JSON) and its curve (PNG)."""
    return out_dir / f"{name}.npz", out_dir / f"{name}.history.json", out_dir / f"{name}.loss.png"


def train(data_dir: Path, out_dir: Path, cfg: TrainConfig, files: list[Path] | None = None,
          name: str = M.DEFAULT_NAME, quiet: bool = False) -> dict:
    """Train, save out_dir/<name>.npz, a loss-curve PNG and a JSON history; returns a summary."""
    torch.manual_seed(cfg.seed)
    start = M.load_file(cfg.init) if cfg.init else None  # a bad file fails now, not after loading the mocap
    if start is not None and not isinstance(start.info.get("config"), dict):
        raise InputError(f"{cfg.init}: its info names no network config to fine-tune")
    files, sets = (files, list(TRAIN_SETS)) if files is not None else training_files(data_dir)
    if not files:
        raise InputError(f"{data_dir}: no BVH or DeepMimic motion files in it (nor the data kit's mocap/ sets)")
    t0 = time.perf_counter()
    clips = load_clips(files, cfg.window)
    if not clips:
        raise InputError(f"{data_dir}: none of its {len(files)} motion file(s) gave a training clip (each was skipped "
                         f"above, or is shorter than the {cfg.window}-frame training window)")
    frames = sum(c.frame_count for c in clips) // 2
    takes = load_takes(cfg.takes_dir or train_dir(), cfg.window) if cfg.take_share > 0 else []
    if cfg.take_share > 0 and not quiet:
        print(f"{len(takes)} rendered takes ({sum(t.truth.frame_count for t in takes)} frames) from "
              f"{cfg.takes_dir or train_dir()}" + ("" if takes else ": none, so synthetic inputs only (make them "
                                                   "with `python scripts/render_mocap.py --split train`)"),
              file=sys.stderr)
    if start is not None:
        net = network.from_export(start.params, start.info["config"])
    else:
        net = network.build(cfg.config)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    motions = [Motion.of(c) for c in clips]
    batches = iter(torch.utils.data.DataLoader(Batches(motions, cfg, takes), batch_size=None, num_workers=WORKERS,
                                               prefetch_factor=4))
    started = time.perf_counter()
    history: list[dict] = []
    # A bar on a terminal; in a log (no terminal) its carriage returns pile up, so a plain line now and then.
    terminal = sys.stderr.isatty()
    bar = tqdm(total=None if cfg.minutes else cfg.steps, disable=quiet or not terminal, desc="train", unit="step")
    logged = started
    step = 0
    while True:
        frac = (time.perf_counter() - started) / (cfg.minutes * 60) if cfg.minutes else step / cfg.steps
        if frac >= 1 and step > 0:  # at least one step, however short the time budget
            break
        frac = min(frac, 1.0)
        # Cosine learning-rate decay over the steps or the time budget.
        for g in opt.param_groups:
            g["lr"] = cfg.lr * (0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * frac)))
        net.train()
        if start is not None:
            network.freeze_norm(net)
        terms = losses(net, next(batches))
        if not torch.isfinite(terms["total"]):  # e.g. a clip with values that are not numbers: say so, save nothing
            raise AnimGenError(f"training step {step + 1}: the loss is not a finite number; stopped, nothing written")
        opt.zero_grad()
        terms["total"].backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        history.append({k: float(v.detach()) for k, v in terms.items()} | {"step": step})
        step += 1
        bar.update(1)
        if step % 10 == 0:
            bar.set_postfix(loss=f"{np.mean([h['total'] for h in history[-10:]]):.4f}")
        if not (quiet or terminal) and time.perf_counter() - logged >= LOG_EVERY_S:
            logged = time.perf_counter()
            print(f"train: step {step}{'' if cfg.minutes else f'/{cfg.steps}'}, loss "
                  f"{np.mean([h['total'] for h in history[-10:]]):.4f}, {(logged - started) / 60:.1f} min",
                  file=sys.stderr, flush=True)
    bar.close()
    out_dir.mkdir(parents=True, exist_ok=True)
    config = start.info["config"] if start is not None else network.CONFIGS[cfg.config] | {"name": cfg.config}
    info: dict[str, Any]  # JSON, as network.save writes it
    info = {"name": name, "config": dict(config), "steps": step,
            "seconds": round(time.perf_counter() - t0, 1), "train_files": len(files), "train_frames": int(frames),
            "batch": cfg.batch, "window": cfg.window, "seed": cfg.seed, "sets": sets,
            "takes": len(takes), "take_frames": sum(t.truth.frame_count for t in takes),
            "take_share": cfg.take_share if takes else 0.0, "lr": cfg.lr,
            "held_out": list(HELD_OUT), "date": time.strftime("%Y-%m-%d"), "torch": str(torch.__version__)}
    info["config"]["dilations"] = list(info["config"]["dilations"])
    if start is not None:  # what it was fine-tuned from
        info["init"] = {k: start.info.get(k) for k in ("name", "steps", "seconds", "date", "take_share")}
    # Each written aside and renamed (files.atomic_path); the weights last, so that a run stopped in between leaves
    # the earlier weights with at most a newer history and curve.
    weights, history_json, curve = outputs(out_dir, name)
    with atomic_path(history_json) as tmp:
        tmp.write_text(json.dumps(history), encoding="utf-8")
    with atomic_path(curve) as tmp:
        plot_history(history, tmp)
    network.save(net, weights, info)
    return {"path": str(weights), "steps": step, "info": info, "history": history,
            "final_loss": history[-1]["total"] if history else None,
            "first_loss": history[0]["total"] if history else None}


def plot_history(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    steps = [h["step"] for h in history]
    k = max(1, len(history) // 100)
    for key in ("total", *LOSS_WEIGHTS):
        v = np.convolve([h[key] * (LOSS_WEIGHTS.get(key, 1.0)) for h in history], np.ones(k) / k, mode="valid")
        ax.plot(steps[: len(v)], v, label=key + ("" if key == "total" else " (weighted)"))
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    ax.set_title("AnimGen generator training loss")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
