#!/usr/bin/env python3
"""Build the device corpus from a git copy of the public LibreNMS repository.

    python3 tests/data/device-corpus/build.py MIRROR_GIT_DIR [--rev REV] [--out DIR]
                                              [--shared-corpus DIR] [--shared-fixtures DIR]

MIRROR_GIT_DIR is a git directory (bare or not) that holds librenms/librenms; REV defaults to
HEAD. The script reads only `git ls-tree`, `git cat-file` and `git log` output. It needs
Python 3 standard library and git, nothing else.

What it does (see README.md for the results):
 1. Takes the curated list CANDIDATES below (recording name, device class, vendor guess). A
    name N stands for the pair tests/snmpsim/N.snmprec + tests/data/N.json.
 2. Drops every pair where the path or content sha256 of either file is listed in
    shared/corpus/exclusions.txt (held-out files), recording and expectations together.
 3. Drops pairs whose recording has no sysObjectID line (1.3.6.1.2.1.1.2.0) and pairs with no
    sensor of the classes in UNITS. Sensors whose OID is not in the recording are dropped and
    counted.
 4. Writes recordings/NAME.snmprec (bytes as published), expected/NAME.json, corpus.json,
    LICENSE-librenms.txt, NOTICE and build.log into --out (default: this folder).

Deterministic: the same mirror revision gives byte-identical output.
"""
import argparse
import hashlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

REPO = "librenms/librenms"

# LibreNMS sensor class -> unit of LibreNMS's sensor_current for that class.
UNITS = {
    "power": "W",
    "power_consumed": "kWh",
    "current": "A",
    "voltage": "V",
    "frequency": "Hz",
    "power_factor": "",
    "temperature": "degC",
    "humidity": "%RH",
    "load": "%",
    "runtime": "min",
    "charge": "%",
}

SNMP_TYPES = {
    "2": "Integer32", "4": "OctetString", "5": "Null", "6": "ObjectIdentifier",
    "64": "IpAddress", "65": "Counter32", "66": "Gauge32", "67": "TimeTicks",
    "68": "Opaque", "70": "Counter64",
}

