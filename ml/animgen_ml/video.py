"""Video decoding through FFmpeg: probe a file, then stream its frames with their true presentation times.

Frames come from an `ffmpeg` subprocess as raw RGB on a pipe, one at a time, so a video of any length is
never held in memory. FFmpeg applies the rotation metadata itself (autorotate), so frames arrive upright.
Frame times come from the `showinfo` filter, which logs each frame's presentation time to stderr: they are
the true times of a variable-frame-rate video, not a frame index divided by a nominal rate.
"""

from __future__ import annotations

import functools
import json
import queue
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from animgen_ml.errors import InputError

try:  # pipe sizing is Linux-only
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

# What a folder's videos are, here and in the Unity and Unreal plugins alike (VideoUpload.cs, VideoFiles.cpp).
VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".mts", ".m2ts", ".3gp", ".wmv")
# Image formats FFmpeg also opens as a one-frame "video": not what a user means by a video.
_IMAGE_CODECS = {"png", "mjpeg", "bmp", "gif", "tiff", "webp", "jpeg2000", "apng", "exr", "dpx"}
IMAGE_FILES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".exr", ".dpx")
# What to do with frames exported as pictures, said wherever they are met instead of a video.
IMAGE_SEQUENCE_HINT = ("image sequences are not read: make them a video first, e.g. "
                       "ffmpeg -framerate 30 -i frame_%04d.png -pix_fmt yuv420p take.mp4")


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int  # displayed size: after rotation
    height: int
    fps: float  # mean frame rate (frames / duration), or the nominal rate when that is unknown
    duration: float  # seconds
    frame_count: int  # exact when the container says, else estimated from duration x fps
    rotation: int  # degrees counter-clockwise the picture is turned for display: 0, 90, 180, 270
    codec: str
    start_time: float  # the first frame's presentation time in the file's clock
    duration_known: bool = False  # the video stream itself states its duration (not just the container's guess)
    container_start: float = 0.0  # the container's start time in the same clock (ffmpeg's -ss counts from it)
    square_pixels: bool = True  # False: anamorphic (a sample aspect ratio); width is the shown width, decoded to it
    stream: int = 0  # which of the file's video streams (cover art aside) is the video: see probe


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise InputError(f"{name} was not found on PATH: install FFmpeg (e.g. apt-get install ffmpeg)")
    return path


def _url(path: Path) -> str:
    """The path as FFmpeg must be given it: a name that starts with "-" or looks like a protocol ("concat:")
    would be read as an option or a protocol."""
    return "file:" + str(path.absolute())


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a video file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")


def _rate(text: str | None) -> float:
    if not text or text in ("0/0", "N/A"):
        return 0.0
    num, _, den = text.partition("/")
    try:
        return float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return 0.0


