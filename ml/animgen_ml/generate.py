"""The "generate" stage: cleaned landmarks -> HumanoidClip, by the neural network or the analytic solver."""

from __future__ import annotations

from animgen_ml import solver
from animgen_ml.clip import HumanoidClip
from animgen_ml.landmarks import Landmarks


def generate_clip(landmarks: Landmarks, options) -> HumanoidClip:
    """options: a pipeline.GenerateOptions (generator, hands). The network when its weights are shipped,
    else the analytic solver."""
    if options.generator == "network":
        from animgen_ml import model

        if model.weights_available():
            return model.load_model().generate(landmarks, fingers=options.hands)
    return solver.solve(landmarks, fingers=options.hands)
