"""``rau batch`` on HC18 targets: same outputs as ``rau segment`` per target, embedded and on a local Ray
instance; a killed run restarted redoes nothing that was finished; half-written targets are redone."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as Picture

from rau.batch.items import work_items
from rau.batch.names import output_names
from rau.cli import main as rau_main
from rau.errors import InputError
from rau.io import read_image, write_image
from rau.options import EngineOptions
from ray_instances import ray_instances_lock

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "protocols" / "hc18_single.csv"
FAST = ["--no-deformable"]


def summary(out: Path) -> dict[str, str]:
    return column(out, "status")


def column(out: Path, name: str) -> dict[str, str]:
    """Target -> its value in one column of the batch summary."""
    with open(out / "batch_summary.csv", newline="") as handle:
        return {row["target"]: row[name] for row in csv.DictReader(handle)}


def session_alive(session: int) -> bool:
    """Whether a process of the session still runs (exited ones waiting for init to reap them do not count)."""
    states = subprocess.run(["ps", "-o", "stat=", "--sid", str(session)], capture_output=True, text=True).stdout.split()
    return any(not state.startswith("Z") for state in states)


def same_outputs(batch_out: Path, segment_out: Path, name: str) -> None:
    """Same voxels and geometry (the gzip stream names its temporary file, so bytes differ), same label table."""
    mine, theirs = read_image(batch_out / f"{name}.nii.gz"), read_image(segment_out / f"{name}.nii.gz")
    assert np.array_equal(mine.array, theirs.array) and mine.array.any(), name
    assert mine.same_grid(theirs), name
    assert (batch_out / f"{name}.labels.csv").read_text() == (segment_out / f"{name}.labels.csv").read_text()
    recorded = [json.loads((folder / f"{name}.result.json").read_text())["inputs"] for folder in (batch_out, segment_out)]
    assert recorded[0] == recorded[1], name  # so `rau correct` re-opens a batch output as it does a `rau segment` one


@pytest.fixture(scope="module")
def segmented(tmp_path_factory, shared_data):
    """``rau segment`` on the first three targets of the manifest, one call each."""
    out = tmp_path_factory.mktemp("segment")
    items = work_items(MANIFEST, out, limit=3)
    for item in items:
        case, (reference,) = item.case, item.case.references
        code = rau_main(["segment", "--reference", str(reference.image), "--reference-labels", str(reference.labels),
                         "--reference-spacing", str(reference.spacing), "--target", str(case.target_image),
                         "--target-spacing", str(case.target_spacing), *FAST, "--out", str(item.outputs["label_map"])])
        assert code == 0
    return out, [item.name for item in items]


@pytest.fixture(scope="module")
def ray_instance():
    """One local Ray instance for the module (2 CPUs); it must start within a minute and shut down. It holds the lock of
    :mod:`ray_instances` shared while it runs."""
    ray = pytest.importorskip("ray")
    with ray_instances_lock(alone=False):
        started = time.monotonic()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        assert time.monotonic() - started < 60
        yield ray
        ray.shutdown()
        assert not ray.is_initialized()


def test_embedded_batch_equals_rau_segment_per_target(segmented, tmp_path):
    segment_out, names = segmented
    assert rau_main(["batch", str(MANIFEST), "--out", str(tmp_path), *FAST, "--limit", "3", "--workers", "2"]) == 0
    assert summary(tmp_path) == dict.fromkeys(names, "done")
    for name in names:
        same_outputs(tmp_path, segment_out, name)
    recorded = {name: json.loads((tmp_path / f"{name}.result.json").read_text())["inputs"]["target"] for name in names}
    assert column(tmp_path, "target_image") == recorded  # before: the manifest's ../../shared/... joined to its folder
    found = column(tmp_path, "found")
    assert all(found.values())
    assert rau_main(["batch", str(MANIFEST), "--out", str(tmp_path), *FAST, "--limit", "3", "--workers", "2"]) == 0
    assert summary(tmp_path) == dict.fromkeys(names, "skipped")
    assert column(tmp_path, "found") == found  # before, a skipped target's row listed nothing found


def test_ray_batch_equals_rau_segment_per_target(segmented, ray_instance, tmp_path):
    segment_out, names = segmented
    assert rau_main(["batch", str(MANIFEST), "--out", str(tmp_path), *FAST, "--limit", "3", "--ray", "auto"]) == 0
    assert summary(tmp_path) == dict.fromkeys(names, "done")
    for name in names:
        same_outputs(tmp_path, segment_out, name)


def test_ray_batch_with_relative_paths_writes_under_out_whatever_folder_the_workers_run_in(segmented, ray_instance, tmp_path, monkeypatch):
    """Ray's workers keep the folder their cluster started in. Before, a relative --out (and the manifest's relative
    paths) were taken from there: the outputs landed in another folder while the run said "done"."""
    segment_out, names = segmented
    monkeypatch.chdir(tmp_path)
    manifest = os.path.relpath(MANIFEST, tmp_path)
    assert rau_main(["batch", manifest, "--out", "relative", *FAST, "--limit", "1", "--ray", "auto"]) == 0
    assert summary(tmp_path / "relative") == {names[0]: "done"}
    same_outputs(tmp_path / "relative", segment_out, names[0])


def worker_processes(parent: int) -> list[int]:
    """The pids of a batch process's worker processes (spawned; not its resource tracker)."""
    found = subprocess.run(["pgrep", "-P", str(parent), "-f", "spawn_main"], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def started_batch(tmp_path, limit: int):
    """``rau batch`` with 2 workers in its own session, once its first target is written."""
    command = [sys.executable, "-m", "rau.cli", "batch", str(MANIFEST), "--out", str(tmp_path), *FAST, "--limit", str(limit), "--workers", "2"]
    items = work_items(MANIFEST, tmp_path, limit=limit)
    run = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(item.state() == "complete" for item in items) or len(worker_processes(run.pid)) < 2:
        assert run.poll() is None and time.monotonic() < deadline, "the first target never finished"
        time.sleep(0.05)
    return run


def test_a_worker_that_dies_leaves_its_target_to_a_new_one_and_the_run_goes_on(tmp_path):
    """Before, one worker killed (as by the out-of-memory killer) stopped the cohort with an internal error (exit 70)."""
    run = started_batch(tmp_path, 3)  # one target done, one in each worker
    os.kill(worker_processes(run.pid)[0], signal.SIGKILL)
    _, errors = run.communicate(timeout=300)
    assert run.returncode == 0, errors
    assert set(summary(tmp_path).values()) == {"done"} and len(summary(tmp_path)) == 3


def test_workers_stop_when_the_batch_process_is_killed(tmp_path):
    """SIGKILL reaches only the main process; before, its workers went on with their targets and then waited forever."""
    run = started_batch(tmp_path, 5)
    run.kill()
    run.wait()
    deadline = time.monotonic() + 30
    while session_alive(run.pid):
        assert time.monotonic() < deadline, "worker processes outlived the batch process"
        time.sleep(0.2)


def test_a_killed_run_restarted_redoes_only_unfinished_targets(tmp_path):
    command = [sys.executable, "-m", "rau.cli", "batch", str(MANIFEST), "--out", str(tmp_path), *FAST, "--limit", "3", "--workers", "1"]
    items = work_items(MANIFEST, tmp_path, limit=3)
    run = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not any(item.state() == "complete" for item in items):
        assert run.poll() is None and time.monotonic() < deadline, "the first target never finished"
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    complete = {item.name for item in items if item.state() == "complete"}
    assert complete and len(complete) < 3, "the kill came too late to leave work undone"
    stamps = {name: (tmp_path / f"{name}.nii.gz").stat().st_mtime_ns for name in complete}
    half = next(item for item in items if item.name not in complete)
    half.outputs["result"].write_text(json.dumps({"inputs": half.case.recorded_inputs(EngineOptions())}))  # as if killed between
    half.outputs["label_map"].write_bytes(b"half-written")  # renames (the result JSON lands first)

    assert rau_main(command[3:]) == 0  # the restart in this process: only the killed run needs one of its own
    statuses = summary(tmp_path)
    assert {name for name, status in statuses.items() if status == "skipped"} == complete
    assert all(status == "done" for name, status in statuses.items() if name not in complete)
    assert {name: (tmp_path / f"{name}.nii.gz").stat().st_mtime_ns for name in complete} == stamps
    assert half.state() == "complete" and half.outputs["label_map"].read_bytes() != b"half-written"


def test_outputs_another_target_or_the_user_made_are_neither_skipped_nor_replaced(shared_data, tmp_path, capsys):
    """Before: a second site's p1/image.png was "skipped" because the first site's p1/image.png had written
    p1_image.*, and a user's own file of a target's output name was replaced without --overwrite."""
    folder = shared_data / "hc18_fetal_head_us" / "images"
    rows = "target_image,reference_image,reference_labels,reference_spacing,target_spacing\n"
    for site, target in (("siteA", "001_HC.png"), ("siteB", "002_HC.png")):
        (tmp_path / site / "p1").mkdir(parents=True)
        (tmp_path / site / "p1" / "image.png").write_bytes((folder / target).read_bytes())
        (tmp_path / f"{site}.csv").write_text(rows + f"{site}/p1/image.png,{folder / '000_HC.png'},{folder.parent / 'masks' / '000_HC_mask.png'},0.069,0.09\n")
    out = tmp_path / "out"
    assert rau_main(["batch", str(tmp_path / "siteA.csv"), "--out", str(out), *FAST, "--workers", "1"]) == 0
    made = {path.name: path.read_bytes() for path in out.glob("image.*")}
    assert rau_main(["batch", str(tmp_path / "siteB.csv"), "--out", str(out), *FAST, "--workers", "1"]) == 2
    assert f"image.result.json: made from {tmp_path / 'siteA' / 'p1' / 'image.png'}, not from what this manifest gives" in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in out.glob("image.*")} == made
    moved = tmp_path / "moved"  # the project copied elsewhere: its outputs are still its own
    for part in ("siteA", "out"):
        shutil.copytree(tmp_path / part, moved / part)
    shutil.copy(tmp_path / "siteA.csv", moved / "siteA.csv")
    assert rau_main(["batch", str(moved / "siteA.csv"), "--out", str(moved / "out"), *FAST, "--workers", "1"]) == 0
    assert summary(moved / "out") == {"image": "skipped"}
    (tmp_path / "own").mkdir()
    (tmp_path / "own" / "image.nii.gz").write_text("my manual segmentation")
    assert rau_main(["batch", str(tmp_path / "siteA.csv"), "--out", str(tmp_path / "own"), *FAST, "--workers", "1"]) == 2
    assert "image.nii.gz: its result JSON " in capsys.readouterr().err
    assert (tmp_path / "own" / "image.nii.gz").read_text() == "my manual segmentation"


