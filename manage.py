#!/usr/bin/env python
"""Django's command-line utility. Defaults to the dev environment and the embedded
PostgreSQL (started on demand), so every command works with no separate start step."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("PARVIS_ENV", "dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
