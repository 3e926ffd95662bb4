# shellcheck shell=bash
# Redfish peers for Kilowatch, sourced by scripts/peers.sh (which provides peers_spawn,
# peers_wait, peers_free_ports, PEERS_TMP and ROOT):
#   sushy-static   (sushy-tools, PyPI) serving each DMTF mockup in tests/data/redfish over HTTP,
#                  and public-rackmount1 again over HTTPS with a certificate made for the run
#   sushy-emulator the same package's emulator (fake driver) behind HTTP Basic with a bcrypt
#                  htpasswd file: a service that refuses a wrong password
#
# Exports:
#   KILOWATCH_TEST_REDFISH_MOCKUPS   "NAME=127.0.0.1:PORT ..." one per mockup folder
#   KILOWATCH_TEST_REDFISH_TLS       127.0.0.1:PORT, HTTPS, public-rackmount1
#   KILOWATCH_TEST_REDFISH_TLS_CA    the CA (PEM) that signed its certificate
#   KILOWATCH_TEST_REDFISH_TLS_PIN   its certificate's SHA-256 fingerprint
#   KILOWATCH_TEST_REDFISH_AUTH      127.0.0.1:PORT, sushy-emulator with Basic
#   KILOWATCH_TEST_REDFISH_USER, KILOWATCH_TEST_REDFISH_PASS   its account

REDFISH_USER=kwredfish
REDFISH_PASS=kw-redfish-pass-1

PEERS_ENV_VARS+=(
  KILOWATCH_TEST_REDFISH_MOCKUPS KILOWATCH_TEST_REDFISH_TLS KILOWATCH_TEST_REDFISH_TLS_CA
  KILOWATCH_TEST_REDFISH_TLS_PIN KILOWATCH_TEST_REDFISH_AUTH KILOWATCH_TEST_REDFISH_USER
  KILOWATCH_TEST_REDFISH_PASS
)
declare -a REDFISH_PEERS=() # "name url" pairs to wait for

# A CA and a certificate for 127.0.0.1 signed by it (a BMC's usual arrangement).
redfish_make_certs() {
  local d=$PEERS_TMP/redfish-tls
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=kilowatch test BMC CA" \
    -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null || peers_die "openssl: CA"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=bmc.test" \
    -keyout "$d/bmc.key" -out "$d/bmc.csr" 2>/dev/null || peers_die "openssl: CSR"
  printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$d/ext"
  openssl x509 -req -in "$d/bmc.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/ext" -out "$d/bmc.pem" 2>/dev/null || peers_die "openssl: sign"
  KILOWATCH_TEST_REDFISH_TLS_CA=$d/ca.pem
  KILOWATCH_TEST_REDFISH_TLS_PIN=$(openssl x509 -noout -fingerprint -sha256 -in "$d/bmc.pem")
  KILOWATCH_TEST_REDFISH_TLS_PIN=${KILOWATCH_TEST_REDFISH_TLS_PIN#*=}
  export KILOWATCH_TEST_REDFISH_TLS_CA KILOWATCH_TEST_REDFISH_TLS_PIN
}

peers_start_redfish() {
  local venv=$1 dirs=("$ROOT"/tests/data/redfish/public-*/) ports i=0 name d list=()
  ports=$(peers_free_ports $(printf 'tcp %.0s' "${dirs[@]}") tcp tcp) ||
    peers_die "could not pick free ports for Redfish"
  read -r -a ports <<<"$ports"
  for d in "${dirs[@]}"; do
    d=${d%/}
    name=${d##*/}
    peers_spawn "redfish-$name" "$venv/bin/sushy-static" -i 127.0.0.1 -p "${ports[i]}" -m "$d"
    list+=("$name=127.0.0.1:${ports[i]}")
    REDFISH_PEERS+=("redfish-$name http://127.0.0.1:${ports[i]}/redfish/v1")
    i=$((i + 1))
  done
  export KILOWATCH_TEST_REDFISH_MOCKUPS="${list[*]}"

  redfish_make_certs
  local tls=$PEERS_TMP/redfish-tls
  peers_spawn redfish-tls "$venv/bin/sushy-static" -i 127.0.0.1 -p "${ports[i]}" \
    -m "$ROOT/tests/data/redfish/public-rackmount1" -c "$tls/bmc.pem" -k "$tls/bmc.key"
  export KILOWATCH_TEST_REDFISH_TLS=127.0.0.1:${ports[i]}
  REDFISH_PEERS+=("redfish-tls https://127.0.0.1:${ports[i]}/redfish/v1")
  i=$((i + 1))

  "$venv/bin/python" - "$PEERS_TMP/redfish-htpasswd" "$REDFISH_USER" "$REDFISH_PASS" <<'PY'
import bcrypt, sys
path, user, password = sys.argv[1:]
with open(path, "w") as f:
    f.write(f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()}\n")
PY
  cat >"$PEERS_TMP/redfish-emulator.conf" <<CONF
SUSHY_EMULATOR_FAKE_DRIVER = True
SUSHY_EMULATOR_AUTH_FILE = '$PEERS_TMP/redfish-htpasswd'
SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'
SUSHY_EMULATOR_LISTEN_PORT = ${ports[i]}
CONF
  peers_spawn redfish-auth "$venv/bin/sushy-emulator" --config "$PEERS_TMP/redfish-emulator.conf"
  export KILOWATCH_TEST_REDFISH_AUTH=127.0.0.1:${ports[i]}
  export KILOWATCH_TEST_REDFISH_USER=$REDFISH_USER KILOWATCH_TEST_REDFISH_PASS=$REDFISH_PASS
  REDFISH_PEERS+=("redfish-auth http://127.0.0.1:${ports[i]}/redfish/v1")
}

# An HTTP(S) answer of any status: the server is up (the TLS one with a certificate we made).
redfish_http_up() {
  python3 - "$1" <<'PY'
import ssl, sys, urllib.request, urllib.error
ctx = ssl._create_unverified_context()
try:
    urllib.request.urlopen(sys.argv[1], timeout=2, context=ctx)
except urllib.error.HTTPError:
    pass
except Exception:
    sys.exit(1)
PY
}

peers_wait_redfish() {
  local p
  for p in "${REDFISH_PEERS[@]}"; do
    peers_wait "${p%% *}" "$PEERS_START_TIMEOUT" "HTTP service root" redfish_http_up "${p#* }"
  done
}
