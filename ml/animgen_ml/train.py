"""Training the generator: mocap clips -> synthetic MediaPipe-like landmarks on the fly -> network.

One loop you can read in one sitting. Each step draws random windows from random clips (mirrored half the
time), films them with a random camera (synth.py), and fits the network's world rotations (6-D, as matrices)
and the local ones they imply, FK joint positions, joint velocities, root height and velocity, and foot contacts.
The data are the kit's licence-clear mocap only (CMU, ACCAD Male1, SFU), with the ACCAD Female1 subject
held out for evaluation.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from animgen_ml import model as M
from animgen_ml import network, synth
from animgen_ml import rotations as R
from animgen_ml.clip import HumanoidClip
from animgen_ml.errors import InputError

# Folders of ../shared/data/mocap used for the shipped weights: commercial use allowed, no share-alike.
TRAIN_SETS = ("cmu_iclone_ccrig", "cmu_salsa_daz_30fps", "cmu_motionpred_expmap", "cmu_cgspeed_misc",
              "sfu_accad_terrainrl", "animdraw_prhist/cmu_db")
HELD_OUT = ("accad_female1",)  # a whole subject (and a whole lab) never seen in training
EXCLUDE = ("mocapnet",)  # FORTH's re-sampled copy: its host licence is non-commercial
LOSS_WEIGHTS = {"rot": 1.0, "local": 1.0, "pos": 8.0, "vel": 20.0, "root": 2.0, "contact": 0.5}


@dataclass
class TrainConfig:
    config: str = "small"
    minutes: float = 12.0
    steps: int | None = None
    batch: int = 24
    window: int = 96
    lr: float = 2e-3
    seed: int = 0


def mocap_files(data_dir: Path, sets: tuple[str, ...]) -> list[Path]:
    files = []
    for s in sets:
        files += [f for f in sorted((data_dir / s).rglob("*.bvh")) if not any(e in f.name for e in EXCLUDE)]
    return files


def held_out_files(data_dir: Path) -> list[Path]:
    """The held-out subjects' BVH files (evaluation only), in a fixed order."""
    return [f for s in HELD_OUT for f in sorted((data_dir / "mocap" / s).rglob("*.bvh"))]


def load_clips(files: list[Path], min_frames: int) -> list[HumanoidClip]:
    from animgen_ml import mocap

    clips = []
    for f in files:
        try:
            c = mocap.load_clip(f)
        except InputError as e:  # a skeleton we cannot map: skip it, say so
            print(f"skipping {f.name}: {e}")
            continue
        if c.frame_count >= min_frames:
            clips += [c, synth.mirror_clip(c)]
    return clips


def window(clip: HumanoidClip, start: int, length: int) -> HumanoidClip:
    sl = slice(start, start + length)
    return HumanoidClip(bones=list(clip.bones), rest_offsets=clip.rest_offsets, fps=clip.fps, hips=clip.hips[sl],
                        rotations=clip.rotations[sl], contacts=clip.contacts[sl], confidence=clip.confidence[sl],
                        name=clip.name, metadata=clip.metadata)


def make_batch(clips: list[HumanoidClip], rng: np.random.Generator, batch: int, length: int) -> dict:
    """Synthetic inputs and targets for `batch` random windows."""
    weights = np.array([c.frame_count for c in clips], dtype=float)
    xs, rots, locs, offs, heights, vels, cons, poss = [], [], [], [], [], [], [], []
    for k in rng.choice(len(clips), size=batch, p=weights / weights.sum()):
        c = clips[k]
        w = window(c, int(rng.integers(0, c.frame_count - length + 1)), length)
        lm, yaw = synth.synthesize(w, rng)
        tgt = synth.camera_target(w, yaw)
        xs.append(M.features(lm))
        pos, world = tgt.world()
        rots.append(R.to_matrix(world))  # the network predicts world rotations in the camera's yaw frame
        locs.append(R.to_matrix(tgt.rotations[:, 1:]))  # ... and is also judged on the local ones below the hips
        offs.append(tgt.rest_offsets)
        heights.append(tgt.hips[:, 1])
        v = np.diff(tgt.hips[:, [0, 2]], axis=0)
        vels.append(np.concatenate([v, v[-1:]], axis=0))
        cons.append(tgt.contacts)
        poss.append(pos - pos[:, :1])
    f = lambda a: torch.tensor(np.stack(a), dtype=torch.float32)  # noqa: E731
    return {"x": f(xs), "rotm": f(rots), "localm": f(locs), "offsets": f(offs), "height": f(heights),
            "velocity": f(vels), "contacts": f(cons), "pos": f(poss)}


