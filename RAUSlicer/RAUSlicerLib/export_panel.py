"""The panel's export buttons: a NIfTI label map with its table, or a .seg.nrrd, asking before a file is replaced."""

import qt
import slicer

from RAUSlicerLib.job_panel import showWarnings


class ExportPanel:
    """Export actions mixed into the module widget, which gives ``ui``, ``logic``, ``parent`` and ``_parameterNode``."""

    def onExportNifti(self):
        p = self._parameterNode
        path = qt.QFileDialog.getSaveFileName(
            self.parent, "Export label map", f"{p.outputSegmentation.GetName()}.nii.gz", "NIfTI (*.nii.gz *.nii)")
        if path:
            self._export(lambda overwrite: self.logic.exportLabelMap(p.outputSegmentation, p.targetVolume, path, overwrite))

    def onExportSegNrrd(self):
        p = self._parameterNode
        path = qt.QFileDialog.getSaveFileName(
            self.parent, "Export segmentation", f"{p.outputSegmentation.GetName()}.seg.nrrd", "Segmentation (*.seg.nrrd)")
        if path:
            self._export(lambda overwrite: self.logic.exportSegNrrd(p.outputSegmentation, path, overwrite))

    def _export(self, write):
        """Write; when a file exists, ask before replacing it. What the writer warns of (structures a label map cannot
        show whole) is shown."""
        from rau.io import OutputExistsError  # the panel's set-up made the bundled rau importable
        from rau.user_warnings import collected_warnings

        with slicer.util.tryWithErrorDisplay("Export failed.", waitCursor=True), collected_warnings() as said:
            try:
                written = write(False)
            except OutputExistsError as error:
                if not slicer.util.confirmYesNoDisplay(f"{error.path} exists.\nReplace it?"):
                    return
                written = write(True)
            names = [str(path) for path in (written if isinstance(written, tuple) else (written,))]
            self.ui.statusLabel.text = "Wrote " + ", ".join(names)
            showWarnings("Export", said)
