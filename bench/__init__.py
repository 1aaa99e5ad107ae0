"""The load benchmark (`make bench`): not a test. It fills a scratch PostgreSQL database with a
realistic spread, serves the portal and a bare floor app under the same gunicorn settings, drives
each endpoint with wrk interleaved with the floor, and prints throughput as a ratio to the floor.

    python -m bench                 # the full run: a million claims
    BENCH_QUICK=1 python -m bench   # a small run, a few minutes

See README.md (Benchmark) for the settings and the last recorded figures.
"""
