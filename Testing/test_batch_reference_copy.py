"""``rau batch`` refuses a target whose references include a re-saved copy of another, naming both manifest lines as
``rau evaluate`` does; the other targets are still written."""

import csv
import shutil

from PIL import Image as PILImage

from rau.cli import main
from test_reference_copy_structures import HC18

SPACINGS = {"000": "0.069135804", "002": "0.062032563", "003": "0.091291168"}


def test_a_copied_reference_fails_its_target_naming_both_manifest_lines(tmp_path, capsys):
    """Before: the error named the two files but no line of the manifest (only evaluate passed the rows' places)."""
    for case in SPACINGS:
        shutil.copy(HC18 / f"{case}_HC.png", tmp_path)
        shutil.copy(HC18 / f"{case}_HC_mask.png", tmp_path)
    PILImage.open(tmp_path / "000_HC.png").save(tmp_path / "000_re.png", compress_level=1)
    PILImage.open(tmp_path / "000_HC_mask.png").save(tmp_path / "000_re_mask.png", compress_level=1)
    rows = [("002", "000_HC"), ("002", "000_re"), ("003", "000_HC")]
    (tmp_path / "m.csv").write_text("target_image,reference_image,reference_labels,target_spacing,reference_spacing\n" + "".join(
        f"{target}_HC.png,{reference}.png,{reference}_mask.png,{SPACINGS[target]},{SPACINGS['000']}\n" for target, reference in rows))
    out = tmp_path / "out"
    assert main(["batch", str(tmp_path / "m.csv"), "--out", str(out), "--workers", "1", "--no-deformable"]) == 1
    summary = {row["target"]: row for row in csv.DictReader(open(out / "batch_summary.csv", encoding="utf-8"))}
    error = summary["002_HC"]["error"]
    assert summary["002_HC"]["status"] == "failed"
    manifest = tmp_path / "m.csv"
    assert error.startswith(f"{manifest} line 3: reference '000_re.png' (labels '000_re_mask.png') is a copy of "
                            f"'000_HC.png' (labels '000_HC_mask.png', {manifest} line 2)"), error
    assert error in capsys.readouterr().err
    assert not list(out.glob("002_HC.*"))
    assert summary["003_HC"]["status"] == "done" and (out / "003_HC.nii.gz").exists()
