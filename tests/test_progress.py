"""Long work says where it is in plain lines wherever no bar does: on stderr, and in the run's log."""

import logging
import re

from benchbench.cli import cli
from benchbench.core.progress import Heartbeat, duration

SMOKE = ["run", "--grid", "smoke", "--methods", "beta_vae", "--device", "cpu", "--pack-size", "16", "--steps", "10"]
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d "


def said(text: str) -> list[str]:
    """The progress lines of ``text``, without their time stamps."""
    return [line[20:] for line in text.splitlines() if re.match(STAMP, line)]


def test_without_a_terminal_a_run_says_each_pack_and_evaluation_and_its_log_keeps_them(tmp_path, cli_runner):
    out = cli_runner.invoke(cli, [*SMOKE, "--results", str(tmp_path), "--no-progress"])
    assert out.exit_code == 0, out.output
    lines = said(out.stderr)
    assert lines[0] == "smoke: 2 cells; 2 to train in 1 packs, 0 trained to evaluate"
    pack = re.fullmatch(r"pack (\w{16}) \(2 × beta_vae on shapes2d, cpu\): training from step 0 to 10", lines[1])
    assert pack and re.fullmatch(rf"pack {pack[1]}: trained in \d+\.\d s \([\d.]+ steps/s\), 2 finished", lines[2])
    evaluations = [line for line in lines if re.search(r": \w+ done in \d", line)]
    assert len(evaluations) == 12 and lines.count("shapes2d/beta_vae(beta=8)/s0: 6 evaluations to compute") == 1
    log = (tmp_path / "smoke" / "progress.log").read_text()
    assert said(log)[:-1] == lines and said(log)[-1].endswith(": finished")
    again = cli_runner.invoke(cli, [*SMOKE, "--results", str(tmp_path), "--progress"])
    assert again.exit_code == 0 and not said(again.stderr)  # bars instead (nothing to do: nothing but the plan)
    assert said((tmp_path / "smoke" / "progress.log").read_text())[-2] == lines[0].replace(
        "2 to train in 1 packs, 0", "0 to train in 0 packs, 0"
    )


def test_a_command_with_nothing_to_say_leaves_no_log(tmp_path, cli_runner):
    bad = cli_runner.invoke(cli, ["run", "--grid", "smoke", "--methods", "nope", "--results", str(tmp_path)])
    assert bad.exit_code == 2 and not list(tmp_path.rglob("progress.log"))


def test_a_heartbeat_says_step_rate_and_time_left_at_most_once_a_minute(caplog):
    now = [0.0]
    beat = Heartbeat("pack p", total=1000, done=100, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="benchbench"):
        for _ in range(90):  # 10 steps every 10 s: 1 step/s
            now[0] += 10
            beat(10)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "pack p: step 160 of 1,000, 1 steps/s, 14 min 0 s to go"  # at 60 s: 60 steps done, 840 left
    assert len(lines) == 14  # every 60 s of 900, until the last step (said by the pack's own line)


def test_a_download_heartbeat_says_megabytes(caplog):
    now = [0.0]
    beat = Heartbeat("fetching b", total=50_000_000, clock=lambda: now[0], unit="MB", scale=1e6)
    with caplog.at_level(logging.INFO, logger="benchbench"):
        for _ in range(12):  # 4 MB every 30 s
            now[0] += 30
            beat(4_000_000)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "fetching b: 8.0 of 50.0 MB, 0.133 MB/s, 5 min 15 s to go"  # 42 MB left at 8/60 MB/s
    assert len(lines) == 6


def test_durations_read_at_a_glance():
    assert [duration(s) for s in (0.04, 9.94, 42.4, 185, 7440)] == ["0.0 s", "9.9 s", "42 s", "3 min 5 s", "2 h 4 min"]
