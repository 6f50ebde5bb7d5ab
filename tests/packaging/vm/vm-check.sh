#!/bin/bash
# Runs INSIDE the throw-away Debian 12 VM that tools/vm-test boots (started by tally-vmtest.service): installs the
# tally .deb as the README's "Raspberry Pi installation" says, then checks the service under the real systemd.
# Every check prints one line on the serial console: "VMTEST PASS <name>" or "VMTEST FAIL <name>: <why>";
# "VMTEST INFO ..." lines are figures worth keeping (exposure score, timings). The VM powers off at the end.
set -uo pipefail

exec 3>/dev/ttyS0
dmesg -n 1 2>/dev/null || true  # no kernel messages in the middle of a VMTEST line
say() { printf '%s\n' "$*" >&3; printf '%s\n' "$*"; }
pass() { say "VMTEST PASS $1"; }
fail() { say "VMTEST FAIL $1: $2"; }
info() { say "VMTEST INFO $*"; }
check() { # check NAME WHY COMMAND...: PASS when COMMAND succeeds
    local name=$1 why=$2; shift 2
    if "$@"; then pass "$name"; else fail "$name" "$why"; fi
}
# wait_for SECONDS COMMAND...: poll every 0.2 s until COMMAND succeeds or the deadline passes
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}
prop() { systemctl show -p "$1" --value tallyd.service; }
mainpid() { prop MainPID; }
is_active() { [[ $(prop ActiveState) == active ]]; }

CONF=/etc/tally/tally.toml
B=tally/vm-1
SUB_ARGS=(-h 127.0.0.1 -q 1 -v -t "$B/readings/+" -t "$B/events" -t "$B/scans" -t "$B/units" -t "$B/batches")

# seq_report FILE: "N records, seq A..B, contiguous" or why not; exit 0 when contiguous and N >= 3
seq_report() {
    local seqs
    seqs=$(grep -o '"seq":[0-9]*' "$1" | cut -d: -f2 | sort -n | uniq)
    local n first last
    n=$(printf '%s\n' "$seqs" | grep -c . || true)
    first=$(printf '%s\n' "$seqs" | head -1)
    last=$(printf '%s\n' "$seqs" | tail -1)
    if ((n < 3)); then
        echo "only $n records"
        return 1
    fi
    if ((last - first + 1 != n)); then
        local missing
        missing=$(comm -13 <(printf '%s\n' "$seqs") <(seq "$first" "$last" | sort) | sort -n | head -10 | paste -sd,)
        echo "$n distinct seq in $first..$last: missing $missing"
        return 1
    fi
    echo "$n records, seq $first..$last contiguous"
}

say "VMTEST START $(uname -r) systemd $(systemctl --version | head -1 | awk '{print $2}')"
wait_for 120 systemctl is-system-running --quiet --wait 2>/dev/null || true
info "system state: $(systemctl is-system-running 2>&1); $(systemd-analyze time 2>&1 | head -1)"

# --- 1. Installation (README step 3: sudo apt install ./tally_*.deb) --------------------------------------------------
DEB=$(ls /root/tally_*.deb | head -1)
t0=$SECONDS
if apt-get install -y "$DEB" >/root/apt.log 2>&1; then
    pass "install: apt install ./$(basename "$DEB") ($((SECONDS - t0)) s)"
else
    fail install "apt-get install failed: $(tail -3 /root/apt.log | paste -sd' ')"
fi
check user_groups "tally is not in dialout and input: $(id tally 2>&1)" \
    bash -c 'id -nG tally | tr " " "\n" | grep -qx dialout && id -nG tally | tr " " "\n" | grep -qx input'
check enabled "is-enabled says $(systemctl is-enabled tallyd 2>&1)" \
    test "$(systemctl is-enabled tallyd 2>&1)" = enabled
check active_after_install "ActiveState=$(prop ActiveState) SubState=$(prop SubState)" \
    wait_for 15 is_active
status=$(prop StatusText)
check status_text_shipped "StatusText is '$status'" \
    bash -c "[[ '$status' == 'Running station station-1, 1 devices, broker tcp://127.0.0.1:1883' ]]"
