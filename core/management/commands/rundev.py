"""Serve the site and run a real Celery worker and beat, together (``make run``).

Each part is a child process; Ctrl-C stops them all. The broker is whatever
CELERY_BROKER_URL says (the filesystem broker under .data/celery by default; the
settings create its folders).
"""

import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the development web server, a Celery worker and Celery beat."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="0.0.0.0:8000")

    def handle(self, *args, **options):
        python = sys.executable
        commands = {
            "worker": [python, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO",
                       "--concurrency=2"],
            "beat": [python, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO",
                     "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME],
            "web": [python, "manage.py", "runserver", options["addr"]],
        }
        if settings.STRIPE_API_BASE and settings.STRIPE_API_BASE.startswith("http://127.0.0.1"):
            # The local fake Stripe (localstripe) for card payments, on the loopback only.
            commands["fakestripe"] = [python, "-m", "payments.fakestripe", "--port",
                                      str(settings.LOCALSTRIPE_PORT)]
        stop = False

        def handle_signal(signum, frame):
            nonlocal stop
            stop = True

        # Installed before any child starts: a signal during start-up (while the fake
        # Stripe warms up) must stop the children too, not leave them running.
        signal.signal(signal.SIGINT, handle_signal)
        signal.signal(signal.SIGTERM, handle_signal)
        processes = {}
        try:
            for name, cmd in commands.items():
                processes[name] = subprocess.Popen(cmd)
            if "fakestripe" in processes:
                deadline = time.monotonic() + 2
                while not stop and time.monotonic() < deadline:
                    time.sleep(0.1)
                if not stop:
                    subprocess.run([python, "manage.py", "fakestripe_webhooks"], check=False)
            while not stop:
                for name, process in processes.items():
                    if process.poll() is not None:
                        self.stderr.write(f"{name} exited with code {process.returncode}")
                        stop = True
                time.sleep(0.5)
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.terminate()
            for process in processes.values():
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
