"""`animgen train` and `animgen evaluate`: the neural generator's training and its measured accuracy."""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from animgen_ml.errors import InputError
from animgen_ml.files import read_only
from animgen_server.cli import add_model_option, usage

if TYPE_CHECKING:
    from animgen_ml.train import TrainConfig


def register(subparsers) -> None:
    t = subparsers.add_parser(
        "train", help="train the neural animation generator on the mocap kit",
        description="Train the generator on the licence-clear mocap in DATA/mocap (or on every BVH or DeepMimic motion "
                    "file under a folder of your own) with synthetic MediaPipe-like "
                    "inputs (MediaPipe's errors as fitted to rendered takes), and with --render-share also on real "
                    "MediaPipe output on those takes; --init fine-tunes existing weights. Writes OUT/<name>.npz, "
                    "OUT/<name>.loss.png and OUT/<name>.history.json. With no options: the shipped weights' recipe.")
    t.add_argument("--data", metavar="DIR", help="the data kit, whose licence-clear sets are trained on (default: "
                                                 "$ANIMGEN_SHARED_DATA, else ../shared/data), or a folder of your "
                                                 "own BVH (or DeepMimic) files, every one under it")
    t.add_argument("--out", metavar="DIR", help="output folder (default: the package's weights folder)")
    t.add_argument("--config", choices=("small", "tiny"), default="small", help="network size (default small)")
    t.add_argument("--steps", type=int, default=None,
                   help="training steps (default: as many as the shipped weights had)")
    t.add_argument("--minutes", type=float, default=None,
                   help="train for this long instead of a number of steps (the learning rate follows the clock)")
    t.add_argument("--seed", type=int, default=0,
                   help="seed of the network's start and of the batches' draws (default 0, the shipped weights')")
    t.add_argument("--renders", metavar="DIR", help="rendered training takes (default: build/renders_train, or "
                                                     "$ANIMGEN_TRAIN_RENDERS)")
    t.add_argument("--render-share", type=float, default=0.0, metavar="P",
                   help="share of training windows from rendered takes (scripts/render_mocap.py --split train), "
                        "when there are any (default 0: the shipped weights use them only through the noise model)")
    t.add_argument("--init", metavar="WEIGHTS", help="fine-tune: start from these weights (e.g. the shipped "
                                                     "animgen_tcn.npz) instead of from scratch, with their size")
    t.add_argument("--lr", type=float, default=None,
                   help="peak learning rate, cosine-decayed (default 0.002; 0.0002 with --init)")
    t.add_argument("--name", default=None, help="weights name (default animgen_tcn)")
    t.set_defaults(handler=_train)

    e = subparsers.add_parser(
        "evaluate", help="measure the network and the analytic baseline against ground truth",
        description="Run the generators on data with ground truth and print per-sequence and overall metrics "
                    "side by side, each generator as `animgen generate` runs it (cleaned landmarks, smoothing 0.5) "
                    "and again through refine, every set at 30 fps. DATASET: mocap (the held-out subject, ACCAD "
                    "Female1, synthetic camera/noise; with --data a folder of your own BVH files, every one under "
                    "it), pose2sim (real videos, triangulated reference), stills (H36M / 3DHP frames), renders "
                    "(held-out mocap on a character, rendered by scripts/render_mocap.py). No DATASET: all of them.")
    e.add_argument("datasets", nargs="*", metavar="DATASET")
    e.add_argument("--data", metavar="DIR", help="the data kit (default: $ANIMGEN_SHARED_DATA, else ../shared/data)")
    e.add_argument("--json", dest="json_out", metavar="OUT", help="also write {dataset: {method: {metric: v}}}")
    e.add_argument("--limit", type=int, default=None, help="at most N sequences per dataset")
    add_model_option(e)
    e.set_defaults(handler=_evaluate)


def _data_dir(arg: str | None) -> Path:
    from animgen_ml.shared_data import require_shared_data

    if arg:
        p = Path(arg)
        if not p.is_dir():
            raise InputError(f"--data {arg}: not a folder")
        return p
    try:
        return require_shared_data()
    except FileNotFoundError as e:
        raise InputError(str(e)) from e


def _train(args) -> int:
    try:
        import torch
    except ImportError as e:
        raise InputError("animgen train needs PyTorch, which generating clips does not: "
                         "pip install 'animgen[train]'") from e

    from animgen_ml import model, train

    out = Path(args.out) if args.out else model.WEIGHTS_DIR
    if args.name is not None:
        args.name = args.name.removesuffix(".npz")  # a name given as its file's: mine.npz, not mine.npz.npz
    name = args.name or model.DEFAULT_NAME
    made = None
    try:
        cfg, data = _train_config(args), _data_dir(args.data)
        made = _check_writable(out, "--out")  # now, not after half an hour of training
        for p in train.outputs(out, name):
            if p.is_dir() or read_only(p):
                raise InputError(f"--out: {p} is {'a folder' if p.is_dir() else 'read-only'}; training would end "
                                 "without a place for it")
    except InputError as e:
        _unmake(out, made)
        return usage("train", str(e))
    # One thread for the network's step: a worker process makes the batches (train.Batches, train.WORKERS).
    torch.set_num_threads(1)
    try:
        res = train.train(data, out, cfg, name=name)
    except BaseException:
        _unmake(out, made)
        raise
    print(f"trained {res['steps']} steps: loss {res['first_loss']:.4f} -> {res['final_loss']:.4f}; "
          f"weights {res['path']}")
    return 0


