"""NIfTI-1 pairs (a .hdr header beside its .img voxels, either named, gzipped or not) go through every check and keep
every code a .nii file does; an Analyze 7.5 pair (no NIfTI magic) is read by ITK as before."""

from __future__ import annotations

import gzip
import subprocess
import sys

import nibabel
import numpy as np
import pytest
import SimpleITK as sitk
from bad_input_cases import copy_inputs, inputs, template  # noqa: F401  (fixtures)
from light_registration import light_registration_engine
from test_bad_input import run_cli, segment_3d, snapshot

from rau.errors import ImageReadError
from rau.io import read_image
from rau.validation import is_nifti, nifti_files

TURN_DEGREES = 30.0


def _turned(ct) -> np.ndarray:
    """The CT crop's affine turned by :data:`TURN_DEGREES` about its z axis."""
    turn = np.deg2rad(TURN_DEGREES)
    affine = ct.affine.copy()
    affine[:3, :3] = np.array([[np.cos(turn), -np.sin(turn), 0], [np.sin(turn), np.cos(turn), 0], [0, 0, 1]]) @ affine[:3, :3]
    return affine


def _write(folder, name, codes=(1, 0), sform=None, **fields) -> None:
    """``name`` (.nii.gz, or a pair named by its .hdr or .hdr.gz): the CT crop placed by its turned affine in the qform
    and ``sform`` (the turned affine when None) with these ``codes`` (qform, sform), then the header ``fields`` set."""
    ct = nibabel.load(str(folder / "ct.nii.gz"))
    data, turned = np.asarray(ct.dataobj), _turned(ct)
    single = name.endswith(".nii.gz")
    header = (nibabel.Nifti1Image if single else nibabel.Nifti1Pair).header_class()
    header.set_data_shape(data.shape)
    header.set_data_dtype(data.dtype)
    header.set_qform(turned, code=codes[0])
    header.set_sform(turned if sform is None else sform, code=codes[1])
    for field, value in fields.items():
        header[field] = value
    nibabel.save((nibabel.Nifti1Image if single else nibabel.Nifti1Pair)(data, None, header), str(folder / name))  # no affine: saved as set


def _segment(folder, target, *extra, out="out/result.nii.gz") -> subprocess.CompletedProcess:
    """``rau segment`` of ``target`` (a process of its own: nibabel's logger writes to the stderr it was imported with),
    with the ``extra`` options."""
    return subprocess.run([sys.executable, "-m", "rau.cli", *segment_3d(*extra, target=target, out=out)], cwd=folder,
                          capture_output=True, text=True, timeout=300)


def _placed(folder, target, monkeypatch, capsys, out="out/result.nii.gz") -> tuple[int, str]:
    """``rau segment --no-deformable`` of ``target`` in this process on a light registration that searches few starting
    offsets: where the result is placed is the point, not how well it fits (its exit status and standard error)."""
    import rau.commands.segment

    light = light_registration_engine(deformable=False, search_steps=1)
    monkeypatch.setattr(rau.commands.segment, "checked_engine", lambda name, options: light)
    return run_cli(segment_3d("--no-deformable", target=target, out=out), folder, monkeypatch, capsys)


def _sheared_sform(folder) -> np.ndarray:
    """The CT crop's affine whose slices step 0.8 mm sideways each."""
    sheared = nibabel.load(str(folder / "ct.nii.gz")).affine.copy()
    sheared[0, 2] = 0.8
    return sheared


HOSTILE = {  # before, as a pair: segmented without a word
    "NaN in the qform": {"quatern_d": np.nan},
    "sheared scanner sform": {"sform": _sheared_sform, "codes": (1, 1)},
}


def _hostile(folder, name: str, written: str) -> None:
    """``written`` in ``folder`` with the :data:`HOSTILE` header ``name``."""
    settings = dict(HOSTILE[name])
    if callable(settings.get("sform")):
        settings["sform"] = settings["sform"](folder)
    _write(folder, written, **settings)


@pytest.fixture(scope="module")
def single_refusals(template, tmp_path_factory) -> dict:
    """Each :data:`HOSTILE` header as a .nii.gz (``t.nii.gz``), refused by ``rau segment`` once for the module's tests:
    by name, the refusal, its folder and that folder's files before it (for the tests to check that it wrote none)."""
    refusals = {}
    for name in HOSTILE:
        folder = copy_inputs(template, tmp_path_factory.mktemp("single") / "case")
        _hostile(folder, name, "t.nii.gz")
        refusals[name] = (folder, snapshot(folder), _segment(folder, "t.nii.gz"))
    return refusals