def _float(value, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _rotation(stream: dict) -> int:
    """Counter-clockwise display rotation (degrees, as ffprobe reports the display matrix): decoded frames
    come out as np.rot90(stored, rotation // 90). FFmpeg turns frames by a quarter turn only when the angle
    rounds to one; at any other angle it turns them within the stored size, which is what 0 says here (the
    frames' size)."""
    angle = 0.0
    for side in stream.get("side_data_list", []) or []:
        if "rotation" in side:
            angle = _matrix_angle(side.get("displaymatrix")) or _float(side["rotation"])
            break
    else:
        angle = -_float((stream.get("tags") or {}).get("rotate"))  # older FFmpeg: the clockwise `rotate` tag
    degrees = round(angle)
    return degrees % 360 if degrees % 90 == 0 else 0


def _matrix_angle(text: str | None) -> float | None:
    """The display matrix's rotation (degrees counter-clockwise), as FFmpeg computes it. ffprobe's own `rotation`
    is cut to whole degrees (90.99 says 90), and FFmpeg decides on the angle rounded (91: not a quarter turn)."""
    rows = [line.split(":", 1)[1].split() for line in (text or "").splitlines() if ":" in line]
    try:
        (a, b, _), (c, d, _) = [[float(v) for v in r] for r in rows[:2]]
    except ValueError:
        return None
    return -float(np.degrees(np.arctan2(b / max(np.hypot(b, d), 1e-12), a / max(np.hypot(a, c), 1e-12))))


def probe(path: str | Path) -> VideoInfo:
    """Size, frame rate, duration, rotation and codec of a video's first video stream (ffprobe)."""
    path = Path(path)
    _check_file(path)
    # V: video streams that are not cover art (an audio file's picture is not a video).
    cmd = [_tool("ffprobe"), "-v", "error", "-select_streams", "V", "-show_streams", "-show_format",
           "-of", "json", _url(path)]
    proc = subprocess.run(cmd, capture_output=True, encoding="utf-8", errors="replace")  # ffprobe writes UTF-8
    if proc.returncode != 0:
        if "moov atom not found" in proc.stderr and _mp4_boxes(path):  # said before "Invalid data found ..."
            raise InputError(f"{path}: an incomplete file: its index (the MP4/MOV 'moov' box) is missing, as in a "
                             "file still being written or copied only in part")
        reason = _last_line(proc.stderr).replace(_url(path) + ": ", "") or f"ffprobe exited with {proc.returncode}"
        raise InputError(f"{path}: not a readable video ({reason})")
    try:
        data = json.loads(proc.stdout or "{}")
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not a readable video (ffprobe gave no usable answer)") from e
    streams = data.get("streams") or []
    if not streams:
        raise InputError(f"{path}: not a video (no video stream in the file, cover art aside)")
    # The stream marked default, else the largest picture: a camera's file may carry a small preview stream or a
    # second eye's view first (a first stream of test bars had been read as "no person in any frame").
    k = max(range(len(streams)), key=lambda i: ((streams[i].get("disposition") or {}).get("default", 0),
                                                 int(streams[i].get("width") or 0) * int(streams[i].get("height") or 0),
                                                 -i))
    s, fmt = streams[k], data.get("format") or {}
    codec = str(s.get("codec_name", "unknown"))
    if codec in _IMAGE_CODECS and (fmt.get("format_name", "").endswith("_pipe") or fmt.get("format_name") == "image2"):
        raise InputError(f"{path}: is a still image ({codec}), not a video ({IMAGE_SEQUENCE_HINT})")
    width, height = int(s.get("width") or 0), int(s.get("height") or 0)
    if width <= 0 or height <= 0:
        raise InputError(f"{path}: the video stream has no picture size (corrupt header?)")
    # Anamorphic video (DV, HDV, some broadcast files) stores pixels that are shown wider or narrower than square:
    # MediaPipe must see the shown shape, or a person is squeezed (arms 9-13 degrees off at 2:1).
    sar = _rate(str(s.get("sample_aspect_ratio") or "").replace(":", "/"))
    square = not sar or abs(sar - 1.0) < 1e-3
    if not square:
        width = max(2, int(round(width * sar / 2)) * 2)
    rotation = _rotation(s)
    if rotation in (90, 270):
        width, height = height, width
    start_time = _float(s.get("start_time"), _float(fmt.get("start_time")))
    # The stream's own duration. Matroska and WebM state only where the stream ends (in the file's clock), as a
    # tag written when the file was finished, so a copy cut short still says how long the whole was.
    matroska = "matroska" in fmt.get("format_name", "")  # other muxers copy a Matroska source's tags over
    tag_end = _clock_seconds((s.get("tags") or {}).get("DURATION")) if matroska else 0.0
    stated = _float(s.get("duration")) or max(tag_end - start_time, 0.0)
    duration = stated or _float(fmt.get("duration"))
    nb_frames = int(_float(s.get("nb_frames")))
    nominal = _rate(s.get("r_frame_rate"))
    mean_rate = _rate(s.get("avg_frame_rate"))
    if fmt.get("format_name") == "avi" and nb_frames > 1 and mean_rate > 0 and duration < 0.9 * nb_frames / mean_rate:
        # The header counts more frames than the file holds (cut short): its count, at the header's mean rate,
        # is how long the video was. (Not the nominal rate: an AVI padded with empty frames counts those too.)
        stated = duration = nb_frames / mean_rate
    fps = mean_rate or nominal
    if mean_rate > 0 and duration > 0 and nb_frames > 1.05 * duration * mean_rate + 1:
        # A copy cut that starts between keyframes (ffmpeg -c copy, quick trims in editors) keeps the packets back
        # to the keyframe before its start and hides them with an edit list: the header counts them, the mean rate
        # does not. Counted, a 1 s cut of a 30 fps file with one keyframe had read 83 fps and 47 frames for 17.
        nb_frames = int(round(duration * mean_rate))
    elif nb_frames > 1 and duration > 0:
        fps = nb_frames / duration
    if duration <= 0 and fps > 0 and (packets := _count_packets(path, k)) > 0:
        # No length stated anywhere (a recording cut off while written to a pipe, a raw H.264 stream): its frames,
        # counted from its packets in a pass that decodes nothing, at its rate. A server had refused such a file as
        # "not a video that can be decoded", which a local run converts.
        nb_frames, duration = packets, packets / fps
    if nb_frames <= 0:
        nb_frames = int(round(duration * fps)) if fps > 0 else 0
    return VideoInfo(path=path, width=width, height=height, fps=fps or 30.0, duration=duration,
                     frame_count=nb_frames, rotation=rotation, codec=codec,
                     start_time=start_time, duration_known=stated > 0, container_start=_float(fmt.get("start_time")),
                     square_pixels=square, stream=k)


def _count_packets(path: Path, stream: int) -> int:
    """How many packets (frames) the file's stream-th video stream holds; 0 when ffprobe cannot say."""
    cmd = [_tool("ffprobe"), "-v", "error", "-select_streams", f"V:{stream}", "-count_packets", "-show_entries",
           "stream=nb_read_packets", "-of", "csv=p=0", _url(path)]
    proc = subprocess.run(cmd, capture_output=True, encoding="utf-8", errors="replace")
    return int(_float(proc.stdout.strip().split(",")[0])) if proc.returncode == 0 and proc.stdout.strip() else 0


def _clock_seconds(text: str | None) -> float:
    """Seconds of an "HH:MM:SS.fraction" tag; 0 when absent or malformed."""
    parts = (text or "").split(":")
    try:
        return float(parts[0]) * 3600 + float(parts[1]) * 60 + float(parts[2]) if len(parts) == 3 else 0.0
    except ValueError:
        return 0.0


def _mp4_boxes(path: Path) -> bool:
    """Whether the file begins as an MP4 or QuickTime file does (with one of their boxes), not as some other data
    given their name."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    return head[4:8] in (b"ftyp", b"wide", b"mdat", b"free", b"skip")


# ffmpeg's closing words after a decoding error, which say nothing of the file: the line before them does.
_CLOSING = re.compile(r"Error marking filters as finished|Conversion failed|Cannot determine format of input stream|"
                      r"Error while filtering|Task finished with error|Error closing file|Nothing was written")
# Lines of the pipe's own muxer, which say nothing of the file ("Application provided invalid, non monotonically
# increasing dts to muxer" of a remuxed Matroska file whose frames all decode).
_OUR_MUXER = re.compile(r"\[(out#\d+/)?rawvideo @")
# "[h264 @ 0x55d0c0ffee00] ": the decoder and its address (ffmpeg 7 gives two: "[vist#0:0/h264 @ 0x…] [dec:h264 @ 0x…]")
_CONTEXT = re.compile(r"^(\[[^\]]* @ 0x[0-9a-f]+\]\s*)+")


def _telling(errors: list[str]) -> str | None:
    """The last of ffmpeg's error lines that says what is wrong with the file, without the decoder's address."""
    told = [_CONTEXT.sub("", e) for e in errors if not _CLOSING.search(e)]
    return told[-1] if told else (errors[-1] if errors else None)


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


# showinfo's lines: the filter's time base once, then per frame its pts in that base. Times come from the integer pts,
# not the printed pts_time, which has six significant digits (10 ms steps past 1000 s) and may use an exponent.
_TIME_BASE = re.compile(r"config in time_base:\s*(\d+)/(\d+)")
_PTS = re.compile(r"\bn:\s*\d+\s+pts:\s*(-?\d+|NOPTS)")


def iter_frames(path: str | Path, start: float | None = None, end: float | None = None,
                info: VideoInfo | None = None, size: tuple[int, int] | None = None
                ) -> Iterator[tuple[float, np.ndarray]]:
    """Yields (time, rgb uint8 (H, W, 3)) for every frame shown in [start, end), upright, in display order;
    size (W, H): scaled to it by the decoder (a 1080p frame through the pipe is 6 MB, the preview's panel 0.6).

    time is seconds from the video's first frame (the file's start_time subtracted), so trimmed and
    untrimmed runs agree. Raises InputError when the file cannot be decoded or holds no frame in the range.
    """
    path = Path(path)
    info = info or probe(path)
    run = _Decode()
    yield from _decode(path, info, start, end, run, seek=bool(start), size=size)
    if run.yielded == 0 and start:
        # A fast seek can land past the only key frame before the range (a transport stream without an index, a
        # short clip in one group of pictures) and decode nothing: decode from the start instead.
        run = _Decode()
        yield from _decode(path, info, start, end, run, seek=False, size=size)
    if run.yielded == 0:
        if start is not None and info.duration and start >= info.duration:
            raise InputError(f"{path}: --start {start} s is past the end of the video ({info.duration:.2f} s)")
        if run.decoded == 0:
            reason = _telling(run.errors) or "no frame could be decoded"
            raise InputError(f"{path}: empty or corrupt video ({reason})")
    # A file cut short (copy interrupted, download incomplete) still decodes up to the cut: say so rather
    # than animate part of the video silently. Not one whose last picture is shown for a while (a GIF's pause at the
    # end, a recording that ends on a still screen): it decoded every frame it counts, and without an error.
    wanted_end = info.duration if end is None else min(end, info.duration)
    short = info.duration_known and run.reached < wanted_end - max(0.5, 5.0 / info.fps)
    whole = not run.errors and 0 < info.frame_count <= run.decoded
    if short and not whole and run.seeked and not run.errors:  # the frames before a seek went undecoded: count all
        counted = _frames_decodable(path, info)
        whole = counted is None or 0 < info.frame_count <= counted  # not counted in time: not called truncated
    if short and not whole:
        reason = f"; {_telling(run.errors)}" if run.errors else ""
        raise InputError(f"{path}: truncated or corrupt video: decoding stopped at {run.reached:.2f} s of "
                         f"{info.duration:.2f} s{reason}")
    if run.yielded == 0:
        raise InputError(f"{path}: no frame between {start or 0:g} s and {end if end is not None else 'the end'}"
                         f"{' s' if end is not None else ''} (the video is {info.duration:.2f} s)")


@dataclass
class _Decode:
    """What one decoding pass saw."""

    seeked: bool = False  # decoding began at a seek: `decoded` leaves out the frames before it
    decoded: int = 0  # frames ffmpeg gave
    yielded: int = 0  # of them, in the range
    last_t: float = -np.inf  # of the last frame yielded
    reached: float = -np.inf  # of the last frame decoded, in the range or not
    errors: list[str] = field(default_factory=list)


def _decode(path: Path, info: VideoInfo, start: float | None, end: float | None, run: _Decode,
            seek: bool, size: tuple[int, int] | None = None) -> Iterator[tuple[float, np.ndarray]]:
    w, h = size or (info.width, info.height)
    scale = f",scale={w}:{h}:flags=area,setsar=1" if size or not info.square_pixels else ""
    frame_bytes = w * h * 3
    # One decoder thread: MediaPipe needs the other core more than the decoder does (measured ~8% faster).
    cmd = [_tool("ffmpeg"), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info", "-threads", "1"]
    if seek and start:
        run.seeked = True
        # Fast seek to just before start; frames before `start` are dropped below. ffmpeg counts the position from
        # the container's start time (not 0 for a camera's .mov or a transport stream), our times from the video
        # stream's.
        cmd += ["-ss", f"{max(0.0, info.start_time - info.container_start + start - 0.05):.6f}"]
    # -copyts keeps frame times in the file's clock, so subtracting start_time gives the same times with
    # and without seeking.
    cmd += ["-copyts"]
    # bwdif deinterlaces the frames flagged interlaced (camcorder and broadcast video; their combing cost MediaPipe
    # about 4 degrees a bone) and passes progressive frames through (bit for bit in planar formats; a packed one such
    # as raw AVI's yuyv422 is converted for it, within 2 levels).
    cmd += ["-i", _url(path), "-map", f"0:V:{info.stream}", "-an", "-sn", "-dn",
            "-vf", "bwdif=mode=send_frame:deint=interlaced," + _showinfo() + scale,
            "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    # Unbuffered: each frame is read once, straight into its own array.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            bufsize=0)
    _widen_pipe(proc.stdout, frame_bytes)
    times: queue.Queue[float | None] = queue.Queue()

    def read_stderr() -> None:
        assert proc.stderr is not None
        base = None  # (numerator, denominator) of the filter's time base
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace")
            if "Parsed_showinfo" in line:
                if m := _TIME_BASE.search(line):
                    base = (int(m.group(1)), int(m.group(2)))
                elif m := _PTS.search(line):
                    if base is not None and m.group(1) != "NOPTS":
                        times.put(int(m.group(1)) * base[0] / base[1])
                    else:
                        times.put(float("nan"))
            elif ("error" in line.lower() or "invalid" in line.lower()) and not _OUR_MUXER.match(line):
                run.errors.append(line.strip().replace(_url(path) + ": ", ""))
        times.put(None)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        assert proc.stdout is not None
        while True:
            buf = _read_frame(proc.stdout, frame_bytes)
            if buf is None:
                break
            run.decoded += 1
            t_file = times.get(timeout=60.0)
            last_t = run.last_t
            if t_file is None:  # showinfo gave no time: fall back to the nominal rate
                t_file = info.start_time + (last_t + 1.0 / info.fps if np.isfinite(last_t) else 0.0)
            t = max(t_file - info.start_time, 0.0)  # ffprobe's start_time has six decimals: -1e-7 is 0
            if not np.isfinite(t):
                t = last_t + 1.0 / info.fps if np.isfinite(last_t) else 0.0
            run.reached = max(run.reached, t)
            if start is not None and t < start - 1e-6:
                continue
            if end is not None and t >= end - 1e-6:
                break
            if t <= last_t:  # keep times strictly increasing (duplicate pts in broken files)
                t = last_t + 1e-3
            run.last_t = t
            run.yielded += 1
            yield t, np.frombuffer(buf, np.uint8).reshape(h, w, 3)
    except queue.Empty as e:
        raise InputError(f"{path}: ffmpeg stopped reporting frame times while decoding") from e
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        reader.join(timeout=5.0)
        proc.stdout.close() if proc.stdout else None
        proc.stderr.close() if proc.stderr else None


def _frames_decodable(path: Path, info: VideoInfo) -> int | None:
    """How many frames of the video stream decode from its start (0 where decoding says an error), or None where
    they could not be counted (ffprobe missing or over 10 minutes): the whole file decoded and thrown away, so only
    asked when a trimmed run looks cut short."""
    cmd = [_tool("ffprobe"), "-v", "error", "-select_streams", f"V:{info.stream}", "-count_frames", "-show_entries",
           "stream=nb_read_frames", "-of", "csv=p=0", _url(path)]
    try:
        out = subprocess.run(cmd, capture_output=True, encoding="utf-8", errors="replace", timeout=600)
    except (OSError, subprocess.SubprocessError):
        return None
    counted = out.stdout.strip()
    return int(counted) if out.returncode == 0 and not out.stderr.strip() and counted.isdigit() else 0


def _widen_pipe(pipe, frame_bytes: int) -> None:
    """A pipe buffer of up to a frame (Linux; 64 KiB by default): fewer wake-ups of decoder and reader."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl else None
    if set_size is None:
        return
    for size in (frame_bytes, 1 << 20):  # unprivileged processes may be capped at /proc/sys/fs/pipe-max-size
        try:
            fcntl.fcntl(pipe.fileno(), set_size, size)
            return
        except OSError:
            continue


def _read_frame(pipe, size: int) -> bytearray | None:
    """Exactly `size` bytes from an unbuffered pipe, or None at its end."""
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        n = pipe.readinto(view[got:])
        if not n:
            return None
        got += n
    return buf


@functools.lru_cache(maxsize=1)
def _showinfo() -> str:
    """The showinfo filter that logs frame times; without its per-plane checksums where FFmpeg allows (>= 5.1),
    which cost a third of the decoder's time."""
    try:
        out = subprocess.run([_tool("ffmpeg"), "-hide_banner", "-h", "filter=showinfo"], capture_output=True,
                             encoding="utf-8", errors="replace", timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "showinfo"
    return "showinfo=checksum=0" if "checksum" in out else "showinfo"


def expected_frames(info: VideoInfo, start: float | None, end: float | None) -> int:
    """Frames expected in [start, end), for progress bars (an estimate for variable frame rate)."""
    t0 = max(0.0, start or 0.0)
    t1 = info.duration if end is None or not info.duration else min(end, info.duration)
    if not info.duration:
        return max(1, info.frame_count)
    return max(1, int(round((t1 - t0) * info.fps)))
