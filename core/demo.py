"""Demo data providers, registered by apps and run by ``load_demo`` in each demo commune.

Like ``core.defaults``: an app registers ``func(*, commune, size, actor)`` in ``ready()``;
the loader must be idempotent (``load_demo`` runs at every ``make run``).
"""

from collections.abc import Callable

from django.db import transaction

_loaders: list[tuple[int, str, Callable]] = []


def register_demo_loader(*, order: int = 100):
    def decorator(func: Callable) -> Callable:
        key = f"{func.__module__}.{func.__qualname__}"
        if all(existing != key for _, existing, _ in _loaders):
            _loaders.append((order, key, func))
            _loaders.sort(key=lambda item: (item[0], item[1]))
        return func

    return decorator


def run_demo_loaders(*, commune, size: str, actor) -> list[str]:
    """Run every loader inside the commune's schema; returns their one-line reports.

    Each loader runs in a transaction of its own: one that fails half-way (a broker
    down, Ctrl-C) leaves nothing behind, so the next ``load_demo`` starts it again
    instead of tripping over its remains (a month's invoicing left started)."""
    reports = []
    for _order, _key, func in _loaders:
        with transaction.atomic():
            report = func(commune=commune, size=size, actor=actor)
        if report:
            reports.append(report)
    return reports
