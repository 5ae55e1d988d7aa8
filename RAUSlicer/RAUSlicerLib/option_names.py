"""How the panel names the engine options it sets, in the errors of a run (the command line names them by flag)."""

import contextlib

OPTION_LABELS = {
    "device": "'Device'",
    "sam2_model": "'SAM2 model' (Model settings)",
    "vlm_model": "'VLM model' (Model settings)",
    "vlm_server": "'VLM server URL' (Model settings)",
    "vlm_adapter": "'VLM adapter folder' (Model settings)",
}
"""``rau.options.EngineOptions`` field -> the panel field that sets it, as its label (RAUSlicer.ui) reads."""
OPTION_WIDGETS = {
    "device": "deviceComboBox",
    "sam2_model": "sam2ModelLineEdit",
    "vlm_model": "vlmModelLineEdit",
    "vlm_server": "vlmServerLineEdit",
    "vlm_adapter": "vlmAdapterLineEdit",
}
"""``rau.options.EngineOptions`` field -> the panel's widget (RAUSlicer.ui) that sets it."""


@contextlib.contextmanager
def panelWording():
    """A context in which an error that names an engine option by its command-line flag names the panel's field
    (:data:`OPTION_LABELS`, ``rau.options.in_words``) instead, the same error with its traceback; other errors pass unchanged."""
    from rau.errors import InputError
    from rau.options import in_words

    try:
        yield
    except InputError as error:
        if error.args == (str(error),):  # what it says is its message (not made from a path, say): reword that
            error.args = (in_words(str(error), OPTION_LABELS),)
        raise
