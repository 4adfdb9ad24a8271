"""The local nginx front: `deploy/nginx/local.conf` rendered into a run directory (scripts/run.sh, tests).

Production uses `deploy/nginx/opsserver.conf`; both include the one `deploy/nginx/proxy.conf`, so the
front that the tests and the benchmarks drive is the one that is deployed.

    python -m opsserver.serving.front --listen 127.0.0.1:5000 --upstream 127.0.0.1:5001 --run-dir DIR
prints the path of the rendered configuration; start it with `nginx -c PATH`.
"""

import argparse
import os
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "nginx"
NGINX = "/usr/sbin/nginx"


def render(listen: str, upstream: str, run_dir: Path) -> Path:
    """Write the local front's configuration into `run_dir` (made readable by nginx's workers) and
    return its path."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    # Started as root, nginx's workers run as `nobody` and must reach their temporary directories.
    os.chmod(run_dir, 0o755)
    text = (DEPLOY / "local.conf").read_text()
    for name, value in {"@RUN_DIR@": str(run_dir), "@UPSTREAM@": upstream, "@LISTEN@": listen,
                        "@PROXY_CONF@": str(DEPLOY / "proxy.conf")}.items():
        text = text.replace(name, value)
    path = run_dir / "nginx.conf"
    path.write_text(text)
    return path


def command(config: Path) -> list[str]:
    """The command line that runs the rendered front in the foreground."""
    return [NGINX, "-e", "stderr", "-p", str(Path(config).parent), "-c", str(config)]


def main() -> None:
    """Render the configuration and print its path (for scripts/run.sh)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--run-dir", required=True, type=Path)
    args = parser.parse_args()
    print(render(args.listen, args.upstream, args.run_dir))


if __name__ == "__main__":
    main()
