"""Weight-free corrections for engines without a model session (see :mod:`rau.correction.grow`)."""

from rau.correction.grow import Seeds, correct_mask, stroke_points
from rau.correction.session import CorrectorSession, attach_session

__all__ = ["CorrectorSession", "Seeds", "attach_session", "correct_mask", "stroke_points"]
