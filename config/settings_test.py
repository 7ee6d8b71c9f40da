"""Settings for the test suite: the normal settings with PARVIS_ENV=test."""

import os

os.environ["PARVIS_ENV"] = "test"

from config.settings import *  # noqa: E402,F403