def test_outputs_made_before_an_input_changed_are_neither_skipped_nor_replaced(shared_data, tmp_path, capsys):
    """Before: a reference or label table edited in place, or a sidecar table added beside the reference's labels
    after a run, and the resumed run skipped every target: its outputs were made from what the files held before."""
    import os

    data = shared_data / "hc18_fetal_head_us"
    for name in ("images/000_HC.png", "masks/000_HC_mask.png", "images/001_HC.png"):
        shutil.copy(data / name, tmp_path / Path(name).name)
    (tmp_path / "cohort.csv").write_text("target_image,reference_image,reference_labels,reference_spacing,target_spacing\n"
                                         "001_HC.png,000_HC.png,000_HC_mask.png,0.069,0.09\n")
    out = tmp_path / "out"
    assert rau_main(["batch", str(tmp_path / "cohort.csv"), "--out", str(out), *FAST, "--workers", "1"]) == 0
    made = {path.name: path.read_bytes() for path in out.glob("001_HC.*")}
    later = (out / "001_HC.result.json").stat().st_mtime_ns + 10**9
    (tmp_path / "000_HC_mask.labels.csv").write_text("value,name\n255,fetal head\n")  # names its structure now
    os.utime(tmp_path / "000_HC_mask.labels.csv", ns=(later, later))
    assert rau_main(["batch", str(tmp_path / "cohort.csv"), "--out", str(out), *FAST, "--workers", "1"]) == 2
    assert f"001_HC.result.json: made before {tmp_path / '000_HC_mask.labels.csv'} changed (it is newer)" in capsys.readouterr().err
    (tmp_path / "000_HC_mask.labels.csv").unlink()
    os.utime(tmp_path / "000_HC.png", ns=(later, later))  # the reference edited in place
    assert rau_main(["batch", str(tmp_path / "cohort.csv"), "--out", str(out), *FAST, "--workers", "1"]) == 2
    assert f"made before {tmp_path / '000_HC.png'} changed" in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in out.glob("001_HC.*")} == made



