"""Calibrated timing of benchmark workloads.

Each case is timed in *samples*: a sample calls the case's function ``calls_per_sample`` times in a
row and measures the batch with ``time.perf_counter_ns``. The garbage collector stays on, as it is
in an application: a library whose objects the collector tracks pays for them here as it would
there. The
number of calls per sample is calibrated so that one sample lasts about ``Settings.sample_ns``; the
result of a case is the median time per call over its samples and the spread of the samples (their
interquartile range). The cases of a workload are sampled in turn (A, B, C, A, B, C ...), so that
load from elsewhere on the machine affects them alike: what is reported is the ratio between
implementations, which survives a noisy, shared machine far better than absolute figures.

Time is bounded: each case gets a budget (``Settings.case_budget_s``) that caps its number of
samples, and in quick mode a total budget for the whole suite is shared out among the cases still
to run, so the suite stays short however many workloads the modules define. A small budget first
makes the samples shorter (down to ``Settings.min_sample_ns``), then fewer. A workload tagged
``"slow"`` (one call is a whole loopback exchange, say) is timed with one call per sample, its
cases interleaved like the others', with the same warm-up and the same minimum of samples.

A timed callable may report counters of its own (a server's CPU time ...): a ``counters()``
method returning cumulative values; the runner reads them around each sample and keeps the
increase per call beside the time (:attr:`CaseResult.counters`).
"""

from __future__ import annotations

import gc
import itertools
import math
import os
import shutil
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from .core import Case, Skip, Workload

__all__ = [
    "FULL",
    "QUICK",
    "CaseResult",
    "Progress",
    "Runner",
    "Settings",
    "WorkloadResult",
    "interquartile_range",
    "quick_requested",
]

#: The tag a workload carries when a single call is expensive (a loopback echo of many messages).
SLOW_TAG = "slow"

#: Set to "1" by ``python -m wsfast bench --quick`` before the workloads are built, so that a
#: layer's ``workloads()`` may make its calls smaller in quick mode (fewer frames per call ...).
QUICK_ENV = "WSFAST_BENCH_QUICK"


def quick_requested() -> bool:
    """True when the workloads are being built for a ``--quick`` run (see :data:`QUICK_ENV`)."""
    return os.environ.get(QUICK_ENV, "") not in ("", "0")


@dataclass(frozen=True)
class Settings:
    """How long to time each case."""

    #: Target duration of one sample, in nanoseconds; the calls per sample are calibrated to it.
    sample_ns: int
    #: Samples taken per case, unless one call is so slow that the case budget allows fewer.
    min_samples: int
    #: Samples taken at most per case.
    max_samples: int
    #: Time one case may take (calibration and samples, not its setup), in seconds.
    case_budget_s: float
    #: Time the whole suite may take, shared out among the cases still to run (quick mode).
    total_budget_s: float | None = None
    #: The smallest budget a case is given when the total budget runs short.
    min_case_budget_s: float = 0.03
    #: Quick mode: slow-tagged workloads are timed with one call per sample, three samples at most.
    quick: bool = False
    #: The shortest sample: when a case's budget is small, its samples get shorter (down to this)
    #: before they get fewer.
    min_sample_ns: int = 1_000_000

    def with_total_budget(self, seconds: float | None) -> Settings:
        """The same settings with another total budget (``None``: no total budget)."""
        return Settings(
            self.sample_ns,
            self.min_samples,
            self.max_samples,
            self.case_budget_s,
            seconds,
            self.min_case_budget_s,
            self.quick,
            self.min_sample_ns,
        )


#: The default run: 20 ms samples, 5 to 25 of them, at most a second per case.
FULL = Settings(sample_ns=20_000_000, min_samples=5, max_samples=25, case_budget_s=1.0)

#: ``--quick``: 5 ms samples, 3 to 9 of them, and the suite's timing shares 30 s (under a minute
#: in all on two cores with setups, imports and the report).
QUICK = Settings(
    sample_ns=5_000_000,
    min_samples=3,
    max_samples=9,
    case_budget_s=0.25,
    total_budget_s=30.0,
    quick=True,
)


def interquartile_range(values: Sequence[float]) -> float:
    """Q3 - Q1 of ``values`` (0.0 for fewer than two values)."""
    if len(values) < 2:
        return 0.0
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q3 - q1


