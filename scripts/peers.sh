# shellcheck shell=bash
# Test peers for Kilowatch: install, start, probe and stop them.
#
# Sourced by scripts/test; not meant to be run on its own. Every peer is a real
# third-party implementation on 127.0.0.1, on a free port picked at start-up:
#   snmpd    net-snmp's agent (Debian package), with a config file of our own
#   snmpsim  snmpsim (PyPI) serving every recorded device in shared/fixtures/snmp
#   modbus   shared/fixtures/modbus/serve.py (pymodbus, PyPI) serving every map
#            in that folder on one port, one unit id per device
#   redfish  sushy-tools (PyPI) serving DMTF mockups, over HTTP, HTTPS and Basic
#            (scripts/peers_redfish.sh)
#   ipmi_sim OpenIPMI's BMC simulator (Debian openipmi) serving tests/data/ipmi
#            (lan.conf, bmc.emu: a BMC with power and temperature sensors) over
#            IPMI 2.0 RMCP+; checked with ipmitool (Debian ipmitool). It offers
#            cipher suites up to 3 (no SHA-256 suite 17) and has no DCMI.
#   alertmanager, aiosmtpd  Prometheus Alertmanager (Debian prometheus-alertmanager)
#            and an SMTP server (aiosmtpd, PyPI): installed here, but started by the
#            alert-notification tests themselves (tests/it/common/{alertmanager,smtp}.rs),
#            which stop them; only their paths are exported.
#
# The caller sets SHARED (absolute shared/ path) and PEERS_TMP (a mktemp -d
# directory for configs, data and logs), and arranges for peers_stop_all to
# run on exit. peers_start_all exports the variables the tests read
# (PEERS_ENV_VARS).

# Pinned Python packages. snmpsim 1.2.2 does not declare pysmi although it
# imports it, so pysmi is listed explicitly (shared/fixtures/snmp/README.md).
PEERS_PIP_REQUIREMENTS=(
  "snmpsim==1.2.2"
  "pysmi==2.0.0"
  "pysnmp==7.1.30"
  "pyasn1==0.6.5"
  "pymodbus==3.16.1"
  "sushy-tools==2.2.0"
  "aiosmtpd==1.4.6"
)
# influxdb (1.x) and victoria-metrics (an /api/v2/write implementation): the sink tests start
# their own servers from these binaries, because they stop and restart them.
# chromium: the HTML report test opens the report in headless Chromium, and prints PDFs with it.
# fonts-wqy-microhei: a small CJK font with Traditional Chinese, so zh-HK PDFs have no tofu;
# poppler-utils: pdffonts and pdftoppm, to check the PDFs as a reader would see them.
PEERS_DEBS=(snmpd snmp influxdb victoria-metrics chromium tmux faketime openssl fonts-wqy-microhei poppler-utils)
# ipmi_sim (a BMC over RMCP+) and ipmitool, which the IPMI tests read it with too.
PEERS_DEBS+=(openipmi ipmitool)
# Alertmanager (its v2 API and webhooks) for the alert-notification tests.
PEERS_DEBS+=(prometheus-alertmanager)

SNMPD_COMMUNITY=kilowatch-test
SNMPD_V3_USER=kwv3user
SNMPD_V3_AUTH_PASS=kwv3authpass
SNMPD_V3_PRIV_PASS=kwv3privpass

OID_SYS_DESCR=1.3.6.1.2.1.1.1.0
OID_SYS_UPTIME=1.3.6.1.2.1.1.3.0
OID_SYS_CONTACT=1.3.6.1.2.1.1.4.0
OID_SYS_LOCATION=1.3.6.1.2.1.1.6.0
OID_HR_PROCESSOR_LOAD=1.3.6.1.2.1.25.3.3.1.2