def test_outputs_made_with_the_same_references_in_another_order_are_refused_saying_so(shared_data, tmp_path, capsys):
    """Before: "made with another reference (["/long/path/000_HC.png", "/long/pa), ..." cut in a path, for the same
    references given in another order (which matters: the first decides the structures)."""
    folder = shared_data / "hc18_fetal_head_us"
    rows = {name: f"{folder / 'images' / '002_HC.png'},{folder / 'images' / name}.png,{folder / 'masks' / name}_mask.png,{spacing},0.062032563"
            for name, spacing in (("000_HC", 0.069135804), ("001_HC", 0.08965852))}
    header = "target_image,reference_image,reference_labels,reference_spacing,target_spacing\n"
    (tmp_path / "first.csv").write_text(header + rows["000_HC"] + "\n" + rows["001_HC"] + "\n")
    (tmp_path / "swapped.csv").write_text(header + rows["001_HC"] + "\n" + rows["000_HC"] + "\n")
    assert rau_main(["batch", str(tmp_path / "first.csv"), "--out", str(tmp_path / "out"), *FAST, "--workers", "1"]) == 0
    assert rau_main(["batch", str(tmp_path / "swapped.csv"), "--out", str(tmp_path / "out"), *FAST, "--workers", "1"]) == 2
    assert ("002_HC.result.json: made with the same reference in another order (000_HC.png, 001_HC.png; the first reference decides "
            "the structures found), not from what this manifest gives") in capsys.readouterr().err


