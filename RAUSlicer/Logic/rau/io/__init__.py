"""Readers and writers. Every write is atomic and refuses to replace a file unless asked."""

from rau.io.atomic import OutputExistsError, atomic_path
from rau.io.images import ImageReadError, read_image, write_image
from rau.io.segmentations import read_segmentation, write_label_map, write_seg_nrrd

__all__ = [
    "ImageReadError",
    "OutputExistsError",
    "atomic_path",
    "read_image",
    "read_segmentation",
    "write_image",
    "write_label_map",
    "write_seg_nrrd",
]
