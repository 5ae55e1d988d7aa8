"""Atomic outputs: a failed write leaves nothing, a set of files is placed all or none, and an output is never
replaced silently (rau.io.atomic)."""

import os
import re
import time
from pathlib import Path

import pytest

from rau.errors import WriteError
from rau.io import OutputExistsError
from rau.io.atomic import atomic_folder, atomic_path, output_set


def test_failed_write_leaves_no_partial_file(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "result.nii.gz") as temporary:
            temporary.write_bytes(b"half")
            raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_a_set_of_outputs_is_placed_all_or_none(tmp_path):
    """Before: each file was renamed on its own, so when the last could not be (a folder, an immutable file in its
    place) the first ones were already replaced: a new label table beside an earlier run's label map."""
    table, label_map = tmp_path / "out.labels.csv", tmp_path / "out.nii.gz"
    table.write_text("earlier table")
    label_map.write_text("earlier label map")
    with pytest.raises(WriteError, match=f"could not write {re.escape(str(label_map))}: "), output_set():
        with atomic_path(table, overwrite=True) as temporary:
            temporary.write_text("new table")
        with atomic_path(label_map, overwrite=True) as temporary:
            temporary.write_text("new label map")
            label_map.unlink()
            label_map.mkdir()  # what the system will not replace, appeared while the run wrote
            (label_map / "kept").write_text("")
    assert table.read_text() == "earlier table" and (label_map / "kept").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.labels.csv", "out.nii.gz"]  # no hidden file left


def test_an_output_another_process_placed_while_this_one_wrote_is_not_replaced(tmp_path):
    """Before: without overwrite, the output was checked when the write began and then renamed over whatever was
    there: of two runs started together, both said "wrote" and the later one's files silently won."""
    out, folder = tmp_path / "new" / "out.labels.csv", tmp_path / "new"
    with pytest.raises(OutputExistsError, match="exists; replace it with --overwrite"):
        with atomic_path(out) as temporary:
            temporary.write_text("mine")
            out.write_text("theirs")
    assert out.read_text() == "theirs" and list(folder.iterdir()) == [out]
    with pytest.raises(OutputExistsError), output_set():  # and in a set, what this run placed goes again
        with atomic_path(tmp_path / "first.csv") as temporary:
            temporary.write_text("mine")
        with atomic_path(out) as temporary:
            temporary.write_text("mine")
    assert not (tmp_path / "first.csv").exists() and out.read_text() == "theirs"


def test_a_failed_write_removes_the_folders_it_created(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "new" / "deeper" / "result.nii.gz") as temporary:
            temporary.write_bytes(b"half")
            raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_an_output_replaced_with_overwrite_is_there_until_the_new_one_takes_its_place(tmp_path, monkeypatch):
    """Before: the earlier file was first renamed aside, so for a moment there was none at its name, and a process
    killed then left it under a hidden name only."""
    import rau.io.atomic as atomic

    out = tmp_path / "out.csv"
    out.write_text("earlier")
    place, seen = atomic._place, []

    def placing(temporary, path, overwrite):
        seen.append(path.read_text())  # what a reader finds as the new file goes in
        place(temporary, path, overwrite)

    monkeypatch.setattr(atomic, "_place", placing)
    with atomic_path(out, overwrite=True) as temporary:
        temporary.write_text("new")
    assert seen == ["earlier"] and out.read_text() == "new" and list(tmp_path.iterdir()) == [out]


