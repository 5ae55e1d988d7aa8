"""The server's security rules: loopback unless a token is set, bearer tokens, no web page's requests, upload names and
data files, what an image upload unpacks to (:func:`check_unpacked_size`), the work folder."""

from __future__ import annotations

import hmac
import io
import ipaddress
import math
import os
import re
import urllib.parse
from pathlib import Path

from rau.errors import InputError, OptionError
from rau.io.images import DICOM_SUFFIXES, PICTURE_SUFFIXES, VOLUME_SUFFIXES
from rau.io.label_tables import LABEL_TABLE_SUFFIX, SIDECAR_SUFFIXES
from rau.io.nrrd_headers import NRRD_SUFFIXES
from rau.validation import bounded_bytes, gzip_length
from rau.validation.files import NIFTI_SUFFIXES, nifti_header, nifti_unpacked

IMAGE_UPLOAD_SUFFIXES = (*VOLUME_SUFFIXES, *PICTURE_SUFFIXES)
"""Images an upload may be: one file each (a DICOM file, :data:`~rau.io.images.DICOM_SUFFIXES`, is told what to send
instead; a NIfTI pair is two files)."""
TABLE_UPLOAD_SUFFIXES = (LABEL_TABLE_SUFFIX, ".csv", ".ctbl", ".txt", ".tsv", ".json")
UPLOAD_SUFFIXES = {"target": IMAGE_UPLOAD_SUFFIXES, "reference": IMAGE_UPLOAD_SUFFIXES,
                   "reference_labels": (".seg.nrrd", *IMAGE_UPLOAD_SUFFIXES), "label_table": TABLE_UPLOAD_SUFFIXES,
                   "reference_table": SIDECAR_SUFFIXES}
"""The file suffixes each upload field takes (a field not listed: any of them, then it is refused by name)."""
ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
HEADER_BYTES = 1 << 20
"""How much of a MetaImage or NRRD upload is read for its header."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    """True for an address that listens on every interface (``0.0.0.0``, ``::``): no client can use it as the server's."""
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen off loopback without a token (``--token-file``)."""
    if not is_loopback(host) and not token:
        raise OptionError(f"--host {host} is not a loopback address: give --token-file so every request must carry the token")


MAX_TOKEN_FILE_BYTES = 4096


def read_token(path) -> str:
    """The token in ``path`` (whitespace stripped); at least 16 printable ASCII characters (an HTTP header carries no others)."""
    path = Path(path)
    try:
        content = bounded_bytes(path, MAX_TOKEN_FILE_BYTES)  # a pipe is fine (--token-file <(pass rau))
    except OSError as error:
        raise OptionError(f"--token-file {path}: cannot read it ({error.strerror})") from error
    if content is None:
        raise OptionError(f"--token-file {path}: holds more than {MAX_TOKEN_FILE_BYTES} bytes; a token file holds the token alone")
    token = content.decode("utf-8", errors="replace").strip()  # a byte that is no UTF-8: no ASCII either
    if len(token) < 16:
        raise OptionError(f"--token-file {path}: the token must have at least 16 characters")
    if not (token.isascii() and token.isprintable()):
        raise OptionError(f"--token-file {path}: the token may hold only printable ASCII characters (letters, digits, "
                          "punctuation), as HTTP headers carry no others")
    return token


def readable_by_others(path) -> bool:
    """Whether users other than the owner may read ``path`` (POSIX permissions; elsewhere, False)."""
    return os.name == "posix" and bool(Path(path).stat().st_mode & 0o044)


def authorized(header: str | None, token: str | None) -> bool:
    """Whether an ``Authorization`` header carries the server's token (always true without a token)."""
    if not token:
        return True
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def web_page_refusal(host: str | None, origin: str | None, port: int | None, token: str | None) -> str | None:
    """Why a request that a web page open in a browser may have sent is refused (403), None for any other. A browser
    sends a page's requests to any address, the server's too (a form's POST goes without asking first), with the
    page's ``Origin``: one from another site's page is refused, token or not (rau's clients send none). Without a token,
    a request must also be addressed (``Host``) to a loopback name on the server's ``port``: a page whose DNS name is
    pointed at 127.0.0.1 sends its own name, and would otherwise read the answers as its own site's. A token stops
    both, as no page has it, so with one any name a client or proxy uses is answered: a client through a tunnel that
    changes the port (``ssh -L 9000:localhost:8000`` sends ``Host: localhost:9000``) needs one, which the refusal says."""
    scheme, _, address = (origin or "").partition("://")
    if origin is not None and not (scheme.lower() in ("http", "https") and address and address.lower() == (host or "").lower()):
        return f"refused: the request came from the web page of {origin:.100} (its Origin header); rau serve answers rau's clients, not web pages"
    if not token and not _loopback_address(host or "", port):
        return (f"refused: Host {host!r:.100} is not this server's address; without --token-file it answers only requests sent "
                f"to localhost:{port}, 127.0.0.1:{port} or [::1]:{port}, so that no web page can use it; through a tunnel or proxy "
                "that changes the port, start the server with --token-file")
    return None


