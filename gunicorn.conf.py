"""gunicorn settings for the portal (and for `make bench`, which serves the floor the same way).

Sync workers, one per core: the pages are CPU-bound in Python (templates, the ORM), so threads
only queue behind the GIL. Measured with `BENCH_QUICK=1 make bench` on the 2-core machine, two
sync workers against two gthread workers of 4 threads: sync served more requests a second on
every page (claims list 189 against 122, claim page 146 against 123) with a third of the p99
latency. Slow clients must not reach a sync worker directly: put a buffering proxy in front
(nginx; see deploy/ once it exists). WEB_CONCURRENCY overrides the worker count.
"""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
# A request that takes longer than this is killed; the longest, the CSV export of 100,000
# claims, streams in about 3 s.
timeout = 30
graceful_timeout = 30
keepalive = 2
# Recycle workers now and then, so a slow leak never grows without bound.
max_requests = 5000
max_requests_jitter = 500
