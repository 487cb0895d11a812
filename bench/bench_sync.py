"""The sync benchmark, run by ``make bench``; the tests never run it.

Its targets are docs/architecture.md's, "Targets".

It builds the business of those targets in the sandbox — 10,000 deals with three payment slots
filled (30,000 payments) and 50,000 expenses — and measures the daemon's side of four
sync cycles: the first import, an idle cycle, a cycle with 100 changed deals and 100
ticks, and the cycle after it (which re-reads what the overlap window still holds).

For each it prints the Sheets and amoCRM requests used against the minimum the targets set, what
a one-call-per-row integration would need for the same work, CPU and wall seconds, and
peak memory. The whole thing runs twice: without cabinets (the headline figures) and
with the sandbox's two cabinets, each of which costs one more read per cycle.

Honest measuring:
* the emulators run in a child process (``sandbox_host.py``), so their CPU and memory
  are not the daemon's; each scenario's daemon side is a fresh process of its own;
* requests are counted twice: by the emulators (``GET /_sandbox/counters``) and by the
  clients (``AmoClient.requests_made``, ``LedgerSheets.requests``);
* CPU is ``time.process_time()`` of the measured process around ``run_cycle``; peak
  memory is the process's peak RSS during the cycle (Linux ``VmHWM``, reset before each
  cycle through ``/proc/self/clear_refs``; elsewhere ``ru_maxrss`` since start);
* wall time includes the amoCRM client's spacing of requests (6 a second) and the
  emulators' own work, as a real cycle would wait for the real services.

A missed target is printed as MISSED; the exit code stays 0 (this is a report).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

MB = 1024 * 1024
AMO_PER_SECOND = 7  # amoCRM's rate limit
SHEETS_PER_MINUTE = 60  # Google's per-user quota, reads and writes each
SCENARIOS = {"plain": "without cabinets (headline)", "cabinets": "with the 2 sandbox cabinets"}


# =========================================================================== measured side


def peak_reset() -> bool:
    """Forget the peak RSS so far (Linux ≥ 4.0); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MB if sys.platform == "darwin" else peak / 1024


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


def rows_in(changes: Any) -> int:
    """How many rows a ``LedgerChanges`` touches (a per-row integration's writes)."""
    return (
        len(changes.appends)
        + len(changes.merged_updates())
        + sum(len(rows) for rows in changes.replace.values())
        + len(changes.state)
        + len(changes.removes)
    )


class Host:
    """The sandbox child process and the commands it takes."""

    def __init__(self, folder: Path, deals: int, expenses: int) -> None:
        import multiprocessing

        import sandbox_host

        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=sandbox_host.host,
            args=(child, str(folder)),
            kwargs={"deals": deals, "expenses": expenses},
            name="bench-sandbox",
            daemon=True,
        )
        self.process.start()
        self.info = self._answer(timeout=900)

    def _answer(self, timeout: float = 300) -> dict[str, Any]:
        if not self.conn.poll(timeout):
            raise RuntimeError(f"the sandbox process did not answer in {timeout:.0f} s")
        answer: dict[str, Any] = self.conn.recv()
        if "error" in answer:
            raise RuntimeError(f"sandbox process: {answer['error']}")
        return answer

    def ask(self, *command: Any) -> dict[str, Any]:
        self.conn.send(command)
        return self._answer()

    def counters(self, service: str) -> dict[str, Any]:
        import requests

        reply = requests.get(f"{self.info['control'][service]}/counters", timeout=30)
        reply.raise_for_status()
        return dict(reply.json())

    def reset_counters(self) -> None:
        import requests

        for service in ("amocrm", "google"):
            requests.delete(
                f"{self.info['control'][service]}/counters", timeout=30
            ).raise_for_status()

    def stop(self) -> None:
        if self.process.is_alive():
            try:
                self.conn.send(("stop",))
                self.conn.poll(30)
            except (OSError, EOFError):
                pass
            self.process.join(30)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(10)


