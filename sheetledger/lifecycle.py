"""A long-running process: settled for its work, and ended cleanly by SIGTERM and SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import Awaitable, Callable


def run_until_signalled(serve: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run ``serve(stop)`` on a new event loop; SIGTERM/SIGINT set ``stop``.

    ``serve`` finishes what it is doing and returns once ``stop`` is set, so a stop from
    systemd or Ctrl+C never cuts a job in half.
    """

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await serve(stop)

    asyncio.run(main())


# Python's cycle collector: a young collection once 50,000 containers were allocated
# (CPython's default is 700), the older generations as CPython has them relative to it.
COLLECTOR_THRESHOLDS = (50_000, 20, 10)


def settle_heap() -> None:
    """Tune the cycle collector for a daemon whose cycle reads 70,000 rows.

    What is alive once the process is set up (modules, pandas among them, config, clients)
    lives as long as the process: it is frozen out of the collector's walks (``gc.freeze``),
    which otherwise went over it again at every full collection. And collections come
    rarer: a cycle allocates millions of acyclic objects (JSON, cells, rows) that reference
    counting frees; at 700 each pushed them through collections that walked ever more of
    the heap. Reference cycles are still collected, less often. bench/bench_sync.py
    measures it: the collector's share of a first import went from 1.4 s to 0.08 s CPU.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
