import hashlib

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user, login_required, logout_user

from portal.accounts import services
from portal.accounts.auth import start_session
from portal.accounts.forms import AddUserForm, LanguageForm, LoginForm, RoleForm
from portal.accounts.permissions import Permission, permission_required
from portal.extensions import db, limiter
from portal.i18n import chosen_locale, remember_locale
from portal.urls import safe_next

bp = Blueprint("accounts", __name__)


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_account_limit():
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _login_account() -> str:
    """The account a sign-in attempt names: the submitted address in the form it is looked up
    in, hashed (the limiter's storage never holds addresses). Counted whether or not such an
    account exists, so the limit reveals nothing."""
    email = services.normalize_email(request.form.get("email", "")[:1000])
    return "login-account:" + hashlib.sha256(email.encode()).hexdigest()


def _sign_in_failed(response) -> bool:
    return response.status_code != 302


def _too_many_for_account() -> str:
    return _("Too many sign-in attempts for this email address. Wait a few minutes and try again.")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_account_limit, methods=["POST"], key_func=_login_account, scope="login-account",
               deduct_when=_sign_in_failed, error_message=_too_many_for_account)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            flash(_("Email or password is incorrect."), "error")
            return render_template("accounts/login.html", form=form), 200
        chosen = chosen_locale()
        start_session(user)  # a fresh session on sign-in: nothing carried over from before
        if user.locale is None and chosen:
            services.set_locale(user, chosen)
            db.session.commit()
        return redirect(safe_next(form.next.data, url_for("main.home")))
    return render_template("accounts/login.html", form=form)


@bp.errorhandler(RateLimitExceeded)
def too_many_sign_ins(error):
    """Either limit on sign-in attempts: per client address (the app's generic page) or per
    account, which says so, since trying from elsewhere won't help."""
    if error.limit.error_message is None:
        return render_template("errors/generic.html", title=_("Too many attempts"),
                               message=_("Too many attempts in a short time. Wait a minute and try again.")), 429
    return render_template("errors/generic.html", title=_("Too many attempts"), message=error.description), 429


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out. The session version is raised too, so a copy of this session's cookie (kept
    by anyone) stops working with it; the user's other sessions end as well."""
    return _sign_out(_("You are signed out."))


@bp.route("/logout/everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    """End every session of the user: other browsers and devices, and this one."""
    return _sign_out(_("You are signed out everywhere: every browser and device signed in as you must sign in again."))


def _sign_out(message):
    """The sign-in page that follows stays in the language the user was using."""
    locale = str(get_locale())
    if current_user.is_authenticated:
        services.end_sessions(current_user)
        db.session.commit()
    logout_user()
    session.clear()
    flash(message, "info")
    return remember_locale(redirect(url_for("accounts.login")), locale)


@bp.route("/language", methods=["POST"])
def language():
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400)
    if current_user.is_authenticated:
        services.set_locale(current_user, form.locale.data)
        db.session.commit()
    return remember_locale(redirect(safe_next(form.next.data, url_for("main.home"))), form.locale.data)


@bp.route("/users", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_USERS)
def users():
    form = AddUserForm()
    if form.validate_on_submit():
        try:
            user = services.add_user(
                current_user,
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                password=form.password.data,
                locale=form.locale.data,
            )
        except services.AccountError as error:
            db.session.rollback()
            form.email.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("%(name)s was added.", name=user.name), "success")
            return redirect(url_for("accounts.users"))
    status = 422 if form.errors else 200
    return (
        render_template(
            "accounts/users.html",
            form=form,
            users=services.organization_users(current_user.organization_id),
            role_form=RoleForm,
        ),
        status,
    )


def _apply_user_change(change, message):
    try:
        user = change()
    except LookupError:
        abort(404)
    except services.AccountError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(message(user), "success")
    return redirect(url_for("accounts.users"))


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@permission_required(Permission.MANAGE_USERS)
def user_role(user_id):
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    return _apply_user_change(
        lambda: services.change_role(current_user, user_id, form.role.data),
        lambda user: _("The role of %(name)s was changed.", name=user.name),
    )


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@permission_required(Permission.MANAGE_USERS)
def user_deactivate(user_id):
    return _apply_user_change(
        lambda: services.set_active(current_user, user_id, False),
        lambda user: _("%(name)s was deactivated and can no longer sign in.", name=user.name),
    )


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@permission_required(Permission.MANAGE_USERS)
def user_reactivate(user_id):
    return _apply_user_change(
        lambda: services.set_active(current_user, user_id, True),
        lambda user: _("%(name)s was reactivated.", name=user.name),
    )


@bp.route("/incentives")
@permission_required(Permission.MANAGE_INCENTIVES)
def incentives():
    org_id = current_user.organization_id
    mpns = services.organization_mpns(org_id)
    return render_template(
        "accounts/incentives.html",
        mpns=mpns,
        mpn_ids={mpn.id: mpn.mpn_id for mpn in mpns},
        history=services.mpn_history(org_id),
    )


@bp.route("/incentives/<int:mpn_pk>/<any(enroll, unenroll):action>", methods=["POST"])
@permission_required(Permission.MANAGE_INCENTIVES)
def incentives_change(mpn_pk, action):
    try:
        mpn = services.set_enrollment(current_user, mpn_pk, action == "enroll")
    except LookupError:
        abort(404)
    db.session.commit()
    if mpn.incentives_enrolled:
        flash(_("MPN ID %(mpn)s is enrolled in incentives.", mpn=mpn.mpn_id), "success")
    else:
        flash(_("MPN ID %(mpn)s is no longer enrolled in incentives.", mpn=mpn.mpn_id), "success")
    return redirect(url_for("accounts.incentives"))
