"""The module logic's corrections: the kept engine sessions of results, and correcting, propagating and undoing a
structure in two steps (``work`` off the GUI thread, then writing the node on it), as ``RAUSlicerLogic`` offers them."""

OVERWRITE_OPTION = "tick 'Overwrite other segments under the new mask'"
"""How the panel lets a correction take other segments' voxels (said when a correction leaves out inside points)."""


class CorrectionLogic:
    """Correction methods mixed into ``RAUSlicerLogic``, which gives ``corrections`` (segmentation node ID ->
    ``rau.mrml.Correction``), ``sessionless`` (segmentation node ID -> (node, why the server kept no session)) and
    ``_releaseSessions``."""

    def correction(self, segmentationNode):
        """The kept correction session for a result node, or None (e.g. after reloading the scene: node IDs
        are reused, so a session counts only for the very node it wrote; a deleted node's session is closed)."""
        self._releaseSessions()
        correction = self.corrections.get(segmentationNode.GetID()) if segmentationNode else None
        if correction is not None and (correction.node is not segmentationNode or correction.result.session.closed_reason):
            self.corrections.pop(segmentationNode.GetID()).close()  # a server's closed session (410) corrects no more
            return None
        return correction

    def uncorrectable(self, segmentationNode):
        """Why a result node without a kept correction session (:meth:`correction`) cannot be corrected, as the panel
        says it: the server's reason when it kept no session for the result, else to press Run again."""
        node, reason = self.sessionless.get(segmentationNode.GetID(), (None, ""))
        if node is segmentationNode and reason:
            return f"{reason[0].upper()}{reason[1:]}."
        return "Corrections need the engine session of this run; press Run again to correct this segmentation."

    def undo(self, segmentationNode, name):
        """Put back the segment ``name`` (and the engine session's state) as it was before its last correction,
        synchronously (console, self-test), a server's session told at once how the node wrote it. ``name`` is matched
        as everywhere (case, spaces and punctuation aside)."""
        self.undoJob(segmentationNode, name)(None)
        self.applyUndo(segmentationNode, name)
        self.keptCorrection(segmentationNode, "undone").result.session.send_untold()

    def undoJob(self, segmentationNode, name):
        """Main thread: prepare undoing the last correction of ``name``. Returns ``work(progress)``, the engine
        session's undo after it is told of the hand edits made since (a server's round trips), safe on a worker thread; then :meth:`applyUndo`, or
        :meth:`dropUndo` when its answer is not written. ``name`` is matched as everywhere (case, spaces and punctuation aside)."""
        correction = self.keptCorrection(segmentationNode, "undone")
        return correction.undo_work(correction.structure_name(name))

    def applyUndo(self, segmentationNode, name):
        """Main thread: write what undoing ``name`` puts back, asking a server nothing (as :meth:`applyCorrection`). A
        write that is refused (e.g. the target moved) leaves the engine session undone and the node not: the session is
        closed and the error says so (:meth:`dropUndo`); one with nothing to undo is refused before (the session as it
        was). ``name`` is matched as everywhere."""
        correction = self.keptCorrection(segmentationNode, "undone")
        name = correction.structure_name(name)
        correction.check_undoable(name)
        _writtenOrTakenBack(lambda: correction.write_undo(name),
                            lambda: self.dropUndo(segmentationNode, name))

    def dropUndo(self, segmentationNode, name):
        """Main thread: an undo the engine session made but the node never got (its write refused). The session no
        longer matches the node and cannot redo, so it is closed; returns what to tell the user, or None when no
        session was kept."""
        if self.correction(segmentationNode) is None:
            return None
        return self._closeSession(segmentationNode, f"had already undone the correction of {name!r}")

    def keptCorrection(self, segmentationNode, done="corrected"):
        """:meth:`correction`, or a clear error when none is kept for the node (one removed from the scene: nothing
        was ``done``)."""
        if segmentationNode is not None and segmentationNode.GetScene() is None:
            raise ValueError(f"{segmentationNode.GetName()!r} was removed from the scene; nothing was {done}")
        correction = self.correction(segmentationNode)
        if correction is None:
            raise ValueError("this segmentation has no correction session; press Run again to correct it")
        return correction

    def promptFromMarkups(self, segmentationNode, positive, negative, box):
        """The prompt of the placed inside/outside points and box (once its placement is complete), in voxels
        of the result's target."""
        from RAUSlicer import importRau  # the module file, imported by then

        importRau()
        from rau.mrml import prompt_from_markups

        placed = box is not None and box.GetNumberOfControlPoints() > 0 and box.GetControlPointPlacementComplete()
        return prompt_from_markups(self.keptCorrection(segmentationNode).result.target, positive, negative, box if placed else None)

    def correctionJob(self, segmentationNode, name, prompt=None, overwrite=False):
        """Main thread: prepare correcting ``name`` (a prompt re-prompts it, None propagates it; ``overwrite``: the
        correction may take other structures' voxels, as :meth:`applyCorrection` is told too).

        Returns ``work(progress)``, safe on a worker thread (no MRML); pass its answer to
        :meth:`applyCorrection`. A cancelled ``work`` raises ``Cancelled`` and changes nothing.
        """
        correction = self.keptCorrection(segmentationNode)
        name = correction.structure_name(name)  # matched as everywhere; the session and the node use the result's spelling
        sync, session = correction.sync_work(name), correction.result.session

        def work(progress):
            sync()  # a server's session takes hand edits by upload: not on the GUI thread
            return session.propagate(name, progress) if prompt is None else session.reprompt(name, prompt, progress, overwrite)

        return work

    def applyCorrection(self, segmentationNode, name, item, overwrite=False, prompt=None):
        """Main thread: write a corrected structure into its segment (others change only with ``overwrite``), asking a
        server nothing: its session hears how the node wrote it in the next job's work (``session.send_untold``). A
        write that is refused (e.g. the target moved) takes the correction back out of the engine session too; the
        error then also says when that closed the session (:meth:`discardCorrection`). What ``rau correct`` says of
        ``prompt`` is said as a warning (:func:`rau.user_warnings.warn`): the inside points the written segment leaves
        out, and why a correction that left the segment's voxels as they were changed nothing."""
        correction = self.keptCorrection(segmentationNode)  # none kept: nothing to take back
        name = correction.structure_name(name)  # matched as everywhere
        correction.overwrite = overwrite

        def write():
            before = correction.node_mask(name)
            return before, correction.apply(name, item)

        before, written = _writtenOrTakenBack(write, lambda: self.discardCorrection(segmentationNode, name))
        if prompt:
            _warnOfPrompt(correction, name, prompt, before, written)
        return written

    def discardCorrection(self, segmentationNode, name):
        """Main thread: take a correction the engine session made but the node never got (its write refused) back
        out of the session, so the next one starts where the node is. A session that cannot take it back (a server
        that is busy or gone) is closed, as it no longer matches the node; returns what to tell the user then, else
        None."""
        correction = self.correction(segmentationNode)
        if correction is None or not correction.result.session.can_undo(name):
            return None
        try:
            correction.result.session.undo(name)
        except Exception as error:
            return self._closeSession(segmentationNode, f"could not take back the correction of {name!r} ({error})")
        return None

    def _closeSession(self, segmentationNode, what):
        """Close the node's engine session, which no longer matches the node (it ``what``); return what to tell the user."""
        self.corrections.pop(segmentationNode.GetID()).close()
        return f"The engine session {what}, so it was closed: press Run again to correct this result."

    def correct(self, segmentationNode, name, prompt=None, progress=None, overwrite=False):
        """Re-prompt (or, without a prompt, propagate) one structure synchronously (console, self-test), a server's
        session told at once how the node wrote it. ``name`` is matched as everywhere (case, spaces and punctuation aside)."""
        item = self.correctionJob(segmentationNode, name, prompt, overwrite)(progress)
        written = self.applyCorrection(segmentationNode, name, item, overwrite, prompt)
        self.keptCorrection(segmentationNode).result.session.send_untold()
        return written