def test_every_temporary_file_a_run_makes_is_one_a_later_run_clears_away(tmp_path, monkeypatch):
    """Before: a writer given the run's temporary file made its own beside it (``..rau-xxxxxxxx.nii.gz``, named after no
    output); a run killed at that moment left it, and no later run took it for one of its outputs' leftovers."""
    import tempfile

    import numpy as np

    from rau.image import Image
    from rau.io.atomic import leftover_temporaries
    from rau.io.run_outputs import output_paths, write_outputs
    from rau.labels import Structure
    from rau.result import Result, StructureResult

    made = []
    mkstemp = tempfile.mkstemp

    def recorded(*args, **kwargs):
        handle, name = mkstemp(*args, **kwargs)
        made.append(name)
        return handle, name

    monkeypatch.setattr(tempfile, "mkstemp", recorded)
    target = Image(np.zeros((1, 20, 20), np.float32), ndim=2)
    mask = np.zeros(target.shape, bool)
    mask[0, 5:9, 5:9] = True
    paths = output_paths(tmp_path / "case.nii.gz", seg_nrrd=True)
    write_outputs(Result(target, [StructureResult(Structure("spleen", 1), mask, 0.9, "registration")], "registration"), paths, overwrite=False)
    assert len(made) == len(paths) == 4  # one temporary file for each output
    for name in made:  # as if the run had been killed before placing them
        open(name, "w").close()
    assert [str(path) for path in leftover_temporaries(paths.values())] == sorted(made)


WRITE = """
import sys
import numpy as np
from rau.errors import WriteError
from rau.image import Image
from rau.io import read_segmentation, write_image, write_seg_nrrd

mask, out = sys.argv[1:]
if out.endswith(".seg.nrrd"):
    writing = lambda: write_seg_nrrd(read_segmentation(mask, pixel_spacing=0.1), out)
elif "mask" in out:
    writing = lambda: write_image(read_segmentation(mask, pixel_spacing=0.1).to_label_map(), out)
else:  # noise compresses to no less: ITK's NRRD and MetaImage writers then fail with an error
    noise = np.random.default_rng(0).integers(0, 1000, (20, 64, 64)).astype(np.int16)
    writing = lambda: write_image(Image.from_grid(noise, (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), np.eye(3)), out)
try:
    writing()
except WriteError as error:
    print(error)
"""


def limited_run(arguments: list, limit: int | None = None):
    """Python run with ``arguments`` (the rau under test importable), in a process whose files may hold at most
    ``limit`` bytes: a write past it fails with EFBIG, as on a full disk."""
    import os
    import resource
    import signal
    import subprocess
    import sys
    from pathlib import Path

    import rau

    def limit_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # kept by the new program: a write past the limit fails, not kills
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    environment = {**os.environ, "PYTHONPATH": str(Path(rau.__file__).parents[1])}
    return subprocess.run([sys.executable, *map(str, arguments)], preexec_fn=limit_files if limit else None, env=environment,
                          capture_output=True, text=True, timeout=120)


def limited_write(mask, out, limit: int | None = None) -> str:
    """What writing ``out`` (``WRITE``) says, its files limited to ``limit`` bytes (:func:`limited_run`)."""
    done = limited_run(["-c", WRITE, mask, out], limit)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()



def test_a_failed_folder_write_names_the_folder_not_its_temporary_one(tmp_path):
    """Before: atomic_folder told the whole OSError, whose file name is the hidden temporary folder
    ('could not write .../out: [Errno 2] No such file or directory: '.../.out.rau-XXXXXXXX/missing/file'')."""
    out = tmp_path / "out"
    with pytest.raises(WriteError) as raised, atomic_folder(out) as temporary:
        (temporary / "missing" / "file").write_text("")
    assert str(raised.value) == f"could not write {out}: No such file or directory"
    assert list(tmp_path.iterdir()) == []

