"""``rau serve``: the engines behind HTTP for Slicer clients and scripts (see :mod:`rau.serve`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rau.commands.engine_options import add_engine_arguments, engine_options
from rau.errors import OptionError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("serve", help="serve the engines over HTTP (loopback unless a token is set)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; any other needs --token-file)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--token-file", help="file holding the bearer token every request must carry")
    parser.add_argument("--work-dir", help="folder for uploads and outputs (default: a new temporary folder); nothing is written elsewhere")
    parser.add_argument("--max-upload-mb", type=float, default=2048, help="largest accepted request body (default 2048 MiB)")
    parser.add_argument("--session-idle-minutes", type=float, default=30, help="close correction sessions idle this long (default 30)")
    parser.add_argument("--max-sessions", type=int, default=16, help="most correction sessions kept (default 16)")
    parser.add_argument("--max-session-gb", type=float, default=8, help="most memory sessions may hold, estimated (default 8 GiB)")
    add_engine_arguments(parser)
    parser.set_defaults(run=run)


def server_config(args: argparse.Namespace):
    """The :class:`rau.serve.app.ServerConfig` for the parsed arguments (checks the bind address and token)."""
    from rau.serve.app import ServerConfig
    from rau.serve.security import check_bind, read_token

    token = read_token(args.token_file) if args.token_file else None
    check_bind(args.host, token)
    for name in ("max_upload_mb", "session_idle_minutes", "max_sessions", "max_session_gb"):
        if getattr(args, name) <= 0:
            raise OptionError(f"--{name.replace('_', '-')} must be positive")
    config = ServerConfig(
        token=token,
        engine_options=engine_options(args),
        max_upload_bytes=int(args.max_upload_mb * 2**20),
        session_idle_seconds=args.session_idle_minutes * 60,
        max_sessions=args.max_sessions,
        max_session_bytes=int(args.max_session_gb * 2**30),
    )
    if args.work_dir:
        config.work_dir = Path(args.work_dir)
    return config


def run(args: argparse.Namespace) -> int:
    from rau.serve.app import serve

    config = server_config(args)
    print(f"rau serve: http://{args.host}:{args.port}/v1/info, work folder {config.work_dir}")
    serve(config, args.host, args.port)
    return 0
