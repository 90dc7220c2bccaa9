"""The server address a client dials: HOST:PORT, or HOST alone on the service's port, as the Unity and Unreal clients
read it. Checked before any call, because gRPC reads a malformed one its own way: a port past 65535 modulo 65536
(127.0.0.1:99999 dials 34463, perhaps some other service), a bare HOST as port 443, and http://HOST:PORT as a host name
to look up."""

from __future__ import annotations

import argparse
import re

DEFAULT_PORT = 50051  # `animgen serve`'s
_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]@]+)"
_HOST_PORT = re.compile(rf"{_HOST}:(\d{{1,5}})")


def dialled(address: str) -> str:
    """ADDRESS as it is dialled: a HOST alone gets the service's port."""
    return f"{address}:{DEFAULT_PORT}" if re.fullmatch(_HOST, address) else address


def problem(address: str) -> str | None:
    """Why ADDRESS (as dialled) is not one to dial, in words, or None."""
    m = _HOST_PORT.fullmatch(address)
    if m and 1 <= int(m[1]) <= 65535:
        return None
    return f"{address!r} is not HOST:PORT with a port from 1 to 65535 (e.g. 127.0.0.1:50051)"


def argument(text: str) -> str:
    """The type of a --server flag: a bad address is a usage error naming the flag (exit 2), before any work."""
    if (why := problem(dialled(text))) is not None:
        raise argparse.ArgumentTypeError(why)
    return dialled(text)
