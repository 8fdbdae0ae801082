#!/usr/bin/env bash
# Installs Debian's Chromium and ChromeDriver when missing: the explorer's browser test drives them (and
# plotly's PNG export uses Chromium). Never fails: where they cannot be installed it says why, and the
# browser test is skipped with that reason.
set -uo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "browser.sh: chromium/chromedriver missing and not installable here (needs root and apt-get);" \
        "the explorer's browser test will be skipped" >&2
    exit 0
fi
install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1; }
if ! install; then
    apt-get update -qq >/dev/null 2>&1
    install || echo "browser.sh: apt-get could not install chromium chromium-driver;" \
        "the explorer's browser test will be skipped" >&2
fi
exit 0