# What the tests get; peers_start_all exports them.
PEERS_ENV_VARS=(
  KILOWATCH_SHARED
  KILOWATCH_TEST_SNMPD KILOWATCH_TEST_SNMPD_COMMUNITY
  KILOWATCH_TEST_SNMPD_V3_USER KILOWATCH_TEST_SNMPD_V3_AUTH_PASS KILOWATCH_TEST_SNMPD_V3_PRIV_PASS
  KILOWATCH_TEST_SNMPSIM
  KILOWATCH_TEST_MODBUS
  KILOWATCH_TEST_MODBUS_RTU
  KILOWATCH_TEST_INFLUXD
  KILOWATCH_TEST_VICTORIA
  KILOWATCH_TEST_CHROMIUM
)
PEERS_ENV_VARS+=(KILOWATCH_TEST_IPMI KILOWATCH_TEST_IPMI_USER KILOWATCH_TEST_IPMI_PASS)
# Binaries the notification tests start themselves: Alertmanager, and the venv's Python that
# runs `-m aiosmtpd`.
PEERS_ENV_VARS+=(KILOWATCH_TEST_ALERTMANAGER KILOWATCH_TEST_AIOSMTPD)

# The BMC user of ipmi_sim (tests/data/ipmi/lan.conf), at privilege level user.
IPMI_SIM_USER=kwipmi
IPMI_SIM_PASS=kwipmipass1

# shellcheck source=scripts/peers_redfish.sh
source "${BASH_SOURCE[0]%/*}/peers_redfish.sh"

# How long a peer may take to answer, counted from its start. snmpsim's first
# start builds its .dbm indexes (several seconds, more while cargo compiles).
PEERS_START_TIMEOUT=${PEERS_START_TIMEOUT:-60}
# net-snmp computes hrProcessorLoad over a one-minute window of 5-second CPU
# samples and serves no row until that window is full: about 55 s after start,
# whatever we configure. So that one probe gets longer.
PEERS_HRLOAD_TIMEOUT=${PEERS_HRLOAD_TIMEOUT:-100}

# Client options for probes: one short try, as the wait loops retry.
PEERS_SNMP_OPTS=(-t 1 -r 0)

declare -a PEER_NAMES=()     # in start order
declare -A PEER_PID=()       # name -> pid
declare -A PEER_STARTED=()   # name -> $SECONDS at start
declare -A PEER_LOG=()       # name -> log file
declare -A PEER_LOG_SHOWN=() # name -> 1 once its tail was printed

peers_say() { printf 'peers: %s\n' "$*" >&2; }

peers_die() {
  peers_say "ERROR: $*"
  exit 1
}

# ---------------------------------------------------------------- installation