def run_scenario(scenario: str, args: argparse.Namespace) -> dict[str, Any]:
    """Seed a sandbox (child process), then measure the cycles here; returns the figures."""
    folder = Path(tempfile.mkdtemp(prefix=f"sheetledger-bench-{scenario}-"))
    host = Host(folder, args.deals, args.expenses)
    try:
        return _measure_cycles(scenario, host, folder, args)
    finally:
        host.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def _measure_cycles(
    scenario: str, host: Host, folder: Path, args: argparse.Namespace
) -> dict[str, Any]:
    from datetime import UTC, datetime

    from sheetledger.config import load_config
    from sheetledger.connect import build_crm, build_google, cabinet_ledgers, master_ledger
    from sheetledger.store import LocalState
    from sheetledger.sync.cycle import CycleMemory, run_cycle

    try:  # the daemon (`sheetledger run`) carries the bot and the scheduler beside the sync
        import sheetledger.bot.app
        import sheetledger.daemon  # noqa: F401

        daemon_modules = True
    except Exception:  # someone's work in progress must not stop the benchmark
        daemon_modules = False
    try:  # and settles its heap once it is set up, as `sheetledger run` does
        from sheetledger.lifecycle import settle_heap
    except ImportError:  # (an older tree, measured for comparison)
        settle_heap = gc.collect

    config = load_config(Path(host.info["config_path"]))
    client = build_google(config)
    ledger = master_ledger(config, client)
    cabinets = cabinet_ledgers(config, client) if scenario == "cabinets" else {}
    crm = build_crm(config)
    store = LocalState(folder / "bench-state.db")
    settle_heap()

    written: list[Any] = []
    calls: dict[str, list[str]] = {"master": [], "cabinets": []}
    bodies: list[int] = []
    _record(ledger, written, calls["master"], bodies)
    for sheets in cabinets.values():
        _record(sheets, written, calls["cabinets"], bodies)

    def measure(name: str, cycle: Callable[[], Any]) -> dict[str, Any]:
        host.reset_counters()
        amo_before = crm.requests_made
        master_before = ledger.requests
        cabinets_before = sum(s.requests for s in cabinets.values())
        written.clear()
        for made in calls.values():
            made.clear()
        bodies.clear()
        gc.collect()
        rss_before = rss_mb()
        exact_peak = peak_reset()
        profiler = None
        if args.profile and name.startswith(args.profile):
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        cpu = time.process_time()
        wall = time.perf_counter()
        report = cycle()
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        if profiler is not None:
            profiler.disable()
            target = Path(f"bench-{scenario}-{name.replace(' ', '_').replace(',', '')}.prof")
            profiler.dump_stats(target)
            print(f"bench: profile of '{name}' written to {target}", file=sys.stderr)
        peak = peak_rss_mb()
        amo = host.counters("amocrm")
        google = host.counters("google")
        return {
            "name": name,
            "cpu": cpu,
            "wall": wall,
            "peak_mb": peak,
            "peak_exact": exact_peak,
            "rss_before_mb": rss_before,
            "master_calls": list(calls["master"]),
            "cabinet_calls": list(calls["cabinets"]),
            "amo_client": crm.requests_made - amo_before,
            "amo_routes": amo["by_route"],
            "sheets_kinds": google["by_kind"],
            "master_client": ledger.requests - master_before,
            "cabinets_client": sum(s.requests for s in cabinets.values()) - cabinets_before,
            "rows_written": sum(rows_in(c) for c in written),
            "write_bytes": sum(bodies),
            "leads_read": report.leads_read,
            "new_rows": report.new_rows,
            "updated_rows": report.updated_rows,
            "events": len(report.events),
            "pushed": len(report.pushed),
            "lead_patches": report.lead_patches,
            "cells_written": report.cells_written,
            "problems": list(report.problems),
        }

    memory = CycleMemory()  # what the daemon keeps between its cycles

    def cycle() -> Any:
        return run_cycle(
            config, ledger, crm, store, now=datetime.now(UTC), cabinets=cabinets, memory=memory
        )

    baseline = rss_mb()
    phases = [measure("first import", cycle), measure("idle", cycle), measure("idle, again", cycle)]
    host.ask("change", args.changed)
    host.ask("tick", args.ticks)
    phases.append(measure(f"{args.changed} changed deals + {args.ticks} ticks", cycle))
    phases.append(measure("the cycle after (overlap re-read)", cycle))
    store.close()
    return {
        "scenario": scenario,
        "cabinets": len(cabinets),
        "setup": host.info,
        "baseline_rss_mb": baseline,
        "daemon_modules": daemon_modules,
        "process_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "phases": phases,
    }


