"""``rau serve``: the engines behind HTTP (FastAPI + uvicorn), models warm, sessions on the server.

Modules: :mod:`~rau.serve.app` (routes), :mod:`~rau.serve.jobs` (a queue per device),
:mod:`~rau.serve.runs` (each server's job folders in a work folder several may share),
:mod:`~rau.serve.sessions` (correction sessions with idle expiry and bounds),
:mod:`~rau.serve.security` (bind address, token, work-folder confinement),
:mod:`~rau.serve.client` (HTTP client: ``requests`` and rau's file writing, no PyTorch) and
:mod:`~rau.serve.remote` (a remote engine for the Slicer module). Importing this package imports nothing.
"""
