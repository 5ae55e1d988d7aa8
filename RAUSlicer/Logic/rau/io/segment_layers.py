"""Segments put into a Slicer segmentation's layers at the cost of each one's bounding box, not of the whole grid."""

from __future__ import annotations

import numpy as np

from rau.boxes import Box


def add_segment(segmentation: dict, mask: np.ndarray, segment: dict) -> dict:
    """Add ``segment`` (a dict with its ``id`` and ``name``) of the (i, j, k) ``mask`` to ``segmentation`` (slicerio's
    dict, e.g. from ``slicerio.create_segmentation``), following ``slicerio.add_segment``'s rule: the first layer where
    it overlaps no voxel and its label value (the layer's largest plus one) fits the voxel type, else a new layer with
    the value 1; its ``labelValue``, ``layer`` and ``extent`` set alike. Only the mask's bounding box is read and
    written (slicerio reads the whole grid per layer and segment: minutes for a hundred structures of a brain)."""
    mask = np.asarray(mask, dtype=bool)
    layers = segmentation["voxels"] if segmentation["voxels"].ndim == 4 else segmentation["voxels"][np.newaxis]
    box = Box.from_mask(mask.transpose(2, 1, 0))
    window = tuple(slice(low, high) for low, high in zip(box.lower, box.upper)) if box else (slice(0, 0),) * 3
    inside = np.ascontiguousarray(mask[window])  # in the layers' order: a transposed mask read voxel by voxel is slow
    segments = segmentation["segments"]
    for layer_index, layer in enumerate(layers):
        label_value = max((s.get("labelValue", 1) for s in segments if s.get("layer", 0) == layer_index), default=0) + 1
        if label_value <= np.iinfo(layers.dtype).max and not layer[window][inside].any():
            break
    else:  # a new layer
        layers = np.concatenate([layers, np.zeros((1, *layers.shape[1:]), layers.dtype)])
        layer_index, label_value = layers.shape[0] - 1, 1
    layers[layer_index][window][inside] = label_value
    segmentation["voxels"] = layers if layers.shape[0] > 1 else layers[0]
    extent = [index for low, high in zip(box.lower, box.upper) for index in (low, high - 1)] if box else [0, -1, 0, -1, 0, -1]
    added = {**segment, "labelValue": int(label_value), "layer": int(layer_index), "extent": extent}
    segments.append(added)
    return added
