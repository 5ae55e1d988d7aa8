"""A terminal progress bar that engines drive through :class:`rau.engines.base.Progress`."""

from __future__ import annotations

import contextlib
import sys

from tqdm import tqdm

from rau.engines.base import Progress


@contextlib.contextmanager
def progress_bar(description: str):
    """Yield a :class:`Progress` that draws on stderr (silent when stderr is not a terminal)."""
    bar = tqdm(total=100, desc=description, unit="%", file=sys.stderr, disable=not sys.stderr.isatty(), leave=False)

    def update(step: str, fraction: float) -> None:
        bar.set_postfix_str(step, refresh=False)
        bar.n = round(100 * min(max(fraction, 0.0), 1.0))
        bar.refresh()

    try:
        yield Progress(update)
    finally:
        bar.close()
