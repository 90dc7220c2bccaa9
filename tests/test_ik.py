"""Two-bone IK: reachable targets exactly, unreachable ones clamped without NaN, knees keep their side."""

from __future__ import annotations

import numpy as np

from animgen_ml import ik
from animgen_ml import rotations as R


def _chains(n: int, rng: np.random.Generator):
    root = rng.normal(size=(n, 3))
    l1, l2 = rng.uniform(0.2, 0.5, n), rng.uniform(0.2, 0.5, n)
    d1 = rng.normal(size=(n, 3))
    d1 /= np.linalg.norm(d1, axis=-1, keepdims=True)
    d2 = rng.normal(size=(n, 3))
    d2 /= np.linalg.norm(d2, axis=-1, keepdims=True)
    mid = root + l1[:, None] * d1
    end = mid + l2[:, None] * d2
    return root, mid, end, l1, l2


def test_reachable_targets_are_reached_exactly_and_lengths_kept():
    rng = np.random.default_rng(1)
    root, mid, end, l1, l2 = _chains(500, rng)
    dirs = rng.normal(size=(500, 3))
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    dist = rng.uniform(np.abs(l1 - l2) + 0.01, (l1 + l2) * 0.99)
    target = root + dist[:, None] * dirs
    sol = ik.solve_two_bone(root, mid, end, target)
    assert sol.reached.all()
    assert np.abs(sol.end - target).max() < 1e-9
    assert np.allclose(np.linalg.norm(sol.mid - root, axis=-1), l1, atol=1e-9)
    assert np.allclose(np.linalg.norm(sol.end - sol.mid, axis=-1), l2, atol=1e-9)
    # the rotations carry the bones onto the solution
    assert np.allclose(root + R.apply(sol.delta_upper, mid - root), sol.mid, atol=1e-9)
    lower = R.apply(sol.delta_lower, R.apply(sol.delta_upper, end - mid))
    assert np.allclose(sol.mid + lower, sol.end, atol=1e-9)


def test_unreachable_targets_are_clamped_without_nan():
    rng = np.random.default_rng(2)
    root, mid, end, l1, l2 = _chains(200, rng)
    dirs = rng.normal(size=(200, 3))
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    far = root + (l1 + l2 + rng.uniform(0.01, 2.0, 200))[:, None] * dirs
    near = root.copy()  # on the root itself: direction undefined
    for target in (far, near):
        sol = ik.solve_two_bone(root, mid, end, target)
        assert not sol.reached.any()
        for a in (sol.mid, sol.end, sol.delta_upper, sol.delta_lower):
            assert np.isfinite(a).all()
        assert np.allclose(np.linalg.norm(sol.mid - root, axis=-1), l1, atol=1e-9)
        assert np.allclose(np.linalg.norm(sol.end - sol.mid, axis=-1), l2, atol=1e-9)
    sol = ik.solve_two_bone(root, mid, end, far)
    # stretched toward the target: the end lies on the root->target line at (almost) full reach
    reach = np.linalg.norm(sol.end - root, axis=-1)
    assert np.allclose(reach, (l1 + l2) * 0.9999, rtol=1e-6)
    cos = np.sum((sol.end - root) * dirs, -1) / reach
    assert cos.min() > 1 - 1e-9


def test_knee_keeps_its_direction_and_straight_leg_uses_pole():
    hip = np.array([[0.0, 1.0, 0.0]])
    knee = np.array([[0.0, 0.6, 0.05]])  # bent forward (+Z)
    ankle = np.array([[0.0, 0.2, 0.0]])
    target = np.array([[0.0, 0.35, 0.2]])
    sol = ik.solve_two_bone(hip, knee, ankle, target)
    assert np.abs(sol.end - target).max() < 1e-9
    line = (target - hip) / np.linalg.norm(target - hip)
    off = (sol.mid - hip) - np.sum((sol.mid - hip) * line) * line
    assert off[0, 2] > 0.05  # still in front of the hip-ankle line
    straight = ik.solve_two_bone(hip, np.array([[0.0, 0.6, 0.0]]), ankle, np.array([[0.0, 0.4, 0.0]]),
                                 pole=[0.0, 0.0, 1.0])
    assert straight.mid[0, 2] > 0.1


