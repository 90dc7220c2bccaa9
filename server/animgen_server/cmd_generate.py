"""`animgen generate VIDEO|DIR`: video(s) in, animation files out, with progress per stage.

Exit codes CI can trust: 0 every video converted (or up to date), 1 any video failed (each failure is listed
at the end), 2 usage errors (bad option, nothing to convert).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from animgen_ml.errors import AnimGenError, InputError
from animgen_ml.export import output_files, output_path, output_paths
from animgen_ml.files import atomic_path, read_only
from animgen_ml.pipeline import FORMATS, STAGES, GenerateOptions, ProgressEvent
from animgen_ml.video import IMAGE_FILES, IMAGE_SEQUENCE_HINT, VIDEO_EXTENSIONS
from animgen_server import address as server_address
from animgen_server import run_summary
from animgen_server.cli import add_model_option, usage
from animgen_server.run_summary import VideoResult

if TYPE_CHECKING:
    from tqdm import tqdm

MAX_JOBS = 64  # --jobs: videos sent to a server at once, each a thread and a connection of its own


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "generate", help="turn a video (or every video in a folder) into animation files",
        description="Turn a video of a person into a humanoid animation clip. A folder converts every video "
                    f"in it ({' '.join(e[1:] for e in VIDEO_EXTENSIONS)}; not its *.preview.mp4 nor hidden files) "
                    "and skips those "
                    "whose outputs are newer than the video and were made from it with the same options, version and "
                    "weights by a run that ended well (noted in a hidden file beside them). Exit code: 0 all "
                    "converted, 1 any failed, 2 usage error.")
    p.add_argument("input", metavar="VIDEO|DIR", nargs="?", help="a video file or a folder of videos")
    p.add_argument("-r", "--recursive", action="store_true",
                   help="with a folder, also convert the videos in its subfolders (not hidden ones), each one's "
                        "outputs in the same subfolder of -o")
    p.add_argument("-o", "--output", metavar="OUTDIR", default=".",
                   help="folder for the outputs, named <video stem>.<ext>, in subfolders with -r (default: the current "
                        "folder)")
    p.add_argument("--format", dest="formats", metavar="FMT[,FMT]", action="append", type=_formats,
                   help=f"output formats, comma-separated or repeated: {', '.join(FORMATS)} or all (default: glb; "
                        "vrma: VRM Animation, which any VRM avatar plays)")
    p.add_argument("--preview", action="store_true", help="also write <stem>.preview.mp4 (adds preview to --format)")
    p.add_argument("--hands", action="store_true", help="track the hands too and animate the fingers")
    p.add_argument("--smoothing", type=float, default=0.5, metavar="S", help="0 (none) .. 1 (strong), default 0.5")
    p.add_argument("--start", type=float, metavar="SEC", help="start of the part of the video to use")
    p.add_argument("--end", type=float, metavar="SEC", help="end of the part of the video to use")
    p.add_argument("--fps", type=float, metavar="F", help="output frame rate (default: the video's, at most 240)")
    p.add_argument("--crop", metavar="X,Y,W,H", type=_crop,
                   help="look for the person in this part of the picture, in pixels of the video as played (the top "
                        "left corner X,Y, then width and height), and follow them: the rectangle moves, and grows, "
                        "with them when they near its edge. For a video with other people in it")
    p.add_argument("--generator", choices=["network", "analytic"], default="network",
                   help="network (default; falls back to analytic without weights) or the analytic solver")
    p.add_argument("--in-place", action="store_true", help="remove horizontal root motion")
    p.add_argument("--loop", action="store_true", help="make the clip loop seamlessly")
    p.add_argument("--mirror", action="store_true", help="swap left and right")
    p.add_argument("--speed", type=float, default=1.0, metavar="X", help="playback speed factor (default 1)")
    p.add_argument("--face-forward", action="store_true", help="turn the clip to face +Z at its start")
    p.add_argument("--no-foot-lock", dest="foot_lock", action="store_false",
                   help="do not pin planted feet (nor on a --target character); the hips keep the generator's own "
                        "path")
    p.add_argument("--keyframe-tolerance", metavar="DEG,MM",
                   help="reduce the keys of the .glb and .vrma (and a --target's; BVH and JSON keep every frame): "
                        "each bone's own rotation within DEG degrees, the Hips' position and the planted feet within "
                        "MM mm (an arm's errors add up: at 1,2 a walk's hands moved up to about 2 cm)")
    p.add_argument("--keyframe-tolerance-degrees", type=float, metavar="DEG",
                   help="--keyframe-tolerance's DEG alone (its MM then 0: exact), or in place of its DEG")
    p.add_argument("--keyframe-tolerance-mm", type=float, metavar="MM",
                   help="--keyframe-tolerance's MM alone (its DEG then 0: exact), or in place of its MM")
    p.add_argument("--target", metavar="CHARACTER.glb",
                   help="also write <stem>.<character>.glb: this .glb (or VRM .vrm) character playing the clip, its "
                        "planted feet locked again on its own legs and its legs' mesh kept out of its floor")
    p.add_argument("--bone-map", metavar="BONE=NAME[,BONE=NAME]", action="append", type=_bone_pairs,
                   help="map --target's bones by hand where its names and shape do not (HumanBodyBones names: "
                        "Hips=pelvis,LeftHand=hand_l); comma-separated or repeated")
    add_model_option(p)
    p.add_argument("--landmarks", metavar="FILE.npz", help="reuse landmarks extracted before (skips pose)")
    p.add_argument("--force", action="store_true", help="convert even when the outputs are up to date")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="no progress (warnings and each video's result still print)")
    p.add_argument("--summary", metavar="FILE.json",
                   help="also write what the run did, for CI to read: each video's status (converted, skipped as "
                        "up to date, failed, cancelled), files, frames, share of frames with a person, seconds, "
                        "warnings and error; written when the run ends, however the run ends (- : to standard "
                        "output, the result lines then going to stderr)")
    p.add_argument("--server", metavar="HOST[:PORT]", type=server_address.argument,
                   help="run on an AnimGen server instead of locally (port 50051 when only a host is given)")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help=f"with --server, send up to N videos of a folder at once, 1 to {MAX_JOBS} (a server runs as "
                        "many as it has workers; default 1)")
    p.add_argument("--token", help="bearer token for --server (default $ANIMGEN_TOKEN)")
    p.add_argument("--tls-ca", metavar="PEM", help="CA certificate for a TLS --server")
    p.add_argument("--ray", metavar="ADDRESS",
                   help="run each video as a task on the Ray cluster at ADDRESS (HOST:PORT, auto or local)")
    p.set_defaults(handler=handle)


def _formats(text: str) -> list[str]:
    names = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in names if f not in (*FORMATS, "all")]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"unknown format {bad[0] if bad else text!r}: use {', '.join(FORMATS)}, all")
    return names


def _crop(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"want four whole numbers of pixels X,Y,W,H (e.g. 640,0,640,720), got {text!r}"
                                         ) from None
    return x, y, w, h


def _bone_pairs(text: str) -> list[tuple[str, str]]:
    pairs = [tuple(part.split("=", 1)) for part in text.split(",") if part.strip()]
    bad = [p for p in pairs if len(p) != 2 or not p[0].strip() or not p[1].strip()]
    if bad or not pairs:
        raise argparse.ArgumentTypeError(f"want BONE=NAME pairs (Hips=pelvis,LeftHand=hand_l), got {text!r}")
    return [(bone.strip(), name.strip()) for bone, name in pairs]


def options_from_args(args: argparse.Namespace) -> GenerateOptions:
    """GenerateOptions from the parsed flags; raises InputError on a bad value."""
    formats = list(dict.fromkeys(f for group in (args.formats or [["glb"]]) for f in group))
    if "all" in formats:
        formats = list(FORMATS)
    if args.preview and "preview" not in formats:
        formats.append("preview")
    deg = mm = 0.0
    if args.keyframe_tolerance:
        parts = args.keyframe_tolerance.split(",")
        try:
            deg, mm = (float(parts[0]), float(parts[1])) if len(parts) == 2 else (float("nan"), 0.0)
        except ValueError:
            deg = float("nan")
        if deg != deg:
            raise InputError(f"--keyframe-tolerance wants DEG,MM (e.g. 0.5,2), got {args.keyframe_tolerance!r}")
    if args.keyframe_tolerance_degrees is not None:
        deg = args.keyframe_tolerance_degrees
    if args.keyframe_tolerance_mm is not None:
        mm = args.keyframe_tolerance_mm
    if (deg > 0 or mm > 0) and not {"glb", "vrma"} & set(formats) and args.target is None:
        raise InputError("--keyframe-tolerance thins the keys of a .glb, a .vrma and a --target character; "
                         f"--format {','.join(formats)} keeps every frame: add glb or vrma")
    return GenerateOptions(
        hands=args.hands, smoothing=args.smoothing, start=args.start, end=args.end, fps=args.fps,
        generator=args.generator, formats=tuple(formats), in_place=args.in_place, loop=args.loop,
        mirror=args.mirror, speed=args.speed, face_forward=args.face_forward, foot_lock=args.foot_lock,
        keyframe_tolerance_degrees=deg, keyframe_tolerance_mm=mm, target=args.target,
        bone_map=dict(pair for group in (args.bone_map or []) for pair in group), crop=args.crop,
    ).validate()


# What a note holds of the run that made the outputs besides what made them: a --summary that skips them gives it.
_SAID = ("warnings", "frames", "detected")


def up_to_date(video: Path, out_base: Path, options: GenerateOptions, made_by: str | None = None) -> bool:
    """True when every requested output exists, is newer than the video, and was made from this very video (path,
    size, modification time) with these options by this version and these weights (made_by: made_by_server's, for a
    --server run), as noted beside them by note_made: a rerun with --fps 60 must not keep a 30 fps clip, nor
    day2/take1.mp4 day1/take1.mp4's."""
    try:
        src = video.stat().st_mtime
        fresh = all(p.is_file() and p.stat().st_mtime >= src for p in output_paths(out_base, options))
        noted = {k: v for k, v in read_note(out_base).items() if k not in _SAID}
        return fresh and _json(noted) == _json(_made_with(options, inputs_id(video, options), made_by))
    except OSError:
        return False


