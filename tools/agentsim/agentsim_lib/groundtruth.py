# SPDX-License-Identifier: MIT
"""The ground-truth log: one JSON object per line, written as things happen.

Every line has "event", "t" (seconds since the run started, monotonic clock)
and "ts" (Unix time).  README.md lists the events and their fields.  Lines are
flushed one by one so a reader can follow the file while the run goes on.
"""

import json
import threading
import time


class GroundTruth:

    def __init__(self, path=None, t0=None):
        self.path = path
        self.t0 = time.monotonic() if t0 is None else t0
        self._lock = threading.Lock()
        self._file = open(path, "w", encoding="utf-8", buffering=1) if path else None
        self.lines = 0

    def offset(self, mono=None):
        """Run offset in seconds of a monotonic time (now by default)."""
        return (time.monotonic() if mono is None else mono) - self.t0

    def write(self, event, t=None, **fields):
        """Append one event; t is a run offset (now when None)."""
        if self._file is None:
            return
        rec = {"event": event, "t": round(self.offset() if t is None else t, 6),
               "ts": round(time.time(), 6)}
        rec.update(fields)
        line = json.dumps(rec, separators=(",", ":"), sort_keys=False) + "\n"
        with self._lock:
            if self._file is not None:
                self._file.write(line)
                self.lines += 1

    def close(self):
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def read(path):
    """Parse a ground-truth log into a list of dicts (for tests and tools)."""
    out = []
    with open(path, "r", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out
