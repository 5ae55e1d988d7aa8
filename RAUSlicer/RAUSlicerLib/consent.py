"""Asking the user before model use: the model licences once, and consent before images leave the computer."""

import qt
import slicer

SETTINGS = "RAUSlicer"
LICENCE_TEXT = (
    "Model weights are downloaded on first use from Hugging Face into your per-user cache "
    "(or read from a local folder you enter; with an engine location, by that server). SAM 2.1 (facebook/sam2.1-*): Apache-2.0. "
    "Qwen2.5-VL-3B-Instruct: Qwen Research License (non-commercial use only). "
    "Qwen2.5-VL-7B-Instruct: Apache-2.0. Check the licence of any other model you enter. "
    "Research use only; not a medical device."
)


def imageServer(engine, options, engineServer=""):
    """Where a run of ``engine`` (a class of ``rau.engines``) sends the images: the engine server, else the VLM server
    for an engine that asks a VLM (``uses_vlm``), else ''."""
    return engineServer or (engine.uses_vlm and options.vlm_server) or ""


def confirmModelUse(options, engineServer, engine):
    """The licence once before a model engine (one that ``requires`` packages) first runs, and consent before
    images go to a remote server (:func:`imageServer`)."""
    settings = qt.QSettings()
    if engine.requires and not slicer.util.toBool(settings.value(f"{SETTINGS}/licenceAccepted", False)):
        if not slicer.util.confirmOkCancelDisplay(LICENCE_TEXT, windowTitle="RAUSlicer model licences"):
            return False
        settings.setValue(f"{SETTINGS}/licenceAccepted", True)
    server = imageServer(engine, options, engineServer)
    if not server:
        return True
    key = f"{SETTINGS}/consent/{server}"
    if slicer.util.toBool(settings.value(key, False)):
        return True
    box = qt.QMessageBox(slicer.util.mainWindow())
    box.setWindowTitle("Send images to a server?")
    box.setText(f"The reference and target images and the structure names will be sent to\n{server}\n"
                "Only continue if you are allowed to share these images with that server.")
    box.setStandardButtons(qt.QMessageBox.Yes | qt.QMessageBox.No)
    box.setDefaultButton(qt.QMessageBox.No)
    remember = qt.QCheckBox("Don't ask again for this server")
    box.setCheckBox(remember)
    if box.exec_() != qt.QMessageBox.Yes:
        return False
    if remember.checked:
        settings.setValue(key, True)
    return True
