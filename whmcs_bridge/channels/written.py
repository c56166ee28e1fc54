"""When a channel's request has left: a per-thread signal from the channel to the outbox's pacing.

The outbox counts each send against the rate when it lets it start; a thread that stalls after
that (the garbage collector, a descheduled process on a busy host) sends later than counted, and
requests that were counted apart reach the provider together. A channel that makes its request
in the calling thread calls :func:`request_written` once the bytes are handed to the network;
the outbox listens with :func:`on_request_written` and counts that moment instead. A channel
that never calls it is counted when it was let start, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_listener = threading.local()


@contextmanager
def on_request_written(callback: Callable[[], None]) -> Iterator[None]:
    """Call ``callback`` (in this thread) when a channel says its request has left."""
    previous = getattr(_listener, "callback", None)
    _listener.callback = callback
    try:
        yield
    finally:
        _listener.callback = previous


def request_written() -> None:
    """The request of the current send has been written to the network."""
    callback = getattr(_listener, "callback", None)
    if callback is not None:
        callback()
