"""What the engine's scenario process and the floor's share, light enough that neither pays for the other's imports."""

from __future__ import annotations

import resource
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

# The benchmark's NIK key: its stores are thrown away, so the key protects nothing and need not be secret.
BENCH_NIK_KEY = b"mpp-bus benchmark key, not a secret"


def peak_rss_mib() -> float:
    """The peak resident memory of this process, in MiB.

    Not ``ru_maxrss`` alone: ``subprocess`` starts the child with vfork, and Linux carries the parent's peak over
    the exec into it, so every scenario would report at least the driver's own RSS. ``VmHWM`` is the peak of this
    process image only; elsewhere ``ru_maxrss`` (KiB on Linux) is the best there is.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so a benchmark's ``finally`` blocks stop every process it started (by PID) and
    drop every throw-away database, whichever way it was stopped."""
    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
