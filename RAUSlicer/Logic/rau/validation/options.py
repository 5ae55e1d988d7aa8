"""Checks of option values: numbers, ports, addresses, devices, paths; each failure an
:class:`~rau.errors.OptionError` naming the option."""

from __future__ import annotations

import argparse
import math
import os
import re
import urllib.parse


from rau.errors import OptionError


MAX_PORT = 65535


def positive_number(value, option: str) -> float:
    """``value`` as a finite number > 0, else :class:`OptionError` naming ``option``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"{option} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise OptionError(f"{option} must be a positive number, got {value!r}")
    return number


def positive_at_most(maximum: float, unit: str):
    """A check (``value``, ``option``) of a number > 0 and at most ``maximum``, which ``unit`` names in the message
    (a huge value would overflow a clock or a byte count, deep in the work)."""
    def check(value, option: str) -> float:
        number = positive_number(value, option)
        if number > maximum:
            limit = int(maximum) if float(maximum).is_integer() else maximum
            raise OptionError(f"{option} must be at most {limit} {unit}, got {number:g}")
        return number
    return check


waiting_seconds = positive_at_most(86400.0, "seconds (a day)")
"""A wait, in seconds: far past any answer, and far below what a socket's clock can hold."""


MAX_COUNT = 2**31 - 1
"""The largest count any option takes (steps, sizes, limits): far past any run, and one every library's integers hold."""


def positive_integer(value, option: str) -> int:
    """``value`` as an integer from 1 to :data:`MAX_COUNT`, else :class:`OptionError` naming ``option``."""
    return _a_count(whole_number(value, option, minimum=1), value, option)


def non_negative_integer(value, option: str) -> int:
    """``value`` as an integer from 0 to :data:`MAX_COUNT`, else :class:`OptionError` naming ``option``."""
    return _a_count(whole_number(value, option, minimum=0), value, option)


def _a_count(number: int, value, option: str) -> int:
    if number > MAX_COUNT:
        raise OptionError(f"{option} must be at most {MAX_COUNT}, got {value!r}")
    return number


def non_negative_number(value, option: str) -> float:
    """``value`` as a finite number >= 0, else :class:`OptionError` naming ``option``."""
    number = finite_number(value, option)
    if number < 0:
        raise OptionError(f"{option} must be at least 0, got {value!r}")
    return number


def share_below_one(value, option: str) -> float:
    """``value`` as a share, 0 <= x < 1 (a dropout, a held-out fraction), else :class:`OptionError` naming ``option``."""
    number = non_negative_number(value, option)
    if number >= 1:
        raise OptionError(f"{option} must be below 1, got {value!r}")
    return number


def port_number(value, option: str) -> int:
    """``value`` as a TCP port, 1 to :data:`MAX_PORT`, else :class:`OptionError` naming ``option``."""
    return whole_number(value, option, minimum=1, maximum=MAX_PORT)


def host_address(value, option: str) -> str:
    """``value`` as an address to listen on: an IPv6 address in its URL form (``[::1]``, as a server prints it) loses
    its brackets; an empty one is refused (every interface is 0.0.0.0), as :class:`OptionError` naming ``option``."""
    host = str(value).strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise OptionError(f"{option} is empty; give an address: 127.0.0.1 or ::1 (this machine only), 0.0.0.0 (every interface)")
    return host


def whole_number(value, option: str, minimum: int, maximum: int | None = None) -> int:
    """``value`` as an integer from ``minimum`` (to ``maximum`` when given), else :class:`OptionError` naming ``option``."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise OptionError(f"{option} must be a whole number, got {value!r}") from None
    if maximum is not None and not minimum <= number <= maximum:
        raise OptionError(f"{option} must be from {minimum} to {maximum}, got {value!r}")
    if number < minimum:
        raise OptionError(f"{option} must be at least {minimum}, got {value!r}")
    return number


def finite_number(value, option: str) -> float:
    """``value`` as a finite number, else :class:`OptionError` naming ``option``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"{option} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise OptionError(f"{option} must be a finite number, got {value!r}")
    return number


