"""How far a camera's roll leans the generated body: on the held-out mocap subjects (the same inputs as `animgen
evaluate mocap`, the same cameras but each held at one roll), per generator the mean sideways lean of the body
(Hips to Head, in the image plane, against the truth's) and the mean angle between the generated and true Hips-to-
Head directions, in degrees. A generator that reads gravity from the pose has a lean near 0 at every roll; one that
takes the camera's up for the world's leans by the whole roll.

python scripts/camera_roll.py [--data ../shared/data] [--limit N] [--rolls 0,10,20,30]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from animgen_ml import evaluate
from animgen_ml.shared_data import require_shared_data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=None, help="the data kit (default: ../shared/data)")
    ap.add_argument("--limit", type=int, default=None, help="at most N sequences")
    ap.add_argument("--rolls", default="0,10,20,30", help="camera rolls in degrees, comma-separated")
    args = ap.parse_args()
    data = args.data or require_shared_data()
    gens = evaluate.generators()
    print(f"{'roll':>5} {'generator':>10} {'lean':>6} {'error':>6}  (degrees; mean over sequences)")
    for roll in (float(r) for r in args.rolls.split(",")):
        rows: dict[str, list[tuple[float, float]]] = {}
        for _, lm, truth in evaluate.mocap_inputs(data, args.limit, roll=np.radians(roll), log=lambda _: None):
            for name, gen in gens.items():
                rows.setdefault(name, []).append(evaluate.body_lean(gen(lm), truth))
        for name, vals in rows.items():
            side, err = np.mean(vals, axis=0)
            print(f"{roll:5.0f} {name:>10} {side:6.1f} {err:6.1f}")


if __name__ == "__main__":
    main()
