"""Render a report's index.html in headless Chromium and save a screenshot of the whole page,
whatever its height, to check that the page reads well offline (or, with --height, of its top:
README's picture).

    pip install playwright          # the Python driver only; it uses the system's Chromium
    apt-get install chromium        # Debian; or pass --browser /path/to/chrome
    python scripts/screenshot_report.py results/<run>/report report.png
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from playwright.sync_api import sync_playwright


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="a report folder (with index.html)")
    parser.add_argument("out", type=Path, nargs="?", default=Path("report.png"))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, help="only the page's top this many pixels high")
    parser.add_argument("--browser", default=shutil.which("chromium") or shutil.which("chromium-browser"))
    args = parser.parse_args()
    page_path = (args.report / "index.html").resolve()
    if not page_path.exists():
        parser.error(f"{page_path}: no such file")
    if not args.browser:
        parser.error("no Chromium found: install it (apt-get install chromium) or pass --browser")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.browser, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": args.width, "height": args.height or 900})
        page.goto(page_path.as_uri())
        page.wait_for_load_state("load")
        height = page.evaluate("document.documentElement.scrollHeight")
        page.screenshot(path=str(args.out), full_page=args.height is None)
        browser.close()
    print(f"wrote {args.out} ({args.width} × {args.height or height} px)")


if __name__ == "__main__":
    main()
