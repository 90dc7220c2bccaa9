"""A landmarks file (`--landmarks`) that `Landmarks.save` did not write is refused by what is wrong with it."""

from __future__ import annotations

import numpy as np
import pytest

from animgen_ml.landmarks import Landmarks


def _arrays(T: int = 20) -> dict:
    rng = np.random.default_rng(0)
    return dict(times=np.arange(T) / 30.0, image=rng.random((T, 33, 3)), world=rng.normal(0, 0.3, (T, 33, 3)),
                visibility=rng.random((T, 33)), detected=np.ones(T, bool), width=640, height=480, source="a.mp4")


@pytest.mark.parametrize("change, words", [
    ({"times": np.arange(20)[::-1] / 30.0}, "times do not increase (frame 1 at 0.633333 s, then 0.6 s)"),
    ({"times": np.full(20, np.nan)}, "times holds values that are not finite numbers"),  # was an internal error
    ({"times": np.arange(20) / 30.0 * 1e6}, "frames are up to 33333.3 s apart: times are not in seconds"),  # OOM
    ({"times": np.arange(20) / 30.0 * 1e-3}, "frames are 3.33333e-05 s apart: times are not in seconds"),
    ({"times": np.arange(20)[:, None] / 30.0}, "times has shape (20, 1)"),
    ({"world": np.full((20, 33, 3), "x")}, "world holds <U1 values, not numbers"),
    ({"width": 0}, "the video's size is 0x480"),
    ({"crop": np.zeros((20, 3))}, "Landmarks.crop has shape (20, 3), expected (20, 4)"),
    ({"crop": np.full((20, 4), np.nan)}, "crop holds rectangles that are not finite"),  # the report would fail on it
])
def test_a_damaged_landmarks_file_is_refused_by_what_is_wrong(tmp_path, change, words):
    np.savez(tmp_path / "lm.npz", **(_arrays() | change))
    with pytest.raises(ValueError) as e:
        Landmarks.load(tmp_path / "lm.npz")
    assert words in str(e.value)


def test_saved_landmarks_load_back(tmp_path):
    lm = Landmarks(**_arrays())
    lm.save(tmp_path / "lm.npz")
    back = Landmarks.load(tmp_path / "lm.npz")
    assert np.array_equal(back.times, lm.times) and np.array_equal(back.world, lm.world) and back.crop is None
    # Where --crop looked goes with them, cut as the frames are.
    looked = Landmarks(**_arrays(), crop=np.arange(80).reshape(20, 4))
    looked.save(tmp_path / "looked.npz")
    assert np.array_equal(Landmarks.load(tmp_path / "looked.npz").crop, looked.crop)
    assert np.array_equal(looked.between(0.1, 0.2).crop, looked.crop[3:6])
    empty = {k: v[:0] if isinstance(v, np.ndarray) else v for k, v in _arrays().items()}
    np.savez(tmp_path / "none.npz", **empty)
    with pytest.raises(ValueError, match="no frames"):
        Landmarks.load(tmp_path / "none.npz")