def _record(sheets: Any, written: list[Any], calls: list[str], bodies: list[int]) -> None:
    """Note each Sheets call (read, metadata, locate rows, write) and Drive version check of
    ``sheets``, the size of its write bodies, and keep every ``LedgerChanges`` it writes
    (their rows are counted after the clock stops)."""
    write, call = sheets.write, sheets._call

    def recording_write(changes: Any) -> int:
        written.append(changes)
        return int(write(changes))

    def recording_call(what: str, fn: Callable[[], Any]) -> Any:
        calls.append(what)
        return call(what, fn)

    sheets.write, sheets._call = recording_write, recording_call
    version = getattr(sheets, "_drive_version", None)
    if version is not None:  # cabinets untouched since the last cycle are not read again

        def recording_version() -> Any:
            calls.append("drive version")
            return version()

        sheets._drive_version = recording_version
    send = getattr(sheets, "_send_batch_update", None)
    if send is not None:

        def recording_send(payload: bytes) -> Any:
            bodies.append(len(payload))
            return send(payload)

        sheets._send_batch_update = recording_send


# =========================================================================== the report


def _pages(n: int) -> int:
    return max(1, math.ceil(n / 250))


def _fmt(n: float) -> str:
    return f"{n:,.0f}"


def _quota_time(amo: int, sheets_reads: int, sheets_writes: int) -> str:
    seconds = max(amo / AMO_PER_SECOND, 60 * max(sheets_reads, sheets_writes) / SHEETS_PER_MINUTE)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def check(measured: float, target: float) -> str:
    return "OK" if measured <= target else "MISSED"


def phase_rows(
    phase: dict[str, Any], n_cabinets: int, deals: int
) -> list[tuple[str, str, str, str]]:
    """(figure, target, measured, verdict) lines of one cycle."""
    routes = phase["amo_routes"]
    kinds = phase["sheets_kinds"]
    amo = sum(routes.values())
    lead_requests = routes.get("_get_leads", 0)
    master_calls = phase["master_calls"]
    cabinet_calls = phase["cabinet_calls"]
    master = sum(1 for c in master_calls if c != "drive version")
    cab_sheets = sum(1 for c in cabinet_calls if c != "drive version")
    cab_drive = len(cabinet_calls) - cab_sheets
    k, c = phase["leads_read"], phase["events"]
    name = phase["name"]
    out: list[tuple[str, str, str, str]] = []

    amo_text = f"{amo} ({_breakdown(routes, _route_label)})"
    if amo != phase["amo_client"]:
        amo_text += f"; the client sent {phase['amo_client']} (retries)"
    master_text = f"{master} ({_calls(master_calls)})"
    sheets_total = kinds.get("read", 0) + kinds.get("write", 0)
    if sheets_total != master + cab_sheets or kinds.get("drive", 0) != cab_drive:
        master_text += (
            f"; the emulator counted Sheets {sheets_total}, Drive {kinds.get('drive', 0)}"
        )
    if name == "first import":
        pages = min(lead_requests, _pages(k) if k else 0)
        out.append(
            (
                "amoCRM lead list requests",
                f"{_pages(deals)} pages (⌈{deals:,}/250⌉)",
                f"{lead_requests} ({pages} pages of leads + {lead_requests - pages} empty 204)",
                _first_pages_verdict(lead_requests, deals),
            )
        )
        out.append(("amoCRM requests, all", "—", amo_text, ""))
        out.append(("Sheets requests, master", "≤ 5", master_text, check(master, 5)))
    elif name.startswith("idle"):
        out.append(("amoCRM requests", "1", amo_text, check(amo, 1)))
        writes = master_calls.count("write")
        reads = master - writes
        out.append(
            (
                "Sheets requests, master",
                "≤ 1 read, 0 writes",
                master_text,
                "OK" if reads <= 1 and writes == 0 else "MISSED",
            )
        )
    else:
        target = _pages(k) + 2 * math.ceil(c / 50) + 2
        formula = f"⌈{k}/250⌉ + 2·⌈{c}/50⌉ + 2 = {target}"
        out.append(("amoCRM requests", f"≤ {formula}", amo_text, check(amo, target)))
        out.append(("Sheets requests, master", "≤ 3", master_text, check(master, 3)))
    if n_cabinets:
        sheets_calls = [x for x in cabinet_calls if x != "drive version"]
        cab_text = f"{cab_sheets} ({_calls(sheets_calls)})" if sheets_calls else "0"
        if cab_drive:
            cab_text += f" + {cab_drive} Drive version checks"
        if name.startswith("idle"):
            reads = sum(1 for x in cabinet_calls if x in ("read", "metadata", "locate rows"))
            writes = cabinet_calls.count("write")
            verdict = "OK" if reads <= n_cabinets and writes == 0 else "MISSED"
            out.append(
                (
                    "Sheets requests, cabinets",
                    f"≤ {n_cabinets} reads (1 per cabinet), 0 writes",
                    cab_text,
                    verdict,
                )
            )
        else:
            out.append(
                ("Sheets requests, cabinets", "— (1 read each + their writes)", cab_text, "")
            )

    naive_amo = lead_requests + k + 2 * phase["pushed"]
    naive_reads = 1 + n_cabinets
    naive_writes = phase["rows_written"]
    naive = naive_amo + naive_reads + naive_writes
    ours = amo + master + cab_sheets + cab_drive
    writes = master_calls.count("write") + cabinet_calls.count("write")
    out.append(
        (
            "per-row integration",
            "— (for comparison)",
            f"amoCRM {_fmt(naive_amo)} + Sheets {_fmt(naive_reads + naive_writes)}, "
            f"≈ {_quota_time(naive_amo, naive_reads, naive_writes)} at the quotas "
            f"(ours: {_quota_time(amo, master + cab_sheets - writes, writes)})",
            f"ours ×{naive / max(1, ours):,.0f} fewer",
        )
    )
    out.append(
        (
            "work done",
            "—",
            _work(phase),
            f"{len(phase['problems'])} problems" if phase["problems"] else "",
        )
    )
    idle = name.startswith("idle")
    out.append(
        (
            "CPU seconds",
            "≤ 0.5" if idle else "—",
            f"{phase['cpu']:.2f}",
            check(phase["cpu"], 0.5) if idle else "",
        )
    )
    out.append(("wall seconds", "—", f"{phase['wall']:.2f}", ""))
    since = "" if phase["peak_exact"] else ", since start"
    out.append(
        (
            "peak RSS, MB",
            "≤ 300",
            f"{phase['peak_mb']:.0f} (RSS before the cycle {phase['rss_before_mb']:.0f}{since})",
            check(phase["peak_mb"], 300),
        )
    )
    return out


