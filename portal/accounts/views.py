from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from portal.accounts import services
from portal.accounts.forms import AddUserForm, LanguageForm, LoginForm, RoleForm
from portal.accounts.permissions import Permission, permission_required
from portal.extensions import db, limiter
from portal.urls import safe_next

bp = Blueprint("accounts", __name__)


def _login_limit():
    from flask import current_app

    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            flash(_("Email or password is incorrect."), "error")
            return render_template("accounts/login.html", form=form), 200
        chosen_locale = session.get("locale")
        session.clear()  # a fresh session on sign-in: nothing carried over from before
        login_user(user)
        if user.locale is None and chosen_locale:
            services.set_locale(user, chosen_locale)
            db.session.commit()
        return redirect(safe_next(form.next.data, url_for("main.home")))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/language", methods=["POST"])
def language():
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400)
    session["locale"] = form.locale.data
    if current_user.is_authenticated:
        services.set_locale(current_user, form.locale.data)
        db.session.commit()
    return redirect(safe_next(form.next.data, url_for("main.home")))


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
