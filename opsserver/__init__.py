"""The field-operations server: `create_app` builds the Flask application."""

import ipaddress
import os
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .accounts.ratelimit import init_login_limits
from .accounts.routes import blp as accounts_blp
from .alerts.routes import blp as alerts_blp
from .announcements.routes import blp as announcements_blp
from .ammo.routes import blp as ammo_blp
from .audit.exports import register_point_places, register_round_entity
from .audit.routes import blp as audit_blp
from .checkins.routes import blp as checkins_blp
from .checkins.services import register_sync_type
from .cli import ops
from .config import MIGRATIONS_DIR, Config, TestingConfig
from .database.engine import configure_engine
from .errors import register_errorhandlers as register_problem_handlers
from .extensions import ProblemApi, babel, close_unit_of_work, compress, db, migrate
from .i18n import select_locale
from .operations import airspace, orders, reports
from .operations.routes import blp as operations_blp
from .records.routes import blp as records_blp
from .registry.places import point_places
from .registry.routes import blp as registry_blp
from .reports.routes import blp as reports_blp
from .serving.requestlog import init_request_log
from .serving.routes import bp as serving_bp
from .serving.security import BoundedJSONProvider, init_security_headers
from .status.routes import blp as status_blp
from .web.assets import init_asset_urls
from .web.admin import bp as admin_bp
from .web.announcements import bp as announcement_pages_bp
from .web.auth import CookieSessionInterface
from .web.errors import page_error
from .web.rounds import bp as rounds_bp
from .web.dashboard import bp as dashboard_bp
from .web.routes import bp as web_bp
from .web.safe_sector import bp as safe_sector_bp
from .zones.routes import blp as zones_blp

# The API's blueprints, in the order the OpenAPI document lists them.
API_BLUEPRINTS = (accounts_blp, registry_blp, zones_blp, checkins_blp, operations_blp, announcements_blp, ammo_blp,
                  status_blp, alerts_blp, audit_blp, reports_blp, records_blp)


def create_app(config: dict | None = None) -> Flask:
    """Settings → extensions → blueprints → hooks → error handlers → CLI."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(TestingConfig if (config or {}).get("TESTING") else Config)
    if config:
        app.config.update(config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(app.instance_path) / 'ops.sqlite3'}"
    register_extensions(app)
    register_blueprints(app)
    register_hooks(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    """The database, migrations, sessions, the API, JSON limits, logging, security headers, login limits, babel,
    compression."""
    # First, so that its after-request hook runs last: every other one (the page policy hashes the page's inline
    # scripts) reads the body uncompressed.
    compress.init_app(app)
    db.init_app(app)
    app.teardown_appcontext(close_unit_of_work)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    with app.app_context():
        configure_engine(db.engine, app.config["OPS_SQLITE_SYNCHRONOUS"], app.config["OPS_SQLITE_CHECKPOINT_MS"])
    app.session_interface = CookieSessionInterface()
    app.extensions["ops_api"] = ProblemApi(app, spec_kwargs={"security": [{"bearer": []}]})
    app.json = BoundedJSONProvider(app)
    init_request_log(app)
    init_security_headers(app)
    init_login_limits(app)
    if app.config["OPS_TRUSTED_PROXIES"]:
        app.wsgi_app = TrustedProxyFix(app.wsgi_app, app.config["OPS_TRUSTED_PROXIES"],
                                       app.config["OPS_FORWARDED_ALLOW_IPS"])
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: app.config["OPS_TIMEZONE"],
                   default_translation_directories=str(Path(__file__).resolve().parent / "translations"))


class TrustedProxyFix:
    """werkzeug's ProxyFix for requests whose peer is a listed proxy (`allow`: comma-separated addresses or
    networks, `*` any, as gunicorn's forwarded_allow_ips); any other peer's X-Forwarded-* are ignored, so a
    client reaching the server directly cannot name its own address."""

    def __init__(self, wsgi_app, proxies: int, allow: str):
        self.plain = wsgi_app
        self.fixed = ProxyFix(wsgi_app, x_for=proxies, x_proto=proxies)
        names = [name.strip() for name in allow.split(",") if name.strip()]
        self.any = "*" in names
        self.networks = [ipaddress.ip_network(name, strict=False) for name in names if name != "*"]

    def trusted(self, peer: str | None) -> bool:
        """Whether this direct peer is one of the listed proxies."""
        if self.any:
            return True
        try:
            address = ipaddress.ip_address(peer or "")
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def __call__(self, environ, start_response):
        app = self.fixed if self.trusted(environ.get("REMOTE_ADDR")) else self.plain
        return app(environ, start_response)


def register_blueprints(app: Flask) -> None:
    """The API's blueprints (documented), the pages (with versioned asset URLs) and the health probes."""
    app.extensions["ops_api"].register_blueprints(API_BLUEPRINTS)
    app.register_blueprint(web_bp)
    app.register_blueprint(dashboard_bp)
    init_asset_urls(app)  # the pages' asset URLs carry their version (cached for a year)
    app.register_blueprint(admin_bp)
    app.register_blueprint(rounds_bp)
    app.register_blueprint(announcement_pages_bp)
    app.register_blueprint(safe_sector_bp)
    app.register_blueprint(serving_bp)


def register_hooks(_app: Flask) -> None:
    """What features tell the layers below them, which import no feature: the phone queue's item types, and
    the audit export's round filter and point places."""
    register_sync_type("report", reports.sync_report)
    register_sync_type("airspace_request", airspace.sync_airspace)
    register_sync_type("order_ack", orders.sync_order_ack)
    register_round_entity("airspace_request", airspace.ids_in_round)
    register_round_entity("firing_report", reports.ids_in_round)
    register_round_entity("order", orders.ids_in_round)
    register_point_places(point_places)


def register_errorhandlers(app: Flask) -> None:
    """Every error as a problem document (HTML pages get HTML error pages)."""
    register_problem_handlers(app)
    app.extensions["ops_page_errors"] = page_error


def register_commands(app: Flask) -> None:
    """The `ops` command group."""
    app.cli.add_command(ops)