def _breakdown(counts: dict[str, int], label: Callable[[str], str]) -> str:
    return ", ".join(f"{n} {label(r)}" for r, n in sorted(counts.items(), key=lambda x: -x[1]))


def _calls(calls: list[str]) -> str:
    counts: dict[str, int] = {}
    for call in calls:
        counts[call] = counts.get(call, 0) + 1
    return ", ".join(f"{n} {what}" for what, n in counts.items()) or "none"


def _route_label(route: str) -> str:
    return {
        "_get_leads": "lead list",
        "_get_users": "users",
        "_get_pipelines": "pipelines",
        "_patch_leads": "PATCH leads",
        "_post_lead_notes": "POST notes",
        "_get_notes": "GET notes",
    }.get(route, route)


def _first_pages_verdict(requests_: int, deals: int) -> str:
    if requests_ <= _pages(deals):
        return "OK"
    if requests_ == _pages(deals) + 1 and deals % 250 == 0:
        # The last full page carries a `next` link (amoCRM does, GH#193): the 204 behind it
        # is the only way to learn that the list has ended.
        return "MISSED by the closing 204"
    return "MISSED"


def _rw(reads: int, writes: int, cabinets: int) -> str:
    text = f"all spreadsheets: {reads} read, {writes} write"
    return text if cabinets else text.replace("all spreadsheets: ", "")


def _work(phase: dict[str, Any]) -> str:
    parts = [f"{_fmt(phase['leads_read'])} leads read"]
    if phase["new_rows"]:
        parts.append(f"{_fmt(phase['new_rows'])} new rows")
    if phase["updated_rows"]:
        parts.append(f"{_fmt(phase['updated_rows'])} rows updated")
    if phase["events"]:
        pushed = f"{phase['pushed']}/{phase['events']} ticks pushed"
        parts.append(f"{pushed}, {phase['lead_patches']} deals patched")
    parts.append(
        f"{_fmt(phase['rows_written'])} rows / {_fmt(phase['cells_written'])} cells written"
    )
    if phase.get("write_bytes"):
        parts.append(f"write bodies {phase['write_bytes'] / MB:.1f} MB")
    return ", ".join(parts)