@pytest.mark.parametrize("pair", [("t.hdr", "t.hdr"), ("t.hdr", "t.img"), ("t.hdr.gz", "t.img.gz")], ids=["hdr", "img", "gzipped"])
@pytest.mark.parametrize("hostile", HOSTILE, ids=HOSTILE.keys())
def test_a_nifti_pair_is_refused_in_the_words_of_its_nii_gz(inputs, single_refusals, hostile, pair):
    """Before: the NaN-qform pair was segmented and written with direction diag(-1, -1, 1), its 30 degree turn lost (ITK
    read the NaN as 0); the pair with a sheared scanner sform was segmented on its qform, as if it had none."""
    written, named = pair
    _hostile(inputs, hostile, written)
    before = snapshot(inputs)
    single_folder, single_before, single = single_refusals[hostile]
    paired = _segment(inputs, named)
    assert single.returncode == paired.returncode == 2
    assert single.stderr.startswith("rau segment: error: t.nii.gz: its ")
    assert paired.stderr == single.stderr.replace("t.nii.gz", named)
    assert snapshot(inputs) == before and snapshot(single_folder) == single_before


def test_a_turned_nifti_pair_is_placed_as_itk_reads_it_and_its_result_keeps_its_codes(inputs, monkeypatch, capsys):
    """The result on a pair is the result on the same header as .nii.gz, byte for byte: placed as SimpleITK reads the
    target, with the target's qform and sform codes (before: ITK's 1 and 1, so this MNI target's result said scanner)."""
    codes = (4, 0)  # placed by its qform alone, in MNI space
    _write(inputs, "t.nii.gz", codes)
    _write(inputs, "t.hdr", codes)
    results = {}
    for target in ("t.nii.gz", "t.hdr"):
        status, err = _placed(inputs, target, monkeypatch, capsys, out=f"out_{target}/result.nii.gz")
        assert status == 0, err
        results[target] = inputs / f"out_{target}/result.nii.gz"
    source, result = sitk.ReadImage(str(inputs / "t.hdr")), sitk.ReadImage(str(results["t.hdr"]))
    np.testing.assert_allclose(source.GetDirection()[:2], [-np.cos(np.deg2rad(TURN_DEGREES)), np.sin(np.deg2rad(TURN_DEGREES))], atol=1e-6)
    for placed in ("GetOrigin", "GetDirection", "GetSpacing"):  # a NIfTI holds single precision
        np.testing.assert_allclose(getattr(result, placed)(), getattr(source, placed)(), rtol=0, atol=1e-6)
    header = nibabel.load(str(results["t.hdr"])).header
    assert (int(header["qform_code"]), int(header["sform_code"])) == codes
    assert results["t.hdr"].read_bytes() == results["t.nii.gz"].read_bytes()


def test_an_analyze_pair_is_read_as_itk_reads_it(inputs, monkeypatch, capsys):
    """An Analyze 7.5 pair holds no NIfTI magic and no forms: no NIfTI check applies, and ITK places it as before."""
    ct = nibabel.load(str(inputs / "ct.nii.gz"))
    nibabel.save(nibabel.AnalyzeImage(np.asarray(ct.dataobj), ct.affine), str(inputs / "analyze.hdr"))
    assert not is_nifti(inputs / "analyze.hdr") and not is_nifti(inputs / "analyze.img")
    status, err = _placed(inputs, "analyze.hdr", monkeypatch, capsys)
    assert status == 0, err
    source, result = sitk.ReadImage(str(inputs / "analyze.hdr")), sitk.ReadImage(str(inputs / "out/result.nii.gz"))
    for placed in ("GetOrigin", "GetDirection", "GetSpacing"):
        np.testing.assert_allclose(getattr(result, placed)(), getattr(source, placed)(), rtol=0, atol=1e-6)


def _gzipped(folder, name) -> None:
    """``name`` in ``folder`` replaced by its gzipped copy (``name``.gz)."""
    (folder / f"{name}.gz").write_bytes(gzip.compress((folder / name).read_bytes(), mtime=0))
    (folder / name).unlink()


def _pair(folder, header: str, voxels: str, **settings) -> None:
    """The CT crop as a NIfTI-1 pair of these two files (``t.hdr`` or ``t.hdr.gz``, ``t.img`` or ``t.img.gz``)."""
    _write(folder, "t.hdr", **settings)
    for name in (header, voxels):
        if name.endswith(".gz"):
            _gzipped(folder, name[: -len(".gz")])


PAIR_FILES = [(header, voxels) for header in ("t.hdr", "t.hdr.gz") for voxels in ("t.img", "t.img.gz")]


