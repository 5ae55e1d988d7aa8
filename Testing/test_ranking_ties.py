"""An exact tie in a reference ranking is broken by the references' voxels, not by the order they were given in."""

import json
import shutil

import numpy as np
from PIL import Image as Picture

from rau.cli import main

SPACING = {"000": "0.069135804", "058": "0.077068008"}


def two_raters(shared_data, folder):
    """HC18 000 annotated by two raters: A draws the head (1); B draws the head with a 'centre' (2) inside it."""
    hc18 = shared_data / "hc18_fetal_head_us"
    head = np.asarray(Picture.open(hc18 / "masks/000_HC_mask.png").convert("L")) > 127
    rows, columns = np.nonzero(head)
    y, x = np.mgrid[: head.shape[0], : head.shape[1]]
    centre = head & ((y - int(rows.mean())) ** 2 + (x - int(columns.mean())) ** 2 < 40**2)
    for rater, labels, table in (("A", head.astype(np.uint8), "1,head,1,0,0\n"),
                                 ("B", np.where(centre, 2, head).astype(np.uint8), "1,head,1,0,0\n2,centre,0,1,0\n")):
        shutil.copy(hc18 / "images/000_HC.png", folder / f"{rater}.png")
        Picture.fromarray(labels).save(folder / f"{rater}_mask.png")
        (folder / f"{rater}_mask.labels.csv").write_text("value,name,r,g,b\n" + table)
    return {rater: ["--reference", str(folder / f"{rater}.png"), "--reference-labels", str(folder / f"{rater}_mask.png"),
                    "--reference-spacing", SPACING["000"]] for rater in "AB"}


def test_two_raters_of_one_image_give_the_same_ranking_and_label_map_in_either_order(shared_data, tmp_path):
    """Before: the image similarity tied exactly and the order typed ranked them: "A B" gave A's head (35038
    voxels), "B A" B's (27866)."""
    raters = two_raters(shared_data, tmp_path)
    target = ["--target", str(shared_data / "hc18_fetal_head_us/images/058_HC.png"), "--target-spacing", SPACING["058"]]
    runs = {}
    for order in ("AB", "BA"):
        out = tmp_path / order / "t.nii.gz"
        assert main(["segment", *raters[order[0]], *raters[order[1]], *target, "--structures", "head", "--out", str(out)]) == 0
        ranking = json.loads(out.with_name("t.result.json").read_text())["ranking"]
        runs[order] = ([row["reference"] for row in ranking], out.read_bytes())
    assert runs["AB"][0][0] in ("A.png", "B.png") and runs["AB"][1]
    assert runs["AB"] == runs["BA"]
