"""With several references, the structures that count (ranked on, kept apart where they meet) do not depend on which
are asked for: a structure the first reference's table lists without voxels, which other references hold, counts
whether asked for or not (README: "whichever structures are asked for")."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from rau.cli import main

SPACINGS = {"000": 0.069135804, "001": 0.08965852, "002": 0.062032563, "058": 0.077068008}


def _picture(path, out, size=4, mask=False):
    """The HC18 picture at ``path``, a quarter of its size, saved as ``out``."""
    picture = Image.open(path)
    picture.resize((picture.width // size, picture.height // size), Image.NEAREST if mask else Image.BILINEAR).save(out)
    return out


def test_asking_for_a_structure_the_first_reference_lacks_changes_no_other_structure_nor_the_ranking(shared_data, tmp_path):
    """Before: asking for 'half' as well (listed by the first reference's table, drawn by the others) made it count:
    the ranking's scores moved and 'half' took voxels from 'head' where the two met."""
    folder = shared_data / "hc18_fetal_head_us"
    arguments = []
    for n in ("000", "001", "002"):
        image = _picture(folder / "images" / f"{n}_HC.png", tmp_path / f"{n}.png")
        mask = np.where(np.array(Image.open(_picture(folder / "masks" / f"{n}_HC_mask.png", tmp_path / f"{n}_m.png", mask=True))) > 0, 255, 0)
        if n != "000":  # the others draw the head's upper half as 'half'
            rows = np.nonzero(mask.any(1))[0]
            mask[: (rows.min() + rows.max()) // 2][mask[: (rows.min() + rows.max()) // 2] == 255] = 128
        Image.fromarray(mask.astype(np.uint8)).save(tmp_path / f"{n}_m.png")
        (tmp_path / f"{n}_m.json").write_text(json.dumps({"128": "half", "255": "head"}))
        arguments += ["--reference", str(image), "--reference-labels", str(tmp_path / f"{n}_m.png"), "--reference-spacing", str(SPACINGS[n] * 4)]
    target = _picture(folder / "images" / "058_HC.png", tmp_path / "058.png")
    arguments += ["--target", str(target), "--target-spacing", str(SPACINGS["058"] * 4)]
    runs = {}
    for asked in (["head"], ["head", "half"]):
        out = tmp_path / "_".join(asked) / "r.nii.gz"
        assert main(["segment", *arguments, "--structures", *asked, "--out", str(out)]) == 0
        runs[len(asked)] = json.loads(out.with_name("r.result.json").read_text())
    head = [{s["name"]: s["voxels"] for s in run["structures"]}["head"] for run in runs.values()]
    assert head[0] == head[1]
    assert [(r["reference"], r["score"]) for r in runs[1]["ranking"]] == [(r["reference"], r["score"]) for r in runs[2]["ranking"]]
