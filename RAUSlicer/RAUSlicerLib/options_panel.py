"""The panel's engine options: the device combo and the model fields, their defaults, and which a server run ignores."""

from RAUSlicerLib.option_names import PANEL_OPTIONS

DEFAULT_DEVICE = "auto"
"""What the combo shows for an empty device (``rau.options.DEFAULTS.device``; rau is not imported at file scope)."""
DEVICES = (DEFAULT_DEVICE, "cpu", "cuda", "mps")
"""The device combo's usual items."""
SERVER_SETS_IT = "The engine server runs with its operator's setting; clear Engine location to set it here"
"""The tooltip of a field that a run on an engine server does not send."""


def deviceChoices(device):
    """The device combo's items for the parameter node's ``device``: :data:`DEVICES`, and ``device`` too when it is
    another one (``cuda:1``), so that the combo shows the device Run uses ("" is auto)."""
    return [*DEVICES, device] if device and device not in DEVICES else list(DEVICES)


class OptionsPanel:
    """Engine option widgets mixed into the module widget, which gives ``ui``, ``logic`` and ``_parameterNode``."""

    def _showOptionDefaults(self):
        """Each model field shows the core default it falls back to when left empty, and its help as tooltip."""
        from rau.options import DEFAULTS  # the panel's set-up made the bundled rau importable

        for option, panel in PANEL_OPTIONS.items():
            if option == "device":  # a combo: its items are the choices
                continue
            lineEdit = getattr(self.ui, panel.widget)
            if getattr(DEFAULTS, option) is not None:  # options without a default keep the .ui's placeholder
                lineEdit.placeholderText = f"default: {getattr(DEFAULTS, option)}"
        self._showServerOptions(self.ui.engineServerLineEdit.text)

    def _showServerOptions(self, server=""):
        """Disable the fields a run on an engine ``server`` does not send (``logic.serverUnsentOptions``), saying why;
        the others show their help."""
        from rau.options import option_fields

        helpTexts = {spec.name: spec.metadata["help"] for spec in option_fields()}
        unsent = set(self.logic.serverUnsentOptions()) if server.strip() else set()
        for option, panel in PANEL_OPTIONS.items():
            widget = getattr(self.ui, panel.widget)
            widget.enabled = option not in unsent
            widget.toolTip = SERVER_SETS_IT if option in unsent else helpTexts[option]

    def _listDevices(self, device):
        """Give the device combo the items of :func:`deviceChoices` for ``device`` (unchanged when it has them)."""
        combo = self.ui.deviceComboBox
        items = deviceChoices(device)
        if [combo.itemText(index) for index in range(combo.count)] != items:
            combo.clear()
            for item in items:
                combo.addItem(item)

    def onDeviceChanged(self, index):
        if self._parameterNode:
            self._parameterNode.device = self.ui.deviceComboBox.itemText(index)
