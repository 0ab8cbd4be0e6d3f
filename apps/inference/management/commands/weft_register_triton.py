"""Register (or update) a Triton server row; idempotent. Used by `make run`:

    WEFT_TRITON_ACCESS_TOKEN=... manage.py weft_register_triton --url 127.0.0.1:8010 \
        --models ticket_urgency,invoice_risk,echo
    manage.py weft_register_triton            # TRITON_URL, e.g. grpc://triton:8001

The access token (for PyTriton's protected endpoints) is read from the environment,
never from the command line, and stored encrypted as a secret header.
"""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError

from apps.inference.client import auth_headers
from apps.inference.constants import TOKEN_ENV
from apps.inference.services import triton_server_register, triton_url_parse


class Command(BaseCommand):
    help = "Register a Triton server (default: TRITON_URL as 'local')."

    def add_arguments(self, parser):
        parser.add_argument("--name", default="local")
        parser.add_argument("--url", default="", help="default: $TRITON_URL")
        parser.add_argument("--protocol", choices=["http", "grpc"], default="",
                            help="default: from the url's scheme (see triton_url_parse)")
        parser.add_argument("--models", default="",
                            help="comma-separated model names to look for when the "
                                 "repository index is empty")

    def handle(self, *args, name, url, protocol, models, **options):
        url = url or os.environ.get("TRITON_URL", "")
        if not url:
            raise CommandError("Give --url or set TRITON_URL.")
        stored_url, guessed = triton_url_parse(url)
        protocol = protocol or os.environ.get("WEFT_TRITON_PROTOCOL", "") or guessed
        secret_headers = auth_headers(protocol, os.environ.get(TOKEN_ENV, ""))
        names = [m.strip() for m in models.split(",") if m.strip()]
        server, created = triton_server_register(name=name, url=stored_url, protocol=protocol,
                                                 secret_headers=secret_headers,
                                                 model_names=names)
        verb = "registered" if created else "updated"
        self.stdout.write(f"Triton server {server.name!r} {verb}: {server.protocol} "
                          f"{server.url}")