@pytest.mark.parametrize("name", ["mask.nrrd", "mask.mha", "mask.seg.nrrd", "noise.nrrd", "noise.mha", "noise.nii.gz", "noise.nii"])
def test_a_write_cut_short_names_the_output_and_leaves_nothing(shared_data, tmp_path, name):
    """Before: ITK's NRRD and MetaImage writers' errors named the hidden temporary file (``.noise.rau-XXXXXXXX.nrrd``; in
    the command line an internal error), and a small label map cut short by the disk was put in place without a word."""
    mask = shared_data / "hc18_fetal_head_us" / "masks" / "012_HC_mask.png"
    assert limited_write(mask, tmp_path / "whole" / name) == ""
    out = tmp_path / "out" / name
    said = limited_write(mask, out, limit=(tmp_path / "whole" / name).stat().st_size // 2)
    assert said.startswith(f"could not write {out}: ") and ".rau-" not in said and "Errno" not in said
    assert not out.parent.exists()  # no partial output, no temporary file, not even the folder made for it


def test_rau_segment_cut_short_by_the_disk_exits_2_naming_its_label_map(shared_data, tmp_path):
    """Before: its NRRD label map cut short was not noticed; the result JSON, written after it, failed instead."""
    hc18 = shared_data / "hc18_fetal_head_us"
    out = tmp_path / "out" / "058.nrrd"
    done = limited_run(["-m", "rau", "segment", "--reference", hc18 / "images" / "012_HC.png", "--reference-labels",
                        hc18 / "masks" / "012_HC_mask.png", "--reference-spacing", "0.08346045", "--target", hc18 / "images" / "058_HC.png",
                        "--target-spacing", "0.077068008", "--no-deformable", "--out", out], limit=1000)  # the label map has 2.6 kB
    assert (done.returncode, done.stderr) == (2, f"rau segment: error: could not write {out}: the file came out short (a full disk or a file size limit?)\n")
    assert not out.parent.exists()


def test_a_folder_replacement_stopped_between_its_renames_puts_the_earlier_folder_back(tmp_path, monkeypatch):
    """Ctrl-C after the earlier folder was set aside and before the new one took its place: the earlier one comes back."""
    import rau.io.atomic

    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier.txt").write_text("earlier")
    replace = os.replace

    def interrupted(source, target):
        if Path(target) == out and ".rau-earlier-" not in Path(source).name:  # the new folder's rename
            raise KeyboardInterrupt
        replace(source, target)

    monkeypatch.setattr(rau.io.atomic.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt), atomic_folder(out, overwrite=True) as temporary:
        (temporary / "new.txt").write_text("new")
    assert [(path.name, path.read_text()) for path in tmp_path.rglob("*") if path.is_file()] == [("earlier.txt", "earlier")]
    assert [path.name for path in tmp_path.iterdir()] == ["out"]


WRITE_SET = """
import sys
import time
from pathlib import Path

import numpy as np

import rau.io.atomic as atomic
from rau.image import Image
from rau.io.run_outputs import output_paths, write_outputs
from rau.labels import Structure
from rau.result import Result, StructureResult

out, tag, said = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
if said:  # once its first file is placed: say so, then give the other run up to SECONDS s to end
    place, said, seconds = atomic._place, Path(said[0]), float(said[1])

    def placing(temporary, path, overwrite):
        place(temporary, path, overwrite)
        if not (said / "placing").exists():
            (said / "placing").touch()
            deadline = time.monotonic() + seconds
            while not (said / "other ended").exists() and time.monotonic() < deadline:
                time.sleep(0.01)

    atomic._place = placing
target = Image(np.zeros((1, 8, 8), np.float32), ndim=2)
mask = np.zeros(target.shape, bool)
mask[0, 2:5, 2:5] = True
result = Result(target, [StructureResult(Structure(f"structure {tag}", ord(tag)), mask, 0.9, "registration")], "registration")
print("writing", flush=True)
try:
    write_outputs(result, output_paths(out / "a.nii.gz", seg_nrrd=False), overwrite=True)
except KeyboardInterrupt:
    sys.exit(130)
"""
SET = ["a.labels.csv", "a.nii.gz", "a.result.json"]


def runs_of(folder: Path) -> dict[str, str]:
    """Each file of a set ``WRITE_SET`` wrote -> the run (its tag) that wrote it."""
    import SimpleITK as sitk

    tags = {name: next(tag for tag in "AB" if f"structure {tag}" in (folder / name).read_text()) for name in SET if name != "a.nii.gz"}
    return tags | {"a.nii.gz": chr(sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "a.nii.gz"))).max())}


