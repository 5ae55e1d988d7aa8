"""Tiny real inputs for the bad-input table: HC18 ultrasound pictures shrunk eightfold, a
48x48x16 crop of a TotalSegmentator CT, and hostile variants of them (truncated, NaN, zero
pixel size, skewed axes, decompression bomb, ...). Everything is written into one folder."""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import nibabel
import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image as PILImage

from rau.io import read_segmentation, write_seg_nrrd

HC18_SPACING = {"001": 0.08965852, "002": 0.062032563}
SHRINK = 8


def build_inputs(shared_data: Path, folder: Path) -> Path:
    """Write every input the table uses into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    _pictures(shared_data / "hc18_fetal_head_us", folder)
    _volumes(shared_data / "totalseg_test_fixtures/subjA_ct", folder)
    _hostile_files(folder)
    _manifests(folder)
    return folder


def _pictures(hc18: Path, folder: Path) -> None:
    for name, role in (("001", "ref"), ("002", "tgt")):
        image = PILImage.open(hc18 / f"images/{name}_HC.png").convert("L")
        mask = PILImage.open(hc18 / f"masks/{name}_HC_mask.png").convert("L")
        size = (image.width // SHRINK, image.height // SHRINK)
        image.resize(size, PILImage.BILINEAR).save(folder / f"{role}.png")
        mask.resize(size, PILImage.NEAREST).save(folder / f"{role}_mask.png")
    (folder / "ref_mask.labels.csv").write_text("value,name,r,g,b\n255,fetal head,0.9,0.7,0.2\n")
    shutil.copy(folder / "ref.png", folder / "ref_copy.png")
    one_slice_in_mm = sitk.GetImageFromArray(np.asarray(PILImage.open(folder / "tgt.png"))[None])  # as Slicer saves a picture
    one_slice_in_mm.SetSpacing((HC18_SPACING["002"] * SHRINK,) * 2 + (1.0,))
    sitk.WriteImage(one_slice_in_mm, str(folder / "tgt_mm.nii.gz"))
    mask = PILImage.open(folder / "ref_mask.png")
    mask.resize((mask.width // 2, mask.height // 2), PILImage.NEAREST).save(folder / "half_mask.png")
    PILImage.new("L", mask.size).save(folder / "empty_mask.png")


def _volumes(subject: Path, folder: Path) -> None:
    image = sitk.ReadImage(str(subject / "image.nii.gz"))
    labels = sitk.ReadImage(str(subject / "labels_totalseg.nii.gz"))
    start, size = [37, 26, 7], [48, 48, 16]
    sitk.WriteImage(sitk.RegionOfInterest(image, size, start), str(folder / "ct.nii.gz"))
    sitk.WriteImage(sitk.RegionOfInterest(labels, size, start), str(folder / "ct_labels.nii.gz"))


def _hostile_files(folder: Path) -> None:
    ct = nibabel.load(str(folder / "ct.nii.gz"))
    data = np.asarray(ct.dataobj).astype(np.float32)
    data[3, 4, 5] = np.nan
    nibabel.save(nibabel.Nifti1Image(data, ct.affine), str(folder / "nan.nii.gz"))
    data[3, 4, 5] = np.inf
    nibabel.save(nibabel.Nifti1Image(data, ct.affine), str(folder / "inf.nii"))
    complex_ct = sitk.GetImageFromArray(sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "ct.nii.gz"))).astype(np.complex64))
    sitk.WriteImage(complex_ct, str(folder / "complex.nii.gz"))
    huge = sitk.Cast(sitk.ReadImage(str(folder / "ct.nii.gz")), sitk.sitkFloat64)
    huge[0, 0, 0] = 1e300
    sitk.WriteImage(huge, str(folder / "huge_values.nii.gz"))
    whole = (folder / "ct.nii.gz").read_bytes()
    (folder / "truncated.nii.gz").write_bytes(whole[: len(whole) // 2])
    nibabel.save(ct, str(folder / "ct_plain.nii"))
    plain = (folder / "ct_plain.nii").read_bytes()
    (folder / "truncated.nii").write_bytes(plain[: len(plain) * 2 // 3])
    zero = nibabel.Nifti1Image(np.asarray(ct.dataobj), ct.affine)
    zero.header["pixdim"][1:4] = (0.0, 3.0, 3.0)
    nibabel.save(zero, str(folder / "pixdim0.nii.gz"))
    labels = np.asarray(nibabel.load(str(folder / "ct_labels.nii.gz")).dataobj).astype(np.int16)
    labels[0, 0, 0] = -1
    nibabel.save(nibabel.Nifti1Image(labels, ct.affine), str(folder / "negative_labels.nii.gz"))
    fractional = labels.astype(np.float32) + 0.5
    nibabel.save(nibabel.Nifti1Image(fractional, ct.affine), str(folder / "fractional_labels.nii.gz"))
    skewed = sitk.ReadImage(str(folder / "ct.nii.gz"))
    skewed.SetDirection((1, 0.3, 0, 0, 1, 0, 0, 0, 1))
    sitk.WriteImage(skewed, str(folder / "skewed.nrrd"))
    four_d = sitk.JoinSeries([sitk.ReadImage(str(folder / "ct.nii.gz"))] * 2)
    sitk.WriteImage(four_d, str(folder / "four_d.nii.gz"))
    ct_image = sitk.ReadImage(str(folder / "ct.nii.gz"))
    sitk.WriteImage(ct_image, str(folder / "ct.nrrd"), useCompression=True)
    sitk.WriteImage(ct_image, str(folder / "ct.mha"), useCompression=False)
    sitk.WriteImage(sitk.Cast(ct_image + 1024, sitk.sitkUInt16), str(folder / "intensities.nii.gz"))
    write_seg_nrrd(read_segmentation(folder / "ct_labels.nii.gz"), folder / "ct_labels.seg.nrrd")
    for name in ("ct.nrrd", "ct.mha", "tgt.png", "ct_labels.seg.nrrd"):
        content = (folder / name).read_bytes()
        (folder / f"cut_{name}").write_bytes(content[: len(content) * 2 // 3])
    (folder / "zero_bytes.nii.gz").write_bytes(b"")
    (folder / "bomb.png").write_bytes(_png_header_only(20000, 10000))
    (folder / "notes.nii.gz").write_text("not an image")
    (folder / "broken.json").write_text('{"255": "fetal head",')
    (folder / "deep.json").write_text('{"255": ' + "[" * 100_000 + "]" * 100_000 + "}")  # deeper than Python's JSON parser follows
    (folder / "bad_table.csv").write_text("value,name,r,g,b\nfive,fetal head,0.9,0.7,0.2\n")
    (folder / "line_break_name.csv").write_text('value,name\n255,"fetal\nhead"\n')
    (folder / "colours_255.csv").write_text("value,name,r,g,b\n255,fetal head,230,180,50\n")
    PILImage.open(folder / "ref_mask.png").save(folder / "ref_mask.jpg")
    (folder / "taken.nii.gz").mkdir()
    (folder / "series").mkdir()
    (folder / "link.nii.gz").symlink_to("ct.nii.gz")


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` grey pixels, with one empty data chunk."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


MANIFEST_HEADER = "reference_image,reference_labels,target_image,target_labels,reference_spacing,target_spacing"


def manifest_row(reference_spacing: str | None = None, target_spacing: str | None = None) -> str:
    """One 2D case of the tiny pictures."""
    ref = reference_spacing if reference_spacing is not None else str(HC18_SPACING["001"] * SHRINK)
    tgt = target_spacing if target_spacing is not None else str(HC18_SPACING["002"] * SHRINK)
    return f"ref.png,ref_mask.png,tgt.png,tgt_mask.png,{ref},{tgt}"


def _manifests(folder: Path) -> None:
    good = f"{MANIFEST_HEADER}\n{manifest_row()}\n"
    (folder / "m.csv").write_text(good)
    (folder / "bom.csv").write_bytes(b"\xef\xbb\xbf" + good.encode())
    (folder / "short_row.csv").write_text(f"{MANIFEST_HEADER}\nref.png,ref_mask.png,tgt.png\n")
    (folder / "long_row.csv").write_text(f"{MANIFEST_HEADER}\n{manifest_row()},extra\n")
    (folder / "words_spacing.csv").write_text(f"{MANIFEST_HEADER}\n{manifest_row(target_spacing='about 0.5')}\n")
    (folder / "zero_spacing.csv").write_text(f"{MANIFEST_HEADER}\n{manifest_row(reference_spacing='0')}\n")
    (folder / "semicolons.csv").write_text(f"{MANIFEST_HEADER.replace(',', ';')}\n{manifest_row().replace(',', ';')}\n")
    (folder / "half_spacing.csv").write_text(f"{MANIFEST_HEADER}\n{manifest_row(target_spacing='')}\n")
    (folder / "missing_file.csv").write_text(f"{MANIFEST_HEADER}\n{manifest_row().replace('tgt.png', 'gone.png')}\n")
    (folder / "typo_column.csv").write_text(f"{MANIFEST_HEADER},structure\n{manifest_row()},head\n")
    (folder / "column_twice.csv").write_text(f"{MANIFEST_HEADER},target_image\n{manifest_row()},ref.png\n")
    (folder / "truth_is_target.csv").write_text(f"{MANIFEST_HEADER}\n{manifest_row().replace('tgt_mask.png', 'tgt.png')}\n")
    (folder / "two_spacings.csv").write_text(f"{MANIFEST_HEADER}\n{manifest_row()}\n{manifest_row(target_spacing='0.5').replace('ref', './ref')}\n")
    (folder / "two_structures.csv").write_text(f"{MANIFEST_HEADER},structures\n{manifest_row()},\n{manifest_row().replace('ref', './ref')},label_255\n")
    (folder / "no_column.csv").write_text("reference_image,target_image\nref.png,tgt.png\n")
    (folder / "comment_first.csv").write_text(f"# HC18 pairs, made by hand\n{MANIFEST_HEADER}\n{manifest_row()}\n")
    (folder / "header_only.csv").write_text(f"{MANIFEST_HEADER}\n")
    (folder / "zero_bytes.csv").write_text("")
    (folder / "trailing_commas.csv").write_text(f"{MANIFEST_HEADER}\n{manifest_row()}\n,,,,,\n{manifest_row().replace('tgt_mask.png', '')}\n")
    (folder / "empty_field.csv").write_text(f"{MANIFEST_HEADER}\n{manifest_row().replace('tgt_mask.png', '')}\n")
    (folder / "latin1.csv").write_bytes(f"{MANIFEST_HEADER}\n{manifest_row()}\n".replace("tgt.png,", "tgt\xe9.png,", 1).encode("latin-1"))
    (folder / "unknown_structure.csv").write_text(f"{MANIFEST_HEADER},structures\n{manifest_row()},fetal head;brain\n")
    (folder / "target_as_reference.csv").write_text(f"{MANIFEST_HEADER}\n{manifest_row()}\n"
                                                    f"{manifest_row(reference_spacing=str(HC18_SPACING['002'] * SHRINK)).replace('ref', './tgt')}\n")
    bank_header = "image,labels,pixel_spacing"
    spacing = HC18_SPACING["001"] * SHRINK
    (folder / "bank_with_target.csv").write_text(f"{bank_header}\nref.png,ref_mask.png,{spacing}\ntgt.png,tgt_mask.png,{HC18_SPACING['002'] * SHRINK}\n")
    (folder / "bank.csv").write_text(f"{bank_header}\nref.png,ref_mask.png,{spacing}\n")
    (folder / "bank_short.csv").write_text(f"{bank_header}\nref.png\n")
    (folder / "bank_words.csv").write_text(f"{bank_header}\nref.png,ref_mask.png,fine\n")
    (folder / "bank_repeated.csv").write_text(f"{bank_header}\nref.png,ref_mask.png,{spacing}\n./ref.png,ref_mask.png,{spacing}\n")
    (folder / "bank_copied.csv").write_text(f"{bank_header}\nref.png,ref_mask.png,{spacing}\nref_copy.png,ref_mask_copy.png,{spacing}\n")
    shutil.copy(folder / "ref.png", folder / "ref_copy.png")
    shutil.copy(folder / "ref_mask.png", folder / "ref_mask_copy.png")
    shutil.copy(folder / "tgt.png", folder / "tgt_copy.png")
    (folder / "target_copy_as_reference.csv").write_text(f"{MANIFEST_HEADER}\n{manifest_row().replace('ref.png,ref_mask.png', 'tgt_copy.png,tgt_mask.png')}\n")
    (folder / "bank_empty_labels.csv").write_text(f"{bank_header}\nref.png,ref_mask.png,{spacing}\nref_copy.png,empty_mask.png,{spacing}\n")
    (folder / "bank_typo.csv").write_text(f"image,labels,pixel_spacng\nref.png,ref_mask.png,{spacing}\n")
    (folder / "bank_capitals.csv").write_text(f"Image,Labels,pixel_spacing\nref.png,ref_mask.png,{spacing}\n")
    (folder / "bank_negative.csv").write_text(f"{bank_header}\nref.png,ref_mask.png,-0.7\n")
    (folder / "bank_no_labels.csv").write_text("image,pixel_spacing\nref.png,0.7\n")
    (folder / "bank_missing.csv").write_text(f"{bank_header}\nref.png,gone_mask.png,{spacing}\n")
    (folder / "bank_labels_are_image.csv").write_text(f"{bank_header}\nref.png,ref_mask.png,{spacing}\nref_copy.png,ref_copy.png,{spacing}\n")
    (folder / "bank_bad_labels.csv").write_text(f"{bank_header}\nref.png,notes.nii.gz,{spacing}\n")
    (folder / "bank_one_unsized.csv").write_text(f"{bank_header}\nref.png,ref_mask.png,{spacing}\nref_copy.png,half_mask.png,\n")
    (folder / "truth_is_reference.csv").write_text(f"{MANIFEST_HEADER}\n{manifest_row().replace('ref_mask.png', 'ref.png')}\n")


def copy_inputs(template: Path, folder: Path) -> Path:
    """A fresh copy of the inputs for one test."""
    shutil.copytree(template, folder, symlinks=True)
    return folder


@pytest.fixture(scope="module")
def template(shared_data, tmp_path_factory):
    """The tiny real inputs, built once per test module."""
    return build_inputs(shared_data, tmp_path_factory.mktemp("inputs") / "inputs")


@pytest.fixture
def inputs(template, tmp_path):
    """A fresh copy of the inputs for one test (whose hashes the test may compare before and after)."""
    return copy_inputs(template, tmp_path / "case")
