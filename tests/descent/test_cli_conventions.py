"""The conventions of the `descent` command: --version, usage, --json everywhere, exit 130 on
Ctrl-C, the early-stopping options, `jobs watch` on a finished job, the plot hint."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from descent_server import ROOT, Server
from descent_testdata import blobs

from descent import Client
from descent.cli import build_parser
from service.commands import keys as keys_command

pytestmark = [pytest.mark.system]

# `descent serve` and `descent worker` run until stopped and print logs, not results.
DAEMONS = {"serve", "worker"}


def python(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return python("-m", "service.cli", *args, env=env)


def test_version_prints_the_installed_distributions_version() -> None:
    shown = run("--version")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"descent {version('descent')}"


def test_no_arguments_prints_usage_on_stderr_and_exits_2() -> None:
    bare = run()
    assert bare.returncode == 2 and bare.stdout == ""
    assert bare.stderr.startswith("usage: descent") and "jobs" in bare.stderr
    assert run("--help").returncode == 0


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[Any]:
    """(command path, parser) of every runnable command below ``parser``."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _leaves(sub, (*path, name))
    return found or [(path, parser)]


def test_every_command_that_prints_takes_json() -> None:
    from service.cli import COMMANDS

    leaves = _leaves(build_parser()) + [(("keys", *p), q) for p, q in
                                         _leaves(keys_command.parser())]
    covered = {path[0] for path, _ in leaves} | {"migrate"} | DAEMONS
    assert covered == set(COMMANDS)
    missing = [" ".join(path) for path, parser in leaves
               if "--json" not in parser._option_string_actions]
    assert not missing, f"no --json on: {missing}"


def test_keys_and_migrate_print_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    migrated = json.loads(run("migrate", "--database-url", url, "--json").stdout)
    assert migrated["migrated"] is True and migrated["from"] is None and migrated["to"]
    again = json.loads(run("migrate", "--database-url", url, "--json").stdout)
    assert again["migrated"] is False and again["to"] == migrated["to"]

    created = run("keys", "create", "--tenant", "acme", "--label", "ci", "--json",
                  "--database-url", url)
    key = json.loads(created.stdout)
    assert key["tenant"] == "acme" and key["label"] == "ci" and key["key"]
    listed = json.loads(run("keys", "list", "--json", "--database-url", url).stdout)["data"]
    assert [(k["id"], k["tenant"], k["revoked_at"]) for k in listed] == [
        (key["id"], "acme", None)]
    assert key["key"] not in json.dumps(listed)
    revoked = json.loads(run("keys", "revoke", key["id"], "--json", "--database-url", url).stdout)
    assert revoked == {"id": key["id"], "revoked": True}
    listed = json.loads(run("keys", "list", "--json", "--database-url", url).stdout)["data"]
    assert listed[0]["revoked_at"] is not None


def test_ctrl_c_exits_130_without_a_traceback() -> None:
    """A server that accepts and never answers: the command waits until Ctrl-C."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        env = {**os.environ, "DESCENT_URL": url, "DESCENT_API_KEY": "dk_unused"}
        waiting = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "jobs", "list"], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            connection, _ = silent.accept()  # the request is on its way: it waits now
            with connection:
                time.sleep(0.5)
                waiting.send_signal(signal.SIGINT)
                _, stderr = waiting.communicate(timeout=60)
        finally:
            if waiting.poll() is None:
                waiting.kill()
    assert waiting.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr


def test_plot_names_the_plot_extra_when_matplotlib_is_missing() -> None:
    refused = python("-c", "import sys; sys.modules['matplotlib'] = None; from service.cli "
                     "import main; sys.exit(main(['plot', 'job_x', '--url', "
                     "'http://127.0.0.1:9']))")
    assert refused.returncode == 2, refused.stderr
    assert "matplotlib" in refused.stderr and "'.[plot]'" in refused.stderr
    assert "descent[plot]" not in refused.stderr  # PyPI's `descent` is another project


@pytest.mark.slow
def test_early_stopping_options_reach_the_spec(server: Server, tmp_path: Path) -> None:
    X, y = blobs(n=90, seed=3)
    with Client(server.url, server.api_key) as client:
        dataset = client.upload_dataset(X, y)

    def submitted(*args: str) -> dict[str, Any]:
        done = run("jobs", "submit", "--dataset", dataset.id, "--epochs", "2", "--json", *args,
                   env=server.env())
        assert done.returncode == 0, done.stderr
        training: dict[str, Any] = json.loads(done.stdout)["spec"]["training"]
        return training

    assert submitted("--no-early-stopping")["early_stopping"] is None
    assert submitted("--patience", "3")["early_stopping"]["patience"] == 3
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"training": {"early_stopping": {"min_delta": 0.5}}}))
    kept = submitted(str(spec), "--patience", "4")["early_stopping"]
    assert (kept["patience"], kept["min_delta"]) == (4, 0.5)
    both = run("jobs", "submit", "--dataset", dataset.id, "--patience", "3",
               "--no-early-stopping", env=server.env())
    assert both.returncode == 2 and "not allowed with" in both.stderr
    assert run("jobs", "submit", "--dataset", dataset.id, "--patience", "0",
               env=server.env()).returncode == 2


@pytest.mark.slow
def test_watch_on_a_finished_job_shows_its_final_epoch(server: Server) -> None:
    X, y = blobs(n=90, seed=4)
    with Client(server.url, server.api_key) as client:
        dataset = client.upload_dataset(X, y)
        job = client.wait(client.submit_job(dataset_id=dataset.id, training={
            "epochs": 7, "early_stopping": None}).id, timeout=180)
    assert job.status == "succeeded" and job.epoch == 7
    watched = run("jobs", "watch", job.id, env=server.env())
    assert watched.returncode == 0, watched.stderr
    assert "epoch 7/7" in watched.stderr and "epoch 0/" not in watched.stderr
    assert "loss" in watched.stderr


@pytest.mark.slow
def test_uploading_known_content_under_a_new_name_says_so(server: Server, tmp_path: Path) -> None:
    X, y = blobs(n=45, seed=5)
    data = tmp_path / "same.csv"
    data.write_text("a,b,c,d,label\n" + "\n".join(
        ",".join(f"{v:.6f}" for v in row) + f",{label}" for row, label in zip(X, y, strict=True)))
    first = run("datasets", "upload", str(data), "--target", "label", "--name", "march", "--json",
                env=server.env())
    assert first.returncode == 0, first.stderr
    original = json.loads(first.stdout)
    assert original["deduplicated"] is False and first.stderr == ""
    again = run("datasets", "upload", str(data), "--target", "label", "--name", "april",
                env=server.env())
    assert again.returncode == 0, again.stderr
    assert original["id"] in again.stderr and "deduplicated" in again.stderr
    assert "'march'" in again.stderr and "'april' was not applied" in again.stderr
    assert original["id"] in again.stdout  # the existing dataset is shown
    with Client(server.url, server.api_key) as client:
        dataset = client.upload_dataset(data, target="label", name="may")
    assert (dataset.id, dataset.name, dataset.deduplicated) == (original["id"], "march", True)
    assert dataset.message and "'may' was not applied" in dataset.message
