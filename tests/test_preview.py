"""The preview's side view shows the character from its right whichever way it walks."""

from __future__ import annotations

import numpy as np

from animgen_ml import edit, mocap
from animgen_ml import rotations as R
from animgen_ml.preview import _SideView, mean_facing


def test_side_view_of_a_walk_across_the_camera_shows_the_stride(shared_data):
    """A clip is in the camera's frame: a person filmed from the side walks along X. The side view projected onto Z
    and showed such a walk face-on, its stride and travel gone."""
    walk = mocap.load_clip(shared_data / "mocap" / "sfu_accad_terrainrl" / "0005_Walking001_30fps.bvh")
    walk = edit.face_forward(walk)  # facing +Z at its start
    for yaw_deg in (0.0, 90.0, -135.0):
        q = R.from_axis_angle(np.array([0.0, 1.0, 0.0]), np.radians(yaw_deg))
        turned = edit.rotate_about_y(walk, q, walk.hips[0])
        heading = R.apply(q, mean_facing(walk))
        assert np.dot(mean_facing(turned), heading) > 0.999
        view = _SideView(turned, 480)
        hips = view.zy[:, turned.index("Hips")]
        travel = float(np.dot(turned.hips[-1] - turned.hips[0], heading))
        assert travel > 1.0 and abs(hips[-1, 0] - hips[0, 0] - travel) < 1e-6  # forward is to the right
        feet = view.zy[:, [turned.index("LeftFoot"), turned.index("RightFoot")], 0]
        assert np.abs(feet[:, 0] - feet[:, 1]).max() > 0.3  # the stride, seen from the side