# Debian packages: apt-get only when something is missing, so a warm run costs
# one dpkg-query.
peers_install_debs() {
  local need=() p
  for p in "${PEERS_DEBS[@]}"; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || need+=("$p")
  done
  # A bare Debian python3 cannot make a venv without python3-venv (ensurepip).
  if ! command -v python3 >/dev/null; then
    need+=(python3 python3-venv)
  elif ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    need+=(python3-venv)
  fi
  ((${#need[@]})) || return 0
  local t0=$SECONDS
  peers_say "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${need[@]}" >&2
  peers_say "Debian packages installed in $((SECONDS - t0))s"
}

# The venv lives in target/ so that `cargo clean` resets it too. A stamp file
# holds the requirement list and interpreter version it was built with: when
# both match, pip is not run at all.
peers_install_venv() {
  local venv=$1 stamp want lock_fd
  stamp=$venv/.kilowatch-requirements
  want=$(printf '%s\n' "python $(python3 -c 'import sys; print(sys.version.split()[0])')" \
    "${PEERS_PIP_REQUIREMENTS[@]}")
  mkdir -p "$(dirname "$venv")"
  # Two runs at once (two shells, CI and a developer) must not both build it.
  exec {lock_fd}>"$venv.lock"
  flock "$lock_fd"
  if ! [[ -x $venv/bin/python && -f $stamp && $(<"$stamp") == "$want" ]] ||
    ! "$venv/bin/python" -c '' 2>/dev/null; then
    local t0=$SECONDS
    peers_say "building Python venv $venv (${PEERS_PIP_REQUIREMENTS[*]})"
    rm -f "$stamp"
    python3 -m venv --clear "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check \
      "${PEERS_PIP_REQUIREMENTS[@]}" >&2
    # Written last: an interrupted install is redone on the next run.
    printf '%s\n' "$want" >"$stamp"
    peers_say "venv built in $((SECONDS - t0))s"
  fi
  exec {lock_fd}>&- # closing the file releases the lock
}

# ------------------------------------------------------------------- processes

# Free loopback ports, one per argument (udp|tcp). All sockets are held open
# until every port is chosen, so the ports are distinct. Another process could
# still take one before the peer binds it; the peer then exits and the probe
# reports it with the peer's log.
peers_free_ports() {
  python3 - "$@" <<'PY'
import socket, sys
held = []
for kind in sys.argv[1:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    held.append(s)
print(" ".join(str(s.getsockname()[1]) for s in held))
PY
}

# peers_spawn NAME CMD...: start CMD in the background, logging to PEERS_TMP/NAME.log.
peers_spawn() {
  local name=$1 log=$PEERS_TMP/$1.log
  shift
  "$@" </dev/null >"$log" 2>&1 &
  PEER_PID[$name]=$!
  PEER_STARTED[$name]=$SECONDS
  PEER_LOG[$name]=$log
  PEER_NAMES+=("$name")
}

# True while the process runs (a zombie, which has exited, counts as stopped).
peers_alive() {
  local pid=$1 state
  [[ -r /proc/$pid/stat ]] || return 1
  state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $state != Z && $state != X ]]
}

peers_show_log() {
  local name=$1 lines=${2:-40}
  PEER_LOG_SHOWN[$name]=1
  printf '%s\n' "---- last $lines lines of ${PEER_LOG[$name]} ----" >&2
  tail -n "$lines" "${PEER_LOG[$name]}" >&2 || true
  printf '%s\n' "---- end of $name log ----" >&2
}

# peers_wait NAME TIMEOUT WHAT CMD...: run CMD until it succeeds. Fails, with the
# peer's log, when the peer exits or TIMEOUT seconds after the peer started.
# A peer that was started long ago (cargo compiled meanwhile) still gets a few
# seconds of probing, so one lost UDP datagram cannot fail the run.
peers_wait() {
  local name=$1 timeout=$2 what=$3 deadline
  shift 3
  deadline=$((PEER_STARTED[$name] + timeout))
  ((deadline >= SECONDS + 5)) || deadline=$((SECONDS + 5))
  until "$@"; do
    if ! peers_alive "${PEER_PID[$name]}"; then
      peers_show_log "$name"
      peers_die "$name exited before $what"
    fi
    if ((SECONDS >= deadline)); then
      peers_show_log "$name"
      peers_die "$name: no $what within ${timeout}s of its start"
    fi
    sleep 0.3
  done
  peers_say "$name: $what $((SECONDS - PEER_STARTED[$name]))s after start"
}

# Stop every peer by PID: SIGTERM, then SIGKILL after 10 s. Called from the
# EXIT trap, so it must not fail. A peer that had already exited is reported,
# unless $1 is "quiet": after Ctrl-C the terminal signalled the peers too.
peers_stop_all() {
  local quiet=${1:-} i name pid tries
  for ((i = ${#PEER_NAMES[@]} - 1; i >= 0; i--)); do
    name=${PEER_NAMES[$i]}
    pid=${PEER_PID[$name]}
    if ! peers_alive "$pid"; then
      if [[ $quiet != quiet ]]; then
        peers_say "$name (pid $pid) had already exited"
        [[ -n ${PEER_LOG_SHOWN[$name]:-} ]] || peers_show_log "$name" 20
      fi
    else
      kill -TERM "$pid" 2>/dev/null || true
      for ((tries = 0; tries < 100; tries++)); do
        peers_alive "$pid" || break
        sleep 0.1
      done
      if peers_alive "$pid"; then
        peers_say "$name (pid $pid) ignored SIGTERM; killing it"
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
    wait "$pid" 2>/dev/null || true
  done
  PEER_NAMES=()
}

# --------------------------------------------------------------------- probes

# Quiet numeric SNMP clients, no MIB files. The client's persistent dir is
# ours, not /var/lib/snmp.
peers_snmp() {
  local tool=$1
  shift
  SNMP_PERSISTENT_DIR=$PEERS_TMP/snmp-client "$tool" -m '' -On "${PEERS_SNMP_OPTS[@]}" "$@" 2>/dev/null
}

# peers_snmp_get_ok HOST:PORT COMMUNITY OID: a v2c GET that returns a value.
peers_snmp_get_ok() {
  local out
  out=$(peers_snmp snmpget -v2c -c "$2" "$1" "$3") || return 1
  [[ -n $out && $out != *"No Such"* ]]
}

# peers_snmp_walk_count HOST:PORT COMMUNITY OID: how many rows a v2c walk returns.
peers_snmp_walk_count() {
  local oid=${3#.}
  peers_snmp snmpwalk -v2c -c "$2" "$1" "$oid" | grep -c "^\.$oid\." || true
}

peers_hrload_served() {
  (($(peers_snmp_walk_count "$1" "$2" "$OID_HR_PROCESSOR_LOAD") > 0))
}

peers_tcp_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ----------------------------------------------------------------------- peers

peers_start_snmpd() {
  local port=$1 dir=$PEERS_TMP/snmpd
  mkdir -p "$dir/persist"
  cat >"$dir/snmpd.conf" <<EOF
# Written by scripts/test for one test run; not the system's snmpd.conf.
rocommunity $SNMPD_COMMUNITY 127.0.0.1
# SNMPv3 user (USM, authPriv) for the v3 tests.
createUser $SNMPD_V3_USER SHA "$SNMPD_V3_AUTH_PASS" AES "$SNMPD_V3_PRIV_PASS"
rouser $SNMPD_V3_USER priv
# One user per USM security level and protocol pair the collector supports; tests read
# sysUpTime and hrProcessorLoad as each (password kwauthpass1, privacy kwprivpass1).
createUser kw-noauth
rouser kw-noauth noauth
createUser kw-md5 MD5 kwauthpass1
rouser kw-md5 auth
createUser kw-sha SHA kwauthpass1
rouser kw-sha auth
createUser kw-sha256 SHA-256 kwauthpass1
rouser kw-sha256 auth
createUser kw-sha512 SHA-512 kwauthpass1
rouser kw-sha512 auth
createUser kw-sha-aes SHA kwauthpass1 AES kwprivpass1
rouser kw-sha-aes priv
createUser kw-sha256-aes SHA-256 kwauthpass1 AES kwprivpass1
rouser kw-sha256-aes priv
createUser kw-md5-des MD5 kwauthpass1 DES kwprivpass1
rouser kw-md5-des priv
createUser kw-sha-des SHA kwauthpass1 DES kwprivpass1
rouser kw-sha-des priv
sysLocation Kilowatch test lab, rack T1
sysContact kilowatch-tests@example.invalid
# Without this, every request logs a "Connection from UDP" line.
dontLogTCPWrappersConnects yes
EOF
  # -f foreground (so our PID is the agent), -Lo log to stdout (our log file),
  # -C read no config but ours. SNMP_PERSISTENT_DIR keeps the engine ID and
  # USM keys in the temp dir instead of /var/lib/snmp. As root, snmpd stays
  # root (no agentuser): it only listens on loopback. MIBS= : Debian ships no
  # MIB files, and without it the log starts with 500 "Cannot find module" lines.
  peers_spawn snmpd env SNMP_PERSISTENT_DIR="$dir/persist" MIBS= \
    snmpd -f -Lo -C -c "$dir/snmpd.conf" -p "$dir/snmpd.pid" "udp:127.0.0.1:$port"
}

peers_start_snmpsim() {
  local venv=$1 port=$2 args=() d
  # One --data-dir per fixture folder, so that community = folder name.
  for d in "$SHARED"/fixtures/snmp/*/; do args+=("--data-dir=${d%/}"); done
  # The project's own hand-written devices (tests/data/snmprec): community = file name.
  args+=("--data-dir=$ROOT/tests/data/snmprec")
  ((${#args[@]})) || peers_die "no fixture folders in $SHARED/fixtures/snmp"
  mkdir -p "$PEERS_TMP/snmpsim-cache"
  # SNMPSIM_ALLOW_ROOT: as root snmpsim otherwise wants to drop privileges, and
  # dropping to nobody breaks its index build (see the fixtures README).
  # A fresh --cache-dir per run: runs never share .dbm indexes.
  peers_spawn snmpsim env SNMPSIM_ALLOW_ROOT=true "$venv/bin/snmpsim-command-responder" \
    --cache-dir="$PEERS_TMP/snmpsim-cache" "${args[@]}" \
    --agent-udpv4-endpoint="127.0.0.1:$port"
}

peers_start_modbus() {
  local venv=$1 port=$2 maps=("$SHARED"/fixtures/modbus/*.toml)
  [[ -e ${maps[0]} ]] || peers_die "no modbus maps in $SHARED/fixtures/modbus"
  # The project's own maps (water, heat, PV: tests/data/modbus) on unit ids 8 and up.
  maps+=("$ROOT"/tests/data/modbus/*.toml)
  # All maps on one port, each device on its own unit id (as behind a gateway).
  peers_spawn modbus "$venv/bin/python" "$SHARED/fixtures/modbus/serve.py" \
    --host 127.0.0.1 --port "$port" "${maps[@]}"
}

# The same maps with RTU framing over TCP (a transparent serial gateway).
peers_start_modbus_rtu() {
  local venv=$1 port=$2
  peers_spawn modbus-rtu "$venv/bin/python" "$ROOT/scripts/modbus_rtu_peer.py" "$SHARED" "$port"
}

# ipmi_sim on a free UDP port, its config written from tests/data/ipmi/lan.conf
# with the port and user filled in, state in the temp dir. Exports its variables.
peers_start_ipmi_sim() {
  local port dir=$PEERS_TMP/ipmi_sim taken tries=0
  # Picked apart from the other peers' ports, which are released before their peers bind
  # them: a port one of them was given is not taken again.
  taken=" ${KILOWATCH_TEST_SNMPD:-} ${KILOWATCH_TEST_SNMPSIM:-} ${KILOWATCH_TEST_MODBUS:-} ${KILOWATCH_TEST_MODBUS_RTU:-} "
  taken=${taken//127.0.0.1:/}
  while :; do
    port=$(peers_free_ports udp) || peers_die "could not pick a free port for ipmi_sim"
    [[ $taken != *" $port "* ]] && break
    ((++tries < 10)) || peers_die "could not pick a free port for ipmi_sim"
  done
  export KILOWATCH_TEST_IPMI=127.0.0.1:$port
  export KILOWATCH_TEST_IPMI_USER=$IPMI_SIM_USER
  export KILOWATCH_TEST_IPMI_PASS=$IPMI_SIM_PASS
  mkdir -p "$dir/state"
  sed -e "s/@PORT@/$port/" -e "s/@USER@/$IPMI_SIM_USER/" -e "s/@PASSWORD@/$IPMI_SIM_PASS/" \
    "$ROOT/tests/data/ipmi/lan.conf" >"$dir/lan.conf"
  # -n: no console on stdin/stdout; -s: persistent state (users, SDR) in our temp dir.
  peers_spawn ipmi_sim ipmi_sim -c "$dir/lan.conf" -f "$ROOT/tests/data/ipmi/bmc.emu" \
    -s "$dir/state" -n
}

# ipmitool over RMCP+ as the test user: one try, password from the environment (-E).
# Suite 3 (SHA-1): ipmi_sim has no SHA-256 suite 17.
peers_ipmitool() {
  IPMI_PASSWORD=$IPMI_SIM_PASS ipmitool -I lanplus -H 127.0.0.1 -p "${KILOWATCH_TEST_IPMI##*:}" \
    -U "$IPMI_SIM_USER" -E -L USER -C 3 -N 1 -R 1 "$@" 2>/dev/null
}

peers_ipmi_sdr_ok() {
  [[ $(peers_ipmitool sdr) == *"Inlet Temp"* ]]
}

peers_wait_ipmi_sim() {
  peers_wait ipmi_sim "$PEERS_START_TIMEOUT" "RMCP+ session and SDR (ipmitool -C 3 sdr)" \
    peers_ipmi_sdr_ok
}

peers_check_ipmi_sim() {
  local out
  out=$(peers_ipmitool -c sdr) || peers_die "ipmi_sim: ipmitool -C 3 sdr failed"
  [[ $out == *"Inlet Temp,25.500,degrees C"* ]] ||
    peers_die "ipmi_sim: unexpected SDR: $out"
  peers_say "ok ipmi_sim $KILOWATCH_TEST_IPMI: $(wc -l <<<"$out") SDR sensors over RMCP+ suite 3"
}

# Picks free ports, exports PEERS_ENV_VARS and starts every peer. It does not
# wait for them (peers_wait_ready does), so the caller can work meanwhile.
peers_start_all() {
  local venv=$1 ports p_snmpd p_snmpsim p_modbus p_rtu
  ports=$(peers_free_ports udp udp tcp tcp) || peers_die "could not pick free ports"
  read -r p_snmpd p_snmpsim p_modbus p_rtu <<<"$ports"

  export KILOWATCH_SHARED=$SHARED
  export KILOWATCH_TEST_SNMPD=127.0.0.1:$p_snmpd
  export KILOWATCH_TEST_SNMPD_COMMUNITY=$SNMPD_COMMUNITY
  export KILOWATCH_TEST_SNMPD_V3_USER=$SNMPD_V3_USER
  export KILOWATCH_TEST_SNMPD_V3_AUTH_PASS=$SNMPD_V3_AUTH_PASS
  export KILOWATCH_TEST_SNMPD_V3_PRIV_PASS=$SNMPD_V3_PRIV_PASS
  export KILOWATCH_TEST_SNMPSIM=127.0.0.1:$p_snmpsim
  export KILOWATCH_TEST_MODBUS=127.0.0.1:$p_modbus
  export KILOWATCH_TEST_MODBUS_RTU=127.0.0.1:$p_rtu
  KILOWATCH_TEST_INFLUXD=$(command -v influxd) || peers_die "influxd is not installed"
  KILOWATCH_TEST_VICTORIA=$(command -v victoria-metrics) || peers_die "victoria-metrics is not installed"
  KILOWATCH_TEST_CHROMIUM=$(command -v chromium) || peers_die "chromium is not installed"
  export KILOWATCH_TEST_INFLUXD KILOWATCH_TEST_VICTORIA KILOWATCH_TEST_CHROMIUM
  KILOWATCH_TEST_ALERTMANAGER=$(command -v prometheus-alertmanager) ||
    peers_die "prometheus-alertmanager is not installed"
  KILOWATCH_TEST_AIOSMTPD=$venv/bin/python
  "$KILOWATCH_TEST_AIOSMTPD" -c 'import aiosmtpd' 2>/dev/null ||
    peers_die "aiosmtpd is not installed in $venv"
  export KILOWATCH_TEST_ALERTMANAGER KILOWATCH_TEST_AIOSMTPD

  peers_start_snmpd "$p_snmpd"
  peers_start_snmpsim "$venv" "$p_snmpsim"
  peers_start_modbus "$venv" "$p_modbus"
  peers_start_modbus_rtu "$venv" "$p_rtu"
  peers_start_redfish "$venv"
  peers_start_ipmi_sim
}

# The variables as shell exports, to paste into another shell.
peers_print_env() {
  local v
  for v in "${PEERS_ENV_VARS[@]}"; do printf 'export %s=%q\n' "$v" "${!v}"; done
}

# The communities snmpsim serves: one per fixture folder.
peers_snmpsim_communities() {
  local d
  for d in "$SHARED"/fixtures/snmp/*/; do d=${d%/}; printf '%s\n' "${d##*/}"; done
}

# Wait until every peer answers. snmpd's hrProcessorLoad comes last: it is the
# slowest (about 55 s after snmpd starts) and the others are ready by then.
peers_wait_ready() {
  local first
  # No `| head`: under pipefail, head closing the pipe early kills the writer with SIGPIPE
  # (status 141), which once failed a whole run.
  first=$(peers_snmpsim_communities)
  first=${first%%$'\n'*}
  peers_wait snmpd "$PEERS_START_TIMEOUT" "answer to sysUpTime" \
    peers_snmp_get_ok "$KILOWATCH_TEST_SNMPD" "$SNMPD_COMMUNITY" "$OID_SYS_UPTIME"
  peers_wait snmpsim "$PEERS_START_TIMEOUT" "answer to sysDescr (community $first)" \
    peers_snmp_get_ok "$KILOWATCH_TEST_SNMPSIM" "$first" "$OID_SYS_DESCR"
  peers_wait modbus "$PEERS_START_TIMEOUT" "TCP listener" \
    peers_tcp_open "${KILOWATCH_TEST_MODBUS##*:}"
  peers_wait modbus-rtu "$PEERS_START_TIMEOUT" "TCP listener" \
    peers_tcp_open "${KILOWATCH_TEST_MODBUS_RTU##*:}"
  peers_wait_redfish
  peers_wait_ipmi_sim
  if ! peers_hrload_served "$KILOWATCH_TEST_SNMPD" "$SNMPD_COMMUNITY"; then
    peers_say "waiting for snmpd's hrProcessorLoad (net-snmp serves it ~55 s after start)"
    peers_wait snmpd "$PEERS_HRLOAD_TIMEOUT" "hrProcessorLoad row" \
      peers_hrload_served "$KILOWATCH_TEST_SNMPD" "$SNMPD_COMMUNITY"
  fi
}

# ---------------------------------------------------------------------- checks

# One real read from each peer, with a clear message when it is wrong. Cheap
# (about a second), so scripts/test runs it before the tests too: a broken peer
# then fails here, not as a puzzling test failure.
peers_check() {
  local venv=$1 out rows c n=0
  local snmpd=$KILOWATCH_TEST_SNMPD sim=$KILOWATCH_TEST_SNMPSIM
  # Not a wait loop: allow a retry, so a lost datagram cannot fail the run.
  local -a PEERS_SNMP_OPTS=(-t 2 -r 2)

  out=$(peers_snmp snmpget -v2c -c "$SNMPD_COMMUNITY" "$snmpd" \
    "$OID_SYS_UPTIME" "$OID_SYS_LOCATION" "$OID_SYS_CONTACT") ||
    peers_die "snmpd: v2c GET of sysUpTime.0, sysLocation.0, sysContact.0 failed"
  [[ $out == *Timeticks* && $out == *"rack T1"* && $out == *example.invalid* ]] ||
    peers_die "snmpd: unexpected v2c answer: $out"
  rows=$(peers_snmp_walk_count "$snmpd" "$SNMPD_COMMUNITY" "$OID_HR_PROCESSOR_LOAD")
  ((rows > 0)) || peers_die "snmpd: walk of hrProcessorLoad returned no row"
  out=$(peers_snmp snmpget -v3 -l authPriv -u "$SNMPD_V3_USER" -a SHA -A "$SNMPD_V3_AUTH_PASS" \
    -x AES -X "$SNMPD_V3_PRIV_PASS" "$snmpd" "$OID_SYS_UPTIME") ||
    peers_die "snmpd: v3 authPriv GET of sysUpTime.0 as $SNMPD_V3_USER failed"
  [[ $out == *Timeticks* ]] || peers_die "snmpd: unexpected v3 answer: $out"
  peers_say "ok snmpd    $snmpd: sysUpTime, sysLocation, sysContact, $rows hrProcessorLoad rows, v3 authPriv"

  while read -r c; do
    peers_snmp_get_ok "$sim" "$c" "$OID_SYS_DESCR" ||
      peers_die "snmpsim: community $c gave no sysDescr.0 (fixture not loaded?)"
    n=$((n + 1))
  done < <(peers_snmpsim_communities)
  peers_say "ok snmpsim  $sim: sysDescr.0 from all $n fixture communities"

  # Eastron SDM630 (unit 1), input register 0-1: L1 voltage, float32 MSW first.
  out=$("$venv/bin/python" - "${KILOWATCH_TEST_MODBUS##*:}" 2>&1 <<'PY'
import struct, sys
from pymodbus.client import ModbusTcpClient
c = ModbusTcpClient("127.0.0.1", port=int(sys.argv[1]), timeout=3, retries=0)
if not c.connect():
    sys.exit("cannot connect")
rr = c.read_input_registers(0, count=2, device_id=1)
c.close()
if rr.isError():
    sys.exit(f"read failed: {rr}")
words = list(rr.registers)
value = struct.unpack(">f", struct.pack(">HH", *words))[0]
print(f"{value} {words[0]:#06x},{words[1]:#06x}")
sys.exit(0 if value == 230.5 else f"unit 1 input register 0 = {value}, expected 230.5")
PY
  ) || peers_die "modbus: $out"
  out=${out##*$'\n'} # the last line; pymodbus may log above it
  peers_say "ok modbus   $KILOWATCH_TEST_MODBUS: unit 1 input register 0 = ${out%% *} V (${out#* })"
  peers_check_ipmi_sim
}
