"""Running until told to stop: SIGTERM and SIGINT end a serving coroutine cleanly."""

from __future__ import annotations

import asyncio
import contextlib
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
