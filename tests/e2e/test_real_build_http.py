"""Issue 5, point 1: an http service's image builds, runs as uid 1001, answers /health on the
PORT it is given, and Docker's own HEALTHCHECK reaches `healthy`."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.e2e

SERVICE = "api-gateway"  # image default PORT=3000; the test gives it another port
# Docker runs the image's own HEALTHCHECK command; only its timing is shortened here so the
# suite does not wait 20 s of start period and 30 s of interval.
HEALTH_TIMING = (
    "--health-interval=1s",
    "--health-start-period=30s",
    "--health-timeout=5s",
    "--health-retries=3",
)


@pytest.fixture(scope="module")
def http_service(engine, images, free_port) -> Iterator[tuple[object, int]]:
    image = images.get(SERVICE)
    port = free_port()
    container = engine.run(
        image, SERVICE, network="host", env={"PORT": str(port)}, options=HEALTH_TIMING
    )
    container.wait_for(rf"^HTTP_READY name={SERVICE} port={port}$")
    yield container, port


def test_http_service_runs_as_uid_1001(http_service):
    container, _ = http_service
    status = container.exec("cat", "/proc/1/status")
    uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
    assert uids == ["1001"] * 4, status
    assert container.inspect()["Config"]["User"] == "nodejs"


def test_http_service_answers_health_on_the_port_it_was_given(http_service):
    container, port = http_service
    status, body = container.get(port, "/health")
    assert status == 200
    assert json.loads(body) == {"status": "ok", "service": SERVICE}


def test_http_service_healthcheck_reaches_healthy(engine, http_service):
    container, _ = http_service
    details = container.inspect()
    image_check = engine.image_inspect(container.image)["Config"]["Healthcheck"]["Test"]
    assert details["Config"]["Healthcheck"]["Test"] == image_check, "not the image's command"
    deadline = time.monotonic() + 60
    while (health := container.inspect()["State"]["Health"])["Status"] != "healthy":
        assert health["Status"] != "unhealthy", health["Log"]
        assert time.monotonic() < deadline, f"still {health['Status']} after 60 s: {health}"
        time.sleep(0.5)
    assert health["Log"][-1]["ExitCode"] == 0


def test_http_service_stops_cleanly_on_sigterm(http_service):
    container, _ = http_service
    exit_code, seconds = container.stop()
    assert exit_code == 0, container.logs()
    assert seconds < 9, f"docker stop took {seconds:.1f} s: SIGTERM was not handled"
