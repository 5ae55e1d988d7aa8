"""RAUSlicer: segment a target image like an annotated reference, then correct it with a few clicks.

A thin Slicer shell. All computation is a call into the ``rau`` package (bundled under
``Logic/``); ``rau.mrml`` converts between MRML nodes and ``rau`` objects. Nothing heavy is
imported at file scope, and nothing is installed unless the user presses
"Install dependencies".
"""

import os
import sys
from typing import Annotated

import qt
import slicer
import vtk
from slicer import (
    vtkMRMLMarkupsFiducialNode,
    vtkMRMLMarkupsROINode,
    vtkMRMLScalarVolumeNode,
    vtkMRMLSegmentationNode,
)
from slicer.parameterNodeWrapper import WithinRange, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin

from RAUSlicerLib.consent import LICENCE_TEXT, confirmModelUse
from RAUSlicerLib.correction_logic import OVERWRITE_OPTION, CorrectionLogic  # noqa: F401  (OVERWRITE_OPTION: part of the module's interface)
from RAUSlicerLib.correction_panel import CorrectionPanel
from RAUSlicerLib.export_panel import ExportPanel
from RAUSlicerLib.job_panel import JobPanel
from RAUSlicerLib.option_checks import checkOptions, serverUnsentOptions
from RAUSlicerLib.option_names import PANEL_OPTIONS, panelWording
from RAUSlicerLib.options_panel import DEFAULT_DEVICE, OptionsPanel, deviceChoices  # noqa: F401  (deviceChoices: part of the module's interface)
from RAUSlicerLib.segment_lists import FollowedSegments, is_unchecked, still_unchecked
from RAUSlicerLib.selftest import RAUSlicerTest  # noqa: F401  (Slicer's Reload and Test looks for it here)

MODULE_DIR = os.path.dirname(os.path.abspath(__file__))
UPDATE_SHORTCUT = "Ctrl+Return"
KEPT_SESSIONS = 4
"""Results that keep their correction session (each may hold images, a model's image features, a server's session)."""


def importRau():
    """Make the bundled ``rau`` package importable (``Logic/`` next to this file) and return it."""
    logicDir = os.path.join(MODULE_DIR, "Logic")
    if logicDir not in sys.path:
        sys.path.insert(0, logicDir)
    import rau

    return rau


#
# Module
#


