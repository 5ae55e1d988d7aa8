"""``rau serve``: the engines behind HTTP (FastAPI + uvicorn), models warm, sessions on the server.

Modules: :mod:`~rau.serve.app` (the server's state and app), :mod:`~rau.serve.job_routes` and
:mod:`~rau.serve.session_routes` (routes), :mod:`~rau.serve.guard` (token, API version, body size),
:mod:`~rau.serve.refusals` (errors' HTTP statuses), :mod:`~rau.serve.device_wait` (a correction's wait for its
device), :mod:`~rau.serve.jobs` (a queue per device),
:mod:`~rau.serve.runs` (each server's job folders in a work folder several may share),
:mod:`~rau.serve.temporary_folders` (the temporary folders of a server without ``--work-dir`` and of a remote run,
and those killed processes left),
:mod:`~rau.serve.sessions` (correction sessions with idle expiry and bounds), :mod:`~rau.serve.limits` (the server's
default limits),
:mod:`~rau.serve.security` (bind address, token, work-folder confinement),
:mod:`~rau.serve.client` (HTTP client: ``requests`` and rau's file writing, no PyTorch) and
:mod:`~rau.serve.remote` (a remote engine for the Slicer module). Importing this package imports nothing.
"""
