#!/usr/bin/env bash
# Installs the system packages Suifang needs, only when they are missing.
# Usage: scripts/install-deps.sh [test]   ("test" adds what the browser tests need)
set -euo pipefail

need=()
if ! pkg-config --exists libsodium 2>/dev/null; then need+=(libsodium-dev); fi
if ! command -v pkg-config >/dev/null 2>&1; then need+=(pkg-config); fi
if [ ! -e /usr/include/zlib.h ]; then need+=(zlib1g-dev); fi
if [ ! -e /usr/include/sqlite3.h ]; then need+=(libsqlite3-dev); fi
if [ "${1:-}" = "test" ]; then
    # The browser tests: headless Chromium through WebDriver, and CJK fonts for the screenshots.
    if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then need+=(chromium); fi
    if ! command -v chromedriver >/dev/null 2>&1; then need+=(chromium-driver); fi
    if ! /usr/bin/python3 -c "import selenium" >/dev/null 2>&1; then need+=(python3-selenium); fi
    if ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then need+=(fonts-noto-cjk); fi
    # The HIS feed's tests build and read HL7 messages with an independent library.
    if ! /usr/bin/python3 -c "import hl7" >/dev/null 2>&1; then need+=(python3-hl7); fi
    # The SMS centre's tests run a real Kannel (bearerbox, smsbox) with its fake SMS centre.
    if [ ! -x /usr/sbin/bearerbox ] || [ ! -x /usr/sbin/smsbox ]; then need+=(kannel); fi
    if [ ! -x /usr/lib/kannel/test/fakesmsc ]; then need+=(kannel-extras); fi
    # The FHIR test installs the R4 models from PyPI into a virtual environment of its own.
    if ! /usr/bin/python3 -c "import venv, ensurepip" >/dev/null 2>&1; then need+=(python3-venv); fi
    # certutil: the browser tests trust the demo hospital's CA in Chromium's NSS database.
    if ! command -v certutil >/dev/null 2>&1; then need+=(libnss3-tools); fi
    # `suifang service install`'s unit is checked by systemd's own reader.
    if [ ! -x /usr/bin/systemd-analyze ]; then need+=(systemd); fi
    # The group archive's tests and `bench archive` start a PostgreSQL server of their own.
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        need+=(postgresql)
        # Debian would create and start a cluster on 5432; the tests start theirs on free ports.
        mkdir -p /etc/postgresql-common/createcluster.d 2>/dev/null \
            && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/suifang-no-main.conf 2>/dev/null || true
    fi
fi

if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "error: the Swift toolchain (6.x) is not on PATH" >&2
    exit 1
fi
