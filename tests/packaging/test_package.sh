#!/usr/bin/env bash
# The tally .deb on this machine: lintian, installation (files, user, permissions), a tallyd run that makes the
# buffer, `dpkg -r` (buffer and edited configuration kept), `dpkg -P` (both gone). Needs root; changes the system
# (meant for CI's fresh machine, or a throw-away one). tools/check runs it with the .deb tools/package built.
#   tests/packaging/test_package.sh dist/tally_0.1.0_amd64.deb
set -euo pipefail
deb=$(realpath "$1")
[ "$(id -u)" -eq 0 ] || { echo "test_package: needs root" >&2; exit 1; }
fail() { echo "test_package: FAIL: $*" >&2; exit 1; }
step() { echo "test_package: $*"; }

step "lintian"
lintian --fail-on error,warning --suppress-tags-from-file /dev/null "$deb" || fail "lintian reported errors or warnings"

if dpkg-query -W -f='${Status}' tally 2>/dev/null | grep -q 'install ok installed'; then
  fail "tally is already installed here; this test installs and purges it"
fi

step "install"
dpkg -i "$deb" || { apt-get install -f -y -q --no-install-recommends; dpkg-query -W tally >/dev/null; }
for f in /usr/bin/tallyd /usr/bin/tallyctl /etc/tally/tally.toml /lib/systemd/system/tallyd.service \
         /lib/udev/rules.d/60-tally.rules /usr/share/doc/tally/README.md.gz /usr/share/doc/tally/examples/process-station.toml; do
  [ -e "$f" ] || fail "$f is missing"
done
grep -qx /etc/tally/tally.toml <(dpkg-query -W -f='${Conffiles}\n' tally | awk '{print $1}') || fail "tally.toml is not a conffile"
getent passwd tally >/dev/null || fail "no tally user"
id -nG tally | tr ' ' '\n' | grep -qx dialout || fail "tally is not in dialout"
[ "$(stat -c '%U:%G %a' /var/lib/tally)" = "tally:tally 750" ] || fail "/var/lib/tally is $(stat -c '%U:%G %a' /var/lib/tally)"
tallyd --check-config --config /etc/tally/tally.toml || fail "the default configuration is invalid"

step "run tallyd as the tally user to make the buffer"
if [ -d /run/systemd/system ]; then
  systemctl restart tallyd
  for _ in $(seq 50); do [ -e /var/lib/tally/buffer.db ] && break; sleep 0.2; done
  systemctl is-active tallyd || { systemctl status tallyd; fail "tallyd.service is not active"; }
  systemctl show -p StatusText tallyd
  systemctl stop tallyd
else
  # setpriv execs tallyd itself (as the unit would, with the tally user's groups), so $! is tallyd's pid.
  (umask 0027; exec setpriv --reuid=tally --regid=tally --init-groups -- tallyd --config /etc/tally/tally.toml) &
  pid=$!
  for _ in $(seq 50); do [ -e /var/lib/tally/buffer.db ] && break; sleep 0.2; done
  kill -TERM "$pid"; wait "$pid" || fail "tallyd did not stop cleanly"
fi
[ "$(stat -c '%U:%G %a' /var/lib/tally/buffer.db)" = "tally:tally 640" ] ||
  fail "buffer.db is $(stat -c '%U:%G %a' /var/lib/tally/buffer.db)"
tallyctl buffer | tee /dev/stderr | grep -q '^depth:' || fail "tallyctl buffer printed no depth"
[ "$(stat -c '%U' /var/lib/tally/buffer.db-shm 2>/dev/null || echo tally)" = tally ] || fail "tallyctl left a root-owned -shm"
echo "# edited by test_package" >>/etc/tally/tally.toml

step "dpkg -r keeps the buffer and the edited configuration"
dpkg -r tally
[ ! -e /usr/bin/tallyd ] || fail "/usr/bin/tallyd still there after dpkg -r"
[ -e /var/lib/tally/buffer.db ] || fail "dpkg -r removed the buffer"
grep -q '^# edited by test_package' /etc/tally/tally.toml || fail "dpkg -r lost the edited configuration"

step "dpkg -P removes them"
dpkg -P tally
[ ! -e /var/lib/tally ] || fail "/var/lib/tally still there after dpkg -P"
[ ! -e /etc/tally/tally.toml ] || fail "/etc/tally/tally.toml still there after dpkg -P"
step "ok"
