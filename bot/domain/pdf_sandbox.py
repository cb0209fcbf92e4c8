"""Run untrusted-PDF work in a child process, with a wall-clock timeout and a memory cap.

pypdf's limits (see ``pdf_review.PYPDF_LIMITS``) stop the known bombs; this stops the unknown ones:
a pathological file that loops, recurses or allocates is killed after ``timeout`` seconds or hits
``RLIMIT_AS`` (address space) in the child, and the caller gets a review with problem
``too_complex`` instead of a stalled or exhausted bot.

Start method: **forkserver** (measured by ``bench/bench_pdf_review.py``, see the report):
- ``fork`` is the fastest to start (~2 ms) but copies a multi-threaded asyncio process
  (python-telegram-bot, APScheduler and the default executor run threads): a lock held by another
  thread at fork time stays locked forever in the child. Python 3.12+ warns about it, 3.14 no
  longer uses it by default.
- ``spawn`` is safe but starts a fresh interpreter and re-imports pypdf for every file (~150 ms+).
- ``forkserver`` forks each child from a small single-threaded server process started once, with
  ``bot.domain.pdf_review`` (pypdf, cryptography) preloaded: safe like spawn, nearly as cheap as
  fork once the server is up (a few ms per child).
CPython 3.11 caveat: the forkserver ignores "__main__" in its preload list (it looks up a
``main_path`` key its caller never sets), so every child re-runs a *path-based* ``__main__``
(``python script.py``, a console-script wrapper) before its target starts: keep that module light,
run the bot as ``python -m bot`` (a module main is never re-run), or add the heavy modules the
main script imports to ``FORKSERVER_PRELOAD`` with ``configure_forkserver_preload()`` before the
first review. The memory cap is applied after that import, so it only costs time, never a false
``too_complex``.
Concurrency is bounded (``MAX_CONCURRENT_CHILDREN``) so a burst of uploads cannot fork-bomb the host.
"""

from __future__ import annotations

import os
import pickle
import resource
import select
import signal
import threading
import time
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # multiprocessing and asyncio are imported when used: the CLI needs neither
    import multiprocessing
    from multiprocessing.connection import Connection

if TYPE_CHECKING:
    from bot.domain.pdf_review import ExtractedPdf, PdfReview

START_METHOD = "forkserver"
MAX_CONCURRENT_CHILDREN = 2
DEFAULT_TIMEOUT = 10.0
DEFAULT_MEMORY_MB = 300

FORKSERVER_PRELOAD: tuple[str, ...] = ("__main__", "bot.domain.pdf_sandbox", "bot.domain.pdf_review", "bot.domain.annexes")

_children = threading.BoundedSemaphore(MAX_CONCURRENT_CHILDREN)
_context_lock = threading.Lock()
_context: multiprocessing.context.BaseContext | None = None


def _mp_context(method: str = START_METHOD) -> multiprocessing.context.BaseContext:
    import multiprocessing

    global _context
    if method != START_METHOD:
        return multiprocessing.get_context(method)
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context(method)
            if method == "forkserver":
                context.set_forkserver_preload(list(FORKSERVER_PRELOAD))
            _context = context
        return _context


def configure_forkserver_preload(modules: tuple[str, ...]) -> None:
    """Add modules the forkserver imports once (call before the first isolated run)."""
    global FORKSERVER_PRELOAD
    with _context_lock:
        if _context is not None:
            raise RuntimeError("the forkserver context is already in use")
        FORKSERVER_PRELOAD = tuple(dict.fromkeys((*FORKSERVER_PRELOAD, *modules)))


@dataclass(frozen=True)
class ChildOutcome:
    """How a child run ended: ``value`` when ``status`` is ``ok``; else timeout, memory or crash."""

    status: str
    value: Any = None
    detail: str = ""
    seconds: float = 0.0