info "StatusText (shipped config): $status"
# The shipped config publishes to the local mosquitto: its retained status says online.
st=$(mosquitto_sub -h 127.0.0.1 -t tally/station-1/status -C 1 -W 10 2>&1)
check retained_status_shipped "tally/station-1/status is '$st'" bash -c "[[ '$st' == *'\"online\":true'* ]]"

# --- 2. Edit the configuration (README step 4) and restart (step 5) ---------------------------------------------------
cp "$CONF" /root/tally.toml.orig
sed -i 's/^id = "station-1"/id = "vm-1"/' "$CONF"
cat >>"$CONF" <<'EOF'

# added by the VM test: a fast second simulated device
[[devices]]
name = "oven"
driver = "simulated"
quantity = "temperature"
unit = "degC"
waveform = "sine"
min = 180.0
max = 220.0
period_s = 30
noise = 0.5
poll_ms = 250
EOF
check check_config "tallyd --check-config: $(tallyd --check-config --config "$CONF" 2>&1 | tail -2 | paste -sd' ')" \
    tallyd --check-config --config "$CONF"
mosquitto_sub "${SUB_ARGS[@]}" -W 40 >/root/records1.txt 2>&1 &
sub=$!
sleep 0.5
t_restart=$(date +%s)
sleep 1
systemctl restart tallyd
check restart_edited "restart: ActiveState=$(prop ActiveState)" is_active
status=$(prop StatusText)
check status_text "StatusText is '$status'" \
    bash -c "[[ '$status' == 'Running station vm-1, 2 devices, broker tcp://127.0.0.1:1883' ]]"
info "StatusText: $status"
check records_arrive "fewer than 10 records in 15 s" \
    wait_for 15 bash -c '[ "$(grep -c "\"seq\":" /root/records1.txt)" -ge 10 ]'
kill "$sub" 2>/dev/null; wait "$sub" 2>/dev/null
r=$(seq_report /root/records1.txt)
check seq_contiguous "$r" seq_report /root/records1.txt
info "records after restart: $r; topics: $(awk '{print $1}' /root/records1.txt | sort | uniq -c | paste -sd' ')"

# README step 6: tallyctl status (over MQTT) and tallyctl buffer (the database file), as root.
out=$(tallyctl status 2>&1 | tee /root/tallyctl-status.txt); rc=${PIPESTATUS[0]}
check readme_tallyctl_status "tallyctl status exited $rc: $(head -c 300 <<<"$out" | paste -sd' ')" \
    bash -c "[[ $rc == 0 ]] && grep -Eq '\"ok\": *true' /root/tallyctl-status.txt"
info "tallyctl status: $(head -c 300 <<<"$out" | paste -sd' ')"
out=$(tallyctl buffer 2>&1); rc=$?
check readme_tallyctl_buffer "tallyctl buffer exited $rc: $(head -c 300 <<<"$out" | paste -sd' ')" test "$rc" = 0
info "tallyctl buffer: $(head -c 400 <<<"$out" | paste -sd' ')"
check readme_buffer_owner_after_tallyctl "files in /var/lib/tally not all tally's after tallyctl buffer as root: $(stat -c '%n %U' /var/lib/tally/* | paste -sd' ')" \
    bash -c '! stat -c %U /var/lib/tally/* | grep -vqx tally'

# --- 3. Type=notify: active only after READY ------------------------------------------------------------------------
check notify_type "Type=$(prop Type) NotifyAccess=$(prop NotifyAccess)" \
    bash -c '[[ $(systemctl show -p Type --value tallyd) == notify && $(systemctl show -p NotifyAccess --value tallyd) == main ]]'
