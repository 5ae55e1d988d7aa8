"""What the module checks of the engine options before a run starts, as the command line does before any work: the
models and device (said in the panel's words: :mod:`RAUSlicerLib.option_names`)."""

from RAUSlicerLib.option_names import panelWording


def serverUnsentOptions(panelOptions):
    """Of the engine options the panel sets (``panelOptions``), those a run on an engine server does not send: the
    server's operator sets them (``rau.serve.options.CLIENT_OPTIONS``: what a client may choose)."""
    from rau.serve.options import CLIENT_OPTIONS

    return [option for option in panelOptions if option not in CLIENT_OPTIONS]


def checkOptions(engineName, options, server=""):
    """Refuse an unknown engine, or models or a device the engine ``engineName`` cannot use
    (``rau.engines.checks.check_models``; not with an engine ``server``, which uses and checks its operator's),
    naming the panel's fields. The panel's settings stand from run to run, unlike a command line's flags, so one the
    chosen engine does not read is not warned of."""
    from rau.engines import engine_class
    from rau.engines.checks import check_models
    from rau.options import EngineOptions

    with panelWording():
        engine_class(engineName)
        if not server:
            check_models(engineName, EngineOptions.of(options))