@pytest.mark.parametrize("header,voxels", PAIR_FILES, ids=["-".join(files) for files in PAIR_FILES])
def test_every_pair_itk_reads_is_nifti_named_by_either_file_and_read_as_itk_reads_it(inputs, header, voxels):
    """Before: t.hdr beside t.img.gz was refused (``t.hdr: not a readable image ([Errno 2] No such file or directory:
    't.img')``) and, named by its t.img.gz, was no NIfTI (so none of the NIfTI checks)."""
    _pair(inputs, header, voxels)
    for named in (header, voxels):
        itk = sitk.ReadImage(str(inputs / named))
        assert is_nifti(inputs / named)
        assert nifti_files(inputs / named) == (inputs / header, inputs / voxels)
        np.testing.assert_array_equal(sitk.GetArrayFromImage(read_image(inputs / named).to_sitk()), sitk.GetArrayFromImage(itk))


@pytest.mark.parametrize("named", ["t.hdr", "t.img.gz"])
def test_a_hostile_pair_of_a_plain_header_and_gzipped_voxels_is_refused_in_the_words_of_its_nii_gz(inputs, single_refusals, named):
    """Before: named by t.img.gz the NaN-qform pair was no NIfTI, so it was segmented without a word (its turn lost)."""
    _pair(inputs, "t.hdr", "t.img.gz", **HOSTILE["NaN in the qform"])
    before = snapshot(inputs)
    single_folder, single_before, single = single_refusals["NaN in the qform"]
    paired = _segment(inputs, named)
    assert paired.returncode == 2
    assert paired.stderr == single.stderr.replace("t.nii.gz", named)
    assert snapshot(inputs) == before and snapshot(single_folder) == single_before


def test_a_pair_with_both_voxels_files_is_read_from_the_one_itk_reads(inputs):
    """ITK reads t.img before t.img.gz, whichever file names the pair: so do rau's checks and reading."""
    _pair(inputs, "t.hdr", "t.img.gz")
    ct = np.asarray(nibabel.load(str(inputs / "ct.nii.gz")).dataobj)
    (inputs / "t.img").write_bytes(np.asfortranarray(ct[::-1]).tobytes(order="F"))  # other voxels, uncompressed
    for named in ("t.hdr", "t.img", "t.img.gz"):
        assert nifti_files(inputs / named) == (inputs / "t.hdr", inputs / "t.img")
        itk = sitk.GetArrayFromImage(sitk.ReadImage(str(inputs / named)))
        np.testing.assert_array_equal(itk, ct[::-1].T)
        np.testing.assert_array_equal(sitk.GetArrayFromImage(read_image(inputs / named).to_sitk()), itk)


UNREAD_PAIRS = {  # files written (after t.hdr and t.img) -> the file named
    "no voxels": ({"t.img": None}, "t.hdr"),
    "no header": ({"t.hdr": None}, "t.img.gz"),
    "voxels of another case": ({"t.hdr": "t.HDR"}, "t.HDR"),
    "mixed case": ({"t.hdr": "t.Hdr"}, "t.Hdr"),
}


@pytest.mark.parametrize("renamed,named", UNREAD_PAIRS.values(), ids=UNREAD_PAIRS.keys())
def test_a_pair_itk_does_not_read_is_refused_in_one_line_naming_the_file(inputs, renamed, named):
    """Every pair of files that ITK does not read is refused by rau too, in one line that names the file given."""
    _pair(inputs, "t.hdr", "t.img.gz" if named == "t.img.gz" else "t.img")
    for old, new in renamed.items():
        (inputs / old).unlink() if new is None else (inputs / old).rename(inputs / new)
    with pytest.raises(RuntimeError):
        sitk.ReadImage(str(inputs / named))
    with pytest.raises(ImageReadError) as refused:
        read_image(inputs / named)
    assert str(refused.value).startswith(f"{inputs / named}: ") and "\n" not in str(refused.value)


@pytest.mark.parametrize("voxels", ["t.img", "t.img.gz"])
def test_a_pair_named_by_its_voxels_without_its_header_is_refused_for_the_missing_header(inputs, voxels):
    """Before: ``t.img: not a readable image (Unable to determine ImageIO reader for "t.img"); rau reads NIfTI, …``,
    which blamed the format (the missing header made it no NIfTI, so rau's own check never ran)."""
    _pair(inputs, "t.hdr", voxels)
    (inputs / "t.hdr").unlink()
    with pytest.raises(ImageReadError) as refused:
        read_image(inputs / voxels)
    assert str(refused.value) == f"{inputs / voxels}: a NIfTI or Analyze pair without its header: no t.hdr (gzipped or not) beside it"
