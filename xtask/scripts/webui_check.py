"""Drives monsoon's web page in Debian's headless chromium through the
Chrome DevTools protocol (PyPI's websocket-client carries it), against a
`monsoon daemon` this script starts and stops:

limits set from the page; a multi-file torrent added through the file
input, downloaded from a local seeder while the row's progress is watched
up to 100 %; pause and resume; the files pane, where a file is skipped;
the peers, trackers and speed tabs; Enter and Escape on a row; a magnet
link added from the dialog; screenshots (desktop, phone, dark);
a torrent named like an HTML tag shown as text; remove with its data
after the confirmation; the banner while the daemon is down and its
disappearance when it is back; and a login with the daemon's password
(an HttpOnly, SameSite=Strict cookie). Prints one `ok ...` line, or fails
with a message.

Usage: webui_check.py --chromium BIN --monsoon BIN --dir WORK --torrent T
       --name NAME --source DIR --skip PATH --xss-torrent T --shots DIR
"""
import argparse
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import websocket

XSS_NAME = "<img src=x onerror=alert(1)>"


def fail(msg):
    sys.exit(f"webui_check: {msg}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(what, predicate, limit=60.0):
    deadline = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            fail(f"{what}: not after {limit} s")
        time.sleep(0.1)


class Daemon:
    """A `monsoon daemon` on a fixed HTTP port."""

    def __init__(self, monsoon, work, http):
        self.monsoon, self.work, self.http = monsoon, work, http
        self.proc = None

    def start(self, password=None):
        args = [self.monsoon, "daemon", "--http", f"127.0.0.1:{self.http}",
                "--state-dir", os.path.join(self.work, "state"),
                "--download-dir", os.path.join(self.work, "downloads"),
                "--port", str(free_port()), "--no-dht", "--no-lsd", "--resume-interval", "1s"]
        if password:
            pw = os.path.join(self.work, "password")
            with open(pw, "w") as f:
                f.write(password + "\n")
            args += ["--password-file", pw]
        log = open(os.path.join(self.work, "daemon.log"), "a")
        self.proc = subprocess.Popen(args, stdout=log, stderr=log)

        def up():
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", self.http)) == 0
        wait("the daemon listening", up, 30)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("the daemon did not stop within 10 s of SIGTERM")

    def api(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http}/api/v1{path}", timeout=10) as r:
            return json.load(r)


class Browser:
    """Headless chromium and one page, spoken to over the DevTools protocol."""

    def __init__(self, chromium, profile):
        self.proc = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--remote-debugging-port=0",
             "--remote-allow-origins=*", f"--user-data-dir={profile}",
             "--window-size=1280,800", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        found = []
        ready = threading.Event()

        def drain():
            for line in self.proc.stderr:
                m = re.search(r"DevTools listening on (ws://\S+)", line)
                if m and not found:
                    found.append(m.group(1))
                    ready.set()
        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(30):
            fail("chromium did not open its DevTools port")
        port = int(re.search(r":(\d+)/", found[0]).group(1))
        pages = wait("a page target", lambda: [
            t for t in json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
            if t["type"] == "page"], 10)
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=30,
                                              suppress_origin=True)
        self.next_id = 0
        self.events = []
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Network.enable")

    def call(self, method, **params):
        self.next_id += 1
        me = self.next_id
        self.ws.send(json.dumps({"id": me, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == me:
                if "error" in msg:
                    fail(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def js(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            fail(f"script {expr!r}: {r['exceptionDetails'].get('exception', {}).get('description')}")
        return r["result"].get("value")

    def until(self, what, expr, limit=60.0):
        return wait(what, lambda: self.js(expr), limit)

    def text(self):
        return self.js("document.body.innerText")

    def click(self, selector):
        self.js(f"document.querySelector({json.dumps(selector)}).click()")

    def set_files(self, selector, paths):
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        self.call("DOM.setFileInputFiles", files=paths, nodeId=node)

    def screenshot(self, path):
        # Without a passing notice in the way.
        self.js("document.querySelector('#toast') && (document.querySelector('#toast').hidden = true)")
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def errors(self):
        out = []
        for e in self.events:
            if e["method"] == "Runtime.exceptionThrown":
                out.append(e["params"]["exceptionDetails"].get("exception", {}).get("description"))
            if e["method"] == "Page.javascriptDialogOpening":
                out.append(f"a dialog opened: {e['params'].get('message')}")
        return out

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.kill()
            self.proc.wait()


def row(name):
    """JS: the list row whose title is `name`."""
    return ("[...document.querySelectorAll('#torrents tbody tr')]"
            f".find(r => r.querySelector('.title').textContent === {json.dumps(name)})")


def set_limits(b, down_kib):
    b.click("#limits-open")
    b.until("the limits dialog", "document.querySelector('#limits-dialog').open")
    b.js(f"document.querySelector('#limit-down').value = '{down_kib}'")
    b.js("document.querySelector('#limit-up').value = '0'")
    b.click("#limits-save")
    b.until("the limits dialog closing", "!document.querySelector('#limits-dialog').open")


def main():
    p = argparse.ArgumentParser()
    for arg in ["chromium", "monsoon", "dir", "torrent", "name", "source", "skip",
                "xss-torrent", "shots"]:
        p.add_argument(f"--{arg}", required=True)
    p.add_argument("--limit-kib", type=int, default=100)
    a = p.parse_args()
    os.makedirs(a.shots, exist_ok=True)
    daemon = Daemon(a.monsoon, a.dir, free_port())
    daemon.start()
    url = f"http://127.0.0.1:{daemon.http}/"
    profile = os.path.join(a.dir, "chromium-profile")
    shutil.rmtree(profile, ignore_errors=True)
    b = Browser(a.chromium, profile)
    started = time.monotonic()
    try:
        b.call("Page.navigate", url=url)
        b.until("the empty list", "!!document.querySelector('#empty') && !document.querySelector('#empty').hidden")
        assert "No torrents yet" in b.text()

        # Limits from the page: slow enough to watch the download move.
        set_limits(b, a.limit_kib)
        limits = daemon.api("/session/limits")
        assert limits["download"] == a.limit_kib * 1024, limits

        # Add through the file input.
        b.click("#add-open")
        b.until("the add dialog", "document.querySelector('#add-dialog').open")
        b.set_files("#add-file", [os.path.abspath(a.torrent)])
        b.click("#add-submit")
        b.until("the new row", f"!!({row(a.name)})")
        seen = []

        def progress():
            pct = b.js(f"({row(a.name)}).querySelector('.pct').textContent")
            value = float(pct.replace("%", "").strip())
            if not seen or seen[-1] != value:
                seen.append(value)
            return value
        wait("a progress between 0 and 100 %", lambda: 0 < progress() < 100, 90)
        assert "Downloading" in b.js(f"({row(a.name)}).querySelector('.state').textContent")
        set_limits(b, 0)
        wait("100 %", lambda: progress() == 100.0, 90)
        b.until("seeding", f"({row(a.name)}).querySelector('.state').textContent === 'Seeding'")
        assert seen == sorted(seen), f"progress went back: {seen}"

        # Pause and resume from the row.
        b.js(f"({row(a.name)}).querySelector('.toggle').click()")
        b.until("paused", f"({row(a.name)}).querySelector('.state').textContent === 'Paused'")
        assert b.js(f"({row(a.name)}).querySelector('.toggle').textContent") == "Resume"
        b.js(f"({row(a.name)}).querySelector('.toggle').click()")
        b.until("seeding again", f"({row(a.name)}).querySelector('.state').textContent === 'Seeding'")

        # The files pane: skip one file.
        b.js(f"({row(a.name)}).click()")
        b.until("the files pane", "!document.querySelector('#detail').hidden && "
                "document.querySelectorAll('#files tr').length > 1")
        skip_path = f"{a.name}/{a.skip}"
        select = (f"[...document.querySelectorAll('#files select')].find(s => "
                  f"s.getAttribute('aria-label') === {json.dumps('Priority of ' + skip_path)})")
        b.until("the file to skip", f"!!({select})")
        b.js(f"(s => {{ s.focus(); s.value = '0'; s.dispatchEvent(new Event('change')); }})({select})")
        b.until("the file shown skipped", f"({select}).closest('tr').classList.contains('skipped')", 15)
        files = daemon.api("/torrents/1/files")
        skipped = [f["path"] for f in files if f["priority"] == 0]
        assert skipped == [skip_path], skipped
        b.screenshot(os.path.join(a.shots, "desktop-files.png"))

        b.click("#tab-trackers")
        b.until("the trackers tab", "document.querySelector('#trackers').innerText.includes('/announce')")
        b.until("a working tracker", "document.querySelector('#trackers').innerText.includes('working')", 30)
        b.click("#tab-peers")
        b.until("the peers tab", "!document.querySelector('#panel-peers').hidden && "
                "document.querySelectorAll('#peers tr').length > 0")
        b.click("#tab-speed")
        b.until("the rate graph", "document.querySelector('#graph-peak').textContent.includes('minutes')")
        b.screenshot(os.path.join(a.shots, "desktop-speed.png"))
        b.click("#tab-files")
        b.click("#detail-close")
        b.until("the pane closed", "document.querySelector('#detail').hidden")

        # The keyboard: Enter on a focused row opens it, Escape closes it.
        b.js(f"({row(a.name)}).focus()")
        for key, code in [("Enter", 13), ("Escape", 27)]:
            for kind in ["keyDown", "keyUp"]:
                b.call("Input.dispatchKeyEvent", type=kind, key=key, code=key,
                       windowsVirtualKeyCode=code)
            shown = "false" if key == "Enter" else "true"
            b.until(f"the pane after {key}", f"document.querySelector('#detail').hidden === {shown}")

        # A magnet link through the add dialog (nobody serves it).
        magnet_name = "from a magnet"
        b.click("#add-open")
        b.until("the add dialog", "document.querySelector('#add-dialog').open")
        b.js("document.querySelector('#add-magnet').value = "
             + json.dumps("magnet:?xt=urn:btih:" + "ab" * 20 + "&dn=from+a+magnet"))
        b.click("#add-submit")
        b.until("the magnet's row", f"!!({row(magnet_name)})")
        b.until("fetching its metadata", f"({row(magnet_name)}).querySelector('.state').textContent"
                " === 'Fetching metadata'", 20)

        # A name that is HTML stays text.
        b.click("#add-open")
        b.until("the add dialog", "document.querySelector('#add-dialog').open")
        b.set_files("#add-file", [os.path.abspath(a.xss_torrent)])
        b.click("#add-submit")
        b.until("the oddly named row", f"!!({row(XSS_NAME)})")
        assert XSS_NAME in b.text()
        assert b.js("document.querySelectorAll('#torrents img').length") == 0
        b.js(f"({row(XSS_NAME)}).click()")
        b.until("its files", "document.querySelector('#files').innerText.includes('onerror')")
        assert b.js("document.querySelectorAll('#detail img').length") == 0
        b.click("#detail-close")

        b.screenshot(os.path.join(a.shots, "desktop.png"))
        b.call("Emulation.setEmulatedMedia",
               features=[{"name": "prefers-color-scheme", "value": "dark"}])
        b.screenshot(os.path.join(a.shots, "desktop-dark.png"))
        b.call("Emulation.setEmulatedMedia", features=[])
        b.call("Emulation.setDeviceMetricsOverride", width=390, height=844,
               deviceScaleFactor=2, mobile=True)
        b.until("cards on a phone", f"getComputedStyle({row(a.name)}).display === 'grid'")
        b.screenshot(os.path.join(a.shots, "phone.png"))
        b.call("Emulation.clearDeviceMetricsOverride")

        # Remove the HTML-named one (keeping its nothing), then the real
        # one with its data, each after the confirmation.
        for name, with_data in [(XSS_NAME, False), (magnet_name, False), (a.name, True)]:
            b.js(f"({row(name)}).querySelector('.remove').click()")
            b.until("the confirmation", "document.querySelector('#remove-dialog').open")
            assert b.js("document.querySelector('#remove-name').textContent") == name
            if with_data:
                b.click("#remove-data")
            b.click("#remove-confirm")
            b.until("the row gone", f"!({row(name)})")
        b.until("the empty list again", "!document.querySelector('#empty').hidden")
        content = os.path.join(a.dir, "downloads", a.name)
        wait("the data deleted", lambda: not os.path.exists(content), 10)

        # The daemon goes away: a banner; it comes back: the banner goes.
        daemon.stop()
        b.until("the banner", "!document.querySelector('#banner').hidden", 20)
        banner = b.js("document.querySelector('#banner').textContent")
        assert "Cannot reach the monsoon daemon" in banner, banner
        b.screenshot(os.path.join(a.shots, "desktop-offline.png"))
        daemon.start()
        b.until("the banner gone", "document.querySelector('#banner').hidden", 30)

        # With a password: the login form, a wrong password, the right one,
        # an HttpOnly SameSite=Strict cookie, log out.
        daemon.stop()
        daemon.start(password="web-secret")
        b.call("Page.navigate", url=url)
        b.until("the login form", "!!document.querySelector('#login') && !document.querySelector('#login').hidden")
        b.js("document.querySelector('#login-password').value = 'wrong'")
        b.js("document.querySelector('#login-form').requestSubmit()")
        b.until("the wrong-password message",
                "document.querySelector('#login-error').textContent === 'Wrong password.'")
        b.js("document.querySelector('#login-password').value = 'web-secret'")
        b.js("document.querySelector('#login-form').requestSubmit()")
        b.until("the list after login", "document.querySelector('#login').hidden && "
                "!document.querySelector('#empty').hidden")
        cookies = b.call("Network.getCookies", urls=[url])["cookies"]
        sid = [c for c in cookies if c["name"] == "SID"]
        assert sid and sid[0]["httpOnly"] and sid[0]["sameSite"] == "Strict", cookies
        assert "SID" not in b.js("document.cookie")
        b.click("#logout")
        b.until("the login form again", "!document.querySelector('#login').hidden")

        errors = b.errors()
        assert not errors, errors
    finally:
        b.close()
        if daemon.proc.poll() is None:
            daemon.stop()
    shown = sorted(set(int(v) for v in seen))
    print(f"ok progress {shown[:6]}...{shown[-1:]} %, {len(os.listdir(a.shots))} screenshots, "
          f"{time.monotonic() - started:.1f} s in the browser")


if __name__ == "__main__":
    main()
