"""Bridging an arm that flicks out and back while MediaPipe cannot see it.

Where an arm's landmarks are unsure (behind the body, leaving the picture), the network guesses, and a guess can flick:
the side-view run's right elbow went 89 -> 175 -> 85 degrees in two frames as the wrist went behind the body
(visibility 0.15), where MediaPipe's own elbow barely moved. No arm leaves a pose by that much and comes back within
MAX_S unseen; a fast real motion that does (a jab) is seen, so only excursions through an unsure frame are bridged.
"""

from __future__ import annotations

import numpy as np

from animgen_ml import rotations as R

MAX_S = 0.13  # an excursion that leaves and comes back within this long (4 frames at 30 fps) ...
MIN_DEG = 30.0  # ... to at least this far from both its ends ...
UNSURE = 0.5  # ... through a frame where the bone is less sure than this, is bridged
MAX_PASSES = 50  # excursions bridged per bone at most, the largest first
# The arms only. Every flick found on the ten real videos was an arm's; legs are held by foot locking, and bridged on a
# rendered take lying on the floor, unseen for seconds, they moved where refine raised its pose (renders' refined root
# height 36 -> 45 mm, all of it that take).
ARM_BONES = tuple(f"{side}{b}" for side in ("Left", "Right") for b in ("UpperArm", "LowerArm", "Hand"))


def sureness(confidence: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """(T, B) how sure each bone's rotation is: its own joint's confidence and its children's, which give its
    direction (a forearm is as sure as its elbow and its wrist)."""
    sure = confidence.copy()
    for b, p in enumerate(parents):
        if p >= 0:
            sure[:, p] = np.minimum(sure[:, p], confidence[:, b])
    return sure


def _degrees(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (degrees) between unit quaternions from their dot product: at the tens of degrees judged here as exact as
    rotations.angle_between, which forms the whole product and made bridging take twice as long."""
    return np.degrees(2.0 * np.arccos(np.minimum(np.abs(np.sum(a * b, axis=-1)), 1.0)))


def _windows(q: np.ndarray, unsure: np.ndarray, spans: range) -> list[np.ndarray]:
    """For each span: (T - span, n) which windows of that many frames (ends t and t + span) of each of n bones are
    worth measuring. q: (T, n, 4); unsure: (T, n). A frame MIN_DEG from both ends lies on a path that turns at least
    2 MIN_DEG from one end to the other: only windows whose frames turn that far, with an unsure frame between their
    ends, are."""
    T = len(q)
    turned = np.cumsum(np.concatenate([np.zeros((1, q.shape[1])), _degrees(q[1:], q[:-1])]), axis=0)
    count = np.cumsum(np.concatenate([np.zeros((1, q.shape[1])), unsure]), axis=0)  # unsure frames before each
    return [(count[span:T] - count[1:T - span + 1] > 0) & (turned[span:] - turned[:-span] > 2.0 * MIN_DEG)
            for span in spans]


def _largest(q: np.ndarray, unsure: np.ndarray, spans: range) -> tuple[int, int] | None:
    """One bone's largest excursion worth bridging, as (frame before it, frames from there to the frame after it), or
    None. q: (T, 4); unsure: (T,) bool. How far a window's middle strays is its frame furthest from both ends."""
    best, found = MIN_DEG, None
    for span, window in zip(spans, _windows(q[:, None], unsure[:, None], spans), strict=True):
        t = np.flatnonzero(window[:, 0])
        if not len(t):
            continue
        a, b = q[t], q[t + span]
        far = np.max([np.minimum(_degrees(q[t + i], a), _degrees(q[t + i], b)) for i in range(1, span)], axis=0)
        # Out and back: the ends agree far better than the middle strays from them (a turn that goes on is no spike).
        far[_degrees(a, b) >= far / 2] = 0.0
        k = int(np.argmax(far))
        if far[k] > best:
            best, found = far[k], (int(t[k]), span)
    return found


def bridge(rotations: np.ndarray, sure: np.ndarray, fps: float, bones: list[int]) -> np.ndarray:
    """(T, B, 4) local rotations with each unsure excursion (see the module) of these bones replaced by the slerp
    between the frames around it. sure: (T, B) as sureness gives it."""
    q = rotations.copy()  # unit quaternions; slerp and angles take either sign
    spans = range(2, min(max(2, int(round(MAX_S * fps))), len(q) - 1) + 1)
    unsure = sure < UNSURE
    windows = _windows(q[:, bones], unsure[:, bones], spans)  # all bones at once: most have none to measure
    for k, b in enumerate(bones):
        if not any(w[:, k].any() for w in windows):
            continue
        for _ in range(MAX_PASSES):
            found = _largest(q[:, b], unsure[:, b], spans)
            if found is None:
                break
            s, span = found
            q[s + 1:s + span, b] = R.slerp(np.broadcast_to(q[s, b], (span - 1, 4)),
                                           np.broadcast_to(q[s + span, b], (span - 1, 4)), np.arange(1, span) / span)
    return q
