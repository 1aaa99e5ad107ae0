"""The outside services of the deployment tests: an S3-compatible server (moto's standalone
server, installed by pip with the test extra) and Redis (``PORTAL_TEST_REDIS_URL``)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest
import redis

REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL")
REQUIRE_REDIS = os.environ.get("PORTAL_REQUIRE_REDIS") == "1"
REGION = "us-east-1"
#: What boto3 signs with against the test server (moto accepts any credentials).
TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": REGION}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def moto_server(timeout: float = 30):
    """moto's standalone S3 server in a process of its own on 127.0.0.1 (so what it holds is
    never counted as the app's memory), with test credentials in the environment while it runs
    (the app reads credentials the usual AWS ways, from the environment)."""
    saved = {name: os.environ.get(name) for name in TEST_CREDENTIALS}
    os.environ.update(TEST_CREDENTIALS)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto's server did not start on {endpoint}") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def s3_client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION)


def new_bucket(endpoint: str) -> dict:
    """A new, empty bucket, and the settings that store an app's files in it."""
    bucket = f"cpor-test-{uuid.uuid4().hex[:16]}"
    s3_client(endpoint).create_bucket(Bucket=bucket)
    return {"STORAGE_BACKEND": "s3", "S3_BUCKET": bucket, "S3_ENDPOINT_URL": endpoint, "S3_REGION": REGION}


def bucket_keys(settings: dict) -> list[str]:
    listing = s3_client(settings["S3_ENDPOINT_URL"]).list_objects_v2(Bucket=settings["S3_BUCKET"])
    return sorted(item["Key"] for item in listing.get("Contents", []))


def redis_url() -> str:
    """``PORTAL_TEST_REDIS_URL`` when it answers; otherwise the test is skipped with the reason
    (failed when ``PORTAL_REQUIRE_REDIS=1``)."""
    problem = None
    if not REDIS_URL:
        problem = "Redis not configured: set PORTAL_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to run this test"
    else:
        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
        except redis.RedisError as error:
            problem = f"Redis at PORTAL_TEST_REDIS_URL={REDIS_URL} does not answer: {error}"
    if problem:
        if REQUIRE_REDIS:
            pytest.fail(problem + " (PORTAL_REQUIRE_REDIS=1)")
        pytest.skip(problem)
    return REDIS_URL


def key_prefix() -> str:
    """Rate-limit keys of one test's own, so tests sharing a Redis never count each other."""
    return f"cpor-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{uuid.uuid4().hex[:12]}"


def nginx_binary() -> str:
    """Debian's nginx (``bash deploy/setup.sh`` installs it; .ci/run does, and requires it)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        message = "nginx not installed: run `bash deploy/setup.sh` to run the tests of the deployment's front"
        if os.environ.get("PORTAL_REQUIRE_NGINX") == "1":
            pytest.fail(message + " (PORTAL_REQUIRE_NGINX=1)")
        pytest.skip(message)
    return found