def read_note(out_base: Path) -> dict:
    """The note beside the outputs (note_made), or {} where there is none or it cannot be read."""
    try:
        note = json.loads(_note(out_base).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return note if isinstance(note, dict) else {}


def skipped(video: Path, out_base: Path, options: GenerateOptions) -> VideoResult:
    """An up-to-date video as the --summary gives it: its files, and what the run that made them said (its
    warnings, frames and share with a person)."""
    note = read_note(out_base)
    warnings, frames, detected = note.get("warnings"), note.get("frames"), note.get("detected")
    return VideoResult(str(video), "skipped", warnings=warnings if isinstance(warnings, list) else [],
                       outputs=output_files(out_base, options), frames=frames if isinstance(frames, int) else 0,
                       detected=float(detected) if isinstance(detected, (int, float)) else None)


def forget_made(out_base: Path) -> None:
    """Before a run replaces outputs: until it ends well they are nobody's (a run that fails or is interrupted
    half-way must not leave them "up to date")."""
    _note(out_base).unlink(missing_ok=True)


def inputs_id(source: Path, options: GenerateOptions) -> dict:
    """The files a run reads, as the note records them (path, size, modification time): the video, or the landmarks
    of a --landmarks run, and the --target character."""
    def file_id(p: Path) -> dict:
        st = p.stat()
        return {"path": str(p.resolve()), "bytes": st.st_size, "modified_ns": st.st_mtime_ns}

    ids = {"source": file_id(source)}
    if options.target:
        ids["target"] = file_id(Path(options.target))
    return ids


def note_made(out_base: Path, options: GenerateOptions, source: Path, made_from: dict, warnings: list[str],
              made_by: str | None = None, frames: int = 0, detected: float | None = None) -> None:
    """Notes, beside the outputs (a hidden file), what made them, for up_to_date, and the run's warnings, which a
    --summary of a later run that skips them gives. source: the video, or the landmarks file of a --landmarks run
    (which a video run then does not take for its own); made_from: the inputs_id when the run began. A file that
    changed meanwhile (still being copied in) gets no note, and an InputError says so: its outputs are of the part
    that was there. Otherwise best effort: without the note the next run only redoes the work."""
    try:
        now = inputs_id(source, options)
    except OSError:
        now = {}
    if changed := [made_from[k]["path"] for k in made_from if now.get(k) != made_from[k]]:
        raise InputError(f"{changed[0]}: changed while it was read (a file still being copied in?): the outputs are "
                         "of what was there then; run again once it is complete")
    try:
        with atomic_path(_note(out_base)) as tmp:
            said = {"warnings": warnings, "frames": frames, "detected": detected}
            tmp.write_text(_json(dict(_made_with(options, made_from, made_by), **said)), encoding="utf-8")
    except (OSError, AnimGenError):  # AnimGenError: a rename Windows refused (files.replace_retrying)
        pass


NAME_MAX = 255  # bytes in a file name: ext4, APFS, NTFS (UTF-16 units) and most others


def _note(out_base: Path) -> Path:
    name = f".{out_base.name}.animgen.json"
    if len(name.encode("utf-8", "surrogateescape")) > NAME_MAX:  # the outputs' names fit, the note's would not
        digest = hashlib.sha256(out_base.name.encode("utf-8", "surrogateescape")).hexdigest()[:32]
        name = f".{digest}.animgen.json"
    return out_base.with_name(name)


def _made_with(options: GenerateOptions, made_from: dict, made_by: str | None = None) -> dict:
    from animgen_ml import model

    made_with = dict(options.to_dict(), formats=sorted(set(options.formats)))  # --format bvh,glb is glb,bvh
    if options.target:  # ./hero.glb is hero.glb
        made_with["target"] = str(Path(options.target).resolve())
    return {"options": made_with, "made_by": made_by or model.identity(), "made_from": made_from}


_SERVERS_MADE_BY: dict[str, str] = {}


def made_by_server(args) -> str | None:
    """With --server, what makes the clips besides the video and the options: the server's version and network (by
    its weights' name: a client cannot see their content), asked once per run; this machine's weights had been
    noted, so a folder converted on a server running other weights was then "up to date" for a local run, and the
    other way round. None without --server. A server that cannot be asked yet makes nothing up to date."""
    if not args.server:
        return None
    if args.server not in _SERVERS_MADE_BY:
        from animgen_server.client import AnimGenClient

        try:
            with AnimGenClient(args.server, token=args.token, tls_ca=args.tls_ca, timeout=10) as client:
                info = client.info()
        except Exception:  # noqa: BLE001 - the run itself says what is wrong with the server
            return f"the server at {args.server}, not reached"
        network = {m.name: m.version for m in info.models}.get("network", "none")
        _SERVERS_MADE_BY[args.server] = f"the server's {info.server_version}, network {network}"
    return _SERVERS_MADE_BY[args.server]


def _json(value: dict) -> str:
    """One text for one value: keys sorted, tuples written as the lists they are read back as."""
    return json.dumps(value, sort_keys=True)


def videos_in(folder: Path, recursive: bool) -> list[Path]:
    """The folder's videos in order; with recursive, its subfolders' too, hidden ones aside (.git, a tool's cache),
    through linked folders (a studio links shared references in; rglob had passed them over without a word), each
    folder once (a link back up is no loop)."""
    found: list[Path] = []
    if not recursive:
        found = list(folder.iterdir())
    else:
        seen: set[tuple[int, int]] = set()
        for root, dirs, files in os.walk(folder, followlinks=True):
            st = os.stat(root)
            if (st.st_dev, st.st_ino) in seen:  # reached again through a link
                dirs.clear()
                continue
            seen.add((st.st_dev, st.st_ino))
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # the first way to a folder, in name order
            found += [Path(root) / f for f in files]
    return sorted(p for p in found if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS and not _made_by_animgen(p)
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def out_bases(videos: list[Path], folder: Path | None, out_dir: Path) -> dict[Path, Path]:
    """Each video's outputs' base (out_dir/<stem>, + extension), in the videos' order; for a video in a subfolder of
    the folder given (--recursive), in the same subfolder of out_dir."""
    return {v: out_dir / (v.parent.relative_to(folder) if folder else Path()) / v.stem for v in videos}


def output_clashes(bases: dict[Path, Path], options: GenerateOptions) -> dict[Path, str]:
    """For each video whose outputs another video's would replace (names equal but for extension or case: a studio's
    files end up on Windows and macOS, where case does not count; or one video's `--target` output, run.Xbot.glb, is
    the other's clip, run.Xbot.mp4's), why it is not converted; the rest are absent. Neither is converted: which one
    the user meant is unknown, and the second would find the first's outputs "up to date". bases: out_bases'."""
    writers: dict[str, list[tuple[Path, str]]] = {}  # an output's path in lower case -> (video, name as written)
    for v, base in bases.items():
        for p in output_paths(base, options):
            writers.setdefault(str(p).lower(), []).append((v, p.name))
    out = {}
    for same in writers.values():
        if len(same) > 1:  # named by their paths where their names are one (Walk/take.mp4, walk/take.mp4; -r)
            named = [v.name for v, _ in same]
            names = ", ".join(named if len(set(named)) == len(named) else [str(v) for v, _ in same])
            out.update({v: f"{names} would all write {name}: rename all but one" for v, name in same if v not in out})
    return out


def handle(args: argparse.Namespace) -> int:
    try:
        options = options_from_args(args)
    except InputError as e:
        return usage("generate", str(e))
    if args.input is None and not args.landmarks:
        return usage("generate", "give a VIDEO or a folder of videos (or --landmarks FILE.npz)")
    if args.input is not None and not args.input.strip():  # an unset "$VIDEO": not the working folder's videos
        return usage("generate", "VIDEO is an empty name")
    if args.landmarks and args.server:
        return usage("generate", "--landmarks cannot be used with --server")
    if args.landmarks and args.crop:
        return usage("generate", "--crop is where MediaPipe looks, and --landmarks skips it: crop when extracting them")
    if args.model and args.server:
        return usage("generate", "--model runs locally; a server runs its own network (animgen serve --model)")
    if args.model and options.generator != "network":
        return usage("generate", "--model is the network's weights; --generator analytic does not use them")
    if args.recursive and (args.landmarks or (args.input and not Path(args.input).is_dir())):
        return usage("generate", "--recursive takes a folder of videos (and its subfolders)")
    if args.ray and (args.server or args.landmarks):
        return usage("generate", "--ray cannot be used with --server or --landmarks")
    if not 1 <= args.jobs <= MAX_JOBS:
        return usage("generate", f"--jobs must be between 1 and {MAX_JOBS}, got {args.jobs}")
    if args.jobs > 1 and not args.server:
        return usage("generate", "--jobs sends videos to a --server at once (--ray converts several at once by "
                                 "itself: --ray local on this machine)")
    if args.server and args.tls_ca is not None and not Path(args.tls_ca).is_file():
        return usage("generate", f"--tls-ca {args.tls_ca}: file not found")
    out_dir = Path(args.output)
    if out_dir.exists() and not out_dir.is_dir():
        return usage("generate", f"-o {out_dir}: is a file; -o takes a folder")

    if args.landmarks:
        return _run_landmarks(args, options, out_dir)
    src = Path(args.input)
    if src.is_dir():
        videos = videos_in(src, args.recursive)
        if not videos:
            pictures = any(p.suffix.lower() in IMAGE_FILES for p in src.iterdir())
            where = "this folder or its subfolders" if args.recursive else "this folder"
            return usage("generate", f"{src}: no videos in {where} ({', '.join(VIDEO_EXTENSIONS)})"
                                     + (f"; {IMAGE_SEQUENCE_HINT}" if pictures else ""))
        bases = out_bases(videos, src, out_dir)
    else:
        bases = out_bases([src], None, out_dir)
    if why := _bad_summary(args, list(bases), list(bases.values()), options):
        return usage("generate", why)
    if not src.exists():
        return _failed_alone(src, f"file not found ({IMAGE_SEQUENCE_HINT})" if "%" in src.name else "file not found",
                             args, options)
    if args.ray:
        from animgen_server.ray_batch import run_batch

        if why := _cannot_write(out_dir):
            return usage("generate", why)
        return run_batch(bases, options, args.ray, force=args.force, quiet=args.quiet, summary=args.summary)
    return _run_batch(bases, args, options, out_dir)


def _failed_alone(name: Path, reason: str, args, options: GenerateOptions) -> int:
    """The one input of a run cannot be read: said as one line, and in the --summary."""
    _error(name, reason)
    write_summary(args.summary, [VideoResult(str(name), "failed", error=name_file(name, reason))], options)
    return 1


def write_summary(summary: str | None, rows: list[VideoResult], options: GenerateOptions,
                  stopping: bool = False) -> None:
    """The --summary, where one is asked for. One that cannot be written (a disk just filled) is the run's error;
    while a run is being stopped (Ctrl-C, SIGTERM) it is said, and the stop goes on as it would have."""
    if summary is None:
        return
    try:
        run_summary.write(summary, rows, options.to_dict())
    except AnimGenError as e:
        if not stopping:
            raise
        print(f"animgen: error: {e}", file=sys.stderr)


def _bad_summary(args, inputs: list[Path], out_bases: list[Path], options: GenerateOptions) -> str | None:
    """Why --summary cannot be written where it is asked for, found out before any work (its folder is made here, as
    -o's is); None when it can, or is not asked for. It must not be a file the run reads (the videos, the landmarks,
    the --target character, the --model weights, the --tls-ca certificate) or writes (the outputs and their notes):
    `--summary run.json` beside run.mp4's clip."""
    if args.summary is None or args.summary == run_summary.TO_STDOUT:
        return None
    if not args.summary.strip():  # an unset "$SUMMARY"
        return "--summary is an empty name"
    path = Path(args.summary)
    if path.is_dir():
        return f"--summary {path}: is a folder; --summary takes a file name"
    if read_only(path):
        return f"--summary {path}: read-only, not replaced"
    read = [*inputs, *(Path(p) for p in (options.target, args.model, args.tls_ca) if p)]
    written = [p for base in out_bases for p in (*output_paths(base, options), _note(base))]
    # Compared without case: a studio's files end up on Windows and macOS, where case does not count.
    if str(path.resolve()).lower() in {str(p.resolve()).lower() for p in read + written}:
        return f"--summary {path}: is also a file this run reads or writes: name it apart"
    return _cannot_write(path.parent, f"--summary {path}")


def _cannot_write(out_dir: Path, said_as: str | None = None) -> str | None:
    """Why outputs cannot go to -o, checked once before the first video is converted (not found out after each
    one's pose extraction); None when they can. The folder is made here. said_as: what to call it (default -o's)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out_dir).close()
    except OSError as e:
        return f"{said_as or f'-o {out_dir}'}: cannot write there ({e.strerror or e})"
    return None


def make_output_folder(folder: Path) -> None:
    """The folder a video's outputs go to, made; an InputError naming what is in the way."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            raise InputError(f"{blocking}: is a file, where the folder of this video's outputs would be: move or "
                             "rename it") from None
        raise InputError(f"{folder}: cannot make the folder of this video's outputs ({e.strerror or e})") from None


def _made_by_animgen(p: Path) -> bool:
    """Files a run writes among videos: previews (run.preview.mp4) and hidden ones (parts being written, notes).
    Taken for videos, a folder converted into itself would grow a run.preview.preview.mp4 on every run."""
    return p.name.startswith(".") or p.name.lower().endswith(".preview.mp4")


def _error(video: Path | str, reason: str) -> None:
    _say(f"animgen: error: {name_file(video, reason)}")


def _say(text: str, stream=None) -> None:
    """Text and its newline in one write (stderr unless told), so that videos converted at once, each printing from
    its own thread, do not run their lines together."""
    (stream or sys.stderr).write(text + "\n")


def name_file(video: Path | str, message: str, also: str = "") -> str:
    """The message with the file in front, unless it already names it, or begins with `also` (another name of it)."""
    return message if str(video) in message or (also and message.startswith(f"{also}: ")) else f"{video}: {message}"


def _run_batch(bases: dict[Path, Path], args, options: GenerateOptions, out_dir: Path) -> int:
    """bases: each video's outputs' base (out_bases)."""
    videos = list(bases)
    clashes = output_clashes(bases, options)
    by = made_by_server(args) if not args.force else None
    fresh = {v for v in videos if not args.force and up_to_date(v, bases[v], options, by)}
    if set(videos) - set(clashes) - fresh and (why := _cannot_write(out_dir)):
        return usage("generate", why)
    if args.server and args.jobs == 1 and len(set(videos) - fresh) > 1 and not args.quiet:
        _hint_jobs(args)
    rows = _rows_at_once(bases, args, options, clashes, fresh) if args.jobs > 1 and len(videos) > 1 \
        else _rows_in_turn(bases, args, options, clashes, fresh)
    failures = [r.error for r in rows if r.status == "failed"]
    if len(videos) > 1 or failures:
        print(f"{sum(r.status == 'converted' for r in rows)} converted, {sum(r.status == 'skipped' for r in rows)} "
              f"up to date, {len(failures)} failed", file=sys.stderr)
    if failures and len(videos) > 1:
        print("failures:", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
    write_summary(args.summary, rows, options)
    return 1 if failures else 0


def _hint_jobs(args) -> None:
    """Says so when the server could run several of the folder's videos at once: --jobs is easily missed."""
    from animgen_server.client import AnimGenClient

    with contextlib.suppress(Exception), AnimGenClient(args.server, token=args.token, tls_ca=args.tls_ca,
                                                       timeout=10) as client:
        n = client.info().limits.max_concurrent_jobs
        if n > 1:
            at_once = min(n, MAX_JOBS)
            _say(f"note: the server at {args.server} runs {n} jobs at once; --jobs {at_once} sends it this folder's "
                 f"videos {at_once} at a time")


def _position(i: int, videos: list[Path]) -> str:
    """Where the i-th (from 1) video is in its batch, for its progress: " (3/12)"; nothing for a video alone."""
    return f" ({i}/{len(videos)})" if len(videos) > 1 else ""


def _rows_in_turn(bases: dict[Path, Path], args, options: GenerateOptions, clashes: dict[Path, str],
                  fresh: set[Path]) -> list[VideoResult]:
    videos = list(bases)
    rows: list[VideoResult] = []
    try:
        for i, video in enumerate(videos, 1):
            rows.append(_batch_one(video, args, options, bases[video], clashes.get(video), video in fresh,
                                   _position(i, videos)))
    except BaseException:  # stopped (Ctrl-C, SIGTERM): what was done, and the rest cancelled
        write_summary(args.summary, rows + [VideoResult(str(v), "cancelled") for v in videos[len(rows):]], options,
                      stopping=True)
        raise
    return rows


def _rows_at_once(bases: dict[Path, Path], args, options: GenerateOptions, clashes: dict[Path, str],
                  fresh: set[Path]) -> list[VideoResult]:
    """--jobs N with --server: up to N videos at once, each in a thread on its own connection. A stop reaches this
    thread only: it has the server cancel every job, and the videos not finished by then are cancelled."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    from animgen_server.remote import InFlight, cancel_jobs

    in_flight = InFlight(lambda ids: cancel_jobs(args.server, ids, token=args.token, tls_ca=args.tls_ca))
    videos = list(bases)
    rows: list[VideoResult | None] = [None] * len(videos)
    pool = ThreadPoolExecutor(args.jobs, thread_name_prefix="animgen-video")
    futures: dict = {}
    try:
        for i, video in enumerate(videos, 1):
            futures[pool.submit(_batch_one, video, args, options, bases[video], clashes.get(video),
                                video in fresh, _position(i, videos), in_flight)] = i - 1
        pending = set(futures)
        while pending:  # in short waits: on Windows a wait without a timeout holds off Ctrl-C
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                rows[futures[future]] = future.result()
    except BaseException:
        try:
            in_flight.stop()
            pool.shutdown(wait=True, cancel_futures=True)
        finally:  # a second Ctrl-C during the stop still closes the connections and writes the summary
            in_flight.close()
            if in_flight.not_cancelled:  # said even with --quiet: a queued one would run for nobody once it is back
                _say(f"warning: the server at {args.server} could not be told to cancel job(s) "
                     f"{', '.join(in_flight.not_cancelled)}: `animgen cancel JOB` does, once it can be reached")
            for future, i in futures.items():  # those that ended as the stop came
                if rows[i] is None and future.done() and not future.cancelled() and future.exception() is None:
                    rows[i] = future.result()
            write_summary(args.summary, [r or VideoResult(str(v), "cancelled") for r, v in zip(rows, videos,
                                                                                                 strict=True)],
                          options, stopping=True)
        raise
    pool.shutdown()
    return [r for r in rows if r is not None]


def _batch_one(video: Path, args, options: GenerateOptions, out_base: Path, clash: str | None,
               fresh: bool, position: str = "", in_flight=None) -> VideoResult:
    """One video of a batch: converted, skipped as up to date, or failed (the error printed as one line). A video
    whose outputs another's would replace fails even where they look up to date: which one made them is unknown.
    in_flight: the InFlight of a batch run at once; a video its stop ended is cancelled, not failed."""
    if fresh and not clash:
        if not args.quiet:
            _say(f"{video}: up to date, skipped (--force to redo)")
        return skipped(video, out_base, options)
    try:
        if clash:
            raise InputError(clash)
        return _convert_one(video, out_base, args, options, position=position, in_flight=in_flight)
    except Exception as e:
        if in_flight is not None and in_flight.stopping:  # its connection closed under it: said by the stop
            return VideoResult(str(video), "cancelled")
        if isinstance(e, (AnimGenError, OSError)):
            reason = str(e) if isinstance(e, AnimGenError) else f"{type(e).__name__}: {e}"
        else:  # a bug: one line, the batch goes on; ANIMGEN_DEBUG=1 shows the traceback
            if os.environ.get("ANIMGEN_DEBUG"):
                traceback.print_exc()
            reason = f"internal error ({type(e).__name__}: {e})"
    _error(video, reason)
    return VideoResult(str(video), "failed", error=name_file(video, reason))


# Without a terminal (a CI log, a pipe) a bar's carriage returns pile up into one unreadable line, so a stage that
# runs this long reports a plain line instead, and again each time this much more has passed.
LOG_EVERY_S = 10.0


class Progress:
    """Progress on stderr, fed by the pipeline's events: a tqdm bar per stage on a terminal, elsewhere a plain line
    every `every_s` seconds of a stage (short stages print nothing; the summary gives each stage's time).
    Warnings always print, each naming the video (as given), so that a folder's log says whose they are; one that
    names the video the run's saved landmarks came from (`also`) already says whose it is."""

    def __init__(self, video: str | Path, quiet: bool, terminal: bool | None = None,
                 every_s: float = LOG_EVERY_S, position: str = "", also: str = "") -> None:
        self.video, self.label, self.quiet, self.every_s = video, Path(video).name + position, quiet, every_s
        self.also = also
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self.bar: tqdm | None = None
        self._stage, self._since, self._last = "", 0.0, 0.0
        self.warnings: list[str] = []  # the run's, local or on a server, for --summary

    def __call__(self, e: ProgressEvent) -> None:
        if e.kind == "warning":
            self.warnings.append(e.message)
            self._write(f"warning: {name_file(self.video, e.message, self.also)}")
            return
        if self.quiet:
            return
        if e.kind == "notice":  # of the run on a server (queued, queue full, lost, reached, run again): a line
            self._write(f"{self.label}: {e.message}")
            return
        if self.terminal:
            self._bar(e)
        else:
            self._line(e)

    def _bar(self, e: ProgressEvent) -> None:
        from tqdm import tqdm

        if e.kind == "started" or self.bar is None or self.bar.desc != self._desc(e.stage):
            self.close()
            self.bar = tqdm(total=100, desc=self._desc(e.stage), file=sys.stderr, leave=True, unit="%",
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}{postfix}")
        self.bar.update(max(0, self._percent(e) - self.bar.n))
        if e.message:
            self.bar.set_postfix_str(e.message, refresh=False)
        if e.kind == "finished":
            self.close()

    def _line(self, e: ProgressEvent) -> None:
        now = time.monotonic()
        if e.kind == "started" or e.stage != self._stage:
            self._stage, self._since, self._last = e.stage, now, now
            return
        if e.kind == "progress" and now - self._last >= self.every_s:
            self._last = now
            note = f", {e.message}" if e.message else ""
            _say(f"{self._desc(e.stage)}: {self._percent(e):3d}% after {now - self._since:.0f}s{note}")
            sys.stderr.flush()

    @staticmethod
    def _percent(e: ProgressEvent) -> int:
        return 100 if e.kind == "finished" else int(round(100 * min(max(e.fraction, 0.0), 1.0)))

    def _desc(self, stage: str) -> str:
        return f"{self.label} {stage:<8}"

    def _write(self, text: str) -> None:
        if self.bar is not None:
            from tqdm import tqdm

            tqdm.write(text, file=sys.stderr)
        else:
            _say(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _convert_one(video: Path, out_base: Path, args, options: GenerateOptions, landmarks=None,
                 source: Path | None = None, position: str = "", in_flight=None) -> VideoResult:
    """source: what the outputs are made from, for the note (default: the video); position: where the video is in
    its batch, " (3/12)", for the progress; in_flight: the InFlight of a batch sent to a server at once."""
    source = source or video
    if locked := [p for p in output_paths(out_base, options) if read_only(p)]:
        more = f" (and {len(locked) - 1} more)" if len(locked) > 1 else ""
        raise InputError(f"{locked[0]}{more}: read-only, not replaced (checked in? make it writable to replace it)")
    if folders := [p for p in output_paths(out_base, options) if p.is_dir()]:
        raise InputError(f"{folders[0]}: is a folder, where this output would be written: move or rename it")
    made_from = inputs_id(source, options)
    make_output_folder(out_base.parent)  # a subfolder of -o, for a video in one (--recursive)
    # Videos run at once print plain lines: bars of several threads would overwrite each other.
    progress = Progress(video, args.quiet, terminal=False if in_flight is not None else None, position=position,
                        also=landmarks.source if landmarks is not None else "")
    t0 = time.perf_counter()
    forget_made(out_base)
    try:
        if args.server:
            from animgen_server.remote import generate_remote, said_locally

            files, job = generate_remote(args.server, video, out_base, options, token=args.token,
                                         tls_ca=args.tls_ca, progress=progress, in_flight=in_flight)
            result = None
            # An older server sends no frame count (0).
            frames, detected = job.frames, job.detected_share if job.frames else None
            # The job's own list: a job the server ran again after a restart may not warn as its first run did.
            progress.warnings = [said_locally(video, w) for w in job.warnings]
        else:
            from animgen_ml import pipeline

            result = pipeline.run(video, out_base, options, progress=progress, landmarks=landmarks)
            files = result.files
            frames, detected = result.landmarks.frame_count, result.landmarks.detection_rate
    finally:
        progress.close()
    note_made(out_base, options, source, made_from, progress.warnings, made_by_server(args), frames, detected)
    seconds = time.perf_counter() - t0
    _print_result(video, result, files, seconds, frames, detected,
                  sys.stderr if args.summary == run_summary.TO_STDOUT else sys.stdout)
    return VideoResult(str(video), "converted", frames, seconds, warnings=progress.warnings, outputs=files,
                       detected=detected)


def _print_result(video: Path, result, files: dict, seconds: float, frames: int, detected: float | None,
                  stream) -> None:
    lines = [f"{video}:"]
    seen = f"person detected in {100 * detected:.1f}%" if detected is not None else ""
    if result is not None:
        lm = result.landmarks
        # The picture's size: the pixels --crop counts in.
        lines.append(f"  frames: {frames} in ({lm.width}x{lm.height}), {result.clip.frame_count} out at "
                     f"{result.clip.fps:.2f} fps; {seen}")
        stages = ", ".join(f"{s} {result.stage_seconds[s]:.2f}s" for s in STAGES if s in result.stage_seconds)
        lines.append(f"  time: {seconds:.2f}s ({stages})")
    else:
        if seen:
            lines.append(f"  frames: {frames} in; {seen}")
        lines.append(f"  time: {seconds:.2f}s (on the server)")
    for fmt, path in files.items():
        lines.append(f"  wrote {fmt}: {path}")
    _say("\n".join(lines), stream)


def _run_landmarks(args, options: GenerateOptions, out_dir: Path) -> int:
    """--landmarks: rerun everything after pose extraction from a saved .npz."""
    from animgen_ml.landmarks import Landmarks

    npz = Path(args.landmarks)
    stem = npz.name[: -len(".landmarks.npz")] if npz.name.endswith(".landmarks.npz") else npz.stem
    inputs = [npz, *([Path(args.input)] if args.input else [])]
    if why := _bad_summary(args, inputs, [out_dir / stem], options):
        return usage("generate", why)
    if not npz.is_file():
        return _failed_alone(npz, "landmarks file not found", args, options)
    try:
        lm = Landmarks.load(npz)
    except Exception as e:
        return _failed_alone(npz, f"not a landmarks .npz ({type(e).__name__}: {e})", args, options)
    video = Path(args.input) if args.input else Path(lm.source or npz.name)
    if args.input and video.is_dir():
        return usage("generate", f"{video}: is a folder; with --landmarks, VIDEO is the one video they came from")
    if "preview" in options.formats and not video.is_file():  # found out before the other files are written
        return usage("generate", f"--format preview draws over the video the landmarks came from, and {video} is "
                                 "not found from here: give it as VIDEO")
    if "npz" in options.formats and output_path(out_dir / stem, "npz").resolve() == npz.resolve():
        # The landmarks would be written over themselves, cut to --start/--end: they stay whole, as they are.
        kept = tuple(f for f in options.formats if f != "npz")
        if not kept:
            return usage("generate", f"--format npz: {npz} is the input itself; there is nothing else to write")
        options = replace(options, formats=kept)
    if why := _cannot_write(out_dir):
        return usage("generate", why)
    other = f"{npz}: {why}: the clip is their motion" if args.input and video.is_file() and (
        why := _not_from(lm, video)) else None
    if other:
        print(f"warning: {other}", file=sys.stderr)
    try:
        row = _convert_one(video, out_dir / stem, args, options, landmarks=lm, source=npz)
    except (AnimGenError, OSError) as e:
        row = VideoResult(str(video), "failed", error=name_file(
            npz, str(e) if isinstance(e, AnimGenError) else f"{type(e).__name__}: {e}"))
    except Exception as e:  # a bug: one line; ANIMGEN_DEBUG=1 shows the traceback
        if os.environ.get("ANIMGEN_DEBUG"):
            traceback.print_exc()
        row = VideoResult(str(video), "failed", error=name_file(npz, f"internal error ({type(e).__name__}: {e})"))
    except BaseException:  # stopped (Ctrl-C, SIGTERM)
        write_summary(args.summary, [VideoResult(str(video), "cancelled")], options, stopping=True)
        raise
    if other:
        row.warnings.insert(0, other)
    if row.status == "failed":
        print(f"animgen: error: {row.error}", file=sys.stderr)
    write_summary(args.summary, [row], options)
    return 1 if row.status == "failed" else 0


def _not_from(lm, video: Path) -> str | None:
    """Why landmarks seem to come from another video than VIDEO (its name, picture size or length), or None. A
    --landmarks run makes the clip from the landmarks whatever VIDEO is: it only names the run and the preview."""
    from animgen_ml.video import probe

    try:
        info = probe(video)
    except InputError as e:
        return str(e)
    made_from = Path(lm.source).name if lm.source else ""
    if (lm.width, lm.height) != (info.width, info.height):
        return f"extracted from a {lm.width}x{lm.height} video ({made_from or 'unnamed'}), and {video} is " \
               f"{info.width}x{info.height}"
    if lm.frame_count and lm.times[-1] > info.start_time + info.duration + 0.5:
        return f"they run to {lm.times[-1]:.1f} s ({made_from or 'unnamed'}), and {video} lasts {info.duration:.1f} s"
    if made_from and made_from != video.name:
        return f"extracted from {made_from}, not {video.name}"
    return None
