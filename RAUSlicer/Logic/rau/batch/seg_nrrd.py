"""A done target's ``.seg.nrrd`` made from its saved outputs, read back as ``rau correct`` reads them (:mod:`rau.io.saved_results`): a finished
cohort resumed with ``--seg-nrrd`` gets its segmentations without running the engine again (its results kept)."""

from __future__ import annotations

from rau.batch.items import WorkItem
from rau.errors import InputError
from rau.io import read_image
from rau.io.run_outputs import add_seg_nrrd, file_digest
from rau.io.saved_results import read_saved, reopen
from rau.user_warnings import collected_warnings


def added_seg_nrrd(item: WorkItem) -> bool:
    """Write the ``.seg.nrrd`` of a target whose label map, label table and result JSON exist and are its run's (the
    label map's SHA-256 is the one its result JSON records), as that run would have written it; False, writing
    nothing, when the saved files cannot give it: the label map changed since, or it hides voxels of structures
    that overlap (the voxel counts the result JSON records), or the result JSON is not one ``rau correct`` reads."""
    paths = item.outputs
    try:
        saved, _ = read_saved(paths["result"])
        if saved.get("sha256", {}).get("label_map") != file_digest(paths["label_map"]):
            return False
        with collected_warnings():  # what reading back says of hidden structures: this target is redone instead
            result = reopen(saved, paths["result"], read_image(item.case.target_image, item.case.target_spacing))
    except InputError:
        return False
    counts = [int(structure.mask.sum()) if structure.found else 0 for structure in result.structures]
    if counts != [row.get("voxels") for row in saved["structures"]]:
        return False
    add_seg_nrrd(result.to_segmentation(), paths, saved)
    return True
