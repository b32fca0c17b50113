"""The load benchmark's simulated users (run by bench.load_bench, not by hand).

Each user logs in through the real login form, then opens the pages of its plan (written by
bench.load_bench to $LIUDONG_LOAD_PLAN) in a weighted mix, with $LIUDONG_LOAD_WAIT seconds
between requests (default 0: twenty users means twenty requests in flight), or, with
$LIUDONG_LOAD_RATE, at that many requests a second in all (each user starting a page every
users/rate seconds, however long the last took: with enough users, open-loop arrivals at the
offered rate). Measuring starts
when the last of the $LIUDONG_LOAD_USERS users has logged in (password hashing makes logins
slow and bunched) and lasts $LIUDONG_LOAD_SECONDS; the page timings of that window are
written to $LIUDONG_LOAD_TIMINGS when locust stops.
"""

import itertools
import json
import os
import random
import re
import time
from pathlib import Path

import gevent
from locust import FastHttpUser, constant, constant_throughput, events, task

PLAN = json.loads(Path(os.environ["LIUDONG_LOAD_PLAN"]).read_text())
WAIT = float(os.environ.get("LIUDONG_LOAD_WAIT", "0"))
USERS = int(os.environ["LIUDONG_LOAD_USERS"])
RATE = float(os.environ.get("LIUDONG_LOAD_RATE", "0"))  # requests/s offered in all; 0: closed
SECONDS = float(os.environ["LIUDONG_LOAD_SECONDS"])
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

# How often each page is opened, relative to the others: lists and members most.
WEIGHTS = {
    "member list, page 1": 4,
    "member list, last page": 1,
    "name search": 2,
    "member detail": 4,
    "outflow ledger": 2,
    "alert inbox": 2,
    "dashboard (branch)": 1,
    "dashboard (county)": 1,
    "dashboard (township)": 1,
}
TIMINGS: list[tuple[str, float, bool]] = []  # page, ms, succeeded
window = {"logged_in": 0, "start": None}


@events.request.add_listener
def keep(name, response_time, exception, **_kwargs):
    start, now = window["start"], time.time()
    if name == "login" or not start or now > start + SECONDS:
        return
    if now - response_time / 1000 >= start:  # started inside the window too
        TIMINGS.append((name, response_time, exception is None))


@events.quitting.add_listener
def write(**_kwargs):
    with open(os.environ["LIUDONG_LOAD_TIMINGS"], "w") as out:
        json.dump({"start": window["start"], "seconds": SECONDS, "timings": TIMINGS}, out)


# FastHttpUser (geventhttpclient) spends much less CPU per request than HttpUser, and locust
# shares the two cores with the server it measures.
class Staff(FastHttpUser):
    abstract = True
    role = ""
    wait_time = constant_throughput(RATE / USERS) if RATE else constant(WAIT)

    def on_start(self):
        account = self.accounts[next(self.counter) % len(self.accounts)]
        self.pages = list(account["pages"].items())
        self.weights = [WEIGHTS.get(label, 1) for label, _url in self.pages]
        form = self.client.get("/accounts/login/", name="login")
        token = CSRF_INPUT.search(form.text).group(1)
        with self.client.post(
            "/accounts/login/",
            data={
                "username": account["username"],
                "password": account["password"],
                "csrfmiddlewaretoken": token,
            },
            name="login",
            catch_response=True,
            allow_redirects=False,
        ) as response:
            if response.status_code != 302 or "/accounts/login/" in response.headers["Location"]:
                response.failure(f"{account['username']} could not log in")
                return
        window["logged_in"] += 1
        if window["logged_in"] == USERS:
            window["start"] = time.time()
            gevent.spawn_later(SECONDS, self.environment.runner.quit)

    @task
    def open_a_page(self):
        label, url = random.choices(self.pages, weights=self.weights)[0]  # noqa: S311
        with self.client.get(
            url, name=label, catch_response=True, allow_redirects=False
        ) as response:
            if response.status_code != 200:  # a redirect to the login page fails too
                response.failure(f"{response.status_code} at {url}")


class Secretary(Staff):
    weight = 3  # many more branch secretaries than reviewers
    accounts = [a for a in PLAN if a["role"] == "secretary"]
    counter = itertools.count()


class Reviewer(Staff):
    weight = 1
    accounts = [a for a in PLAN if a["role"] == "reviewer"]
    counter = itertools.count()
