"""A package of an extra left out of the install itself, not only blocked (:func:`test_missing_extras.rau_without`): the
packages that look for it without importing it (transformers asks ``importlib.util.find_spec``) see it missing too, and
raise errors of their own. ``rau`` refuses the run first: exit 2 naming the package and its extra, nothing written."""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
from pathlib import Path

from conftest import REPO

HC18 = REPO / "RAUSlicer" / "Logic" / "rau" / "sample_data" / "hc18"
LAUNCH = ("import site, sys; site.addsitedir(sys.argv[1]); sys.path.insert(0, sys.argv[2]); "
          "sys.argv = ['rau', *sys.argv[3:]]; from rau.cli import main; sys.exit(main())")
"""Runs ``rau`` on the packages of a site folder (``python -S``: not those of this environment's own)."""


def rau_installed_without(package: str, arguments: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``rau ARGUMENTS`` run in ``cwd`` on this environment's packages less ``package`` (its module folder, its
    ``.dist-info`` and its libraries: links to all the others, in a folder beside ``cwd``)."""
    site_packages = Path(sysconfig.get_paths()["purelib"])
    packages = cwd.parent / f"{cwd.name}-without-{package}"
    packages.mkdir()
    left_out = re.compile(rf"{package}([-_.].*)?", re.IGNORECASE)
    for entry in site_packages.iterdir():
        if not left_out.fullmatch(entry.name):
            (packages / entry.name).symlink_to(entry)
    return subprocess.run([sys.executable, "-S", "-c", LAUNCH, str(packages), str(REPO / "RAUSlicer" / "Logic"), *arguments],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def test_a_local_vlm_without_torchvision_is_refused_naming_it_and_its_extra(tiny_qwen, tmp_path):
    """Before: exit 70, "internal error (ImportError: Qwen2VLVideoProcessor requires the Torchvision library ...)"."""
    done = rau_installed_without("torchvision", ["segment", "--engine", "vlm-box", "--vlm-model", str(tiny_qwen),
                                                 "--reference", str(HC18 / "000_HC.png"), "--reference-labels", str(HC18 / "000_HC_mask.png"),
                                                 "--target", str(HC18 / "041_HC.png"), "--out", "out/x.nii.gz"], tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr == 'rau segment: error: torchvision is not installed; pip install "rauslicer[models]"\n'
    assert done.stdout == "" and list(tmp_path.iterdir()) == []


def test_training_without_peft_is_refused_before_its_out_folder_is_made(tiny_qwen, tmp_path):
    """Before: refused naming peft, exit 2, but the parents of ``--out`` (a/, a/b/) were left behind."""
    (tmp_path / "pairs").mkdir()
    done = rau_installed_without("peft", ["train", "sft", "--model", str(tiny_qwen), "--data", "pairs", "--out", "a/b/ad",
                                          "--max-steps", "1"], tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr == 'rau train sft: error: peft is not installed; pip install "rauslicer[train]"\n'
    assert done.stdout == "" and [path.name for path in tmp_path.iterdir()] == ["pairs"]
