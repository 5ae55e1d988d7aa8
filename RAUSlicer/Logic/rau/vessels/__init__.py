"""Vessel trees in 2D angiograms: vesselness, skeleton pieces, the reference's segment tree, tree alignment,
segment naming, corrections.

Weight-free building blocks of the ``vessels`` engine (:mod:`rau.engines.vessels`). Every function
works on one 2D slice (``array[0]`` of a 1-slice :class:`~rau.image.Image`), rows x columns.
"""