def check_window(window, option: str = "--window") -> tuple[float, float] | None:
    """An intensity window ``(low, high)`` with low < high (None passes)."""
    if window is None:
        return None
    low, high = (finite_number(v, option) for v in window)
    if low >= high:
        raise OptionError(f"{option} needs LOW < HIGH, got {low:g} {high:g}")
    return low, high


def device_name(value, option: str = "--device") -> str:
    """A torch device: auto, cpu, mps, cuda or cuda:N."""
    text = str(value).strip().lower()
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", text):
        raise OptionError(f"{option} must be auto, cpu, cuda, cuda:N or mps, got {value!r}")
    return text


def non_empty_path(value, option: str) -> str:
    """A path (or model name, or address) that is not empty: ``Path("")`` would silently mean the current folder, or nothing.
    A leading ``~`` is the home folder, also where the shell leaves it (``--out=~/x.png``)."""
    if not str(value).strip():
        raise OptionError(f"{option} must not be empty, got {value!r}")
    return os.path.expanduser(value) if str(value).startswith("~") else value


def folder_path(value, option: str) -> str:
    """A folder's path (:func:`non_empty_path`), made when missing (a download cache): one naming a file is refused."""
    from rau.validation.files import not_a_folder

    path = non_empty_path(value, option)
    if os.path.exists(path) and not os.path.isdir(path):
        raise OptionError(f"{option} {path}: {not_a_folder(path)}")
    return path


def server_url(value, option: str = "--vlm-server") -> str:
    """A server's http(s) URL, with no user name or password (said without them, and without a query: a key goes in an
    environment variable), no query or fragment (a path is glued onto it), a port up to 65535 and only characters a request
    can carry."""
    given = non_empty_path(value, option)
    url = given.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise OptionError(f"{option} URL must start with http:// or https://, got {url!r}")
    shown = re.sub(r"[?#].*", "", re.sub(r"(?<=//)[^/]*@", "", url), flags=re.S)  # never a password or a query's key in a message
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018  (raises for a port beyond 65535 or not a number)
    except ValueError as error:  # also an unclosed [IPv6 address
        raise OptionError(f"{option} {shown}: {error}") from None
    if re.search(r"[\x00-\x20\x7f]", url) or not parts.path.isascii():  # a request cannot carry them (urlsplit drops tabs and line breaks)
        raise OptionError(f"{option} {shown!r}: a URL cannot hold a space or control character, nor a letter outside ASCII in its "
                          "path; percent-encode it (%20 for a space)")
    if "@" in parts.netloc:
        raise OptionError(f"{option} {shown}: the URL carries a user name or password; give the server's API key in the "
                          "RAU_VLM_API_KEY environment variable instead (it is sent as a Bearer token)")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise OptionError(f"{option} {shown}: a query (?...) or fragment (#...) in the URL is not supported; give the server's "
                          "address and path only")
    return given  # as given: a result records it so


def argument(check, option: str):
    """An argparse ``type=`` callable: ``check(text, option)``, its message shown by argparse (which names
    the option first, so the message's own leading name is dropped)."""

    def convert(text):
        try:
            return check(text, option)
        except OptionError as error:
            raise argparse.ArgumentTypeError(str(error).removeprefix(f"{option} ")) from None

    convert.__name__ = check.__name__
    return convert


def header_secret(value: str | None, source: str) -> str | None:
    """A token or key for an HTTP header from ``source`` (an option or environment variable), without surrounding
    white space (a key read from a file keeps its line break); None when empty. One a header cannot carry (a control
    character or a letter outside ASCII) is refused with an :class:`OptionError` naming ``source``, never the value."""
    value = (value or "").strip()
    if value and not re.fullmatch(r"[\x20-\x7e]+", value):
        raise OptionError(f"{source} holds a character an HTTP header cannot carry (a control character or a letter "
                          "outside ASCII); the value is not shown")
    return value or None


def secret_from_environment(variable: str) -> str | None:
    """The token or key in the environment variable ``variable`` (:func:`header_secret`), None when unset."""
    return header_secret(os.environ.get(variable), variable)
