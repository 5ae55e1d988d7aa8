"""Small DICOM files written as scanners and exports write them, for tests of the readers (series of a few 8 x 8
slices, projection images, enhanced multi-frame files, single slices changed after writing)."""

from pathlib import Path

import numpy as np
import SimpleITK as sitk


def write_series(folder: Path, positions, pixel_size: float = 1.0) -> Path:
    """A small axial CT series, one file per slice at ``positions`` (ImagePositionPatient, mm), of 8 x 8 pixels of
    ``pixel_size`` mm."""
    folder.mkdir()
    for index, position in enumerate(positions):
        slice_ = sitk.GetImageFromArray(np.full((1, 8, 8), index, np.int16))
        slice_.SetSpacing((pixel_size, pixel_size, 1.0))
        writer = sitk.ImageFileWriter()
        writer.KeepOriginalImageUIDOn()
        for tag, value in (("0008|0060", "CT"), ("0020|000d", "1.2.3"), ("0020|000e", "1.2.3.4"), ("0020|0013", str(index + 1)),
                           ("0020|0032", "\\".join(f"{v:.3f}" for v in position)), ("0020|0037", "1\\0\\0\\0\\1\\0"),
                           ("0008|0018", f"1.2.3.4.{index + 1}")):
            slice_.SetMetaData(tag, value)
        writer.SetFileName(str(folder / f"{index:03d}.dcm"))
        writer.Execute(slice_)
    return folder


def xray_dicom(path: Path, modality: str, sop_class: str, frames: int = 1, syntax=None, pixels=None, **tags) -> Path:
    """A projection DICOM file as a scanner writes it (ITK's writer would add an ImagerPixelSpacing of its own), in
    the transfer ``syntax`` given (an uncompressed one, or deflated; else explicit VR little endian), holding ``pixels``
    (an array whose type matches BitsAllocated; else 0, 1, 2 ... as 16-bit)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.MediaStorageSOPClassUID = dataset.SOPClassUID = sop_class
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID = "1.2.3.4.5"
    dataset.file_meta.TransferSyntaxUID = syntax or ExplicitVRLittleEndian
    dataset.Modality, dataset.StudyInstanceUID, dataset.SeriesInstanceUID = modality, "1.2.3", "1.2.3.4"
    dataset.SamplesPerPixel, dataset.PhotometricInterpretation, dataset.PixelRepresentation = 1, "MONOCHROME2", 0
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 16, 12, 11
    dataset.Rows, dataset.Columns = 30, 40
    if frames > 1:
        dataset.NumberOfFrames = frames
    for tag, value in tags.items():
        setattr(dataset, tag, value)
    dataset.PixelData = (np.arange(frames * 30 * 40, dtype=np.uint16) if pixels is None else pixels).tobytes()
    dataset.save_as(path, enforce_file_format=True)
    return path


def enhanced_ct(path: Path, positions, frames: int = 4, pixel_size: float = 0.5) -> Path:
    """An enhanced CT file of ``frames`` frames at ``positions`` (None: frames without a position), sized only in its
    shared functional groups (``pixel_size`` mm pixels), as enhanced scanners write it."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    def item(**tags):
        dataset = Dataset()
        for tag, value in tags.items():
            setattr(dataset, tag, value)
        return Sequence([dataset])

    groups = [Dataset() for _ in range(frames)]
    for group, position in zip(groups, positions):
        if position is not None:
            group.PlanePositionSequence = item(ImagePositionPatient=list(position))
    shared = Dataset()
    shared.PixelMeasuresSequence = item(PixelSpacing=[pixel_size, pixel_size], SliceThickness=1)
    shared.PlaneOrientationSequence = item(ImageOrientationPatient=[1, 0, 0, 0, 1, 0])
    return xray_dicom(path, "CT", "1.2.840.10008.5.1.4.1.1.2.1", frames=frames, SharedFunctionalGroupsSequence=Sequence([shared]),
                       PerFrameFunctionalGroupsSequence=Sequence(groups))


def changed_slice(folder: Path, name: str, change) -> None:
    """Rewrite one slice of a series with ``change(dataset)`` applied (pydicom)."""
    import pydicom

    dataset = pydicom.dcmread(folder / name)
    change(dataset)
    dataset.save_as(folder / name)
