"""The whole platform for the browser suite, as `make dev` runs it (embedded Postgres, the
Temporal dev server, the worker, the API serving the built web app), with email going to a
real SMTP server and Stripe's API answered by a loopback server, plus a small HTTP "harness"
through which the Playwright specs read those: the emails a test caused, the Stripe key.

The Stripe server also serves its own Checkout page (tests/stripe_api_server.py,
``checkout_pages``): a spec registers the firm's webhook URL with it (``POST
<api_base>/v1/webhook_endpoints``, as with Stripe), enters the answered signing secret on
the Stripe screen, and paying on that page delivers ``checkout.session.completed`` to the
firm, signed.

``python -m tests.browser.stack`` runs it until Ctrl-C and prints the variables to run specs
against it by hand (``cd web && npx playwright test``)."""

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from launcher.dev import READY_BANNER
from tests.launched import ROOT, STARTUP_SECONDS, Watched, unused_port
from tests.mailbox import Mailbox, running_mailbox
from tests.stripe_api_server import StripeApiServer, stripe_api_server

STRIPE_SECRET_KEY = "sk_test_browserSuite4242"
DEMO_PASSWORD = "demo-owner-password-1"


@dataclass(frozen=True)
class WebStack:
    url: str
    harness_url: str
    mailbox: Mailbox
    stripe: StripeApiServer

    def env(self) -> dict[str, str]:
        """What the Playwright specs read (web/e2e/stack.ts)."""
        return {
            "FIRMFLOW_WEB_URL": self.url,
            "FIRMFLOW_HARNESS_URL": self.harness_url,
        }


def _mail_json(mailbox: Mailbox, to: str | None) -> list[dict[str, Any]]:
    found = []
    for message, recipients in zip(mailbox.messages, mailbox.recipients, strict=True):
        if to is not None and to not in recipients:
            continue
        plain = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        found.append(
            {
                "to": recipients,
                "subject": str(message["Subject"]),
                "text": str(plain.get_content()) if plain is not None else "",
                "html": str(html.get_content()) if html is not None else "",
            }
        )
    return found


def _harness_handler(stack: "WebStack") -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if parts.path == "/mail":
                body: Any = _mail_json(stack.mailbox, query.get("to", [None])[0])
            elif parts.path == "/stripe":
                body = {"secret_key": STRIPE_SECRET_KEY, "api_base": stack.stripe.base_url}
            else:
                self.send_error(404)
                return
            encoded = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def running_stack(web_dist: Path) -> Iterator[WebStack]:
    if not (web_dist / "index.html").is_file():
        raise RuntimeError(f"no web app build in {web_dist}: run `make web-build` first")
    with (
        running_mailbox() as mailbox,
        stripe_api_server(STRIPE_SECRET_KEY, checkout_pages=True) as stripe,
        tempfile.TemporaryDirectory(prefix="firmflow-browser-") as directory,
    ):
        api_port = unused_port()
        url = f"http://127.0.0.1:{api_port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIRMFLOW_")}
        env.update(
            FIRMFLOW_DATA_DIR=str(Path(directory) / "data"),
            FIRMFLOW_API_PORT=str(api_port),
            FIRMFLOW_TEMPORAL_PORT=str(unused_port()),
            FIRMFLOW_TEMPORAL_UI_PORT=str(unused_port()),
            FIRMFLOW_PUBLIC_URL=url,
            FIRMFLOW_WEB_DIST=str(web_dist),
            FIRMFLOW_EMAIL_BACKEND="smtp",
            FIRMFLOW_SMTP_HOST="127.0.0.1",
            FIRMFLOW_SMTP_PORT=str(mailbox.port),
            FIRMFLOW_STRIPE_API_BASE=stripe.base_url,
            FIRMFLOW_DEMO_OWNER_PASSWORD=DEMO_PASSWORD,
            FIRMFLOW_LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        launched = Watched([sys.executable, "-m", "launcher", "dev"], env)
        harness = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
        try:
            launched.wait_for_line(READY_BANNER, STARTUP_SECONDS)
            stack = WebStack(
                url=url,
                harness_url=f"http://127.0.0.1:{harness.server_address[1]}",
                mailbox=mailbox,
                stripe=stripe,
            )
            harness.RequestHandlerClass = _harness_handler(stack)
            threading.Thread(target=harness.serve_forever, daemon=True).start()
            yield stack
        finally:
            harness.shutdown()
            harness.server_close()
            if launched.process.poll() is None:
                launched.process.send_signal(signal.SIGINT)
                try:
                    launched.wait_for_exit(60)
                except (subprocess.TimeoutExpired, queue.Empty):
                    launched.kill()


def main() -> int:
    dist = Path(os.environ.get("FIRMFLOW_WEB_DIST", ROOT / "web" / "dist"))
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with running_stack(dist) as stack:
        for name, value in stack.env().items():
            print(f"export {name}={value}", flush=True)
        print("# the stack is up; Ctrl-C stops it", flush=True)
        stopped.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
