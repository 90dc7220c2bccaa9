"""Quaternion and rotation helpers on numpy arrays. Quaternions are (..., 4) in x, y, z, w order."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def identity(shape: tuple[int, ...] = ()) -> np.ndarray:
    q = np.zeros(shape + (4,))
    q[..., 3] = 1.0
    return q


def normalize(q: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(q, axis=-1, keepdims=True)
    return q / np.maximum(n, 1e-12)


def conjugate(q: np.ndarray) -> np.ndarray:
    return q * np.array([-1.0, -1.0, -1.0, 1.0])


def multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a * b (apply b first, then a)."""
    ax, ay, az, aw = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bx, by, bz, bw = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return np.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        axis=-1,
    )


def apply(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (..., 3) by quaternions q (..., 4)."""
    u = q[..., :3]
    w = q[..., 3:4]
    t = 2.0 * _cross(u, v)
    return v + w * t + _cross(u, t)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.cross of (..., 3) arrays, written out: np.cross's axis handling costs more than the arithmetic on the
    small arrays that forward kinematics passes per bone."""
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], axis=-1)


def from_axis_angle(axis: ArrayLike, angle: ArrayLike) -> np.ndarray:
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    half = 0.5 * np.asarray(angle, dtype=np.float64)[..., None]
    return np.concatenate([a * np.sin(half), np.cos(half)], axis=-1)


def to_axis_angle(q: np.ndarray) -> np.ndarray:
    """Rotation vectors (..., 3): axis times angle in radians, angle in [0, pi]."""
    q = normalize(q)
    q = np.where(q[..., 3:4] < 0, -q, q)
    s = np.linalg.norm(q[..., :3], axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, q[..., 3:4])
    return q[..., :3] * np.where(s > 1e-12, angle / np.maximum(s, 1e-12), 2.0)


def angle(q: np.ndarray) -> np.ndarray:
    """Rotation angle in radians, in [0, pi]."""
    return 2.0 * np.arctan2(np.linalg.norm(q[..., :3], axis=-1), np.abs(q[..., 3]))


def angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle in radians of the rotation taking a to b."""
    return angle(multiply(conjugate(a), b))


def from_matrix(m: np.ndarray) -> np.ndarray:
    """Quaternions from rotation matrices (..., 3, 3), by Shepperd's method: of four candidates (each the quaternion
    times 4 times one of its components), the one whose component is largest, normalised. Each matrix's candidate
    is computed alone (all four for every matrix took 2.8 times as long, 7 % of the network's generate)."""
    m = np.asarray(m, dtype=np.float64)
    flat = m.reshape(-1, 9)
    m00, m11, m22 = flat[:, 0], flat[:, 4], flat[:, 8]
    best = np.argmax(np.stack([m00 + m11 + m22, m00, m11, m22], axis=-1), axis=-1)
    q = np.empty((len(flat), 4))
    for k in range(4):
        i = np.flatnonzero(best == k)
        a00, a01, a02, a10, a11, a12, a20, a21, a22 = flat[i].T
        if k == 0:  # 4w * q
            c = (a21 - a12, a02 - a20, a10 - a01, 1.0 + a00 + a11 + a22)
        elif k == 1:  # 4x * q
            c = (1.0 + a00 - a11 - a22, a01 + a10, a02 + a20, a21 - a12)
        elif k == 2:  # 4y * q
            c = (a01 + a10, 1.0 + a11 - a00 - a22, a12 + a21, a02 - a20)
        else:  # 4z * q
            c = (a02 + a20, a12 + a21, 1.0 + a22 - a00 - a11, a10 - a01)
        q[i] = np.stack(c, axis=-1)
    return normalize(q.reshape(m.shape[:-2] + (4,)))


def to_matrix(q: np.ndarray) -> np.ndarray:
    q = normalize(q)
    x, y, z, w = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=-2,
    )


def between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Shortest rotation taking direction u to direction v (both (..., 3), broadcast against each other)."""
    u, v = np.broadcast_arrays(np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64))
    u = u / np.maximum(np.linalg.norm(u, axis=-1, keepdims=True), 1e-12)
    v = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)
    d = np.sum(u * v, axis=-1, keepdims=True)
    c = np.cross(u, v)
    q = np.concatenate([c, 1.0 + d], axis=-1)
    # Opposite directions: turn half a circle about any axis perpendicular to u.
    opposite = (1.0 + d[..., 0]) < 1e-9
    if np.any(opposite):
        alt = np.cross(u, np.array([1.0, 0.0, 0.0]))
        alt2 = np.cross(u, np.array([0.0, 1.0, 0.0]))
        alt = np.where(np.linalg.norm(alt, axis=-1, keepdims=True) < 1e-6, alt2, alt)
        q = np.where(opposite[..., None], np.concatenate([alt, np.zeros_like(d)], -1), q)
    return normalize(q)


def from_basis(x_axis: np.ndarray, y_axis: np.ndarray) -> np.ndarray:
    """Rotation whose columns are x, y (re-orthogonalised, y kept exact) and x cross y."""
    y = y_axis / np.maximum(np.linalg.norm(y_axis, axis=-1, keepdims=True), 1e-12)
    z = np.cross(x_axis, y)
    z = z / np.maximum(np.linalg.norm(z, axis=-1, keepdims=True), 1e-12)
    x = np.cross(y, z)
    return from_matrix(np.stack([x, y, z], axis=-1))


def make_continuous(q: np.ndarray, axis: int = 0) -> np.ndarray:
    """Flip signs along `axis` (time) so that consecutive quaternions lie in the same hemisphere."""
    q = np.moveaxis(np.array(q, dtype=np.float64), axis, 0)
    if len(q) > 1:
        # q[t] flips when it points away from q[t-1] as already flipped: the product of the raw steps' signs.
        step = np.where(np.sum(q[1:] * q[:-1], axis=-1) < 0, -1.0, 1.0)
        q[1:] *= np.cumprod(step, axis=0)[..., None]
    return np.moveaxis(q, 0, axis)


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    t = np.asarray(t, dtype=np.float64)[..., None] if np.ndim(t) else float(t)
    d = np.sum(a * b, axis=-1, keepdims=True)
    b = np.where(d < 0, -b, b)
    d = np.abs(d)
    theta = np.arccos(np.clip(d, -1.0, 1.0))
    s = np.sin(theta)
    small = s < 1e-6
    wa = np.where(small, 1.0 - t, np.sin((1.0 - t) * theta) / np.where(small, 1.0, s))
    wb = np.where(small, t, np.sin(t * theta) / np.where(small, 1.0, s))
    return normalize(wa * a + wb * b)


def to_6d(q: np.ndarray) -> np.ndarray:
    """The continuous 6-D representation: the first two columns of the rotation matrix."""
    m = to_matrix(q)
    return np.concatenate([m[..., :, 0], m[..., :, 1]], axis=-1)


def from_6d(d6: np.ndarray) -> np.ndarray:
    """Inverse of to_6d, by Gram-Schmidt on the two columns."""
    a1, a2 = d6[..., :3], d6[..., 3:6]
    b1 = a1 / np.maximum(np.linalg.norm(a1, axis=-1, keepdims=True), 1e-12)
    b2 = a2 - np.sum(b1 * a2, axis=-1, keepdims=True) * b1
    b2 = b2 / np.maximum(np.linalg.norm(b2, axis=-1, keepdims=True), 1e-12)
    b3 = np.cross(b1, b2)
    return from_matrix(np.stack([b1, b2, b3], axis=-1))
