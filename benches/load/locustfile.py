"""A working day's mixed load on Casemail: signed-in people list their inbox, open letters,
search, write letters with a small attachment and download attachments, with a pause
between actions as a person has. Run by `cargo bench -- --load` (benches/casemail/load.rs),
which seeds the people and their mail, starts the servers and reads the results.

Each simulated person signs in once as loaduserN@bench.example (N from 0 to
CASEMAIL_LOAD_PEOPLE - 1, taken in turn), with CASEMAIL_LOAD_PASSWORD."""

import itertools
import os
import random
import re
import threading

from locust import HttpUser, between, task

PEOPLE = int(os.environ.get("CASEMAIL_LOAD_PEOPLE", "200"))
PASSWORD = os.environ["CASEMAIL_LOAD_PASSWORD"]
WORDS = ["statement", "productions", "disclosure", "witness", "diet", "bail", "report"]

_numbers = itertools.count()
_lock = threading.Lock()

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
THREAD = re.compile(r'href="/threads/(\d+)"')
ATTACHMENT = re.compile(r'href="(/messages/\d+/attachments/\d+)"')


def next_person():
    with _lock:
        return next(_numbers) % PEOPLE


class Person(HttpUser):
    wait_time = between(1, 3)

    def on_start(self):
        self.number = next_person()
        self.email = f"loaduser{self.number}@bench.example"
        # Each person from an address of their own, as people in different offices are.
        self.client.headers["X-Forwarded-For"] = f"10.0.{self.number // 250}.{self.number % 250 + 1}"
        page = self.client.get("/sign-in", name="/sign-in (form)")
        token = TOKEN.search(page.text).group(1)
        with self.client.post(
            "/sign-in",
            data={"email": self.email, "password": PASSWORD, "csrf_token": token, "next": ""},
            allow_redirects=False,
            catch_response=True,
            name="/sign-in",
        ) as response:
            if response.status_code != 303:
                response.failure(f"sign-in answered {response.status_code}")
        self.threads = []
        self.attachments = []

    def list_inbox(self):
        with self.client.get("/mail/inbox", name="/mail/inbox", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"inbox answered {r.status_code}")
                return
            self.threads = THREAD.findall(r.text)[:50]

    @task(6)
    def inbox(self):
        self.list_inbox()

    @task(4)
    def open_letter(self):
        if not self.threads:
            self.list_inbox()
        if not self.threads:
            return
        thread = random.choice(self.threads)
        with self.client.get(f"/threads/{thread}", name="/threads/{id}", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"open answered {r.status_code}")
                return
            self.attachments = ATTACHMENT.findall(r.text) or self.attachments

    @task(1)
    def search(self):
        word = random.choice(WORDS)
        self.client.get(f"/search?q={word}", name="/search?q={word}")

    @task(1)
    def download(self):
        if not self.attachments:
            return
        self.client.get(random.choice(self.attachments), name="/messages/{id}/attachments/{n}")

    @task(1)
    def send(self):
        page = self.client.get("/compose", name="/compose (form)")
        match = TOKEN.search(page.text)
        if not match:
            return
        other = (self.number + random.randrange(1, PEOPLE)) % PEOPLE
        colleague = f"loaduser{other}@bench.example"
        with self.client.post(
            "/compose",
            files={
                "csrf_token": (None, match.group(1)),
                "to": (None, colleague),
                "cc": (None, ""),
                "subject": (None, f"Letter about the {random.choice(WORDS)}"),
                "body": (None, "A letter of about a paragraph, with a statement attached."),
                "attachments": ("statement.pdf", os.urandom(32 * 1024), "application/pdf"),
                "action": (None, "send"),
            },
            allow_redirects=False,
            catch_response=True,
            name="/compose (send)",
        ) as response:
            if response.status_code != 303:
                response.failure(f"send answered {response.status_code}")