def test_failures_are_listed_and_names_stay_unique(tmp_path, capsys):
    manifest = tmp_path / "cohort.csv"
    manifest.write_text("target_image,reference_image,reference_labels\nmissing_target.png,ref.png,ref_mask.png\n")
    with pytest.raises(InputError, match="line 2: .* does not exist"):
        work_items(manifest, tmp_path / "out")
    with_truth = MANIFEST.read_text().replace("058_HC_mask.png", "058_HC_typo.png").replace("../../", f"{REPO.parent}/")
    (tmp_path / "truth.csv").write_text(with_truth)  # an unread column: before, the run was refused (exit 2)
    assert [item.case.target_labels for item in work_items(tmp_path / "truth.csv", tmp_path / "out", limit=1)] == [None]
    assert f"truth.csv line 2: target_labels {REPO.parent}/shared/data/hc18_fetal_head_us/masks/058_HC_typo.png does not exist; left out" in capsys.readouterr().err
    assert output_names([Path("/a/x/image.nii.gz"), Path("/a/y/image.nii.gz"), Path("/a/y/other.png")]) == ["x_image", "y_image", "other"]
    assert output_names([Path("/a/xray.dcm"), Path("/a/frame.JPG")]) == ["xray", "frame"]  # before: xray.dcm.nii.gz
    bad_reference = tmp_path / "bad.png"
    bad_reference.write_bytes(b"not a picture")
    target = (REPO / "protocols" / MANIFEST.read_text().splitlines()[1].split(",")[3]).resolve()
    (tmp_path / "bad_mask.png").write_bytes(b"not a picture either")
    manifest.write_text(f"target_image,reference_image,reference_labels\n{target},bad.png,bad_mask.png\n")
    assert rau_main(["batch", str(manifest), "--out", str(tmp_path / "out"), "--workers", "1"]) == 1
    assert summary(tmp_path / "out") == {"058_HC": "failed"}
    assert f"failed: {target}: " in capsys.readouterr().err  # before, only a count and the summary's path
    assert not list((tmp_path / "out").glob("058_HC.*"))
    labels = REPO / "protocols" / MANIFEST.read_text().splitlines()[1].split(",")[4]
    manifest.write_text(f"target_image,reference_image,reference_labels\n{bad_reference},{target},{labels}\n")
    assert rau_main(["batch", str(manifest), "--out", str(tmp_path / "out2"), "--workers", "1"]) == 1
    assert f"failed: {bad_reference}: not a readable image" in capsys.readouterr().err  # before: the path twice
    empty = tmp_path / "subject" / "mask.png"  # before: "mask.png: no labelled voxels", which a cohort's masks may all be
    empty.parent.mkdir()
    Picture.fromarray(np.zeros_like(np.asarray(Picture.open(labels)))).save(empty)
    other = REPO / "protocols" / MANIFEST.read_text().splitlines()[2].split(",")[3]
    manifest.write_text(f"target_image,reference_image,reference_labels\n{other},{target},subject/mask.png\n")
    assert rau_main(["batch", str(manifest), "--out", str(tmp_path / "out3"), "--workers", "1"]) == 1
    assert column(tmp_path / "out3", "error")["039_HC"] == f"{empty}: no labelled voxels, every value is 0 (the labels of '{target}')"
    with pytest.raises(InputError, match="folder and file names joined"):  # before: "same folder", which they are not
        output_names([Path("/b_x.png"), Path("/b/x.png"), Path("/c/x.png")])


