"""Record traceframe events from Python through `traceframe record --stream`.

Standard library only. The class starts one `traceframe record --stream`
process for a trace, writes events to it as JSON lines and (with ack=True)
reads its acks: an ack for an event means the event is durable under the
sync policy and survives a crash (docs/harness-integration.md).

    from traceframe_stream import TraceStream

    with TraceStream("run.traceframe", init="run-42", labels={"task": "t1"},
                     finish_status="success") as stream:
        stream.event("model.call", {"provider": "anthropic", "model": "m"})
        stream.event("tool.call", {"tool": "bash", "command": "ls", "argv": ["ls"]},
                     id="call-1")
    # leaving the block closes stdin: the stream flushes, syncs, appends
    # run.finished and exits; a non-zero exit raises TraceStreamError.

With ack=True, wait_durable(n) blocks until the first n lines written are
acknowledged, and acks()/rejected() return what came back. Events go to
the process's stdin through a buffered pipe: when the disk falls behind,
writes block (backpressure); nothing is dropped.

Run as a script for a quick benchmark/test driver:
    python3 traceframe_stream.py TRACEFRAME_BIN TRACE COUNT [--ack]
"""

import json
import os
import subprocess
import sys
import threading
import time

__all__ = ["TraceStream", "TraceStreamError"]


class TraceStreamError(RuntimeError):
    """The stream process failed (its stderr is in the message)."""


class TraceStream:
    """One `traceframe record --stream` process writing one trace."""

    def __init__(self, path, init=None, labels=None, ack=False, sync="batch",
                 finish_status=None, binary=None, stderr=None):
        binary = binary or os.environ.get("TRACEFRAME_BIN", "traceframe")
        argv = [binary, "record", "--file", str(path), "--stream", "--sync", sync]
        if init is not None:
            argv += ["--init", init]
            for key, value in (labels or {}).items():
                argv += ["--label", "%s=%s" % (key, value)]
        if ack:
            argv.append("--ack")
        if finish_status is not None:
            argv += ["--finish-on-eof", finish_status]
        self._ack = ack
        self._lines = 0
        self._acks = []          # {"line","seq","id"?} dicts, in line order
        self._rejected = []      # {"line","error"} dicts
        self._acked = 0          # lines answered (acked or rejected)
        self._cond = threading.Condition()
        self._stderr_chunks = []
        self._proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE if ack else subprocess.DEVNULL,
            stderr=subprocess.PIPE if stderr is None else stderr,
            bufsize=1 << 16)
        self._threads = []
        if ack:
            self._threads.append(threading.Thread(target=self._read_acks, daemon=True))
        if stderr is None:
            self._threads.append(threading.Thread(target=self._read_stderr, daemon=True))
        for thread in self._threads:
            thread.start()

    # -- writing -------------------------------------------------------------
    def event(self, kind, payload, id=None, ts_ms=None):
        """Queues one event; returns its input line number (1-based)."""
        line = {"kind": kind, "payload": payload}
        if ts_ms is not None:
            line["ts_ms"] = ts_ms
        if id is not None:
            line["id"] = id
        return self.write_raw(json.dumps(line, separators=(",", ":")))

    def write_raw(self, text):
        """Writes one line of text as is (no newline in it)."""
        self._proc.stdin.write(text.encode("utf-8") + b"\n")
        self._lines += 1
        return self._lines

    def write_many(self, lines):
        """Writes many pre-encoded lines (str or bytes, without newlines) at once."""
        chunk = []
        for text in lines:
            chunk.append(text if isinstance(text, bytes) else text.encode("utf-8"))
            self._lines += 1
        if chunk:
            self._proc.stdin.write(b"\n".join(chunk) + b"\n")
        return self._lines

    def flush(self):
        """Hands buffered lines to the process (not a durability point)."""
        self._proc.stdin.flush()

    # -- acks ----------------------------------------------------------------
    def _read_acks(self):
        # Acks are {"line":N,"seq":S,...} or {"line":N,"error":...}, always
        # in that key order: N and the kind are read without a JSON parse,
        # the rest is parsed when asked for (acks(), rejected()).
        acks, rejected = self._acks, self._rejected
        for raw in self._proc.stdout:
            comma = raw.index(b",")
            line = int(raw[8:comma])
            with self._cond:
                if raw.startswith(b'"error"', comma + 1):
                    rejected.append(raw)
                else:
                    acks.append(raw)
                self._acked = line
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _read_stderr(self):
        for raw in self._proc.stderr:
            self._stderr_chunks.append(raw.decode("utf-8", "replace"))

    def wait_durable(self, line=None, timeout=None):
        """With ack=True: waits until every line up to `line` (default: all
        written so far) is answered; returns False on timeout."""
        if not self._ack:
            raise ValueError("wait_durable needs ack=True")
        line = self._lines if line is None else line
        self.flush()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._acked < line:
                if self._proc.poll() is not None and self._acked < line:
                    # The process ended; give the reader a moment to drain.
                    self._cond.wait(0.05)
                    if self._proc.poll() is not None and self._acked < line:
                        return False
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left if left is not None else 0.1)
        return True

    def acks(self):
        """The acks so far: [{"line", "seq", "id"?}], in line order."""
        with self._cond:
            raws = list(self._acks)
        return [json.loads(raw) for raw in raws]

    def ack_count(self):
        with self._cond:
            return len(self._acks)

    def rejected(self):
        """The rejected lines so far: [{"line", "error"}]."""
        with self._cond:
            raws = list(self._rejected)
        return [json.loads(raw) for raw in raws]

    @property
    def stderr(self):
        return "".join(self._stderr_chunks)

    # -- closing -------------------------------------------------------------
    def close(self, timeout=None):
        """Closes stdin (EOF: flush, sync, optional run.finished) and waits for
        the process. Returns its exit code; raises TraceStreamError if not 0."""
        try:
            self._proc.stdin.close()
        except BrokenPipeError:
            pass
        code = self._proc.wait(timeout)
        for thread in self._threads:
            thread.join()
        if code != 0:
            raise TraceStreamError("traceframe record --stream exited %d: %s"
                                   % (code, self.stderr.strip()))
        return code

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            try:
                self.close()
            except Exception:  # keep the original exception
                pass
        return False


def _main(argv):
    """Writes COUNT ~200-byte events and prints events/s (durable at exit)."""
    binary, trace, count = argv[1], argv[2], int(argv[3])
    ack = "--ack" in argv[4:]
    pad = "x" * 90
    started = time.monotonic()
    stream = TraceStream(trace, init="py-stream", ack=ack, binary=binary,
                         finish_status="success")
    batch = []
    for i in range(count):
        batch.append('{"kind":"tool.call","payload":{"tool":"bash","command":"echo %d",'
                     '"argv":["echo","%d"],"note":"%s"},"id":%d}' % (i, i, pad, i))
        if len(batch) == 4096:
            stream.write_many(batch)
            batch = []
    stream.write_many(batch)
    stream.close()
    elapsed = time.monotonic() - started
    if ack and stream.ack_count() != count:
        raise SystemExit("expected %d acks, got %d" % (count, stream.ack_count()))
    print("events=%d seconds=%.3f events_per_s=%.0f" % (count, elapsed, count / elapsed))


if __name__ == "__main__":
    _main(sys.argv)
