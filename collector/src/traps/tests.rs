//! Decode, map and listener tests. Expected OIDs and effects are read off the MIBs (quoted in
//! config/traps/*.toml), not from the code's output.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use kilowatch_core::event::{Severity, TrapEffect};
use kilowatch_core::secret::Secret;
use proptest::prelude::*;
use snmp2::{MessageType, Pdu};

use super::encode::{self, Val};
use super::*;

const UPS_ON_BATTERY: &str = "1.3.6.1.2.1.33.2.1";
const UPS_ALARM_ADDED: &str = "1.3.6.1.2.1.33.2.3";
const UPS_ALARM_REMOVED: &str = "1.3.6.1.2.1.33.2.4";
const UPS_ALARM_DESCR_1: &str = "1.3.6.1.2.1.33.1.6.2.1.2.1";

fn creds() -> Credentials {
    Credentials::new(vec![Secret::new("public-kw")], Vec::new())
}

fn on_battery(community: &[u8], inform: bool) -> Vec<u8> {
    encode::v2c(
        community,
        4242,
        inform,
        1000,
        UPS_ON_BATTERY,
        &[
            ("1.3.6.1.2.1.33.1.2.3.0", Val::Int(17)), // upsEstimatedMinutesRemaining
            ("1.3.6.1.2.1.33.1.2.2.0", Val::Int(90)), // upsSecondsOnBattery
            ("1.3.6.1.2.1.33.1.9.7.0", Val::Int(2)),  // upsConfigLowBattTime
        ],
    )
}

