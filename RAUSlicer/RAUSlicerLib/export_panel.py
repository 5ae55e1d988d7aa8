"""The panel's export buttons: a NIfTI label map with its table, or a .seg.nrrd, asking before a file is replaced."""

import qt
import slicer

from RAUSlicerLib.job_panel import showWarnings


class ExportPanel:
    """Export actions mixed into the module widget, which gives ``ui``, ``logic``, ``parent`` and ``_parameterNode``."""

    def onExportNifti(self):
        p = self._parameterNode
        path = qt.QFileDialog.getSaveFileName(
            self.parent, "Export label map", self._suggestedName(".nii.gz"), "NIfTI (*.nii.gz *.nii)")
        if path:
            self._export(lambda overwrite: self.logic.exportLabelMap(p.outputSegmentation, p.targetVolume, path, overwrite))

    def onExportSegNrrd(self):
        p = self._parameterNode
        path = qt.QFileDialog.getSaveFileName(
            self.parent, "Export segmentation", self._suggestedName(".seg.nrrd"), "Segmentation (*.seg.nrrd)")
        if path:
            self._export(lambda overwrite: self.logic.exportSegNrrd(p.outputSegmentation, path, overwrite))

    def _suggestedName(self, suffix):
        """The result's name as one file's name ending in ``suffix`` (a series description's "W/O" makes no folder)."""
        from rau.io.outputs import file_name_from  # the panel's set-up made the bundled rau importable

        return file_name_from(self._parameterNode.outputSegmentation.GetName(), suffix)

    def _export(self, write):
        """Write; when a file exists, ask (with the usual cursor) before replacing it. What the writer warns of
        (structures a label map cannot show whole) is shown."""
        from rau.io import OutputExistsError  # the panel's set-up made the bundled rau importable
        from rau.user_warnings import collected_warnings

        with collected_warnings() as said:
            written = self._write(write, False)
            if isinstance(written, OutputExistsError):
                if not slicer.util.confirmYesNoDisplay(f"{written.path} exists.\nReplace it?"):
                    return
                written = self._write(write, True)
            names = [str(path) for path in (written if isinstance(written, tuple) else (written,))]
            self.ui.statusLabel.text = "Wrote " + ", ".join(names)
            showWarnings("Export", said)

    @staticmethod
    def _write(write, overwrite):
        """``write(overwrite)`` under the wait cursor (an error in a dialog); the ``OutputExistsError`` when a file exists."""
        from rau.io import OutputExistsError

        with slicer.util.tryWithErrorDisplay("Export failed.", waitCursor=True):
            try:
                return write(overwrite)
            except OutputExistsError as exists:
                return exists
