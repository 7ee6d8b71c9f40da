"""Settings for the test suite: the normal settings with PARVIS_ENV=test."""

import os

os.environ["PARVIS_ENV"] = "test"

from config.settings import *  # noqa: E402,F403

# One test database per pytest run, so that several runs (a developer's and a
# helper's, or two checkouts) can share the embedded server without clobbering.
DATABASES["default"]["TEST"]["NAME"] = os.environ.get(  # noqa: F405
    "PARVIS_TEST_DB_NAME", f"test_parvis_{os.getpid()}")
