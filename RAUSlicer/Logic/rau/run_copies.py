"""Copies of an image made once in a run: the target's working copies serve every reference registered onto it."""

from __future__ import annotations

from typing import Any, Callable


class RunCopies:
    """``copies.of(make, image, *args)`` is ``make(image, *args)``, made the first time it is asked for only.

    A run makes one and lets it go when it ends (:func:`rau.engines.registration._transfers`): it keeps each copy, and
    the image it was made of (so that the image's identity, its key, is not reused), for as long as it is held; it is
    never global, so a long-lived process (Slicer, ``rau serve``) keeps nothing between runs. ``make`` must not change
    its image, and callers must not change a copy.
    """

    def __init__(self):
        self._made: dict[tuple, tuple[Any, Any]] = {}

    def of(self, make: Callable, image: Any, *args) -> Any:
        """``make(image, *args)``, made once for this image object and these arguments."""
        key = (make, id(image), args)
        if key not in self._made:
            self._made[key] = (image, make(image, *args))
        return self._made[key][1]
