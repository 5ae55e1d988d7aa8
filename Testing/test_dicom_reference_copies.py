"""A DICOM series folder is one image whatever else lies beside its slices or however they are named: a reference
folder that is the target's series (its slices linked) or a copy of it (with a stray readme.txt, or its slices
renamed) is refused as the target, and a second reference that is such a copy of another is refused as voting twice."""

import os
import shutil

import pytest
from dicom_files import write_series

from rau.errors import InputError
from rau.references import check_distinct_references
from rau.validation import check_not_target

POSITIONS = [(0, 0, 3 * k) for k in range(3)]


def _copy_with_readme(folder, copy):
    shutil.copytree(folder, copy)
    (copy / "readme.txt").write_text("exported by the PACS\n")
    return copy


def _copy_renamed(folder, copy):
    copy.mkdir()
    for index, slice_ in enumerate(sorted(folder.iterdir())):
        shutil.copyfile(slice_, copy / f"IM{index:04d}")
    return copy


def test_a_reference_folder_of_links_to_the_target_s_slices_is_the_target_itself(tmp_path):
    """Before: accepted (only the folders' own paths were compared), so the target's labels were copied."""
    target = write_series(tmp_path / "target", POSITIONS)
    links = tmp_path / "links"
    links.mkdir()
    for slice_ in target.iterdir():
        os.symlink(slice_, links / slice_.name)
    (links / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    with pytest.raises(InputError, match=r"--reference .*links is the target .*target itself"):
        check_not_target(links, target, f"--reference {links}")
    check_not_target(write_series(tmp_path / "other", [(0, 0, 4 * k) for k in range(3)]), target, "--reference other")


@pytest.mark.parametrize("make_copy", [_copy_with_readme, _copy_renamed])
def test_a_copy_of_the_target_series_with_other_files_or_names_is_refused_in_an_evaluation(tmp_path, make_copy):
    """Before: a copy with a readme.txt beside its slices, or its slices renamed, was scored against its own truth."""
    target = write_series(tmp_path / "target", POSITIONS)
    copy = make_copy(target, tmp_path / "copy")
    check_not_target(copy, target, "reference_image copy")  # not the target file itself: segment takes it
    with pytest.raises(InputError, match=r"reference_image copy is a copy of the target .*target \(the same bytes\)"):
        check_not_target(copy, target, "reference_image copy", copies=True)


@pytest.mark.parametrize("make_copy", [_copy_with_readme, _copy_renamed])
def test_a_copy_of_a_reference_series_with_other_files_or_names_would_vote_twice(tmp_path, make_copy):
    """Before: accepted, the one series voting twice."""
    folder = write_series(tmp_path / "series", POSITIONS)
    labels = tmp_path / "labels.nii.gz"
    labels.write_bytes(b"labels")
    copy = make_copy(folder, tmp_path / "copy")
    with pytest.raises(InputError, match="--reference copy: its image and labels are copies of those of --reference series; it would vote twice"):
        check_distinct_references([(folder, labels, "--reference series"), (copy, labels, "--reference copy")])
    changed = make_copy(folder, tmp_path / "changed")
    slice_ = sorted(p for p in changed.iterdir() if p.suffix != ".txt")[1]
    data = bytearray(slice_.read_bytes())
    data[-1] ^= 1  # one pixel of one slice differs: another image
    slice_.write_bytes(bytes(data))
    check_distinct_references([(folder, labels, "--reference series"), (changed, labels, "--reference changed")])
