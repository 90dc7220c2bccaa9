"""A `--crop` that follows its person, on the kit's ten single-person videos: the rectangle drawn round the person in
the first frame the whole picture finds them in (their landmarks' box and 15 % of its size around it), against
MediaPipe on the whole picture.

    .venv/bin/python benchmarks/crop_follow.py      # one line per video: frames found, landmarks apart, how far it went

"found" is the share of frames with a person (the whole picture's beside it); "apart" the median and 95th percentile of
the image landmarks' difference, in the picture's size, over frames both find (MediaPipe sees another part of the
picture at another scale, so they are never equal); "moved" and "grew" the rectangle's largest shift and growth, px.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "ml"), str(REPO / "server")]

from animgen_ml import pose  # noqa: E402
from animgen_ml.shared_data import require_shared_data  # noqa: E402


def main() -> None:
    for video in sorted((require_shared_data() / "videos" / "monocular").glob("*.mp4")):
        whole = pose.extract(video)
        first = int(np.flatnonzero(whole.detected)[0])
        drawn = pose.crop_round(whole.image[first], whole.width, whole.height)
        followed = pose.extract(video, crop=drawn)
        assert followed.crop is not None
        both = followed.detected & whole.detected
        apart = np.abs(followed.image - whole.image)[both][..., :2]
        print(f"{video.stem:34s} {whole.width}x{whole.height} drawn {','.join(map(str, drawn))}: "
              f"found {followed.detected.mean():.3f} (whole {whole.detected.mean():.3f}), "
              f"apart {np.median(apart):.4f} / {np.percentile(apart, 95):.4f}, "
              f"moved {int(np.ptp(followed.crop[:, 0]))},{int(np.ptp(followed.crop[:, 1]))} px, "
              f"grew {int(followed.crop[:, 2].max()) - drawn[2]},{int(followed.crop[:, 3].max()) - drawn[3]} px",
              flush=True)


if __name__ == "__main__":
    main()
