"""``rau correct --target`` says what places the image it is given otherwise than the run's target: a picture (no place)
given for a run on a placed 1-slice volume is refused, and a grid of the same sizes placed elsewhere is named by its
direction or origin, both values given."""

import numpy as np
import SimpleITK as sitk
from PIL import Image as PILImage

from rau.cli import main

SPACING = 0.5


def pixels():
    rng = np.random.default_rng(3)
    array = (rng.random((48, 56)) * 60).astype(np.uint8)
    array[12:36, 14:40] += 150
    return array


def write(path, array, spacing, origin=(0.0, 0.0, 0.0), direction=tuple(np.eye(3).ravel())):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    image.SetDirection(direction)
    sitk.WriteImage(image, str(path))
    return path


def segmented(tmp_path, target, reference, *extra):
    """A run of the ``reference`` voxels (the box: its bright ones) on ``target``: its result JSON."""
    spacing = (SPACING, SPACING, 1.0 if len(reference) == 1 else 2.0)
    write(tmp_path / "ref.nrrd", reference, spacing)
    write(tmp_path / "ref_labels.nrrd", (reference > 140).astype(np.uint8), spacing)
    (tmp_path / "ref_labels.labels.csv").write_text("value,name\n1,box\n")
    out = tmp_path / "out" / f"{target.name.split('.')[0]}.nrrd"
    assert main(["segment", "--no-deformable", "--reference", str(tmp_path / "ref.nrrd"), "--reference-labels",
                 str(tmp_path / "ref_labels.nrrd"), "--target", str(target), *extra, "--out", str(out)]) == 0
    return out.with_name(out.name.replace(".nrrd", ".result.json"))


def correct(result, out, *extra):
    return main(["correct", str(result), "--structure", "box", "--inside", "20,20", "--out", str(out), *extra])


def test_a_picture_given_for_a_run_on_a_placed_slice_is_refused_and_the_reverse_is_taken(tmp_path, capsys):
    """Before: the picture (the same pixels) was taken, and the correction written at origin 0 with an identity
    direction, its result recording the picture as the target: every later correction off the run's grid."""
    angle = np.radians(30)
    turned = (np.cos(angle), 0, np.sin(angle), 0, 1, 0, -np.sin(angle), 0, np.cos(angle))
    placed = write(tmp_path / "obl.nrrd", pixels()[None], (SPACING, SPACING, 1.0), (10.5, -20.25, 30.125), turned)
    PILImage.fromarray(pixels()).save(tmp_path / "pic.png")
    result = segmented(tmp_path, placed, pixels()[None])
    capsys.readouterr()
    out = tmp_path / "out" / "c.nrrd"
    assert correct(result, out, "--target", str(tmp_path / "pic.png"), "--target-spacing", str(SPACING)) == 2
    error = capsys.readouterr().err
    assert f"--target {tmp_path / 'pic.png'}: has no position in space (a picture) while the run's target" in error, error
    assert "placed at origin 10.5, -20.25, 30.125" in error and "give the run's target file" in error, error
    assert not out.exists()

    picture_run = segmented(tmp_path, tmp_path / "pic.png", pixels()[None], "--target-spacing", str(SPACING))
    same_place = write(tmp_path / "slice.nrrd", pixels()[None], (SPACING, SPACING, 1.0))
    assert correct(picture_run, tmp_path / "out" / "d.nrrd", "--target", str(same_place)) == 0, capsys.readouterr().err


def test_a_grid_of_the_same_sizes_placed_otherwise_is_named_by_what_differs(tmp_path, capsys):
    """Before: 'lies on another grid (3 x 48 x 56 voxels of 0.5 x 0.5 x 2 mm) than this target (3 x 48 x 56 of 0.5 x 0.5
    x 2 mm, or placed elsewhere)', the same numbers on both sides."""
    volume = np.stack([pixels()] * 3)
    target = write(tmp_path / "t.nrrd", volume, (SPACING, SPACING, 2.0), (1.0, 2.0, 3.0))
    result = segmented(tmp_path, target, volume)
    mirrored = write(tmp_path / "lh.nrrd", volume[:, :, ::-1].copy(), (SPACING, SPACING, 2.0), (1.0 + 55 * SPACING, 2.0, 3.0),
                     (-1, 0, 0, 0, 1, 0, 0, 0, 1))
    moved = write(tmp_path / "moved.nrrd", volume, (SPACING, SPACING, 2.0), (1.0, 2.0, 4.0))
    capsys.readouterr()
    assert correct(result, tmp_path / "out" / "c.nrrd", "--target", str(mirrored)) == 2
    error = capsys.readouterr().err
    assert "its direction (columns i, j, k: 1,0,0 0,1,0 0,0,1) is not this target's (columns i, j, k: -1,0,0 0,1,0 0,0,1)" in error, error
    assert "its origin (1, 2, 3) is not this target's (28.5, 2, 3)" in error, error
    assert correct(result, tmp_path / "out" / "c.nrrd", "--target", str(moved)) == 2
    error = capsys.readouterr().err
    assert "its origin (1, 2, 3) is not this target's (1, 2, 4)" in error and "direction" not in error, error
    assert not (tmp_path / "out" / "c.nrrd").exists()


def test_a_slice_stored_along_j_is_described_by_its_file_s_own_axes(tmp_path, capsys):
    """Before: a run on a 1-slice NRRD stored along j (identity direction) was said 'placed at origin 0, 0, 0, direction
    (columns i, j, k: 1,0,0 0,0,1 0,1,0)', a left-handed direction in no file, and a copy of it flipped along k 'its
    direction (columns i, j: 1,0,0 0,0,1) is not this target's (1,0,0 0,0,-1)': the working plane's axes, not the file's."""
    along_j = pixels()[:, None, :]
    target = write(tmp_path / "coronal.nrrd", along_j, (SPACING, 1.0, SPACING))
    flipped = write(tmp_path / "flipped.nrrd", along_j, (SPACING, 1.0, SPACING), direction=(1, 0, 0, 0, 1, 0, 0, 0, -1))
    PILImage.fromarray(pixels()).save(tmp_path / "pic.png")
    result = segmented(tmp_path, target, pixels()[None])
    capsys.readouterr()
    assert correct(result, tmp_path / "out" / "c.nrrd", "--target", str(tmp_path / "pic.png"), "--target-spacing", str(SPACING)) == 2
    error = capsys.readouterr().err
    assert "placed at origin 0, 0, 0, direction (columns i, j, k: 1,0,0 0,1,0 0,0,1)" in error, error
    assert correct(result, tmp_path / "out" / "c.nrrd", "--target", str(flipped)) == 2
    error = capsys.readouterr().err
    assert "its direction (columns i, k: 1,0,0 0,0,1) is not this target's (columns i, k: 1,0,0 0,0,-1)" in error, error
    assert not (tmp_path / "out" / "c.nrrd").exists()
