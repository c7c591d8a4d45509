"""A port for a server that another process will listen on a moment later.

The kernel's pick (`bind(("127.0.0.1", 0))`) is a port of its ephemeral range, which it
also hands to outgoing connections: in the seconds before the server binds, one of the
many connections of a loaded test run (to PostgreSQL, to the fake Telegram) may take it,
and the server stops with "address already in use" (seen once in a full run). A port
below that range is never taken so; the only risk left is another test picking the same
one of some ten thousand at the same moment.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port() -> int:
    """A port nobody listens on now, outside the kernel's ephemeral range."""
    try:
        low = int(_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    top = max(low - 1, 20_000)
    for _ in range(200):
        port = random.randint(10_000, top)  # noqa: S311 (not for security)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:  # nothing free down there: the kernel's pick
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
