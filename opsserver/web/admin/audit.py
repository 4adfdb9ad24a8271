"""The audit page: the event log filtered by round, point, period, actor and action; the exports in each format and
their signed manifests with the same filters, served with the page's session and streamed as the API streams
them; and the chain's verification with its result shown."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import abort, current_app, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ...audit import checkpoints, exports, services
from ...audit.models import AuditCheckpoint, AuditEvent
from ...audit.schemas import ExportQuerySchema
from ...extensions import db
from ..auth import page_roles_required
from .common import bp, schema_load
from .forms import AuditFilterForm

AUDIT_ROLES = ("auditor", "admin")
RECENT = 200  # events shown on the page; the exports hold all of them
FORMAT_NAMES = {"csv": "CSV", "jsonl": "JSONL", "geojson": "GeoJSON"}  # as everyone writes them
# The verification's reasons (audit/services.py writes them in English for the API and the CLI), in the reader's
# language; each pattern's groups fill its text.
VERIFY_REASONS = [
    (re.compile(r"sequence gap: expected (?P<expected>\d+), found (?P<found>\d+)"),
     _l("Events are missing: expected event %(expected)s, found %(found)s.")),
    (re.compile(r"prev_hash does not match the previous event's hash"),
     _l("The link to the previous event is broken (prev_hash differs from its hash).")),
    (re.compile(r"hash does not match the event's content"),
     _l("The event's content was changed: its hash no longer matches.")),
    (re.compile(r"line (?P<line>\d+) of the checkpoint file is not a checkpoint.*"),
     _l("Line %(line)s of the checkpoint file is not a checkpoint: the file was damaged.")),
    (re.compile(r"the checkpoint signed at .* does not carry a valid signature.*"),
     _l("A checkpoint does not carry a valid signature of this server's key.")),
    (re.compile(r"the checkpoint signed at .* covers (?P<length>\d+) events; the log holds (?P<count>\d+).*"),
     _l("The signed checkpoint covers %(length)s events, the log holds %(count)s: events it covers are missing.")),
    (re.compile(r"event (?P<seq>\d+) differs from the one the checkpoint signed at .*"),
     _l("Event %(seq)s differs from the one the signed checkpoint covers: events up to it were changed, removed "
        "or re-chained.")),
]


def verify_reason(reason: str | None) -> str | None:
    """Why verification failed, in the reader's language (the service's English text when no pattern knows it)."""
    if reason is None:
        return None
    for pattern, text in VERIFY_REASONS:
        found = pattern.fullmatch(reason)
        if found:
            return str(text) % found.groupdict()
    return reason


def _aware(local: datetime | None) -> datetime | None:
    """A time typed in the operations time zone (datetime-local has no offset) as an aware datetime."""
    return None if local is None else local.replace(tzinfo=ZoneInfo(current_app.config["OPS_TIMEZONE"]))


def _filters(form: AuditFilterForm) -> dict:
    """The export's filters the form names (round, point, period), as the export service takes them."""
    values = {"round_id": form.round_id.data, "point_code": (form.point_code.data or "").strip() or None,
              "since": _aware(form.since.data), "until": _aware(form.until.data)}
    return {k: v for k, v in values.items() if v is not None}


def _recent(filters: dict, actor: str | None, action: str | None) -> list[dict]:
    """The newest events the filters select, newest first."""
    stmt = exports.selected(**filters)
    t = AuditEvent.__table__.c
    if actor:
        stmt = stmt.where(t.actor == actor)
    if action:
        stmt = stmt.where(t.action == action)
    rows = db.session.execute(stmt.order_by(t.seq.desc()).limit(RECENT)).all()
    return [services.event_dict(row) for row in rows]


def _as_query(filters: dict) -> dict[str, str]:
    """The filters as the API's export reads them from a query string (times with their offset)."""
    return {k: v.isoformat() if isinstance(v, datetime) else str(v) for k, v in filters.items()}


def _page(verification: dict | None = None):
    form = AuditFilterForm(formdata=request.args)
    form.validate()
    filters = _filters(form) if not form.errors else {}
    # The export's own schema says which filters it takes, so that no link on the page leads to a refusal.
    if filters and schema_load(form, ExportQuerySchema(), _as_query(filters)) is None:
        filters = {}
    actor, action = (form.actor.data or "").strip(), (form.action.data or "").strip()
    upto = exports.chain_length()  # one cut for every link, so each file and its manifest describe the same bytes
    query = {**_as_query(filters), "upto_seq": upto}
    links = [{"format": fmt, "label": FORMAT_NAMES[fmt], "file": url_for("admin.audit_export", format=fmt, **query),
              "manifest": url_for("admin.audit_manifest", format=fmt, **query)} for fmt in exports.FORMATS]
    signed = db.session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)).scalar()
    return render_template("admin/audit.html", form=form, events=_recent(filters, actor, action), links=links,
                           upto=upto, shown_max=RECENT, verification=verification, signed=signed,
                           filter_args=request.args.to_dict(),
                           reason=verify_reason(verification["reason"]) if verification else None)


@bp.get("/audit")
@page_roles_required(*AUDIT_ROLES)
def audit():
    """The event log with its filters, the export links and the verify button."""
    return _page()


@bp.get("/audit/verify")
@page_roles_required(*AUDIT_ROLES)
def audit_verify():
    """The audit page with the chain's verification (the API's /audit/verify) shown on it."""
    return _page(services.verify_chain())


def _export_query() -> tuple[str, int, dict]:
    """The API's export parameters read from the link: (format, cut, filters); a bad one is a 422."""
    try:
        query = ExportQuerySchema().load(request.args.to_dict())
    except ma.ValidationError:
        abort(422)
    fmt, upto = query.pop("format"), query.pop("upto_seq")
    length = exports.chain_length()
    if upto is not None and upto > length:
        abort(422)
    return fmt, length if upto is None else upto, {k: v for k, v in query.items() if v is not None}


@bp.get("/audit/export")
@page_roles_required(*AUDIT_ROLES)
def audit_export():
    """The export file, the API's bytes (same service, same cut), streamed; it signs a checkpoint as the API's does."""
    fmt, upto, filters = _export_query()
    try:
        checkpoints.sign_at()
    except checkpoints.ChainContradictsCheckpoint:
        abort(409)  # nothing vouched for over a broken chain: the verify button says what is wrong
    return exports.export_answer(filters, fmt, upto)


@bp.get("/audit/export/manifest")
@page_roles_required(*AUDIT_ROLES)
def audit_manifest():
    """The export's signed manifest (the API's document) for the same filters and cut."""
    fmt, upto, filters = _export_query()
    try:
        doc = exports.manifest(fmt, filters, upto)
    except checkpoints.ChainContradictsCheckpoint:
        abort(409)
    name = f"audit-{fmt}.manifest.json"
    return current_app.response_class(current_app.json.dumps(doc, indent=2), mimetype="application/json",
                                      headers={"Content-Disposition": f'attachment; filename="{name}"'})
