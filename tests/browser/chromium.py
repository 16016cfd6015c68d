"""Headless Chromium for the browser tests: install it when missing, drive it over the Chrome
DevTools protocol on a pipe (``--remote-debugging-pipe``: no port, no websocket library, no
Playwright download), and read its network log.

Only Debian's ``chromium`` package is used, with the flags that work on a closed network.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Flags that keep Chromium quiet on a closed network (no GPU, no QUIC, no background fetches).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WINDOW = (1280, 2000)
#: Full-page screenshots are cut at this height (pixels).
MAX_SHOT_HEIGHT = 8000

INSTALL = "apt-get update && apt-get install -y chromium"


def find_chromium() -> str | None:
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def ensure_chromium() -> str:
    """The path of Debian's ``chromium``, installed with apt when missing (root only).

    Raises:
        RuntimeError: with what to do, when it is missing and cannot be installed.
    """
    found = find_chromium()
    if found:
        return found
    if os.geteuid() != 0:
        raise RuntimeError(
            f"Debian's chromium is not installed and the tests are not running as root: "
            f"run `{INSTALL}` as root (the CI script .ci/run does), then rerun the tests."
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log: list[str] = []
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
        log.append(
            f"$ {' '.join(cmd)} (exit {proc.returncode})\n{proc.stdout[-2000:]}"
            f"{proc.stderr[-2000:]}"
        )
        if proc.returncode != 0:
            raise RuntimeError(
                "could not install Debian's chromium for the browser tests:\n" + "\n".join(log)
            )
    found = find_chromium()
    if not found:
        raise RuntimeError("apt-get installed chromium but no `chromium` is on the PATH")
    return found


class CDPError(RuntimeError):
    pass


@dataclass
class PageVisit:
    """What the browser saw on one page."""

    url: str
    requests: list[dict] = field(default_factory=list)  # Network.requestWillBeSent params
    failed: list[dict] = field(default_factory=list)  # Network.loadingFailed params
    metrics: list[dict] = field(default_factory=list)  # every [data-metric] element
    dom: dict[str, Any] = field(default_factory=dict)  # the rest of DOM_PROBE's answer


#: Run in the page (DevTools evaluation is not a page script, so the CSP does not apply) to
#: read what Chromium rendered: each figure with its data-* attributes, its shown text, whether
#: it has a box on screen, and the rows, tables and sections it sits in.
DOM_PROBE = r"""
(() => {
  const data = el => el ? Object.fromEntries(
      [...el.attributes].filter(a => a.name.startsWith('data-') || a.name === 'id' ||
                                     a.name === 'class').map(a => [a.name, a.value])) : null;
  const box = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const metrics = [...document.querySelectorAll('[data-metric]')].map(el => ({
    attrs: data(el), text: el.innerText.trim(), visible: box(el),
    row: data(el.closest('tr')), table: data(el.closest('table')),
    section: data(el.closest('section')),
  }));
  const rows = [...document.querySelectorAll('tr[data-source-line]')].map(tr => ({
    attrs: data(tr), table: data(tr.closest('table')), section: data(tr.closest('section')),
    cells: [...tr.cells].map(td => td.innerText.trim()),
  }));
  const figures = [...document.querySelectorAll('figure')].map(f => {
    const svg = f.querySelector('svg');
    return {attrs: data(f), svg: !!svg, visible: svg ? box(svg) : false,
            paths: f.querySelectorAll('path').length};
  });
  const withLoad = [...document.querySelectorAll('[data-load-id]')].map(
      el => el.getAttribute('data-load-id'));
  const withSource = [...document.querySelectorAll('[data-source-id]')].map(
      el => el.getAttribute('data-source-id'));
  return {title: document.title, h1: (document.querySelector('h1') || {}).innerText || '',
          text: document.body.innerText, html: document.documentElement.outerHTML,
          metrics, rows, figures, load_ids: withLoad, source_ids: withSource,
          scripts: document.scripts.length};
})()
"""


class Chromium:
    """One headless Chromium, driven over ``--remote-debugging-pipe`` with a single tab."""

    def __init__(self, binary: str, workdir: Path, net_log: Path | None = None):
        self.workdir = workdir
        self.net_log = net_log
        profile = workdir / "profile"
        profile.mkdir(parents=True, exist_ok=True)
        args = [
            binary,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--remote-debugging-pipe",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            "--hide-scrollbars",
        ]
        if net_log is not None:
            args.append(f"--log-net-log={net_log}")
        args.append("about:blank")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def child_fds() -> None:  # Chromium reads commands on fd 3 and answers on fd 4
            r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self._stderr = open(workdir / "chromium.stderr.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=self._stderr,
            stderr=self._stderr,
            preexec_fn=child_fds,  # noqa: PLW1509
            pass_fds=(3, 4),
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next_id = 0
        self._inbox: queue.Queue = queue.Queue()
        self.events: list[dict] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for method in ("Page.enable", "Network.enable", "Runtime.enable"):
            self.call(method, session=self.session)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False},
            session=self.session,
        )

    # ------------------------------------------------------------------------ protocol
    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_chrome, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                self._inbox.put(None)
                return
            buf += chunk
            *messages, buf = buf.split(b"\0")
            for m in messages:
                self._inbox.put(json.loads(m))

    def _take(self, deadline: float) -> dict:
        left = deadline - time.monotonic()
        if left <= 0:
            raise CDPError("Chromium did not answer in time")
        try:
            msg = self._inbox.get(timeout=left)
        except queue.Empty as exc:
            raise CDPError("Chromium did not answer in time") from exc
        if msg is None:
            raise CDPError(f"Chromium closed the pipe (exit code {self.proc.poll()})")
        return msg

    def call(
        self,
        method: str,
        params: dict | None = None,
        session: str | None = None,
        timeout: float = 20.0,
    ) -> dict:
        self._next_id += 1
        mid = self._next_id
        msg: dict[str, Any] = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            got = self._take(deadline)
            if got.get("id") == mid:
                if "error" in got:
                    raise CDPError(f"{method}: {got['error']}")
                return got.get("result", {})
            if "method" in got:
                self.events.append(got)

    def wait_event(self, method: str, since: int, timeout: float = 20.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events[since:]:
                if e["method"] == method and e.get("sessionId") == self.session:
                    return e
            got = self._take(deadline)
            if "method" in got:
                self.events.append(got)

    # ------------------------------------------------------------------------- pages
    def visit(self, url: str, screenshot: Path | None = None) -> PageVisit:
        """Open ``url``, wait for its load event, and read what was requested and rendered."""
        since = len(self.events)
        nav = self.call("Page.navigate", {"url": url}, session=self.session)
        if nav.get("errorText"):
            raise CDPError(f"{url}: {nav['errorText']}")
        self.wait_event("Page.loadEventFired", since)
        visit = PageVisit(url=url)
        probe = self.call(
            "Runtime.evaluate",
            {"expression": DOM_PROBE, "returnByValue": True},
            session=self.session,
        )
        if "exceptionDetails" in probe:
            raise CDPError(f"{url}: {probe['exceptionDetails']}")
        visit.dom = probe["result"]["value"]
        visit.metrics = visit.dom.pop("metrics")
        if screenshot is not None:
            self.screenshot(screenshot)
        # Every request the page made, including any the CSP blocked.
        for e in self.events[since:]:
            if e.get("sessionId") != self.session:
                continue
            if e["method"] == "Network.requestWillBeSent":
                visit.requests.append(e["params"])
            elif e["method"] == "Network.loadingFailed":
                visit.failed.append(e["params"])
        return visit

    def screenshot(self, path: Path) -> None:
        """A PNG of the whole page, 1280 pixels wide (cut at MAX_SHOT_HEIGHT)."""
        layout = self.call("Page.getLayoutMetrics", session=self.session)
        size = layout.get("cssContentSize") or layout["contentSize"]
        height = min(max(int(size["height"]), WINDOW[1] // 4), MAX_SHOT_HEIGHT)
        shot = self.call(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": WINDOW[0], "height": height, "scale": 1},
            },
            session=self.session,
            timeout=60.0,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        """Close the browser cleanly (so the net log is complete), killing it if it hangs."""
        try:
            self.call("Browser.close", timeout=10.0)
        except CDPError:
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        self._stderr.close()


# ------------------------------------------------------------------------------ net log
def net_log_requests(path: Path) -> list[dict]:
    """Every request Chromium's network stack started (``URL_REQUEST_START_JOB``): url,
    method, initiator, network isolation key. ``file://`` pages are read without the network
    stack, so a page that loads only its own files adds nothing here."""
    text = path.read_text(encoding="utf-8", errors="replace").rstrip()
    try:
        log = json.loads(text)
    except json.JSONDecodeError:  # cut short: close the events array ourselves
        log = json.loads(text.rstrip(",\n ") + "]}")
    types = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    out = []
    for e in log["events"]:
        p = e.get("params") or {}
        if types.get(e["type"]) == "URL_REQUEST_START_JOB" and "url" in p:
            out.append(
                {
                    "url": p.get("url", ""),
                    "method": p.get("method"),
                    "initiator": p.get("initiator", ""),
                    "network_isolation_key": p.get("network_isolation_key", ""),
                    "site_for_cookies": p.get("site_for_cookies", ""),
                }
            )
    return out


def made_for_a_file_page(request: dict) -> bool:
    """Whether a network-stack request was made on behalf of a page opened from a file: its
    initiator is the file page's opaque origin (``null``) or a ``file:`` origin, or it is keyed
    to the ``file://`` site. Chromium's own background fetches carry no page origin."""
    initiator = request["initiator"]
    return (
        initiator == "null"
        or initiator.startswith("file:")
        or "file://" in request["network_isolation_key"]
        or "file://" in request["site_for_cookies"]
    )