def test_a_hinge_a_little_past_straight_bends_toward_its_pole():
    """A knee 3 deg past straight (joint limits allow 5) was bent further back to reach a nearer target; as a hinge it
    bends forward. A knee bent far the other way (kneeling, toes pointing back) keeps its bend."""
    hip, ankle = np.array([[0.0, 1.0, 0.0]]), np.array([[0.0, 0.2, 0.0]])
    back = np.array([[0.0, 0.6, -0.4 * np.tan(np.radians(1.5))]])  # 3 deg past straight (-Z: behind)
    target = np.array([[0.0, 0.4, 0.0]])
    forward = [0.0, 0.0, 1.0]
    assert ik.solve_two_bone(hip, back, ankle, target, pole=forward).mid[0, 2] < -0.1  # as it was: further back
    sol = ik.solve_two_bone(hip, back, ankle, target, pole=forward, hinge=True)
    assert sol.mid[0, 2] > 0.1 and np.abs(sol.end - target).max() < 1e-9
    kneeling = np.array([[0.0, 0.6, -0.3]])  # bent far toward -Z: its own bend stands
    assert ik.solve_two_bone(hip, kneeling, ankle, target, pole=forward, hinge=True).mid[0, 2] < -0.1


def _knee_bend_deg(root, mid, end) -> np.ndarray:
    u, v = mid - root, end - mid
    cos = np.sum(u * v, -1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def test_soft_reach_eases_toward_a_far_target_instead_of_snapping_straight():
    """A leg bent 36 degrees whose target moves out 2 cm a frame to 12 cm past its reach: clamped, the knee went
    straight within a few frames (the last steps the largest); soft, it straightens gradually and stays bent."""
    hip, knee, ankle = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.6, 0.13]), np.array([0.0, 0.2, 0.0])
    l1, l2 = np.linalg.norm(knee - hip), np.linalg.norm(ankle - knee)
    far = hip[1] - np.linspace(np.linalg.norm(ankle - hip), l1 + l2 + 0.12, 12)
    target = np.stack([np.zeros_like(far), far, np.zeros_like(far)], -1)
    n = len(far)
    args = (np.tile(hip, (n, 1)), np.tile(knee, (n, 1)), np.tile(ankle, (n, 1)), target)
    hard, soft = ik.solve_two_bone(*args), ik.solve_two_bone(*args, soft=0.05)
    bend_hard = _knee_bend_deg(args[0], hard.mid, hard.end)
    bend_soft = _knee_bend_deg(args[0], soft.mid, soft.end)
    assert bend_hard[-1] < 2.0 and np.abs(np.diff(bend_hard)).max() > 10.0
    assert bend_soft[-1] > 5.0 and np.abs(np.diff(bend_soft)).max() < 0.6 * np.abs(np.diff(bend_hard)).max()
    assert np.all(np.diff(bend_soft) <= 1e-9)  # ever straighter, never bent back
    assert np.isfinite(soft.delta_upper).all() and not soft.reached[-1]


def test_soft_reach_leaves_targets_within_the_chains_own_length_exact():
    """The soft zone starts no lower than the chain's current length: a target no further than the end is now, or
    short of the zone, is reached exactly, so a leg is never bent more than it was to reach further."""
    rng = np.random.default_rng(5)
    root, mid, end, l1, l2 = _chains(300, rng)
    current = np.linalg.norm(end - root, axis=-1)
    dirs = rng.normal(size=(300, 3))
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    dist = rng.uniform(np.abs(l1 - l2) + 0.01, np.maximum(current, (l1 + l2) * 0.94))
    target = root + dist[:, None] * dirs
    assert np.allclose(ik.solve_two_bone(root, mid, end, target, soft=0.05).end, target, atol=1e-9)
    # beyond, the end falls short of the target but never nearer the root than the chain's length was
    far = root + (np.maximum(current, (l1 + l2) * 0.94) + rng.uniform(0.001, 0.3, 300))[:, None] * dirs
    sol = ik.solve_two_bone(root, mid, end, far, soft=0.05)
    reach = np.linalg.norm(sol.end - root, axis=-1)
    assert np.all(reach >= current - 1e-9) and np.all(reach <= (l1 + l2) * 0.9999 + 1e-12)
