"""`python -m bench` (./run bench): every benchmark in turn. Each module also runs on its own."""

import sys

from bench import (
    analytics,
    automation,
    calls,
    consent,
    console,
    hostile,
    ingress,
    media,
    noise,
    pool,
    turn,
    turn_detect,
)
from bench.pii.__main__ import main as pii_main

if __name__ == "__main__":
    sys.argv = sys.argv[:1]  # each benchmark parses its own defaults
    turn.main()
    media.main()
    pii_main()
    hostile.main()
    consent.main()
    ingress.main()
    pool.main()
    automation.main()
    analytics.main()
    turn_detect.main()
    noise.main()
    calls.main()
    console.main()
