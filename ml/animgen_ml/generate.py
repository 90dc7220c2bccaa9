"""The "generate" stage: cleaned landmarks -> HumanoidClip, by the neural network or the analytic solver."""

from __future__ import annotations

import threading

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


def preload(options) -> threading.Thread | None:
    """Starts loading the network (importing torch and the weights, about a second) in the background, so that
    it overlaps pose extraction instead of following it. Join the thread before generate_clip."""
    if options.generator != "network":
        return None
    thread = threading.Thread(target=_load_network, name="animgen-preload", daemon=True)
    thread.start()
    return thread


def _load_network() -> None:
    from animgen_ml import model

    # A failure here surfaces again, with its message, when generate_clip loads the model itself.
    if model.weights_available():
        model.load_model()
