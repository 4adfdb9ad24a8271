"""The accounts page: every account (role, crew member, active, last sign-in), a new account, a change of role,
crew member or password, and disabling or enabling one (disabling ends its tokens and sessions at once, as the
API's PATCH active:false does: the same service)."""

from flask import render_template
from flask_babel import gettext as _
from sqlalchemy import func, select

from ...accounts import services
from ...accounts.models import Account, Token
from ...extensions import db
from ...registry.models import CrewMember
from ...accounts.schemas import AccountCreateSchema, AccountPatchSchema
from ..auth import page_roles_required
from .common import actor, bp, done, present, run_service, schema_load
from .forms import choices, AccountActiveForm, AccountChangeForm, AccountCreateForm


def _crew_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(select(CrewMember.id, CrewMember.name).order_by(CrewMember.name)).all()
    return choices((str(row.id), f"{row.name} (#{row.id})") for row in rows)


def _crew_id(value: str | None) -> int | None | str:
    """The crew select's value as the API's JSON has it: a number, or null for none."""
    if not value:
        return None
    return int(value) if value.isdigit() else value  # anything else is the schema's to refuse


def _page(create: AccountCreateForm | None = None, changing: str | None = None,
          change: AccountChangeForm | None = None, refused: list[str] | None = None, status: int = 200):
    choices = _crew_choices()
    create = create or AccountCreateForm()
    create.crew_id.choices = choices
    accounts = db.session.execute(select(Account).order_by(Account.username)).scalars().all()
    names = dict(db.session.execute(select(CrewMember.id, CrewMember.name)).all())
    last = dict(db.session.execute(select(Token.account_id, func.max(Token.created_at))
                                   .group_by(Token.account_id)).all())
    rows = []
    for account in accounts:
        form = change if changing == account.username and change is not None else AccountChangeForm(
            formdata=None, role=account.role, crew_id=str(account.crew_id or ""))
        form.crew_id.choices = choices
        if changing == account.username and refused:
            form.form_errors.extend(refused)
        rows.append({"account": account, "crew_name": names.get(account.crew_id), "last_login": last.get(account.id),
                     "change": form, "toggle": AccountActiveForm(formdata=None,
                                                                  active="0" if account.active else "1")})
    return render_template("admin/accounts.html", create=create, rows=rows), status


@bp.get("/admin/accounts")
@page_roles_required("admin")
def accounts():
    """The accounts and the form for a new one."""
    return _page()


@bp.post("/admin/accounts")
@page_roles_required("admin")
def account_create():
    """Create an account (the API's POST /accounts)."""
    form = AccountCreateForm()
    form.crew_id.choices = _crew_choices()
    if form.validate_on_submit():
        body = {**present(form, ("username", "password", "role")), "crew_id": _crew_id(form.crew_id.data)}
        if form.password.data:
            body["password"] = form.password.data  # as typed: spaces are part of a password
        data = schema_load(form, AccountCreateSchema(), body)
        if data is not None and run_service(form, lambda: services.create_account(actor(), **data)):
            return done(_("Account %(name)s created.", name=data["username"]), "admin.accounts")
    return _page(create=form, status=422)


@bp.post("/admin/accounts/<username>")
@page_roles_required("admin")
def account_change(username: str):
    """Change an account's role, crew member or password (the API's PATCH /accounts/<username>)."""
    form = AccountChangeForm()
    form.crew_id.choices = _crew_choices()
    if form.validate_on_submit():
        body = {"role": form.role.data, "crew_id": _crew_id(form.crew_id.data)}
        if form.password.data:
            body["password"] = form.password.data
        data = schema_load(form, AccountPatchSchema(), body)
        if data is not None and run_service(form, lambda: services.update_account(actor(), username, data)):
            return done(_("Account %(name)s changed.", name=username), "admin.accounts")
    return _page(changing=username, change=form, status=422)


@bp.post("/admin/accounts/<username>/active")
@page_roles_required("admin")
def account_active(username: str):
    """Disable (its tokens and sessions end at once) or enable an account."""
    form = AccountActiveForm()
    if form.validate_on_submit() and form.active.data in ("0", "1"):
        active = form.active.data == "1"
        if run_service(form, lambda: services.update_account(actor(), username, {"active": active})):
            message = _("Account %(name)s enabled.", name=username) if active else \
                _("Account %(name)s disabled: its sign-ins ended at once.", name=username)
            return done(message, "admin.accounts")
    refusals = list(dict.fromkeys(e for name, errors in form.errors.items() if name != "csrf_token" for e in errors))
    return _page(changing=username, refused=refusals or [_("The form expired; please send it again.")], status=422)