def print_report(results: list[dict[str, Any]], args: argparse.Namespace, took: float) -> list[str]:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(160, shutil.get_terminal_size((160, 40)).columns))
    setup = results[0]["setup"]
    console.print(
        f"[bold]sheetledger sync benchmark[/] — {setup['deals']:,} deals, "
        f"{setup['payments']:,} payments ({setup['slots']} slots), {setup['expenses']:,} expenses; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs. Emulators in a separate "
        "process; each scenario measured in a fresh one."
    )
    missed: list[str] = []
    for result in results:
        table = Table(
            title=f"{SCENARIOS[result['scenario']]} — measured process RSS before the first cycle "
            f"{result['baseline_rss_mb']:.0f} MB"
            + (
                " (with the daemon's bot and scheduler modules loaded, and its heap settled"
                " as `sheetledger run` settles it: lifecycle.settle_heap)"
                if result["daemon_modules"]
                else ""
            ),
            title_justify="left",
            show_lines=False,
        )
        for column, style, width in (
            ("cycle", "bold", 13),
            ("figure", "", 17),
            ("target (docs/architecture.md)", "cyan", 30),
            ("measured", "", 62),
            ("OK", "", 16),
        ):
            table.add_column(column, style=style, overflow="fold", max_width=width)
        for phase in result["phases"]:
            first = True
            for figure, target, measured, verdict in phase_rows(
                phase, result["cabinets"], setup["deals"]
            ):
                shown = verdict
                if verdict.startswith("MISSED"):
                    shown = f"[bold red]{verdict}[/]"
                    missed.append(
                        f"{SCENARIOS[result['scenario']]}, {phase['name']}: {figure} "
                        f"{measured.split(':')[0]} (target {target})"
                    )
                elif verdict == "OK":
                    shown = "[green]OK[/]"
                table.add_row(phase["name"] if first else "", figure, target, measured, shown)
                first = False
            table.add_section()
        console.print(table)
        for phase in result["phases"]:
            for problem in phase["problems"][:5]:
                console.print(f"  [yellow]problem[/] ({phase['name']}): {problem}")
    console.print(
        "per-row integration: one GET per lead read (after the same list pages), one PATCH and one "
        "note POST per tick, one Sheets read per spreadsheet and one Sheets write per row written; "
        "'at quota' = amoCRM 7 requests/s, Sheets 60 requests/min per user."
    )
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in setup["seed_seconds"].items())
    console.print(
        f"seeding (child process, not measured): {timings}; whole benchmark {took:.0f} s."
    )
    if missed:
        console.print("[bold red]MISSED targets:[/]")
        for line in missed:
            console.print(f"  [red]MISSED[/] {line}")
    else:
        console.print("[bold green]All the targets of docs/architecture.md met.[/]")
    return missed


# =========================================================================== entry point


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=10_000, help="deals to seed (3 payments each)")
    parser.add_argument("--expenses", type=int, default=50_000, help="expense rows to seed")
    parser.add_argument("--changed", type=int, default=100, help="deals a manager changes")
    parser.add_argument("--ticks", type=int, default=100, help="payments a person ticks")
    parser.add_argument("--scenario", choices=[*SCENARIOS, "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="1,000 deals and 5,000 expenses")
    parser.add_argument("--keep", action="store_true", help="keep the sandbox folders")
    parser.add_argument(
        "--profile", metavar="PHASE", help="cProfile the phases whose name starts so (e.g. idle)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--worker", choices=list(SCENARIOS), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.deals, args.expenses = 1_000, 5_000
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.worker:  # a measured process: one scenario, figures to --out
        result = run_scenario(args.worker, args)
        args.out.write_text(json.dumps(result), encoding="utf-8")
        return 0
    started = time.perf_counter()
    scenarios = list(SCENARIOS) if args.scenario == "both" else [args.scenario]
    results = []
    passthrough = [
        "--deals",
        str(args.deals),
        "--expenses",
        str(args.expenses),
        "--changed",
        str(args.changed),
        "--ticks",
        str(args.ticks),
    ]
    if args.keep:
        passthrough.append("--keep")
    if args.profile:
        passthrough += ["--profile", args.profile]
    for scenario in scenarios:
        print(f"bench: {SCENARIOS[scenario]} — seeding and measuring…", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "result.json"
            done = subprocess.run(
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--worker",
                    scenario,
                    "--out",
                    str(out),
                    *passthrough,
                ],
                check=False,
            )
            if done.returncode != 0 or not out.exists():
                print(f"bench: the {scenario} run failed (exit {done.returncode})", file=sys.stderr)
                return 1
            results.append(json.loads(out.read_text(encoding="utf-8")))
    print_report(results, args, time.perf_counter() - started)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
