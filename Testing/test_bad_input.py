"""The bad-input table: every hostile or mistaken input to ``rau segment``, ``rau evaluate``,
``rau demo`` (and the path options and model folders of the other commands) ends with exit status 2 and a message naming the culprit, before any computation,
leaving no output or temporary file behind and every input byte-for-byte unchanged."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from bad_input_cases import HC18_SPACING, SHRINK, inputs, template  # noqa: F401  (fixtures)

from rau.cli import main

REF_SPACING = str(HC18_SPACING["001"] * SHRINK)
TGT_SPACING = str(HC18_SPACING["002"] * SHRINK)


def segment(*extra, ref="ref.png", labels="ref_mask.png", target="tgt.png", out="out/result.nii.gz", spacing=True):
    """``rau segment`` on the tiny pictures; paths are relative to the inputs folder."""
    args = ["segment", "--reference", ref, "--reference-labels", labels, "--target", target, "--out", out]
    if spacing:
        args += ["--reference-spacing", REF_SPACING, "--target-spacing", TGT_SPACING]
    return [*args, *extra]


def segment_3d(*extra, ref="ct.nrrd", labels="ct_labels.nii.gz", target="ct.nii.gz", out="out/result.nii.gz"):
    """``rau segment`` on the CT crop, its NRRD copy as the reference (a target cannot be its own reference)."""
    return segment(*extra, ref=ref, labels=labels, target=target, out=out, spacing=False)


def evaluate(*extra, manifest="m.csv"):
    return ["evaluate", manifest, *extra]


def demo(*extra):
    return ["demo", "--out", "demo", "--cases", "hc18_ultrasound", *extra]


CASES = {
    # --- segment: files --------------------------------------------------------------------
    "target missing": (segment(target="gone.png"), "gone.png: no such file"),
    "reference missing": (segment(ref="gone.png"), "gone.png: no such file"),
    "label table a device": (segment("--label-table", "/dev/zero"), "/dev/zero: not a regular file (a socket or device)"),  # before: read until memory ran out
    "target name too long": (segment(target="t" * 300 + ".png"), f"{'t' * 300}.png: file name too long"),  # before: internal error (OSError)
    "target name not text": (segment(target="t\udce9.png"), "t\\xe9.png: this name is not UTF-8 text"),  # before: a traceback once the work was done
    "reference labels missing": (segment(labels="gone_mask.png"), "gone_mask.png: no such file"),
    "target not an image": (segment(target="notes.nii.gz"), "notes.nii.gz: not a readable image"),
    "truncated nii.gz target": (segment_3d(target="truncated.nii.gz"), "truncated.nii.gz: file is truncated"),
    "truncated nii target": (segment_3d(target="truncated.nii"), "truncated.nii: file is truncated"),
    "truncated nii.gz reference": (segment_3d(ref="truncated.nii.gz"), "truncated.nii.gz: file is truncated"),
    "truncated nii.gz labels": (segment_3d(labels="truncated.nii.gz"), "truncated.nii.gz: file is truncated"),
    "truncated NRRD": (segment_3d(target="cut_ct.nrrd"), "cut_ct.nrrd: not a readable image"),
    "truncated MetaImage": (segment_3d(ref="cut_ct.mha"), "cut_ct.mha: not a readable image"),
    "truncated PNG": (segment(target="cut_tgt.png"), "cut_tgt.png: not a readable image (image file is truncated)"),
    # before: "a picture without a pixel size, while ... has one" of a damaged picture, whose pixel size was not its problem
    "truncated PNG target without a pixel size": (segment("--reference-spacing", REF_SPACING, target="cut_tgt.png", spacing=False),
                                                  "cut_tgt.png: not a readable image (image file is truncated)"),
    "truncated PNG reference without a pixel size": (segment("--target-spacing", TGT_SPACING, ref="cut_tgt.png", spacing=False),
                                                     "cut_tgt.png: not a readable image (image file is truncated)"),
    "truncated PNG reference with a pixel size": (segment("--reference-spacing", REF_SPACING, ref="cut_tgt.png", spacing=False),
                                                  "cut_tgt.png: not a readable image (image file is truncated)"),
    "truncated seg.nrrd labels": (segment_3d(labels="cut_ct_labels.seg.nrrd"), "cut_ct_labels.seg.nrrd: not a readable Slicer segmentation"),
    "empty NIfTI file": (segment_3d(target="zero_bytes.nii.gz"), "zero_bytes.nii.gz: not a readable image"),
    "intensity image as labels": (segment_3d(labels="intensities.nii.gz"), "intensities.nii.gz: label map has more than 1000 different values"),
    "CT with negative HU as labels": (segment_3d(ref="ct.nrrd", labels="ct.nii.gz"), "ct.nii.gz: label map has negative values"),
    "NaN voxels in NIfTI": (segment_3d(target="nan.nii.gz"), "nan.nii.gz: image holds NaN or infinite voxels"),
    "Inf voxels in NIfTI": (segment_3d(ref="inf.nii"), "inf.nii: image holds NaN or infinite voxels"),
    "complex voxels": (segment_3d(target="complex.nii.gz"), "complex.nii.gz: complex voxels"),  # was an internal error
    "complex label map": (segment_3d(labels="complex.nii.gz"), "complex.nii.gz: complex voxels"),  # was read without the imaginary part
    "values beyond 32-bit floats": (segment_3d(target="huge_values.nii.gz"), "huge_values.nii.gz: voxel values up to 1e+300 do not fit"),  # was an internal error
    "NIfTI pixdim 0": (segment_3d(target="pixdim0.nii.gz"), "pixdim0.nii.gz: header gives pixel size"),
    "skewed direction matrix": (segment_3d(target="skewed.nrrd"), "skewed.nrrd: direction matrix"),
    "4D target": (segment_3d(target="four_d.nii.gz"), "four_d.nii.gz: only 2D and 3D images"),
    "decompression bomb PNG": (segment(target="bomb.png"), "bomb.png: picture claims 200,000,000 pixels, more than the limit of 100,000,000"),
    "label PNG of another pixel size": (segment(labels="half_mask.png"), "half_mask.png: labels cover"),
    "label PNG of another size, no pixel sizes": (segment(labels="half_mask.png", spacing=False), "px but the image ref.png covers"),  # was "mm"
    "negative label values": (segment_3d(labels="negative_labels.nii.gz"), "negative_labels.nii.gz: label map has negative values"),
    "fractional label values": (segment_3d(labels="fractional_labels.nii.gz"), "fractional_labels.nii.gz: label map has non-integer values"),
    "image as its own labels": (segment(labels="ref.png"), "ref.png: the labels are the image file itself"),
    "a copy of the image as its labels": (segment(labels="ref_copy.png"), "ref_copy.png: the labels are a copy of the image ref.png"),
    "label table as labels": (segment(labels="ref_mask.labels.csv"), "ref_mask.labels.csv: a label table, not labels"),  # was ITK's "Unable to determine ImageIO reader"
    "image and labels swapped": (segment(ref="ref_mask.png", labels="ref.png"),  # was 200 made-up structures, exit 0
                                 "ref.png: its 210 label values lie scattered as grey values do (only 12% of neighbouring voxels share a value, "
                                 "90% in the image ref_mask.png); are the image and its labels swapped?"),
    "3D labels on a 2D image": (segment(labels="ct_labels.nii.gz"), "ct_labels.nii.gz: labels are 3D"),
    "2D reference, 3D target": (segment("--reference-spacing", REF_SPACING, target="ct.nii.gz", spacing=False), "reference 'ref.png' is 2D but the target 'ct.nii.gz' is 3D"),
    "pixel size for a file with a header": (segment(target="ct.nii.gz"), "ct.nii.gz: a pixel size of 0.496261 mm was given, but its header says 3 x 3 x 3 mm"),
    "picture in pixels, 1-slice volume in mm": (segment(target="tgt_mm.nii.gz", spacing=False), "--reference ref.png: a picture without a pixel size (read as 1 mm pixels), while the header of --target tgt_mm.nii.gz gives"),
    "empty reference labels": (segment(labels="empty_mask.png"), "empty_mask.png: no labelled voxels, every value is 0 (the labels of 'ref.png')"),  # before: named the image only
    "unknown structure": (segment("--structures", "liver"), "unknown structure 'liver'"),
    "structures as a manifest lists them": (segment_3d("--structures", "label_1;label_2"),  # was the 23 names available only
                                            "looks like a manifest's list of names separated by ';': rau segment --structures takes "
                                            "them separated by spaces (--structures label_1 label_2)"),
    "bad label table": (segment("--label-table", "bad_table.csv", labels="tgt_mask.png"), "bad_table.csv line 2: bad label table row"),
    "line break in a name": (segment("--label-table", "line_break_name.csv", labels="tgt_mask.png"), "a name must not hold control characters"),  # broke the .seg.nrrd
    "label table colours in 0-255": (segment("--label-table", "colours_255.csv", labels="tgt_mask.png"), "colours_255.csv line 2: bad label table row (structure 'fetal head': color (230.0, 180.0, 50.0) must be three values in 0..1"),
    "JPEG label map": (segment(labels="ref_mask.jpg"), "ref_mask.jpg: a JPEG label map (JPEG-compressed, whatever its name); JPEG compression changes label values"),
    # --- segment: options -------------------------------------------------------------------
    "target spacing 0": (segment("--reference-spacing", REF_SPACING, "--target-spacing", "0", spacing=False), "argument --target-spacing: must be a positive number, got '0'"),
    "target spacing negative": (segment("--reference-spacing", REF_SPACING, "--target-spacing", "-1", spacing=False), "argument --target-spacing: must be a positive number"),
    "target spacing NaN": (segment("--reference-spacing", REF_SPACING, "--target-spacing", "nan", spacing=False), "argument --target-spacing: must be a positive number"),
    "target spacing words": (segment("--reference-spacing", REF_SPACING, "--target-spacing", "small", spacing=False), "argument --target-spacing: must be a number, got 'small'"),
    "target spacing huge": (segment("--reference-spacing", REF_SPACING, "--target-spacing", "1e308", spacing=False), "tgt.png: pixel size 1e+308 x 1e+308 mm is outside 1e-06..1e+06 mm"),
    "reference spacing 0": (segment("--reference-spacing", "0"), "argument --reference-spacing: must be a positive number"),
    "reference spacing count": (segment("--reference-spacing", "0.7"), "give one --reference-spacing per --reference"),
    "picture target without a pixel size": (segment("--reference-spacing", REF_SPACING, spacing=False), "--target tgt.png: a picture without a pixel size, while --reference ref.png has one"),
    "picture reference without a pixel size": (segment("--target-spacing", TGT_SPACING, spacing=False), "--reference ref.png: a picture without a pixel size, while --target tgt.png has one"),
    "labels without reference": (segment("--reference-labels", "tgt_mask.png"), "give one --reference-labels per --reference"),
    "top-k 0": (segment("--top-k", "0"), "option top_k (--top-k): must be at least 1, got 0"),
    "top-k negative": (segment("--top-k", "-3"), "option top_k (--top-k): must be at least 1, got -3"),
    "top-k fraction": (segment("--top-k", "1.5"), "argument --top-k: invalid int value: '1.5'"),
    "top-k past every count": (segment("--top-k", "9" * 20), f"--top-k must be at most 2147483647, got {'9' * 20}"),  # was run and recorded
    "slice margin past every count": (segment("--slice-margin", "2147483648"), "--slice-margin must be at most 2147483647, got 2147483648"),
    "window reversed": (segment("--window", "240", "-160"), "--window needs LOW < HIGH"),
    "window NaN": (segment("--window", "nan", "3"), "--window must be a finite number"),
    "device unknown": (segment("--device", "gpu0"), "--device must be auto, cpu, cuda, cuda:N or mps, got 'gpu0'"),
    "label table JSON broken": (segment("--label-table", "broken.json", labels="tgt_mask.png"), "broken.json: not a readable label table"),
    "label table JSON nested too deeply": (segment("--label-table", "deep.json", labels="tgt_mask.png"), "deep.json: not a readable label table (ValueError: nested too deeply to read"),  # was an internal error
    "vlm timeout 0": (segment("--vlm-timeout", "0"), "--vlm-timeout must be a positive number"),
    "vlm timeout past a day": (segment("--vlm-timeout", "1e10"), "--vlm-timeout must be at most 86400 seconds (a day), got 1e+10"),  # was an internal OverflowError in every case
    "unknown engine": (segment("--engine", "magic"), "--engine: invalid choice: 'magic'"),
    "unknown fusion": (segment("--fusion", "average"), "--fusion: invalid choice"),
    "SAM2 model folder missing, segment": (segment("--engine", "registration+sam2", "--sam2-model", "./gone_model"), "--sam2-model ./gone_model: model folder ./gone_model does not exist"),
    "SAM2 model folder as Windows writes it, missing": (segment("--engine", "registration+sam2", "--sam2-model", "D:/sam2"),
                                                         "--sam2-model D:/sam2: model folder D:/sam2 does not exist"),  # was looked up on the hub
    "SAM2 model folder with backslashes, missing": (segment("--engine", "registration+sam2", "--sam2-model", "models\\sam2"),
                                                    "--sam2-model models\\sam2: model folder models\\sam2 does not exist"),
    "SAM2 model folder without a model, segment": (segment("--engine", "sam2-memory", "--sam2-model", "series"), "--sam2-model series has no config.json"),
    "target empty": (segment(target=""), "argument --target: must not be empty, got ''"),
    "reference empty": (segment(ref=""), "argument --reference: must not be empty"),
    "label table empty": (segment("--label-table", ""), "argument --label-table: must not be empty"),
    "bank empty": (["segment", "--reference-bank", "", "--target", "tgt.png", "--out", "out/r.nii.gz"], "argument --reference-bank: must not be empty"),
    # --- segment: outputs -------------------------------------------------------------------
    "out without suffix": (segment(out="out/result"), "--out out/result: name it with one of"),
    "out empty": (segment(out=""), "argument --out: must not be empty, got ''"),
    "out the current folder": (segment(out="."), "--out .: name it with one of"),
    "out .txt": (segment(out="result.txt"), "--out result.txt: name it with one of"),
    "out only a suffix": (segment(out=".nii.gz"), "--out .nii.gz: name it with one of"),
    "out an existing folder": (segment("--overwrite", out="taken.nii.gz"), "taken.nii.gz is a folder"),
    "out under a file": (segment(out="ref.png/result.nii.gz"), "ref.png is a file"),
    "out exists": (segment(out="ref_copy.png", target="tgt.png"), "ref_copy.png exists"),
    "out is the target": (segment_3d("--overwrite", out="ct.nii.gz"), "would replace the input ct.nii.gz"),
    "out is the target, another spelling": (segment_3d("--overwrite", out="./out/../ct.nii.gz"), "would replace the input ct.nii.gz"),
    "out is a link to the target": (segment_3d("--overwrite", out="link.nii.gz"), "link.nii.gz: this output would replace the input ct.nii.gz"),
    "out is the reference labels": (segment("--overwrite", out="ref_mask.png"), "would replace the input ref_mask.png"),
    "out table on a labels sidecar": (segment("--overwrite", out="ref_mask.nii.gz"), "ref_mask.labels.csv: this output would replace the label table of the input ref_mask.png"),
    "out is the reference image": (segment("--overwrite", out="ref.png"), "would replace the input ref.png"),
    "out table on a whole-name labels sidecar": (segment_3d(out="ct_labels.nii.nii.gz"), "ct_labels.nii.labels.csv: this output would be ct_labels.nii.labels.csv, which a reader would take as a label table of the input ct_labels.nii.gz"),
    "out is the label table": (segment("--overwrite", "--label-table", "ref_mask.labels.csv", out="ref_mask.labels.nii.gz"), "which a reader would take as a label table of the input ref_mask.labels.csv"),
    "out table on a NIfTI labels sidecar": (segment_3d("--overwrite", "--seg-nrrd", labels="ct_labels.nii.gz", out="ct_labels.nrrd"), "ct_labels.labels.csv: this output would be the label table of the input ct_labels.nii.gz"),
    "out inside an input folder": (segment(target="series", out="series/result.nii.gz"), "lies inside the input folder"),
    "out .png for a 3D target": (segment_3d(out="out/result.png"), "--out out/result.png: a .png file holds a 2D picture, but the target is 3D; use .nii.gz"),
    "out is the reference bank": (["segment", "--reference-bank", "bank.csv", "--target", "tgt.png", "--target-spacing", TGT_SPACING, "--overwrite", "--out", "bank.nii.gz"], "bank.labels.csv: this output would be bank.labels.csv, which a reader would take as a label table of the input bank.csv"),
    # --- segment: reference banks -----------------------------------------------------------
    "reference spacing with a bank": (["segment", "--reference-bank", "bank.csv", "--reference-spacing", REF_SPACING, "--target", "tgt.png", "--target-spacing", TGT_SPACING, "--out", "out/r.nii.gz"],
                                      "got 1; a --reference-bank row gives its own in its pixel_spacing column"),
    "bank missing": (["segment", "--reference-bank", "gone.csv", "--target", "tgt.png", "--out", "out/r.nii.gz"], "reference bank gone.csv does not exist"),
    "bank short row": (["segment", "--reference-bank", "bank_short.csv", "--target", "tgt.png", "--out", "out/r.nii.gz"], "bank_short.csv line 2: row has fewer fields"),
    "bank row repeated": (["segment", "--reference-bank", "bank_repeated.csv", "--target", "tgt.png", "--target-spacing", TGT_SPACING, "--out", "out/r.nii.gz"], "bank_repeated.csv line 3: repeats the reference of bank_repeated.csv line 2; it would vote twice"),
    "reference flag repeated": (["segment", "--reference", "ref.png", "--reference-labels", "ref_mask.png", "--reference", "./ref.png", "--reference-labels", "ref_mask.png",
                                 "--reference-spacing", REF_SPACING, "--reference-spacing", REF_SPACING, "--target", "tgt.png", "--target-spacing", TGT_SPACING,
                                 "--out", "out/r.nii.gz"], "--reference ./ref.png: repeats the reference of --reference ref.png; it would vote twice"),
    "reference flag repeated as typed": (["segment", "--reference", "ref.png", "--reference-labels", "ref_mask.png", "--reference", "ref.png", "--reference-labels", "ref_mask.png",
                                          "--reference-spacing", REF_SPACING, "--reference-spacing", REF_SPACING, "--target", "tgt.png", "--target-spacing", TGT_SPACING,
                                          "--out", "out/r.nii.gz"], "--reference ref.png: is given twice; it would vote twice"),  # before: counted twice, exit 0
    "bank row a copy": (["segment", "--reference-bank", "bank_copied.csv", "--target", "tgt.png", "--target-spacing", TGT_SPACING, "--out", "out/r.nii.gz"],
                        "bank_copied.csv line 3: its image and labels are copies of those of bank_copied.csv line 2; it would vote twice"),
    "bank column misspelt": (["segment", "--reference-bank", "bank_typo.csv", "--target", "tgt.png", "--out", "out/r.nii.gz"], "bank_typo.csv: column 'pixel_spacng' is not one rau reads; did you mean 'pixel_spacing'?"),
    "bank column in capitals": (["segment", "--reference-bank", "bank_capitals.csv", "--target", "tgt.png", "--out", "out/r.nii.gz"], "bank_capitals.csv: column 'Image' is not one rau reads; did you mean 'image'?"),
    "bank spacing words": (["segment", "--reference-bank", "bank_words.csv", "--target", "tgt.png", "--out", "out/r.nii.gz"], "bank_words.csv line 2: pixel_spacing must be a number, got 'fine'"),
    "bank spacing negative": (["segment", "--reference-bank", "bank_negative.csv", "--target", "tgt.png", "--out", "out/r.nii.gz"], "bank_negative.csv line 2: pixel_spacing must be a positive number"),
    "bank lacks labels column": (["segment", "--reference-bank", "bank_no_labels.csv", "--target", "tgt.png", "--out", "out/r.nii.gz"], "bank_no_labels.csv: reference bank lacks column(s) labels"),
    "bank file missing": (["segment", "--reference-bank", "bank_missing.csv", "--target", "tgt.png", "--out", "out/r.nii.gz"], "bank_missing.csv line 2: labels"),
    # --- evaluate ---------------------------------------------------------------------------
    "json on the manifest": (evaluate("--json", "m.csv", "--overwrite"), "--json m.csv: name it with .json"),
    "json CSV on the manifest": (evaluate("--json", "m.json", "--overwrite"), "--json m.json (its rows go to m.csv): m.csv: this output would replace the input m.csv"),
    "json on a labels sidecar": (evaluate("--json", "ref_mask.json"), "which a reader would take as a label table of the input ref_mask.png"),
    "json is a folder": (evaluate("--json", "taken.json"), "taken.json is a folder"),
    "json exists": (evaluate("--json", "exists.json"), "exists.json exists"),
    "limit 0": (evaluate("--limit", "0"), "argument --limit: must be at least 1, got '0'"),
    "limit negative": (evaluate("--limit", "-1"), "argument --limit: must be at least 1, got '-1'"),
    "limit words": (evaluate("--limit", "all"), "argument --limit: must be a whole number"),
    "evaluate top-k 0": (evaluate("--top-k", "0"), "option top_k (--top-k): must be at least 1"),
    "json empty": (evaluate("--json", ""), "argument --json: must not be empty, got ''"),
    "manifest empty": (evaluate(manifest=""), "argument manifest: must not be empty"),
    "SAM2 model folder missing": (evaluate("--engine", "registration+sam2", "--sam2-model", "./gone_model"), "--sam2-model ./gone_model: model folder ./gone_model does not exist"),
    "SAM2 model folder without a model": (evaluate("--engine", "sam2-memory", "--sam2-model", "series"), "--sam2-model series has no config.json"),
    "manifest missing": (evaluate(manifest="gone.csv"), "manifest gone.csv does not exist"),
    "manifest is a folder": (evaluate(manifest="series"), "manifest series is a folder, not a CSV file"),
    "manifest is a picture": (evaluate(manifest="tgt.png"), "tgt.png: manifest is not"),
    "manifest lacks columns": (evaluate(manifest="no_column.csv"), "no_column.csv: manifest lacks column(s) reference_labels, target_labels"),
    "manifest begins with a comment": (evaluate(manifest="comment_first.csv"), "comment_first.csv: manifest lacks column(s) reference_image, "
                                       "reference_labels, target_image, target_labels; its first line names the columns, and reads '# HC18 pairs"),
    "manifest short row": (evaluate(manifest="short_row.csv"), "short_row.csv line 2: row has fewer fields"),
    "manifest long row": (evaluate(manifest="long_row.csv"), "long_row.csv line 2: more fields than the 6 columns"),
    "manifest with semicolons": (evaluate(manifest="semicolons.csv"), "semicolons.csv: manifest columns are separated by ';'"),
    "manifest picture without a pixel size": (evaluate(manifest="half_spacing.csv"), "half_spacing.csv line 2: target_image tgt.png: a picture without a pixel size, while reference_image ref.png has one"),
    "manifest spacing words": (evaluate(manifest="words_spacing.csv"), "words_spacing.csv line 2: target_spacing must be a number, got 'about 0.5'"),
    "manifest spacing 0": (evaluate(manifest="zero_spacing.csv"), "zero_spacing.csv line 2: reference_spacing must be a positive number"),
    "manifest empty field": (evaluate(manifest="empty_field.csv"), "empty_field.csv line 2: empty target_labels"),
    "manifest file missing": (evaluate(manifest="missing_file.csv"), "missing_file.csv line 2: target_image"),
    "manifest column misspelt": (evaluate(manifest="typo_column.csv"), "typo_column.csv: column 'structure' is not one rau reads; did you mean 'structures'?"),
    "manifest column twice": (evaluate(manifest="column_twice.csv"), "column_twice.csv: manifest names the column 'target_image' twice"),
    "manifest truth is the target image": (evaluate(manifest="truth_is_target.csv"), "truth_is_target.csv line 2: target_labels tgt.png: the labels are the image file itself"),
    "manifest reference labels are its image": (evaluate(manifest="truth_is_reference.csv"), "truth_is_reference.csv line 2: reference_labels ref.png: the labels are the image file itself"),
    # a manifest's repeated reference fails its case only: test_manifest_repeated_reference.py
    "manifest target with two spacings": (evaluate(manifest="two_spacings.csv"), "two_spacings.csv line 3: same target as line 2 but another target_spacing (0.5 against"),
    "manifest target with two structures": (evaluate(manifest="two_structures.csv"),  # before: (['label_255'] against None)
                                             "two_structures.csv line 3: same target as line 2 but another structures (label_255 against none); rows"),
    "manifest without rows": (evaluate(manifest="header_only.csv"), "header_only.csv: manifest lists nothing"),
    "manifest of zero bytes": (evaluate(manifest="zero_bytes.csv"), "zero_bytes.csv: manifest is empty; its first line names the columns"),
    "manifest with a spreadsheet's empty row": (evaluate(manifest="trailing_commas.csv"), "trailing_commas.csv line 4: empty target_labels"),
    "manifest not UTF-8": (evaluate(manifest="latin1.csv"), "latin1.csv: manifest is not UTF-8 text"),
    "vlm server URL": (evaluate("--vqa", "--vlm-server", "ftp://example"), "--vlm-server URL must start with http:// or https://"),
    # --- demo -------------------------------------------------------------------------------
    "demo model checked before the first case": (["demo", "--out", "demo", "--cases", "coronary_angiogram", "hc18_ultrasound", "--engine", "registration+sam2",
                                                  "--sam2-model", "./gone_model", "--overwrite"], "--sam2-model ./gone_model: model folder ./gone_model does not exist"),
    "demo out is a file": (["demo", "--out", "ref.png", "--cases", "hc18_ultrasound"], "ref.png is a file"),
    "demo output exists": (demo(), "overlay.png exists"),
    "demo top-k 0": (demo("--top-k", "0"), "option top_k (--top-k): must be at least 1"),
    "demo vlm timeout negative": (demo("--vlm-timeout", "-5"), "--vlm-timeout must be a positive number"),
    "demo unknown case": (["demo", "--cases", "brain"], "--cases: invalid choice: 'brain'"),
    "demo case named twice": (demo("hc18_ultrasound", "--overwrite"), "rau demo: error: --cases names hc18_ultrasound twice"),  # blamed prediction.nii.gz, a name not given
    "demo out empty": (["demo", "--out", "", "--cases", "hc18_ultrasound"], "argument --out: must not be empty"),
    # --- the other commands: empty paths, model folders ---------------------------------------
    "batch out empty": (["batch", "m.csv", "--out", ""], "argument --out: must not be empty"),
    "batch SAM2 model folder missing": (["batch", "m.csv", "--out", "out", "--workers", "1", "--engine", "registration+sam2", "--sam2-model", "./gone_model"], "--sam2-model ./gone_model: model folder ./gone_model does not exist"),
    "batch VLM folder missing": (["batch", "m.csv", "--out", "out", "--workers", "1", "--engine", "vlm-box", "--vlm-model", "./gone_model"], "model folder ./gone_model does not exist"),
    "correct out empty": (["correct", "out/r.result.json", "--structure", "fetal head", "--inside", "5,5", "--out", ""], "argument --out: must not be empty"),
    "train pairs out empty": (["train", "build-pairs", "--data", "series", "--out", ""], "argument --out: must not be empty"),
    "train adapter out empty": (["train", "sft", "--model", "series", "--data", "series", "--out", ""], "argument --out: must not be empty"),
    "models convert out empty": (["models", "convert", "model.pt", "--config", "medsam2", "--out", ""], "argument --out: must not be empty"),
    "serve work folder empty": (["serve", "--work-dir", "", "--port", "0"], "argument --work-dir: must not be empty"),
    # --- batch and serve: numbers -------------------------------------------------------------
    "batch limit 0": (["batch", "m.csv", "--out", "out", "--limit", "0"], "argument --limit: must be at least 1, got '0'"),
    "batch workers words": (["batch", "m.csv", "--out", "out", "--workers", "many"], "argument --workers: must be a whole number, got 'many'"),
    "batch cpus per worker 0": (["batch", "m.csv", "--out", "out", "--cpus-per-worker", "0"], "argument --cpus-per-worker: must be a positive number, got '0'"),
    "batch gpus per worker negative": (["batch", "m.csv", "--out", "out", "--gpus-per-worker", "-1"], "argument --gpus-per-worker: must be at least 0, got '-1'"),
    "batch gpus per worker infinite": (["batch", "m.csv", "--out", "out", "--gpus-per-worker", "inf"], "argument --gpus-per-worker: must be a finite number, got 'inf'"),
    "serve port 0": (["serve", "--port", "0"], "argument --port: must be from 1 to 65535, got '0'"),
    "serve port words": (["serve", "--port", "http"], "argument --port: must be a whole number, got 'http'"),
    "serve max sessions fraction": (["serve", "--max-sessions", "2.5"], "argument --max-sessions: must be a whole number, got '2.5'"),
    "serve upload limit negative": (["serve", "--max-upload-mb", "-1"], "argument --max-upload-mb: must be a positive number, got '-1'"),
    # --- manifests, references and the target, empty engine options, unrecognized arguments ------
    "manifest names an unknown structure": (evaluate(manifest="unknown_structure.csv"), "unknown_structure.csv line 2: unknown structure 'brain'; available: 'fetal head'"),
    "batch manifest names an unknown structure": (["batch", "unknown_structure.csv", "--out", "out", "--workers", "1"], "unknown_structure.csv line 2: unknown structure 'brain'"),
    "manifest target as its own reference": (evaluate(manifest="target_as_reference.csv"), "target_as_reference.csv line 3: reference_image ./tgt.png is the target tgt.png itself"),
    "batch target as its own reference": (["batch", "target_as_reference.csv", "--out", "out", "--workers", "1"], "target_as_reference.csv line 3: reference_image ./tgt.png is the target tgt.png itself"),
    "target as its own reference": (segment(ref="tgt.png", labels="tgt_mask.png"), "--reference tgt.png is the target tgt.png itself; a target cannot be its own reference"),
    "target as its own reference, through a link": (segment_3d(ref="link.nii.gz"), "--reference link.nii.gz is the target ct.nii.gz itself"),
    "bank holds the target": (["segment", "--reference-bank", "bank_with_target.csv", "--target", "tgt.png", "--target-spacing", TGT_SPACING, "--out", "out/r.nii.gz"],
                              "bank_with_target.csv line 3 (tgt.png) is the target tgt.png itself"),
    "bank row with empty labels": (["segment", "--reference-bank", "bank_empty_labels.csv", "--target", "tgt.png", "--target-spacing", TGT_SPACING, "--out", "out/r.nii.gz"],
                                   "bank_empty_labels.csv line 3: empty_mask.png: no labelled voxels"),  # before: the file alone, not the row
    "manifest reference a copy of the target": (evaluate(manifest="target_copy_as_reference.csv"),
                                                 "target_copy_as_reference.csv line 2: reference_image tgt_copy.png is a copy of the target tgt.png (the same bytes)"),  # before: Dice 1
    "bank labels are the image": (["segment", "--reference-bank", "bank_labels_are_image.csv", "--target", "tgt.png", "--target-spacing", TGT_SPACING, "--out", "out/r.nii.gz"],
                                  "bank_labels_are_image.csv line 3: labels ref_copy.png: the labels are the image file itself"),
    "bank row labels unreadable": (["segment", "--reference-bank", "bank_bad_labels.csv", "--target", "tgt.png", "--target-spacing", TGT_SPACING, "--out", "out/r.nii.gz"],
                                   "bank_bad_labels.csv line 2: notes.nii.gz: not a readable image"),  # before: the file alone, not the row
    "bank row without a pixel size": (["segment", "--reference-bank", "bank_one_unsized.csv", "--target", "tgt.png", "--target-spacing", TGT_SPACING, "--out", "out/r.nii.gz"],
                                      "bank_one_unsized.csv line 3 (ref_copy.png): a picture without a pixel size, while bank_one_unsized.csv line 2 (ref.png) has one"),
    "SAM2 model empty": (segment("--sam2-model", ""), "--sam2-model must not be empty, got ''"),
    "VLM adapter empty": (segment("--vlm-adapter", ""), "--vlm-adapter must not be empty, got ''"),
    "model cache empty": (segment("--model-cache", " "), "--model-cache must not be empty, got ' '"),
    "evaluate VLM model empty": (evaluate("--vlm-model", ""), "--vlm-model must not be empty"),
    "segment unrecognized argument": (segment("0.08"), "rau segment: error: unrecognized arguments: 0.08"),
    "evaluate unrecognized argument": (evaluate("--bogus"), "rau evaluate: error: unrecognized arguments: --bogus"),
    "correct unrecognized argument": (["correct", "out/r.result.json", "--structure", "fetal head", "--inside", "5,5", "--out", "out/c.nii.gz", "6,6"], "rau correct: error: unrecognized arguments: 6,6"),
    "models without its step": (["models"], "rau models: error: the following arguments are required: list|convert"),
    "train batch size 0": (["train", "sft", "--model", "series", "--data", "series", "--out", "o", "--batch-size", "0"], "argument --batch-size: must be at least 1, got '0'"),
    "train batch size huge": (["train", "sft", "--model", "series", "--data", "series", "--out", "o", "--batch-size", "9" * 20],  # before: internal error (islice)
                              f"argument --batch-size: must be at most 2147483647, got '{'9' * 20}'"),
    "train grad accumulation 0": (["train", "sft", "--model", "series", "--data", "series", "--out", "o", "--grad-accum", "0"], "argument --grad-accum: must be at least 1"),
    "train LoRA rank 0": (["train", "sft", "--model", "series", "--data", "series", "--out", "o", "--lora-r", "0"], "argument --lora-r: must be at least 1"),
    "train epochs 0": (["train", "sft", "--model", "series", "--data", "series", "--out", "o", "--epochs", "0"], "argument --epochs: must be a positive number"),
    "train dropout 1": (["train", "sft", "--model", "series", "--data", "series", "--out", "o", "--lora-dropout", "1"], "argument --lora-dropout: must be below 1"),
    "train device unknown": (["train", "sft", "--model", "series", "--data", "series", "--out", "o", "--device", "bogus"], "argument --device: must be auto, cpu, cuda, cuda:N or mps"),
    "train learning rate -1": (["train", "sft", "--model", "series", "--data", "series", "--out", "o", "--learning-rate", "-1"], "argument --learning-rate: must be a positive number"),
    "grpo reward weight nan": (["train", "grpo", "--model", "series", "--data", "series", "--out", "o", "--reward-weight", "format=nan"], "--reward-weight wants NAME=NUMBER, got 'format=nan'"),
    "grpo reward weight negative": (["train", "grpo", "--model", "series", "--data", "series", "--out", "o", "--reward-weight", "format=-1"],
                                    "--reward-weight format=-1: a weight is 0 (the reward left out) or more"),  # before: trained away from it
    "grpo unknown reward": (["train", "grpo", "--model", "series", "--data", "series", "--out", "o", "--reward-weight", "formt=-1"],
                            "--reward-weight: unknown reward(s) 'formt'; choose from format, correctness, box_iou"),  # before: said only once the model was read
    "grpo every reward weight 0": (["train", "grpo", "--model", "series", "--data", "series", "--out", "o", "--reward-weight", "format=0",
                                    "--reward-weight", "correctness=0", "--reward-weight", "box_iou=0"],
                                   "every reward weighs 0, so training would have nothing to learn from"),  # before: trained on nothing
    "grpo one generation": (["train", "grpo", "--model", "series", "--data", "series", "--out", "o", "--num-generations", "1"], "argument --num-generations: must be at least 2"),
    "train without its step": (["train"], "rau train: error: the following arguments are required: STEP"),
    "train step unrecognized argument": (["train", "sft", "--model", "series", "--data", "series", "--out", "o", "more"], "rau train sft: error: unrecognized arguments: more"),
    "train step names itself": (["train", "build-pairs", "--data", "gone", "--out", "pairs"], "rau train build-pairs: error: gone: no such dataset folder or manifest"),
    "build-pairs references 0": (["train", "build-pairs", "--data", "m.csv", "--out", "pairs", "--references-per-target", "0"],
                                 "argument --references-per-target: must be at least 1, got '0'"),  # named a Python field
    "build-pairs unknown family": (["train", "build-pairs", "--data", "m.csv", "--out", "pairs", "--family", "qwen25"],
                                   "--family 'qwen25': unknown vision-language model family"),  # advised --vlm-family, not its option
}


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` (folders too) with the hash of its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
        for path in sorted(folder.rglob("*"))
    }


def run_cli(argv, folder: Path, monkeypatch, capsys) -> tuple[int, str]:
    """Run ``rau`` in ``folder``; return its exit status and stderr (argparse exits included)."""
    monkeypatch.chdir(folder)
    try:
        status = main(argv)
    except SystemExit as stop:
        status = stop.code
    return status, capsys.readouterr().err


@pytest.mark.parametrize("argv, message", CASES.values(), ids=CASES.keys())
def test_bad_input_is_refused_before_any_work(inputs, monkeypatch, capsys, argv, message):
    (inputs / "exists.json").write_text("{}")
    (inputs / "taken.json").mkdir()
    if argv[0] == "demo" and "--top-k" not in argv and "--vlm-timeout" not in argv:
        (inputs / "demo/hc18_ultrasound").mkdir(parents=True)
        (inputs / "demo/hc18_ultrasound/overlay.png").write_bytes(b"earlier")
    before = snapshot(inputs)
    status, error = run_cli(argv, inputs, monkeypatch, capsys)
    assert status == 2, error
    assert message in error
    assert "Traceback" not in error
    assert snapshot(inputs) == before


@pytest.mark.parametrize("argv, usage", [
    (segment("--top-k", "0"), False), (segment("--engine", "nope"), False), (evaluate("--limit", "0"), False),
    (segment("0.08"), True), (["segment", "--target", "tgt.png"], True),
])
def test_a_bad_option_value_is_one_line_and_a_command_line_of_the_wrong_shape_shows_the_usage(inputs, monkeypatch, capsys, argv, usage):
    """Before, argparse printed the command's usage (about 13 lines) before a bad option value's message too."""
    status, error = run_cli(argv, inputs, monkeypatch, capsys)
    lines = error.splitlines()
    assert status == 2 and lines[-1].startswith(f"rau {argv[0]}: error: ")
    assert error.startswith(f"usage: rau {argv[0]} ") == usage and (len(lines) > 1) == usage, error


def test_a_pipe_given_as_an_input_is_refused_at_once(inputs):
    """Before: reading the pipe waited for ever (rau segment, rau batch's worker)."""
    import os
    import subprocess
    import sys

    os.mkfifo(inputs / "pipe.png")
    done = subprocess.run([sys.executable, "-m", "rau.cli", *segment(target="pipe.png")], cwd=inputs, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "pipe.png: not a regular file (a pipe, socket or device)" in done.stderr


def test_a_path_the_system_refuses_is_bad_input_naming_it_in_cohort_rows_too():
    from rau.errors import failure_reason

    assert failure_reason(PermissionError(13, "Permission denied", "/data/locked/t.png")) == "/data/locked/t.png: permission denied"
    assert failure_reason(PermissionError(13, "Permission denied")).startswith("internal error")  # no path: a bug to report


def test_the_table_is_large_enough():
    assert len(CASES) >= 60


def test_an_output_folder_without_write_permission_is_refused(inputs, monkeypatch, capsys):
    """A folder root may not write in either (:func:`unwritable_folders.unwritable`)."""
    from unwritable_folders import unwritable

    (inputs / "locked").mkdir()
    before = snapshot(inputs)
    with unwritable(inputs / "locked"):
        status, error = run_cli(segment(out="locked/sub/result.nii.gz"), inputs, monkeypatch, capsys)
    assert status == 2 and "locked/sub/result.nii.gz: no permission to write in" in error
    assert snapshot(inputs) == before


def test_a_table_with_empty_trailing_header_cells_is_read(tmp_path):
    """Spreadsheets export 'image,labels,,': empty cells are no repeated column."""
    from rau.validation import read_table

    (tmp_path / "bank.csv").write_text("image,labels,,\nref.png,ref_mask.png,,\n")
    assert read_table(tmp_path / "bank.csv", ("image", "labels"), "reference bank")[0][1]["image"] == "ref.png"


def test_an_output_path_through_a_loop_of_links_is_refused(inputs, monkeypatch, capsys):
    (inputs / "loop").symlink_to("loop")
    status, error = run_cli(segment(out="loop/result.nii.gz"), inputs, monkeypatch, capsys)
    assert status == 2 and "loop/result.nii.gz" in error and "loop of links" in error, error  # before: internal error, exit 70
