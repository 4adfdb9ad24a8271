"""The `ops` command group: a client of the same services as the API."""

import json
import os
import sys
import time
from datetime import UTC
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

import rules

from .accounts.services import create_account, update_account
from .audit import checkpoints, exports
from .audit.services import verify_chain
from .audit.signing import load_public_key
from .config import MIGRATIONS_DIR
from .demo.drill import run_drill
from .demo.seed import seed_demo
from .demo.synthetic import add_filler_events, load_synthetic
from .errors import ProblemError
from .web.archive import round_archive


@click.group()
def ops():
    """Field-operations commands."""


@ops.command("init-db")
@click.option("--demo", is_flag=True, help="Then load the Luohe demo, as seed-demo does (one start-up for both).")
@click.pass_context
@with_appcontext
def init_db(ctx, demo):
    """Create or upgrade the schema (applies the migrations); make the audit signing key when absent."""
    upgrade(directory=MIGRATIONS_DIR)
    click.echo("database schema is up to date")
    path, made = checkpoints.ensure_key()
    click.echo(f"{'made the' if made else 'kept the'} audit signing key {path} (keep it secret; "
               f"its public key: ops audit-public-key)")
    if demo:
        ctx.invoke(seed_demo_command)


@ops.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Load the Luohe demo: 18 points, crews, accounts, tonight's shifts, invented no-fire zones and the season's
    published announcement."""
    result = seed_demo()
    if not result["loaded"]:
        click.echo(f"nothing to do: {result['reason']}")
        return
    click.echo(f"loaded {result['points']} points, {result['crew']} crew members, {result['accounts']} accounts, "
               f"{result['shifts']} shifts ({result['shift_window'][0]} to {result['shift_window'][1]}), "
               f"{result['zones']} no-fire zones (invented, marked demo), "
               f"the season's announcement #{result['announcement']} over every point (published)")


@ops.command("seed-synthetic")
@click.option("--points", default=10_000, show_default=True, type=click.IntRange(min=1))
@click.option("--crew", default=50_000, show_default=True, type=click.IntRange(min=1))
@click.option("--rounds", default=60, show_default=True, type=click.IntRange(min=0),
              help="Closed rounds over the past season.")
@click.option("--reports-per-round", default=150, show_default=True, type=click.IntRange(min=0))
@click.option("--audit-events", default=0, show_default=True, type=click.IntRange(min=0),
              help="Extra SYNTHETIC events appended to the audit chain (for audit-log scale tests).")
@click.option("--active-round", is_flag=True, help="Also an active round tonight ordering every point.")
@click.option("--seed", default=7, show_default=True)
@with_appcontext
def seed_synthetic(points, crew, rounds, reports_per_round, audit_events, active_round, seed):
    """Load a SYNTHETIC national data set for load and scale tests (never for operations)."""
    started = time.monotonic()
    result = load_synthetic(points, crew, rounds, reports_per_round, seed, active_round=active_round)
    if not result["loaded"]:
        click.echo(f"nothing to do: {result['reason']}")
    else:
        click.echo(f"SYNTHETIC data: {result['points']} points, {result['crew_members']} crew, "
                   f"{result['accounts']} accounts (password {result['password']!r}), {result['rounds']} rounds, "
                   f"{result['firing_reports']} reports")
    if audit_events:
        last = add_filler_events(audit_events)
        click.echo(f"appended {audit_events} SYNTHETIC audit events; the chain ends at {last}")
    click.echo(f"took {time.monotonic() - started:.0f} s")


@ops.command("drill")
@click.option("--close", is_flag=True, help="Close the round at the end.")
@with_appcontext
def drill(close):
    """Play a demo round: arrivals, requests, approvals and a rejection, firings (some flagged)."""
    result = run_drill(close=close)
    first, last = (rules.local_time(t, current_app.config["OPS_TIMEZONE"]) for t in result["night"])
    click.echo(f"round {result['round_id']}: played the night of {first} to {last}; "
               f"{result['reports']} reports, {result['flagged_reports']} flagged")
    for code, state in sorted(result["states"].items()):
        click.echo(f"  {code}  {state}")


@ops.command("archive-round")
@click.argument("round_id", type=int)
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The HTML file to write.")
@click.option("--lang", default="zh", type=click.Choice(["zh", "en"]))
@with_appcontext
def archive_round(round_id, out_path, lang):
    """Write a round's map, what happened and its replay as one self-contained HTML file in the language
    chosen (no server, no internet needed); it opens on the map."""
    try:
        document = round_archive(round_id, lang)
    except ProblemError as err:
        raise click.ClickException(err.detail) from None
    Path(out_path).write_text(document, encoding="utf-8")
    click.echo(f"wrote {out_path} ({len(document.encode()) // 1024} KiB)")


@ops.command("export-audit")
@click.option("--format", "fmt", default="jsonl", type=click.Choice(["jsonl", "csv", "geojson"]))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, writable=True))
@click.option("--round", "round_id", type=int, default=None)
@click.option("--point", "point_code", default=None)
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"]), default=None)
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"]), default=None)
@with_appcontext
def export_audit(fmt, out_path, round_id, point_code, since, until):
    """Write the audit log (or part of it) up to its head now, with its signed manifest beside it
    (FILE.manifest.json)."""
    filters = {k: v for k, v in {"round_id": round_id, "point_code": point_code,
                                 "since": since.replace(tzinfo=since.tzinfo or UTC) if since else None,
                                 "until": until.replace(tzinfo=until.tzinfo or UTC) if until else None}.items()
               if v is not None}
    try:
        checkpoint = checkpoints.sign_at()  # the cut: the head now, signed
    except checkpoints.ChainContradictsCheckpoint as err:
        raise click.ClickException(f"{err}; nothing was exported") from None
    upto = checkpoint["length"]
    with open(out_path, "w", encoding="utf-8", newline="") as out:
        for piece in exports.render(exports.iter_export(**filters, upto_seq=upto, decode=fmt != "csv"), fmt):
            out.write(piece)
    doc = exports.manifest(fmt, filters, upto, checkpoint)
    Path(out_path + ".manifest.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    click.echo(f"wrote {doc['count']} events (seq {doc['first_seq']}–{doc['last_seq']}, cut at {upto}) to {out_path}")


@ops.command("audit-public-key")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the PEM to this file instead of printing it.")
@with_appcontext
def audit_public_key(out_path):
    """Print the public key that checks the audit checkpoints and export manifests (verify-export needs it)."""
    pem = checkpoints.public_key_pem()
    if out_path:
        Path(out_path).write_text(pem, encoding="utf-8")
    else:
        click.echo(pem, nl=False)


@ops.command("verify-export")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--manifest", "manifest_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Default: PATH.manifest.json when it exists.")
@click.option("--public-key", "key_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="The server's public key (PEM, from ops audit-public-key).")
def verify_export(path, manifest_path, key_path):
    """Check an exported JSONL file against its signed manifest and the server's public key, without the
    database; name the first bad line. Refuses a file without both."""
    if manifest_path is None and Path(path + ".manifest.json").exists():
        manifest_path = path + ".manifest.json"
    if manifest_path is None or key_path is None:
        missing = " and ".join(w for w, v in (("the manifest (--manifest)", manifest_path),
                                              ("the server's public key (--public-key)", key_path)) if v is None)
        click.echo(f"REFUSED: offline verification needs {missing}", err=True)
        sys.exit(1)
    try:
        manifest_doc = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
        key = load_public_key(Path(key_path).read_bytes())
    except ValueError as err:
        click.echo(f"REFUSED: {err}", err=True)
        sys.exit(1)
    with open(path, encoding="utf-8", newline="") as lines:
        result = exports.verify_jsonl(lines, manifest_doc if isinstance(manifest_doc, dict) else None, key)
    if result["ok"]:
        click.echo(f"ok: {result['count']} events, seq {result['first_seq']}–{result['last_seq']}, complete, "
                   f"signed at {result['checkpoint']['at']} over {result['checkpoint']['length']} events")
    else:
        where = f"line {result['line']}: " if result.get("line") else ""
        click.echo(f"BROKEN: {where}{result['reason']}", err=True)
        sys.exit(1)


@ops.command("create-user")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["crew", "commander", "auditor", "admin"]))
@click.option("--crew-id", type=int, default=None, help="The crew member a crew account is linked to.")
@with_appcontext
def create_user(username, role, crew_id):
    """Create an account; the password comes from OPS_PASSWORD or a prompt."""
    password = os.environ.get("OPS_PASSWORD") or click.prompt("Password", hide_input=True,
                                                               confirmation_prompt=True)
    if len(password) < 8:
        raise click.ClickException("the password must have at least 8 characters")
    try:
        account = create_account(f"cli:{os.environ.get('USER', 'unknown')}", username, password, role, crew_id)
    except ProblemError as err:
        raise click.ClickException(err.detail) from None
    click.echo(f"created {account.role} account '{account.username}' (id {account.id})")


@ops.command("account")
@click.argument("username")
@click.option("--enable/--disable", "active", default=None,
              help="--disable stops the account: every token and page session of it ends at once.")
@click.option("--role", type=click.Choice(["crew", "commander", "auditor", "admin"]), default=None)
@click.option("--crew-id", type=int, default=None, help="The crew member a crew account is linked to.")
@click.option("--no-crew", is_flag=True, help="Unlink the account from its crew member (not for a crew account).")
@click.option("--password", "new_password", is_flag=True,
              help="Set a new password from OPS_PASSWORD or a prompt (its tokens and sessions end too).")
@with_appcontext
def account(username, active, role, crew_id, no_crew, new_password):
    """Change an account as PATCH /api/v1/accounts/USERNAME does (same service, audited as the CLI user)."""
    if no_crew and crew_id is not None:
        raise click.UsageError("--crew-id and --no-crew exclude each other")
    changes = {k: v for k, v in {"active": active, "role": role, "crew_id": crew_id}.items() if v is not None}
    if no_crew:
        changes["crew_id"] = None
    if new_password:
        password = os.environ.get("OPS_PASSWORD") or click.prompt("New password", hide_input=True,
                                                                   confirmation_prompt=True)
        if len(password) < 8:
            raise click.ClickException("the password must have at least 8 characters")
        changes["password"] = password
    try:
        changed = update_account(f"cli:{os.environ.get('USER', 'unknown')}", username, changes)
    except ProblemError as err:
        fields = ", ".join(e["field"] for e in err.errors)
        raise click.ClickException(f"{err.detail} ({fields})" if fields else err.detail) from None
    crew = f", crew member {changed.crew_id}" if changed.crew_id is not None else ""
    click.echo(f"account '{changed.username}': {changed.role}{crew}, {'active' if changed.active else 'disabled'}")


@ops.command("verify-audit")
@with_appcontext
def verify_audit():
    """Recompute the audit chain and hold it to its latest signed checkpoints; exit 1 naming the first bad event."""
    result = verify_chain()
    if result["ok"]:
        pin = result["checkpoint"]
        pinned = f", pinned by the checkpoint of {pin['at']} ({pin['source']})" if pin else ", no checkpoint yet"
        click.echo(f"ok: {result['count']} events, head {result['head_hash']}{pinned}")
    else:
        click.echo(f"BROKEN at seq {result['first_bad_seq']}: {result['reason']}", err=True)
        sys.exit(1)
