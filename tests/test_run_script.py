"""`scripts/run.sh` prints where everything is (every page of the navigation bar, the sign-in and crew pages,
the API's description and the health probes), and prepares the database in one start-up."""

import re
from pathlib import Path

from flask import url_for

from opsserver.web.nav import NAV

RUN_SH = Path(__file__).resolve().parent.parent / "scripts" / "run.sh"


def printed_paths() -> set[str]:
    text = RUN_SH.read_text(encoding="utf-8")
    banner = text[text.index("cat <<TXT"):text.index("\nTXT\n")]
    return set(re.findall(r"(?:\$PORT|\s)(/[\w./-]*)", banner))


def test_the_run_command_prints_every_page(app):
    with app.test_request_context():
        pages = {url_for(entry.endpoint) for entry in NAV if entry.endpoint in app.view_functions}
        pages |= {url_for("web.login"), url_for("web.crew_page"), "/api/docs", "/api/openapi.json", "/healthz",
                  "/readyz"}
    assert len(pages) >= 12
    assert sorted(pages - printed_paths()) == []


def test_init_db_with_the_demo_is_one_start_up(runner):
    """run.sh's one command: the schema, then the demo; run again, nothing more is loaded."""
    first = runner.invoke(args=["ops", "init-db", "--demo"])
    assert first.exit_code == 0, first.output
    assert "database schema is up to date" in first.output and "loaded 18 points" in first.output
    again = runner.invoke(args=["ops", "init-db", "--demo"])
    assert again.exit_code == 0 and "nothing to do" in again.output
