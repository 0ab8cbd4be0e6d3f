"""pytest plugin (loaded with -p before Django is set up): make sure the
embedded PostgreSQL and Redis run, unless DATABASE_URL / REDIS_URL are set."""

import os

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright + ORM in one test
os.environ.setdefault("WEFT_TEST_NODES", "1")  # the engine's test node types

from config import embedded  # noqa: E402

_urls = embedded.up()
os.environ.setdefault("DATABASE_URL", _urls["database_url"])
os.environ.setdefault("REDIS_URL", _urls["redis_url"])
