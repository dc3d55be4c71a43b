"""Reading a large JSON Lines history into columns on two cores: the second half in a child process.

This module is the child process's plumbing (`Child`); the reading and the merge are
`prozess.columnar`'s (`read_split`, `_read_part`, `_merge`), which imports this module and
not the other way round. `read_split(path, cut)` reads bytes [0, cut) itself and has a child process read [cut, end)
at the same time, each into its own `_Builder` (`prozess.columnar`); `cut` is a line start.
The child writes its arrays to a temporary file (each `array` as its bytes, no pickling of
rows) and sends the small rest (interned keys and fs, the per-position dicts, its open
invocations and the completions it could not pair) through a pipe. The parent then appends
the child's arrays to its own a chunk at a time — positions shifted, key and f ids mapped
to its tables — so the merge holds the columns once plus one chunk, and pairs across the
cut what the child left open:

- a completion whose invocation lies in the first half (the child keeps it as an orphan) is
  paired with the invocation the first half left open for that process;
- the nemesis's pairing (an op closes the open one of the same f) is replayed over the
  child's nemesis ops when the first half ends with one open;
- the invocations still open at the end are the first half's not closed by the child plus
  the child's, and `complete()` ends them as one pass would.

Anything the merge cannot prove equal to one pass — a line the child refused, a value that
is not a 64-bit integer in either half (the interned table's ids depend on file order), an
index not above the first half's last, a completion with no matching open invocation, a
process invoking while its op from the first half is open — makes the parent read the
second half itself, on from where it stopped: the one-pass result and the one-pass error
(same message, same line), at one-pass speed. So the split never changes what a history
reads as; it only makes a clean large one faster.

The child is forked when this process runs no other thread (cheap: nothing to import). Otherwise
(forking a threaded process can deadlock the child) it is a fresh interpreter running this module
(`python -m prozess.columnar_split`), which sends its result on its standard output; not
multiprocessing's spawn, which would import the caller's main module again in the child.
"""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any, Callable

START_METHOD: str | None = None  # "fork" or "exec" to force one (tests); None: fork unless other threads run


def _start_method() -> str:
    if START_METHOD is not None:
        return START_METHOD
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "exec"


class Child:
    """`target(*args, conn)` on the other core: forked (answering through a pipe), or in a fresh interpreter
    (`python -m prozess.columnar_split MODULE FUNCTION ARGS...`, answering on its standard output; the
    arguments are strings there). `conn.send(obj)` once is the answer (`result()`)."""

    def __init__(self, target: Callable[..., None], args: tuple, method: str | None = None):
        self.target, self.args = target, args
        self.method = method or _start_method()
        self.process: Any = None
        self.receive: Any = None

    def start(self) -> None:
        try:
            self._start()
        except OSError:  # no process to be had (a process limit, no memory to fork): the parent reads on alone
            self.process = None

    def _start(self) -> None:
        if self.method == "fork":
            ctx = multiprocessing.get_context("fork")
            self.receive, send = ctx.Pipe(duplex=False)
            self.process = ctx.Process(target=self.target, args=(*self.args, send), daemon=True, name="prozess-read-half")
            self.process.start()
            send.close()
        else:
            import subprocess
            import sys

            where = [self.target.__module__, self.target.__name__]
            self.process = subprocess.Popen([sys.executable, "-m", "prozess.columnar_split", *where, *map(str, self.args)],
                                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)

    def result(self) -> tuple[str, Any]:
        """("done", what the child sent) or ("again", why not); waits for the child."""
        import pickle

        if self.process is None:
            return ("again", "no process could be started for the second half")
        try:
            if self.method == "fork":
                outcome = self.receive.recv()
                self.process.join()
                return outcome
            data = self.process.stdout.read()
            self.process.wait()
            return pickle.loads(data) if self.process.returncode == 0 else ("again", f"exit {self.process.returncode}")
        except (EOFError, OSError, pickle.UnpicklingError):  # the child died (killed, out of memory)
            return ("again", "the second half's reader ended without a result")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.method == "fork":
            if self.process.is_alive():
                self.process.terminate()
                self.process.join()
            self.receive.close()
        else:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.process.stdout.close()


class _Stdout:
    """`send` as a pickle on the standard output, for a child run as `python -m prozess.columnar_split`."""

    def send(self, obj: Any) -> None:
        import pickle
        import sys

        sys.stdout.buffer.write(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
        sys.stdout.buffer.flush()

    def close(self) -> None:
        pass




if __name__ == "__main__":
    import importlib
    import sys

    module, function, *argv = sys.argv[1:]
    target = getattr(importlib.import_module(module), function)
    target(argv[0], int(argv[1]), *argv[2:], _Stdout())
