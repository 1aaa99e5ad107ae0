"""Shared fixtures: the app on a test database, a client, signing in.

``app`` runs on SQLite. ``any_app`` runs a test once on SQLite and once on PostgreSQL
(``PORTAL_TEST_DATABASE_URL``); without that variable the PostgreSQL run is skipped with the
reason, unless ``PORTAL_REQUIRE_POSTGRES=1`` (set by CI), where it fails instead. ``demo`` and
``any_demo`` (tests/claims/conftest.py) are the same with the demo directory loaded.

Each schema is made once per session (per xdist worker: each worker has databases of its own),
the demo directory loaded once into a database of its own, and every test runs inside one
transaction on one connection, rolled back at its end. Every session the app opens joins that
transaction through a savepoint, so the app's commits and rollbacks work as they do in
production, and the next test starts from the same rows.

``redis_queue`` gives a test a job queue of its own on Redis (``PORTAL_TEST_REDIS_URL``; skipped
without it, failed instead under ``PORTAL_REQUIRE_REDIS=1``, as CI sets): its settings, to pass
as ``app_overrides``. Every other test runs jobs in-process (Huey's immediate mode).

A transaction hides what only separate connections show: tests marked ``real_commits`` get a
fresh database where commits are real (races between threads, the CLI); the migrations test
and the browser tests (tests/e2e) make databases of their own.
"""
from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

import flask_sqlalchemy.session
import pytest
import redis
from jinja2 import MemcachedBytecodeCache
from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.engine import Engine
from werkzeug.routing.rules import Rule

from portal import create_app
from portal.directory_import import import_directory, load_file
from portal.extensions import db
from portal.jobs import huey
from tests import services
from tests.support import HARNESS_SAVEPOINTS

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")
REQUIRE_PG = os.environ.get("PORTAL_REQUIRE_POSTGRES") == "1"
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL")
REQUIRE_REDIS = os.environ.get("PORTAL_REQUIRE_REDIS") == "1"
#: xdist's name for this worker ("gw0", "gw1", ...); each worker has databases of its own.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
DEMO_FILE = Path(__file__).resolve().parent.parent / "portal" / "directory" / "demo.json"
#: Password hashing is deliberately slow in production (scrypt); tests sign in thousands of
#: times. Tests marked ``production_password_hash`` keep the production setting.
TEST_PASSWORD_HASH = "pbkdf2:sha256:1"


def pytest_configure(config):
    config.addinivalue_line("markers", "real_commits: a fresh database per test where commits are real "
                                       "(for what one rolled-back transaction would hide)")
    config.addinivalue_line("markers", "production_password_hash: new passwords are hashed as in production (scrypt)")


#: Test files whose tests share servers started once per module (kept together on one worker),
#: and single tests of over ten seconds: with the browser tests, each worker starts with its share.
_LONG_MODULES = ("tests/test_instances.py", "tests/test_deploy.py", "tests/claims/lifecycle/test_state_machine.py")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Order the tests for pytest-xdist's ``worksteal``, which hands each of the N workers a
    contiguous 1/N of this list and lets an idle worker take the last half of the longest
    queue: each slice starts with its share of the long tests (the browser tests, marked
    ``e2e`` by tests/e2e/conftest.py, and ``_LONG_MODULES``), so the run never ends on one
    long test started late, and a stolen tail is quick tests. Without workers the order
    stays. Every worker computes the same order, as xdist requires."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers < 2:
        return
    root = Path(str(config.rootpath))
    long_units: dict[str, list] = {}
    rest = []
    for item in items:
        module = Path(str(item.path)).relative_to(root).as_posix()
        if module in _LONG_MODULES:
            long_units.setdefault(module, []).append(item)
        elif item.get_closest_marker("e2e"):
            long_units[item.nodeid] = [item]
        else:
            rest.append(item)
    sizes, remaining = [], len(items)
    for k in range(workers):  # as worksteal's first distribution
        sizes.append(remaining // (workers - k))
        remaining -= sizes[-1]
    slices: list[list] = [[] for _ in range(workers)]
    for unit in sorted(long_units.values(), key=len, reverse=True):
        min(slices, key=len).extend(unit)
    ordered = []
    for size, slice_ in zip(sizes, slices):
        take = max(0, size - len(slice_))
        ordered += slice_ + rest[:take]
        rest = rest[take:]
    items[:] = ordered + rest


def settings_for(database_url: str, tmp_path, production_password_hash=False) -> dict:
    settings = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "SECRET_KEY": "test-secret",
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
    }
    if not production_password_hash:
        settings["PASSWORD_HASH_METHOD"] = TEST_PASSWORD_HASH
    return settings




