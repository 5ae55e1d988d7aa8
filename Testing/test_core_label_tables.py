"""Label tables and segment metadata on real files: which sidecar a label map takes, label values and
terminology of .seg.nrrd files, and tables Slicer could not store refused when read."""

import os
import subprocess
import sys

import numpy as np
import pytest
import SimpleITK as sitk

from conftest import REPO
from rau.errors import InputError
from rau.image import Image
from rau.io import ImageReadError, read_image, read_segmentation, write_seg_nrrd
from rau.io.label_tables import read_label_table
from rau.labels import LabelSet, Segmentation, Structure


def _label_map(path):
    array = np.zeros((1, 8, 8), np.uint8)
    array[0, 1:3, 1:3], array[0, 5:7, 5:7] = 1, 2
    sitk.WriteImage(sitk.GetImageFromArray(array), str(path))


def test_a_label_map_takes_its_own_sidecar_before_the_shorter_stems_whatever_the_hash_seed(tmp_path):
    _label_map(tmp_path / "case.seg.nii.gz")
    (tmp_path / "case.seg.labels.csv").write_text("value,name\n1,liver\n2,spleen\n")
    (tmp_path / "case.labels.csv").write_text("value,name\n1,brain\n2,skull\n")  # another file's table
    read = "from rau.io import read_segmentation; import sys; print(read_segmentation(sys.argv[1]).labels.names)"
    for seed in ("1", "2"):  # before: a set of stems, so the table depended on the seed
        environment = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO / "RAUSlicer" / "Logic")}
        names = subprocess.run([sys.executable, "-c", read, str(tmp_path / "case.seg.nii.gz")], env=environment,
                               capture_output=True, text=True, check=True).stdout.strip()
        assert names == "['liver', 'spleen']", seed


def test_a_bids_metadata_json_beside_a_label_map_is_not_taken_for_its_label_table(tmp_path, capsys):
    """Before, ``sub-01_dseg.json`` ({"Description": ...}, as BIDS and dcm2niix write) stopped the run as an unreadable table."""
    _label_map(tmp_path / "sub-01_dseg.nii.gz")
    (tmp_path / "sub-01_dseg.json").write_text('{"Description": "manual segmentation", "Sources": ["bids:raw:sub-01_T1w.nii.gz"]}')
    assert read_segmentation(tmp_path / "sub-01_dseg.nii.gz").labels.names == ["label_1", "label_2"]
    assert "sub-01_dseg.json beside " in capsys.readouterr().err  # said, so a table written the wrong way round is noticed
    (tmp_path / "sub-01_dseg.json").write_text('{"1": "liver", "2": "spleen"}')  # a JSON label table is still one
    assert read_segmentation(tmp_path / "sub-01_dseg.nii.gz").labels.names == ["liver", "spleen"]


def test_an_atlas_table_longer_than_the_image_has_grey_values_is_no_swap(tmp_path):
    """The swap check counts the values the label map holds, not its table's entries: a phantom of 3 grey values
    labelled with 2 entries of a 20-entry atlas table was refused as "20 label values ... swapped?"."""
    from rau.references import load_reference

    _label_map(tmp_path / "case.nii.gz")
    (tmp_path / "case.labels.csv").write_text("value,name\n" + "".join(f"{v},organ {v}\n" for v in range(1, 21)))
    sitk.WriteImage(sitk.GetImageFromArray(np.arange(3, dtype=np.uint8).repeat(22)[:64].reshape(1, 8, 8)), str(tmp_path / "phantom.nii.gz"))
    assert load_reference(tmp_path / "phantom.nii.gz", tmp_path / "case.nii.gz").segmentation.masks["organ 2"].sum() == 4


