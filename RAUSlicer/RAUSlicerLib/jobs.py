"""Running engine work off the GUI thread, with progress and cancel, reporting back on the GUI thread.

The worker thread never touches MRML: the caller reads nodes into ``rau`` objects first
and writes the outcome into the scene in ``on_done``, which runs on the GUI thread (a
``QTimer`` polls the worker's queue), so a cancelled or failed job leaves the scene as it was.
"""

from __future__ import annotations

import queue
import threading

import qt

_ABANDONED = set()
"""Jobs whose panel went away, kept (with their timers) until their work has stopped."""


class BackgroundJob:
    """Runs ``function(progress)`` on a thread. ``on_progress(step, fraction)`` and ``on_done(value, error, warnings)``
    are called on the GUI thread; ``error`` is the raised exception or None, ``warnings`` what the work said to the user
    (:func:`rau.user_warnings.warn`: on the worker thread they would reach only the Python console). ``on_dropped(value)``
    is told of a value nobody will write: the work finished, but the job was abandoned (:meth:`abandon`)."""

    POLL_MS = 100

    def __init__(self, function, on_progress, on_done, on_dropped=None):
        self.function, self.on_progress, self.on_done, self.on_dropped = function, on_progress, on_done, on_dropped
        self._messages = queue.Queue()
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._work, name="RAUSlicer job", daemon=True)
        self._timer = qt.QTimer()
        self._timer.setInterval(self.POLL_MS)
        self._timer.connect("timeout()", self._poll)

    def start(self) -> None:
        self._timer.start()
        self._thread.start()

    def cancel(self) -> None:
        """Ask the job to stop at its next progress report (it raises ``rau.engines.base.Cancelled``)."""
        self._cancel.set()

    def abandon(self, then) -> None:
        """Cancel and never report back (the panel that started the job is going away); ``then()`` runs on the GUI
        thread once the work has stopped (e.g. closing the engine sessions it may still be using), after ``on_dropped``
        is given the value of work that finished."""
        self._cancel.set()
        _ABANDONED.add(self)
        self.on_progress = lambda *_: None
        self.on_done = lambda value, error, _warnings: self._abandoned(value, error, then)

    def _abandoned(self, value, error, then) -> None:
        _ABANDONED.discard(self)
        if error is None and self.on_dropped is not None:
            self.on_dropped(value)
        then()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called (the answer, if the work still finished, is to be dropped)."""
        return self._cancel.is_set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive() or self._timer.isActive()

    def _work(self) -> None:
        from rau.engines.base import Progress
        from rau.user_warnings import collected_warnings

        progress = Progress(lambda step, fraction: self._messages.put(("progress", (step, fraction))), self._cancel.is_set)
        with collected_warnings() as said:
            try:
                value, failure = self.function(progress), None
            except BaseException as error:  # reported to the user on the GUI thread, a library's sys.exit() too (raised
                value, failure = None, error  # on here it would end this thread unreported, the job running for ever)
        self._messages.put(("done", (value, failure, said)))

    def _poll(self) -> None:
        while True:
            try:
                kind, payload = self._messages.get_nowait()
            except queue.Empty:
                return
            if kind == "progress":
                self.on_progress(*payload)
            else:
                self._timer.stop()
                self.on_done(*payload)
                return


def error_details(error: BaseException) -> str:
    """A job's error with its traceback, for the details of the error dialog."""
    import traceback

    return "".join(traceback.format_exception(type(error), error, error.__traceback__))
