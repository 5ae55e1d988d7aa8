"""What ``rau evaluate`` names: the labels file that holds a structure the first reference lacks (every image of a
pool may be called image.nii.gz), and the folder ``--predictions`` wrote to."""

from __future__ import annotations

import json
import shutil

from test_cli_evaluate import blobs, evaluate  # noqa: F401  (fixture)


def test_a_structure_the_first_reference_lacks_is_told_by_the_labels_files_that_hold_it(blobs, tmp_path, capsys):  # noqa: F811
    """Before: "'spleen' is in b/image.png but not in the first reference a/image.png": the structures are in the labels."""
    for folder, image, labels in (("a", "t_liver.png", "t_liver_mask"), ("b", "r2.png", "r2_mask")):
        (tmp_path / folder).mkdir()
        shutil.copy(blobs / image, tmp_path / folder / "image.png")
        shutil.copy(blobs / f"{labels}.png", tmp_path / folder / "labels.png")
        shutil.copy(blobs / f"{labels}.labels.csv", tmp_path / folder / "labels.labels.csv")
    rows = [f"{tmp_path}/{folder}/image.png,{tmp_path}/{folder}/labels.png,{blobs}/t.png,{blobs}/t_mask.png" for folder in "ab"]
    (tmp_path / "pool.csv").write_text("reference_image,reference_labels,target_image,target_labels\n" + "\n".join(rows) + "\n")
    assert evaluate(tmp_path / "pool.csv", tmp_path / "scores.json") == 0
    said = "'spleen' is in b/labels.png but not in the first reference a/labels.png, which decides the structures found"
    assert f"warning: t.png: {said}" in capsys.readouterr().err
    assert said in json.loads((tmp_path / "scores.json").read_text())["cases"][0]["warnings"][0]


def test_the_last_line_names_the_folder_of_the_predictions(blobs, tmp_path, capsys):  # noqa: F811
    """Before: "wrote scores.json and scores.csv", and not where the predictions went."""
    rows = f"{blobs}/r1.png,{blobs}/r1_mask.png,{blobs}/t.png,{blobs}/t_mask.png"
    (tmp_path / "one.csv").write_text("reference_image,reference_labels,target_image,target_labels\n" + rows + "\n")
    assert evaluate(tmp_path / "one.csv", tmp_path / "scores.json", "--predictions", str(tmp_path / "predicted")) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == f"wrote {tmp_path / 'scores.json'} and {tmp_path / 'scores.csv'}, and the predictions in {tmp_path / 'predicted'}"
    assert (tmp_path / "predicted" / "001_t.nii.gz").is_file()
