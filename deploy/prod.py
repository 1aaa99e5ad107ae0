"""``make prod``: the production topology on this machine's loopback, to watch it scale out.

    nginx 127.0.0.1:8080  ->  gunicorn A 127.0.0.1:8001  \\
                          ->  gunicorn B 127.0.0.1:8002   }-> PostgreSQL, Redis, files (folder or S3)
                              worker (when `flask --app portal worker` exists) /

Each gunicorn server has an instance folder of its own (``PORTAL_INSTANCE_PATH``), as two
machines would; they share the database, Redis (rate limits), the SECRET_KEY (sessions) and the
files: a folder in the run folder standing for a shared volume, or S3 (``STORAGE_BACKEND=s3``
with its settings, or ``PROD_S3=moto`` for moto's S3 server on loopback). Migrations and the demo
import run first. Everything stops on Ctrl-C; every process's log is in the run folder.

Settings (environment): DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/cpor_prod,
created if missing), REDIS_URL (default redis://127.0.0.1:6379/0), SECRET_KEY (default: one
generated once into the run folder), PROD_RUN_DIR (default .run/prod), PROD_LISTEN (default
127.0.0.1:8080), PROD_PORTS (default 8001,8002), WEB_CONCURRENCY (workers per gunicorn server,
default 2), PROD_S3=moto.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import psycopg
import redis
from psycopg import sql

from deploy import nginx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
FLASK = [str(BIN / "flask"), "--app", "portal"]
DEMO = ROOT / "portal" / "directory" / "demo.json"
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/cpor_prod"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def say(message: str) -> None:
    print(f"[make prod] {message}", flush=True)


def fail(message: str) -> None:
    print(f"[make prod] {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if not found:
        fail("nginx is not installed: run `bash deploy/setup.sh` (apt-get install nginx).")
    return found


def ensure_database(url: str) -> None:
    """The database exists (created on its server when missing) and answers."""
    conninfo = psycopg.conninfo.conninfo_to_dict(url)
    name = conninfo.get("dbname")
    try:
        with psycopg.connect(url, connect_timeout=5):
            return
    except psycopg.OperationalError as error:
        if f'database "{name}" does not exist' not in str(error):
            fail(f"PostgreSQL at {url} does not answer: {error}".strip())
    server = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    say(f"created database {name}")


def ensure_redis(url: str) -> None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        fail(f"Redis at {url} does not answer ({error}). Start it (redis-server) or set REDIS_URL.")


def secret_key(run_dir: Path) -> str:
    """SECRET_KEY from the environment, else one kept in the run folder: both servers must sign
    and read sessions with the same key, and restarts must not sign everyone out."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = run_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def wait_for(url: str, process: subprocess.Popen, name: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            fail(f"{name} exited at start-up; its log ({log}):\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    fail(f"{name} did not answer {url} within {timeout:.0f} s; its log ({log}):\n{tail(log)}")


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Processes:
    """Children in process groups of their own, stopped together (the gunicorn masters take
    their workers with them)."""

    def __init__(self):
        self.running: list[tuple[str, subprocess.Popen, Path]] = []

    def start(self, name: str, command: list[str], env: dict, log: Path) -> subprocess.Popen:
        with open(log, "ab") as out:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        self.running.append((name, process, log))
        return process

    def exited(self):
        return next(((name, p, log) for name, p, log in self.running if p.poll() is not None), None)

    def stop(self) -> None:
        for name, process, _ in reversed(self.running):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for name, process, _ in reversed(self.running):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
            say(f"stopped {name}")


def run(command: list[str], env: dict, what: str) -> str:
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"{what} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def worker_command_exists(env: dict) -> bool:
    """The job queue's worker (`flask --app portal worker`), when this checkout has it."""
    return subprocess.run([*FLASK, "worker", "--help"], cwd=ROOT, env=env, capture_output=True).returncode == 0


def start_moto(processes: Processes, run_dir: Path, env: dict) -> dict:
    """moto's S3 server on loopback as the shared file store, with a bucket for the portal."""
    port = int(os.environ.get("PROD_S3_PORT", "9000"))
    log = run_dir / "logs" / "s3-moto.log"
    process = processes.start("S3 (moto)", [str(BIN / "python"), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              env, log)
    endpoint = f"http://127.0.0.1:{port}"
    wait_for(endpoint + "/moto-api/", process, "moto", log)
    credentials = {"AWS_ACCESS_KEY_ID": "moto", "AWS_SECRET_ACCESS_KEY": "moto", "AWS_DEFAULT_REGION": "us-east-1"}
    settings = {**credentials, "STORAGE_BACKEND": "s3", "S3_BUCKET": "cpor-files", "S3_ENDPOINT_URL": endpoint,
                "S3_REGION": "us-east-1"}
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="moto",
                 aws_secret_access_key="moto").create_bucket(Bucket="cpor-files")
    return settings


