"""AnimGen's animation engine: video -> landmarks -> HumanoidClip -> files. No networking here."""

from animgen_ml.clip import HumanoidClip
from animgen_ml.errors import AnimGenError, InputError
from animgen_ml.landmarks import Landmarks
from animgen_ml.pipeline import GenerateOptions, ProgressEvent, Result, extract, run

__version__ = "0.2.13"

__all__ = [
    "AnimGenError", "GenerateOptions", "HumanoidClip", "InputError", "Landmarks", "ProgressEvent", "Result",
    "__version__", "extract", "run",
]
