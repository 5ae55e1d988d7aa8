"""``rau batch`` resuming a cohort: targets done keep their output names when the manifest grows or shrinks, and a
finished cohort resumed with ``--seg-nrrd`` gets each ``.seg.nrrd`` from its saved outputs, results kept."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_batch import FAST, MANIFEST, _absolute_rows, summary
from test_cli_correct import write_overlapping_reference

from rau.batch.items import work_items
from rau.cli import main as rau_main
from rau.io import read_image, write_image


def outputs_of(out: Path) -> dict[str, bytes]:
    """Every file in ``out`` but the summary, by name, with its bytes."""
    return {path.name: path.read_bytes() for path in sorted(out.iterdir()) if path.name != "batch_summary.csv"}


@pytest.fixture(scope="module")
def first_runs(shared_data, tmp_path_factory) -> dict[str, Path]:
    """One finished run of the first target (--no-deformable, one worker) per way of naming it: ``"rows"``, a manifest of
    :func:`_absolute_rows` ``(1)`` (its path beside it, ``m.csv``), and ``"manifest"``, :data:`MANIFEST` with --limit 1.
    Read only: a test copies it (times kept) and goes on from there, as from its own first run."""
    folder = tmp_path_factory.mktemp("first_runs")
    (folder / "m.csv").write_text("\n".join(_absolute_rows(1)) + "\n")
    runs = {"rows": ["batch", str(folder / "m.csv")], "manifest": ["batch", str(MANIFEST), "--limit", "1"]}
    for name, run in runs.items():
        assert rau_main([*run, "--out", str(folder / name), "--workers", "1", *FAST]) == 0
    return {name: folder / name for name in runs} | {"m.csv": folder / "m.csv"}


def copy_of(first_run: Path, out: Path) -> Path:
    """``first_run``'s files copied into ``out`` with their times (a copy is a run's own outputs, see test_batch)."""
    shutil.copytree(first_run, out, dirs_exist_ok=True)
    return out


def test_a_manifest_grown_by_a_clashing_target_keeps_the_done_targets_names_and_skips_them(first_runs, tmp_path, capsys):
    """Before: adding site2/058_HC.png renamed 058_HC to images_058_HC, so every target was done again
    ("2 done, 0 skipped") and the earlier outputs were left behind in --out, in no summary."""
    header, first, second = _absolute_rows(2)
    target = first.split(",")[3]
    (tmp_path / "site2").mkdir()
    clashing = shutil.copy(second.split(",")[3], tmp_path / "site2" / Path(target).name)  # another scan, the same file name
    assert first_runs["m.csv"].read_text() == "\n".join([header, first]) + "\n"  # its first run's manifest
    (tmp_path / "m2.csv").write_text("\n".join([header, first, second.replace(second.split(",")[3], str(clashing))]) + "\n")
    out = copy_of(first_runs["rows"], tmp_path / "out")
    done = outputs_of(out)
    assert sorted(done) == ["058_HC.labels.csv", "058_HC.nii.gz", "058_HC.result.json"]
    capsys.readouterr()

    fresh = [item.name for item in work_items(tmp_path / "m2.csv", tmp_path / "elsewhere")]
    assert fresh == ["images_058_HC", "site2_058_HC"]  # in a new folder: only the clashing targets are prefixed
    assert [item.name for item in work_items(tmp_path / "m2.csv", out)] == ["058_HC", "site2_058_HC"]
    assert [item.name for item in work_items(tmp_path / "m2.csv", out, limit=1)] == ["058_HC"]  # the same names with --limit

    assert rau_main(["batch", str(tmp_path / "m2.csv"), "--out", str(out), "--workers", "1", *FAST]) == 0
    assert "rau batch: 1 done, 1 skipped (outputs existed), 0 failed" in capsys.readouterr().out
    assert summary(out) == {"058_HC": "skipped", "site2_058_HC": "done"}
    grown = outputs_of(out)
    assert {name: grown[name] for name in done} == done  # kept as they were
    assert sorted(set(grown) - set(done)) == ["site2_058_HC.labels.csv", "site2_058_HC.nii.gz", "site2_058_HC.result.json"]
    assert json.loads(grown["site2_058_HC.result.json"])["inputs"]["target"] == str(clashing)

    (tmp_path / "m3.csv").write_text("\n".join([header, second.replace(second.split(",")[3], str(clashing))]) + "\n")
    assert [item.name for item in work_items(tmp_path / "m3.csv", out)] == ["site2_058_HC"]  # shrunk: still its name
    assert rau_main(["batch", str(tmp_path / "m3.csv"), "--out", str(out), "--workers", "1", *FAST]) == 0
    assert summary(out) == {"site2_058_HC": "skipped"}
    assert outputs_of(out) == grown


def test_a_done_target_keeps_its_name_when_a_byte_identical_copy_of_the_same_name_is_added(shared_data, tmp_path, capsys):
    """Before: both A/x.png and D/x.png claimed A's earlier x, so neither kept it: "2 done, 0 skipped", and the
    earlier x.* outputs stayed in --out, in no summary."""
    header, first = _absolute_rows(1)
    target = first.split(",")[3]
    copies = []
    for folder in ("A", "D"):
        (tmp_path / folder).mkdir()
        copies.append(shutil.copy(target, tmp_path / folder / "x.png"))
    (tmp_path / "mA.csv").write_text("\n".join([header, first.replace(target, str(copies[0]))]) + "\n")
    (tmp_path / "mAD.csv").write_text("\n".join([header, *(first.replace(target, str(copy)) for copy in copies)]) + "\n")
    out = tmp_path / "out"
    assert rau_main(["batch", str(tmp_path / "mA.csv"), "--out", str(out), "--workers", "1", *FAST]) == 0
    done = outputs_of(out)
    capsys.readouterr()

    assert rau_main(["batch", str(tmp_path / "mAD.csv"), "--out", str(out), "--workers", "1", *FAST]) == 0
    assert "rau batch: 1 done, 1 skipped (outputs existed), 0 failed" in capsys.readouterr().out
    assert summary(out) == {"x": "skipped", "D_x": "done"}
    grown = outputs_of(out)
    assert sorted(grown) == sorted([*done, "D_x.labels.csv", "D_x.nii.gz", "D_x.result.json"])
    assert {name: grown[name] for name in done} == done


def test_a_done_target_whose_result_json_was_deleted_is_refused_saying_that_json_is_missing(first_runs, tmp_path, capsys):
    """Before: "058_HC.nii.gz: not written by rau for this target", although rau wrote it: only its result JSON,
    which tells which target it was written for, is gone."""
    shutil.copy(first_runs["m.csv"], tmp_path / "m.csv")
    out = copy_of(first_runs["rows"], tmp_path / "out")
    (out / "058_HC.result.json").unlink()
    (out / "batch_summary.csv").unlink()
    left = outputs_of(out)
    capsys.readouterr()
    assert rau_main(["batch", str(tmp_path / "m.csv"), "--out", str(out), "--workers", "1", *FAST]) == 2
    assert capsys.readouterr().err.strip() == (
        f"rau batch: error: {out / '058_HC.nii.gz'}: its result JSON {out / '058_HC.result.json'} is missing, so rau cannot tell which target "
        "it was written for (nor whether rau wrote it); give another --out folder, or delete 058_HC.nii.gz and 058_HC.labels.csv "
        "to redo the target")
    assert outputs_of(out) == left and not (out / "batch_summary.csv").exists()  # nothing replaced, nothing written


def test_a_finished_batch_resumed_with_seg_nrrd_keeps_its_results_and_adds_the_seg_nrrd_a_fresh_run_writes(first_runs, tmp_path, capsys):
    """Before: the missing .seg.nrrd made every target half-written, so all were done again with this run's options
    ("1 done, 0 skipped"), the results made with --no-deformable replaced without a warning."""
    run = ["batch", str(MANIFEST), "--limit", "1", "--workers", "1"]
    out = copy_of(first_runs["manifest"], tmp_path / "out")  # [*run, "--out", out, *FAST] run
    done = outputs_of(out)
    capsys.readouterr()

    assert rau_main([*run, "--out", str(out), "--seg-nrrd"]) == 0  # other engine options: deformable
    said = capsys.readouterr()
    assert "rau batch: 0 done, 1 skipped (outputs existed; .seg.nrrd added to 1), 0 failed" in said.out
    assert ("warning: 1 skipped target(s) kept outputs made with other engine options (058_HC: deformable false (now true)); "
            "to run them with this run's, give another --out folder or move their outputs away") in said.err
    assert summary(out) == {"058_HC": "skipped"}
    now = outputs_of(out)
    assert {name: now[name] for name in ("058_HC.nii.gz", "058_HC.labels.csv")} == {name: done[name] for name in ("058_HC.nii.gz", "058_HC.labels.csv")}

    fresh = tmp_path / "fresh"
    assert rau_main([*run, "--out", str(fresh), *FAST, "--seg-nrrd"]) == 0
    written = outputs_of(fresh)
    assert now["058_HC.seg.nrrd"] == written["058_HC.seg.nrrd"]  # byte for byte the one its run would have written
    recorded, theirs = json.loads(now["058_HC.result.json"]), json.loads(written["058_HC.result.json"])
    assert recorded["inputs"]["engine_options"]["deformable"] is False
    assert recorded["seconds"] == json.loads(done["058_HC.result.json"])["seconds"]  # the earlier run's result
    assert list(recorded) == list(theirs)  # the .seg.nrrd recorded as rau correct reads it, where a fresh run puts it
    assert {key: value for key, value in recorded.items() if key != "seconds"} == {key: value for key, value in theirs.items() if key != "seconds"}

    assert rau_main([*run, "--out", str(out), *FAST, "--seg-nrrd"]) == 0  # now complete
    assert outputs_of(out) == now


def test_a_label_map_changed_since_its_run_is_redone_rather_than_given_a_seg_nrrd(first_runs, tmp_path, capsys):
    """A .seg.nrrd made from a label map edited after its run (other bytes than its result JSON records) would not
    be the run's: the target is half-written and done again, as before."""
    run = ["batch", str(MANIFEST), "--limit", "1", "--workers", "1", *FAST, "--out", str(tmp_path)]
    copy_of(first_runs["manifest"], tmp_path)  # run's outputs
    label_map = tmp_path / "058_HC.nii.gz"
    saved = read_image(label_map)
    edited = saved.array.copy()
    edited.flat[0] = 1  # one voxel painted, e.g. in ITK-SNAP
    write_image(saved.with_array(edited), label_map, overwrite=True)
    capsys.readouterr()
    assert rau_main([*run, "--seg-nrrd"]) == 0
    assert "rau batch: 1 done, 0 skipped (outputs existed), 0 failed" in capsys.readouterr().out
    assert (tmp_path / "058_HC.seg.nrrd").is_file()


def test_a_label_map_hiding_overlapping_structures_is_redone_for_a_seg_nrrd_that_keeps_them_whole(tmp_path, capsys):
    """A .seg.nrrd made from a label map in which "block" covers "left" and "right" would lose them: that target is
    done again, giving the .seg.nrrd a fresh run writes."""
    image, segments, target = write_overlapping_reference(tmp_path)
    manifest = tmp_path / "cohort.csv"
    manifest.write_text(f"target_image,reference_image,reference_labels\n{target},{image},{segments}\n")
    run = ["batch", str(manifest), "--workers", "1", *FAST]
    assert rau_main([*run, "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    assert rau_main([*run, "--out", str(tmp_path / "out"), "--seg-nrrd"]) == 0
    assert "rau batch: 1 done, 0 skipped (outputs existed), 0 failed" in capsys.readouterr().out
    assert rau_main([*run, "--out", str(tmp_path / "fresh"), "--seg-nrrd"]) == 0
    assert (tmp_path / "out" / "halves.seg.nrrd").read_bytes() == (tmp_path / "fresh" / "halves.seg.nrrd").read_bytes()
