"""Process control of the stack with throwaway services (no real engine): start, health, failures, stop, ports."""

from __future__ import annotations

import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from dp_core.config import LoadedConfig
from dp_localstack.errors import InstallError, MissingToolError, PortInUseError, ServiceStartError
from dp_localstack.health import Health
from dp_localstack.install import install_maven_runtime, require_tools
from dp_localstack.layout import Layout
from dp_localstack.process import PidRecord, live_process
from dp_localstack.services import ServiceSpec
from dp_localstack.stack import LocalStack

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spec(name: str, command: list[str], healthy: bool = True, port: int = 0) -> ServiceSpec:
    return ServiceSpec(
        name=name,
        group="core",
        port=port,
        description="test service",
        command=lambda: command,
        health=lambda: Health(healthy, "ok" if healthy else "never healthy"),
    )


@pytest.fixture
def stack(tmp_config: LoadedConfig) -> Iterator[LocalStack]:
    stack = LocalStack(tmp_config.settings, Layout.from_config(tmp_config))
    stack.layout.runtime.mkdir(parents=True)
    yield stack
    stack.down()


def test_start_ps_and_down(stack: LocalStack) -> None:
    stack.services = [spec("sleeper", SLEEPER)]
    [started] = stack.up()
    assert not started.already_running
    [row] = stack.ps()
    assert row.state == "healthy" and row.pid is not None and row.rss_bytes > 0
    assert row.log_file.endswith("logs/sleeper.log")
    # running twice is harmless: the same process is kept
    [again] = stack.up()
    assert again.already_running and stack.ps()[0].pid == row.pid
    assert stack.down() == ["sleeper"]
    assert stack.ps()[0].state == "stopped"
    assert not psutil.pid_exists(row.pid) or psutil.Process(row.pid).status() == psutil.STATUS_ZOMBIE


def test_unhealthy_service_is_reported(stack: LocalStack) -> None:
    stack.services = [spec("sleeper", SLEEPER)]
    stack.up()
    stack.services = [spec("sleeper", SLEEPER, healthy=False)]
    [row] = stack.ps()
    assert row.state == "unhealthy" and row.detail == "never healthy"


def test_process_that_exits_fails_with_its_log(stack: LocalStack) -> None:
    stack.services = [spec("crasher", [sys.executable, "-c", "print('boom: bad config'); raise SystemExit(3)"], False)]
    with pytest.raises(ServiceStartError, match="crasher did not start: the process exited") as exc:
        stack.up()
    assert "boom: bad config" in str(exc.value)
    assert str(exc.value).endswith("logs/crasher.log)")


def test_never_healthy_times_out_instead_of_hanging(stack: LocalStack) -> None:
    stack.services = [spec("stuck", SLEEPER, healthy=False)]
    with pytest.raises(ServiceStartError, match=r"not healthy after 2 s \(never healthy\)"):
        stack.up()


def test_taken_port_names_the_port_and_the_process(stack: LocalStack) -> None:
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        stack.services = [spec("wants-port", SLEEPER, port=port)]
        with pytest.raises(PortInUseError) as exc:
            stack.up()
    message = str(exc.value)
    assert f"port {port} is already taken by pid {psutil.Process().pid}" in message
    assert message.startswith("cannot start wants-port")


def test_stubborn_process_is_killed_after_the_grace_period(stack: LocalStack, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    script = (
        "import pathlib, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "pathlib.Path(sys.argv[1]).touch(); time.sleep(60)"
    )
    stack.services = [
        ServiceSpec(
            name="stubborn",
            group="core",
            port=0,
            description="ignores SIGTERM",
            command=lambda: [sys.executable, "-c", script, str(ready)],
            health=lambda: Health(ready.exists()),
        )
    ]
    stack.up()
    lines: list[str] = []
    stack.echo = lines.append
    assert stack.down() == ["stubborn"]
    assert any("killed after the grace period" in line for line in lines), lines


def test_stale_pid_file_is_not_mistaken_for_a_running_service(tmp_path: Path) -> None:
    pid_file = tmp_path / "x.pid"
    PidRecord(pid=psutil.Process().pid, create_time=1.0).write(pid_file)  # our pid, another start time
    assert live_process(pid_file) is None
    PidRecord(pid=psutil.Process().pid, create_time=psutil.Process().create_time()).write(pid_file)
    assert live_process(pid_file) is not None


def test_clean_wipes_data_but_keeps_artifacts(stack: LocalStack) -> None:
    (stack.layout.data("x")).mkdir(parents=True)
    stack.layout.jars("kafka").mkdir(parents=True)
    stack.services = []
    stack.clean()
    assert not (stack.layout.runtime / "data").exists()
    assert stack.layout.jars("kafka").exists()


def test_missing_tool_says_what_to_install() -> None:
    with pytest.raises(MissingToolError, match="`no-such-tool-xyz` is not installed"):
        require_tools("no-such-tool-xyz")


def test_second_install_fetches_nothing(tmp_config: LoadedConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    layout = Layout.from_config(tmp_config)
    definitions = layout.repo / "local" / "runtime" / "kafka" / "pom.xml"
    monkeypatch.setattr(Layout, "definitions", property(lambda self: definitions.parent.parent))
    import hashlib

    layout.jars("kafka").mkdir(parents=True)
    (layout.jars("kafka") / "kafka.jar").write_bytes(b"")
    layout.stamps.mkdir(parents=True)
    (layout.stamps / "jars-kafka").write_text(hashlib.sha256(definitions.read_bytes()).hexdigest())
    monkeypatch.setenv("PATH", "/nonexistent")  # no mvn: proves nothing is fetched
    assert install_maven_runtime(layout, "kafka", lambda _: None) is False
    (layout.stamps / "jars-kafka").write_text("an older pom")
    with pytest.raises((MissingToolError, InstallError)):
        install_maven_runtime(layout, "kafka", lambda _: None)


def test_signal_choice_is_per_service(tmp_config: LoadedConfig) -> None:
    from dp_localstack.services import all_services

    services = {s.name: s for s in all_services(tmp_config.settings, Layout.from_config(tmp_config))}
    assert services["postgres"].stop_signal == signal.SIGINT  # fast shutdown, not "wait for clients"
    assert services["kafka"].stop_signal == signal.SIGTERM


def test_services_are_named_one_by_one_or_by_family(tmp_config: LoadedConfig) -> None:
    stack = LocalStack(tmp_config.settings, Layout.from_config(tmp_config))
    assert [s.name for s in stack.named(["airflow"])] == [
        "airflow-api", "airflow-scheduler", "airflow-dags", "airflow-triggerer"
    ]  # fmt: skip
    assert [s.name for s in stack.named(["flink-taskmanager", "kafka"])] == ["kafka", "flink-taskmanager"]
    with pytest.raises(KeyError, match="airflo"):
        stack.named(["airflo"])