class RAUSlicer(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "RAUSlicer"
        self.parent.categories = ["Segmentation"]
        self.parent.dependencies = []
        self.parent.contributors = ["RAUSlicer developers"]
        self.parent.helpText = (
            "Find every structure of an annotated reference in a target image. Pick the reference volume, "
            "its segmentation and the target, press Run, then correct any structure with points or a box."
        )
        self.parent.acknowledgementText = LICENCE_TEXT


#
# Parameter node
#


@parameterNodeWrapper
class RAUSlicerParameterNode:
    """Panel state, saved with the scene."""

    referenceVolume: vtkMRMLScalarVolumeNode
    referenceSegmentation: vtkMRMLSegmentationNode
    targetVolume: vtkMRMLScalarVolumeNode
    outputSegmentation: vtkMRMLSegmentationNode
    positivePoints: vtkMRMLMarkupsFiducialNode
    negativePoints: vtkMRMLMarkupsFiducialNode
    promptBox: vtkMRMLMarkupsROINode
    engine: str = "registration"
    device: str = ""  # model settings: empty means the default of rau.options.EngineOptions (the combo shows it)
    sam2Model: str = ""
    vlmModel: str = ""
    vlmServer: str = ""
    vlmAdapter: str = ""
    engineServer: str = ""
    lowConfidence: Annotated[float, WithinRange(0.0, 1.0)] = 0.5  # 'Flag below confidence': a confidence
    overwriteOthers: bool = False
    uncheckedStructures: list[str]  # reference segments the user left out of the run


#
# Logic (GUI-free: usable from the Python console and in batch)
#


class RAUSlicerLogic(ScriptedLoadableModuleLogic, CorrectionLogic):
    """Reads nodes into ``rau`` objects, runs engines, writes results and corrections into the scene."""

    def __init__(self):
        ScriptedLoadableModuleLogic.__init__(self)
        self.corrections = {}  # segmentation node ID -> rau.mrml.Correction (sessions live in memory)
        self.sessionless = {}  # segmentation node ID -> (node, why the server kept no correction session for its result)

    def getParameterNode(self):
        return RAUSlicerParameterNode(super().getParameterNode())

    @staticmethod
    def engineOptions(parameters):
        """The ``rau.options.EngineOptions`` the panel sets; an empty field keeps the option's default, and so does one
        a run on the panel's engine server does not send (:meth:`serverUnsentOptions`: its field is disabled)."""
        importRau()
        from rau.options import EngineOptions

        unsent = RAUSlicerLogic.serverUnsentOptions() if parameters.engineServer.strip() else []
        given = {option: getattr(parameters, panel.parameter).strip() for option, panel in PANEL_OPTIONS.items() if option not in unsent}
        with panelWording():
            return EngineOptions.from_dict({option: value for option, value in given.items() if value})

    def request(self, referenceVolume, referenceSegmentation, targetVolume, structures=None):
        """A ``rau`` request read from the nodes (main thread: touches MRML)."""
        importRau()
        from rau.mrml import request_from_nodes

        return request_from_nodes(referenceVolume, referenceSegmentation, targetVolume, structures)

    @staticmethod
    def checkOptions(engineName, options, server=""):
        """Before a run, as the command line checks them: :func:`RAUSlicerLib.option_checks.checkOptions`."""
        importRau()
        checkOptions(engineName, options, server)

    @staticmethod
    def checkFlagLevel(lowConfidence):
        """Refuse a 'Flag below confidence' that is no confidence (``rau.mrml.results.check_flag_level``)."""
        importRau()
        from rau.mrml.results import check_flag_level

        check_flag_level(lowConfidence)

    @staticmethod
    def serverUnsentOptions():
        """The engine options the panel sets that a run on an engine server does not send (its operator sets them)."""
        return serverUnsentOptions(PANEL_OPTIONS)

    @staticmethod
    def runEngine(engineName, options, request, progress=None, server=""):
        """Create the engine, here or on the ``rau serve`` at ``server``, and run it (no MRML: safe on a worker thread);
        an option found wrong names the panel's field, or the server operator's flag
        (:func:`RAUSlicerLib.option_names.panelWording`)."""
        importRau()
        from rau.engines import create_engine
        from rau.serve.remote import remote_engine

        with panelWording(server):
            engine = remote_engine(server, engineName, options) if server else create_engine(engineName, options)
            return engine.run(request, progress)

    def writeResult(self, result, targetVolume, lowConfidence=0.5):
        """A new segmentation node over the target; keeps the engine session for corrections (every engine has
        one; the :data:`KEPT_SESSIONS` latest results keep theirs). Refused when the target was removed or moved
        while the engine ran: the result belongs where the target was read."""
        from rau.mrml import Correction, add_result_node, check_volume_in_place
        from rau.mrml.geometry import REMOVED

        try:
            if targetVolume.GetScene() is None:
                raise ValueError(f"the target {targetVolume.GetName()!r} {REMOVED} while RAUSlicer ran")
            check_volume_in_place(targetVolume, result.target)
            node = add_result_node(result, targetVolume, low_confidence=lowConfidence)
        except Exception:
            self.dropResult(result)
            raise
        stale = self.corrections.pop(node.GetID(), None)  # a node of a cleared scene had this id
        if stale is not None:
            stale.close()
        self.sessionless.pop(node.GetID(), None)  # what an earlier result of this node lacked
        if result.session is not None:
            self.corrections[node.GetID()] = Correction(result, node, lowConfidence, target_node=targetVolume)
        elif result.details.get("no_session"):  # a server may keep none (a result over its session memory): it says why
            self.sessionless[node.GetID()] = (node, result.details["no_session"])
        self._releaseSessions(keep=KEPT_SESSIONS)
        return node

    def flagged(self, result, lowConfidence):
        """Names of the structures to review: not found, or found with confidence below ``lowConfidence``."""
        from rau.mrml.results import needs_review

        return [s.structure.name for s in result.structures if needs_review(s, lowConfidence)]

    def process(self, referenceVolume, referenceSegmentation, targetVolume, structures=None,
                engineName="registration", options=None, lowConfidence=0.5, server=""):
        """Run synchronously and return the new segmentation node (console, batch, self-test); options checked first
        (:meth:`checkOptions`, :meth:`checkFlagLevel`)."""
        self.checkOptions(engineName, options, server)
        self.checkFlagLevel(lowConfidence)
        request = self.request(referenceVolume, referenceSegmentation, targetVolume, structures)
        result = self.runEngine(engineName, options, request, server=server)
        return self.writeResult(result, targetVolume, lowConfidence)

    def canPropagate(self, segmentationNode):
        """Whether Propagate changes anything for a result node: a volume whose kept session propagates (SAM2's; the
        other engines' corrections already act in 3D, ``rau.session.Session.propagates``)."""
        correction = self.correction(segmentationNode)
        return correction is not None and correction.result.target.ndim == 3 and correction.result.session.propagates

    def dropResult(self, result):
        """A result the scene will not get (refused, or its scene closed while the engine ran): close its
        session, which a server keeps otherwise until it expires."""
        if result.session is not None:
            result.session.close()

    def releaseSessions(self):
        """Close every kept correction session, with the images and models it holds (the scene is closing)."""
        self._releaseSessions(keep=0)

    def _releaseSessions(self, keep=None):
        """Close the sessions of deleted result nodes, and of all but the ``keep`` latest others (None: keep all)."""
        alive = [key for key, correction in self.corrections.items() if correction.node.GetScene() is not None]
        if keep is not None:
            alive = alive[max(0, len(alive) - keep):] if keep else []
        for key in [key for key in self.corrections if key not in alive]:
            self.corrections.pop(key).close()
        self.sessionless = {key: kept for key, kept in self.sessionless.items() if keep != 0 and kept[0].GetScene() is not None}

    @staticmethod
    def exportLabelMap(segmentationNode, targetVolume, path, overwrite=False):
        """Write NIfTI label map + ``.labels.csv`` on the grid of the volume the segmentation was made over (a
        result's target: its reference geometry volume), else ``targetVolume``'s, in the voxel order of the file that
        volume was loaded from; return both paths."""
        importRau()
        from rau.mrml import export_label_map, image_from_volume_node
        from rau.mrml.export import export_volume

        volume = export_volume(segmentationNode, targetVolume)
        return export_label_map(segmentationNode, image_from_volume_node(volume), path, overwrite)

    @staticmethod
    def exportSegNrrd(segmentationNode, path, overwrite=False):
        """Write the segmentation as a ``.seg.nrrd`` (tags and review status kept, in world coordinates); return its path."""
        importRau()
        from rau.mrml import export_seg_nrrd

        return export_seg_nrrd(segmentationNode, path, overwrite)


#
# Widget
#


class RAUSlicerWidget(ScriptedLoadableModuleWidget, VTKObservationMixin, CorrectionPanel, ExportPanel, JobPanel, OptionsPanel):
    """The panel: inputs, engine options (:class:`OptionsPanel`), run with progress and cancel, corrections
    (:class:`CorrectionPanel`), export (:class:`ExportPanel`), dependencies."""

    def __init__(self, parent=None):
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._job = None
        self._releaseWhenStopped = False  # the scene closed while a job ran: close the sessions once it stops
        self._referenceSegments = FollowedSegments(self._fillStructureList)
        self._outputSegments = FollowedSegments(self._fillSegmentCombo)
        self._segmentComboNode = None  # the result whose segments the picker lists
        self._engineReasons = {}

    # --- set-up -------------------------------------------------------------------------
    def setup(self):
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/RAUSlicer.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = RAUSlicerLogic()

        self.ui.licenceLabel.text = LICENCE_TEXT
        self.ui.updateButton.setShortcut(qt.QKeySequence(UPDATE_SHORTCUT))
        self.ui.updateButton.toolTip = f"Re-run the selected segment from the placed points/box ({UPDATE_SHORTCUT})"
        self.ui.progressBar.hide()
        self.ui.cancelButton.hide()
        importRau()
        self._listDevices("")
        self._showOptionDefaults()
        self._fillEngineCombo()

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)

        self.ui.referenceSegmentationSelector.connect("currentNodeChanged(vtkMRMLNode*)", self._onReferenceChanged)
        self.ui.structureList.connect("itemChanged(QListWidgetItem*)", self._onStructureChecked)
        self.ui.engineComboBox.connect("currentIndexChanged(int)", self.onEngineChanged)
        self.ui.deviceComboBox.connect("currentIndexChanged(int)", self.onDeviceChanged)
        self.ui.engineServerLineEdit.connect("textChanged(QString)", self._fillEngineCombo)
        self.ui.engineServerLineEdit.connect("textChanged(QString)", self._showServerOptions)
        self.ui.outputSegmentationSelector.connect("currentNodeChanged(vtkMRMLNode*)", self._onOutputChanged)
        self.ui.segmentComboBox.connect("currentIndexChanged(int)", lambda _index: self._updateButtons())
        self.ui.runButton.connect("clicked(bool)", self.onRun)
        self.ui.cancelButton.connect("clicked(bool)", self.onCancel)
        self.ui.updateButton.connect("clicked(bool)", self.onUpdate)
        self.ui.undoButton.connect("clicked(bool)", self.onUndo)
        self.ui.propagateButton.connect("clicked(bool)", self.onPropagate)
        self.ui.clearPromptsButton.connect("clicked(bool)", self.onClearPrompts)
        self.ui.exportButton.connect("clicked(bool)", self.onExportNifti)
        self.ui.exportSegNrrdButton.connect("clicked(bool)", self.onExportSegNrrd)
        self.ui.installDependenciesButton.connect("clicked(bool)", self.onInstallDependencies)

        self.initializeParameterNode()

    def cleanup(self):
        self.removeObservers()
        self._referenceSegments.removeObservers()
        self._outputSegments.removeObservers()
        # a reloaded module starts a new logic: close this one's sessions (a server would keep them until they expire),
        # as the scene close does: once a running job, which may have a server request in flight, has stopped
        if self._job is not None:
            self._job.abandon(then=self.logic.releaseSessions)
        elif self.logic is not None:
            self.logic.releaseSessions()

    def enter(self):
        self.initializeParameterNode()

    def exit(self):
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._onParameterNodeModified)

    def onSceneStartClose(self, caller, event):
        running = self._job is not None and self._job.running
        if running:
            self._job.cancel()  # its result would land in the next scene
        self.setParameterNode(None)
        if running:  # the job may be using a session (a server request in flight): close them once it stops
            self._releaseWhenStopped = True
        else:
            self.logic.releaseSessions()

    def onSceneEndClose(self, caller, event):
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self):
        """Use the module's parameter node; never pick inputs for the user."""
        self.setParameterNode(self.logic.getParameterNode())

    def setParameterNode(self, parameterNode):
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._onParameterNodeModified)
        self._parameterNode = parameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._onParameterNodeModified)
            self._showParameterChoices()
            self._showPromptNodes()
        self._onReferenceChanged(self._parameterNode.referenceSegmentation if self._parameterNode else None)
        self._onOutputChanged(self._parameterNode.outputSegmentation if self._parameterNode else None)

    def _onParameterNodeModified(self, *_):
        self._showParameterChoices()
        self._showPromptNodes()  # also when set elsewhere (the Python console, a scene loaded over it)
        self._updateButtons()

    def _showParameterChoices(self):
        """Show the engine, device and unticked structures the parameter node holds, which connectGui does not bind:
        also when they change elsewhere (a scene loaded over a fresh node, the Python console), so that the panel
        shows what Run will use."""
        p = self._parameterNode
        for combo, value in ((self.ui.engineComboBox, p.engine), (self.ui.deviceComboBox, p.device or DEFAULT_DEVICE)):
            wasBlocked = combo.blockSignals(True)  # showing is no user choice
            if combo is self.ui.deviceComboBox:
                self._listDevices(value)
            self._selectComboData(combo, value)
            combo.blockSignals(wasBlocked)
        self._showEngineStatus()
        self._showUncheckedStructures()

    # --- engines, structures, segments ------------------------------------------------
    def _fillEngineCombo(self, server=""):
        """Every engine, those unavailable here disabled with the reason as tooltip (all enabled with a server)."""
        importRau()
        from RAUSlicerLib.dependencies import engine_availability, engine_choices

        choices = engine_choices()
        reasons = self._engineReasons = engine_availability(choices, server=bool(server.strip()))
        combo = self.ui.engineComboBox
        wasBlocked = combo.blockSignals(True)  # filling must not overwrite the saved choice
        combo.clear()
        for index, (name, label, _modules) in enumerate(choices):
            combo.addItem(label if not reasons[name] else f"{label} (unavailable)", name)
            item = combo.model().item(index)
            item.setEnabled(not reasons[name])
            item.setToolTip(reasons[name] or label)
        if self._parameterNode:
            self._selectComboData(combo, self._parameterNode.engine)
        combo.blockSignals(wasBlocked)
        self._showEngineStatus()
        self._updateButtons()  # Run follows the engines now available

    def _showEngineStatus(self):
        """Why the chosen engine cannot run here, or why none is chosen ('' when it can)."""
        combo = self.ui.engineComboBox
        name, saved = combo.itemData(combo.currentIndex), self._parameterNode.engine if self._parameterNode else ""
        missing = f"engine {saved!r} is not in this version: pick another" if not name and saved else ""
        self.ui.engineStatusLabel.text = self._engineReasons.get(name, missing)

    @staticmethod
    def _selectComboData(combo, value):
        """Select the item of ``value``; none when the combo lacks it (an engine of another version), so the combo never
        shows a choice Run does not use."""
        combo.currentIndex = combo.findData(value) if combo.findData(value) >= 0 else combo.findText(value)

    def onEngineChanged(self, index):
        name = self.ui.engineComboBox.itemData(index)
        self._showEngineStatus()
        if self._parameterNode and name:
            self._parameterNode.engine = name

    def _onReferenceChanged(self, node):
        self._referenceSegments.follow(node)

    def _fillStructureList(self, segments):
        """The reference segmentation's segments, checked unless the user unchecked them (kept in the parameter node)."""
        listWidget = self.ui.structureList
        wasBlocked = listWidget.blockSignals(True)  # filling is no user choice
        listWidget.clear()
        for _segmentId, name in segments:
            item = qt.QListWidgetItem(name)
            item.setFlags(item.flags() | qt.Qt.ItemIsUserCheckable)
            listWidget.addItem(item)
        listWidget.blockSignals(wasBlocked)
        self._showUncheckedStructures()

    def _showUncheckedStructures(self):
        """Tick every listed structure but those the parameter node keeps unchecked."""
        listWidget = self.ui.structureList
        unchecked = list(self._parameterNode.uncheckedStructures) if self._parameterNode else []
        wasBlocked = listWidget.blockSignals(True)  # showing is no user choice
        for item in self._structureItems():
            item.setCheckState(qt.Qt.Unchecked if is_unchecked(item.text(), unchecked) else qt.Qt.Checked)
        listWidget.blockSignals(wasBlocked)

    def _structureItems(self):
        listWidget = self.ui.structureList
        return [listWidget.item(row) for row in range(listWidget.count)]

    def _checkedStructures(self):
        return [item.text() for item in self._structureItems() if item.checkState() == qt.Qt.Checked]

    def _onStructureChecked(self, _item):
        if self._parameterNode:
            items = self._structureItems()
            self._parameterNode.uncheckedStructures = still_unchecked(
                self._parameterNode.uncheckedStructures, [item.text() for item in items],
                [item.text() for item in items if item.checkState() != qt.Qt.Checked])

    def _onOutputChanged(self, node):
        """Follow the segments of the result node ``node`` in the segment picker."""
        self._outputSegments.follow(node)

    def _updateButtons(self, *_):
        p = self._parameterNode
        busy = self._job is not None and self._job.running
        ready = bool(p and p.referenceVolume and p.referenceSegmentation and p.targetVolume)
        engine = self.ui.engineComboBox.itemData(self.ui.engineComboBox.currentIndex)
        engineEnabled = bool(engine) and not self._engineReasons.get(engine)
        self.ui.runButton.enabled = ready and engineEnabled and not busy
        self.ui.runButton.toolTip = "Segment the target like the reference" if ready else "Select reference volume, segmentation and target"
        correction = self.logic.correction(p.outputSegmentation) if p and not busy else None  # not while a job may use a session
        structure = correction.structure_of(self._selectedStructure()) if correction is not None else None
        canCorrect = structure is not None and not busy
        self.ui.updateButton.enabled = canCorrect
        self.ui.propagateButton.enabled = canCorrect and self.logic.canPropagate(p.outputSegmentation)
        self.ui.undoButton.enabled = canCorrect and correction.can_undo(structure)
        self.ui.correctionStatusLabel.text = (
            "" if correction is not None or busy or not (p and p.outputSegmentation) else self.logic.uncorrectable(p.outputSegmentation)
        )
        hasOutput = bool(p and p.outputSegmentation) and not busy  # a result is exported on its own target's grid
        self.ui.exportButton.enabled = hasOutput
        self.ui.exportSegNrrdButton.enabled = hasOutput
        self.ui.installDependenciesButton.enabled = not busy  # a run may be importing what it would change

    # --- run ---------------------------------------------------------------------------
    def onRun(self):
        p = self._parameterNode
        structures = self._checkedStructures()
        if not structures:
            slicer.util.errorDisplay("Check at least one structure to find.")
            return
        from rau.engines import engine_class
        from rau.user_warnings import collected_warnings

        with collected_warnings() as read:  # shown with the run's warnings
            settings = self._runSettings(p)
            # the licence and consent dialogs are asked with the usual cursor, before the inputs are read
            if not confirmModelUse(*settings, engine_class(p.engine)):
                return
            request = self._readRequest(p, structures)
        (options, server), (engineName, targetVolume, lowConfidence) = settings, (p.engine, p.targetVolume, p.lowConfidence)
        with slicer.util.tryWithErrorDisplay("Could not start the run.", waitCursor=True):

            def work(progress):
                return self.logic.runEngine(engineName, options, request, progress, server)

            def done(result):
                node = self.logic.writeResult(result, targetVolume, lowConfidence)
                p.outputSegmentation = node
                slicer.util.setSliceViewerLayers(background=targetVolume)
                if self.logic.correction(node) is not None:
                    self.onClearPrompts()  # shows the prompt lists, emptied: points placed for the previous result are not this one's
                flagged = self.logic.flagged(result, lowConfidence)
                return f"Done in {result.seconds:.1f} s" + (f"; review (flagged): {', '.join(flagged)}" if flagged else "")

            self._startJob(work, done, "Running", dropped=self.logic.dropResult, inputWarnings=read)

    def _runSettings(self, p):
        """(engine options, engine server) of the panel, checked as the command line checks them (an unknown engine,
        models, device, the flag level: refused before any work, in a dialog)."""
        with slicer.util.tryWithErrorDisplay("The engine settings were refused.", waitCursor=True):
            options, server = self.logic.engineOptions(p), p.engineServer.strip()
            self.logic.checkOptions(p.engine, options, server)
            self.logic.checkFlagLevel(p.lowConfidence)
            return options, server

    def _readRequest(self, p, structures):
        """The run's request read from the panel's nodes (an error in a dialog)."""
        with slicer.util.tryWithErrorDisplay("Could not read the inputs.", waitCursor=True):
            return self.logic.request(p.referenceVolume, p.referenceSegmentation, p.targetVolume, structures)

    # --- dependencies ------------------------------------------------------------------
    def onInstallDependencies(self):
        from RAUSlicerLib.dependencies import install_dependencies, install_question

        server = self.ui.engineServerLineEdit.text.strip()  # engines run there: this computer needs no PyTorch
        if not slicer.util.confirmOkCancelDisplay(install_question(torch=not server), windowTitle="Install RAUSlicer dependencies"):
            return
        with slicer.util.tryWithErrorDisplay("Installing dependencies failed.", waitCursor=True):
            self.ui.statusLabel.text = install_dependencies(torch=not server)
            self._fillEngineCombo(server)

