"""Ground: fit the floor from the sole points of planted feet and move the clip so that floor is y = 0."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from animgen_ml import contacts as C
from animgen_ml.clip import HumanoidClip


def floor_from_contacts(clip: HumanoidClip, fc: C.FootContacts) -> float:
    """Height of the floor: the median height of heel and toe sole points while they are planted; without
    any contact, a low percentile of the lowest sole point."""
    heel, toe = C.sole_points(clip)
    samples = np.concatenate([heel[..., 1][fc.heel], toe[..., 1][fc.toe]])
    if len(samples) >= 3:
        return float(np.median(samples))
    return C.floor_height(heel, toe)


def put_on_ground(clip: HumanoidClip, floor: float) -> HumanoidClip:
    hips = clip.hips.copy()
    hips[:, 1] -= floor
    return replace(clip, hips=hips)
