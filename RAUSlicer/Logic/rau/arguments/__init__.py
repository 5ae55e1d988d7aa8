"""The command line of each ``rau`` command, one module each: its arguments, their checks and their help.

These modules import no engine machinery (SciPy, SimpleITK, the server, the trainers), so ``rau --help``, a command's
``--help`` and a refused argument answer quickly. Each parser names the function that runs its command as
``"module:function"`` (``run="rau.commands.segment:run"``); :func:`rau.cli.main` imports that module only when the
command runs.
"""
