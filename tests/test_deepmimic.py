"""DeepMimic's motion files on our skeleton: a walk walks like the kit's BVH walks, loops repeat without a seam,
short clips are held still to training length, and a file of another character is refused by name."""

from __future__ import annotations

import json

import numpy as np
import pytest

from animgen_ml import deepmimic, train
from animgen_ml.errors import InputError


@pytest.fixture(scope="module")
def motions(shared_data):
    return shared_data / "mocap" / "deepmimic_humanoid3d" / "deepmimic"


def test_walk_walks_forward_on_the_floor(motions):
    clip = deepmimic.load_clip(motions / "humanoid3d_walk.txt")
    assert len(clip.bones) == 22 and clip.fps == 30.0
    pos, _ = clip.world()
    travel = clip.hips[-1] - clip.hips[0]
    travel[1] = 0.0
    assert np.linalg.norm(travel) / (clip.frame_count / clip.fps) == pytest.approx(1.0, abs=0.3)  # m/s, a walk
    travel /= np.linalg.norm(travel)
    for side in ("Left", "Right"):
        toe = pos[:, clip.index(f"{side}Toes")] - pos[:, clip.index(f"{side}Foot")]
        knee = pos[:, clip.index(f"{side}LowerLeg")]
        mid = 0.5 * (pos[:, clip.index(f"{side}UpperLeg")] + pos[:, clip.index(f"{side}Foot")])
        assert (toe[:, [0, 2]] @ travel[[0, 2]]).mean() > 0.05  # the feet point where he goes
        assert ((knee - mid) @ travel).mean() > 0.03  # knees bend forward
    assert (pos[:, clip.index("Head"), 1] > pos[:, 0, 1] + 0.4).all()
    # Feet on the floor (y = 0) and planted about half the time, one after the other.
    toes_y = pos[:, [clip.index("LeftToes"), clip.index("RightToes")], 1]
    assert np.percentile(toes_y.min(axis=1), 5) == pytest.approx(0.0, abs=0.01)
    assert 0.3 < clip.contacts.mean() < 0.8
    assert clip.contacts[:, 0].any() and clip.contacts[:, 1].any()


def test_loops_repeat_without_a_seam_and_short_clips_are_held(motions):
    frames, fps, loops = deepmimic.read_frames(motions / "humanoid3d_crawl.txt")
    assert loops and len(frames) / fps < deepmimic.MIN_S
    clip = deepmimic.load_clip(motions / "humanoid3d_crawl.txt")
    assert clip.frame_count >= deepmimic.MIN_S * clip.fps
    steps = np.linalg.norm(np.diff(clip.hips, axis=0), axis=1)
    assert steps.max() < 4 * np.median(steps) + 0.01  # no jump where one pass of the loop meets the next
    assert (clip.hips[:, 1] < 0.45).all()  # on all fours throughout

    getup = deepmimic.load_clip(motions / "humanoid3d_getup_facedown.txt")
    assert getup.frame_count >= deepmimic.MIN_S * getup.fps
    assert np.allclose(getup.rotations[0], getup.rotations[5]) and np.allclose(getup.hips[0], getup.hips[5])
    assert getup.hips[0, 1] < 0.3 and getup.hips[-1, 1] > 0.7  # lying, then standing

    clips = train.load_clips([motions / "humanoid3d_crawl.txt"], train.TrainConfig.window)
    assert [float(c.metadata["train_weight"]) for c in clips] == [train.FLOOR_WORK["crawl"]] * 2  # and its mirror


def test_another_characters_file_is_refused_by_name(tmp_path):
    bad = tmp_path / "humanoid3d_other.txt"
    bad.write_text(json.dumps({"Loop": "none", "Frames": [[0.033] + [0.0] * 45] * 10}))
    with pytest.raises(InputError, match=r"humanoid3d_other.txt: expected frames of 44 values"):
        deepmimic.load_clip(bad)
    bad.write_text("not json")
    with pytest.raises(InputError, match="not a DeepMimic motion file"):
        deepmimic.load_clip(bad)