# The journal of the last start: tallyd's own start-up line (logged before READY=1) must come before systemd's
# "Started" line, and ActiveEnterTimestamp must be later than the main process's start.
j=$(journalctl -o short-monotonic --no-pager -u tallyd --since "@$t_restart")
started_line=$(grep -n 'Started tallyd' <<<"$j" | head -1 | cut -d: -f1)
tallyd_line=$(grep -n 'station vm-1' <<<"$j" | head -1 | cut -d: -f1)
exec_us=$(prop ExecMainStartTimestampMonotonic)
active_us=$(prop ActiveEnterTimestampMonotonic)
info "notify: main process started at ${exec_us} us, active at ${active_us} us (+$(((active_us - exec_us) / 1000)) ms)"
check notify_ready_order "journal line of tallyd start-up ($tallyd_line) not before 'Started' ($started_line), or active ($active_us) <= exec ($exec_us)" \
    bash -c "[[ -n '$started_line' && -n '$tallyd_line' ]] && (($tallyd_line < $started_line && $active_us > $exec_us))"
# A process stopped before it can say READY=1 keeps the unit "activating": start tallyd, stop it at once, and look.
systemctl stop tallyd
systemctl start --no-block tallyd
pid=
wait_for 5 bash -c '[[ $(systemctl show -p MainPID --value tallyd) != 0 ]]' && pid=$(mainpid)
if [[ -n $pid ]] && kill -STOP "$pid" 2>/dev/null; then
    sleep 3
    st="$(prop ActiveState)/$(prop SubState)"
    kill -CONT "$pid"
    if [[ $st == activating/start ]]; then
        pass "notify_activating_until_ready"
    elif [[ $st == active/running ]]; then
        info "notify_activating_until_ready: READY=1 came before SIGSTOP could land (state $st); not conclusive"
    else
        fail notify_activating_until_ready "state $st while tallyd was stopped before READY"
    fi
else
    info "notify_activating_until_ready: no MainPID in time to stop (pid '$pid'); not conclusive"
fi
check active_again "ActiveState=$(prop ActiveState)" wait_for 10 is_active

# --- 4. The sandbox ---------------------------------------------------------------------------------------------------
pid=$(mainpid)
st=/proc/$pid/status
tally_uid=$(id -u tally)
check runs_as_tally "Uid line: $(grep ^Uid: "$st")" bash -c "grep -Eq '^Uid:\s+$tally_uid\s+$tally_uid\s+$tally_uid\s+$tally_uid\s*$' $st"
check cap_eff_0 "$(grep ^CapEff: "$st")" bash -c "grep -Eq '^CapEff:\s+0+$' $st"
check cap_bnd_0 "$(grep ^CapBnd: "$st")" bash -c "grep -Eq '^CapBnd:\s+0+$' $st"
check no_new_privs "$(grep ^NoNewPrivs: "$st")" bash -c "grep -Eq '^NoNewPrivs:\s+1$' $st"
check seccomp_filter "$(grep ^Seccomp: "$st")" bash -c "grep -Eq '^Seccomp:\s+2$' $st"
mi=/proc/$pid/mountinfo
cp "$mi" /root/mountinfo.txt
# mountinfo field 5 is the mount point, field 6 its options
mount_opts() { awk -v m="$1" '$5 == m {o = $6} END {print o}' /root/mountinfo.txt; }
check protect_system_root_ro "/ is mounted '$(mount_opts /)' in tallyd's namespace" bash -c "[[ ,$(mount_opts /), == *,ro,* ]]"
check protect_system_etc_ro "/etc is '$(mount_opts /etc)' (no own mount means it is /'s)" \
    bash -c "o='$(mount_opts /etc)'; [[ -z \$o || ,\$o, == *,ro,* ]]"