@dataclass
class CaseResult:
    """The outcome of one case: timed ("ok"), "skipped" (with the reason) or "error"."""

    name: str
    kind: str
    status: str
    reason: str = ""
    #: Time per call of each sample, in nanoseconds.
    samples_ns: list[float] = field(default_factory=list)
    calls_per_sample: int = 0
    #: Wall-clock seconds the case took in all: setup, calibration, samples and close.
    wall_s: float = 0.0
    #: Wall-clock seconds its setup took.
    setup_s: float = 0.0
    #: Counter name -> its increase per call in each sample, for a callable with ``counters()``.
    counters: dict[str, list[float]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok" and bool(self.samples_ns)

    @property
    def median_ns(self) -> float:
        """Median time per call over the samples."""
        return statistics.median(self.samples_ns)

    @property
    def iqr_ns(self) -> float:
        """Interquartile range of the samples' times per call."""
        return interquartile_range(self.samples_ns)


@dataclass
class WorkloadResult:
    """A workload and the results of its cases, in the workload's order."""

    workload: Workload
    cases: list[CaseResult]


class Progress:
    """A counter on stderr: one line rewritten in place on a terminal, plain lines otherwise."""

    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.count = 0
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty and isatty())
        self.started = time.monotonic()

    def step(self, label: str) -> None:
        """Announces the next case."""
        self.count += 1
        if not self.enabled:
            return
        text = f"[{self.count}/{self.total}] {label}"
        if self.tty:
            # Elapsed time, and no wrapping: a wrapped line could not be rewritten in place.
            text = f"[{self.count}/{self.total} {time.monotonic() - self.started:.0f}s] {label}"
            width = shutil.get_terminal_size().columns - 1
            self.stream.write(f"\r\x1b[K{text[:width]}")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        """A message that stays (a case's error), on its own line."""
        if self.tty and self.enabled:
            self.stream.write("\r\x1b[K")
        self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        """Clears the counter line on a terminal."""
        if self.tty and self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


Clock = Callable[[], int]


