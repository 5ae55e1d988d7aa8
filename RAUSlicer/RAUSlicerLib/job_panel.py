"""The panel's background jobs: progress bar, Cancel, and what happens when a job ends (written, cancelled, failed)."""

import slicer

from RAUSlicerLib.jobs import BackgroundJob, error_details


class JobPanel:
    """Job running mixed into the module widget, which gives ``ui``, ``logic``, ``_job``, ``_releaseWhenStopped`` and
    ``_updateButtons``."""

    def _startJob(self, work, done, title, dropped=None, inputWarnings=()):
        """Run ``work(progress)`` off the GUI thread; ``done(value)`` writes the scene and returns a status. A Cancel
        that comes after the work finished is too late: ``done`` writes its answer, which the status says (taking it
        back would be more work on the GUI thread, and an undo or a run cannot be taken back without closing their
        sessions). ``dropped(value)`` is told of a value that the scene's closing or the module's reload throws away
        (it returns what to add to the status, or None). ``inputWarnings``: the warnings given while reading the job's inputs, shown with the job's."""

        def onProgress(step, fraction):
            self.ui.progressBar.value = int(100 * fraction)
            self.ui.progressBar.format = f"{step} %p%"

        def onDone(value, error, warnings):
            warnings = [*inputWarnings, *warnings]
            cancelled = self._job is not None and self._job.cancelled  # also when the work finished before it noticed
            closing, self._job = self._releaseWhenStopped, None
            if closing:  # the scene closed while it ran
                self._releaseWhenStopped = False
                self.logic.releaseSessions()
            self.ui.progressBar.hide()
            self.ui.cancelButton.hide()
            from rau.engines.base import Cancelled  # the panel's set-up made the bundled rau importable

            if isinstance(error, Cancelled) or closing:  # an error once the scene closed under it is moot
                note = dropped(value) if error is None and dropped is not None else None
                self.ui.statusLabel.text = "Cancelled; nothing was changed." + (f" {note}" if note else "")
            elif error is not None:
                self.ui.statusLabel.text = "Failed."
                slicer.util.errorDisplay(f"{title} failed: {error}", detailedText=error_details(error))
                showWarnings(title, warnings)
            else:
                with slicer.util.WaitCursor():  # writing a large result into the scene takes a moment
                    status, writeError, said = finishJob(done, value, warnings)
                self.ui.statusLabel.text = "Failed." if writeError is not None else status + (LATE_CANCEL if cancelled else "")
                if writeError is not None:
                    slicer.util.errorDisplay(f"{title}: could not write the result.\n\n{writeError}", detailedText=error_details(writeError))
                showWarnings(title, said)
            self._updateButtons()

        self.ui.statusLabel.text = f"{title}..."
        self.ui.progressBar.value = 0
        self.ui.progressBar.format = "%p%"  # the last job's step until this one's first
        self.ui.progressBar.show()
        self.ui.cancelButton.show()
        self._job = BackgroundJob(work, onProgress, onDone, dropped)
        self._job.start()
        self._updateButtons()

    def onCancel(self):
        if self._job is not None:
            self._job.cancel()
            self.ui.statusLabel.text = "Cancelling..."


LATE_CANCEL = " (Cancel came after the work had finished: its answer was written)"
"""What the status adds when the user's Cancel came too late."""


def finishJob(done, value, warnings):
    """Main thread: ``done(value)``, which writes a job's answer into the scene and returns a status. Returns
    ``(status, error, warnings)``: ``error`` is what ``done`` raised (None when it wrote); ``warnings`` are the work's
    (``warnings``) then what ``done`` said, kept when the write fails too, as what the run said still holds."""
    from rau.user_warnings import collected_warnings  # the panel's set-up made the bundled rau importable

    with collected_warnings() as said:
        try:
            status, error = done(value), None
        except Exception as raised:  # shown with the warnings by the caller
            status, error = None, raised
    return status, error, [*warnings, *said]


def showWarnings(title, warnings):
    """Show what RAUSlicer said to the user while doing ``title`` (nothing when it said nothing)."""
    if warnings:
        slicer.util.warningDisplay("\n\n".join(warnings), windowTitle=f"RAUSlicer: {title}")
