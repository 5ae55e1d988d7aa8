"""``rau evaluate``'s line for a failed case names the damaged target file once, whether the manifest is given by an
absolute or a relative path."""

import shutil

import pytest

from rau.cli import main
from test_reference_copy_structures import HC18

SPACINGS = {"000": "0.069135804", "002": "0.062032563", "003": "0.091291168"}


@pytest.mark.parametrize("absolute", [True, False])
def test_a_damaged_target_is_named_once_in_its_failure_line(tmp_path, monkeypatch, capsys, absolute):
    """Before: with an absolute manifest path, ``failed: 002_HC.png: /tmp/.../002_HC.png: not a readable image``."""
    for case in SPACINGS:
        shutil.copy(HC18 / f"{case}_HC.png", tmp_path)
        shutil.copy(HC18 / f"{case}_HC_mask.png", tmp_path)
    (tmp_path / "002_HC.png").write_bytes((HC18 / "002_HC.png").read_bytes()[:2000])
    (tmp_path / "m.csv").write_text("reference_image,reference_labels,reference_spacing,target_image,target_labels,target_spacing\n" + "".join(
        f"000_HC.png,000_HC_mask.png,{SPACINGS['000']},{target}_HC.png,{target}_HC_mask.png,{SPACINGS[target]}\n" for target in ("002", "003")))
    monkeypatch.chdir(tmp_path.parent)
    manifest = tmp_path / "m.csv" if absolute else tmp_path.relative_to(tmp_path.parent) / "m.csv"
    assert main(["evaluate", str(manifest), "--no-deformable", "--json", str(tmp_path / "r.json")]) == 1
    failed = [line for line in capsys.readouterr().err.splitlines() if line.startswith("failed:")]
    assert failed == [f"failed: {manifest.parent / '002_HC.png'}: not a readable image (image file is truncated)"], failed