def _loopback_address(host: str, port: int | None) -> bool:
    """Whether a ``Host`` header names a loopback address (:func:`is_loopback`), and ``port`` where it names a port (a
    browser names any but 80; a tool may name none)."""
    try:
        address = urllib.parse.urlsplit(f"//{host}")
        return is_loopback(address.hostname or "") and address.port in (None, port)
    except ValueError:  # no port number
        return False


def upload_suffix(filename: str | None, field: str) -> str:
    """The known file suffix of an uploaded file name; the name itself is never used as a path."""
    name = (filename or "").lower()
    suffixes = UPLOAD_SUFFIXES.get(field) or tuple(dict.fromkeys(s for known in UPLOAD_SUFFIXES.values() for s in known))
    for suffix in suffixes:
        if name.endswith(suffix):
            return suffix
    dicom = field in ("target", "reference") and (name.endswith(DICOM_SUFFIXES) or name.rpartition(".")[2].isdigit() or "." not in name)
    hint = "; the server takes no DICOM file: save the image as NIfTI or NRRD (Slicer, or rau's readers) and send that" if dicom else ""
    raise InputError(f"upload {field} ({filename!r}): unknown file type; use one of {', '.join(suffixes)}{hint}")


def check_data_attached(path: Path, label: str) -> None:
    """Refuse a MetaImage or NRRD upload whose header names a separate data file (the server would read that file from
    its own disk), or does not end within :data:`HEADER_BYTES` (it could name one further on), and an NRRD upload that
    does not begin with the exact magic "NRRD" (:func:`check_nrrd_magic`). Another file that holds no such header
    passes: reading it says that it is no readable image."""
    name = path.name.lower()
    with open(path, "rb") as handle:
        head = handle.read(HEADER_BYTES)
    check_nrrd_magic(name, head, label)
    cut = len(head) == HEADER_BYTES  # the file goes on past what was read
    if name.endswith((".mha", ".mhd")):
        lines = header_lines(head)  # no end sought: every line of what was read is checked
        data_files = [line[len(b"elementdatafile"):].lstrip(b"=:") for line in lines if line.startswith(b"elementdatafile")]
        separate = any(value != b"local" for value in data_files)
        unended = cut and not data_files and any(re.match(rb"[a-z]\w*=", line) for line in lines)  # "Key = value" lines
    elif name.endswith(NRRD_SUFFIXES):  # it begins with NRRD: check_nrrd_magic
        ends = nrrd_header_ends(head)
        end = None if None in ends else max(ends)  # the header's lines as far as any of its readers reads them
        fields = nrrd_fields(header_lines(head[:end]))
        separate = any(field == b"datafile" for field, _ in fields)  # "data file: LIST", "data file:=" too
        unended = cut and end is None
        if not separate and not unended:
            check_nrrd_reading(fields, label)
    else:
        return
    if separate or unended:
        problem = ("names a separate data file, which the server does not read" if separate else
                   f"does not end within its first {HEADER_BYTES >> 20} MiB, so it could name a separate data file further on")
        raise InputError(f"{label}: its header {problem}; upload one file holding the data (.mha, .nrrd or .seg.nrrd)")


