"""A DICOM file that holds no image (a report, a presentation state, an encapsulated PDF, as hospitals hand them out
beside the images) given as an image is refused as that, naming its kind, not as a file to decompress."""

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from rau.io import ImageReadError, read_image


def _without_image(path, sop_class: str, modality: str, **tags):
    """An uncompressed DICOM file of ``sop_class`` without pixel data, as an archive exports it."""
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.MediaStorageSOPClassUID = dataset.SOPClassUID = sop_class
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID = "1.2.3.4.9"
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.Modality, dataset.StudyInstanceUID, dataset.SeriesInstanceUID = modality, "1.2.3", "1.2.3.7"
    for tag, value in tags.items():
        setattr(dataset, tag, value)
    dataset.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.parametrize("sop_class, modality, name, tags", [
    ("1.2.840.10008.5.1.4.1.1.88.11", "SR", "Basic Text SR Storage", {}),
    ("1.2.840.10008.5.1.4.1.1.11.1", "PR", "Grayscale Softcopy Presentation State Storage", {}),
    ("1.2.840.10008.5.1.4.1.1.104.1", "DOC", "Encapsulated PDF Storage",
     {"MIMETypeOfEncapsulatedDocument": "application/pdf", "EncapsulatedDocument": b"%PDF-1.4 "}),
])
def test_a_dicom_file_without_an_image_is_refused_naming_its_kind(tmp_path, sop_class, modality, name, tags):
    """Before: "a DICOM file the reader cannot decode (transfer syntax 1.2.840.10008.1.2.1) ...; decompress it first",
    false of a whole uncompressed file."""
    file = _without_image(tmp_path / "other.dcm", sop_class, modality, **tags)
    for label_map in (False, True):
        with pytest.raises(ImageReadError, match=rf"other.dcm: a DICOM file that holds no image \({name}, SOP class {sop_class}\); "
                                                 r"give an image file of the study, or the folder of its image series$"):
            read_image(file, label_map=label_map)