def _child_main(conn: Connection, memory_mb: int, target: Callable[..., Any], args: tuple) -> None:
    try:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        value = target(*args)
        conn.send(("ok", value, ""))
    except MemoryError:
        conn.send(("memory", None, "MemoryError"))
    except BaseException as exc:  # noqa: BLE001 - everything must reach the parent as a crash
        try:
            conn.send(("crash", None, "".join(traceback.format_exception_only(exc)).strip()))
        except BaseException:  # noqa: BLE001 - the pipe itself may be the problem
            pass
    finally:
        conn.close()


def run_isolated(
    target: Callable[..., Any],
    args: tuple,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    start_method: str = START_METHOD,
) -> ChildOutcome:
    """Run ``target(*args)`` (a picklable module-level function) in a capped child process."""
    started = time.perf_counter()
    with _children:
        context = _mp_context(start_method)
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=_child_main, args=(sender, memory_mb, target, args), daemon=True)
        process.start()
        sender.close()
        try:
            remaining = timeout - (time.perf_counter() - started)
            if remaining > 0 and receiver.poll(remaining):
                try:
                    status, value, detail = receiver.recv()
                except (EOFError, OSError, MemoryError) as exc:
                    status, value, detail = "crash", None, f"no result: {type(exc).__name__}"
            elif process.is_alive():
                status, value, detail = "timeout", None, f"over {timeout:.1f}s"
            else:
                status, value, detail = "crash", None, f"exit code {process.exitcode}"
        finally:
            receiver.close()
            if process.is_alive():
                process.kill()
            process.join(5)
            if hasattr(process, "close") and process.exitcode is not None:
                process.close()
    return ChildOutcome(status=status, value=value, detail=detail, seconds=time.perf_counter() - started)


def warm_lexicon() -> None:
    """Build the lemma table here, uncapped, once: children then read it from the on-disk cache."""
    from bot.domain.structure import default_structure_lexicon

    default_structure_lexicon()


def _review_in_child(data: bytes, report_type_id: str) -> dict[str, Any]:
    from bot.domain.pdf_review import review_pdf
    from bot.domain.report import default_catalogue

    catalogue = default_catalogue()
    return review_pdf(data, catalogue.report_type(report_type_id), catalogue).to_json()


