"""What the tests share: database.py (the template database and row counts), world.py (the worlds and request
bodies), problems.py (assert_problem), pages.py (page sign-in), roles.toml + roles.py (the role contract),
servers.py (real servers), live.py (the in-process server and Chromium), slow.py (slow clients).
Fixtures wiring them: tests/conftest.py."""
