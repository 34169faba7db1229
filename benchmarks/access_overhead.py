"""Time what sign-in adds to every page rerun: `python -m benchmarks.access_overhead [--audit-rows N] [--repeat N]`.

On a copy of the demo store with users and an audit trail of `--audit-rows` rows, it times:
  1. the access check's store reads on each rerun (the users row by email, the access settings);
  2. one audit row written on its own (a Client page view), the hash chain included;
  3. a whole rerun of the Overview page under AppTest: local mode (no check) against signed in (the check).
Medians and 95th percentiles in milliseconds. Synthetic data only.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from analytics import demo
from analytics.ingest.importer import import_batch
from analytics.store import access, audit, users
from analytics.store.database import PROJECT_DIR, open_store
from analytics.store.scope import Scope

ADMIN = Scope(None, user="benchmark")
AUTH = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "b" * 32,
                 "client_id": "bench", "client_secret": "bench",
                 "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}}


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered) * 1000:7.3f} ms   p95 {p95 * 1000:7.3f} ms   (n = {len(ordered)})"


def timed(call, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def make_store(folder: Path, audit_rows: int) -> Path:
    path = folder / "bench.duckdb"
    con = open_store(path)
    demo.shift_demo(PROJECT_DIR / "data" / "demo", folder, end=date.today() - timedelta(days=1))
    files = [(f"{n}.csv", folder / f"{n}.csv") for n in ("therapists", "clients", "assignments", "submissions",
                                                         "measures")]
    assert import_batch(con, files, scope=ADMIN, imported_by="benchmark").accepted
    users.add_user(con, email="admin@example.test", role="admin", by=ADMIN)
    for i in range(50):
        users.add_user(con, email=f"therapist{i}@example.test", role="therapist", therapist_id="T01", by=ADMIN)
    for i in range(audit_rows):
        audit.record(con, actor=ADMIN, action=audit.VIEW_CLIENT, object_type="client", object_id=f"C{i % 40:03d}")
    con.close()
    return path


def apptest_reruns(path: Path, repeat: int, signed_in: bool) -> list[float]:
    import os

    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    original = PagesManager.__init__

    def init(self, *args, **kwargs):  # as tests/conftest.py: st.navigation, not the pages/ folder
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init
    os.environ["HOMEWORK_DB"] = str(path)
    at = AppTest.from_file(str(PROJECT_DIR / "dashboard.py"), default_timeout=60)
    if signed_in:
        at.secrets = AUTH
        at.user = {"is_logged_in": True, "email": "admin@example.test", "iat": int(time.time())}
    at.run()
    assert not at.exception and [t.value for t in at.title] == ["Overview"], at.exception
    return timed(at.run, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audit-rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = make_store(Path(folder), args.audit_rows)
        con = open_store(path)
        cursor = con.cursor()

        def check() -> None:
            users.find_user(cursor, "admin@example.test")
            access.load_settings(cursor)

        def view() -> None:
            audit.record(cursor, actor=ADMIN, action=audit.VIEW_CLIENT, object_type="client", object_id="C001")

        timed(check, 20)
        print(f"store: demo practice, 51 users, {args.audit_rows:,} audit rows")
        print(f"access check per rerun (users row + settings): {summary(timed(check, args.repeat))}")
        print(f"audit row written (a Client page view):         {summary(timed(view, args.repeat))}")
        assert audit.verify(cursor).ok
        con.close()
        reruns = max(10, args.repeat // 20)
        local = apptest_reruns(path, reruns, signed_in=False)
        signed = apptest_reruns(path, reruns, signed_in=True)
        print(f"Overview rerun, local mode (AppTest):            {summary(local)}")
        print(f"Overview rerun, signed in (AppTest):             {summary(signed)}")
        print(f"added by sign-in (difference of medians):        "
              f"{(statistics.median(signed) - statistics.median(local)) * 1000:7.3f} ms")


if __name__ == "__main__":
    main()