def _train_config(args) -> TrainConfig:
    """train.TrainConfig from the parsed flags; raises InputError on a bad value."""
    from animgen_ml import train

    if args.steps is not None and args.steps < 1:
        raise InputError(f"--steps must be >= 1, got {args.steps}")
    if args.steps is not None and args.minutes is not None:
        raise InputError("give --steps or --minutes, not both")
    if args.minutes is not None and not 0 < args.minutes <= 600:
        raise InputError(f"--minutes must be between 0 and 600, got {args.minutes}")
    if not 0.0 <= args.render_share <= 1.0:
        raise InputError(f"--render-share must be between 0 and 1, got {args.render_share}")
    if args.renders and not Path(args.renders).is_dir():
        raise InputError(f"--renders {args.renders}: not a folder")
    if args.init and not Path(args.init).is_file():
        raise InputError(f"--init {args.init}: no such weights file")
    if args.init:  # a damaged or foreign file is a bad flag, named before the output folder is made
        from animgen_ml import model

        try:
            model.load_file(args.init)
        except InputError as e:
            raise InputError(f"--init {e}") from None
    if args.seed < 0:
        raise InputError(f"--seed must be >= 0, got {args.seed}")
    if args.lr is not None and not 0 < args.lr < 1:
        raise InputError(f"--lr must be between 0 and 1, got {args.lr}")
    if args.name is not None and (not args.name or Path(args.name).name != args.name or args.name.startswith(".")):
        raise InputError(f"--name {args.name!r}: a file name, without folders (its files go to --out)")
    return train.TrainConfig(config=args.config, steps=args.steps or train.TrainConfig.steps, minutes=args.minutes,
                             seed=args.seed, take_share=args.render_share,
                             takes_dir=Path(args.renders) if args.renders else None,
                             init=Path(args.init) if args.init else None,
                             lr=args.lr or (train.FINE_TUNE_LR if args.init else train.TrainConfig.lr))


def _evaluate(args) -> int:
    from animgen_ml import evaluate

    bad = [d for d in args.datasets if d not in evaluate.DATASETS]
    if bad:
        return usage("evaluate", f"unknown dataset {bad[0]!r}: use {', '.join(evaluate.DATASETS)}")
    if args.limit is not None and args.limit < 1:
        return usage("evaluate", f"--limit must be >= 1, got {args.limit}")
    made = None
    try:
        data = _data_dir(args.data)
        if args.json_out:
            _check_json_out(Path(args.json_out), data)
            made = _check_writable(Path(args.json_out).parent, "--json")  # now, not after the evaluation
    except InputError as e:
        return usage("evaluate", str(e))
    # Progress (a line per sequence) to stderr, as every command's; the table to stdout.
    from animgen_ml import model

    if model.weights_available():
        print(f"network: {model.weights_path()}", file=sys.stderr)
    try:
        summary, rows = evaluate.run(data, args.datasets or None, args.limit, log=lambda s: print(s, file=sys.stderr))
    except BaseException:
        if args.json_out:
            _unmake(Path(args.json_out).parent, made)
        raise
    print(evaluate.table(summary))
    if args.json_out:
        from animgen_ml.files import atomic_path

        with atomic_path(args.json_out) as tmp:
            Path(tmp).write_text(json.dumps(_finite(summary), indent=2), encoding="utf-8")
        print(f"wrote {args.json_out}")
    return 0


def _check_json_out(path: Path, data: Path) -> None:
    """Raises InputError where --json would replace what it must not: a folder, a read-only file, the weights the
    run measures or a file of the data it reads (`--json mine.npz` had turned the weights into JSON)."""
    from animgen_ml import model

    if path.is_dir():
        raise InputError(f"--json {path}: is a folder; --json takes a file name")
    if not path.exists():
        return
    weights = model.weights_path()
    if weights.exists() and path.samefile(weights):
        raise InputError(f"--json {path}: is the weights being measured")
    if path.resolve().is_relative_to(data.resolve()):
        raise InputError(f"--json {path}: is a file of the data being measured ({data})")
    if read_only(path):
        raise InputError(f"--json {path}: the file is read-only")


def _check_writable(folder: Path, flag: str) -> Path | None:
    """Raises InputError unless files can be written in `folder` (made if missing). The outermost folder it made,
    for _unmake when the command then fails: a failed run leaves nothing behind."""
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{flag}: {folder} is not a folder")
    made = next((p for p in reversed([folder, *folder.parents]) if not p.exists()), None)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise InputError(f"{flag}: cannot write in {folder} ({e.strerror or e})") from None
    return made


def _unmake(folder: Path, made: Path | None) -> None:
    """Removes the folders _check_writable made, from `folder` up to `made`, while they are empty."""
    if made is None:
        return
    for p in [folder, *folder.parents]:
        try:
            p.rmdir()
        except OSError:
            return
        if p == made:
            return


def _finite(x):
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
