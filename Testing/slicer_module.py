"""Import ``RAUSlicer/RAUSlicer.py`` outside Slicer, with stand-ins for what only the application has.

The ``slicer-core`` wheel lacks Qt, ``slicer.ScriptedLoadableModule`` and
``slicer.parameterNodeWrapper``. The stand-ins below are empty: only the GUI-free
``RAUSlicerLogic`` (and file-scope code) can be exercised this way, never the widget.
Imports nothing but the standard library and ``slicer``.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

MODULE_FILE = Path(__file__).resolve().parents[1] / "RAUSlicer" / "RAUSlicer.py"


class _LogicBase:
    def __init__(self):
        pass


def _stand_ins() -> dict[str, types.ModuleType]:
    scripted = types.ModuleType("slicer.ScriptedLoadableModule")
    for name in ("ScriptedLoadableModule", "ScriptedLoadableModuleWidget", "ScriptedLoadableModuleTest"):
        setattr(scripted, name, type(name, (), {}))
    scripted.ScriptedLoadableModuleLogic = _LogicBase
    wrapper = types.ModuleType("slicer.parameterNodeWrapper")
    wrapper.parameterNodeWrapper = lambda cls: cls
    wrapper.WithinRange = lambda low, high: (low, high)
    return {"qt": types.ModuleType("qt"), "slicer.ScriptedLoadableModule": scripted, "slicer.parameterNodeWrapper": wrapper}


def load_rauslicer():
    """The RAUSlicer module file imported as module ``RAUSlicer`` (stand-ins stay installed only if absent)."""
    for name, module in _stand_ins().items():
        sys.modules.setdefault(name, module)
    sys.path.insert(0, str(MODULE_FILE.parent))  # RAUSlicerLib, as Slicer puts module folders on the path
    spec = importlib.util.spec_from_file_location("RAUSlicer", MODULE_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":  # used by test_module_logic: report what importing the module pulled in
    before = set(sys.modules)
    load_rauslicer()
    print(" ".join(sorted({name.split(".")[0] for name in set(sys.modules) - before})))
