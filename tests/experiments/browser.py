"""A notebook served by Voilà and a headless Debian Chromium driven by Selenium, as context managers that
always stop what they started. ``missing_browser()`` names what is missing (None: everything is here)."""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

#: Chromium's flags for a closed network (no background connections, no sandbox as root, a fresh profile).
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,2400",
)


def missing_browser() -> str | None:
    """Why the browser test cannot run here, or None."""
    for program in ("chromium", "chromedriver"):
        if shutil.which(program) is None:
            return f"{program} is not installed (Debian: apt-get install chromium chromium-driver)"
    if importlib.util.find_spec("voila") is None:
        return "voila is not installed (pip install -e '.[dev]')"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_server(host: str, port: int, server: subprocess.Popen[bytes], timeout: float) -> None:
    """Until the server accepts connections (a page request would start a kernel, so none is made)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"voila exited with code {server.returncode} before listening on port {port}")
        try:
            with socket.create_connection((host, port), timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"voila did not listen on {host}:{port} within {timeout:.0f} s")


@contextmanager
def voila_page(notebook: Path, log: Path, timeout: float = 60.0) -> Iterator[str]:
    """Serves ``notebook`` with Voilà on a free loopback port; yields its URL. The server's output goes to
    ``log``; the server is stopped on exit."""
    port = _free_port()
    command = [sys.executable, "-m", "voila", notebook.name, f"--port={port}", "--no-browser"]
    command += ["--Voila.ip=127.0.0.1", "--Voila.tornado_settings={'autoreload': False}"]
    with log.open("wb") as output:
        server = subprocess.Popen(command, cwd=notebook.parent, stdout=output, stderr=subprocess.STDOUT)
        try:
            _wait_for_server("127.0.0.1", port, server, timeout)
            yield f"http://127.0.0.1:{port}/"
        finally:
            server.terminate()
            server.wait(timeout=30)


@contextmanager
def headless_chromium() -> Iterator[webdriver.Chrome]:
    """Debian's Chromium through its own ChromeDriver (no driver or browser download); quit on exit."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(shutil.which("chromium"))
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(shutil.which("chromedriver"))), options=options)
    try:
        yield driver
    finally:
        driver.quit()
