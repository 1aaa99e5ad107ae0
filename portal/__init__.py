"""CPOR claims portal: the application factory."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from portal import config
from portal.extensions import babel, csrf, db, htmx, limiter, mail, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(config.load(app.instance_path))
    if overrides:
        app.config.update(overrides)

    from portal import models  # noqa: F401  (every table registered before Alembic looks)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    mail.init_app(app)
    htmx.init_app(app)

    from portal import i18n, security, errors, templating
    from portal.accounts import auth

    babel.init_app(app, locale_selector=i18n.select_locale)
    auth.init_login(app)
    security.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    from portal.notifications import mailer

    mailer.init_app(app)

    from portal.accounts.views import bp as accounts_bp
    from portal.claims.views import bp as claims_bp
    from portal.main.views import bp as main_bp
    from portal.review.views import bp as review_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(claims_bp)
    from portal.consent.views import bp as consent_bp
    from portal.notifications.views import bp as notifications_bp

    app.register_blueprint(consent_bp)
    app.register_blueprint(notifications_bp)

    from portal.directory_import import directory_cli

    app.cli.add_command(directory_cli)
    from portal.claims.cli import claims_cli

    app.cli.add_command(claims_cli)
    return app
