"""The daemon's reconcile, backup and digest jobs: scheduled, run, recorded for status."""

from __future__ import annotations

from datetime import date

import pytest

from sheetledger.bot.identity import make_bot
from sheetledger.connect import Clients, build_google
from sheetledger.daemon import Daemon
from tests.e2e.world import CASH, make_world


@pytest.fixture
def world(tmp_path):
    made = make_world(tmp_path / "world")
    yield made
    made.box.stop(save=False)
    made.store.close()


def test_the_daemon_schedules_and_runs_the_nightly_jobs(world):
    world.deal("700", payments=((30_000, CASH, date(2026, 11, 1)),))
    world.sync()
    clients = Clients(
        crm=world.crm, google=build_google(world.config), telegram=make_bot(world.config.telegram)
    )
    daemon = Daemon(world.config, clients, store=world.store, with_bot=False, now=world.now)
    daemon.schedule()
    jobs = {job.id: job for job in daemon.scheduler.get_jobs()}
    assert {"sync", "reconcile", "backup", "digest"} <= set(jobs)
    assert "hour='2'" in str(jobs["reconcile"].trigger) and "minute='30'" in str(
        jobs["reconcile"].trigger
    )
    assert "hour='3'" in str(jobs["backup"].trigger)

    jobs["reconcile"].func()
    jobs["backup"].func()
    runs = {run["job"]: run for run in world.store.job_runs()}
    assert runs["reconcile"]["ok"] == 1 and "1 warnings" in runs["reconcile"]["detail"]
    assert runs["backup"]["ok"] == 1 and runs["backup"]["detail"].startswith("saved ")
    assert [r["Code"] for r in world.rows("reconciliation")][:-1] == ["CASH_HELD"]
    assert len(list((world.config.state_dir / "backups").iterdir())) == 1
