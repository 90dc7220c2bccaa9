"""Decoding real videos: frame counts and times against ffprobe, rotation metadata, variable frame rate,
trimming, and clear errors for files that are not videos."""

from __future__ import annotations

import subprocess
from collections.abc import Generator
from pathlib import Path

import numpy as np
import pytest
from conftest import require_tool

from animgen_ml import clean, video
from animgen_ml.errors import InputError
from animgen_ml.landmarks import Landmarks

SHORT = "sports2d_run_sideview.mp4"  # 47 frames, 480x352


def ffprobe_frame_times(path: Path) -> np.ndarray:
    """Presentation times of every decoded frame, from ffprobe (independent of our ffmpeg pipe)."""
    out = subprocess.run(
        [require_tool("ffprobe"), "-v", "error", "-select_streams", "v:0", "-show_entries",
         "frame=best_effort_timestamp_time", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True).stdout
    return np.array([float(x.strip().strip(",")) for x in out.split() if x.strip().strip(",")])


def ffmpeg(*args: str) -> None:
    subprocess.run([require_tool("ffmpeg"), "-v", "error", "-y", *args], check=True)


def test_probe_and_decode_match_ffprobe(videos: Path):
    path = videos / SHORT
    info = video.probe(path)
    assert (info.width, info.height, info.rotation, info.codec) == (480, 352, 0, "h264")
    assert info.frame_count == 47 and abs(info.fps - 29.97) < 0.01
    frames = list(video.iter_frames(path))
    ref = ffprobe_frame_times(path)
    assert len(frames) == len(ref) == 47
    times = np.array([t for t, _ in frames])
    assert np.allclose(times, ref - ref[0], atol=1e-4)
    assert all(f.shape == (352, 480, 3) and f.dtype == np.uint8 for _, f in frames)


def test_video_with_nonzero_start_time(videos: Path):
    """pymaf_ballet's stream starts at 0.033 s: times count from its first frame."""
    path = videos / "pymaf_ballet_pirouette.mp4"
    times = np.array([t for t, _ in video.iter_frames(path)])
    ref = ffprobe_frame_times(path)
    assert len(times) == len(ref) == 89
    assert times[0] == 0.0 and np.allclose(times, ref - ref[0], atol=1e-4)


def test_variable_frame_rate_times_are_true_times(videos: Path, tmp_path: Path):
    # The tennis clip is itself variable rate (nominal 60, mean 29.9 fps): its gaps must be kept.
    tennis = videos / "gvhmr_tennis.mp4"
    t = np.array([t for t, _ in video.iter_frames(tennis)])
    ref = ffprobe_frame_times(tennis)
    assert len(t) == len(ref) and np.allclose(t, ref - ref[0], atol=1e-4)
    assert np.diff(t).max() > 1.4 * np.diff(t).min()
    # A made VFR file: frames 0..14 at 30 fps, then every other frame dropped (15 fps) with their true times.
    vfr = tmp_path / "vfr.mkv"
    ffmpeg("-i", str(videos / SHORT), "-vf", "select='lt(n,15)+not(mod(n,2))'", "-fps_mode", "vfr",
           "-c:v", "libx264", "-preset", "ultrafast", str(vfr))
    t = np.array([t for t, _ in video.iter_frames(vfr)])
    dt = np.diff(t)
    assert len(t) == 15 + len(range(16, 47, 2))
    assert np.allclose(dt[:14], 1 / 29.97, atol=2e-3) and np.allclose(dt[15:], 2 / 29.97, atol=2e-3)


def test_rotation_metadata_is_honoured(videos: Path, tmp_path: Path):
    src = videos / SHORT
    rotated = tmp_path / "rotated.mp4"
    ffmpeg("-i", str(src), "-c", "copy", "-metadata:s:v", "rotate=90", str(rotated))
    info = video.probe(rotated)
    assert info.rotation in (90, 270) and (info.width, info.height) == (352, 480)
    (_, upright), (_, turned) = next(video.iter_frames(src)), next(video.iter_frames(rotated))
    assert turned.shape == (480, 352, 3)
    # The decoded picture is the stored one turned as the metadata says (bit-exact: same decoder output).
    assert np.array_equal(turned, np.rot90(upright, info.rotation // 90))


def test_anamorphic_video_is_decoded_at_its_shown_shape(videos: Path, tmp_path: Path):
    """Pixels stored half as wide as they are shown (a sample aspect ratio of 2:1, as DV and HDV store theirs): the
    picture MediaPipe sees has the shown shape, not the stored one, in which the person was squeezed."""
    src, squeezed = videos / SHORT, tmp_path / "anamorphic.mp4"
    ffmpeg("-i", str(src), "-vf", "scale=240:352,setsar=2/1", "-c:v", "libx264", "-crf", "12", str(squeezed))
    info = video.probe(squeezed)
    assert (info.width, info.height) == (480, 352) and not info.square_pixels
    (_, shown), (_, original) = next(video.iter_frames(squeezed)), next(video.iter_frames(src))
    assert shown.shape == original.shape == (352, 480, 3)
    # the same picture, give or take the halved horizontal detail and the re-encoding
    assert np.abs(shown.astype(float) - original.astype(float)).mean() < 8.0
    assert video.probe(src).square_pixels


def _combing(frame: np.ndarray) -> float:
    """How much neighbouring rows differ beyond rows two apart: the teeth of two fields shown as one picture."""
    f = frame.astype(float).mean(-1)
    return float(np.abs(f[1:-1] - f[:-2]).mean() - np.abs(f[2:] - f[:-2]).mean() / 2)


def test_interlaced_video_is_deinterlaced(videos: Path, tmp_path: Path):
    """Two fields from moments apart woven into one frame comb every moving edge; the decoder deinterlaces frames
    flagged interlaced, and leaves progressive ones exactly as they were."""
    src, woven = videos / SHORT, tmp_path / "interlaced.mp4"
    ffmpeg("-i", str(src), "-vf", "tinterlace=mode=interleave_top,setfield=tff", "-c:v", "libx264", "-crf", "12",
           "-flags", "+ilme+ildct", "-top", "1", str(woven))
    raw = subprocess.run([require_tool("ffmpeg"), "-v", "error", "-i", str(woven), "-f", "rawvideo", "-pix_fmt",
                          "rgb24", "pipe:1"], capture_output=True, check=True).stdout
    info = video.probe(woven)
    undone = np.frombuffer(raw, np.uint8).reshape(-1, info.height, info.width, 3)
    decoded = [f for _, f in video.iter_frames(woven)]
    assert len(decoded) == len(undone)
    combed, clean = np.mean([_combing(f) for f in undone]), np.mean([_combing(f) for f in decoded])
    assert combed > 2.0 * max(float(clean), 0.1), (combed, clean)
    # a progressive video comes out as ffmpeg alone decodes it
    raw = subprocess.run([require_tool("ffmpeg"), "-v", "error", "-i", str(src), "-f", "rawvideo", "-pix_fmt",
                          "rgb24", "pipe:1"], capture_output=True, check=True).stdout
    plain = np.frombuffer(raw, np.uint8).reshape(-1, 352, 480, 3)
    assert all(np.array_equal(f, g) for (_, f), g in zip(video.iter_frames(src), plain, strict=True))


def test_the_video_stream_is_the_default_or_largest(videos: Path, tmp_path: Path):
    """A file with a small stream first (a camera's preview, test bars) and the video second: the video is read. The
    first stream had been taken, and the run said no person was in any frame."""
    two = tmp_path / "two_streams.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=320x240:r=25:d=1", "-i", str(videos / SHORT), "-map", "0:v", "-map", "1:v",
           "-disposition:v:0", "default", "-disposition:v:1", "default", "-c:v", "libx264", "-crf", "18", str(two))
    info = video.probe(two)
    assert (info.width, info.height, info.stream) == (480, 352, 1)
    times = [t for t, f in video.iter_frames(two) if f.shape == (352, 480, 3)]
    assert len(times) == 47


def test_trim_by_start_and_end(videos: Path):
    path = videos / SHORT
    full = [t for t, _ in video.iter_frames(path)]
    part = [(t, f) for t, f in video.iter_frames(path, start=0.5, end=1.0)]
    expect = [t for t in full if 0.5 - 1e-6 <= t < 1.0 - 1e-6]
    assert [t for t, _ in part] == pytest.approx(expect, abs=1e-6) and len(expect) == 15
    # The trimmed frames are the same pictures as in the full decode.
    k = full.index(expect[0])
    frames = [f for _, f in video.iter_frames(path)]
    assert np.array_equal(part[0][1], frames[k])


@pytest.mark.parametrize("start", [0.5, 1.0])
def test_a_copy_cut_between_keyframes_counts_only_its_shown_frames(videos: Path, tmp_path: Path, start: float):
    """`ffmpeg -ss S -c copy` (and editors' quick trims) keep the packets back to the keyframe before S and hide
    them with an edit list; the header counts them. Counted, a cut 1 s into SHORT (one keyframe) had read 83 fps
    and 47 frames for the 17 shown, so progress stopped at a third and the server's size estimate was 2.8x."""
    cut = tmp_path / "cut.mp4"
    ffmpeg("-ss", str(start), "-i", str(videos / SHORT), "-c", "copy", str(cut))
    shown = ffprobe_frame_times(cut)
    info = video.probe(cut)
    assert abs(info.fps - 29.97) < 0.01
    assert abs(info.frame_count - len(shown)) <= 1 and len(shown) < 40
    times = [t for t, _ in video.iter_frames(cut)]
    assert len(times) == len(shown) and abs(video.expected_frames(info, None, None) - len(times)) <= 1


@pytest.mark.parametrize("name,offset", [("late.mp4", 10.0), ("late.mkv", 10.0), ("stream.ts", 0.0),
                                         ("long_take.mp4", 1000.0)])
def test_trim_files_whose_clock_does_not_start_at_zero(videos: Path, tmp_path: Path, name: str, offset: float):
    """A camera's file or a transport stream (its clock starts at 1.4 s) trims like any other, and frame times stay
    exact far into the clock (a take that starts 1000 s in: 29.97 fps, not 30.07)."""
    path = tmp_path / name
    ffmpeg("-i", str(videos / SHORT), "-c", "copy", "-output_ts_offset", str(offset), str(path))
    full = [t for t, _ in video.iter_frames(path)]
    assert len(full) == 47 and full[0] == 0.0 and abs(46 / full[-1] - 29.97) < 0.005, full[-1]
    part = [t for t, _ in video.iter_frames(path, start=0.5, end=1.0)]
    assert part == pytest.approx([t for t in full if 0.5 - 1e-6 <= t < 1.0 - 1e-6], abs=1e-6) and len(part) == 15


@pytest.mark.parametrize("name,rate", [("ntsc.mkv", 30000 / 1001), ("thirty.mkv", 30.0), ("film.webm", 24000 / 1001)])
def test_a_millisecond_clock_keeps_the_standard_rate(tmp_path: Path, name: str, rate: float):
    """Matroska and WebM time frames in milliseconds: the clip keeps the camera's rate (it was 29.999 fps for 30,
    29.969 for 29.97) and every frame."""
    path = tmp_path / name
    num, den = (30000, 1001) if rate == 30000 / 1001 else (24000, 1001) if rate == 24000 / 1001 else (30, 1)
    codec = ["-c:v", "libvpx-vp9", "-b:v", "200k"] if name.endswith(".webm") else ["-c:v", "libx264"]
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=160x120:rate={num}/{den}", "-frames:v", "200", *codec, str(path))
    times = np.array([t for t, _ in video.iter_frames(path)])
    assert len(times) == 200 and np.allclose(times * 1000, np.round(times * 1000), atol=1e-6)  # a ms clock
    lm = Landmarks(times=times, image=np.zeros((200, 33, 3)), world=np.zeros((200, 33, 3)),
                   visibility=np.ones((200, 33)), detected=np.ones(200, bool), width=160, height=120)
    assert lm.fps == rate
    assert clean.clean(lm).frame_count == 200


def test_a_range_without_frames_says_so(videos: Path):
    with pytest.raises(InputError, match=r"no frame between 0.501 s and 0.52 s"):
        list(video.iter_frames(videos / SHORT, start=0.501, end=0.52))


@pytest.mark.parametrize("ext,codec", [("mov", "libx264"), ("mkv", "libx264"), ("webm", "libvpx-vp9"),
                                       ("avi", "mpeg4")])
def test_other_containers(videos: Path, tmp_path: Path, ext: str, codec: str):
    out = tmp_path / f"clip.{ext}"
    ffmpeg("-i", str(videos / SHORT), "-frames:v", "10", "-c:v", codec, *(["-b:v", "1M"] if ext == "webm" else []),
           "-an", str(out))
    frames = list(video.iter_frames(out))
    assert len(frames) == 10 and frames[0][1].shape == (352, 480, 3)
    assert np.all(np.diff([t for t, _ in frames]) > 0)


@pytest.mark.parametrize("ext,codec", [("mkv", "libx264"), ("webm", "libvpx-vp9"), ("avi", "mpeg4")])
def test_containers_cut_short_say_so(videos: Path, tmp_path: Path, ext: str, codec: str):
    """Matroska and WebM state the whole duration only in a tag, AVI only as a frame count in its header: a copy
    cut in half decoded to its middle and passed for the whole video."""
    whole = tmp_path / f"whole.{ext}"
    ffmpeg("-i", str(videos / SHORT), "-c:v", codec, "-g", "5", *(["-b:v", "1M"] if ext == "webm" else []),
           "-an", str(whole))
    assert len(list(video.iter_frames(whole))) == 47
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(InputError, match=rf"cut\.{ext}: truncated or corrupt video: decoding stopped at"):
        list(video.iter_frames(cut))


def test_whole_files_are_not_taken_for_cut_ones(videos: Path, tmp_path: Path):
    """An AVI padded with empty frames counts them in its header (476 at a nominal 24 fps, 4 s), a file remuxed
    from Matroska keeps the source's DURATION tag, and a GIF holds its last picture for 2 s: none is a file cut
    short (the GIF had been refused as "decoding stopped at 1.53 s of 3.53 s")."""
    padded = tmp_path / "padded.avi"
    ffmpeg("-f", "lavfi", "-i", "testsrc=rate=24:size=160x120", "-t", "4", "-c:v", "mpeg4", "-enc_time_base",
           "1/120", "-fps_mode", "vfr", "-r", "120", str(padded))
    assert len(list(video.iter_frames(padded))) > 90
    mkv, nut = tmp_path / "whole.mkv", tmp_path / "part.nut"
    ffmpeg("-i", str(videos / SHORT), "-c", "copy", str(mkv))
    ffmpeg("-i", str(mkv), "-t", "1", "-c", "copy", str(nut))  # the first second, tags and all
    assert 25 <= len(list(video.iter_frames(nut))) <= 32
    held = tmp_path / "held.gif"
    ffmpeg("-i", str(videos / SHORT), "-final_delay", "200", str(held))
    assert video.probe(held).duration > 3.4 and len(list(video.iter_frames(held))) == 47
    # Trimmed too: a seek decodes only the frames after it, so the whole file's are counted before it is refused.
    assert len(list(video.iter_frames(held, start=1.0))) == 17


@pytest.mark.parametrize("name", ["-take1.mp4", "concat:take1.mp4"])
def test_names_ffmpeg_would_read_as_options_or_protocols(videos: Path, tmp_path: Path, monkeypatch, name: str):
    monkeypatch.chdir(tmp_path)
    Path(name).write_bytes((videos / SHORT).read_bytes())
    assert video.probe(Path(name)).frame_count == 47
    assert len(list(video.iter_frames(Path(name)))) == 47


@pytest.mark.parametrize("degrees", [60, 91])
def test_a_quarter_turn_is_the_only_turn_that_swaps_the_size(videos: Path, tmp_path: Path, degrees: int):
    """At 60 degrees, or 91 (ffprobe says 90), FFmpeg turns the picture within its stored size: taking it for a
    quarter turn read each frame with width and height swapped, into noise."""
    src, turned = videos / SHORT, tmp_path / f"rot{degrees}.mp4"
    ffmpeg("-i", str(src), "-c", "copy", "-metadata:s:v", f"rotate={degrees}", str(turned))
    info = video.probe(turned)
    assert (info.rotation, info.width, info.height) == (0, 480, 352)
    (_, upright), (_, frame) = next(video.iter_frames(src)), next(video.iter_frames(turned))
    assert frame.shape == upright.shape
    # The centre of the picture stays where it was (turned about it), unlike a frame read with a wrong width.
    c = np.s_[160:192, 224:256]
    assert np.abs(frame[c].astype(int) - upright[c].astype(int)).mean() < 40


def test_streaming_does_not_decode_ahead(videos: Path):
    """Stopping early ends the ffmpeg process: a generator, not a list of the whole video."""
    it = video.iter_frames(videos / "hybrik_taiji.mp4")
    assert isinstance(it, Generator)
    t, frame = next(it)
    assert t == 0.0 and frame.shape == (720, 1280, 3)
    it.close()


def test_missing_file(tmp_path: Path):
    with pytest.raises(InputError, match=r"nope\.mp4: file not found"):
        video.probe(tmp_path / "nope.mp4")


def test_empty_file(tmp_path: Path):
    p = tmp_path / "empty.mp4"
    p.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.mp4: the file is empty"):
        video.probe(p)


def test_text_file_is_not_a_video(tmp_path: Path):
    p = tmp_path / "notes.mp4"
    p.write_text("this is not a video\n" * 100)
    with pytest.raises(InputError, match=r"notes\.mp4: not a readable video"):
        video.probe(p)


def test_still_image_is_not_a_video(shared_data: Path, tmp_path: Path):
    img = tmp_path / "frame.png"
    ffmpeg("-i", str(shared_data / "videos" / "monocular" / SHORT), "-frames:v", "1", str(img))
    with pytest.raises(InputError, match="still image"):
        video.probe(img)


def test_a_jpeg_is_a_still_image_too(shared_data: Path, tmp_path: Path):
    img = tmp_path / "frame.jpg"  # FFmpeg opens it with its image-sequence reader, not as a one-image pipe
    ffmpeg("-i", str(shared_data / "videos" / "monocular" / SHORT), "-frames:v", "1", str(img))
    with pytest.raises(InputError, match=r"frame\.jpg: is a still image"):
        video.probe(img)


def test_audio_with_cover_art_is_not_a_video(tmp_path: Path, shared_data: Path):
    art, song = tmp_path / "art.jpg", tmp_path / "song.mp4"
    ffmpeg("-i", str(shared_data / "videos" / "monocular" / SHORT), "-frames:v", "1", str(art))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-i", str(art), "-map", "0", "-map", "1",
           "-c:a", "aac", "-c:v", "copy", "-disposition:v", "attached_pic", str(song))
    with pytest.raises(InputError, match=r"song\.mp4: not a video \(no video stream in the file, cover art aside"):
        video.probe(song)


def test_audio_only_file_is_not_a_video(tmp_path: Path):
    p = tmp_path / "tone.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", str(p))
    with pytest.raises(InputError, match=r"tone\.m4a: not a video \(no video stream"):
        video.probe(p)


