"""What the module checks of the engine options before a run starts, as the command line does before any work: the
models and device, and the options the run will not use (said in the panel's words: :mod:`RAUSlicerLib.option_names`)."""

from RAUSlicerLib.option_names import OPTION_LABELS, panelWording


def serverUnsentOptions(panelOptions):
    """Of the engine options the panel sets (``panelOptions``), those a run on an engine server does not send: the
    server's operator sets them (``rau.serve.options.CLIENT_OPTIONS``: what a client may choose)."""
    from rau.serve.options import CLIENT_OPTIONS

    return [option for option in panelOptions if option not in CLIENT_OPTIONS]


def checkOptions(engineName, options, server=""):
    """Refuse models or a device the engine ``engineName`` cannot use (``rau.commands.engine_options.check_models``;
    not with an engine ``server``, which checks its own), naming the panel's fields; warn of each option given that the
    run ignores: one the engine does not read, or, with a server, one it does not send (:func:`serverUnsentOptions`)."""
    from rau.commands.engine_options import check_models, warn_ignored
    from rau.engines import engine_class, unused_options
    from rau.options import given_and_checked, in_words
    from rau.user_warnings import collected_warnings, warn

    with panelWording():
        engine_class(engineName)  # an unknown engine: a clear error
        checked, given = given_and_checked(options)
        if server:
            for option in serverUnsentOptions(given):
                warn(f"{OPTION_LABELS.get(option, option)} is ignored: the engine server uses its operator's setting")
            return
        check_models(engineName, checked)
    with collected_warnings() as said:
        warn_ignored(unused_options(engineName, given))
    for message in said:
        warn(in_words(message, OPTION_LABELS))
