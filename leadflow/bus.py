"""In-process domain events between apps that must not import each other.

``marketing`` and ``sales`` publish facts ("lead.mql", "deal.won"); ``handoff``, which
is allowed to know both, subscribes in its ``AppConfig.ready``. Handlers run synchronously
inside the publisher's transaction, so a fact and its consequences commit together; a
handler that wants background work enqueues it with ``transaction.on_commit``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

Handler = Callable[..., None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str, handler: Handler) -> None:
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def publish(name: str, **payload: Any) -> None:
    for handler in _handlers[name]:
        handler(**payload)