def test_an_8_bit_brain_mr_with_the_aal_atlas_is_no_swap_and_swapped_it_is_refused(shared_data, tmp_path):
    """Colin27's 8-bit T1 with AAL's 116 regions, both sampled onto a 2 mm grid, was refused as "its 116 label values
    outnumber the 73 grey values of the image ...; are the image and its labels swapped?" (any 8-bit image with an
    atlas of more regions than grey values was). Now a swap is told by labels scattered as grey values are."""
    colin = shared_data / "colin27_mni_atlases"
    t1 = sitk.ReadImage(str(colin / "ch2better.nii.gz"))
    grid = sitk.Image([round(n * s / 2) for n, s in zip(t1.GetSize(), t1.GetSpacing())], sitk.sitkUInt8)
    grid.SetSpacing((2.0, 2.0, 2.0)), grid.SetOrigin(t1.GetOrigin()), grid.SetDirection(t1.GetDirection())
    image, labels = tmp_path / "colin_2mm.nii.gz", tmp_path / "aal_2mm.nii.gz"
    sitk.WriteImage(sitk.Resample(t1, grid, sitk.Transform(), sitk.sitkLinear, 0, sitk.sitkUInt8), str(image))
    aal = sitk.ReadImage(str(colin / "aal.nii.gz"))
    sitk.WriteImage(sitk.Resample(aal, grid, sitk.Transform(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8), str(labels))
    assert len(read_segmentation(labels, read_image(image), image_path=image).masks) == 116
    with pytest.raises(InputError, match=rf"{image}: its 72 label values lie scattered as grey values do \(only 9% of neighbouring "
                                         rf"voxels share a value, 81% in the image {labels}\); are the image and its labels swapped\?"):
        read_segmentation(image, read_image(labels), image_path=labels)


def test_a_label_value_its_table_does_not_name_is_reported(tmp_path, capsys):
    _label_map(tmp_path / "case.nii.gz")
    (tmp_path / "case.labels.csv").write_text("value,name\n1,liver\n")
    assert read_segmentation(tmp_path / "case.nii.gz").labels.names == ["liver", "label_2"]
    assert f"warning: {tmp_path / 'case.nii.gz'} has label value(s) 2 that its label table does not name; they are called 'label_2'" in capsys.readouterr().err
    (tmp_path / "case.labels.csv").write_text("value,name\n1,liver\n2,spleen\n")
    read_segmentation(tmp_path / "case.nii.gz")
    assert capsys.readouterr().err == ""


def test_a_json_table_must_map_values_to_names(tmp_path):
    table = tmp_path / "case.labels.json"
    table.write_text('{"1": {"name": "liver"}}')  # before: the name was the dict's repr
    with pytest.raises(InputError, match=f'{table}: .*maps each value to its name, e.g. {{"1": "liver"'):
        read_label_table(table)


def test_a_terminology_slicer_cannot_store_is_refused_naming_the_table(tmp_path):
    table = tmp_path / "colors.csv"
    table.write_text("LabelValue,Name,Color_R,Color_G,Color_B,Category_CodingScheme,Category_CodeValue,Category_CodeMeaning\n"
                     "1,liver,200,100,50,SCT,123037004,Anatomical Structure\n")  # a category but no type
    with pytest.raises(ValueError, match=f"{table}.*'liver': a terminology needs a category and a type"):
        read_label_table(table)  # before: accepted, and writing the .seg.nrrd ended in an internal error (exit 70)
    table.write_text("value,name,terminology\n"
                     '1,liver,"{""category"": [""SCT"", ""1"", ""Organ""], ""type"": [""SCT"", ""2"", ""Leber|links""]}"\n')
    with pytest.raises(ValueError, match=r"terminology type must be .* without ~, \^ or \|"):
        read_label_table(table)  # a tag separator: the .seg.nrrd written would not read back


def _two_squares(values=(1, 2), names=("liver", "spleen"), terminology=None) -> Segmentation:
    geometry = Image(np.zeros((1, 10, 10), np.uint8), ndim=2)
    first, second = np.zeros((1, 10, 10), bool), np.zeros((1, 10, 10), bool)
    first[0, 1:3, 1:3], second[0, 5:8, 5:8] = True, True
    structures = (Structure(names[0], values[0]), Structure(names[1], values[1], terminology=terminology))
    return Segmentation(geometry, LabelSet(structures), {names[0]: first, names[1]: second})


def test_a_seg_nrrd_keeps_utf8_terminology(tmp_path):
    liver = {"category": ["SCT", "123037004", "Anatomical Structure"], "type": ["SCT", "10200004", "Lébér"]}
    path = write_seg_nrrd(_two_squares(terminology=liver), tmp_path / "case.seg.nrrd")  # before: UnicodeEncodeError, exit 70
    assert read_segmentation(path).labels.get("spleen").terminology["type"] == ["SCT", "10200004", "Lébér"]


def test_a_seg_nrrd_keeps_a_utf8_name_beside_a_name_spelled_as_its_stand_in(tmp_path):
    lebér = {"category": ["SCT", "123037004", "Anatomical Structure"], "type": ["SCT", "10200004", "Lébér"]}
    names = ("Schädel", "rau-utf8-name-0")  # before: the second was written as the first, so the file read back refused
    path = write_seg_nrrd(_two_squares(names=names, terminology=lebér), tmp_path / "case.seg.nrrd")
    read = read_segmentation(path).labels
    assert read.names == list(names) and read.get(names[1]).terminology["type"] == lebér["type"]


def test_a_seg_nrrd_keeps_its_label_values_when_they_are_distinct(tmp_path):
    import slicerio

    voxels = np.zeros((10, 10, 1), np.uint8)  # i, j, k
    voxels[1:3, 1:3, 0], voxels[5:8, 5:8, 0] = 1, 5  # as Slicer keeps an imported label map's values
    data = slicerio.create_segmentation(voxels.shape, np.eye(4))
    data["voxels"] = voxels
    data["segments"] = [{"id": "Segment_1", "name": "liver", "labelValue": 1, "layer": 0, "color": [1.0, 0.0, 0.0]},
                        {"id": "Segment_5", "name": "spleen", "labelValue": 5, "layer": 0, "color": [0.0, 1.0, 0.0]}]
    slicerio.write_segmentation(str(tmp_path / "truth.seg.nrrd"), data)
    read = read_segmentation(tmp_path / "truth.seg.nrrd")
    assert [s.value for s in read.labels] == [1, 5]  # before: 1, 2 (segment order), so an unnamed label_5 matched nothing
    assert read.masks["spleen"].sum() == 9


def test_a_seg_nrrd_segment_without_a_colour_gets_its_value_s_default_colour(tmp_path):
    """Before, every such segment became pure red, so all looked alike."""
    import slicerio

    from rau.labels import default_color

    voxels = np.zeros((10, 10, 1), np.uint8)
    voxels[1:3, 1:3, 0], voxels[5:8, 5:8, 0] = 1, 5
    data = slicerio.create_segmentation(voxels.shape, np.eye(4))
    data["voxels"] = voxels
    data["segments"] = [{"id": "Segment_1", "name": "liver", "labelValue": 1, "layer": 0},
                        {"id": "Segment_5", "name": "spleen", "labelValue": 5, "layer": 0}]
    slicerio.write_segmentation(str(tmp_path / "plain.seg.nrrd"), data)
    assert [s.color for s in read_segmentation(tmp_path / "plain.seg.nrrd").labels] == [default_color(1), default_color(5)]


def test_a_seg_nrrd_naming_two_segments_alike_is_refused_naming_the_file(tmp_path):
    path = write_seg_nrrd(_two_squares(names=("liver", "kidney")), tmp_path / "truth.seg.nrrd")
    header = path.read_bytes().split(b"\n\n")[0]
    path.write_bytes(header.replace(b"Name:=kidney", b"Name:=liver") + path.read_bytes()[len(header):])
    with pytest.raises(ImageReadError, match=f"{path}: .*'liver'"):  # before: the message named no file
        read_segmentation(path)


def test_label_table_names_the_reference_bank_s_label_maps_too(tmp_path):
    import argparse

    from rau.commands.segment import load_references, with_bank

    for seed, name in enumerate(("a", "b")):  # two images: copies would vote twice
        sitk.WriteImage(sitk.GetImageFromArray(np.random.default_rng(seed).random((1, 8, 8)).astype(np.float32)), str(tmp_path / f"{name}.nii.gz"))
        _label_map(tmp_path / f"{name}_labels.nii.gz")
    (tmp_path / "names.json").write_text('{"1": "head", "2": "box"}')
    (tmp_path / "bank.csv").write_text("image,labels\nb.nii.gz,b_labels.nii.gz\n")
    args = argparse.Namespace(reference=[str(tmp_path / "a.nii.gz")], reference_labels=[str(tmp_path / "a_labels.nii.gz")],
                              reference_spacing=[], reference_bank=str(tmp_path / "bank.csv"), label_table=str(tmp_path / "names.json"),
                              structures=None)
    references = load_references(with_bank(args))
    assert [r.segmentation.labels.names for r in references] == [["head", "box"], ["head", "box"]]  # before: label_1, label_2 in the bank


def _nrrd_header(**fields):
    return {"space": "left-posterior-superior", "space origin": np.array([-20.0, -30.0, 10.0]), **fields}


def test_a_seg_nrrd_of_slicer_4_10_reads_each_segment_from_its_own_layer(tmp_path):
    """Before Slicer 4.11 a .seg.nrrd kept segment N alone in layer N and named no layers; before, every
    segment was read from the first layer (the spleen became a copy of the liver)."""
    nrrd = pytest.importorskip("nrrd")
    liver, spleen = np.zeros((8, 6, 4), np.uint8), np.zeros((8, 6, 4), np.uint8)
    liver[1:4, 1:4, 1:3], spleen[5:7, 2:5, 1:3] = 1, 1
    header = _nrrd_header(kinds=["list", "domain", "domain", "domain"], **{"space directions": np.array([[np.nan] * 3, [1.5, 0, 0], [0, 1.2, 0], [0, 0, 2.0]])})
    for n, name in enumerate(["liver", "spleen"]):
        header.update({f"Segment{n}_ID": f"Segment_{n + 1}", f"Segment{n}_Name": name, f"Segment{n}_Color": "0.8 0.2 0.1", f"Segment{n}_Extent": "0 7 0 5 0 3"})
    nrrd.write(str(tmp_path / "legacy.seg.nrrd"), np.stack([liver, spleen]), header)
    masks = read_segmentation(tmp_path / "legacy.seg.nrrd").masks
    assert masks["liver"].sum() == liver.sum() and masks["spleen"].sum() == spleen.sum() == 12


def test_a_label_map_saved_as_seg_nrrd_without_segments_gives_one_structure_per_value(tmp_path):
    """Before: "has no labelled voxels"; Slicer imports such a file with a segment per value."""
    nrrd = pytest.importorskip("nrrd")
    labels = np.zeros((8, 6, 4), np.uint8)
    labels[1:4, 1:4, 1:3], labels[5:7, 2:5, 1:3] = 1, 2
    nrrd.write(str(tmp_path / "bare.seg.nrrd"), labels, _nrrd_header(kinds=["domain"] * 3, **{"space directions": np.diag([1.5, 1.2, 2.0])}))
    segmentation = read_segmentation(tmp_path / "bare.seg.nrrd")
    assert segmentation.labels.names == ["label_1", "label_2"] and segmentation.masks["label_2"].sum() == 12
    assert segmentation.geometry.spacing == (1.5, 1.2, 2.0)


def test_an_itk_snap_label_description_gives_its_quoted_names_and_colours(tmp_path):
    """Before: read as a Slicer color table, the names were colour numbers ('255', '0')."""
    table = tmp_path / "snap.txt"
    table.write_text('# ITK-SnAP Label Description File\n'
                     '    0     0    0    0        0  0  0    "Clear Label"\n'
                     '    1   255    0    0        1  1  1    "liver"\n'
                     '    3     0    0  255        1  1  1    "left kidney"\n')
    labels = read_label_table(table)
    assert labels.names == ["liver", "left kidney"]
    assert labels.get("left kidney").value == 3 and labels.get("left kidney").color == (0.0, 0.0, 1.0)


def test_an_itk_snap_name_holding_double_quotes_is_read_whole(tmp_path):
    """ITK-SNAP writes a name's quotes as they are; before, a name holding quotes was cut to its last word ('b"'),
    silently. Now it is all between the name's opening quote and the line's last one, \\" read as "."""
    table = tmp_path / "snap.txt"
    table.write_text('    4   255  255    0        1  1  1    "a \\"q\\" b"\n'
                     '    5   255  255    0        1  1  1    "c "q" d"\n')
    labels = read_label_table(table)
    assert labels.names == ['a "q" b', 'c "q" d'] and labels.get('c "q" d').color == (1.0, 1.0, 0.0)


def test_an_mricron_table_named_after_the_whole_label_map_file_is_its_sidecar(tmp_path):
    """MRIcron names an atlas's table after the whole file (aal.nii.gz: aal.nii.txt); before, it was not found and
    the structures were label_N."""
    _label_map(tmp_path / "atlas.nii.gz")
    (tmp_path / "atlas.nii.txt").write_text("1 Precentral_L 1\n2 Precentral_R 2\n")
    assert read_segmentation(tmp_path / "atlas.nii.gz").labels.names == ["Precentral_L", "Precentral_R"]


def test_a_plain_text_table_keeps_names_of_several_words_and_slicer_lines_keep_theirs(tmp_path):
    """Before, ``255<TAB>fetal head`` named the structure 'fetal' (and two names sharing a first word were refused)."""
    _label_map(tmp_path / "atlas.nii.gz")
    (tmp_path / "atlas.txt").write_text("0\tBackground\n1\tfetal head\n2 fetal  abdomen\n")
    assert read_segmentation(tmp_path / "atlas.nii.gz").labels.names == ["fetal head", "fetal abdomen"]
    table = tmp_path / "mixed.txt"
    table.write_text("4 Left_Kidney 255 0 0 255\n5 right kidney 0 0 255 255\n6 vertebra L 1\n7 Liver 2\n8 Vermis 1 2\n9 Vermis 3\n")
    labels = read_label_table(table)  # before, 'Vermis 1 2' was 'Vermis' (two numbers are neither a colour nor an index)
    assert labels.names == ["Left Kidney", "right kidney", "vertebra L 1", "Liver", "Vermis 1 2", "Vermis"]
    assert labels.get("right kidney").color == (0.0, 0.0, 1.0) and labels.get("Left Kidney").color == (1.0, 0.0, 0.0)


def test_a_table_given_for_a_label_map_that_names_a_value_otherwise_than_its_own_sidecar_is_refused(tmp_path):
    """Before, a manifest's label_table silently replaced each label map's own table, references included, and
    scored 'head' against the marker."""
    _label_map(tmp_path / "ref.nii.gz")
    (tmp_path / "ref.labels.csv").write_text("value,name\n1,head\n2,marker\n")
    (tmp_path / "same.csv").write_text("value,name\n1,Head\n")
    # the values the given table does not name keep their sidecar's names (before: label_2; a table naming none of a
    # truth's values scored every structure a false positive)
    assert read_segmentation(tmp_path / "ref.nii.gz", label_table=tmp_path / "same.csv").labels.names == ["Head", "marker"]
    (tmp_path / "second.csv").write_text("value,name\n2,Marker\n")  # before: Marker, head (the sidecar's names last)
    assert read_segmentation(tmp_path / "ref.nii.gz", label_table=tmp_path / "second.csv").labels.names == ["head", "Marker"]
    (tmp_path / "other_values.csv").write_text("value,name\n101,head\n")
    with pytest.raises(InputError, match=r"ref.nii.gz: its own label table .*ref.labels.csv names value 1 'head', but the label "
                                         r"table given for it .* gives that name to value 101"):
        read_segmentation(tmp_path / "ref.nii.gz", label_table=tmp_path / "other_values.csv")
    (tmp_path / "swapped.csv").write_text("value,name\n1,marker\n2,head\n")
    with pytest.raises(InputError, match=r"ref.nii.gz: its own label table .*ref.labels.csv names value 1 'head', but the label "
                                         r"table given for it .* names it 'marker'"):
        read_segmentation(tmp_path / "ref.nii.gz", label_table=tmp_path / "swapped.csv")


def test_two_label_tables_beside_a_label_map_that_disagree_are_refused(tmp_path):
    """Before, the first found (``ref.labels.csv``) named the structures and a ``ref.txt`` that names them otherwise went unseen."""
    _label_map(tmp_path / "ref.nii.gz")
    (tmp_path / "ref.labels.csv").write_text("value,name\n1,head\n2,marker\n")
    (tmp_path / "ref.txt").write_text("1 Head\n")
    assert read_segmentation(tmp_path / "ref.nii.gz").labels.names == ["head", "marker"]
    (tmp_path / "ref.txt").write_text("1 marker\n2 head\n")
    with pytest.raises(InputError, match=r"ref.nii.gz: its own label table .*ref.txt names value 1 'marker', but .*ref.labels.csv "
                                         r"\(the one read\) names it 'head'; remove or correct one of them"):
        read_segmentation(tmp_path / "ref.nii.gz")


def test_a_label_maps_sidecars_give_the_names_and_colours_the_table_read_leaves_out(tmp_path):
    """Before: a second sidecar's name for a value the first leaves out was dropped (label_2, with a warning that the
    table names no such value), and a table of names without colours (JSON) replaced the sidecar's colours by defaults."""
    _label_map(tmp_path / "ref.nii.gz")
    (tmp_path / "ref.labels.csv").write_text("value,name,r,g,b\n1,head,0,0,1\n")
    (tmp_path / "ref.txt").write_text("1 head 0 255 0 255\n2 marker 255 0 0 255\n")
    labels = read_segmentation(tmp_path / "ref.nii.gz").labels
    assert [(s.name, s.color) for s in labels] == [("head", (0.0, 0.0, 1.0)), ("marker", (1.0, 0.0, 0.0))]  # the first sidecar's colour first
    (tmp_path / "names.json").write_text('{"1": "Head", "2": "Marker"}')
    labels = read_segmentation(tmp_path / "ref.nii.gz", label_table=tmp_path / "names.json").labels
    assert [(s.name, s.color) for s in labels] == [("Head", (0.0, 0.0, 1.0)), ("Marker", (1.0, 0.0, 0.0))]
    (tmp_path / "partly.csv").write_text("value,name,r,g,b\n1,Head,1,1,0\n2,Marker,,,\n")  # a colour given is kept
    labels = read_segmentation(tmp_path / "ref.nii.gz", label_table=tmp_path / "partly.csv").labels
    assert [(s.name, s.color) for s in labels] == [("Head", (1.0, 1.0, 0.0)), ("Marker", (1.0, 0.0, 0.0))]


def test_a_label_table_given_for_a_seg_nrrd_names_a_bare_one_and_is_refused_for_one_with_segments(tmp_path):
    """Before, --label-table was silently ignored for a .seg.nrrd: a label map saved under that name stayed label_1,
    label_2, and a segmentation kept its own names with no word about the table."""
    nrrd = pytest.importorskip("nrrd")
    labels = np.zeros((8, 6, 4), np.uint8)
    labels[1:4, 1:4, 1:3], labels[5:7, 2:5, 1:3] = 1, 2
    nrrd.write(str(tmp_path / "bare.seg.nrrd"), labels, _nrrd_header(kinds=["domain"] * 3, **{"space directions": np.diag([1.5, 1.2, 2.0])}))
    (tmp_path / "names.csv").write_text("value,name\n1,liver\n2,spleen\n")
    assert read_segmentation(tmp_path / "bare.seg.nrrd", label_table=tmp_path / "names.csv").labels.names == ["liver", "spleen"]
    (tmp_path / "bare.seg.labels.csv").write_text("value,name\n1,kidney\n2,spleen\n")
    assert read_segmentation(tmp_path / "bare.seg.nrrd").labels.names == ["kidney", "spleen"]  # its sidecar, as for a label map
    segmented = write_seg_nrrd(_two_squares(), tmp_path / "segmented.seg.nrrd")
    with pytest.raises(InputError, match=r"segmented.seg.nrrd: a Slicer segmentation carries its own segment names and colours, "
                                         r"so the label table .*names.csv would be ignored"):
        read_segmentation(segmented, label_table=tmp_path / "names.csv")


def test_a_label_table_names_a_pool_s_label_maps_and_a_seg_nrrd_among_them_keeps_its_own_names(shared_data, tmp_path, capsys):
    """Before: an unnamed label map pooled with a .seg.nrrd had no fix: refused without --label-table ("give every
    reference's label map a label table (a sidecar, or --label-table)") and with it ("a Slicer segmentation carries its own
    segment names and colours, so the label table names.csv would be ignored"). Where every reference is a .seg.nrrd,
    the table would name nothing and is still refused."""
    from rau.cli import main
    from rau.io import read_image

    folder = shared_data / "hc18_fetal_head_us"
    for number in ("000", "002"):
        picture = read_image(folder / f"images/{number}_HC.png")
        head = read_image(folder / f"masks/{number}_HC_mask.png").array > 0
        write_seg_nrrd(Segmentation(picture, LabelSet.from_values([1], {1: "head"}), {"head": head}), tmp_path / f"{number}.seg.nrrd")
    (tmp_path / "names.csv").write_text("value,name\n255,head\n")
    pool = ["--reference", str(folder / "images/002_HC.png"), "--reference-labels", str(tmp_path / "002.seg.nrrd"),
            "--label-table", str(tmp_path / "names.csv"), "--target", str(folder / "images/001_HC.png")]
    first = ["--reference", str(folder / "images/000_HC.png"), "--reference-labels"]
    assert main(["segment", *first, str(folder / "masks/000_HC_mask.png"), *pool, "--out", str(tmp_path / "out.nii.gz")]) == 0
    assert read_label_table(tmp_path / "out.labels.csv").names == ["head"]
    assert main(["segment", *first, str(tmp_path / "000.seg.nrrd"), *pool, "--out", str(tmp_path / "all.nii.gz")]) == 2
    assert "000.seg.nrrd: a Slicer segmentation carries its own segment names and colours, so the label table" in capsys.readouterr().err


def test_a_table_of_made_up_names_names_nothing(tmp_path):
    """rau writes label_2, label_5 for an unnamed reference's result; before, that table made the result 'named', and it
    was refused as a reference beside the unnamed original ('has no names ... but ... has')."""
    (tmp_path / "made_up.csv").write_text("value,name\n2,label_2\n5,label_5\n")
    (tmp_path / "named.csv").write_text("value,name\n2,label_2\n5,liver\n")
    assert not read_label_table(tmp_path / "made_up.csv").named
    assert read_label_table(tmp_path / "named.csv").named


def test_a_color_table_s_colours_are_whole_numbers_0_to_255_and_a_quoted_name_loses_its_quotes(tmp_path):
    """Before: decimal colours became part of the name ('liver 1.0 0.5 0.2 1'), 300 was refused with the advice to
    divide by 255 (the format's own scale), and '"liver"' kept its quotes."""
    table = tmp_path / "colours.ctbl"
    for line, problem in (("1 liver 1.0 0.5 0.2 1", "the colour 1.0 0.5 0.2 must be three whole numbers 0-255"),
                          ("1 liver 300 0 0 255", "the colour 300 0 0 must be three whole numbers 0-255"),
                          ("1 liver -5 0 0 255", "the colour -5 0 0 must be three whole numbers 0-255")):
        table.write_text(f"# colours\n{line}\n")
        with pytest.raises(InputError, match=f"colours.ctbl line 2: bad color table line '{line}': {problem}"):
            read_label_table(table)
    slicer_csv = tmp_path / "slicer.csv"
    slicer_csv.write_text("LabelValue,Name,Color_R,Color_G,Color_B,Color_A\n1,liver,300,0,0,255\n")
    with pytest.raises(InputError, match=r"slicer.csv line 2: bad label table row \(the colour 300 0 0 must be three whole numbers 0-255\)"):
        read_label_table(slicer_csv)
    table.write_text('1 "liver" 255 0 0 255\n2 "left lung" 0 0 255 255\n')
    labels = read_label_table(table)
    assert labels.names == ["liver", "left lung"] and labels.get("left lung").color == (0.0, 0.0, 1.0)
    snap = tmp_path / "snap.txt"  # names read as a CSV's: without their spaces, a blank one names nothing
    snap.write_text('1 255 0 0 1 1 1 "  liver  "\n2 0 255 0 1 1 1 "   "\n')
    assert read_label_table(snap).names == ["liver"]
    (tmp_path / "blank.json").write_text('{"1": "   ", "2": "spleen"}')
    assert read_label_table(tmp_path / "blank.json").names == ["spleen"]


def test_a_negative_label_value_in_a_table_is_refused_as_in_a_label_map(tmp_path, capsys):
    """Before: accepted; and a JSON sidecar with a negative key was skipped as 'no label table' even when given."""
    for name, text in (("t.csv line 2", "value,name\n-3,neg\n"), ("t.ctbl line 1", "-3 neg\n"), ("t.json", '{"-3": "neg"}')):
        (tmp_path / name.split()[0]).write_text(text)
        with pytest.raises(InputError, match=rf"{name}: label value -3 \('neg'\) is negative"):
            read_label_table(tmp_path / name.split()[0])
    _label_map(tmp_path / "case.nii.gz")
    (tmp_path / "case.json").write_text('{"-3": "neg", "1": "liver"}')  # a label table, not a metadata sidecar
    with pytest.raises(InputError, match="case.json: label value -3"):
        read_segmentation(tmp_path / "case.nii.gz")
    assert "ignored" not in capsys.readouterr().err


def test_a_seg_nrrd_segment_of_label_value_0_is_refused_and_names_lose_their_spaces(tmp_path):
    """Before: a segment stored with the value 0 took the whole background of its layer as its mask, and
    '  liver  ' kept its spaces (its .labels.csv and the Slicer bridge read 'liver')."""
    nrrd = pytest.importorskip("nrrd")
    layer = np.zeros((8, 6, 4), np.uint8)
    layer[1:4, 1:4, 1:3] = 1
    header = _nrrd_header(kinds=["domain"] * 3, **{"space directions": np.diag([1.5, 1.2, 2.0])})
    for n, (name, value) in enumerate((("  liver  ", 1), ("rest", 0))):
        header.update({f"Segment{n}_ID": f"Segment_{n + 1}", f"Segment{n}_Name": name, f"Segment{n}_LabelValue": str(value),
                       f"Segment{n}_Layer": "0", f"Segment{n}_Color": "0.8 0.2 0.1", f"Segment{n}_Extent": "0 7 0 5 0 3"})
    nrrd.write(str(tmp_path / "zero.seg.nrrd"), layer, header)
    with pytest.raises(ImageReadError, match=r"zero.seg.nrrd: segment 'rest' has the label value 0"):
        read_segmentation(tmp_path / "zero.seg.nrrd")
    for key in ("Segment1_ID", "Segment1_Name", "Segment1_LabelValue", "Segment1_Layer", "Segment1_Color", "Segment1_Extent"):
        del header[key]
    nrrd.write(str(tmp_path / "spaced.seg.nrrd"), layer, header)
    assert read_segmentation(tmp_path / "spaced.seg.nrrd").labels.names == ["liver"]
    header["Segment0_Name"] = "   "  # before: a structure named ''
    nrrd.write(str(tmp_path / "blank.seg.nrrd"), layer, header)
    with pytest.raises(ImageReadError, match=r"blank.seg.nrrd: segment 1 has no name"):
        read_segmentation(tmp_path / "blank.seg.nrrd")


def test_a_table_in_another_encoding_than_utf8_is_refused_saying_so(tmp_path):
    """Before: "not a readable label table (UnicodeDecodeError: 'utf-8' codec can't decode byte 0xea ...)"."""
    table = tmp_path / "names.csv"
    table.write_bytes("value,name\n1,tête\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"names.csv: label table is not UTF-8 text \(byte 0xea at position 14, .*\); save it as UTF-8$"):
        read_label_table(table)


def test_a_bids_segmentation_table_beside_its_label_map_names_and_colours_its_values(tmp_path):
    """BIDS names a label map's values in ``sub-01_dseg.tsv`` (index, name, abbreviation, color); it was read as a
    Slicer color table and refused at its header line."""
    _label_map(tmp_path / "sub-01_dseg.nii.gz")
    (tmp_path / "sub-01_dseg.tsv").write_text("index\tname\tabbreviation\tcolor\n0\tbackground\tBG\t#000000\n"
                                              "1\tLeft lung\tLL\t#FF8000\n2\tHeart\tH\tn/a\n")
    labels = read_segmentation(tmp_path / "sub-01_dseg.nii.gz").labels
    assert labels.names == ["Left lung", "Heart"]
    assert labels.structures[0].color == (1.0, 128 / 255, 0.0)
    assert labels.structures[1].color == LabelSet.from_values([2]).structures[0].color  # n/a: the value's default


def test_a_bids_table_with_a_bad_colour_or_a_tab_table_without_its_header_is_refused_naming_the_line(tmp_path):
    (tmp_path / "bad_colour.tsv").write_text("index\tname\tcolor\n1\tliver\tred\n")
    with pytest.raises(InputError, match=r"bad_colour.tsv line 2: bad BIDS segmentation table row \(the colour 'red' must be written #rrggbb\)"):
        read_label_table(tmp_path / "bad_colour.tsv")
    (tmp_path / "no_header.tsv").write_text("value\tlabel\n1\tliver\n")
    with pytest.raises(InputError, match="no_header.tsv line 1: .*or a BIDS table, tab-separated with a header line naming its index and name"):
        read_label_table(tmp_path / "no_header.tsv")


def test_a_tab_separated_file_beside_a_label_map_that_is_no_bids_table_is_not_taken_for_its_label_table(tmp_path, capsys):
    """A table of volumes (``case.tsv``) beside ``case.nii.gz`` stopped the label map from being read once BIDS tables
    were read as sidecars."""
    from rau.serve.client import sidecar_tables

    _label_map(tmp_path / "case.nii.gz")
    (tmp_path / "case.tsv").write_text("structure\tvolume_mm3\nliver\t1500\n")
    assert read_segmentation(tmp_path / "case.nii.gz").labels.names == ["label_1", "label_2"]
    assert "case.tsv beside " in capsys.readouterr().err and sidecar_tables(tmp_path / "case.nii.gz") == []
    (tmp_path / "case.labels.csv").write_text("value,name\n1,liver\n2,spleen\n")
    assert read_segmentation(tmp_path / "case.nii.gz").labels.names == ["liver", "spleen"]
    assert sidecar_tables(tmp_path / "case.nii.gz") == [tmp_path / "case.labels.csv"]
    (tmp_path / "case.labels.csv").unlink()
    (tmp_path / "case.tsv").write_text("1\tliver\n2\tspleen\n")  # a plain value-name table, as given with --label-table
    assert read_segmentation(tmp_path / "case.nii.gz").labels.names == ["liver", "spleen"]
    assert sidecar_tables(tmp_path / "case.nii.gz") == [tmp_path / "case.tsv"]
    (tmp_path / "case.tsv").write_bytes(b"index\tname\r1\tliver\r2\tspleen\r")  # a BIDS table with old Mac line ends
    assert read_segmentation(tmp_path / "case.nii.gz").labels.names == ["liver", "spleen"]


def test_a_table_row_with_part_of_a_colour_is_refused_saying_which_part_is_missing(tmp_path):
    """Before: "float() argument must be a string or a real number, not 'NoneType'"."""
    (tmp_path / "short.csv").write_text("value,name,r,g,b\n7,A,1,0\n")
    with pytest.raises(InputError, match=r"short.csv line 2: bad label table row \(a colour needs r, g, b, got 1, 0, nothing\)"):
        read_label_table(tmp_path / "short.csv")
    (tmp_path / "slicer.csv").write_text("LabelValue,Name,Color_R,Color_G,Color_B\n7,A,255,,0\n")
    with pytest.raises(InputError, match=r"a colour needs Color_R, Color_G, Color_B, got 255, nothing, 0"):
        read_label_table(tmp_path / "slicer.csv")


def test_a_picture_output_refused_for_its_values_names_the_largest_in_full():
    """Before: "these go up to 1.67772e+07"."""
    from rau.io.images import check_picture_values

    with pytest.raises(InputError, match=r"these go up to 16777215; write .nii.gz or .nrrd"):
        check_picture_values("out.png", 16777215)


def test_a_table_giving_a_value_the_name_made_up_for_another_is_refused_naming_the_label_map_and_both_values(tmp_path):
    """Before: "the structure name 'label_2' appears twice", naming no file and not saying where the second came from."""
    _label_map(tmp_path / "ref.nii.gz")
    (tmp_path / "names.csv").write_text("value,name\n1,label_2\n")
    with pytest.raises(InputError, match=r"ref.nii.gz: its label table names value 1 'label_2', the name made up for its unnamed value 2"):
        read_segmentation(tmp_path / "ref.nii.gz", label_table=tmp_path / "names.csv")


def test_a_color_table_line_of_numbers_only_is_refused_naming_the_line(tmp_path):
    """Before: '2 12 13 14' (three numbers, no name) raised StopIteration, an internal error naming no file."""
    table = tmp_path / "lab.txt"
    for line in ("2 12 13 14", "2"):
        table.write_text(f"1 liver 255 0 0 255\n{line}\n")
        with pytest.raises(InputError, match=f"lab.txt line 2: bad color table line '{line}': no name after the value"):
            read_label_table(table)


def test_a_slicer_color_table_s_names_with_double_quotes_read_as_slicer_reads_them(tmp_path):
    """Slicer writes the name 'a,b "q"' as a,b_"q" and reads it back whole; before, the quotes were dropped ('a,b q')
    and 'Child"s head' was refused (No closing quotation). A name quoted whole is still read without its quotes."""
    slicer = pytest.importorskip("slicer", reason="the slicer-core wheel is not installed")
    names = ["background", "left kidney", 'Child"s head', 'a,b "q"']
    written = slicer.vtkMRMLColorTableNode()
    written.SetTypeToUser()
    written.SetNumberOfColors(len(names))
    for value, name in enumerate(names):
        written.SetColor(value, name, 0.0, 0.0, 1.0, 1.0)
    storage = slicer.vtkMRMLColorTableStorageNode()
    storage.SetFileName(str(tmp_path / "quotes.ctbl"))
    assert storage.WriteData(written)
    read_back = slicer.vtkMRMLColorTableNode()
    assert storage.ReadData(read_back)
    assert [read_back.GetColorName(value) for value in range(1, 4)] == names[1:]
    assert read_label_table(tmp_path / "quotes.ctbl").names == names[1:]
    (tmp_path / "quoted.ctbl").write_text('1 "left lung" 0 0 255 255\n')
    assert read_label_table(tmp_path / "quoted.ctbl").names == ["left lung"]


def test_every_table_named_after_the_label_map_counts_and_two_that_disagree_are_refused(tmp_path):
    """Before: x.nii.txt (MRIcron's name for x.nii.gz's table) hid x.labels.csv, the name rau writes beside x.nii.gz:
    value 1 was 'liver' and value 2 'label_2', said to be a value 'its label table does not name'."""
    _label_map(tmp_path / "x.nii.gz")
    (tmp_path / "x.nii.txt").write_text("1 liver\n")
    (tmp_path / "x.labels.csv").write_text("value,name\n1,spleen\n2,kidney\n")
    with pytest.raises(InputError, match=r"x.nii.gz: its own label table \S+x.labels.csv names value 1 'spleen', but \S+x.nii.txt"):
        read_segmentation(tmp_path / "x.nii.gz")
    (tmp_path / "x.labels.csv").write_text("value,name\n1,liver\n2,kidney\n")
    assert read_segmentation(tmp_path / "x.nii.gz").labels.names == ["liver", "kidney"]


def test_a_value_or_a_name_given_twice_is_refused_naming_the_line_of_the_second(tmp_path):
    """Before: 'lab.labels.csv: structure names ... are one name' and 'label value 1 is named twice', naming no line."""
    for name, text, line, problem in (
            ("lab.labels.csv", "value,name\n1,liver\n\n2,Liver\n", 4, "structure names 'liver' and 'Liver' are one name to RAUSlicer"),
            ("lab.ctbl", "# a table\n1 liver 255 0 0 255\n1 spleen 0 255 0 255\n", 3, r"label value 1 is named twice \('liver' and 'spleen'\)"),
            ("lab.tsv", "index\tname\n0\tbackground\n1\tliver\n1\tspleen\n", 4, "label value 1 is named twice")):
        (tmp_path / name).write_text(text)
        with pytest.raises(InputError, match=f"{name} line {line}: {problem}"):
            read_label_table(tmp_path / name)