check state_dir_rw "/var/lib/tally is mounted '$(mount_opts /var/lib/tally)'" bash -c "[[ ,$(mount_opts /var/lib/tally), == *,rw,* ]]"
check private_tmp "/tmp has no own mount in tallyd's namespace" bash -c "[[ -n '$(mount_opts /tmp)' ]]"
check protect_home "/home has no own mount" bash -c "[[ -n '$(mount_opts /home)' ]]"
writable_mounts() { awk '$6 ~ /(^|,)rw(,|$)/ {print $5}' "$1" | sort -u | paste -sd' '; }
info "tallyd's writable mounts: $(writable_mounts /root/mountinfo.txt)"
# docs/packaging.md: "/var/lib/tally is the only writable place" (besides the private /tmp, /var/tmp and the API
# file systems /dev, /proc, /run).
persistent_rw() { writable_mounts "$1" | tr ' ' '\n' | grep -E '^/(etc|usr|var|boot|opt|srv|home|root)(/|$)' | grep -vx -e /var/lib/tally -e /var/tmp | paste -sd' '; }
rw=$(persistent_rw /root/mountinfo.txt)
check only_state_dir_writable "also mounted read-write in tallyd's namespace: $rw" test -z "$rw"
# Writes from inside tallyd's namespaces, as the tally user: only the state directory takes them.
if nsenter -t "$pid" -m -U --preserve-credentials -S "$tally_uid" -G "$(id -g tally)" true 2>/root/nsenter.err ||
    nsenter -t "$pid" -m -U -S "$tally_uid" -G "$(id -g tally)" true 2>>/root/nsenter.err; then
    ns() { nsenter -t "$pid" -m -U -S "$tally_uid" -G "$(id -g tally)" "$@"; }
    for d in /etc/tally /usr/bin /var/lib /root /home; do
        if ns sh -c "echo x >$d/.vmtest-write" 2>/dev/null; then
            fail "no_write_$d" "tally wrote $d/.vmtest-write inside tallyd's namespace"
            ns rm -f "$d/.vmtest-write"
        else
            pass "no_write_$d"
        fi
    done
    # /tmp and /var/tmp are tallyd's own (PrivateTmp=yes): writable there, invisible outside.
    for d in /tmp /var/tmp; do
        if ns sh -c "echo x >$d/.vmtest-private" 2>/dev/null && [[ ! -e $d/.vmtest-private ]]; then
            pass "private_$d"
        else
            fail "private_$d" "a file written to $d inside tallyd's namespace is $( [[ -e $d/.vmtest-private ]] && echo 'visible outside' || echo 'not writable')"
        fi
    done
    if ns sh -c 'echo x >/var/lib/tally/.vmtest-write && rm /var/lib/tally/.vmtest-write'; then
        pass "write_state_dir"
    else
        fail write_state_dir "tally cannot write /var/lib/tally inside tallyd's namespace"
    fi
else
    info "nsenter into tallyd's namespaces failed ($(head -1 /root/nsenter.err)); write checks by mountinfo only"
fi
check buffer_mode_0640 "buffer.db is $(stat -c '%a %U:%G' /var/lib/tally/buffer.db 2>&1)" \
    test "$(stat -c '%a %U:%G' /var/lib/tally/buffer.db)" = "640 tally:tally"
check state_dir_0750 "/var/lib/tally is $(stat -c '%a %U:%G' /var/lib/tally 2>&1)" \
    test "$(stat -c '%a %U:%G' /var/lib/tally)" = "750 tally:tally"
info "files in /var/lib/tally: $(stat -c '%n %a %U:%G' /var/lib/tally/* | paste -sd';')"

# --- 5. systemd-analyze security, online ----------------------------------------------------------------------------
systemd-analyze security --no-pager tallyd.service >/root/security.txt 2>&1
score=$(sed -n 's/.*Overall exposure level for tallyd.service: \([0-9.]*\).*/\1/p' /root/security.txt)
info "systemd-analyze security (online): $(grep 'Overall exposure' /root/security.txt)"
# The items that still cost exposure, highest first (column 3 of the table is the exposure figure).
grep -E '^✗' /root/security.txt | awk '{ for (i = NF; i > 0; i--) if ($i ~ /^[0-9]+\.[0-9]+$/) { print $i "\t" $0; break } }' |
    sort -rn | head -8 | cut -f2- | while IFS= read -r l; do info "security item: $l"; done
check security_score_le_2 "online exposure is '$score'" awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }'

