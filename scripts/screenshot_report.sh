#!/usr/bin/env bash
# Render a report's index.html in headless Chromium (Debian: apt-get install chromium) and save a
# full-page screenshot, to check that the page reads well offline.
#   scripts/screenshot_report.sh results/<run>/report report.png [height]
set -euo pipefail
report=$(cd "$1" && pwd)
out=${2:-report.png}
height=${3:-6000}
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,"$height" \
  --screenshot="$out" "file://$report/index.html" 2>/dev/null
echo "wrote $out"
