"""Input validation: the one home of every check on options, files, geometry, labels and
manifest rows. Readers and commands call these before any computation; each failure is an
:class:`~rau.errors.InputError` (an :class:`~rau.errors.OptionError` for options) whose message names the
option, file or row and the problem.

The checks live in seven modules by what they look at (:mod:`~rau.validation.options`,
:mod:`~rau.validation.files`, :mod:`~rau.validation.nifti_pairs`, :mod:`~rau.validation.paths`,
:mod:`~rau.validation.images`, :mod:`~rau.validation.manifests`, :mod:`~rau.validation.text_tables`);
``from rau.validation import check_image`` reaches each of them.
"""

from rau.validation.files import (bounded_bytes, check_nifti, check_not_special, check_picture_size, check_text_name, gzip_length,
                                  is_nifti, itk_warnings_off, nifti_bytes, not_a_folder, picture_too_large, unplaced_nifti)
from rau.validation.images import (blank_image_problem, check_direction, check_distinct_files, check_geometry, check_image,
                                   check_label_values, check_labelled_inside, check_not_swapped, check_not_target, check_same_extent,
                                   edge_only_values_problem, edge_tolerance, implausible_span_problem, reach_outside, same_bytes, same_file, tiny_image_problem)
from rau.validation.manifests import check_files_exist, check_pixel_sizes, existing_file, read_table, spacing_field
from rau.validation.nifti_pairs import nifti_files
from rau.validation.options import (argument, check_window, device_name, finite_number, folder_path, host_address, non_empty_path,
                                    non_negative_integer, non_negative_number, port_number, positive_at_most,
                                    positive_integer, positive_number, server_url, share_below_one, waiting_seconds, whole_number)
from rau.validation.paths import file_exists
from rau.validation.text_tables import check_comma_separated, clean_columns, filled_rows, table_text

__all__ = [
    "argument", "blank_image_problem", "bounded_bytes", "check_comma_separated", "clean_columns", "filled_rows", "check_direction", "check_distinct_files", "check_geometry", "check_image",
    "check_label_values", "check_labelled_inside", "check_nifti", "check_not_special", "check_not_swapped", "check_not_target",
    "check_picture_size", "check_pixel_sizes", "check_same_extent", "check_text_name", "check_window", "device_name",
    "check_files_exist", "edge_only_values_problem", "edge_tolerance", "existing_file", "file_exists", "finite_number", "folder_path", "gzip_length", "host_address", "implausible_span_problem", "is_nifti", "itk_warnings_off", "nifti_bytes", "nifti_files", "non_empty_path",
    "non_negative_integer", "non_negative_number", "not_a_folder", "picture_too_large", "port_number", "positive_at_most",
    "positive_integer", "positive_number", "reach_outside", "read_table", "same_bytes", "same_file", "server_url", "share_below_one",
    "spacing_field", "table_text", "tiny_image_problem", "unplaced_nifti", "waiting_seconds", "whole_number",
]