# --- 6. Restart=on-failure after a crash; nothing lost -----------------------------------------------------------------
mosquitto_sub "${SUB_ARGS[@]}" -W 120 >/root/records2.txt 2>&1 &
sub=$!
sleep 3
restarts0=$(prop NRestarts)
pid=$(mainpid)
t0=$(date +%s.%N)
kill -SEGV "$pid"
newpid() { local p; p=$(mainpid); [[ $p != 0 && $p != "$pid" ]] && is_active; }
if wait_for 15 newpid; then
    pass "restart_after_segv (pid $pid -> $(mainpid) in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s, NRestarts $restarts0 -> $(prop NRestarts))"
else
    fail restart_after_segv "no new active pid 15 s after SIGSEGV: ActiveState=$(prop ActiveState) MainPID=$(mainpid)"
fi
info "journal after SIGSEGV: $(journalctl -u tallyd --no-pager -o cat --since "@${t0%.*}" | grep -Ei 'signal|SEGV|Scheduled restart|status' | head -3 | paste -sd'|')"

# --- 7. The watchdog: a stopped process is killed after WatchdogSec=20 and restarted --------------------------------
sleep 3
pid=$(mainpid)
t0=$(date +%s.%N)
kill -STOP "$pid"
if wait_for 45 newpid; then
    pass "watchdog_restart (pid $pid -> $(mainpid) after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s)"
else
    fail watchdog_restart "no new active pid 45 s after SIGSTOP: ActiveState=$(prop ActiveState) MainPID=$(mainpid)"
    kill -CONT "$pid" 2>/dev/null
fi
wd=$(journalctl -u tallyd --no-pager -o cat --since "@${t0%.*}" | grep -i 'watchdog timeout' | head -1)
check watchdog_journal "no 'Watchdog timeout' in the journal" test -n "$wd"
info "journal: $wd"
sleep 4
kill "$sub" 2>/dev/null; wait "$sub" 2>/dev/null
r=$(seq_report /root/records2.txt)
check seq_contiguous_across_restarts "$r" seq_report /root/records2.txt
info "records across SIGSEGV and watchdog restarts: $r"
info "events seen: $(grep -o '"event":"[a-z_.]*"' /root/records2.txt | sort | uniq -c | paste -sd' ')"

# --- 8. A configuration error: fails once (exit 78), no restart loop, file:line:column in the journal ---------------
cp "$CONF" /root/tally.toml.good
printf '\n[mqtt\nurl = "tcp://127.0.0.1:1883"\n' >>"$CONF"
bad_line=$(($(wc -l <"$CONF") - 1))
restarts0=$(prop NRestarts)
t0=$(date +%s)
if systemctl restart tallyd 2>/dev/null; then
    fail config_error_fails "systemctl restart succeeded with a syntax error in $CONF"
else
    pass config_error_fails
fi
sleep 12  # RestartSec=2: a restart loop would have started again several times by now
state="$(prop ActiveState)/$(prop Result) NRestarts=$(prop NRestarts) (was $restarts0)"
info "after the config error: $state; ExecMainStatus=$(prop ExecMainStatus)"
check config_error_exit_78 "ExecMainStatus=$(prop ExecMainStatus)" test "$(prop ExecMainStatus)" = 78
# NRestarts counts the automatic restarts since the last manual start (the restart above set it to 0): a loop
# would have raised it.
check config_error_no_loop "$state" \
    bash -c "[[ \$(systemctl show -p ActiveState --value tallyd) == failed && \$(systemctl show -p NRestarts --value tallyd) == 0 ]]"
starts=$(journalctl -u tallyd --no-pager -o cat --since "@$t0" | grep -c 'Starting tallyd' || true)
check config_error_started_once "the unit was started $starts times after the error" test "$starts" -le 1
jl=$(journalctl -u tallyd --no-pager -o cat --since "@$t0" | grep -F "$CONF:" | head -1)
check config_error_position "no '$CONF:LINE:COLUMN' in the journal" \
    bash -c "[[ '$jl' =~ $CONF:[0-9]+:[0-9]+ ]]"
