"""``rau serve``'s command line: address, token, work folder and the server's limits (what it does: :mod:`rau.commands.serve`)."""

from __future__ import annotations

from rau.commands.engine_options import add_engine_arguments
from rau.errors import OptionError
from rau.serve.limits import MAX_IMAGE_BYTES, MAX_QUEUED_JOBS, MAX_SESSION_BYTES, MAX_SESSIONS, MAX_UPLOAD_BYTES, SESSION_IDLE_SECONDS
from rau.validation import argument, host_address, non_empty_path, port_number, positive_at_most, positive_integer


def size_in(unit_bytes: int, unit: str, most: str):
    """A check (``value``, ``option``) of a size in ``unit`` (``unit_bytes`` bytes each), which the server counts in whole
    bytes: above 0, at least one byte once counted (``--max-upload-mb 1e-9`` was a limit of 0 bytes, refusing every
    upload), at most 2**20 ``unit`` (``most``)."""
    within = positive_at_most(2**20, f"{unit} ({most})")

    def check(value, option: str) -> float:
        size = within(value, option)
        if int(size * unit_bytes) < 1:
            raise OptionError(f"{option} must be at least one byte ({1 / unit_bytes:.3g} {unit}), got {size:g}")
        return size
    return check


MEBIBYTES = size_in(2**20, "MiB", "a TiB")
GIBIBYTES = size_in(2**30, "GiB", "a PiB")
MINUTES = positive_at_most(525600, "minutes (a year)")
"""Checks of the sizes and times the server counts in bytes and seconds (a huge value overflowed at start-up)."""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("serve", help="serve the engines over HTTP (loopback unless a token is set)")
    parser.add_argument("--host", type=argument(host_address, "--host"), default="127.0.0.1", help="address to listen on (default 127.0.0.1; any other needs --token-file)")
    parser.add_argument("--port", type=argument(port_number, "--port"), default=8000, help="port (default 8000)")
    parser.add_argument("--token-file", type=argument(non_empty_path, "--token-file"), help="file holding the bearer token every request must carry")
    parser.add_argument("--work-dir", type=argument(non_empty_path, "--work-dir"), help="folder for uploads and outputs (default: a new temporary folder); nothing is written elsewhere")
    parser.add_argument("--max-upload-mb", type=argument(MEBIBYTES, "--max-upload-mb"), default=MAX_UPLOAD_BYTES / 2**20,
                        help="largest accepted request body (default %(default)g MiB)")
    parser.add_argument("--max-image-mb", type=argument(MEBIBYTES, "--max-image-mb"), default=MAX_IMAGE_BYTES / 2**20,
                        help="most memory one uploaded image's voxels may take once unpacked, a NIfTI's with its header before them "
                             "(default %(default)g MiB); reading one may take about twice this for a moment (the reader's copy and rau's)")
    parser.add_argument("--max-queued-jobs", type=argument(positive_integer, "--max-queued-jobs"), default=MAX_QUEUED_JOBS,
                        help="most jobs waiting to run, each holding its images in memory; beyond them a submission is "
                             "refused (503) before its upload is read (default %(default)d)")
    parser.add_argument("--session-idle-minutes", type=argument(MINUTES, "--session-idle-minutes"), default=SESSION_IDLE_SECONDS / 60,
                        help="close correction sessions idle this long (default %(default)g)")
    parser.add_argument("--max-sessions", type=argument(positive_integer, "--max-sessions"), default=MAX_SESSIONS,
                        help="most correction sessions kept (default %(default)d)")
    parser.add_argument("--max-session-gb", type=argument(GIBIBYTES, "--max-session-gb"), default=MAX_SESSION_BYTES / 2**30,
                        help="most memory sessions may hold, estimated (default %(default)g GiB)")
    add_engine_arguments(parser)  # --engine: the engine of jobs that name none
    parser.set_defaults(run="rau.commands.serve:run")