def test_outputs_never_land_on_an_input_of_the_cohort(shared_data, tmp_path):
    folder = shared_data / "hc18_fetal_head_us"
    target = tmp_path / "001_HC.nii.gz"  # a NIfTI target in the output folder: its label map would take its name
    write_image(read_image(folder / "images/001_HC.png", 0.0897), target)
    before = target.read_bytes()
    manifest = tmp_path / "cohort.csv"
    manifest.write_text(f"target_image,reference_image,reference_labels,reference_spacing\n001_HC.nii.gz,{folder}/images/000_HC.png,{folder}/masks/000_HC_mask.png,0.0691\n")
    with pytest.raises(InputError, match="001_HC.nii.gz: this output would replace the input"):
        work_items(manifest, tmp_path)
    assert rau_main(["batch", str(manifest), "--out", str(tmp_path), "--workers", "1"]) == 2
    assert target.read_bytes() == before
    lock = tmp_path / "lock" / ".rau-batch.lock"  # an input where the run holds its lock; before: removed as the run ended
    lock.parent.mkdir()
    lock.write_text(f"target_image,reference_image,reference_labels\n{folder}/images/001_HC.png,{folder}/images/000_HC.png,{folder}/masks/000_HC_mask.png\n")
    with pytest.raises(InputError, match=r"\.rau-batch\.lock: this output would replace the input"):
        work_items(lock, lock.parent)


@pytest.mark.parametrize("signum, whole_group", [(signal.SIGINT, True), (signal.SIGTERM, False)], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_stops_at_once_and_its_summary_matches_the_outputs(tmp_path, signum, whole_group):
    """Ctrl-C reaches every process of the group, ``kill`` only the main one: either way no worker goes on."""
    items = work_items(MANIFEST, tmp_path, limit=8)
    command = [sys.executable, "-m", "rau.cli", "batch", str(MANIFEST), "--out", str(tmp_path), *FAST, "--limit", "8", "--workers", "2"]
    run = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # Ctrl-C as from a terminal, also when the tests run in a background job
    deadline = time.monotonic() + 120
    while not any(item.state() == "complete" for item in items):
        assert run.poll() is None and time.monotonic() < deadline, "the first target never finished"
        time.sleep(0.05)
    (os.killpg if whole_group else os.kill)(run.pid, signum)
    try:
        assert run.wait(timeout=10) == {signal.SIGINT: 130, signal.SIGTERM: 143}[signum]
        time.sleep(1)
        assert not session_alive(run.pid), "a worker outlived the run"
    finally:
        if session_alive(run.pid):
            os.killpg(run.pid, signal.SIGKILL)
    check_stopped_run(tmp_path, items)


def check_stopped_run(out, items) -> None:
    """After a signal: no worker went on, the summary matches the outputs in ``out``, no temporary file is left."""
    states = {item.name: item.state() for item in items}
    assert "new" in states.values(), "the workers went on after the signal"
    assert summary(out) == {name: "done" if state == "complete" else "pending" for name, state in states.items()}
    assert not list(out.glob(".*")), "temporary files survived"


def test_rows_of_one_target_are_one_cohort_case_whatever_their_truth_column(shared_data, tmp_path):
    """A cohort run reads no truth: before, rows of one target with different target_labels became two cases,
    refused as "targets ... and ... would write the same output files"."""
    from rau.evaluation.manifest import read_manifest

    folder = shared_data / "hc18_fetal_head_us"
    rows = [f"{folder}/images/001_HC.png,{folder}/masks/00{n}_HC_mask.png,{folder}/images/00{n}_HC.png,{folder}/masks/00{n}_HC_mask.png"
            for n in (0, 2)]
    manifest = tmp_path / "cohort.csv"
    manifest.write_text("target_image,target_labels,reference_image,reference_labels\n" + "\n".join(rows) + "\n")
    (case,) = read_manifest(manifest, truth=False)
    assert [reference.image.name for reference in case.references] == ["000_HC.png", "002_HC.png"]
    assert len(read_manifest(manifest)) == 2  # rau evaluate: each truth is its own case
    assert [item.name for item in work_items(manifest, tmp_path / "out")] == ["001_HC"]


def test_targets_differing_only_in_extension_are_refused_by_name(shared_data, tmp_path, capsys):
    folder = shared_data / "hc18_fetal_head_us"
    (tmp_path / "x").mkdir()
    write_image(read_image(folder / "images/001_HC.png", 0.0897), tmp_path / "x/a.nii.gz")
    (tmp_path / "x/a.png").write_bytes((folder / "images/001_HC.png").read_bytes())
    reference = f"{folder}/images/000_HC.png,{folder}/masks/000_HC_mask.png,0.0691"
    manifest = tmp_path / "cohort.csv"
    manifest.write_text(f"target_image,reference_image,reference_labels,reference_spacing,target_spacing\n"
                        f"x/a.png,{reference},0.0897\nx/a.nii.gz,{reference},\n")
    assert rau_main(["batch", str(manifest), "--out", str(tmp_path / "out"), "--workers", "1"]) == 2
    error = capsys.readouterr().err
    assert f"{tmp_path / 'x/a.png'} and {tmp_path / 'x/a.nii.gz'} would write the same output files" in error, error
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("out", "problem"), [("afile", " is a file; give a folder for the outputs"), ("afile/sub", ": cannot create this output folder, ")])
def test_an_out_folder_that_cannot_be_made_is_refused(tmp_path, capsys, out, problem):
    (tmp_path / "afile").write_text("not a folder")
    assert rau_main(["batch", str(MANIFEST), "--out", str(tmp_path / out), *FAST, "--limit", "1", "--workers", "1"]) == 2
    assert f"rau batch: error: --out {tmp_path / out}{problem}" in capsys.readouterr().err
    assert (tmp_path / "afile").read_text() == "not a folder"