def test_truncated_video(videos: Path, tmp_path: Path):
    data = (videos / SHORT).read_bytes()
    p = tmp_path / "truncated.mp4"
    p.write_bytes(data[: len(data) // 3])
    for start in (None, 0.5):
        with pytest.raises(InputError, match=r"truncated\.mp4: truncated or corrupt video: decoding stopped at"):
            list(video.iter_frames(p, start=start))
    # An MP4 written with its index (moov) at the end, as cameras and ffmpeg write them, cut short: named as
    # incomplete, not by ffprobe's last line ("Invalid data found when processing input").
    whole, cut = tmp_path / "moov_at_end.mp4", tmp_path / "copying.mp4"
    ffmpeg("-i", str(videos / SHORT), "-c", "copy", str(whole))
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(InputError, match=r"copying\.mp4: an incomplete file: its index .* is missing"):
        video.probe(cut)


def test_corrupt_video_data(videos: Path, tmp_path: Path):
    """A file whose header is intact but whose picture data is garbage: no frame decodes."""
    src = tmp_path / "ok.mkv"
    ffmpeg("-i", str(videos / SHORT), "-frames:v", "5", "-c:v", "libx264", str(src))
    data = bytearray(src.read_bytes())
    rng = np.random.default_rng(0)
    start = 4000  # past the Matroska header and codec private data
    data[start:] = rng.integers(0, 256, len(data) - start, dtype=np.uint8).tobytes()
    p = tmp_path / "corrupt.mkv"
    p.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"corrupt\.mkv: "):
        list(video.iter_frames(p))


def test_ffmpegs_errors_are_told_by_the_line_that_names_the_problem():
    said = ["[h264 @ 0x55d0c0ffee00] Invalid NAL unit size (17440 > 3154).", "Conversion failed!",
            "Error marking filters as finished"]
    assert video._telling(said) == "Invalid NAL unit size (17440 > 3154)."  # without the decoder's address
    seven = "[vist#0:0/h264 @ 0x5a1] [dec:h264 @ 0x5b2] Decoding error: Invalid data found when processing input"
    assert video._telling([seven]) == "Decoding error: Invalid data found when processing input"  # ffmpeg 7
    assert video._telling(["Conversion failed!"]) == "Conversion failed!"  # nothing better: what there is
    assert video._telling([]) is None


def test_a_file_cut_inside_its_first_frame_says_its_data_is_invalid(videos: Path, tmp_path: Path):
    """Its index is whole (written first), its picture data cut: ffmpeg's last words, "Error marking filters as
    finished", said nothing of the file; the decoding error before them does."""
    whole, cut = tmp_path / "whole.mp4", tmp_path / "cut.mp4"
    ffmpeg("-i", str(videos / SHORT), "-c", "copy", "-movflags", "+faststart", str(whole))
    cut.write_bytes(whole.read_bytes()[:5000])
    # ffmpeg 5 and 6.0 say "Error while decoding stream #0:0: ", later ones "Decoding error: ".
    with pytest.raises(InputError, match=r"cut\.mp4: empty or corrupt video \((Error while decoding stream #0:0|"
                                         r"Decoding error): Invalid data found when processing input\)"):
        list(video.iter_frames(cut))


def test_start_past_the_end(videos: Path):
    with pytest.raises(InputError, match="past the end"):
        list(video.iter_frames(videos / SHORT, start=5.0))


def test_a_video_whose_container_states_no_length_is_counted(videos: Path, tmp_path: Path):
    """A Matroska written to a pipe (a recording cut off) and a raw H.264 stream state no duration: their frames are
    counted from the packets. The server, which needs the length for its limits, had refused both as "not a video
    that can be decoded"."""
    import asyncio

    from animgen_server.server import probe_video

    whole = video.probe(videos / SHORT)
    piped, raw = tmp_path / "piped.mkv", tmp_path / "raw.h264"
    with open(piped, "wb") as out:
        subprocess.run([require_tool("ffmpeg"), "-v", "error", "-i", str(videos / SHORT), "-c:v", "libx264",
                        "-f", "matroska", "-"], stdout=out, check=True)
    ffmpeg("-i", str(videos / SHORT), "-c:v", "libx264", "-f", "h264", str(raw))
    for path in (piped, raw):
        info = video.probe(path)
        assert info.frame_count == whole.frame_count and info.duration == pytest.approx(whole.duration, abs=0.05)
        served, why = asyncio.run(probe_video(path))
        assert why is None and served is not None and served.duration == info.duration