class Runner:
    """Times workloads under some :class:`Settings`.

    ``clock`` returns nanoseconds (``time.perf_counter_ns``; tests give a fake one).
    """

    def __init__(self, settings: Settings, clock: Clock = time.perf_counter_ns) -> None:
        self.settings = settings
        self.clock = clock
        #: Set by :meth:`run` when Ctrl-C stopped it; the cases not timed are "interrupted".
        self.interrupted = False

    # -- one batch of calls ---------------------------------------------------------------------

    def time_calls(self, fn: Callable[[], object], number: int) -> int:
        """Nanoseconds taken by ``number`` calls of ``fn`` in a row (the garbage collector as the
        process has it: on, unless the caller turned it off)."""
        calls = itertools.repeat(None, number)
        clock = self.clock
        start = clock()
        for _ in calls:
            fn()
        stop = clock()
        return max(stop - start, 1)

    def sample(self, fn: Callable[[], object], number: int, result: CaseResult) -> int:
        """One sample of ``number`` calls, appended to ``result`` with the increase of the
        callable's counters per call; returns the nanoseconds it took."""
        counters = getattr(fn, "counters", None)
        before = counters() if callable(counters) else None
        elapsed = self.time_calls(fn, number)
        result.samples_ns.append(elapsed / number)
        if before is not None:
            after = counters()  # type: ignore[misc]
            for name, value in after.items():
                result.counters.setdefault(name, []).append((value - before[name]) / number)
        return elapsed

    def calibrate(
        self, fn: Callable[[], object], first_call_ns: int, target: int | None = None
    ) -> int:
        """The number of calls that makes a sample last about ``target`` ns (``sample_ns``)."""
        if target is None:
            target = self.settings.sample_ns
        # On a busy machine any single measurement may include a preemption that makes it look
        # many times longer: each decision below rests on the shorter of two measurements.
        if first_call_ns >= target and self.time_calls(fn, 1) >= target:
            return 1
        # The warm-up call paid for cold caches and lazy set-up: start again from a warm call.
        number = 1
        elapsed = self.time_calls(fn, number)
        # Grow the batch until it lasts a fifth of a sample: long enough for the timer's resolution
        # and the loop's start-up to be negligible, short enough to keep calibration cheap.
        while elapsed < target // 5:
            if elapsed * 100 < target:
                number = max(number * 10, 1)
            else:
                number = max(number + 1, math.ceil(number * (target / 4) / elapsed))
            elapsed = self.time_calls(fn, number)
        elapsed = min(elapsed, self.time_calls(fn, number))
        return max(1, round(number * target / elapsed))

    # -- one case ---------------------------------------------------------------------------------

    def run_case(self, workload: Workload, case: Case, budget_s: float) -> CaseResult:
        """Sets up and times one case within ``budget_s`` seconds (setup excluded)."""
        setup_started = self.clock()
        try:
            fn = case.setup()
        except (Skip, ImportError) as exc:
            return CaseResult(case.name, case.kind, "skipped", str(exc) or type(exc).__name__)
        except Exception as exc:
            return CaseResult(case.name, case.kind, "error", _describe(exc))
        setup_s = (self.clock() - setup_started) / 1e9
        try:
            result = self._measure(workload, case, fn, budget_s)
            result.setup_s = setup_s
            return result
        except Exception as exc:
            return CaseResult(case.name, case.kind, "error", _describe(exc))
        finally:
            _close(fn, case.name)

    def _measure(
        self, workload: Workload, case: Case, fn: Callable[[], object], budget_s: float
    ) -> CaseResult:
        settings = self.settings
        budget_ns = int(budget_s * 1e9)
        # The young generations only: what the setup left. A full collection per case would cost
        # tens of milliseconds each with the peers' modules loaded; run() does one at the start.
        gc.collect(1)
        started = self.clock()
        first = self.time_calls(fn, 1)  # warm-up: caches, lazy imports, first allocations
        slow = SLOW_TAG in workload.tags
        result = CaseResult(case.name, case.kind, "ok")
        if first >= budget_ns:
            # One call exceeds the whole budget: the warm-up call is the only sample we can afford.
            result.samples_ns.append(float(first))
            result.calls_per_sample = 1
            return result
        # Calibration costs about two samples: a small budget shortens the samples rather than
        # dropping below the minimum number of them.
        sample_ns = min(settings.sample_ns, budget_ns // (settings.min_samples + 2))
        sample_ns = max(sample_ns, settings.min_sample_ns)
        number = 1 if slow else self.calibrate(fn, first, sample_ns)
        max_samples = settings.max_samples
        min_samples = min(settings.min_samples, max_samples)
        result.calls_per_sample = number
        while len(result.samples_ns) < max_samples:
            elapsed = self.sample(fn, number, result)
            spent = self.clock() - started
            # Stop when the next sample would overrun the budget, once the minimum is reached, or
            # when even the minimum would overrun it twice over (a case much slower than planned).
            over = spent + elapsed > budget_ns
            if over and (len(result.samples_ns) >= min_samples or spent + elapsed > 2 * budget_ns):
                break
        return result

    # -- the suite -------------------------------------------------------------------------------

    def _budget(self, started: int, cases_left: int) -> float:
        """A case's budget now: its share of what is left of the total budget, if there is one."""
        settings = self.settings
        budget = settings.case_budget_s
        if settings.total_budget_s is not None:
            remaining_s = settings.total_budget_s - (self.clock() - started) / 1e9
            share = remaining_s / max(cases_left, 1)
            budget = min(budget, max(share, settings.min_case_budget_s))
        return budget

    def run_interleaved(
        self, workload: Workload, budget_s: float, progress: Progress | None = None
    ) -> list[CaseResult]:
        """Times the cases of one workload sample by sample in turn (A, B, C, A, B, C ...).

        A burst of load on a shared machine then slows every case of the workload alike, and the
        ratios between them, which are what the report is about, hold better than when each case
        is timed in one stretch. Each case keeps its own calibration and its own budget; the
        cases of a slow-tagged workload take one call per sample. Every case is set up (servers
        started ...) before the first is timed, and closed after the last.
        """
        settings = self.settings
        budget_ns = int(budget_s * 1e9)
        results: dict[str, CaseResult] = {}
        timings: list[_Timing] = []
        opened: list[Callable[[], object]] = []
        try:
            for case in workload.cases:
                if progress is not None:
                    progress.step(f"{workload.name} {case.name}")
                setup_started = self.clock()
                try:
                    fn = case.setup()
                except (Skip, ImportError) as exc:
                    reason = str(exc) or type(exc).__name__
                    results[case.name] = CaseResult(case.name, case.kind, "skipped", reason)
                    continue
                except Exception as exc:
                    results[case.name] = CaseResult(case.name, case.kind, "error", _describe(exc))
                    continue
                opened.append(fn)
                result = CaseResult(case.name, case.kind, "ok")
                result.setup_s = (self.clock() - setup_started) / 1e9
                results[case.name] = result
                timings.append(_Timing(result, fn))
            gc.collect(1)
            active = list(timings)
            slow = SLOW_TAG in workload.tags
            for timing in list(active):
                try:
                    self._prepare(timing, budget_ns, slow)
                except Exception as exc:
                    timing.fail(exc)
                if timing.finished:
                    active.remove(timing)
            min_samples = min(settings.min_samples, settings.max_samples)
            while active:
                for timing in list(active):
                    try:
                        elapsed = self.sample(timing.fn, timing.number, timing.result)
                    except Exception as exc:
                        timing.fail(exc)
                        active.remove(timing)
                        continue
                    samples = timing.result.samples_ns
                    timing.spent_ns += elapsed
                    # The same rule as run_case: stop at the maximum, or when the next sample
                    # would overrun the budget once the minimum is reached (or overrun it twice).
                    over = timing.spent_ns + elapsed > budget_ns
                    if len(samples) >= settings.max_samples or (
                        over
                        and (
                            len(samples) >= min_samples or timing.spent_ns + elapsed > 2 * budget_ns
                        )
                    ):
                        timing.finished = True
                        active.remove(timing)
        except KeyboardInterrupt:  # Ctrl-C: keep the cases that finished, drop the others
            self.interrupted = True
            for timing in timings:
                if not timing.finished:
                    del results[timing.result.name]
        finally:
            for fn in opened:
                _close(fn, workload.name)
        for timing in timings:
            timing.result.wall_s = timing.result.setup_s + timing.spent_ns / 1e9
        ordered = [
            results.get(c.name) or CaseResult(c.name, c.kind, "skipped", "interrupted")
            for c in workload.cases
        ]
        for result in ordered:
            if result.status == "error" and progress is not None:
                progress.note(f"error: {workload.name} {result.name}: {result.reason}")
        return ordered

    def _prepare(self, timing: _Timing, budget_ns: int, slow: bool = False) -> None:
        """Warm-up and calibration (one call per sample if ``slow``) of one case of an
        interleaved workload."""
        settings = self.settings
        started = self.clock()
        first = self.time_calls(timing.fn, 1)
        if first >= budget_ns:  # one call exceeds the budget: the warm-up is the only sample
            timing.result.samples_ns.append(float(first))
            timing.result.calls_per_sample = 1
            timing.spent_ns = first
            timing.finished = True
            return
        sample_ns = min(settings.sample_ns, budget_ns // (settings.min_samples + 2))
        sample_ns = max(sample_ns, settings.min_sample_ns)
        timing.number = 1 if slow else self.calibrate(timing.fn, first, sample_ns)
        timing.result.calls_per_sample = timing.number
        timing.spent_ns = self.clock() - started

    def run(
        self, workloads: Iterable[Workload], progress: Progress | None = None
    ) -> list[WorkloadResult]:
        """Times every case of every workload; the results are in the workloads' order.

        The cases of every workload are timed interleaved (:meth:`run_interleaved`). Under a
        total budget, the slow-tagged workloads (loopback servers, event loops) run first: their
        cost (setup included) is mostly beyond the budget's control, and what they leave is then
        shared among the rest.
        """
        workloads = list(workloads)
        total_cases = sum(len(w.cases) for w in workloads)
        if progress is None:
            progress = Progress(total_cases, enabled=False)
        order = list(range(len(workloads)))
        if self.settings.total_budget_s is not None:
            order.sort(key=lambda i: SLOW_TAG not in workloads[i].tags)
        gc.collect()
        started = self.clock()
        done = 0
        results: dict[int, WorkloadResult] = {}
        self.interrupted = False
        for index in order:
            workload = workloads[index]
            case_results: list[CaseResult] = []
            if self.interrupted:
                case_results = [
                    CaseResult(c.name, c.kind, "skipped", "interrupted") for c in workload.cases
                ]
            else:
                budget = self._budget(started, total_cases - done)
                if SLOW_TAG in workload.tags:
                    # One call is a whole exchange (tens of milliseconds): give each case twice
                    # the per-case budget whatever the total budget left, so that it gets its
                    # samples (the median of a handful of one-call samples is noisy enough).
                    budget = max(budget, 2 * self.settings.case_budget_s)
                case_results = self.run_interleaved(workload, budget, progress)
            done += len(workload.cases)
            results[index] = WorkloadResult(workload, case_results)
        progress.finish()
        return [results[index] for index in range(len(workloads))]


@dataclass
class _Timing:
    """A case of an interleaved workload while it is being timed."""

    result: CaseResult
    fn: Callable[[], object]
    number: int = 1
    spent_ns: int = 0
    finished: bool = False

    def fail(self, exc: Exception) -> None:
        self.result.status, self.result.reason = "error", _describe(exc)
        self.result.samples_ns.clear()
        self.finished = True


def _close(fn: Callable[[], object], name: str) -> None:
    """Calls ``fn.close()`` if the timed callable has one (servers, sockets the setup opened).
    A failure is printed, not raised: the timing stands, and the leak is worth a word."""
    close = getattr(fn, "close", None)
    if callable(close):
        try:
            close()
        except Exception as exc:
            print(f"wsfast bench: closing {name}: {exc}", file=sys.stderr)


def _describe(exc: BaseException) -> str:
    """``TypeError: message (at file.py:12)``: enough to find a broken adapter."""
    text = f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        text += f" (at {last.filename.rsplit('/', 1)[-1]}:{last.lineno})"
    return text