class Batches(torch.utils.data.IterableDataset):
    """An endless stream of make_batch batches from one seeded generator: the same sequence for a seed, made in a
    worker process so that synthesis overlaps the network's step (it costs about as much)."""

    def __init__(self, clips: list[HumanoidClip], cfg: TrainConfig) -> None:
        self.clips, self.cfg = clips, cfg

    def __iter__(self):
        rng = np.random.default_rng(self.cfg.seed)
        while True:
            yield make_batch(self.clips, rng, self.cfg.batch, self.cfg.window)


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
        "root": (out["height"] - b["height"]).abs().mean() + 10 * (out["velocity"] - b["velocity"]).abs().mean(),
        "contact": torch.nn.functional.binary_cross_entropy_with_logits(out["contact_logits"], b["contacts"]),
    }
    terms["total"] = sum(LOSS_WEIGHTS[k] * v for k, v in terms.items())
    return terms


def train(data_dir: Path, out_dir: Path, cfg: TrainConfig, files: list[Path] | None = None,
          name: str = M.DEFAULT_NAME, quiet: bool = False) -> dict:
    """Train, save out_dir/<name>.npz, a loss-curve PNG and a JSON history; returns a summary."""
    torch.manual_seed(cfg.seed)
    files = files if files is not None else mocap_files(data_dir / "mocap", TRAIN_SETS)
    if not files:
        raise InputError(f"{data_dir}: no training BVH files found under mocap/")
    t0 = time.perf_counter()
    clips = load_clips(files, cfg.window)
    if not clips:
        raise InputError(f"{data_dir}: no training clip is at least {cfg.window} frames long")
    frames = sum(c.frame_count for c in clips) // 2
    net = network.build(cfg.config)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    batches = iter(torch.utils.data.DataLoader(Batches(clips, cfg), batch_size=None, num_workers=1,
                                               prefetch_factor=4))
    deadline = time.perf_counter() + cfg.minutes * 60
    total = cfg.steps or 10**9
    history: list[dict] = []
    bar = tqdm(total=cfg.steps, disable=quiet, desc="train", unit="step")
    step = 0
    while step < total and (cfg.steps is not None or time.perf_counter() < deadline):
        # Cosine learning-rate decay over the step budget or the time budget, whichever applies.
        frac = step / cfg.steps if cfg.steps else 1 - (deadline - time.perf_counter()) / (cfg.minutes * 60)
        for g in opt.param_groups:
            g["lr"] = cfg.lr * (0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * min(frac, 1.0))))
        net.train()
        terms = losses(net, next(batches))
        opt.zero_grad()
        terms["total"].backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        history.append({k: float(v.detach()) for k, v in terms.items()} | {"step": step})
        step += 1
        bar.update(1)
        if step % 10 == 0:
            bar.set_postfix(loss=f"{np.mean([h['total'] for h in history[-10:]]):.4f}")
    bar.close()
    out_dir.mkdir(parents=True, exist_ok=True)
    info = {"name": name, "config": network.CONFIGS[cfg.config] | {"name": cfg.config}, "steps": step,
            "seconds": round(time.perf_counter() - t0, 1), "train_files": len(files), "train_frames": int(frames),
            "batch": cfg.batch, "window": cfg.window, "seed": cfg.seed, "sets": list(TRAIN_SETS),
            "held_out": list(HELD_OUT), "date": time.strftime("%Y-%m-%d"), "torch": str(torch.__version__)}
    info["config"]["dilations"] = list(info["config"]["dilations"])
    network.save(net, out_dir / f"{name}.npz", info)
    (out_dir / f"{name}.history.json").write_text(json.dumps(history))
    plot_history(history, out_dir / f"{name}.loss.png")
    return {"path": str(out_dir / f"{name}.npz"), "steps": step, "info": info, "history": history,
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