#[test]
fn builtin_maps_load_without_problems() {
    let mut map = TrapMap::default();
    let mut problems = Vec::new();
    for (file, text) in map::BUILTIN {
        problems.extend(map.add_str(file, text));
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // UPS-MIB alone has 4 + 2 x 24 entries; every family adds its own.
    assert!(map.len() > 300, "{} entries", map.len());
}

#[test]
fn v2c_ups_on_battery_raises() {
    let d = decode(&on_battery(b"public-kw", false), &mut creds()).unwrap();
    assert_eq!(d.version, Version::V2c);
    assert!(!d.inform);
    assert_eq!(d.trap_oid, UPS_ON_BATTERY);
    assert_eq!(d.response, None);
    assert_eq!(d.varbinds.len(), 5);
    assert_eq!(d.varbinds[0], ("1.3.6.1.2.1.1.3.0".into(), "1000".into()));
    let m = TrapMap::builtin().meaning(&d);
    assert_eq!(m.name.as_deref(), Some("UPS-MIB::upsTrapOnBattery"));
    assert_eq!(
        m.effect,
        TrapEffect::Raise {
            alert: "ups_on_battery".into(),
            severity: Severity::Warning
        }
    );
    assert_eq!(m.summary, "UPS on battery for 90 s, 17 min of battery left");
}

#[test]
fn wrong_community_is_rejected() {
    let e = decode(&on_battery(b"guess", false), &mut creds()).unwrap_err();
    assert_eq!(e, TrapError::Community);
    assert!(e.is_auth());
}

#[test]
fn v1_powernet_on_battery_is_enterprise_0_specific() {
    // PowerNet-MIB upsOnBattery: ENTERPRISE apc (1.3.6.1.4.1.318), ::= 5.
    let bytes = encode::v1(
        b"public-kw",
        "1.3.6.1.4.1.318",
        [10, 1, 2, 3],
        6,
        5,
        777,
        &[(
            "1.3.6.1.4.1.318.2.3.3.0",
            Val::Str(b"UPS: On battery power".to_vec()),
        )],
    );
    let d = decode(&bytes, &mut creds()).unwrap();
    assert_eq!(d.version, Version::V1);
    assert_eq!(d.trap_oid, "1.3.6.1.4.1.318.0.5");
    assert_eq!(d.agent_addr, Some(Ipv4Addr::new(10, 1, 2, 3)));
    // RFC 3584 §3.1: sysUpTime.0, snmpTrapOID.0, the trap's own, snmpTrapAddress.0,
    // snmpTrapEnterprise.0.
    let oids: Vec<&str> = d.varbinds.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(
        oids,
        [
            "1.3.6.1.2.1.1.3.0",
            "1.3.6.1.6.3.1.1.4.1.0",
            "1.3.6.1.4.1.318.2.3.3.0",
            "1.3.6.1.6.3.18.1.3.0",
            "1.3.6.1.6.3.1.1.4.3.0"
        ]
    );
    assert_eq!(d.varbinds[2].1, "UPS: On battery power");
    assert_eq!(d.varbinds[4].1, "1.3.6.1.4.1.318");
    let m = TrapMap::builtin().meaning(&d);
    assert_eq!(m.name.as_deref(), Some("PowerNet-MIB::upsOnBattery"));
    assert!(matches!(m.effect, TrapEffect::Raise { ref alert, .. } if alert == "ups_on_battery"));
}

#[test]
fn v1_generic_link_down_is_snmp_traps_3() {
    let bytes = encode::v1(b"public-kw", "1.3.6.1.4.1.8072", [0, 0, 0, 0], 2, 0, 5, &[]);
    let d = decode(&bytes, &mut creds()).unwrap();
    assert_eq!(d.trap_oid, "1.3.6.1.6.3.1.1.5.3");
    assert_eq!(d.agent_addr, None, "0.0.0.0 is no address");
    let m = TrapMap::builtin().meaning(&d);
    assert_eq!(m.name.as_deref(), Some("SNMPv2-MIB::linkDown"));
    assert_eq!(
        m.effect,
        TrapEffect::Notice {
            severity: Severity::Warning
        }
    );
}

#[test]
fn v1_bad_generic_is_malformed() {
    let bytes = encode::v1(b"public-kw", "1.3.6.1.4.1.318", [1, 2, 3, 4], 7, 0, 5, &[]);
    assert!(matches!(
        decode(&bytes, &mut creds()),
        Err(TrapError::Malformed(_))
    ));
}

#[test]
fn ups_alarm_entry_pairs_raise_and_clear_by_alarm_type() {
    let map = TrapMap::builtin();
    let alarm = |trap: &str, descr: &str| {
        let bytes = encode::v2c(
            b"public-kw",
            1,
            false,
            1,
            trap,
            &[
                ("1.3.6.1.2.1.33.1.6.2.1.1.1", Val::Int(1)),
                (UPS_ALARM_DESCR_1, Val::Oid(descr.into())),
            ],
        );
        map.meaning(&decode(&bytes, &mut creds()).unwrap())
    };
    // upsAlarmOutputOverload = upsWellKnownAlarms 8.
    let added = alarm(UPS_ALARM_ADDED, "1.3.6.1.2.1.33.1.6.3.8");
    assert_eq!(
        added.name.as_deref(),
        Some("UPS-MIB::upsTrapAlarmEntryAdded")
    );
    assert_eq!(
        added.effect,
        TrapEffect::Raise {
            alert: "ups_overload".into(),
            severity: Severity::Critical
        }
    );
    // upsAlarmOnBattery = upsWellKnownAlarms 2: removal ends upsTrapOnBattery's alert.
    let removed = alarm(UPS_ALARM_REMOVED, "1.3.6.1.2.1.33.1.6.3.2");
    assert_eq!(
        removed.effect,
        TrapEffect::Clear {
            alert: "ups_on_battery".into()
        }
    );
    // An alarm from a vendor MIB: kept as a notice naming the alarm's OID.
    let vendor = alarm(UPS_ALARM_ADDED, "1.3.6.1.4.1.534.1.7.11");
    assert!(matches!(vendor.effect, TrapEffect::Notice { .. }));
    assert!(
        vendor.summary.contains("1.3.6.1.4.1.534.1.7.11"),
        "{}",
        vendor.summary
    );
    // .80 is not .8: the match is on the whole OID.
    let not_eight = alarm(UPS_ALARM_ADDED, "1.3.6.1.2.1.33.1.6.3.80");
    assert!(matches!(not_eight.effect, TrapEffect::Notice { .. }));
}

#[test]
fn liebert_condition_matches_below_its_well_known_oid() {
    // lgpConditionSource1Overload = lgpConditionOverload 1 = lgpConditionsWellKnown 40 1.
    let bytes = encode::v2c(
        b"public-kw",
        1,
        false,
        1,
        "1.3.6.1.4.1.476.1.42.3.3.0.1",
        &[
            ("1.3.6.1.4.1.476.1.42.3.2.3.1.1.6", Val::Int(6)),
            (
                "1.3.6.1.4.1.476.1.42.3.2.3.1.2.6",
                Val::Oid("1.3.6.1.4.1.476.1.42.3.2.1.40.1".into()),
            ),
        ],
    );
    let m = TrapMap::builtin().meaning(&decode(&bytes, &mut creds()).unwrap());
    assert_eq!(
        m.name.as_deref(),
        Some("LIEBERT-GP-NOTIFICATIONS-MIB::lgpEventConditionEntryAdded")
    );
    assert!(matches!(m.effect, TrapEffect::Raise { ref alert, .. } if alert == "ups_overload"));
}

#[test]
fn raritan_needs_every_condition() {
    let map = TrapMap::builtin();
    let inlet = |sensor_type: i64, state: i64| {
        let bytes = encode::v2c(
            b"public-kw",
            1,
            false,
            1,
            "1.3.6.1.4.1.13742.6.0.61",
            &[
                ("1.3.6.1.2.1.1.5.0", Val::Str(b"pdu-a1".to_vec())),
                ("1.3.6.1.4.1.13742.6.0.0.10.0", Val::Int(sensor_type)),
                ("1.3.6.1.4.1.13742.6.5.2.3.1.3.1.1.1", Val::Int(state)),
            ],
        );
        map.meaning(&decode(&bytes, &mut creds()).unwrap())
    };
    // rmsCurrent(1) aboveUpperCritical(6).
    let m = inlet(1, 6);
    assert_eq!(
        m.effect,
        TrapEffect::Raise {
            alert: "pdu_inlet_current".into(),
            severity: Severity::Critical
        }
    );
    assert!(
        m.summary.starts_with("PDU pdu-a1 inlet current"),
        "{}",
        m.summary
    );
    // rmsCurrent back to normal(4).
    assert_eq!(
        inlet(1, 4).effect,
        TrapEffect::Clear {
            alert: "pdu_inlet_current".into()
        }
    );
    // rmsVoltage(4) aboveUpperCritical: no current entry matches; the fallback notice does.
    assert!(matches!(inlet(4, 6).effect, TrapEffect::Notice { .. }));
}

#[test]
fn unknown_trap_is_kept_with_its_varbinds() {
    let bytes = encode::v2c(
        b"public-kw",
        9,
        false,
        1,
        "1.3.6.1.4.1.99999.0.1",
        &[("1.3.6.1.4.1.99999.1.1.0", Val::Str(b"door open".to_vec()))],
    );
    let d = decode(&bytes, &mut creds()).unwrap();
    let m = TrapMap::builtin().meaning(&d);
    assert_eq!(m.name, None);
    assert_eq!(m.effect, TrapEffect::Unknown);
    assert_eq!(
        m.summary,
        "unknown trap 1.3.6.1.4.1.99999.0.1: 1.3.6.1.4.1.99999.1.1.0=door open"
    );
    assert_eq!(d.varbinds.len(), 3);
}

#[test]
fn v2c_inform_response_echoes_request_id_and_varbinds() {
    let request = on_battery(b"public-kw", true);
    let d = decode(&request, &mut creds()).unwrap();
    assert!(d.inform);
    let response = d.response.unwrap();
    let pdu = Pdu::from_bytes(&response).unwrap();
    assert_eq!(pdu.message_type, MessageType::Response);
    assert_eq!(pdu.req_id, 4242);
    assert_eq!(pdu.community, b"public-kw");
    assert_eq!((pdu.error_status, pdu.error_index), (0, 0));
    let request_pdu = Pdu::from_bytes(&request).unwrap();
    let ours: Vec<String> = pdu.varbinds.map(|(o, v)| format!("{o} {v:?}")).collect();
    let theirs: Vec<String> = request_pdu
        .varbinds
        .map(|(o, v)| format!("{o} {v:?}"))
        .collect();
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 5);
}

