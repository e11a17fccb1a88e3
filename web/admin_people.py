"""Administration of users, groups and memberships (the web side of `govflow user|group|member`)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .admin import admin_blueprint, people

bp = admin_blueprint("admin_people", "/admin")


@bp.route("/users")
def users() -> Any:
    return render_template("admin/users.html", users=people().users(), groups=people().groups())


@bp.route("/users", methods=("POST",))
def add_user() -> Any:
    form = request.form
    added = people().add_user(form.get("username", ""), form.get("display_name", ""),
                              form.get("password", ""), form.getlist("groups"))
    flash(_("User %(name)s added.", name=added.username), "info")
    return redirect(url_for(".users"))


@bp.route("/users/<username>", methods=("GET", "POST"))
def user(username: str) -> Any:
    if request.method == "POST":
        people().edit_user(username, request.form.get("display_name", ""))
        flash(_("Saved."), "info")
        return redirect(url_for(".user", username=username))
    return render_template("admin/user.html", user=people().user(username),
                           groups=people().groups())


@bp.route("/users/<username>/active", methods=("POST",))
def set_active(username: str) -> Any:
    active = request.form.get("active") == "1"
    people().set_active(username, active)
    flash(_("User reactivated.") if active else _("User deactivated: they can no longer sign in "
                                                  "and their API tokens no longer work."), "info")
    return redirect(url_for(".user", username=username))


@bp.route("/users/<username>/password", methods=("POST",))
def password(username: str) -> Any:
    people().set_password(username, request.form.get("password", ""))
    flash(_("Password changed."), "info")
    return redirect(url_for(".user", username=username))


@bp.route("/groups")
def groups() -> Any:
    return render_template("admin/groups.html", groups=people().groups(), users=people().users())


@bp.route("/groups", methods=("POST",))
def add_group() -> Any:
    form = request.form
    added = people().add_group(form.get("name", ""), form.get("title", ""),
                               form.get("kind", "department"), form.get("supervisor") or None)
    flash(_("Group %(name)s added.", name=added.name), "info")
    return redirect(url_for(".groups"))


@bp.route("/groups/<name>", methods=("POST",))
def edit_group(name: str) -> Any:
    people().edit_group(name, request.form.get("title", ""),
                        request.form.get("supervisor") or None)
    flash(_("Saved."), "info")
    return redirect(url_for(".groups"))


@bp.route("/members", methods=("POST",))
def membership() -> Any:
    username, group = request.form.get("username", ""), request.form.get("group", "")
    if request.form.get("action") == "remove":
        people().remove_member(username, group)
    else:
        people().add_member(username, group)
    flash(_("Saved."), "info")
    return redirect(request.form.get("back") == "user" and url_for(".user", username=username)
                    or url_for(".groups"))
