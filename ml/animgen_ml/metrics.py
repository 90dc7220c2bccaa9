"""Accuracy metrics on plain arrays: positions (T, J, 3) in metres, rotations (T, B, 4) xyzw, contacts (T, 2).

Positions are reported in millimetres, angles in degrees. NaN joints (undefined in one of the two) are ignored.
"""

from __future__ import annotations

import numpy as np

from animgen_ml import rotations as R


def _root_relative(pos: np.ndarray, root: int | None) -> np.ndarray:
    return pos if root is None else pos - pos[:, root:root + 1]


def mpjpe(pred: np.ndarray, true: np.ndarray, root: int | None = 0) -> float:
    """Mean per-joint position error (mm) after aligning the root joint (None: no alignment)."""
    d = np.linalg.norm(_root_relative(pred, root) - _root_relative(true, root), axis=-1)
    return float(np.nanmean(d) * 1000.0)


def procrustes(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """pred (T, J, 3) aligned to true per frame by the similarity transform (rotation, scale, translation)
    that minimises the squared error; NaN joints are left out of the fit."""
    out = np.full_like(pred, np.nan)
    for t in range(len(pred)):
        ok = np.isfinite(pred[t]).all(-1) & np.isfinite(true[t]).all(-1)
        if ok.sum() < 3:
            continue
        X, Y = pred[t, ok], true[t, ok]
        mx, my = X.mean(0), Y.mean(0)
        X0, Y0 = X - mx, Y - my
        U, S, Vt = np.linalg.svd(X0.T @ Y0)
        D = np.eye(3)
        D[2, 2] = np.sign(np.linalg.det(U @ Vt))  # no reflections
        Rm = U @ D @ Vt
        s = np.trace(np.diag(S) @ D) / max(np.sum(X0 ** 2), 1e-12)
        out[t] = s * (pred[t] - mx) @ Rm + my
    return out


def pa_mpjpe(pred: np.ndarray, true: np.ndarray) -> float:
    """MPJPE (mm) after a per-frame Procrustes alignment with scale."""
    return mpjpe(procrustes(pred, true), true, root=None)


def joint_angle_error(pred_rot: np.ndarray, true_rot: np.ndarray) -> float:
    """Mean angle (degrees) between predicted and true local rotations."""
    return float(np.degrees(np.nanmean(R.angle_between(R.normalize(pred_rot), R.normalize(true_rot)))))


def acceleration_error(pred: np.ndarray, true: np.ndarray, root: int | None = 0) -> float:
    """Mean difference (mm/frame^2) between predicted and true joint accelerations (second differences)."""
    if len(pred) < 3:
        return float("nan")
    a = np.diff(_root_relative(pred, root), 2, axis=0) - np.diff(_root_relative(true, root), 2, axis=0)
    return float(np.nanmean(np.linalg.norm(a, axis=-1)) * 1000.0)


def acceleration(pos: np.ndarray, root: int | None = 0) -> float:
    """Mean joint acceleration magnitude (mm/frame^2): jitter, for inputs without ground truth."""
    if len(pos) < 3:
        return float("nan")
    return float(np.nanmean(np.linalg.norm(np.diff(_root_relative(pos, root), 2, axis=0), axis=-1)) * 1000.0)


def _nanmean(x: np.ndarray) -> float:
    """The mean of the finite values; NaN when there are none (without numpy's empty-slice warning)."""
    x = np.asarray(x, dtype=np.float64)
    ok = np.isfinite(x)
    return float(x[ok].mean()) if ok.any() else float("nan")


def foot_sliding(feet: np.ndarray, contacts: np.ndarray) -> float:
    """Mean horizontal foot motion (mm/frame) over frame pairs where the foot is in contact in both; NaN where no
    foot is (nothing measured: it had read 0, a perfect score, and pulled a set's mean down).

    feet: (T, 2, 3) world positions of the left/right foot (or toe) joints, +Y up; contacts: (T, 2) bool.
    """
    if len(feet) < 2:
        return float("nan")
    step = np.linalg.norm(np.diff(feet[..., [0, 2]], axis=0), axis=-1)  # (T-1, 2)
    both = contacts[1:] & contacts[:-1]
    return _nanmean(step[both]) * 1000.0


def root_path_error(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean horizontal distance (mm) between two root paths (T, 3), +Y up, after moving one so that their means
    agree: where the root went, whatever the start. Neither rotated nor scaled, so heading and scale count."""
    a, b = pred[:, [0, 2]], true[:, [0, 2]]
    ok = np.isfinite(a).all(axis=-1) & np.isfinite(b).all(axis=-1)  # NaN frames are left out, as everywhere here
    a, b = a[ok], b[ok]
    return _nanmean(np.linalg.norm((a - a.mean(axis=0)) - (b - b.mean(axis=0)), axis=-1)) * 1000.0


def root_height_error(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean distance (mm) between the heights of two root paths (T, 3), +Y up, after moving one so that their mean
    heights agree: how the Hips rise and sink (a crouch, a jump, hips pulled down so that pinned feet reach), which
    neither the root-aligned joint errors nor the horizontal root path see."""
    a, b = pred[:, 1], true[:, 1]
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    return _nanmean(np.abs((a - a.mean()) - (b - b.mean()))) * 1000.0


def sideways_lean(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean sideways lean (degrees, signed) of directions (T, 3), e.g. Hips to Head, against the true ones: their
    angles from up (+Y) in the XY plane, which is the image plane in a camera's yaw frame. A camera's roll taken
    for the world's up leans a body by the roll."""
    side = np.arctan2(pred[:, 0], pred[:, 1]) - np.arctan2(true[:, 0], true[:, 1])
    return float(np.degrees(np.mean((side + np.pi) % (2 * np.pi) - np.pi)))


def ground_penetration_rate(feet: np.ndarray, ground: float = 0.0, tolerance: float = 0.01) -> float:
    """Fraction of frames in which a foot joint is more than `tolerance` metres below the ground."""
    return float(np.mean((feet[..., 1] < ground - tolerance).any(axis=-1))) if len(feet) else float("nan")


def contact_counts(pred: np.ndarray, true: np.ndarray) -> tuple[int, int, int]:
    """True positives, false positives and false negatives of predicted contacts (both (T, 2) bool)."""
    pred, true = np.asarray(pred, bool), np.asarray(true, bool)
    return int(np.sum(pred & true)), int(np.sum(pred & ~true)), int(np.sum(~pred & true))


def contact_scores(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 of predicted contacts against true ones (both (T, 2) bool, all feet pooled)."""
    return scores_from_counts(*contact_counts(pred, true))


# A footstep event this near a true landing (seconds) is heard as that landing's; within a frame it is on time.
FOOTSTEP_MATCH_S = 0.1


def footsteps(contacts: np.ndarray) -> list[np.ndarray]:
    """Per foot of (T, 2) contacts, the frames where a contact starts after the first frame: where the Unity and
    Unreal plugins put footstep events (a clip that starts planted did not land there)."""
    c = np.asarray(contacts, bool)
    return [np.flatnonzero(c[1:, f] & ~c[:-1, f]) + 1 for f in range(c.shape[1])]


def step_timing(pred: np.ndarray, true: np.ndarray, fps: float) -> tuple[int, int, int, int]:
    """Predicted contacts (T, 2) against true ones as footstep events (footsteps): how many true and predicted
    footsteps there are, how many pairs match (one to one, the same foot, within FOOTSTEP_MATCH_S, nearest first),
    and how many of those pairs are within a frame."""
    window = max(1, int(round(FOOTSTEP_MATCH_S * fps)))
    n_true = n_pred = matched = on_time = 0
    for p, t in zip(footsteps(pred), footsteps(true), strict=True):
        n_true, n_pred = n_true + len(t), n_pred + len(p)
        pairs = sorted((abs(int(a) - int(b)), i, j) for i, a in enumerate(t) for j, b in enumerate(p)
                       if abs(int(a) - int(b)) <= window)
        used_t, used_p = set(), set()
        for gap, i, j in pairs:
            if i not in used_t and j not in used_p:
                used_t.add(i)
                used_p.add(j)
                matched += 1
                on_time += gap <= 1
    return n_true, n_pred, matched, on_time


def step_scores(n_true: float, n_pred: float, matched: float, on_time: float) -> dict[str, float]:
    """Footstep scores from step_timing's counts: the share of true footsteps heard, the share of predicted ones
    that are a true one's, and the share of the heard ones within a frame (NaN where there is nothing to share)."""
    share = lambda a, b: a / b if b else float("nan")  # noqa: E731
    return {"steps_found": share(matched, n_true), "steps_precision": share(matched, n_pred),
            "steps_on_time": share(on_time, matched)}


def scores_from_counts(tp: float, fp: float, fn: float) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else (1.0 if fn == 0 else 0.0)
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"contact_precision": precision, "contact_recall": recall, "contact_f1": f1}
