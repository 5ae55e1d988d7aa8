"""How the panel names the engine options it sets, in the errors of a run (the command line names them by flag)."""

import contextlib
import typing


class PanelOption(typing.NamedTuple):
    """How the panel sets one engine option: its parameter-node field, its widget (RAUSlicer.ui) and that widget's label."""

    parameter: str
    widget: str
    label: str


PANEL_OPTIONS = {
    "device": PanelOption("device", "deviceComboBox", "'Device'"),
    "sam2_model": PanelOption("sam2Model", "sam2ModelLineEdit", "'SAM2 model' (Model settings)"),
    "vlm_model": PanelOption("vlmModel", "vlmModelLineEdit", "'VLM model' (Model settings)"),
    "vlm_server": PanelOption("vlmServer", "vlmServerLineEdit", "'VLM server URL' (Model settings)"),
    "vlm_adapter": PanelOption("vlmAdapter", "vlmAdapterLineEdit", "'VLM adapter folder' (Model settings)"),
}
"""``rau.options.EngineOptions`` field -> how the panel sets it (the panel's defaults are the core's)."""


@contextlib.contextmanager
def panelWording():
    """A context in which an error that names an engine option by its command-line flag names the panel's field
    (its label in :data:`PANEL_OPTIONS`) instead: the same error, reworded as ``rau.options.said_in`` does."""
    from rau.options import said_in

    try:
        yield
    except Exception as error:
        said_in(error, {option: panel.label for option, panel in PANEL_OPTIONS.items()})
        raise
