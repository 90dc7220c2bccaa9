"""Pose extraction: MediaPipe Pose (full model) on every decoded frame -> Landmarks.

Choices:
- mediapipe 0.10.21's legacy `mp.solutions` graphs in video mode (static_image_mode=False), so the person is
  tracked from frame to frame instead of searched for in every frame (faster and steadier).
- smooth_landmarks=False: the legacy API stamps frames with a simulated 30 fps clock, so its built-in filter
  would be tuned wrongly for other and variable frame rates; the clean and smooth stages filter with the
  true frame times instead, and outlier rejection works better on the raw detections.
- hands=True runs Holistic (same pose model, plus 21-point hands). MediaPipe gives hand points in image
  space only; their "world" points are made here by placing the hand's image points around the pose's world
  wrist with the pose's own image->world scale (see `_hand_world_all`).
The model is created once per call: nothing global, so this works the same in worker processes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from animgen_ml import video as vid
from animgen_ml.contacts import runs
from animgen_ml.errors import InputError
from animgen_ml.landmarks import LM, Landmarks

# Body landmarks used to measure the pose's image->world scale (shoulders, elbows, hips, knees).
_SCALE_POINTS = [LM[n] for n in ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_hip",
                                 "right_hip", "left_knee", "right_knee")]


# A crop smaller than this holds too few pixels for MediaPipe to find a body in.
MIN_CROP_PX = 32
# A person's pace is measured over the last this long they were seen: by the someone-else rule, the crop that
# follows them, and the root carried across a switch (solver.carry_across).
PACE_S = 0.1
# The room kept around a followed person inside the crop, as a share of their size: MediaPipe finds a body that
# reaches the edge of its picture less surely.
FOLLOW_MARGIN = 0.1
# A followed person who is lost is looked for where the pace of their hips (PACE_S) takes them, in a rectangle grown
# by the way that pace has gone (it is a guess; at most to twice its size), for up to FOLLOW_COAST_S (a runner behind
# a pillar) and while that stays in the picture; then where they were lost. Only a pace over FOLLOW_MOVING of their
# height a second is one: MediaPipe's jitter makes a standing person's about 0.1.
FOLLOW_COAST_S, FOLLOW_MOVING = 1.0, 0.3


def crop_problem(crop: tuple[int, ...], width: int | None = None, height: int | None = None) -> str | None:
    """Why CROP (x, y, width, height in pixels) cannot be used, on a picture of width x height when given, or None."""
    if len(crop) != 4 or not all(isinstance(v, int) for v in crop):
        return "give four whole numbers of pixels: X,Y,WIDTH,HEIGHT"
    x, y, w, h = crop
    if x < 0 or y < 0:
        return "the corner (X,Y) must be inside the picture, at 0 or more"
    if w < MIN_CROP_PX or h < MIN_CROP_PX:
        return f"the width and height must be at least {MIN_CROP_PX} pixels"
    if width is not None and height is not None and (x + w > width or y + h > height):
        return f"it reaches outside the {width}x{height} picture"
    return None


def uncrop(points: np.ndarray, crop: tuple[int, int, int, int] | np.ndarray, width: int, height: int) -> np.ndarray:
    """Image landmarks MediaPipe gave for a crop (x, y from 0 to 1 across it; z in x's units) in the whole picture's
    terms, as if it had looked at the whole picture: the camera model downstream is the whole picture's. crop: one
    rectangle (x, y, width, height) or one per frame, (T, 4) for points (T, N, 3)."""
    x, y, w, h = (np.asarray(crop, np.float64)[..., k, None] for k in range(4))
    out = points.copy()
    out[..., 0] = (points[..., 0] * w + x) / width
    out[..., 1] = (points[..., 1] * h + y) / height
    out[..., 2] = points[..., 2] * w / width
    return out


def follow(crop: tuple[int, int, int, int], points: np.ndarray, width: int, height: int,
           least: tuple[int, int]) -> tuple[int, int, int, int]:
    """Where the crop goes next, having found the person at `points` (x, y across it, 0 to 1: their landmarks, and
    where they are headed): moved only as far as keeps those points and a margin of FOLLOW_MARGIN of their extent
    inside it, inside the picture, and as large as that needs (a person coming towards the camera grows) but never
    smaller than `least` (width, height: the rectangle the user drew). A person who walks out of that rectangle is
    followed, and one who stays in it is looked for there alone."""
    x, y, w, h = crop
    px = np.clip(points[:, 0] * w + x, 0, width)
    py = np.clip(points[:, 1] * h + y, 0, height)
    margin = FOLLOW_MARGIN * max(float(np.ptp(px)), float(np.ptp(py)))

    def place(corner: int, smallest: int, lo: float, hi: float, limit: int) -> tuple[int, int]:
        lo, hi = lo - margin, hi + margin
        size = min(limit, max(smallest, int(np.ceil(hi - lo))))
        if hi - lo > size:  # more than the picture holds: centred on them
            corner = round((lo + hi - size) / 2)
        elif lo < corner:
            corner = int(np.floor(lo))
        elif hi > corner + size:
            corner = int(np.ceil(hi)) - size
        return int(np.clip(corner, 0, limit - size)), size

    (x, w), (y, h) = (place(x, least[0], float(px.min()), float(px.max()), width),
                      place(y, least[1], float(py.min()), float(py.max()), height))
    return x, y, w, h


class Follower:
    """A --crop that follows its person from frame to frame: `follow` where they are found; where they are not, moved
    on at their hips' pace and grown by the way it has gone (PACE_S) for up to FOLLOW_COAST_S after they were
    last seen, then back where they were lost."""

    def __init__(self, crop: tuple[int, int, int, int], width: int, height: int) -> None:
        self.window, self.width, self.height, self.least = crop, width, height, crop[2:]
        self.seen: list[tuple[float, np.ndarray]] = []  # (time, hips' centre in pixels) over the last PACE_S
        self.tall = 0.0  # their height in pixels when last seen
        self.lost_at: tuple[int, int, int, int] | None = None  # the window when they were last seen

    def pace(self) -> np.ndarray:
        """The hips' pace over the last PACE_S seen (or since the sighting before, within FOLLOW_COAST_S),
        pixels a second; none under FOLLOW_MOVING of their height a second."""
        if len(self.seen) < 2:
            return np.zeros(2)
        (t0, c0), (t1, c1) = self.seen[0], self.seen[-1]
        pace = (c1 - c0) / max(t1 - t0, 1e-6)
        return pace if np.linalg.norm(pace) > FOLLOW_MOVING * self.tall else np.zeros(2)

    def update(self, t: float, points: np.ndarray | None) -> None:
        """After frame time `t`, with the person's points in the window (33 x, y, 0 to 1 across it) or None."""
        x, y, w, h = self.window
        if points is not None and np.isfinite(points[:, :2]).all():
            hips = points[[LM["left_hip"], LM["right_hip"]], :2].mean(axis=0) * [w, h] + [x, y]
            step = t - self.seen[-1][0] if self.seen else 0.0
            recent = [(s, c) for s, c in self.seen if t - s <= PACE_S]
            self.seen = recent or [(s, c) for s, c in self.seen[-1:] if t - s <= FOLLOW_COAST_S]
            self.seen.append((t, hips))
            self.tall = float(np.ptp(points[:, 1])) * h
            # Where the body is and where its pace takes it by the next frame: a runner crosses the margin in one.
            ahead = points[:, :2] + self.pace() * min(step, PACE_S) / [w, h]
            self.window = follow(self.window, np.concatenate([points[:, :2], ahead]), self.width, self.height,
                                 self.least)
            self.lost_at = None
            return
        self.lost_at = self.lost_at or self.window
        gone = self.pace() * (t - self.seen[-1][0]) if self.seen else np.zeros(2)  # pixels, x and y
        there = self.seen[-1][1] + gone if self.seen else np.zeros(2)
        if (not gone.any() or t - self.seen[-1][0] > FOLLOW_COAST_S
                or not (0 <= there[0] <= self.width and 0 <= there[1] <= self.height)):  # gone out of the picture
            self.window = self.lost_at  # where they were lost
            return
        lx, ly, lw, lh = self.lost_at
        sizes = [min(limit, int(size + min(abs(g), size))) for size, g, limit in
                 zip((lw, lh), gone, (self.width, self.height), strict=True)]
        x, y = (int(np.clip(round(corner + size / 2 + g - new / 2), 0, limit - new)) for corner, size, g, new, limit in
                zip((lx, ly), (lw, lh), gone, sizes, (self.width, self.height), strict=True))
        self.window = (x, y, sizes[0], sizes[1])


def crop_round(points: np.ndarray, width: int, height: int, margin: float = 0.15) -> tuple[int, int, int, int]:
    """A --crop round a person at image landmarks `points` (33 x, y of the whole picture, 0 to 1): their box and
    `margin` of its size around it, inside the picture, at least MIN_CROP_PX a side."""
    x0, x1 = np.clip([np.nanmin(points[:, 0]) * width, np.nanmax(points[:, 0]) * width], 0, width)
    y0, y1 = np.clip([np.nanmin(points[:, 1]) * height, np.nanmax(points[:, 1]) * height], 0, height)
    m = margin * max(x1 - x0, y1 - y0)
    x, y = int(max(0, x0 - m)), int(max(0, y0 - m))
    w, h = max(MIN_CROP_PX, int(min(width, x1 + m)) - x), max(MIN_CROP_PX, int(min(height, y1 + m)) - y)
    return min(x, width - w), min(y, height - h), w, h


def extract(video: str | Path, *, hands: bool = False, start: float | None = None, end: float | None = None,
            crop: tuple[int, int, int, int] | None = None, progress: Callable[[float, str], None] | None = None,
            info: vid.VideoInfo | None = None) -> Landmarks:
    """The 33 pose landmarks (image + world + visibility) of every frame of `video` in [start, end).
    Frames without a person are kept with detected=False and NaN coordinates. crop: look for the person in this part
    of the picture (x, y, width, height in pixels), which then follows them (`Follower`); the landmarks are still the
    whole picture's, and Landmarks.crop holds where each frame was looked at. info:
    video.probe(video), when the caller has it already (the server probes an upload when the job starts)."""
    info = info or vid.probe(video)  # bad input fails here, before the slow MediaPipe import
    if crop is not None and (why := crop_problem(crop, info.width, info.height)) is not None:
        raise InputError(f"{video}: --crop {','.join(map(str, crop))}: {why}")
    import mediapipe as mp

    expected = vid.expected_frames(info, start, end)
    progress = progress or (lambda f, m: None)
    model = _make_model(mp, hands)
    follower = Follower(crop, info.width, info.height) if crop is not None else None
    times: list[float] = []
    image: list[np.ndarray] = []
    world: list[np.ndarray] = []
    vis: list[np.ndarray] = []
    windows: list[tuple[int, int, int, int]] = []
    lh: list[np.ndarray] = []
    rh: list[np.ndarray] = []
    nan33 = np.full((33, 3), np.nan, np.float32)
    nan21 = np.full((21, 3), np.nan, np.float32)
    step = max(1, expected // 100)
    reported = time.monotonic()
    with model:
        for i, (t, frame) in enumerate(vid.iter_frames(video, start, end, info)):
            if follower is not None:
                x, y, w, h = follower.window
                frame = np.ascontiguousarray(frame[y:y + h, x:x + w])
                windows.append(follower.window)
            res = model.process(frame)
            times.append(t)
            found = res.pose_landmarks is not None and res.pose_world_landmarks is not None
            if follower is not None:
                follower.update(t, _points(res.pose_landmarks) if found else None)
            if found:
                im = _points(res.pose_landmarks)
                image.append(im)
                world.append(_points(res.pose_world_landmarks))
                vis.append(np.array([p.visibility for p in res.pose_landmarks.landmark], np.float32))
            else:
                image.append(nan33)
                world.append(nan33)
                vis.append(np.zeros(33, np.float32))
            if hands:
                lh.append(_points(res.left_hand_landmarks) if res.left_hand_landmarks is not None else nan21)
                rh.append(_points(res.right_hand_landmarks) if res.right_hand_landmarks is not None else nan21)
            # Every 1 %, and at least every second: progress is where a cancel is seen, and a server kills a worker
            # that has not stopped 5 s after one (1 % of a 10-minute video with --hands is 7 s of MediaPipe).
            if i % step == 0 or time.monotonic() - reported >= 1.0:
                reported = time.monotonic()
                progress(min(1.0, (i + 1) / expected), f"frame {i + 1}/{expected}")
    progress(1.0, f"{len(times)} frames")
    if not times:
        raise InputError(f"{video}: no frames in the requested range")
    image_a = np.stack(image).astype(np.float64)
    world_a = np.stack(world).astype(np.float64)  # metric, about the hips: the same whatever the crop
    looked = np.array(windows, np.int64) if crop is not None else None
    if looked is not None:
        image_a = uncrop(image_a, looked, info.width, info.height)
    lm = Landmarks(
        times=np.asarray(times, np.float64), image=image_a, world=world_a,
        visibility=np.stack(vis).astype(np.float64), detected=np.isfinite(image_a[:, 0, 0]),
        width=info.width, height=info.height, source=str(video), rate=info.fps, crop=looked,
    )
    if hands:
        left, right = (np.stack(h).astype(np.float64) for h in (lh, rh))
        if looked is not None:
            left, right = (uncrop(h, looked, info.width, info.height) for h in (left, right))
        lm.left_hand, lm.right_hand = left, right
        lm.left_hand_world = _hand_world_all(lm, lm.left_hand, LM["left_wrist"])
        lm.right_hand_world = _hand_world_all(lm, lm.right_hand, LM["right_wrist"])
    return lm


def _make_model(mp, hands: bool):
    if hands:
        return mp.solutions.holistic.Holistic(static_image_mode=False, model_complexity=1, smooth_landmarks=False,
                                              refine_face_landmarks=False)
    return mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=False,
                                  enable_segmentation=False)


def _points(landmark_list) -> np.ndarray:
    return np.array([(p.x, p.y, p.z) for p in landmark_list.landmark], np.float32)


def image_to_world_scale(image: np.ndarray, world: np.ndarray, width: int, height: int) -> float:
    """Metres per pixel of one frame: the least-squares scale that maps the body's image points (pixels,
    centred) onto its world x, y (centred). NaN when too few points."""
    px = image[_SCALE_POINTS, :2] * (width, height)
    wx = world[_SCALE_POINTS, :2]
    ok = np.isfinite(px).all(1) & np.isfinite(wx).all(1)
    if ok.sum() < 3:
        return float("nan")
    a = px[ok] - px[ok].mean(0)
    b = wx[ok] - wx[ok].mean(0)
    den = float((a * a).sum())
    return float((a * b).sum() / den) if den > 0 else float("nan")


def _hand_world_all(lm: Landmarks, hand_image: np.ndarray, wrist: int) -> np.ndarray:
    """Hand "world" points (T, 21, 3), NaN where the hand or the body was not seen.

    x, y: the hand's image points relative to its own wrist point, in pixels, times the frame's metres per
    pixel (image_to_world_scale), added to the pose's world wrist. z: MediaPipe's hand z is depth relative to
    the hand's wrist in about the same units as x (normalised by image width), so it gets the same scale.
    The hand is thus placed as if its image plane were parallel to the camera's; its pose and proportions
    are right, its depth only approximate.
    """
    out = np.full(hand_image.shape, np.nan)
    for t in range(lm.frame_count):
        h = hand_image[t]
        if not (lm.detected[t] and np.isfinite(h).all()):
            continue
        s = image_to_world_scale(lm.image[t], lm.world[t], lm.width, lm.height)
        if not np.isfinite(s):
            continue
        rel = (h - h[0]) * (lm.width, lm.height, lm.width)
        out[t] = lm.world[t, wrist] + s * rel
    return out


# Landmarks whose absence makes the body incomplete: shoulders, hips, knees, ankles.
_CORE_POINTS = [LM[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_knee",
                                "right_knee", "left_ankle", "right_ankle")]


def trunk_pixels(lm: Landmarks) -> tuple[np.ndarray, np.ndarray]:
    """(T, 2) the hips' centre and (T, 2) the line from it to the shoulders' centre, in pixels (NaN without a
    person)."""
    px = lm.image[..., :2] * [max(lm.width, 1), max(lm.height, 1)]
    hips = 0.5 * (px[:, LM["left_hip"]] + px[:, LM["right_hip"]])
    return hips, 0.5 * (px[:, LM["left_shoulder"]] + px[:, LM["right_shoulder"]]) - hips


def torso_angles(lm: Landmarks) -> np.ndarray:
    """(frames with a person,) degrees from the picture's up to its hips -> shoulders line, clockwise as seen."""
    up = trunk_pixels(lm)[1][lm.detected]
    return np.degrees(np.arctan2(up[:, 0], -up[:, 1]))


# A video whose rotation was lost (a portrait phone video re-encoded without it) shows an upright person lying
# across the picture; the clip then lies on its side. Said where the body is this far from upright (degrees) in
# this share of the frames with a person: never on the kit's real videos (Pose2Sim's camera 4, held 26 degrees
# askew, leans that far in 16 % of its frames), always on them turned a quarter or half turn.
TURNED_DEG, TURNED_SHARE = 60.0, 0.8
# How the video looks turned, by the median torso angle, and the ffmpeg filter that turns it back.
_TURNS = ((45.0, 135.0, "a quarter turn clockwise", "transpose=2"),
          (-135.0, -45.0, "a quarter turn counter-clockwise", "transpose=1"))


def turned_warning(lm: Landmarks) -> str | None:
    """A warning where the person lies across the picture or stands on their head in nearly every frame: as in a
    video turned from upright. (A clip of someone lying or crawling throughout gets it too; it says so.)"""
    angles = torso_angles(lm)
    share = float(np.mean(np.abs(angles) > TURNED_DEG)) if len(angles) >= 3 else 0.0
    if share < TURNED_SHARE:
        return None
    median = float(np.median(angles))
    how, fix = next(((h, f) for lo, hi, h, f in _TURNS if lo <= median <= hi), ("half a turn", "hflip,vflip"))
    return (f"the body is far from upright in the picture in {100 * share:.0f}% of the "
            f"frames, as in a video turned {how} (its rotation lost); if the person was upright, turn the video back "
            f"first (ffmpeg -i IN -vf {fix} OUT); as it is, the clip has the body as the picture shows it")


# MediaPipe follows one person; lost, it takes whoever it finds next, and the clip's Hips then travel to them. Someone
# seen again further than REAPPEAR_TORSOS plus REAPPEAR_TORSOS_PER_S for each second unseen (a runner, 4 m/s with a
# 0.5 m torso) both from where they were lost and from where their pace over the last PACE_S seen would have
# taken them is said to be possibly someone else. The kit's real videos come back within 0.1 torso lengths; a second
# person taking over 0.8 s after the first was hidden came 10 away; a runner at 16 torso lengths a second (the
# side-view run played twice as fast) hidden for 0.2 s came back 5 from where he was lost and 1.5 from his pace's
# place. A longer pace window takes in slower frames before (0.25 s: 3 from his pace's place).
REAPPEAR_TORSOS, REAPPEAR_TORSOS_PER_S = 2.0, 8.0


def reappearances(lm: Landmarks) -> list[tuple[int, int, float]]:
    """Where a person is found again after frames without one, far from where they were lost (see REAPPEAR_TORSOS):
    (the last frame seen, the frame found, how many torso lengths away)."""
    hips, up = trunk_pixels(lm)
    torso = np.linalg.norm(up, axis=-1)
    seen = runs(lm.detected)
    out = []
    # Each gap between two stretches with a person: the stretch before it, the first frame after it.
    for (start, end), (found, _) in zip(seen[:-1], seen[1:], strict=True):
        last = end - 1
        unseen = float(lm.times[found] - lm.times[last])
        # The pace over the stretch's last PACE_S, at least two frames (none from a single frame).
        first = max(start, min(last - 1, int(np.searchsorted(lm.times, lm.times[last] - PACE_S))))
        pace = (hips[last] - hips[first]) / max(float(lm.times[last] - lm.times[first]), 1e-6)
        length = max(float(torso[last]), 1e-6)
        lost, paced = (float(np.linalg.norm(hips[found] - at)) / length
                       for at in (hips[last], hips[last] + pace * unseen))
        if min(lost, paced) > REAPPEAR_TORSOS + REAPPEAR_TORSOS_PER_S * unseen:
            out.append((last, found, lost))
    return out


def reappear_warnings(lm: Landmarks) -> list[str]:
    """A warning for each of `reappearances`, with both times and a crop that keeps the person found first."""
    out = []
    for last, found, lost in reappearances(lm):
        # To 0.01 s where 0.1 s would give both times alike (a cut between two shots loses a frame or two).
        digits = 1 if round(float(lm.times[found]), 1) != round(float(lm.times[last]), 1) else 2
        out.append(f"the person found at {lm.times[found]:.{digits}f} s is {lost:.0f} torso lengths from where one "
                   f"was last seen at {lm.times[last]:.{digits}f} s: if it is someone else, the clip goes on with "
                   f"their motion from where the first was lost; cut the video there (--start/--end), or crop the "
                   f"picture to the one you want (--crop{_keep_first(lm, int(np.argmax(lm.detected)))})")
    return out


def _keep_first(lm: Landmarks, first: int) -> str:
    """The --crop, round whoever was found first (at frame `first`), that follows them from there, as the warning
    offers it; "" where that is no help (the whole picture, or one too small for any crop)."""
    if min(lm.width, lm.height) < MIN_CROP_PX:
        return ""
    keep = crop_round(lm.image[first], lm.width, lm.height)
    if keep == (0, 0, lm.width, lm.height):
        return ""
    return f" {','.join(map(str, keep))} follows the person found at {lm.times[first]:.1f} s"


def quality_warnings(lm: Landmarks, hands: bool = True) -> list[str]:
    """Plain-language warnings about extracted landmarks that will make a poor clip: few frames with a person,
    a picture that seems turned from upright, a body often partly outside the picture (MediaPipe then guesses the
    missing joints), and with `hands`, a hand seen too rarely (saved landmarks may hold hands a run without
    --hands does not use). Like every warning of a run, they do not name the video: each client names it where it says
    them (a summary's row, a log line), so that none names it twice."""
    out: list[str] = []
    if lm.frame_count and lm.detection_rate < 0.8:
        out.append(f"a person was found in only {100 * lm.detection_rate:.0f}% of the frames; "
                   "frames without one are guessed from those around them")
    turned = turned_warning(lm)
    if turned:
        out.append(turned)
    out += reappear_warnings(lm)
    det = lm.detected
    if det.any():
        pts = lm.image[det][:, _CORE_POINTS, :2]
        outside = ((pts < 0.0) | (pts > 1.0)).any(-1) | (lm.visibility[det][:, _CORE_POINTS] < 0.3)
        partial = outside.any(-1).mean()
        if partial > 0.3:
            missing = [n for n, frac in zip(("shoulders", "hips", "knees", "ankles"),
                                            outside.reshape(-1, 4, 2).any(-1).mean(0), strict=True) if frac > 0.3]
            out.append(f"the body is partly out of the picture in {100 * partial:.0f}% of the frames "
                       f"({', '.join(missing) or 'various joints'} not visible); those joints are guessed")
        for side in ("left", "right") if hands else ():  # --hands: say where fingers stay at rest
            # The fingers are solved from the world points: a hand seen in the image only stays at rest too.
            image, world = getattr(lm, f"{side}_hand"), getattr(lm, f"{side}_hand_world")
            if image is None and world is None:
                continue  # no hands at all: the pipeline says so once
            seen = 0.0 if world is None else float(np.isfinite(world[det]).all(axis=(1, 2)).mean())
            if seen < 0.5:
                out.append(f"the {side} hand was found in {100 * seen:.0f}% of the frames with a person; its "
                           "fingers stay at rest elsewhere")
    return out
