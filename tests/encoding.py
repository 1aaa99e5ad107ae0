"""Reading compressed responses in client tests."""
from __future__ import annotations

import gzip
import sys
import zlib

import brotli

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

#: What a browser sends (Chromium's list): the app picks from these.
BROWSER = {"Accept-Encoding": "gzip, deflate, br, zstd"}
ENCODINGS = ("zstd", "br", "gzip", "deflate")

_DECODERS = {
    "zstd": zstd.decompress,
    "br": brotli.decompress,
    "gzip": gzip.decompress,
    "deflate": zlib.decompress,
}


def decoded(response) -> bytes:
    """The body as the client reads it, whatever ``Content-Encoding`` says."""
    encoding = response.headers.get("Content-Encoding")
    data = response.get_data()
    return _DECODERS[encoding](data) if encoding else data