def check_nrrd_magic(name: str, head: bytes, label: str) -> None:
    """Refuse an upload named as an NRRD file (``name``, lowercase) whose first bytes (``head``) are not exactly "NRRD".
    pynrrd, which reads a .seg.nrrd for slicerio, drops the bytes of the magic line that are no ASCII, so b"\\x80NRRD0004"
    is an NRRD file to it, and its ``data file`` field would read a file of the server's; ITK refuses such a file and
    Slicer writes the exact magic, so nothing is lost by refusing it before anything reads it."""
    if name.endswith(NRRD_SUFFIXES) and not head.startswith(b"NRRD"):
        raise InputError(f"{label} is not a NRRD file: it does not begin with NRRD; save it again from Slicer (a .seg.nrrd or .nrrd file)")


def header_lines(text: bytes) -> list[bytes]:
    """The lines of a MetaImage or NRRD header, each without white space, byte-order mark or case. A line ends at
    "\\r\\n", "\\r" or "\\n" (ITK's NRRD reader takes each; pynrrd and MetaImage's reader end one at "\\n" alone, so
    these lines are theirs or finer); readers take " data\\tfile:" and a second ElementDataFile line too, so a check
    must see every spelling of a field, on every line."""
    return [re.sub(rb"[^\x21-\x7e]", b"", line).lower() for line in re.split(rb"\r\n|\r|\n", text)]


def nrrd_fields(lines: list[bytes]) -> list[tuple[bytes, bytes]]:
    """The (field, value) of each of an NRRD header's ``lines`` (:func:`header_lines`), split at its first ":" and a
    "=" after it: pynrrd splits a line at ":" or ":=" alike, so "encoding:=bzip2" is its encoding, while ITK takes
    it as a key/value pair; the rules read both as the field."""
    fields = []
    for line in lines:
        field, colon, value = line.partition(b":")
        if colon:
            fields.append((field, value.removeprefix(b"=")))
    return fields


NRRD_ENCODINGS = (b"raw", b"gzip", b"gz", b"ascii", b"text", b"txt")
"""The NRRD encodings an upload may have: those Slicer and rau write (raw, gzip) and text."""


def check_nrrd_reading(fields: list[tuple[bytes, bytes]], label: str) -> None:
    """Refuse an NRRD header (its :func:`nrrd_fields`) whose data its readers would find anywhere but right after it,
    or unpack otherwise than as gzip: pynrrd skips a ``line skip``'s lines and a ``byte skip``'s bytes before it
    unpacks, so the gzip check (:func:`check_unpacked_size`), which starts at the header's end, was passed by a junk
    line before a bomb; and it unpacks bzip2, which nothing checks, whole before it compares sizes (a few hundred bytes
    took 428 MiB). Slicer writes neither."""
    for field, value in fields:
        if field in (b"lineskip", b"byteskip") and value != b"0":
            name = field.decode()[:4] + " skip"
            raise InputError(f"{label}: its header has {name} {value.decode('ascii', 'replace'):.20}, which the server does "
                             "not take (Slicer writes none); save the file again from Slicer, as raw or gzip")
        if field == b"encoding" and value not in NRRD_ENCODINGS:
            raise InputError(f"{label}: its data is encoded {value.decode('ascii', 'replace'):.20}, which the server does not "
                             "take; save it as raw or gzip (as Slicer does)")


def nrrd_header_ends(head: bytes) -> tuple[int | None, int | None]:
    """Where the data begins after an NRRD header as each of its readers finds the header's end (None: not within
    ``head``): ITK's (SimpleITK reads .nrrd) ends a line at "\\r\\n", "\\r" or "\\n" and the header at the first empty
    line; pynrrd (slicerio reads .seg.nrrd with it) ends a line at "\\n" alone and the header at the first line holding
    nothing but white space. They differ: "encoding: raw\\r\\r\\n" ends the header for ITK, not for pynrrd. Each
    scan is linear in ``head`` (a pattern for a whole line is retried from every byte of a head without line ends:
    a 1 MiB upload took hours)."""
    itk = _blank_line_end(head, rb"\r\n|\r|\n", lambda line: not line)
    pynrrd = _blank_line_end(head, rb"\n", lambda line: not line.decode("ascii", "ignore").strip())
    return itk, pynrrd