def test_an_out_folder_without_write_permission_is_refused_before_any_worker_starts(tmp_path, capsys, monkeypatch):
    """A folder root may not write in either (:func:`unwritable_folders.unwritable`)."""
    import rau.batch.pool
    from unwritable_folders import unwritable

    out = tmp_path / "read-only"
    out.mkdir()
    monkeypatch.setattr(rau.batch.pool, "run_in_processes", lambda *args, **kwargs: pytest.fail("a worker started"))
    with unwritable(out):
        assert rau_main(["batch", str(MANIFEST), "--out", str(out), *FAST, "--limit", "1", "--workers", "1"]) == 2
    assert f"rau batch: error: --out {out}: no permission to write in {out}" in capsys.readouterr().err
    assert not any(out.iterdir())


def test_a_ray_client_address_without_the_ray_client_is_refused_before_any_work(ray_instance, tmp_path, capsys, monkeypatch):
    find_spec = importlib.util.find_spec  # the cluster extra installs the Ray Client (grpcio): take it away
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name == "grpc" else find_spec(name, *rest))
    assert rau_main(["batch", str(MANIFEST), "--out", str(tmp_path / "out"), *FAST, "--limit", "1", "--ray", "ray://127.0.0.1:1"]) == 2
    assert 'pip install "ray[client]"' in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_gpus_the_ray_cluster_lacks_are_refused_instead_of_waiting_forever(ray_instance, tmp_path):
    """In a new process, as actors asking for a GPU the module's instance (2 CPUs) lacks would wait forever."""
    address = ray_instance.get_runtime_context().gcs_address
    command = [sys.executable, "-m", "rau.cli", "batch", str(MANIFEST), "--out", str(tmp_path / "out"), *FAST, "--limit", "1",
               "--ray", address, "--gpus-per-worker", "1"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 2, finished.stderr
    assert "--gpus-per-worker 1 x 1 worker(s) = 1 GPU, but the Ray cluster has 0 GPU" in finished.stderr
    assert not (tmp_path / "out").exists()


def _absolute_rows(limit: int) -> list[str]:
    """The first ``limit`` rows of the HC18 manifest with absolute paths (a manifest elsewhere reads them)."""
    import csv

    rows = list(csv.DictReader(MANIFEST.open()))[:limit]
    for row in rows:
        for column in ("reference_image", "reference_labels", "target_image", "target_labels"):
            row[column] = str((MANIFEST.parent / row[column]).resolve())
    return [",".join(rows[0])] + [",".join(row.values()) for row in rows]


def test_a_manifest_where_the_summary_would_go_is_refused_and_kept(tmp_path):
    """Before, a manifest called batch_summary.csv in --out was replaced by the summary, exit 0."""
    out = tmp_path / "out"
    out.mkdir()
    manifest = out / "batch_summary.csv"
    manifest.write_text("\n".join(_absolute_rows(2)) + "\n")
    before = manifest.read_text()
    with pytest.raises(InputError, match="batch_summary.csv: this output would replace the input"):
        work_items(manifest, out)
    assert manifest.read_text() == before


def test_a_limited_run_names_its_outputs_as_the_full_run_does(tmp_path):
    """Before, names were made over the first --limit targets: the full run renamed and redid everything."""
    import shutil

    lines = _absolute_rows(3)
    first_target = Path(lines[1].split(",")[3])
    (tmp_path / "other").mkdir()
    copy = shutil.copy(first_target, tmp_path / "other" / first_target.name)  # the same name in another folder, last
    manifest = tmp_path / "cohort.csv"
    manifest.write_text("\n".join([*lines, lines[2].replace(lines[2].split(",")[3], str(copy))]) + "\n")
    full = [item.name for item in work_items(manifest, tmp_path / "out")]
    assert len(set(full)) == 4
    assert [item.name for item in work_items(manifest, tmp_path / "out", limit=2)] == full[:2]


def test_ray_missing_or_a_malformed_address_is_a_usage_error(tmp_path, monkeypatch, capsys):
    """Before: exit 70, "internal error (ModuleNotFoundError: No module named 'ray')" and "(ValueError: Invalid
    address format: garbage)"; and --ray "" ran without Ray."""
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name == "ray" else find_spec(name, *rest))
    assert rau_main(["batch", str(MANIFEST), "--out", str(tmp_path / "out"), *FAST, "--limit", "1", "--ray", "auto"]) == 2
    assert 'rau batch: error: --ray auto: ray is not installed; pip install "rauslicer[cluster]"' in capsys.readouterr().err
    monkeypatch.undo()
    with pytest.raises(SystemExit) as empty:
        rau_main(["batch", str(MANIFEST), "--out", str(tmp_path / "out"), *FAST, "--limit", "1", "--ray", ""])
    assert empty.value.code == 2 and "argument --ray: must not be empty" in capsys.readouterr().err
    pytest.importorskip("ray")
    command = [sys.executable, "-m", "rau.cli", "batch", str(MANIFEST), "--out", str(tmp_path / "out"), *FAST, "--limit", "1", "--ray", "garbage"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 2 and "rau batch: error: --ray garbage: " in finished.stderr and "give auto, local, HOST:PORT" in finished.stderr
    assert not (tmp_path / "out").exists()


def test_ray_sizes_without_ray_are_refused(tmp_path, capsys):
    """Before: --cpus-per-worker and --gpus-per-worker were ignored without a word when --ray was not given."""
    assert rau_main(["batch", str(MANIFEST), "--out", str(tmp_path / "out"), *FAST, "--limit", "1", "--gpus-per-worker", "1"]) == 2
    assert "--gpus-per-worker sizes the actors of a Ray cluster; give --ray too, or leave it out" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_engine_the_ray_workers_cannot_build_is_named_in_one_line(ray_instance, tmp_path, capsys):
    """Before: Ray's message with colour codes and the workers' whole traceback."""
    missing = tmp_path / "no_vlm"
    code = rau_main(["batch", str(MANIFEST), "--out", str(tmp_path / "out"), "--limit", "1", "--engine", "vlm-box", "--vlm-model", str(missing),
                     "--ray", "auto"])
    error = capsys.readouterr().err
    assert code == 2 and "a Ray worker could not start the 'vlm-box' engine: " in error and str(missing) in error
    assert "Traceback" not in error and "\x1b[" not in error and len(error.strip().splitlines()) == 1, error


def test_a_target_name_too_long_for_its_outputs_is_refused_by_name_before_any_work(shared_data, tmp_path, capsys):
    """Before, a 250-character target name gave "internal error ... please report it" (exit 70) and an empty --out."""
    folder = shared_data / "hc18_fetal_head_us"
    target = tmp_path / f"{'b' * 250}.png"
    target.write_bytes((folder / "images/001_HC.png").read_bytes())
    manifest = tmp_path / "cohort.csv"
    manifest.write_text("target_image,reference_image,reference_labels,reference_spacing,target_spacing\n"
                        f"{target},{folder}/images/000_HC.png,{folder}/masks/000_HC_mask.png,0.0691,0.0897\n")
    assert rau_main(["batch", str(manifest), "--out", str(tmp_path / "out"), "--workers", "1"]) == 2
    error = capsys.readouterr().err
    assert "over the 255 that file systems allow; rename the target (its outputs are named after it" in error, error
    assert not (tmp_path / "out").exists()


def test_outputs_made_before_a_file_in_a_dicom_folder_changed_are_refused(shared_data, tmp_path, capsys):
    """Before: a slice rewritten in place leaves its folder's time as it was, and the resumed run skipped the target."""
    import SimpleITK as sitk

    data = shared_data / "hc18_fetal_head_us"
    for name in ("images/000_HC.png", "masks/000_HC_mask.png"):
        shutil.copy(data / name, tmp_path / Path(name).name)
    picture = sitk.ReadImage(str(data / "images/001_HC.png"), sitk.sitkUInt8)
    picture.SetSpacing((0.09, 0.09))
    (tmp_path / "exam").mkdir()
    sitk.WriteImage(picture, str(tmp_path / "exam" / "frame.dcm"))
    (tmp_path / "cohort.csv").write_text("target_image,reference_image,reference_labels,reference_spacing\n"
                                         "exam,000_HC.png,000_HC_mask.png,0.069\n")
    out = tmp_path / "out"
    assert rau_main(["batch", str(tmp_path / "cohort.csv"), "--out", str(out), *FAST, "--workers", "1"]) == 0
    later = (out / "exam.result.json").stat().st_mtime_ns + 10**9
    folder_time = (tmp_path / "exam").stat().st_mtime_ns
    os.utime(tmp_path / "exam" / "frame.dcm", ns=(later, later))  # rewritten in place
    assert (tmp_path / "exam").stat().st_mtime_ns == folder_time
    assert rau_main(["batch", str(tmp_path / "cohort.csv"), "--out", str(out), *FAST, "--workers", "1"]) == 2
    assert f"exam.result.json: made before {tmp_path / 'exam' / 'frame.dcm'} changed (it is newer)" in capsys.readouterr().err


def test_a_second_batch_into_the_same_folder_is_refused_and_a_killed_run_s_temporary_files_go(tmp_path, capsys):
    """Before: two batches in one --out both ran every target (outputs of mixed options, the summary of whichever ended
    last), and hidden temporary files that a killed worker left stayed for good."""
    from rau.batch.run import held_folder

    out = tmp_path / "out"
    out.mkdir()
    with held_folder(out):  # another batch runs there
        assert rau_main(["batch", str(MANIFEST), "--out", str(out), *FAST, "--limit", "1", "--workers", "1"]) == 2
    assert f"--out {out}: another rau batch is writing to this folder" in capsys.readouterr().err
    assert not list(out.iterdir())  # the running one's lock removed as it ended
    left = [out / ".058_HC.rau-k1ll3d0a.nii.gz", out / ".058_HC.rau-k1ll3d0b.json", out / ".batch_summary.rau-k1ll3d0c.csv"]
    mine = [out / ".058_HC-notes.txt", out / ".058_HC-settings.json", out / ".058_HC.rau-k1ll3d0d.txt"]  # none an output's
    for path in (*left, *mine):
        path.write_text("half")
    assert rau_main(["batch", str(MANIFEST), "--out", str(out), *FAST, "--limit", "1", "--workers", "1"]) == 0
    assert not any(path.exists() for path in left) and all(path.exists() for path in mine)
    shutil.rmtree(out)
    (out / ".rau-batch.lock").mkdir(parents=True)  # before: an internal error
    assert rau_main(["batch", str(MANIFEST), "--out", str(out), *FAST, "--limit", "1", "--workers", "1"]) == 2
    assert f"--out {out}: cannot open the lock file {out / '.rau-batch.lock'}" in capsys.readouterr().err


def test_a_ray_address_where_nothing_answers_is_refused_at_once(tmp_path, capsys):
    """Before: Ray tried to reach 127.0.0.1:1 for ever (killed after 400 s, nothing said)."""
    pytest.importorskip("ray")
    command = [sys.executable, "-m", "rau.cli", "batch", str(MANIFEST), "--out", str(tmp_path / "out"), *FAST, "--limit", "1", "--ray", "127.0.0.1:1"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120)  # a process without this module's Ray
    assert finished.returncode == 2 and "--ray 127.0.0.1:1: nothing answers there" in finished.stderr, finished.stderr
    assert not (tmp_path / "out").exists()


def test_a_run_resumed_with_other_engine_options_says_which_targets_kept_earlier_outputs(tmp_path, capsys):
    """Before: "0 done, 1 skipped (outputs existed)" and nothing else; the outputs of the earlier options stood as this run's."""
    run = ["batch", str(MANIFEST), "--out", str(tmp_path), *FAST, "--limit", "1", "--workers", "1"]
    assert rau_main(run) == 0
    capsys.readouterr()
    assert rau_main([*run, "--device", "cpu"]) == 0
    assert "kept outputs made with other engine options" not in capsys.readouterr().err  # where it computes is not what it answers
    assert rau_main([option for option in run if option not in FAST]) == 0
    assert ("warning: 1 skipped target(s) kept outputs made with other engine options (058_HC: deformable false (now true)); to run "
            "them with this run's, give another --out folder or move their outputs away") in capsys.readouterr().err
    assert summary(tmp_path) == {"058_HC": "skipped"}
