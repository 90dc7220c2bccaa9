"""The network's foot contacts at other thresholds: precision, recall and F1 on the held-out mocap subjects (the
same inputs as `animgen evaluate mocap`), for the question "could a threshold buy the baseline's precision?",
and the network's precision where its recall comes down to the baseline's (the two compared at one recall).

python scripts/contact_curve.py [--data ../shared/data] [--limit N] [--training] [--exact]

--training draws the same curve on the training BVH clips instead (same camera and noise model), for the question
"is the shortfall the new subject?". --exact feeds the network exact landmarks (the same cameras, the noise model
off), for the question "is it MediaPipe's noise?".

Each row sets ContactParams.prob_on (a contact starts above it) and prob_off = prob_on - 0.2 (it ends below that;
the shipped pair is 0.6 / 0.4), with the shipped minimum durations. This reports the curve; it does not pick the
shipped threshold (choosing one on the held-out subjects would be tuning on the test set). Beside the frame scores,
each row gives the footsteps an engine hears (the Unity and Unreal plugins put a footstep event where each contact
starts; metrics.step_timing): the share of true footsteps with a predicted one within 0.1 s, the share of predicted
ones that are a true one's, and the share of the matched ones within a frame.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from animgen_ml import contacts, evaluate, metrics, model, train
from animgen_ml.shared_data import require_shared_data

PROB_ON = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998)
NEAR = 3  # frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=None, help="the data kit (default: ../shared/data)")
    ap.add_argument("--limit", type=int, default=None, help="at most N sequences")
    ap.add_argument("--training", action="store_true", help="the training clips instead of the held-out ones")
    ap.add_argument("--exact", action="store_true", help="exact landmarks: the same cameras, no noise")
    args = ap.parse_args()
    data = args.data or require_shared_data()
    files = None
    if args.training:  # the BVH ones: DeepMimic's few clips (.txt) have their own reader and are left out
        files = [f for f in train.mocap_files(data / "mocap", train.TRAIN_SETS) if f.suffix == ".bvh"]
    net = model.load_model()
    analytic = evaluate.generators()["analytic"]
    seqs, baseline, baseline_steps = [], np.zeros(3), np.zeros(4)
    for _, lm, clip in evaluate.mocap_inputs(data, args.limit, files=files, noise=0.0 if args.exact else 1.0):
        prob = 1.0 / (1.0 + np.exp(-net.predict(lm)["contact_logits"]))
        seqs.append((prob, lm.fps, clip.contacts))
        solved = analytic(lm).contacts
        baseline += metrics.contact_counts(solved, clip.contacts)
        baseline_steps += metrics.step_timing(solved, clip.contacts, lm.fps)
    which = ("training" if args.training else "held-out") + (", exact landmarks" if args.exact else "")
    print(f"{len(seqs)} {which} sequences, {sum(len(t) for _, _, t in seqs)} frames")
    print(f"{'prob_on':>8} {'prob_off':>8} {'precision':>9} {'recall':>7} {'F1':>6}   footsteps: {'found':>5} "
          f"{'precision':>9} {'on time':>7}")
    curve = []
    for on in PROB_ON:
        params = contacts.ContactParams(prob_on=on, prob_off=on - 0.2)
        counts, steps = np.zeros(3), np.zeros(4)
        for prob, fps, truth in seqs:
            predicted = contacts.from_probability(prob, fps, params)
            counts += metrics.contact_counts(predicted, truth)
            steps += metrics.step_timing(predicted, truth, fps)
        s, st = metrics.scores_from_counts(*counts), metrics.step_scores(*steps)
        curve.append(s)
        print(f"{on:8.3f} {on - 0.2:8.3f} {s['contact_precision']:9.3f} {s['contact_recall']:7.3f} "
              f"{s['contact_f1']:6.3f}              {st['steps_found']:5.3f} {st['steps_precision']:9.3f} "
              f"{st['steps_on_time']:7.3f}")
    b, bs = metrics.scores_from_counts(*baseline), metrics.step_scores(*baseline_steps)
    print(f"analytic baseline: precision {b['contact_precision']:.3f}, recall {b['contact_recall']:.3f}, "
          f"F1 {b['contact_f1']:.3f}; footsteps found {bs['steps_found']:.3f}, precision {bs['steps_precision']:.3f}, "
          f"on time {bs['steps_on_time']:.3f}")
    above = [(on, s) for on, s in zip(PROB_ON, curve, strict=True) if s["contact_recall"] >= b["contact_recall"]]
    if above:
        on, s = above[-1]
        print(f"at prob_on {on}, the highest threshold whose recall ({s['contact_recall']:.3f}) still reaches the "
              f"baseline's, the network's precision is {s['contact_precision']:.3f}")
    # Where the shipped threshold's false contacts lie: just before a true one starts (an early start), just
    # after one ends (a late end), or away from any.
    before = after = false = 0
    for prob, fps, truth in seqs:
        fp = contacts.from_probability(prob, fps) & ~truth
        since_end, until_start = frames_from_true(truth)
        false += int(fp.sum())
        before += int((fp & (until_start <= NEAR) & (until_start < since_end)).sum())
        after += int((fp & (since_end <= NEAR) & (since_end <= until_start)).sum())
    print(f"shipped thresholds: of the {false} false contact frames, {before / max(false, 1):.0%} lie within {NEAR} "
          f"frames before a true contact of the same foot starts, {after / max(false, 1):.0%} within {NEAR} after "
          f"one ends")


def frames_from_true(truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, 2) twice: frames since the latest true contact frame of the same foot, and until the next one (a large
    number where there is none)."""
    t = np.arange(len(truth))[:, None]
    last = np.maximum.accumulate(np.where(truth, t, -10**9), axis=0)  # the latest true frame at or before each
    nxt = np.minimum.accumulate(np.where(truth, t, 10**9)[::-1], axis=0)[::-1]  # the earliest at or after
    return t - last, nxt - t


if __name__ == "__main__":
    main()