def _blank_line_end(head: bytes, line_end: bytes, blank) -> int | None:
    """Where the first line of ``head`` that ``blank`` takes for empty ends, lines ending at the pattern ``line_end``
    (None: no such line within ``head``)."""
    start = 0
    for ending in re.finditer(line_end, head):
        if blank(head[start:ending.start()]):
            return ending.end()
        start = ending.end()
    return None


class UnpackedTooLarge(InputError):
    """An image upload that would unpack to more than the server takes (413: :data:`rau.serve.refusals.REFUSALS`)."""


GZIP_MARGIN = 1 << 20
"""How far an upload's gzip data may unpack past what its header promises (padding a writer left after the voxels,
which readers skip) before it is refused; it is unpacked no further."""


def check_unpacked_size(path: Path, label: str, limit: int) -> None:
    """Refuse (:class:`UnpackedTooLarge`) an image upload that would unpack to more than ``limit`` bytes (``rau serve
    --max-image-mb``): a small compressed file (a .nii.gz or .seg.nrrd of zeros, a PNG) could take more memory, or
    time, than the server has. It is sized by what its header promises as each of its readers reads it
    (:func:`unpacked_sizes`), and its gzip data, if any, by what that unpacks to, unpacked no further than the least
    promise and :data:`GZIP_MARGIN` (its readers unpack it all, or up to where a header puts the voxels, first)."""
    sizes, before, starts = unpacked_sizes(path)
    if not sizes:  # no reader could size it: reading the file says why
        return
    unpacked = max(sizes)
    if unpacked > limit:
        what = f"its voxels and the {before} bytes before them" if before else "its voxels"
        raise UnpackedTooLarge(f"{label}: {what} take {unpacked / 2**20:.1f} MiB once unpacked, more than the server's limit "
                               f"of {limit / 2**20:.1f} MiB (rau serve --max-image-mb)")
    promised = min(sizes)
    if _gzip_data_exceeds(path, promised + GZIP_MARGIN, starts):
        raise UnpackedTooLarge(f"{label}: its gzip data unpacks to more than the {promised} bytes its header promises (past "
                               f"{GZIP_MARGIN / 2**20:.1f} MiB more it was unpacked no further)")


def unpacked_sizes(path: Path) -> tuple[list[int], int, list[int]]:
    """What an image upload unpacks to as each of its readers reads its header: the bytes (one per reader that can
    read it: ITK's readers, or Pillow's, and pynrrd for an NRRD, nibabel for a NIfTI), the bytes before its voxels
    among them (a NIfTI's vox_offset, where its voxels begin: a .nii.gz unpacks its header and whatever lies before
    them too; 0 for another file, whose header is not packed), and where gzip data begins in it that a reader unpacks
    (:func:`gzip_starts`)."""
    nibabel_bytes, before = nifti_data(path)
    pynrrd_bytes, pynrrd_start = pynrrd_data(path)
    before = before or 0
    voxels = [size for size in (_header_bytes(path), nibabel_bytes, pynrrd_bytes) if size is not None]
    return [before + size for size in voxels], before, gzip_starts(path, pynrrd_start)


def _header_bytes(path: Path) -> int | None:
    """The bytes of voxels ``path``'s header promises as ITK's header readers read it, or Pillow's where ITK's cannot
    (a 16-bit grey + alpha PNG, which rau reads with Pillow); None where neither can."""
    import SimpleITK as sitk

    from rau.io.images import file_header, picture_bytes

    reader = file_header(path)
    if reader is None:
        return picture_bytes(path)
    bits = int(re.search(r"(\d+)-bit", sitk.GetPixelIDValueAsString(reader.GetPixelID())).group(1))
    return math.prod(reader.GetSize()) * reader.GetNumberOfComponents() * bits // 8


