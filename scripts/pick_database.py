"""Print the DATABASE_URL the test suite should use: PostgreSQL when it answers, else SQLite.

With REQUIRE_POSTGRES=1 (CI) an unreachable PostgreSQL is an error, never a silent fallback.
"""

import os
import sys

url = os.environ.get("DATABASE_URL") or "postgres://localhost/linkbridge"
if not url.startswith(("postgres://", "postgresql://")):
    print(url)
    sys.exit(0)
try:
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    psycopg.connect(
        dbname="postgres",
        user=cfg.get("USER") or None,
        password=cfg.get("PASSWORD") or None,
        host=cfg.get("HOST") or None,
        port=cfg.get("PORT") or None,
        connect_timeout=3,
    ).close()
    print(url)
except Exception as exc:
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        sys.stderr.write(f"PostgreSQL is required but {url} does not answer: {exc}\n")
        sys.exit(1)
    sys.stderr.write(
        f"\n*** PostgreSQL at {url} does not answer ({type(exc).__name__}); running on SQLite.\n"
        "*** Tests marked postgres_only (concurrency, e2e) will be SKIPPED and listed at the end.\n\n"
    )
    print("sqlite:///test-sqlite.sqlite3")
