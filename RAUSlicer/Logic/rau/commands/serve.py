"""``rau serve``: the engines behind HTTP for Slicer clients and scripts (see :mod:`rau.serve`)."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

from rau.commands.engine_options import engine_options
from rau.engines.checks import check_device_option, check_models
from rau.errors import InputError, OptionError
from rau.extras import require
from rau.io.outputs import check_folder_writable
from rau.options import EngineOptions
from rau.serve.temporary_folders import SERVER_WORK, remove_held_folder


def server_config(args: argparse.Namespace):
    """The :class:`rau.serve.app.ServerConfig` for the parsed arguments (checks them, the bind address and token;
    ``--work-dir`` is made by :func:`run` once the server holds its port)."""
    from rau.serve.app import ServerConfig
    from rau.serve.security import check_bind, read_token, readable_by_others

    token = read_token(args.token_file) if args.token_file else None
    if token and readable_by_others(args.token_file):
        print(f"warning: --token-file {args.token_file}: other users of this computer can read it; make it yours alone "
              "(chmod 600)", file=sys.stderr)
    check_bind(args.host, token)
    options = engine_options(args)
    check_device_option(options.device)  # at start-up: else every client call would fail
    check_given_models(options)
    folder = {"work_dir": checked_work_dir(args.work_dir)} if args.work_dir else {}  # else ServerConfig makes a temporary one
    return ServerConfig(
        **folder,
        token=token,
        engine=args.engine,
        engine_options=options,
        max_upload_bytes=int(args.max_upload_mb * 2**20),
        max_image_bytes=int(args.max_image_mb * 2**20),
        max_queued_jobs=args.max_queued_jobs,
        session_idle_seconds=args.session_idle_minutes * 60,
        max_sessions=args.max_sessions,
        max_session_bytes=int(args.max_session_gb * 2**30),
    )


def check_given_models(options) -> None:
    """The models the operator named (``--sam2-model``, ``--vlm-model`` and its family, ``--vlm-adapter``) are checked
    as ``rau segment`` checks them (:func:`check_models`): else the server started and every job of their engines
    failed. Models left to their defaults are looked for when a job needs them (a server may serve registration only).
    What loading ``--vlm-adapter`` warns of its base model (:func:`rau.vlm.local.warn_other_base`: trained on another
    model, or without ``rau_adapter.json`` to tell) is said here, once, to the operator: each job that loads the adapter
    reports it to its client only."""
    default = EngineOptions()
    if (options.sam2_model, options.sam2_revision) != (default.sam2_model, default.sam2_revision):
        check_models("sam2-memory", options)
    vlm = ("vlm_model", "vlm_adapter", "vlm_server", "vlm_family")
    if any(getattr(options, name) != getattr(default, name) for name in vlm):
        check_models("vlm-box", options)
        if options.vlm_adapter:  # on a local model: check_models refuses one with --vlm-server
            from rau.vlm.backend import vlm_source
            from rau.vlm.local import warn_other_base

            warn_other_base(options.vlm_adapter, vlm_source(options))


def checked_work_dir(path: str) -> Path:
    """``--work-dir``, not made yet (:func:`make_work_dir`); one this process could not make or write in is refused
    (every job would fail)."""
    folder = Path(path)
    try:
        check_folder_writable(folder)
    except InputError as error:
        raise OptionError(f"--work-dir {error}") from None
    return folder


PRIVATE_UMASK = 0o077
"""The server's umask while it serves: every folder and file it makes (under ``--work-dir``: the jobs' folders,
outputs and locks, uploads while they are read) is its user's alone, 0700 and 0600, as its default temporary work
folder is; they hold patients' images and results."""


def make_work_dir(folder: Path) -> None:
    """Create ``--work-dir`` when missing."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OptionError(f"--work-dir {folder}: cannot make it a folder ({error.strerror})") from error


def address_said(host: str, port: int) -> str:
    """The server's address as ``rau serve`` prints it, one a client can use: for ``--host`` 0.0.0.0 or ``::`` (every
    interface, no address a client can reach) this machine's name, saying any of its addresses works as well."""
    from rau.serve.security import is_wildcard

    if is_wildcard(host):
        name = socket.gethostname()
        return (f"http://{name}:{port} (the address for the Slicer module's Engine location; --host {host} listens on "
                f"every interface: any address of this machine works in place of {name})")
    host = f"[{host}]" if ":" in host else host  # an IPv6 address is bracketed in a URL
    return f"http://{host}:{port} (the address for the Slicer module's Engine location)"


def run(args: argparse.Namespace) -> int:
    from rau.serve.app import listening_socket, serve

    require("fastapi", "uvicorn")  # before the address is said: the server would not start
    config = server_config(args)
    umask = os.umask(PRIVATE_UMASK)
    try:
        with listening_socket(args.host, args.port) as sock:
            if args.work_dir:  # made only now: a start that fails (its port taken) leaves nothing behind
                make_work_dir(config.work_dir)
            print(f"rau serve: {address_said(args.host, args.port)}, work folder {config.work_dir}", flush=True)
            serve(config, sock)
    finally:
        os.umask(umask)
        if not args.work_dir:  # a temporary work folder holds the uploaded images: it goes with the server
            remove_held_folder(config.work_dir, config.work_dir_lock, SERVER_WORK)
    return 0