def main() -> None:
    run_dir = Path(os.environ.get("PROD_RUN_DIR", ROOT / ".run" / "prod")).resolve()
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    listen = os.environ.get("PROD_LISTEN", "127.0.0.1:8080")
    ports = [int(p) for p in os.environ.get("PROD_PORTS", "8001,8002").split(",")]
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS)
    nginx_bin = nginx_binary()

    ensure_database(database_url)
    ensure_redis(redis_url)
    env = {
        **os.environ,
        "PORTAL_ENV": "production",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": secret_key(run_dir),
        # Plain HTTP on loopback: cookies without Secure (behind TLS in real production).
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "0"),
        # nginx is the one proxy in front: trust its X-Forwarded-For/-Proto/-Host, nothing more.
        "PROXY_FIX_X_FOR": "1", "PROXY_FIX_X_PROTO": "1", "PROXY_FIX_X_HOST": "1",
        "PORTAL_BASE_URL": os.environ.get("PORTAL_BASE_URL", f"http://{listen}"),
        "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", "2"),
        "MAIL_OUTBOX_DIR": os.environ.get("MAIL_OUTBOX_DIR", str(run_dir / "outbox")),
    }
    processes = Processes()
    stopping = False

    def stop(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        if os.environ.get("PROD_S3") == "moto":
            env.update(start_moto(processes, run_dir, env))
        elif env.get("STORAGE_BACKEND") != "s3":
            # Two servers on one machine: one folder stands for the volume both would mount.
            env.setdefault("UPLOAD_FOLDER", str(run_dir / "uploads"))
        env["PORTAL_INSTANCE_PATH"] = str(run_dir / "instance-setup")
        say("migrating the database")
        run([*FLASK, "db", "upgrade"], env, "flask db upgrade")
        say("importing the demo directory")
        run([*FLASK, "directory", "import", str(DEMO)], env, "the demo import")
        logins = run([*FLASK, "directory", "logins", str(DEMO)], env, "listing the demo logins")

        upstreams = []
        for letter, port in zip("abcdefgh", ports):
            log = run_dir / "logs" / f"web-{letter}.log"
            server_env = {**env, "PORTAL_INSTANCE_PATH": str(run_dir / f"instance-{letter}")}
            process = processes.start(f"gunicorn {letter} (127.0.0.1:{port})",
                                      [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
                                       "--bind", f"127.0.0.1:{port}", "wsgi:app"], server_env, log)
            wait_for(f"http://127.0.0.1:{port}/readyz", process, f"gunicorn {letter}", log)
            upstreams.append(f"127.0.0.1:{port}")
        if worker_command_exists(env):
            log = run_dir / "logs" / "worker.log"
            processes.start("worker", [*FLASK, "worker"], {**env, "PORTAL_INSTANCE_PATH": str(run_dir / "instance-worker")}, log)
        else:
            say("no `flask --app portal worker` command in this checkout: no worker started")

        config = nginx.write(run_dir, listen, upstreams)
        run([nginx_bin, "-t", "-q", "-e", "stderr", "-p", str(run_dir), "-c", str(config)], env, "nginx -t")
        log = run_dir / "logs" / "nginx.log"
        process = processes.start("nginx", [nginx_bin, "-e", "stderr", "-p", str(run_dir), "-c", str(config)], env, log)
        wait_for(f"http://{listen}/readyz", process, "nginx", log)

        print()
        print(f"Serving on http://{listen}  (nginx -> {', '.join(upstreams)})")
        print(logins.rstrip())
        print(f"Logs: {run_dir / 'logs'}   Stop: Ctrl-C")
        print(flush=True)
        while not stopping:
            gone = processes.exited()
            if gone:
                name, process, log = gone
                say(f"{name} exited ({process.returncode}); its log ({log}):\n{tail(log)}")
                break
            time.sleep(0.5)
    finally:
        say("stopping")
        processes.stop()


if __name__ == "__main__":
    main()
