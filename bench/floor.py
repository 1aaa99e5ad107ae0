"""The floor: the least a request on this stack costs. A bare Flask route that renders a small
template file and runs one indexed query (a user by primary key) against the benchmark's
database, served by the same gunicorn settings as the portal. Every endpoint's throughput is
reported as a ratio to this one, measured in the same round, so the machine's noise cancels.

    DATABASE_URL=postgresql://… gunicorn bench.floor:app
"""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, render_template
from sqlalchemy import create_engine, text

from bench.settings import _psycopg

app = Flask(__name__, template_folder=str(Path(__file__).resolve().parent / "templates"))
# The same driver and pool options as the portal (portal/config.py).
engine = create_engine(_psycopg(os.environ["DATABASE_URL"]), pool_pre_ping=True)
USER = text("SELECT id, email, name FROM users WHERE id = :id")


@app.get("/")
def floor():
    with engine.connect() as conn:
        user = conn.execute(USER, {"id": 1}).one()
    return render_template("floor.html", user=user)
