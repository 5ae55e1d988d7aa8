"""``rau serve`` overhead and ``rau batch`` throughput, measured in one run on this machine (CPU).

Run: python benchmarks/bench_serve_batch.py --json benchmarks/results/serve_batch.json
(``--parts ct_target`` or ``--parts segment_512,batch``: only those parts, named as below and in the JSON).

* ``segment_512``: a 512 x 512 HC18 crop segmented by the registration engine (HC18 012 -> 058),
  in process (``engine.run``) and through ``rau serve`` (its own process) on loopback (upload, read, queue, run,
  write outputs, download label map + table, read them back: :class:`rau.serve.remote.RemoteEngine`).
  Median of ``--repeats``; overhead = (server - in process) / in process.
* ``reprompt_512``: a 2-point re-prompt on a 512 x 512 target with a tiny random SAM2 (so the model
  time is small and the HTTP part shows), in process (``session.reprompt``) and over loopback
  (``Client.reprompt`` + mask decode); beyond the model = round trip - the server's own timing of the
  correction (reported in each answer), medians over the same requests.
* ``batch``: ``rau batch`` over the first ``--targets`` HC18 targets (registration, default settings),
  1 and 2 embedded workers, and 2 Ray actors on a local Ray instance (started outside the timing); throughput and scaling.
* ``ct_target``: one 3D CT target in ``rau batch`` (the per-target cost behind the README's cohort sizing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Testing"))
warnings.filterwarnings("ignore", message="no GPU found")

from rau.engines import Request, create_engine  # noqa: E402
from rau.evaluation.manifest import read_manifest  # noqa: E402
from rau.engines.base import Prompt, Reference  # noqa: E402
from rau.image import Image  # noqa: E402
from rau.validation import argument, positive_integer  # noqa: E402
from rau.labels import Segmentation  # noqa: E402
from rau.references import load_reference  # noqa: E402
from rau.serve.client import Client  # noqa: E402
from rau.serve.remote import RemoteEngine  # noqa: E402
from rau.serve.wire import decode_mask, prompt_to_json  # noqa: E402
from serve_helpers import serve_process  # noqa: E402
from figures import json_file, write_json  # noqa: E402
from shared_data import PROTOCOLS, SHARED_DATA, protocol_files, protocol_on_shared_data, require_shared_data  # noqa: E402

HC18 = SHARED_DATA / "hc18_fetal_head_us"
MANIFEST = PROTOCOLS / "hc18_single.csv"
CT_MANIFEST = PROTOCOLS / "totalseg_ct.csv"
SEGMENT_FILES = [f"hc18_fetal_head_us/{folder}/{name}_HC{end}.png" for name in ("012", "058") for folder, end in (("images", ""), ("masks", "_mask"))]
"""The HC18 pair ``segment_512`` reads in the shared data folder."""


def crop_512(reference: Reference) -> Reference:
    """The central 512 x 512 pixels (image and labels)."""
    _, rows, cols = reference.image.shape
    r0, c0 = (rows - 512) // 2, (cols - 512) // 2
    window = (slice(None), slice(r0, r0 + 512), slice(c0, c0 + 512))
    image = Image(reference.image.array[window], reference.image.spacing, ndim=2)
    masks = {name: mask[window] for name, mask in reference.segmentation.masks.items()}
    return Reference(image, Segmentation(image.with_array(np.zeros(image.shape, np.uint8)), reference.segmentation.labels, masks), reference.name)


def median_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_segment(repeats: int, work: Path) -> dict:
    reference = crop_512(load_reference(HC18 / "images/012_HC.png", HC18 / "masks/012_HC_mask.png", 0.08346045))
    target = crop_512(load_reference(HC18 / "images/058_HC.png", HC18 / "masks/058_HC_mask.png", 0.077068008)).image
    request = Request([reference], target)
    options = {"deformable": False}
    engine = create_engine("registration", options)
    engine.run(request)  # warm-up, as the server's engine is warm
    local = median_seconds(lambda: engine.run(request), repeats)
    with serve_process(work / "segment") as url:
        remote = RemoteEngine(Client(url), "registration", options)
        remote.run(request)
        served = median_seconds(lambda: remote.run(request), repeats)
    return {"in_process_s": round(local, 4), "server_s": round(served, 4), "overhead_s": round(served - local, 4),
            "overhead_ratio": round((served - local) / local, 4), "shape": list(target.shape), "repeats": repeats}


def bench_reprompt(repeats: int, work: Path) -> dict:
    from tiny_sam2 import save_tiny_sam2

    from rau.io import write_image
    from rau.io.label_tables import write_label_table

    model = save_tiny_sam2(work / "tiny_sam2", "always")
    rng = np.random.default_rng(0)
    image = Image(rng.normal(size=(1, 512, 512)).astype(np.float32), ndim=2)
    labels = np.zeros(image.shape, np.uint8)
    labels[0, 100:300, 120:330] = 1
    write_image(image, work / "ref.nrrd")
    write_image(image.with_array(labels), work / "ref_labels.nrrd")
    from rau.labels import LabelSet, Structure

    write_label_table(LabelSet((Structure("head", 1),)), work / "ref_labels.labels.csv")
    write_image(image.with_array(rng.normal(size=image.shape).astype(np.float32)), work / "target.nrrd")
    prompt = Prompt(points=[(200.0, 150.0, 0.0), (400.0, 420.0, 0.0)], labels=[1, 0])
    options = {"sam2_model": str(model), "device": "cpu"}
    from rau.io import read_image

    local = create_engine("sam2-memory", options).run(Request([load_reference(work / "ref.nrrd", work / "ref_labels.nrrd")], read_image(work / "target.nrrd")))
    local.session.reprompt("head", prompt)
    in_process = median_seconds(lambda: local.session.reprompt("head", prompt), repeats)
    with serve_process(work / "reprompt", "--sam2-model", str(model), "--device", "cpu") as url:
        client = Client(url)
        job = client.submit(work / "target.nrrd", [(work / "ref.nrrd", work / "ref_labels.nrrd", None)], "sam2-memory",
                           label_table=work / "ref_labels.labels.csv")
        session = client.wait(job)["session"]
        payload = prompt_to_json(prompt, local.target)
        model_seconds = []

        def round_trip():
            answer = client.reprompt(session, "head", payload)
            decode_mask(answer["mask"], image.shape)
            model_seconds.append(answer["seconds"])

        round_trip()
        model_seconds.clear()
        served = median_seconds(round_trip, repeats)
    on_server = statistics.median(model_seconds)
    return {"in_process_s": round(in_process, 4), "round_trip_s": round(served, 4), "model_on_server_s": round(on_server, 4),
            "beyond_model_ms": round(1000 * (served - on_server), 1), "shape": list(image.shape), "repeats": repeats}


def manifest_targets(manifest: Path) -> int:
    """How many targets ``rau batch`` finds in ``manifest`` (rows sharing a target are one case)."""
    return len(read_manifest(manifest, truth=False))


def timed_batch(part: str, protocol: Path, arguments: list[str], out: Path) -> tuple[float, list[dict]]:
    """Seconds and summary rows of ``rau batch`` over the protocol manifest ``protocol`` (on the shared data) with
    ``arguments``, writing to ``out``; a run that fails exits naming the part, the run and its failed targets (no
    figures are written: a failed target would count as done)."""
    import csv

    from rau.batch.items import SUMMARY_NAME
    from rau.cli import main as rau_main
    from rau.errors import about

    started = time.perf_counter()
    code = rau_main(["batch", str(protocol_on_shared_data(protocol, out.parent)), "--out", str(out), *arguments])
    seconds = time.perf_counter() - started
    rows = []
    if (out / SUMMARY_NAME).is_file():
        with open(out / SUMMARY_NAME, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    if code:
        failed = [about(row["target_image"], row["error"]) for row in rows if row["status"] == "failed"]
        sys.exit(f"{Path(__file__).name}: error: part {part}: rau batch {' '.join(arguments)} over {protocol} exited {code}"
                 + (f"; failed: {'; '.join(failed)}" if failed else "") + "; no figures written")
    return seconds, rows


def bench_batch(targets: int, work: Path) -> dict:
    """``rau batch`` over the first ``targets`` of :data:`MANIFEST` (its files under the shared data folder)."""
    import ray

    figures = {"targets": targets, "engine": "registration (default settings)"}
    for label, extra in (("embedded_1_worker", ["--workers", "1"]), ("embedded_2_workers", ["--workers", "2"]), ("ray_2_actors", ["--ray", "auto"])):
        seconds, _ = timed_batch("batch", MANIFEST, ["--limit", str(targets), *extra], work / label)
        figures[label] = {"seconds": round(seconds, 2), "targets_per_minute": round(60 * targets / seconds, 2)}
        if label == "embedded_2_workers":
            ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)  # its own, whatever else runs here
    ray.shutdown()
    figures["scaling_2_vs_1"] = round(figures["embedded_1_worker"]["seconds"] / figures["embedded_2_workers"]["seconds"], 3)
    figures["ray_vs_embedded_2"] = round(figures["embedded_2_workers"]["seconds"] / figures["ray_2_actors"]["seconds"], 3)
    return figures


def bench_ct_target(work: Path) -> dict:
    """Per-target cost of a 3D CT in ``rau batch`` (TotalSegmentator CT A -> CT B, every reference structure, default
    settings, one worker): the worker's own seconds per target (read, register, warp, write) and the run's wall time."""
    wall, rows = timed_batch("ct_target", CT_MANIFEST, ["--workers", "1"], work / "ct")
    return {"per_target_s": float(rows[0]["seconds"]), "wall_s_with_worker_start": round(wall, 2)}


PARTS = {
    "segment_512": lambda args, work: bench_segment(args.repeats, work),
    "reprompt_512": lambda args, work: bench_reprompt(args.repeats, work),
    "batch": lambda args, work: bench_batch(args.targets, work),
    "ct_target": lambda args, work: bench_ct_target(work),
}
"""The parts, by the names the docstring and the JSON give them."""


def needed_files(parts: list[str]) -> list[str]:
    """The files ``parts`` read in the shared data folder (``batch`` and ``ct_target``: all their manifest names, as
    ``rau batch`` checks them all), for :func:`require_shared_data`."""
    files = {"segment_512": SEGMENT_FILES, "batch": protocol_files(MANIFEST), "ct_target": protocol_files(CT_MANIFEST)}
    return list(dict.fromkeys(name for part in parts for name in files.get(part, [])))


def part_names(text: str) -> list[str]:
    """``--parts``: comma-separated names from :data:`PARTS`; an unknown name (or none) is refused."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in PARTS]
    if unknown or not names:
        problem = f"unknown part {', '.join(map(repr, unknown))}" if unknown else "no part named"
        raise argparse.ArgumentTypeError(f"{problem}; the parts are {', '.join(PARTS)}")
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=json_file, help="write the figures here")
    parser.add_argument("--repeats", type=argument(positive_integer, "--repeats"), default=7)
    parser.add_argument("--targets", type=argument(positive_integer, "--targets"), default=8)
    parser.add_argument("--parts", type=part_names, default=list(PARTS), help=f"comma-separated subset to run (default: {','.join(PARTS)})")
    args = parser.parse_args()
    require_shared_data(parser, needed_files(args.parts))
    work = Path(tempfile.mkdtemp(prefix="rau-bench-serve-"))
    try:
        if "batch" in args.parts and args.targets > (available := manifest_targets(protocol_on_shared_data(MANIFEST, work))):  # rau batch --limit would run fewer
            parser.error(f"--targets {args.targets}: {MANIFEST} has {available} targets")
        figures = {"cpu_count": os.cpu_count(), **{name: run(args, work) for name, run in PARTS.items() if name in args.parts}}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        write_json(args.json, figures)


if __name__ == "__main__":
    main()
