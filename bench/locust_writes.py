"""The concurrent-writes test's simulated secretaries (run by bench.write_load, not by hand).

Each user logs in through the login form as a secretary of the plan ($LIUDONG_WRITES_PLAN),
then loops over three writes on the members of its branch, which the other secretaries of
the branch write to at the same time: a contact attempt through the form (its note carries a
fresh uuid), the one-click "reached today by phone", and the attendance roster of one of the
branch's activities with random statuses (every row's reason carries the submission's uuid).
A write counts when it answers 302 to the page it should; each one is appended, as soon as it
has answered, with what it wrote, to a file in the folder $LIUDONG_WRITES_LOG (JSON lines, one
file per locust process), for bench.write_load to find in the database afterwards.
"""

import itertools
import json
import os
import random
import re
import time
import uuid
from pathlib import Path

from locust import HttpUser, constant, task

PLAN = json.loads(Path(os.environ["LIUDONG_WRITES_PLAN"]).read_text())
LOG = Path(os.environ["LIUDONG_WRITES_LOG"]) / f"writes-{os.getpid()}.jsonl"
NOTE_PREFIX = "bench-write "
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CHANNELS = ["phone", "wechat", "sms", "visit"]
STATUSES = ["present", "online", "absent", "excused"]
accounts = itertools.count()
log = LOG.open("a", buffering=1)  # line-buffered: a line is on disk once the write answered


def logged(entry: dict) -> None:
    log.write(json.dumps(entry) + "\n")


class Secretary(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.account = PLAN[next(accounts) % len(PLAN)]
        form = self.client.get("/accounts/login/", name="login")
        token = CSRF_INPUT.search(form.text).group(1)
        with self.client.post(
            "/accounts/login/",
            data={
                "username": self.account["username"],
                "password": self.account["password"],
                "csrfmiddlewaretoken": token,
            },
            name="login",
            catch_response=True,
        ) as response:
            if "/accounts/login/" in response.url:
                response.failure(f"{self.account['username']} could not log in")
                self.stop()
                return
        # Logging in rotates the CSRF token: take the new one from a form of the app.
        member = self.account["members"][0]
        page = self.client.get(f"/members/{member}/contacts/new/", name="contact form")
        self.token = CSRF_INPUT.search(page.text).group(1)

    def post(self, *, url: str, data: dict, name: str, expected: str, entry: dict) -> None:
        started = time.time()
        with self.client.post(
            url,
            data={**data, "csrfmiddlewaretoken": self.token},
            name=name,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            ended = time.time()
            location = response.headers.get("Location", "")
            ok = response.status_code == 302 and location == expected
            if not ok:
                response.failure(f"{response.status_code} to {location or url}")
            logged(
                {
                    **entry,
                    "ok": ok,
                    "status": response.status_code,
                    "user": self.account["username"],
                    "start": started,
                    "end": ended,
                    "ms": round((ended - started) * 1000, 1),
                }
            )

    @task(3)
    def contact_attempt(self):
        member = random.choice(self.account["members"])  # noqa: S311
        note = NOTE_PREFIX + uuid.uuid4().hex
        channel = random.choice(CHANNELS)  # noqa: S311
        reached = random.random() < 0.5  # noqa: S311
        data = {"on": self.account["today"], "channel": channel, "note": note}
        if reached:
            data["reached"] = "on"
        self.post(
            url=f"/members/{member}/contacts/new/",
            data=data,
            name="contact attempt",
            expected=f"/members/{member}/#ledger",
            entry={
                "kind": "contact",
                "member": member,
                "note": note,
                "channel": channel,
                "reached": reached,
            },
        )

    @task(1)
    def reached_today(self):
        member = random.choice(self.account["members"])  # noqa: S311
        self.post(
            url=f"/members/{member}/reached/",
            data={},
            name="reached today",
            expected="/ledger/",
            entry={"kind": "reached", "member": member},
        )

    @task(2)
    def attendance(self):
        activity, roster = random.choice(list(self.account["activities"].items()))  # noqa: S311
        marker = NOTE_PREFIX + uuid.uuid4().hex
        statuses = {member: random.choice(STATUSES) for member in roster}  # noqa: S311
        data = {}
        for member, status in statuses.items():
            data[f"{member}-status"] = status
            data[f"{member}-reason"] = marker
        self.post(
            url=f"/activities/{activity}/attendance/",
            data=data,
            name="attendance roster",
            expected=f"/activities/{activity}/",
            entry={
                "kind": "attendance",
                "activity": int(activity),
                "marker": marker,
                "statuses": statuses,
            },
        )
