"""How fast this machine runs Python right now.

The VMs these benchmarks run on change speed over time (a neighbour's load, the host's
clock): the same code issued 384 and then 190 tokens/s minutes apart on one machine.
Each benchmark prints this figure next to its results so that a reader can tell a
faster program from a faster moment.
"""

import time


def reference_loop_seconds() -> float:
    """Seconds for ten million `s += i` in a Python loop (best of three)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        s = 0
        for i in range(10_000_000):
            s += i
        best = min(best, time.perf_counter() - started)
    return best
