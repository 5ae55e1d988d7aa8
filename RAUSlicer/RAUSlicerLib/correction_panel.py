"""The panel's correction buttons: Update from the placed points and box, Propagate, Undo, Clear."""

import slicer


class CorrectionPanel:
    """Correction actions mixed into the module widget, which gives ``ui``, ``logic``, ``_parameterNode``,
    ``_startJob``, ``_outputSegments``, ``_segmentComboNode`` and ``_updateButtons``."""

    def _fillSegmentCombo(self, segments):
        """The result's segments by name; each item holds its segment id (its structure), so the selection stays on
        a segment the user renames. When the selected one is removed, none is selected until the user picks one
        (prompts must not go to another); a newly followed result starts at its first segment."""
        combo = self.ui.segmentComboBox
        selected = combo.itemData(combo.currentIndex) if combo.currentIndex >= 0 else None
        followed, self._segmentComboNode = self._segmentComboNode, self._outputSegments.node
        wasBlocked = combo.blockSignals(True)
        combo.clear()
        for segmentId, name in segments:
            combo.addItem(name, segmentId)
        index = combo.findData(selected) if selected is not None else -1
        combo.currentIndex = 0 if index < 0 and followed is not self._outputSegments.node else index
        combo.blockSignals(wasBlocked)
        self._updateButtons()

    def _selectedStructure(self):
        """The structure of the segment picked for corrections (its segment id), or ''."""
        combo = self.ui.segmentComboBox
        return (combo.itemData(combo.currentIndex) or "") if combo.currentIndex >= 0 else ""

    def _promptNodes(self):
        """The positive/negative point lists and the box, created on first use and shown in the place widgets."""
        p = self._parameterNode
        if p.positivePoints is None:
            p.positivePoints = _newMarkups("vtkMRMLMarkupsFiducialNode", "RAU inside", (0.1, 0.9, 0.1))
        if p.negativePoints is None:
            p.negativePoints = _newMarkups("vtkMRMLMarkupsFiducialNode", "RAU outside", (0.9, 0.1, 0.1))
        if p.promptBox is None:
            p.promptBox = _newMarkups("vtkMRMLMarkupsROINode", "RAU box", (0.9, 0.9, 0.1))
        self._showPromptNodes()
        return p.positivePoints, p.negativePoints, p.promptBox

    def _showPromptNodes(self):
        p = self._parameterNode
        self.ui.positivePlaceWidget.setCurrentNode(p.positivePoints)
        self.ui.negativePlaceWidget.setCurrentNode(p.negativePoints)
        self.ui.boxPlaceWidget.setCurrentNode(p.promptBox)

    def onUpdate(self):
        with slicer.util.tryWithErrorDisplay("Could not read the prompts.", waitCursor=True):
            prompt = self.logic.promptFromMarkups(self._parameterNode.outputSegmentation, *self._promptNodes())
            self._startCorrection(self._selectedStructure(), prompt, f"Updating {self.ui.segmentComboBox.currentText}")

    def onPropagate(self):
        with slicer.util.tryWithErrorDisplay("Could not propagate.", waitCursor=True):
            self._startCorrection(self._selectedStructure(), None, f"Propagating {self.ui.segmentComboBox.currentText}")

    def _startCorrection(self, name, prompt, title):
        node = self._parameterNode.outputSegmentation
        overwrite = self._parameterNode.overwriteOthers  # read once: the work and its write must agree
        shown = self.ui.segmentComboBox.currentText  # ``name`` is the picked segment's id, not always its name
        work = self.logic.correctionJob(node, name, prompt, overwrite)
        self._startJob(work, lambda item: self._applyCorrection(node, name, item, overwrite, prompt, shown), title)

    def _applyCorrection(self, node, name, item, overwrite, prompt, shown):
        item = self.logic.applyCorrection(node, name, item, overwrite, prompt)
        if prompt is not None:  # the session keeps them: placed again, they would count twice (or for the next segment)
            self.onClearPrompts()
        return f"{shown}: confidence {item.confidence:.2f}" + ("" if item.found else " (not found)")

    def onUndo(self):
        """Undo as a correction runs: the engine session's undo (a server's round trip) off the GUI thread, then the
        segments written here."""
        node, structure, name = self._parameterNode.outputSegmentation, self._selectedStructure(), self.ui.segmentComboBox.currentText
        with slicer.util.tryWithErrorDisplay(f"Could not undo {name!r}.", waitCursor=True):
            work = self.logic.undoJob(node, structure)
            self._startJob(work, lambda _answer: self._applyUndo(node, structure, name), f"Undoing {name}")

    def _applyUndo(self, node, structure, name):
        self.logic.applyUndo(node, structure)
        return f"{name}: previous mask restored"

    def onClearPrompts(self):
        for node in self._promptNodes():
            node.RemoveAllControlPoints()


def _newMarkups(className, name, color):
    node = slicer.mrmlScene.AddNewNodeByClass(className, slicer.mrmlScene.GenerateUniqueName(name))
    node.CreateDefaultDisplayNodes()
    node.GetDisplayNode().SetSelectedColor(color)
    return node

