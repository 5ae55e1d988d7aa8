"""How the panel names the engine options, in the errors and warnings of a run (the command line names them by flag)."""

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


def panelWording(server=""):
    """A context in which the warnings said and the error raised name an engine option as the panel shows it (its
    label in :data:`PANEL_OPTIONS`), not by its command-line flag, and do not offer the flag of one the panel does not
    set: ``rau.options.worded_for``. With an engine ``server``, an option it takes not from the panel but from its
    operator is named as the operator's ``rau serve`` flag (``rau.serve.options.OPERATOR_NAMES``), in what the
    server's job said too."""
    from rau.options import option_fields, worded_for
    from rau.serve.options import OPERATOR_NAMES

    operator = OPERATOR_NAMES if server else {}
    panel = {name: option.label for name, option in PANEL_OPTIONS.items()}
    return worded_for({spec.name: operator.get(spec.name, panel.get(spec.name)) for spec in option_fields()})