def first_run_placing(pool, out: Path, said: Path, seconds: float):
    """Start run "A" of :data:`WRITE_SET` in ``pool``; return its future once it has placed its first file (it then
    waits up to ``seconds`` for ``said / "other ended"``)."""
    said.mkdir()
    first = pool.submit(limited_run, ["-c", WRITE_SET, out, "A", said, seconds])
    while not (said / "placing").exists() and not first.done():
        time.sleep(0.01)
    return first


def test_two_runs_replacing_the_same_set_at_once_leave_one_runs_whole_set(tmp_path):
    """Before: each file of a set was replaced on its own, so a run placing its set while another placed the same
    (two ``rau segment --overwrite`` to one path) left a mix: the second run's label map beside the first's table."""
    from concurrent.futures import ThreadPoolExecutor

    out, said = tmp_path / "out", tmp_path / "said"
    with ThreadPoolExecutor(1) as pool:
        first = first_run_placing(pool, out, said, 2)
        second = limited_run(["-c", WRITE_SET, out, "B"])
        (said / "other ended").touch()
    assert (first.result().returncode, first.result().stderr, second.returncode, second.stderr) == (0, "", 0, "")
    assert sorted(file.name for file in out.iterdir()) == SET and runs_of(out) == dict.fromkeys(SET, "B")


def test_ctrl_c_ends_a_run_waiting_for_another_writing_its_outputs_with_nothing_placed(tmp_path):
    """Before: a run waited for the other's lock with Ctrl-C deferred (to place its set whole): it waited until the other
    ended (for ever, the other stopped with Ctrl-Z), placed its files, then said "cancelled"."""
    import signal
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    out, said = tmp_path / "out", tmp_path / "said"
    with ThreadPoolExecutor(1) as pool:
        first = first_run_placing(pool, out, said, 30)
        environment = {**os.environ, "PYTHONPATH": str(Path(__import__("rau").__file__).parents[1])}
        second = subprocess.Popen([sys.executable, "-c", WRITE_SET, str(out), "B"], env=environment, stdout=subprocess.PIPE, text=True,
                                  preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as from a terminal, whatever runs the tests
        try:
            assert second.stdout.readline() == "writing\n"
            time.sleep(0.5)  # into the wait
            second.send_signal(signal.SIGINT)
            returncode = second.wait(timeout=20)  # well before the first run lets go (30 s); a loaded machine exits slowly
        finally:
            second.kill()
            (said / "other ended").touch()
    assert (returncode, first.result().returncode, first.result().stderr) == (130, 0, "")
    assert sorted(file.name for file in out.iterdir()) == SET and runs_of(out) == dict.fromkeys(SET, "A")


def test_writing_a_set_makes_and_removes_no_file_beside_it(tmp_path, monkeypatch):
    """Before: a run placing its set made .rau-outputs.lock in the folder and removed it after, even a file of that
    name that was an input of the run (its label table): the run ended well and the input was gone."""
    import numpy as np

    import rau.io.atomic as atomic
    from rau.image import Image
    from rau.io.run_outputs import output_paths, write_outputs
    from rau.labels import Structure
    from rau.result import Result, StructureResult

    (tmp_path / ".rau-outputs.lock").write_text("1,head\n")
    seen, place = set(), atomic._place

    def placing(*args):  # what the folder holds while the set is placed, but the set's temporary files
        seen.update(path.name for path in tmp_path.iterdir() if not atomic.TEMPORARY_NAME.fullmatch(path.name))
        place(*args)

    monkeypatch.setattr(atomic, "_place", placing)
    target = Image(np.zeros((1, 8, 8), np.float32), ndim=2)
    mask = np.zeros(target.shape, bool)
    mask[0, 2:5, 2:5] = True
    write_outputs(Result(target, [StructureResult(Structure("head", 1), mask, 0.9, "registration")], "registration"),
                  output_paths(tmp_path / "a.nii.gz", seg_nrrd=False), overwrite=False)
    assert seen <= {".rau-outputs.lock", *SET}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".rau-outputs.lock", *SET]
    assert (tmp_path / ".rau-outputs.lock").read_text() == "1,head\n"