def _warnOfPrompt(correction, name, prompt, before, written):
    """Warn, as ``rau correct`` says them, of the inside points of ``prompt`` that ``written`` (the segment as written)
    leaves out, and of why it changed nothing when it holds the voxels ``before`` (the segment's before the write)."""
    from rau.reprompt_notes import inside_points_warning, unchanged_reason
    from rau.user_warnings import warn

    overwriteOption = None if correction.overwrite else OVERWRITE_OPTION
    held = correction.masks_of_others({name})  # named as Slicer shows them, a segment painted by hand too
    leftOut = inside_points_warning(name, prompt, written, correction.union_of(held.values()), correction.result.engine, overwriteOption,
                                    session=correction.result.session, held=held)
    unchanged = unchanged_reason(correction.result.session, before, written, overwriteOption, held)
    for said in (leftOut, unchanged and f"{name!r} is unchanged: {unchanged}"):
        if said:
            warn(said)


def _writtenOrTakenBack(write, takeBack):
    """``write()`` (main thread); if it fails, ``takeBack()`` takes the engine session's change back out and says
    what to tell the user when that closed the session (else None): the error then says it too."""
    try:
        return write()
    except Exception as error:
        note = takeBack()
        if note is None:
            raise
        raise RuntimeError(f"{error}\n{note}") from error