def review_pdf_isolated_sync(
    data: bytes,
    report_type_id: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> PdfReview:
    """``review_pdf`` in a child process; ``too_complex`` if it times out, runs out of memory or dies."""
    from bot.domain.pdf_review import MAX_PDF_BYTES, PdfReview
    from bot.domain.report import default_catalogue

    report_type = default_catalogue().report_type(report_type_id)
    if len(data) > MAX_PDF_BYTES:
        return PdfReview.for_problem(data, report_type, "too_large")
    warm_lexicon()
    outcome = run_isolated(_review_in_child, (data, report_type_id), timeout=timeout, memory_mb=memory_mb)
    if outcome.status == "ok":
        return PdfReview.from_json(outcome.value)
    return PdfReview.for_problem(data, report_type, "too_complex")


async def review_pdf_isolated(
    data: bytes,
    report_type_id: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> PdfReview:
    """The event-loop-friendly twin: the waiting happens in a worker thread, never on the loop."""
    import asyncio

    return await asyncio.to_thread(
        review_pdf_isolated_sync, data, report_type_id, timeout=timeout, memory_mb=memory_mb
    )


def _assemble_in_child(report: bytes, annexes: list[tuple[str, bytes]], title: str, author: str) -> Any:
    from bot.domain.annexes import DepositError, assemble_deposit

    try:
        return ("ok", assemble_deposit(report, annexes, title=title, author=author))
    except DepositError as error:
        return ("error", (error.code, error.part, error.detail))


def assemble_deposit_isolated_sync(
    report: bytes,
    annexes: list[tuple[str, bytes]],
    *,
    title: str,
    author: str,
    timeout: float = 20.0,
    memory_mb: int = 600,
) -> bytes:
    """``annexes.assemble_deposit`` in a capped child; raises ``DepositError`` (``too_complex`` on kill)."""
    from bot.domain.annexes import DepositError

    outcome = run_isolated(
        _assemble_in_child, (report, annexes, title, author), timeout=timeout, memory_mb=memory_mb
    )
    if outcome.status != "ok":
        raise DepositError("too_complex", "deposit", outcome.detail)
    kind, payload = outcome.value
    if kind == "error":
        code, part, detail = payload
        raise DepositError(code, part, detail)
    return payload


async def assemble_deposit_isolated(
    report: bytes, annexes: list[tuple[str, bytes]], *, title: str, author: str, **limits: Any
) -> bytes:
    import asyncio

    return await asyncio.to_thread(
        assemble_deposit_isolated_sync, report, annexes, title=title, author=author, **limits
    )


# --------------------------------------------------------------------------------------------
# One-shot processes (the CLI)


def run_forked(
    target: Callable[..., Any],
    args: tuple,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    while_waiting: Callable[[], None] | None = None,
) -> ChildOutcome:
    """``run_isolated`` for a single-threaded one-shot process: one ``os.fork()``, no forkserver.

    ``coachbot review`` has no threads, so forking it is safe and costs a few milliseconds: the
    child already has pypdf and the lexicon loaded, sets the same memory cap, runs ``target`` and
    sends back its pickled result; the parent kills it at ``timeout``. ``while_waiting`` runs in the
    parent meanwhile (the CLI loads its templates while the child reviews).
    """
    started = time.perf_counter()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        status = 1
        try:
            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            try:
                payload = ("ok", target(*args), "")
            except MemoryError:
                payload = ("memory", None, "MemoryError")
            except BaseException as exc:  # noqa: BLE001 - everything must reach the parent
                payload = ("crash", None, "".join(traceback.format_exception_only(exc)).strip())
            data = pickle.dumps(payload)
            view = memoryview(data)
            while view:
                written = os.write(write_end, view)
                view = view[written:]
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    chunks: list[bytes] = []
    status, value, detail = "crash", None, ""
    try:
        if while_waiting is not None:
            while_waiting()
        while True:
            remaining = timeout - (time.perf_counter() - started)
            if remaining <= 0:
                status, detail = "timeout", f"over {timeout:.1f}s"
                break
            ready, _, _ = select.select([read_end], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(read_end, 1 << 20)
            if not chunk:
                try:
                    status, value, detail = pickle.loads(b"".join(chunks))
                except Exception as exc:  # noqa: BLE001 - a child that died mid-write
                    status, value, detail = "crash", None, f"no result: {type(exc).__name__}"
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        if status == "timeout":
            os.kill(pid, signal.SIGKILL)
        _, code = os.waitpid(pid, 0)
        if status == "crash" and not detail:
            detail = f"exit status {code}"
    return ChildOutcome(status=status, value=value, detail=detail, seconds=time.perf_counter() - started)


def _extract_in_child(data: bytes) -> tuple:
    from bot.domain.pdf_text import extract  # pypdf and nothing else

    return extract(data)


def extract_pdf_forked(
    data: bytes,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    while_waiting: Callable[[], None] | None = None,
) -> ExtractedPdf | tuple[str, str | None]:
    """``pdf_review.extract_pdf`` (the PDF parsing) in one forked, capped child, for the CLI.

    Call it early: the child imports pypdf and parses while the parent runs ``while_waiting``
    (loading the lexicon and the templates); the parent then reviews the extracted text, which is
    plain Python on bounded data. ``("too_complex", None)`` if the child is killed or dies.
    """
    outcome = run_forked(_extract_in_child, (data,), timeout=timeout, memory_mb=memory_mb, while_waiting=while_waiting)
    from bot.domain.pdf_review import extracted_from

    if outcome.status == "ok":
        return extracted_from(outcome.value)
    return ("too_complex", None)