#[test]
fn v3_without_users_or_as_discovery_is_rejected() {
    // A discovery probe as net-snmp sends it before an inform: v3, noAuth, empty engine id.
    let probe: Vec<u8> = vec![
        0x30, 0x3a, 0x02, 0x01, 0x03, 0x30, 0x0f, 0x02, 0x03, 0x01, 0x02, 0x03, 0x02, 0x02, 0x05,
        0xdc, 0x04, 0x01, 0x04, 0x02, 0x01, 0x03, 0x04, 0x10, 0x30, 0x0e, 0x04, 0x00, 0x02, 0x01,
        0x00, 0x02, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00, 0x04, 0x00, 0x30, 0x12, 0x04, 0x00, 0x04,
        0x00, 0xa0, 0x0c, 0x02, 0x02, 0x12, 0x34, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x00,
    ];
    assert_eq!(decode(&probe, &mut creds()), Err(TrapError::Discovery));
}

#[test]
fn map_file_problems_name_file_line_and_key() {
    let mut map = TrapMap::default();
    let p = map.add_str("extra.toml", "mib = \"X-MIB\"\n[[trap]]\nname = \"a\"\noid = \"1.3\"\neffect = \"notice\"\nseverity = \"info\"\nsummary = \"s\"\ncolour = \"red\"\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].source, "extra.toml");
    assert!(p[0].message.contains("colour"), "{}", p[0].message);
    assert!(p[0].line.is_some());

    let text = "mib = \"X-MIB\"\n\n[[trap]]\nname = \"ok\"\noid = \"1.3.6.1.4.1.1.0.1\"\neffect = \"notice\"\nseverity = \"info\"\nsummary = \"fine\"\n\n[[trap]]\nname = \"badOid\"\noid = \"1.3.six\"\neffect = \"raise\"\nalert = \"x\"\nseverity = \"warning\"\nsummary = \"s\"\n\n[[trap]]\nname = \"noSeverity\"\noid = \"1.3.6.1.4.1.1.0.2\"\neffect = \"raise\"\nalert = \"x\"\nsummary = \"s {1.3.x}\"\n\n[[trap]]\nname = \"shadowed\"\noid = \"1.3.6.1.4.1.1.0.1\"\nwhen = [{ varbind = \"1.3.6.1.4.1.1.1\", equals = \"1\" }]\neffect = \"clear\"\nalert = \"x\"\nsummary = \"s\"\n";
    let mut map = TrapMap::default();
    let p = map.add_str("x.toml", text);
    let got: Vec<(Option<usize>, &str)> = p.iter().map(|p| (p.line, p.key.as_str())).collect();
    assert_eq!(
        got,
        [
            (Some(10), "trap[1].oid"),
            (Some(18), "trap[2].effect"),
            (Some(18), "trap[2].summary"),
            (Some(25), "trap[3].when"),
        ],
        "{p:#?}"
    );
    assert_eq!(map.len(), 1, "only the good entry is kept");
}

#[test]
fn with_files_reads_and_overrides() {
    let dir = std::env::temp_dir().join(format!("kw-traps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("site.toml");
    std::fs::write(
        &path,
        format!("mib = \"SITE\"\n[[trap]]\nname = \"ourOnBattery\"\noid = \"{UPS_ON_BATTERY}\"\neffect = \"raise\"\nalert = \"ups_on_battery\"\nseverity = \"critical\"\nsummary = \"site says\"\n"),
    )
    .unwrap();
    let map = TrapMap::with_files(&[&path]).unwrap();
    let d = decode(&on_battery(b"public-kw", false), &mut creds()).unwrap();
    assert_eq!(map.meaning(&d).name.as_deref(), Some("SITE::ourOnBattery"));
    let missing = TrapMap::with_files(&[dir.join("nope.toml")]).unwrap_err();
    assert_eq!(missing.len(), 1);
    assert!(missing[0].message.starts_with("cannot read"));
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest! {
    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode(&bytes, &mut creds());
    }

    #[test]
    fn decode_survives_mutated_traps(flips in proptest::collection::vec((0usize..200, any::<u8>()), 1..6),
                                     cut in 0usize..200, inform in any::<bool>()) {
        let mut bytes = on_battery(b"public-kw", inform);
        for (at, b) in flips {
            let n = bytes.len();
            bytes[at % n] = b;
        }
        bytes.truncate(cut.max(1));
        if let Ok(d) = decode(&bytes, &mut creds()) {
            let _ = TrapMap::builtin().meaning(&d);
        }
    }
}

/// Binds a listener on 127.0.0.1:0 with `queue` and returns its address and handles.
async fn start(
    queue: usize,
) -> (
    std::net::SocketAddr,
    tokio::sync::mpsc::Receiver<kilowatch_core::event::TrapEvent>,
    Arc<TrapStats>,
    tokio_util::sync::CancellationToken,
) {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(queue);
    let stats = Arc::new(TrapStats::default());
    let cancel = tokio_util::sync::CancellationToken::new();
    let settings = TrapSettings {
        communities: vec![Secret::new("public-kw")],
        users: Vec::new(),
    };
    tokio::spawn(listen(
        socket,
        settings,
        Arc::new(TrapMap::builtin()),
        tx,
        stats.clone(),
        cancel.clone(),
    ));
    (addr, rx, stats, cancel)
}

/// Waits (up to 5 s) until the counters [received, decoded, rejected, malformed, dropped,
/// acked] satisfy `done`.
async fn until(stats: &TrapStats, done: impl Fn([u64; 6]) -> bool) {
    for _ in 0..500 {
        if done(stats.snapshot()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("listener counters stuck at {:?}", stats.snapshot());
}

#[tokio::test]
async fn listener_maps_acks_counts_and_drops_when_full() {
    let (addr, mut rx, stats, cancel) = start(3).await;
    let client = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();

    // An inform is answered with a Response carrying its request id.
    client
        .send_to(&on_battery(b"public-kw", true), addr)
        .await
        .unwrap();
    let mut buf = vec![0u8; 2048];
    let (n, from) = tokio::time::timeout(Duration::from_secs(2), client.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(from, addr);
    assert_eq!(Pdu::from_bytes(&buf[..n]).unwrap().req_id, 4242);
    let e = rx.recv().await.unwrap();
    assert_eq!(e.source, IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert!(e.inform);
    assert_eq!(e.version, "v2c");
    assert!(matches!(e.effect, TrapEffect::Raise { ref alert, .. } if alert == "ups_on_battery"));

    // A wrong community and garbage are counted, not queued.
    client
        .send_to(&on_battery(b"guess", false), addr)
        .await
        .unwrap();
    client.send_to(b"\x30\x03\x02\x01", addr).await.unwrap();
    until(&stats, |s| s[2] + s[3] == 2).await;

    // Queue of 3 and nobody reading: 10 traps, 3 queued, 7 dropped.
    for _ in 0..10 {
        client
            .send_to(&on_battery(b"public-kw", false), addr)
            .await
            .unwrap();
    }
    until(&stats, |s| s[1] + s[2] + s[3] == 13 && s[4] + 3 >= 10).await;
    let [received, decoded, rejected, malformed, dropped, acked] = stats.snapshot();
    assert_eq!(
        (received, decoded, rejected, malformed, dropped, acked),
        (13, 11, 1, 1, 7, 1)
    );
    let mut queued = 0;
    while rx.try_recv().is_ok() {
        queued += 1;
    }
    assert_eq!(queued, 3);
    cancel.cancel();
}