# --- databases ----------------------------------------------------------------------------------


def postgres_url(suffix: str = "") -> str:
    """The PostgreSQL URL for psycopg 3; with ``suffix``, of this worker's database of that name
    (``<database>_<worker>_<suffix>``), created if missing."""
    if not PG_URL:
        message = "PostgreSQL not configured: set PORTAL_TEST_DATABASE_URL to run this test on it"
        if REQUIRE_PG:
            pytest.fail(message + " (PORTAL_REQUIRE_POSTGRES=1)")
        pytest.skip(message)
    url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    if not suffix:
        return url.render_as_string(hide_password=False)
    name = f"{url.database}_{WORKER}_{suffix}"
    _create_database(url, name)
    return url.set(database=name).render_as_string(hide_password=False)


_created: set[str] = set()


def _create_database(server_url, name: str) -> None:
    if name in _created:
        return
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    _created.add(name)


def reset_postgres(url: str) -> None:
    """An empty public schema, so a test (and the migrations test) starts from nothing."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def load_demo(app) -> None:
    with app.app_context():
        import_directory(load_file(DEMO_FILE))
        db.session.commit()


def _build(url: str, tmp_path, demo: bool) -> None:
    """The schema (and the demo directory) at ``url``, committed."""
    if url.startswith("postgresql"):
        reset_postgres(url)
    app = create_app(settings_for(url, tmp_path))
    with app.app_context():
        db.create_all()
    if demo:
        load_demo(app)
    with app.app_context():
        db.engine.dispose()


class Databases:
    """This session's shared databases, each built on first use: an empty schema and the demo
    directory, on SQLite and PostgreSQL. Tests never commit to them (see ``rolled_back``)."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.urls: dict[tuple[str, bool], str] = {}

    def url(self, backend: str, demo: bool) -> str:
        key = (backend, demo)
        if key not in self.urls:
            name = "demo" if demo else "empty"
            if backend == "sqlite":
                url = f"sqlite:///{self.tmp / f'{name}.db'}"
            else:
                url = postgres_url(name)
            _build(url, self.tmp, demo)
            self.urls[key] = url
        return self.urls[key]

    def fresh_copy(self, backend: str, demo: bool, tmp_path: Path) -> str:
        """A database of its own for a ``real_commits`` test, copied from a template built once
        (the same schema and rows as ``url`` gives, never used itself): a file copy on SQLite,
        ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL, instead of building the schema and
        loading the directory anew for each test."""
        name = "template-demo" if demo else "template-empty"
        key = (backend, demo, "template")
        if backend == "sqlite":
            if key not in self.urls:
                self.urls[key] = f"sqlite:///{self.tmp / f'{name}.db'}"
                _build(self.urls[key], self.tmp, demo)
            shutil.copyfile(self.tmp / f"{name}.db", tmp_path / "test.db")
            return f"sqlite:///{tmp_path / 'test.db'}"
        if key not in self.urls:
            self.urls[key] = postgres_url(name.replace("-", "_"))
            _build(self.urls[key], self.tmp, demo)
        template = make_url(self.urls[key])
        copy = template.set(database=f"{make_url(PG_URL).database}_{WORKER}_commits")
        engine = create_engine(template.set(database=make_url(PG_URL).database), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{copy.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{copy.database}" TEMPLATE "{template.database}"'))
        engine.dispose()
        _created.add(copy.database)
        return copy.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> Databases:
    return Databases(tmp_path_factory.mktemp("databases"))


# --- a job queue on Redis ----------------------------------------------------------------------


@pytest.fixture
def redis_queue() -> dict:
    """Settings for a Redis job queue named for this test alone (xdist workers, and other runs
    on the same Redis, never share one); its keys are deleted and jobs go back to in-process at
    the end."""
    problem = None
    if not REDIS_URL:
        problem = "Redis not configured: set PORTAL_TEST_REDIS_URL to run this test"
    else:
        client = redis.Redis.from_url(REDIS_URL)
        try:
            client.ping()
        except redis.RedisError as error:
            problem = f"Redis at {REDIS_URL} unreachable: {error}"
        finally:
            client.close()
    if problem:
        if REQUIRE_REDIS:
            pytest.fail(problem + " (PORTAL_REQUIRE_REDIS=1)")
        pytest.skip(problem)
    settings = {"JOBS_EAGER": False, "JOBS_REDIS_URL": REDIS_URL,
                "JOBS_QUEUE_NAME": f"cpor-test-{WORKER}-{uuid.uuid4().hex[:12]}"}
    yield settings
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"*{settings['JOBS_QUEUE_NAME']}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
    huey.immediate = True


# --- one transaction per test --------------------------------------------------------------


class _JoinedSession(flask_sqlalchemy.session.Session):
    """Flask-SQLAlchemy's session, on the test's connection instead of a pooled one."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return bind if bind is not None else self.bind


def _pysqlite_leaves_transactions_to_sqlalchemy(dbapi_connection, _record):
    # pysqlite begins transactions on its own, too late for savepoints; SQLAlchemy's recipe
    # ("Serializable isolation / Savepoints / Transactional DDL" in its SQLite dialect notes).
    dbapi_connection.isolation_level = None


def _pysqlite_begin(conn):
    conn.exec_driver_sql("BEGIN")


def _note_harness_savepoint(session, transaction, connection):
    """The savepoint a session opens to join the test's transaction (not one the app asks for
    with ``begin_nested``): statement recorders leave it out."""
    if transaction.parent is None:
        connection.info.setdefault(HARNESS_SAVEPOINTS, set()).add(connection.get_nested_transaction()._savepoint)


_shared_engines: dict[str, Engine] = {}


def _shared_engine(app) -> Engine:
    """One engine per shared database for the whole session, in place of the one each test's
    app makes: its pooled connection and its cache of compiled SQL serve every test."""
    with app.app_context():
        own = db.engine
    key = repr((own.url, app.config.get("SQLALCHEMY_ENGINE_OPTIONS")))
    if key not in _shared_engines:
        if own.dialect.name == "sqlite":
            event.listen(own, "connect", _pysqlite_leaves_transactions_to_sqlalchemy)
            event.listen(own, "begin", _pysqlite_begin)
        _shared_engines[key] = own
    else:
        own.dispose()
    db._app_engines[app][None] = _shared_engines[key]
    return _shared_engines[key]


@contextmanager
def rolled_back(app):
    """Run with every ``db.session`` of ``app`` on one connection whose transaction is rolled
    back at the end. Each session (one per app context: each request, each ``with
    app.app_context()``) opens a savepoint on it: ``commit`` releases the savepoint, ``rollback``
    returns to it, as join_transaction_mode="create_savepoint" does (SQLAlchemy's "Joining a
    Session into an External Transaction")."""
    engine = _shared_engine(app)
    connection = engine.connect()
    connection.info[HARNESS_SAVEPOINTS] = set()  # savepoint names start again on each connection
    outer = connection.begin()
    production_session = db.session
    db.session = db._make_scoped_session(
        {"class_": _JoinedSession, "bind": connection, "join_transaction_mode": "create_savepoint"}
    )
    event.listen(db.session, "after_begin", _note_harness_savepoint)
    try:
        yield
    finally:
        for session in list(db.session.registry.registry.values()):
            session.close()
        db.session = production_session
        outer.rollback()
        connection.close()


class _CompiledTemplates:
    """Each test's app has a Jinja environment of its own; they share the compiled templates
    (Jinja's bytecode cache, through its memcached interface), so each template is compiled
    once per session rather than once per test."""

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def get(self, key):
        return self.compiled.get(key)

    def set(self, key, value, timeout=None):
        self.compiled[key] = value


_COMPILED_TEMPLATES = MemcachedBytecodeCache(_CompiledTemplates())


def _compile_each_url_builder_once() -> None:
    """Each test's app adds its ~50 URL rules anew, and Werkzeug compiles two URL builders per
    rule from a syntax tree: two thirds of ``create_app``'s time. A builder depends only on the
    rule's text, parts, defaults and converters, and reads the rule's converters through its
    ``self`` argument when it runs; so the same rule in the next test's app gets the function
    compiled for the first (bound to its own rule, as Werkzeug does)."""
    compile_builder = Rule._compile_builder
    compiled: dict[tuple, object] = {}

    def _compile_builder(self, append_unknown: bool = True):
        key = (
            self.rule, self.host, self.subdomain, self.merge_slashes, tuple(self._trace),
            tuple(sorted((name, type(converter).__qualname__,
                          repr({k: v for k, v in vars(converter).items() if k != "map"}))
                         for name, converter in self._converters.items())),
            repr(sorted((self.defaults or {}).items())), append_unknown,
        )
        if key not in compiled:
            compiled[key] = compile_builder(self, append_unknown)
        return compiled[key]

    Rule._compile_builder = _compile_builder


_compile_each_url_builder_once()


def _app(request, backend: str, tmp_path, overrides: dict):
    """The app on ``backend`` for this test; on the database holding the demo directory when the
    test asks for ``demo_directory`` (through ``demo``/``any_demo``); in a fresh, really
    committed database when marked ``real_commits``."""
    demo = "demo_directory" in request.fixturenames
    real = request.node.get_closest_marker("real_commits") is not None
    production_hash = request.node.get_closest_marker("production_password_hash") is not None
    if real:
        url = request.getfixturevalue("databases").fresh_copy(backend, demo, tmp_path)
    else:
        url = request.getfixturevalue("databases").url(backend, demo)
    app = create_app({**settings_for(url, tmp_path, production_hash), **overrides})
    app.jinja_env.bytecode_cache = _COMPILED_TEMPLATES
    if real:
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    else:
        with rolled_back(app):
            yield app


@pytest.fixture
def demo_directory():
    """Asked for by a test (or its fixtures), its app starts from the demo directory."""


@pytest.fixture
def app_overrides():
    """Tests override settings by redefining this fixture or parametrizing it."""
    return {}


@pytest.fixture
def app(request, tmp_path, app_overrides):
    yield from _app(request, "sqlite", tmp_path, app_overrides)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request, tmp_path, app_overrides):
    yield from _app(request, request.param, tmp_path, app_overrides)


@pytest.fixture
def client(app):
    return app.test_client()


# --- services for the deployment tests: an S3-compatible server, Redis ----------------------
# (tests/services.py starts and checks them; the fixtures are here so every package can ask.)


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's standalone S3 server on a loopback port, for this session (per xdist worker)."""
    with services.moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_settings(s3_endpoint) -> dict:
    """Settings for an app storing its files in a new, empty bucket of the test S3 server."""
    return services.new_bucket(s3_endpoint)


@pytest.fixture
def redis_url() -> str:
    """A Redis to count in, with a key prefix of this test's own (settings ``RATELIMIT_KEY_PREFIX``):
    tests share the server with each other and with other worktrees. Skipped with the reason
    without ``PORTAL_TEST_REDIS_URL``, failed instead when ``PORTAL_REQUIRE_REDIS=1`` (CI)."""
    return services.redis_url()