# name (tests/snmpsim/<name>.snmprec, tests/data/<name>.json), device class, vendor guess.
CANDIDATES = """
apc-cpdu                                 pdu          APC
apc-epdu_epdu1116s                       pdu          APC
apc_ap7900b                              pdu          APC
apc_ap8853                               pdu          APC
apc_ap8959eu3                            pdu          APC
apc_apdu9959eu3                          pdu          APC
apc_isx-pdu                              pdu          APC
atenpdu                                  pdu          ATEN
chatsworth-pdu                           pdu          Chatsworth
conteg-pdu                               pdu          Conteg
cyberpower_pdu81005                      pdu          CyberPower
dell-rpdu                                pdu          Dell
eatonpdu_2                               pdu          Eaton
enlogic-pdu_v2                           pdu          Enlogic
gude-epc_1202                            pdu          Gude
gude-epc_8031                            pdu          Gude
hpe-mapdu_pdu2                           pdu          HPE
hpe-mapdu_pdu3                           pdu          HPE
hpe-pdumm                                pdu          HPE
ict-pdu                                  pdu          ICT
ipoman                                   pdu          Ingrasys/Legrand
liebert_mph2rg                           pdu          Vertiv/Liebert
liebert_web485                           pdu          Vertiv/Liebert
panduit                                  pdu          Panduit
panduit_2                                pdu          Panduit
planet-pdu                               pdu          PLANET
poweralert_pdu                           pdu          Tripp Lite
poweralert_pdumh20atnet                  pdu          Tripp Lite
raritan-pdu                              pdu          Raritan
raritan-pdu_px2                          pdu          Raritan
raritan-pdu_px2-temp                     pdu          Raritan
raritan-pdu_px3                          pdu          Raritan
raritan-pdu_px4                          pdu          Raritan
rittal-cmc-iii-pu_pdu-controller         pdu          Rittal
rnx-updu_rn3214                          pdu          RNX
schleifenbauer                           pdu          Schleifenbauer
schleifenbauer_dpm27e                    pdu          Schleifenbauer
sentry3                                  pdu          Server Technology
sentry3_3phase                           pdu          Server Technology
sentry3_switched                         pdu          Server Technology
sentry4                                  pdu          Server Technology
sentry4_switched8i                       pdu          Server Technology
socomec                                  pdu          Socomec
ts-bspdu                                 pdu          TS
vertiv-pdu_mg02e4w1                      pdu          Vertiv/Geist
vertiv-pdu_mn03edr1                      pdu          Vertiv/Geist
wti-power                                pdu          WTI
abbups_abbups                            ups          ABB
apc-mgeups_galaxy7000                    ups          APC/MGE
apc_powerchute                           ups          APC
apc_smart1500                            ups          APC
apc_smt750x-nmc2                         ups          APC
apc_smtl1000-nmc3                        ups          APC
apc_smx750                               ups          APC
apc_sua1500rmi2u                         ups          APC
apc_sua750i                              ups          APC
apc_surt3000xl                           ups          APC
apc_symmetralx                           ups          APC
cyberpower                               ups          CyberPower
cyberpower_cp1000pfclcd                  ups          CyberPower
cyberpower_pr2200rt2uc                   ups          CyberPower
dell-ups_rack3750w                       ups          Dell
dell-ups_tower1000w                      ups          Dell
deltaups                                 ups          Delta/Minuteman
deltaups_mini-snmp                       ups          Delta
eaton-mgeups_5px                         ups          Eaton
eaton-mgeups_93ps                        ups          Eaton
eaton-mgeups_9px                         ups          Eaton
eatonups                                 ups          Eaton
eatonups_eaton-connectups                ups          Eaton
eatonupsm2_9px                           ups          Eaton
eatonupsm2_9px+empg2                     ups          Eaton
generex-ups_cs121                        ups          Generex
generex-ups_cs141                        ups          Generex
huaweiups_ups2000                        ups          Huawei
istars                                   ups          iStars
liebert                                  ups          Vertiv/Liebert
liebert_apm                              ups          Vertiv/Liebert
linux_ups-nut                            ups          Network UPS Tools (Linux)
marathonups                              ups          Marathon
netagent2                                ups          Megatec NetAgent
netagent2_1                              ups          Megatec NetAgent
netmanplus_204                           ups          Riello
netmanplus_mct20                         ups          Riello
netvision-rfc                            ups          Socomec
orvaldi-ups                              ups          Orvaldi
poweralert_2                             ups          Tripp Lite
poweralert_ups                           ups          Tripp Lite
powerwalker                              ups          PowerWalker
powerwalker-vfi_20kcpgpf133              ups          PowerWalker
powerwalker-vfi_500r1u                   ups          PowerWalker
sinetica                                 ups          Sinetica
socomec-ups                              ups          Socomec
vertiv-ita2                              ups          Vertiv
webpower-smart2                          ups          Eaton (WebPower)
apc_ats                                  ats          APC
ats                                      ats          Eaton
exeltech-xfersw                          ats          Exeltech
imcopower-ls110                          ats          IMCO Power
apc-inrow                                cooling      APC
apc_inrow-dx                             cooling      APC
apc_airfm                                cooling      APC
apc_uniflair-sp                          cooling      APC/Uniflair
stulz_wib8000                            cooling      Stulz
pcoweb-rittal-lcp-3311_lcp-dx-3311       cooling      Rittal
pcoweb-rittalchiller                     cooling      Rittal
rittal-lcp_cmciii-pu-lcp                 cooling      Rittal
spectracool                              cooling      nVent/Pentair
dantherm-os                              cooling      Dantherm
akcp_serverprobe8                        environment  AKCP
aos-emu2_ap9320                          environment  APC
apc-netbotz_netbotz750                   environment  APC
apc_emu                                  environment  APC
apc_environmental-manager                environment  APC
avtech_roomalert12e                      environment  AVTECH
avtech_roomalert12s                      environment  AVTECH
avtech_roomalert32s                      environment  AVTECH
avtech_roomalertmax                      environment  AVTECH
gude-esb_7213-12                         environment  Gude
hwg-poseidon                             environment  HW group
interseptor                              environment  Jacarta
nti_micro_trhp                           environment  NTI
packetpower-eg                           environment  Packet Power
rittal-cmc                               environment  Rittal
rittal-cmc-iii-pu                        environment  Rittal
rittal-cmc-iii-pu_cmciii-pu              environment  Rittal
rittal-cmc-iii-pu_compact                environment  Rittal
serverscheck_sc-ts01                     environment  ServersCheck
siteboss550                              environment  Asentria
siteboss571_siteboss571                  environment  Asentria
vertiv-dcs                               environment  Vertiv
vutlan_vt825                             environment  Vutlan
e3meter                                  meter        e3Meter (Riedo)
e3meterdc                                meter        e3Meter (Riedo)
janitza_generic                          meter        Janitza
janitza-umg96_umg96                      meter        Janitza
cimc                                     server       Cisco
dell-ome-m_dell-ome-m                    server       Dell
drac_c6525                               server       Dell
drac_idrac7                              server       Dell
drac_m1000e                              server       Dell
drac_r540                                server       Dell
drac_r640                                server       Dell
fujitsu-irmc_rx300                       server       Fujitsu
hpe-ilo_4                                server       HPE
hpe-ilo_4_with_bat_checks                server       HPE
hpe-ilo_5_with_bat_checks                server       HPE
hpe-ilo_hpe-ilo6-with-vmware             server       HPE
ibm-imm_x3550m3                          server       IBM
ibmc                                     server       Huawei
supermicro-bmc_x11                       server       Supermicro
xclarity_lenovo-xcc-impi-esx334m-5.50    server       Lenovo
xclarity_lenovoxcc                       server       Lenovo
xclarity_sr665                           server       Lenovo
linux_powermon                           server       Linux (net-snmp)
arista_eos                               switch       Arista
arista_eos_vrf                           switch       Arista
cumulus_cumulus                          switch       Cumulus/NVIDIA
dell-sonic                               switch       Dell
arubaos-cx_6300m                         switch       HPE Aruba
"""

