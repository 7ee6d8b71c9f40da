"""The local fake Stripe (localstripe) for ``make run`` and the tests, never production.

``python -m payments.fakestripe --port 8420`` serves the Stripe API and a fake Stripe.js
on 127.0.0.1 only (localstripe's own entry point listens on every interface), starts
from an empty state and keeps it in memory (localstripe otherwise pickles its whole
state into one fixed file of the temp folder on every write, which two instances would
share).
"""

import argparse
import logging
import socket


def _local_sessions():
    """localstripe posts webhooks with a plain ``aiohttp.ClientSession()``: give it one
    that resolves ``*.localhost`` and ``*.test`` (the demo and test communes' hosts) to
    the loopback, as browsers do, so each commune's own endpoint can be reached."""
    from types import SimpleNamespace

    import aiohttp
    from aiohttp.resolver import ThreadedResolver

    class LoopbackResolver(ThreadedResolver):
        async def resolve(self, host, port=0, family=socket.AF_INET):
            if host.endswith((".localhost", ".test")):
                host = "127.0.0.1"
            return await super().resolve(host, port, family)

    def session():
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(
            resolver=LoopbackResolver()))

    return SimpleNamespace(ClientSession=session, client_exceptions=aiohttp.client_exceptions)


def serve(port: int) -> None:
    from aiohttp import web
    from localstripe import resources, server, webhooks

    resources.Store.dump_to_disk = lambda self: None
    webhooks.aiohttp = _local_sessions()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    web.run_app(server.app, sock=sock, print=None, access_log=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8420)
    serve(parser.parse_args().port)


if __name__ == "__main__":
    main()
