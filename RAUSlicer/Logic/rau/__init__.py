"""rau: reference-based anatomical understanding.

Find every structure of an annotated reference image in a new target image.
The core objects are :class:`rau.image.Image`, :class:`rau.labels.Segmentation`
and :class:`rau.result.Result`; engines live in :mod:`rau.engines`.
"""

from rau.image import Image
from rau.labels import LabelSet, Segmentation, Structure
from rau.result import Result, StructureResult

__version__ = "0.1.0"

__all__ = ["Image", "LabelSet", "Result", "Segmentation", "Structure", "StructureResult", "__version__"]
