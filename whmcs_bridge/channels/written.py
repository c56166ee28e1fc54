"""When a channel's request leaves: per-thread signals from the channel to the outbox's pacing.

The outbox counts each send against the rate when it lets it start; a thread that stalls after
that (the garbage collector, a descheduled process on a busy host) sends later than counted, and
requests that were let start apart reach the provider together. A channel that makes its
request in the calling thread calls :func:`request_ready` just before it writes the request (the
outbox may hold it there, so that two writes are never closer than the rate allows) and
:func:`request_written` once the bytes are handed to the network (the outbox counts that moment
instead). The outbox listens with :func:`on_request`. A channel that calls neither is paced and
counted when it was let start, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_listener = threading.local()


@contextmanager
def on_request(ready: Callable[[], None], written: Callable[[], None]) -> Iterator[None]:
    """Call ``ready`` and ``written`` (in this thread) when a channel signals them."""
    previous = getattr(_listener, "callbacks", None)
    _listener.callbacks = (ready, written)
    try:
        yield
    finally:
        _listener.callbacks = previous


def request_ready() -> None:
    """The current send's request is about to be written (this may wait for its turn)."""
    callbacks = getattr(_listener, "callbacks", None)
    if callbacks is not None:
        callbacks[0]()


def request_written() -> None:
    """The current send's request has been written to the network."""
    callbacks = getattr(_listener, "callbacks", None)
    if callbacks is not None:
        callbacks[1]()
