"""A round's map and replay as one self-contained HTML file for the audit record.

The maps load their scripts, stylesheets and fonts from /vendor (npm packages in node_modules); an
archive must open years later with no server and no internet, so every such file is inlined: scripts
and stylesheets as elements, the fonts and images a stylesheet refers to as data: URIs.
"""

import base64
import html
import mimetypes
import re
from pathlib import Path

_SCRIPT = re.compile(r'<script\s+src="/vendor/([^"]+)"\s*>\s*</script>')
_LINK = re.compile(r'<link\s+[^>]*href="/vendor/([^"]+)"[^>]*>')
_CSS_URL = re.compile(r"url\(\s*['\"]?(?!data:|https?:|#|//)([^'\")?#]+)([?#][^'\")]*)?['\"]?\s*\)")
_VENDOR_URL = re.compile(r"url\(\s*['\"]?/vendor/([^'\")?#]+)([?#][^'\")]*)?['\"]?\s*\)")
# A protocol-relative URL would reach for a CDN when the archive is opened: point it at nothing.
_REMOTE_URL = re.compile(r"url\(\s*['\"]?(?:https?:)?//[^)]*\)")


def _css_with_data_uris(css: str, css_path: Path) -> str:
    def replace(match: re.Match) -> str:
        return _data_uri(css_path.parent / match.group(1)) or match.group(0)

    return _REMOTE_URL.sub("url(data:,)", _CSS_URL.sub(replace, css))


def _data_uri(path: Path) -> str | None:
    path = path.resolve()
    if not path.is_file():
        return None
    kind = "font/woff2" if path.suffix == ".woff2" else mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"url(data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()})"


def inline_assets(page: str, node_modules: Path) -> str:
    """Replace every /vendor script and stylesheet of a page by its content."""

    def script(match: re.Match) -> str:
        code = (node_modules / match.group(1)).read_text(encoding="utf-8")
        return "<script>" + code.replace("</script", "<\\/script") + "</script>"

    def link(match: re.Match) -> str:
        if "stylesheet" not in match.group(0):
            return match.group(0)
        path = node_modules / match.group(1)
        css = _css_with_data_uris(path.read_text(encoding="utf-8"), path)
        return "<style>" + css.replace("</style", "<\\/style") + "</style>"

    def vendor_url(match: re.Match) -> str:
        return _data_uri(node_modules / match.group(1)) or "url(data:,)"

    return _VENDOR_URL.sub(vendor_url, _LINK.sub(link, _SCRIPT.sub(script, page)))


def archive_document(title: str, summary: str, pages: list[tuple[str, str]]) -> str:
    """One HTML file holding each (heading, self-contained page) in its own frame."""
    frames = "\n".join(
        f'<section><h2>{html.escape(heading)}</h2>'
        f'<iframe sandbox="allow-scripts" srcdoc="{html.escape(page, quote=True)}"></iframe></section>'
        for heading, page in pages)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body {{ font: 15px/1.4 sans-serif; margin: 16px; }}
iframe {{ width: 100%; height: 80vh; border: 1px solid #999; }}
pre {{ background: #f4f4f4; padding: 8px; }}</style></head>
<body><h1>{html.escape(title)}</h1><pre>{html.escape(summary)}</pre>
{frames}
</body></html>"""