info "journal: $jl (error put on line $bad_line)"
st78=$(journalctl -u tallyd --no-pager -o cat --since "@$t0" | grep -E 'status=78|exit-code' | head -2 | paste -sd'|')
info "journal: $st78"
cp /root/tally.toml.good "$CONF"
systemctl reset-failed tallyd
systemctl restart tallyd
check recovers_after_fix "ActiveState=$(prop ActiveState)" wait_for 10 is_active


# --- 9. The MQTT password as a systemd credential, against a broker that requires it -------------------------------
{
    mosquitto_passwd -c -b /etc/mosquitto/vmtest.passwd vm-1 's3cret-vm' &&
        chown mosquitto /etc/mosquitto/vmtest.passwd 2>/dev/null
    printf 'listener 1883 127.0.0.1\nallow_anonymous false\npassword_file /etc/mosquitto/vmtest.passwd\n' \
        >/etc/mosquitto/conf.d/vmtest.conf
    systemctl restart mosquitto
} >/root/cred.log 2>&1
anon=$(mosquitto_sub -h 127.0.0.1 -t '#' -C 1 -W 3 2>&1 | head -1)
info "anonymous subscriber now gets: '$anon'"
install -m 0600 /dev/null /etc/tally/mqtt-password
printf 's3cret-vm' >/etc/tally/mqtt-password
mkdir -p /etc/systemd/system/tallyd.service.d
printf '[Service]\nLoadCredential=mqtt-password:/etc/tally/mqtt-password\n' >/etc/systemd/system/tallyd.service.d/credential.conf
sed -i 's/^username = ""/username = "vm-1"\npassword_credential = "mqtt-password"/' "$CONF"
systemctl daemon-reload
mosquitto_sub -u vm-1 -P 's3cret-vm' "${SUB_ARGS[@]}" -W 30 >/root/records3.txt 2>&1 &
sub=$!
systemctl restart tallyd
check credential_active "ActiveState=$(prop ActiveState); $(journalctl -u tallyd -n 3 --no-pager -o cat | paste -sd'|')" wait_for 10 is_active
check credential_records "no records through the password-protected broker in 15 s: $(journalctl -u tallyd -n 5 --no-pager -o cat | grep -iE 'broker|mqtt|auth' | tail -2 | paste -sd'|')" \
    wait_for 15 bash -c '[ "$(grep -c "\"seq\":" /root/records3.txt)" -ge 5 ]'
kill "$sub" 2>/dev/null; wait "$sub" 2>/dev/null
info "credential file: $(stat -c '%a %U' /etc/tally/mqtt-password); records: $(seq_report /root/records3.txt)"

# --- 10. dpkg -r keeps the buffer and the edited config; dpkg -P removes both -------------------------------------
dpkg -r tally >/root/dpkg-r.log 2>&1
check remove_stops "tallyd is $(systemctl is-active tallyd 2>&1) after dpkg -r" bash -c '! systemctl is-active --quiet tallyd'
check remove_keeps_buffer "buffer.db gone after dpkg -r" test -s /var/lib/tally/buffer.db
check remove_keeps_config "edited tally.toml not kept by dpkg -r" grep -q '^id = "vm-1"' "$CONF"
check remove_keeps_user "tally user gone after dpkg -r" getent passwd tally
dpkg -P tally >/root/dpkg-p.log 2>&1
check purge_removes_buffer "/var/lib/tally still exists: $(ls -la /var/lib/tally 2>&1 | paste -sd' ')" test ! -e /var/lib/tally
check purge_removes_config "$CONF still exists" test ! -e "$CONF"
check purge_removes_password "/etc/tally/mqtt-password still exists" test ! -e /etc/tally/mqtt-password
info "after purge: /etc/tally: $(ls -A /etc/tally 2>&1 | paste -sd' '); user: $(getent passwd tally || echo none); group: $(getent group tally || echo none)"
check purge_keeps_user "the tally user is gone (docs/packaging.md says it stays)" getent passwd tally

# --- the journal, for the host's log --------------------------------------------------------------------------------
journalctl -u tallyd --no-pager -o short-monotonic | sed 's/^/VMJOURNAL /' >&3
say "VMTEST DONE"
sync
systemctl poweroff