def pynrrd_data(path: Path) -> tuple[int | None, int | None]:
    """The bytes of voxels an NRRD file's header promises as pynrrd (slicerio's reader of a .seg.nrrd) reads it, and
    where pynrrd starts reading its data; (None, None) for another file, or a header pynrrd cannot read (nor then the
    file). pynrrd reads headers that ITK refuses ("space directions" before "space", "encoding:=gzip")."""
    import nrrd
    from nrrd.reader import _determine_datatype  # the type pynrrd reads the data as

    if not path.name.lower().endswith(NRRD_SUFFIXES):
        return None, None
    with open(path, "rb") as handle:
        stream = io.BytesIO(handle.read(HEADER_BYTES))
    try:
        header = nrrd.read_header(stream)  # reads no data; leaves the stream where pynrrd reads the data from
        return math.prod(int(size) for size in header["sizes"]) * _determine_datatype(header).itemsize, stream.tell()
    except Exception:  # noqa: BLE001  (pynrrd raises many types for a damaged header; reading the file says why)
        return None, None


def nifti_data(path: Path) -> tuple[int | None, int | None]:
    """The bytes of voxels a NIfTI file's header promises as nibabel reads it (as :func:`rau.validation.check_nifti`
    reads it before ITK), and where they begin (:func:`rau.validation.files.nifti_unpacked`); (None, None) for another
    file, or a header nibabel cannot read (nor then the file)."""
    if not path.name.lower().endswith(NIFTI_SUFFIXES):
        return None, None
    try:
        before, voxels = nifti_unpacked(nifti_header(path))
        return voxels, before
    except Exception:  # noqa: BLE001  (a header cut short, a NaN vox_offset, an unknown type: reading the file says why)
        return None, None


GZIP_MAGIC = b"\x1f\x8b"


def gzip_starts(path: Path, pynrrd_start: int | None) -> list[int]:
    """Where gzip data begins in an image upload that one of its readers unpacks: a NIfTI file's start where it begins
    as gzip does, whatever its name (ITK's NIfTI reader unpacks a .nii so too); a gzip-encoded NRRD's data where each
    of its readers finds the header's end (pynrrd's: ``pynrrd_start``, from :func:`pynrrd_data`)."""
    name = path.name.lower()
    with open(path, "rb") as handle:
        head = handle.read(HEADER_BYTES)
    if name.endswith(NIFTI_SUFFIXES):
        return [0] if head.startswith(GZIP_MAGIC) else []
    if not name.endswith(NRRD_SUFFIXES):
        return []
    starts = sorted({end for end in (*nrrd_header_ends(head), pynrrd_start) if end is not None})
    encodings = {value for field, value in nrrd_fields(header_lines(head[: starts[-1]] if starts else b"")) if field == b"encoding"}
    return starts if encodings & {b"gz", b"gzip"} else []


def _gzip_data_exceeds(path: Path, enough: int, starts: list[int]) -> bool:
    """Whether gzip data beginning at any of ``starts`` in ``path`` unpacks past ``enough`` bytes, unpacking no further
    (pynrrd unpacks it all before it compares: a few MB of zeros could take gigabytes)."""
    with open(path, "rb") as handle:
        for start in starts:
            handle.seek(start)
            try:
                if gzip_length(handle, enough) > enough:
                    return True
            except InputError:
                pass  # damaged from there: its reader says so
    return False


def confined(root: Path, *parts: str) -> Path:
    """``root / parts`` after checking that it stays inside ``root`` (no ``..``, no absolute parts)."""
    root = root.resolve()
    path = root.joinpath(*parts).resolve()
    if not path.is_relative_to(root):
        raise InputError(f"{'/'.join(parts)} lies outside the server's work folder")
    return path


def valid_id(identifier: str) -> bool:
    """Job and session ids are 32 lowercase hex digits (anything else is not found)."""
    return bool(ID_PATTERN.match(identifier))
