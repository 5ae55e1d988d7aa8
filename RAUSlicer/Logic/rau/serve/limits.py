"""The server's default limits, read by :class:`rau.serve.app.ServerConfig`, the session store
(:mod:`rau.serve.sessions`) and the flags of ``rau serve``, whose help shows them without loading the server."""

MAX_UPLOAD_BYTES = 2 << 30
"""Largest request body accepted (2 GiB)."""
MAX_IMAGE_BYTES = 4 << 30
"""Most memory one uploaded image's voxels may take once unpacked (4 GiB: a 1024 x 1024 x 2048 CT of 16-bit voxels)."""
MAX_QUEUED_JOBS = 8
"""Most jobs waiting to run (a queued job holds its images in memory); a submission beyond them is refused (503)."""
SESSION_IDLE_SECONDS = 30 * 60
"""A correction session idle this long is closed."""
MAX_SESSIONS = 16
"""Most correction sessions kept at once."""
MAX_SESSION_BYTES = 8 << 30
"""Most memory the sessions may hold together, estimated (8 GiB)."""