DEVICE_CLASSES = ("pdu", "ups", "ats", "cooling", "environment", "meter", "server", "switch")
SIZE_LIMIT = 30 * 1024 * 1024  # above this the recordings go into recordings.tar.xz


def parse_candidates():
    out = []
    for line in CANDIDATES.strip().splitlines():
        name, cls, vendor = line.split(None, 2)
        assert cls in DEVICE_CLASSES, line
        out.append((name, cls, vendor.strip()))
    names = [n for n, _, _ in out]
    assert len(names) == len(set(names)), "duplicate candidate"
    return out


class Git:
    def __init__(self, gitdir, rev):
        self.gitdir = gitdir
        self.commit = self.run("rev-parse", rev + "^{commit}").strip()
        self.proc = subprocess.Popen(["git", "--git-dir", gitdir, "cat-file", "--batch"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def run(self, *args):
        return subprocess.run(["git", "--git-dir", self.gitdir, *args], check=True,
                              capture_output=True, text=True).stdout

    def read(self, path):
        """Bytes of path at the commit, or None if absent (or absent from a partial snapshot)."""
        self.proc.stdin.write(f"{self.commit}:{path}\n".encode())
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().split()
        if header[-1] == b"missing":
            return None
        size = int(header[2])
        data = self.proc.stdout.read(size)
        self.proc.stdout.read(1)
        return data

    def last_change(self, path):
        return self.run("log", "-1", "--format=%H", self.commit, "--", path).strip()


def parse_snmprec(data):
    """{oid: (type, value)} from snmprec bytes; the type keeps its suffix (4x = hex)."""
    rec = {}
    for raw in data.decode("latin-1").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split("|", 2)
        if len(parts) < 3:
            continue
        oid = parts[0].lstrip(".")
        rec.setdefault(oid, (parts[1], parts[2]))
    return rec


def decode_value(typ, value):
    """The recorded value as text: hex (type suffix x) decoded; strings as UTF-8 where valid."""
    base = typ.split(":")[0]
    if base.endswith("x"):
        try:
            b = bytes.fromhex(value)
        except ValueError:
            return value
    else:
        b = value.encode("latin-1")
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("latin-1")


def num(v):
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)
    return v


def suspect(entry):
    """Why a kept value looks like an agent's 'not present' sentinel or a unit slip, or None.
    Only reported in build.log; the values stay as LibreNMS stored them."""
    v = entry["value"]
    if not isinstance(v, (int, float)):
        return "not a number"
    if v in (65535, 6553.5, 999.9, -273, 2147483647, -2147483648, 4294967295):
        return "sentinel-like"
    if entry["class"] in ("load", "charge", "humidity") and v > 100:
        return "percent over 100"
    if entry["class"] == "temperature" and (v > 150 or v < -40):
        return "temperature out of range"
    return None


def load_module(path):
    spec = importlib.util.spec_from_file_location("corpus_split", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo_root = os.path.abspath(os.path.join(here, "..", "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mirror", help="git directory holding librenms/librenms")
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("--out", default=here)
    ap.add_argument("--shared-corpus", default=os.path.join(repo_root, "..", "shared", "corpus"))
    ap.add_argument("--shared-fixtures",
                    default=os.path.join(repo_root, "..", "shared", "fixtures", "snmp"))
    args = ap.parse_args()

    git = Git(args.mirror, args.rev)
    split = load_module(os.path.join(args.shared_corpus, "split.py"))
    held = [l.split() for l in open(os.path.join(args.shared_corpus, "exclusions.txt"))
            if l.strip()]
    held_paths = {p for p, _ in held}
    held_contents = {c for _, c in held}

    def held_out(path, data):
        return (hashlib.sha256(path.encode()).hexdigest() in held_paths
                or (data is not None and hashlib.sha256(data).hexdigest() in held_contents))

    shared_hashes = {}
    if os.path.isdir(args.shared_fixtures):
        for fx in sorted(os.listdir(args.shared_fixtures)):
            p = os.path.join(args.shared_fixtures, fx, fx + ".snmprec")
            if os.path.isfile(p):
                shared_hashes[hashlib.sha256(open(p, "rb").read()).hexdigest()] = fx

    log = []
    candidates = parse_candidates()
    log.append(f"source: {REPO} at {git.commit}")
    log.append(f"candidates: {len(candidates)}")

    excluded, missing, no_sysobjectid, no_sensors = [], [], [], []
    kept = []  # (name, cls, vendor, rec_bytes, expected_dict)
    dropped_sensor_total = 0
    dropped_sensor_lines = []
    value_mismatch_lines = []
    suspect_lines = []

    for name, cls, vendor in candidates:
        rpath = f"tests/snmpsim/{name}.snmprec"
        jpath = f"tests/data/{name}.json"
        rdata, jdata = git.read(rpath), git.read(jpath)
        if held_out(rpath, rdata) or held_out(jpath, jdata):
            excluded.append(name)
            continue
        if rdata is None or jdata is None:
            missing.append(name)
            continue
        rec = parse_snmprec(rdata)
        if "1.3.6.1.2.1.1.2.0" not in rec:
            no_sysobjectid.append(name)
            continue
        j = json.loads(jdata)
        dev = (j.get("os", {}).get("discovery", {}).get("devices") or [{}])[0]
        disc = j.get("sensors", {}).get("discovery", {})
        disc = disc.get("sensors", []) if isinstance(disc, dict) else []
        poll = j.get("sensors", {}).get("poller")
        poll_by_key = {}
        if isinstance(poll, dict):
            for s in poll.get("sensors", []):
                poll_by_key[(s["sensor_class"], s["sensor_type"], str(s["sensor_index"]))] = s

        sensors = []
        for s in disc:
            if s["sensor_class"] not in UNITS:
                continue
            key = (s["sensor_class"], s["sensor_type"], str(s["sensor_index"]))
            p = poll_by_key.get(key)
            current = p["sensor_current"] if p is not None and p.get("sensor_current") is not None \
                else s["sensor_current"]
            oid = (s.get("sensor_oid") or "").lstrip(".")
            if oid not in rec:
                dropped_sensor_total += 1
                dropped_sensor_lines.append(
                    f"  {name}: {s['sensor_class']} {s['sensor_descr']!r} oid {s.get('sensor_oid')!r}")
                continue
            typ, val = rec[oid]
            raw = decode_value(typ, val)
            divisor = s["sensor_divisor"]
            multiplier = s["sensor_multiplier"]
            entry = {
                "oid": oid,
                "class": s["sensor_class"],
                "description": s["sensor_descr"],
                "index": str(s["sensor_index"]),
                "divisor": num(divisor),
                "multiplier": num(multiplier),
                "value": num(current) if isinstance(current, (int, float)) else current,
                "unit": UNITS[s["sensor_class"]],
                "librenms_type": s["sensor_type"],
                "user_func": s.get("user_func"),
                "snmp_type": SNMP_TYPES.get(typ.split(":")[0].rstrip("x"), typ),
                "raw": raw,
                "note": None,
            }
            if s.get("user_func") == "dateToRuntime":
                entry["note"] = ("date-dependent: LibreNMS turned the recorded date into minutes "
                                 "relative to the day its test data was generated; not "
                                 "reproducible from the recording")
            # Cross-check LibreNMS's value against raw / divisor * multiplier (report only).
            if not s.get("user_func") and current is not None:
                mismatch = None
                try:
                    calc = float(raw.strip().split()[0]) / (divisor or 1) * (multiplier or 1)
                    if abs(calc - float(current)) > max(1e-6, 1e-3 * abs(float(current))):
                        mismatch = f"raw {raw!r} / {divisor} * {multiplier} = {calc:g}"
                except (ValueError, IndexError, ZeroDivisionError):
                    mismatch = f"raw {raw!r} not numeric"
                if mismatch:
                    entry["note"] = (f"LibreNMS value {current} is not raw/divisor*multiplier "
                                     f"({mismatch}): LibreNMS's os code converts it")
                    value_mismatch_lines.append(
                        f"  {name}: {s['sensor_class']} {s['sensor_descr']!r} {mismatch}, "
                        f"LibreNMS {current}")
            sensors.append(entry)
            why = suspect(entry)
            if why:
                suspect_lines.append(f"  {name}: {entry['class']} {entry['description']!r} "
                                     f"value {entry['value']} ({why})")
        if not sensors:
            no_sensors.append(name)
            continue
        sensors.sort(key=lambda e: (e["class"], [int(x) for x in e["oid"].split(".")],
                                    e["librenms_type"], e["index"]))
        expected = {
            "name": name,
            "source_repo": REPO,
            "source_paths": [rpath, jpath],
            "source_commit": git.commit,
            "source_last_changed": {rpath: git.last_change(rpath), jpath: git.last_change(jpath)},
            "snmprec_sha256": hashlib.sha256(rdata).hexdigest(),
            "device_class": cls,
            "vendor": vendor,
            "os": dev.get("os"),
            "hardware": dev.get("hardware"),
            "sys_object_id": decode_value(*rec["1.3.6.1.2.1.1.2.0"]).lstrip("."),
            "sys_descr": decode_value(*rec["1.3.6.1.2.1.1.1.0"]) if "1.3.6.1.2.1.1.1.0" in rec else None,
            "split": split.part(rpath),
            "shared_fixture": shared_hashes.get(hashlib.sha256(rdata).hexdigest()),
            "sensors": sensors,
        }
        kept.append((name, cls, vendor, rdata, expected))

    # ---- write outputs (only these paths inside --out are touched) ----
    out = args.out
    os.makedirs(out, exist_ok=True)
    for sub in ("recordings", "expected"):
        shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
    tar_path = os.path.join(out, "recordings.tar.xz")
    if os.path.exists(tar_path):
        os.remove(tar_path)
    os.makedirs(os.path.join(out, "expected"))
    total_rec = sum(len(r) for _, _, _, r, _ in kept)
    as_tar = total_rec > SIZE_LIMIT
    if as_tar:
        with tarfile.open(tar_path, "w:xz", format=tarfile.PAX_FORMAT) as tf:
            for name, _, _, rdata, _ in kept:
                ti = tarfile.TarInfo(f"recordings/{name}.snmprec")
                ti.size, ti.mtime, ti.mode = len(rdata), 0, 0o644
                tf.addfile(ti, io.BytesIO(rdata))
    else:
        os.makedirs(os.path.join(out, "recordings"))
        for name, _, _, rdata, _ in kept:
            with open(os.path.join(out, "recordings", name + ".snmprec"), "wb") as f:
                f.write(rdata)
    for name, _, _, _, exp in kept:
        with open(os.path.join(out, "expected", name + ".json"), "w", encoding="utf-8") as f:
            json.dump(exp, f, indent=1, ensure_ascii=False)
            f.write("\n")

    per_class = {c: {"recordings": 0, "sensors": 0, "write": 0, "measure": 0}
                 for c in DEVICE_CLASSES}
    per_sensor_class = {c: 0 for c in UNITS}
    entries = []
    for name, cls, vendor, _, exp in kept:
        per_class[cls]["recordings"] += 1
        per_class[cls]["sensors"] += len(exp["sensors"])
        per_class[cls][exp["split"]] += 1
        for s in exp["sensors"]:
            per_sensor_class[s["class"]] += 1
        entries.append({
            "name": name, "device_class": cls, "os": exp["os"], "vendor": vendor,
            "sensors": len(exp["sensors"]), "split": exp["split"],
            "shared": exp["shared_fixture"] is not None,
        })
    corpus = {
        "source_repo": REPO,
        "source_commit": git.commit,
        "recordings_in": "recordings.tar.xz" if as_tar else "recordings/",
        "counts": {
            "candidates": len(candidates),
            "excluded_by_hash": len(excluded),
            "missing_from_mirror": len(missing),
            "no_sysobjectid": len(no_sysobjectid),
            "no_sensors": len(no_sensors),
            "kept": len(kept),
            "write": sum(1 for e in entries if e["split"] == "write"),
            "measure": sum(1 for e in entries if e["split"] == "measure"),
            "sensors": sum(e["sensors"] for e in entries),
            "sensors_dropped_oid_not_in_recording": dropped_sensor_total,
            "recording_bytes": total_rec,
        },
        "per_device_class": per_class,
        "per_sensor_class": per_sensor_class,
        "entries": entries,
    }
    with open(os.path.join(out, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(corpus, f, indent=1, ensure_ascii=False)
        f.write("\n")

    lic = git.read("LICENSE.txt")
    if lic is None:
        sys.exit("LICENSE.txt not found in the mirror")
    with open(os.path.join(out, "LICENSE-librenms.txt"), "wb") as f:
        f.write(lic)
    with open(os.path.join(out, "NOTICE"), "w", encoding="utf-8") as f:
        f.write(
            "The files under recordings/ (tests/snmpsim/*.snmprec, byte-for-byte) and the sensor\n"
            "values in expected/*.json (taken from tests/data/*.json) come from the public\n"
            f"repository https://github.com/{REPO} at commit {git.commit}.\n"
            "LibreNMS is licensed under the GNU General Public License v3.0; its licence text is\n"
            "in LICENSE-librenms.txt (a copy of that repository's LICENSE.txt). The recordings are\n"
            "device data contributed to LibreNMS; some values were anonymised by the contributors.\n"
            "Each expected/NAME.json names its two source paths and the commits that last changed\n"
            "them. Keep this notice and LICENSE-librenms.txt with the files.\n")

    log.append(f"excluded by hash (recording and expectations together): {len(excluded)}: "
               + " ".join(excluded))
    log.append(f"missing from mirror: {len(missing)}: " + " ".join(missing))
    log.append(f"dropped, no sysObjectID line in recording: {len(no_sysobjectid)}: "
               + " ".join(no_sysobjectid))
    log.append(f"dropped, no sensor of the kept classes: {len(no_sensors)}: " + " ".join(no_sensors))
    log.append(f"kept: {len(kept)}  (write {corpus['counts']['write']}, "
               f"measure {corpus['counts']['measure']})")
    for c in DEVICE_CLASSES:
        pc = per_class[c]
        log.append(f"  {c:12s} {pc['recordings']:4d} recordings {pc['sensors']:5d} sensors "
                   f"(write {pc['write']}, measure {pc['measure']})")
    log.append(f"sensors kept: {corpus['counts']['sensors']}; per class: "
               + ", ".join(f"{k} {v}" for k, v in per_sensor_class.items()))
    log.append(f"shared fixtures among kept: "
               + " ".join(sorted(e["name"] for e in entries if e["shared"])))
    log.append(f"recordings: {total_rec} bytes"
               + (" (stored as recordings.tar.xz)" if as_tar else " (stored as files)"))
    log.append(f"sensors dropped, OID not in recording: {dropped_sensor_total}")
    log.extend(dropped_sensor_lines)
    log.append(f"sensors kept whose LibreNMS value != raw/divisor*multiplier "
               f"(no user_func; reported, not dropped): {len(value_mismatch_lines)}")
    log.extend(value_mismatch_lines)
    log.append(f"kept values that look like sentinels or slips (reported, not dropped): "
               f"{len(suspect_lines)}")
    log.extend(suspect_lines)
    with open(os.path.join(out, "build.log"), "w", encoding="utf-8") as f:
        f.write("\n".join(log) + "\n")
    print("\n".join(log[:16]))


if __name__ == "__main__":
    main()
