"""The bundled demo: two real cases run end to end, scored, written and pictured.

* ``hc18_ultrasound``: fifteen HC18 fetal-head ultrasound references -> one target (2D), the best five fused.
* ``abdominal_ct``: TotalSegmentator CT subject A -> subject B (3D, 27 shared structures).
* ``coronary_angiogram``: ARCADE X-ray angiogram 928 -> 204 (2D, four named LCA segments), with the
  ``vessels`` engine unless another is asked for (:data:`rau.demo_cases.CASE_ENGINES`).

The data live in ``rau/sample_data`` (licences in its README), so the demo needs no download.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from rau.demo_cases import DEMO_CASES, SAMPLE_DATA
from rau.engines import Engine, Progress
from rau.evaluation.manifest import read_manifest
from rau.evaluation.runner import CaseScore, load_case, score_run
from rau.image import Image, orient_lps, orient_lps_mask
from rau.io import write_label_map
from rau.io.atomic import atomic_path
from rau.io.images import overlay_problem
from rau.labels import Segmentation
from rau.render import render_overlay, render_plain, tag_color
from rau.user_warnings import warn

PANEL_HEIGHT = 360
PANEL_TITLES = ("reference", "target", "prediction", "truth")
LEGEND_HEIGHT = 24


def run_case(name: str, engine: Engine, out_dir: Path, overwrite: bool, progress: Progress | None = None) -> CaseScore:
    """Run one demo case; write ``<out_dir>/<name>/prediction.nii.gz`` (+ label table) and ``overlay.png``
    (inside :func:`rau.io.atomic.output_set`: placed with the set's other files when it ends)."""
    case = read_manifest(SAMPLE_DATA / DEMO_CASES[name])[0]
    references, target, truth = load_case(case)
    score = score_run(engine, case, references, target, truth, progress)
    folder = out_dir / name
    prediction = score.result.to_segmentation()
    figure = overlay_figure(references[0].image, references[0].segmentation, target, prediction, truth)
    with atomic_path(folder / "overlay.png", overwrite) as temporary:  # the overlay is renamed into place only after the label map: all or none
        figure.save(temporary, format="PNG")
        write_label_map(prediction, folder / "prediction.nii.gz", overwrite=overwrite)
    if problem := overlay_problem(case.target_image, case.target_spacing, [folder / "prediction.nii.gz"]):
        warn(problem)
    return score


def overlay_figure(reference: Image, reference_labels: Segmentation, target: Image, prediction: Segmentation, truth: Segmentation) -> PILImage.Image:
    """Four panels, each titled: reference with its labels, target, target with prediction, target with truth,
    and a legend naming each tag number (in as many rows as it needs).

    Volumes show one axial slice, named in the titles: the reference's with the most labelled voxels, and in all three
    target panels the one where the truth has the most, so that prediction and truth compare on the same slice.
    Outlines share colors by structure.
    """
    names = prediction.labels.names
    truth_names = {n.lower(): n for n in truth.masks}
    empty = np.zeros(target.shape, bool)
    reference_outlines = _oriented(reference, [reference_labels.masks[n] for n in names if n in reference_labels.masks])
    truth_outlines = _oriented(target, [truth.masks.get(truth_names.get(n.lower(), ""), empty) for n in names])
    reference_lps, target_lps = orient_lps(reference), orient_lps(target)
    target_slice = _busiest_slice(target_lps, truth_outlines)
    shown = [(reference_lps, reference_outlines, _busiest_slice(reference_lps, reference_outlines)), (target_lps, None, target_slice),
             (target_lps, _oriented(target, [prediction.masks[n] for n in names]), target_slice), (target_lps, truth_outlines, target_slice)]
    titles = [_slice_title(title, image, k) for title, (image, _, k) in zip(PANEL_TITLES, shown)]
    return _figure([_panel(*view) for view in shown], titles, names)


def _figure(panels: list[PILImage.Image], titles: list[str], names: list[str]) -> PILImage.Image:
    """The panels side by side, 8 pixels apart, each with its title, above the legend of ``names``."""
    width = sum(p.width for p in panels) + 8 * (len(panels) - 1)
    rows = _legend_rows(names, width)
    canvas = PILImage.new("RGB", (width, PANEL_HEIGHT + LEGEND_HEIGHT * len(rows)))
    x = 0
    for panel, title in zip(panels, titles):
        canvas.paste(panel, (x, 0))
        _title(canvas, title, x)
        x += panel.width + 8
    _legend(canvas, rows)
    return canvas


def _slice_title(title: str, oriented: Image, k: int) -> str:
    """A panel's title; for a volume (LPS-oriented) with the axial slice ``k`` it shows, counted from the feet."""
    depth = oriented.shape[0]
    return title if depth == 1 else f"{title}, slice {k + 1} of {depth} from the feet"


def _title(canvas: PILImage.Image, title: str, x: int) -> None:
    """``title`` in white, outlined in black to stay legible on any image, at the top left of the panel at ``x``."""
    from PIL import ImageDraw

    ImageDraw.Draw(canvas).text((x + 4, 2), title, fill=(255, 255, 255), font=_font(), stroke_width=2, stroke_fill=(0, 0, 0))


def _font():
    """The figure's font: Pillow's own, 14 px."""
    from PIL import ImageFont

    return ImageFont.load_default(size=14)


def _legend_rows(names: list[str], width: int) -> list[list[tuple[int, int, str]]]:
    """The legend's entries (x, tag, "tag: name"), every tag's, in rows that fit ``width`` pixels."""
    font = _font()
    rows, x = [[]], 4
    for tag, name in enumerate(names, start=1):
        text = f"{tag}: {name}"
        if rows[-1] and x + font.getlength(text) > width:
            rows, x = [*rows, []], 4
        rows[-1].append((x, tag, text))
        x += int(font.getlength(text)) + 16
    return rows


def _legend(canvas: PILImage.Image, rows: list[list[tuple[int, int, str]]]) -> None:
    """The legend's rows (:func:`_legend_rows`), each entry in its tag's colour, along the bottom of ``canvas``."""
    from PIL import ImageDraw

    draw, font = ImageDraw.Draw(canvas), _font()
    for row, entries in enumerate(rows):
        for x, tag, text in entries:
            draw.text((x, PANEL_HEIGHT + 4 + LEGEND_HEIGHT * row), text, fill=tag_color(tag), font=font)


def _oriented(image: Image, masks: list[np.ndarray]) -> list[np.ndarray]:
    """``masks`` on ``image``'s grid reordered as :func:`rau.image.orient_lps` reorders the image."""
    return [orient_lps_mask(image, m) for m in masks]


def _busiest_slice(oriented: Image, outlines: list[np.ndarray]) -> int:
    """The axial slice of ``oriented`` (an LPS-oriented image) where ``outlines`` hold the most voxels; the middle one
    if they hold none."""
    depth = oriented.shape[0]
    counts = sum((m.sum(axis=(1, 2)) for m in outlines), np.zeros(depth))
    return int(np.argmax(counts)) if counts.any() else depth // 2


def _panel(oriented: Image, outlines: list[np.ndarray] | None, k: int) -> PILImage.Image:
    """Axial slice ``k`` of ``oriented`` (an LPS-oriented image), with the masks ``outlines`` (oriented alike) when given."""
    rows, cols = oriented.shape[1:]
    aspect = (cols * oriented.spacing[0]) / (rows * oriented.spacing[1])
    size = (max(int(PANEL_HEIGHT * aspect), 1), PANEL_HEIGHT)
    if outlines is None:
        return render_plain(oriented.array[k], size)
    return render_overlay(oriented.array[k], [m[k] for m in outlines], size)
