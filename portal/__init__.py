"""CPOR claims portal: the application factory."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from portal import config, errors, hx, i18n, jobs, models, operations, request_guard, security, static_files, templating  # noqa: F401  (models: every table for Alembic)
from portal.accounts import auth
from portal.accounts.views import bp as accounts_bp
from portal.api.v1 import bp as api_v1_bp
from portal.api.views import bp as api_access_bp
from portal.claims import tasks as claims_tasks  # noqa: F401  (the sweep's periodic job)
from portal.claims.cli import claims_cli
from portal.claims.views import bp as claims_bp
from portal.consent.views import bp as consent_bp
from portal.directory_import import directory_cli
from portal.extensions import babel, compress, csrf, db, limiter, mail, migrate
from portal.main.views import bp as main_bp
from portal.notifications import cli as notifications_cli
from portal.notifications import services as notifications
from portal.notifications import tasks as notifications_tasks
from portal.notifications.views import bp as notifications_bp
from portal.review.views import bp as review_bp

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None, instance_path: str | None = None) -> Flask:
    """The app. ``instance_path`` (or ``PORTAL_INSTANCE_PATH``) gives each server or test app a
    folder of its own; by default it is ``instance/`` beside the code."""
    instance_path = instance_path or os.environ.get("PORTAL_INSTANCE_PATH") or None
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=os.path.abspath(instance_path) if instance_path else None,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(config.load(app.instance_path))
    if overrides:
        app.config.update(overrides)
    request_guard.init_app(app)
    # After the guard: the request ID is taken ahead of it, so a refused request is logged too.
    operations.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    mail.init_app(app)
    hx.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)
    auth.init_login(app)
    security.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    static_files.init_app(app)
    compress.init_app(app)
    jobs.init_app(app)
    notifications_tasks.init_app(app)
    notifications.init_app(app)

    for blueprint in (main_bp, accounts_bp, review_bp, claims_bp, consent_bp, notifications_bp, api_access_bp, api_v1_bp):
        app.register_blueprint(blueprint)
    app.cli.add_command(directory_cli)
    app.cli.add_command(claims_cli)
    app.cli.add_command(notifications_cli.emails_cli)
    app.cli.add_command(notifications_cli.notifications_cli)
    app.cli.add_command(jobs.worker_command)
    return app
