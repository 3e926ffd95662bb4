//! Issue 3 acceptance: devices that answer with garbage — random bytes, truncated PDUs, wrong
//! request or transaction ids, endless tables, frames cut short, silence — give a per-device
//! error within the timeout and never a panic.

use std::time::{Duration, Instant};

use kilowatch_collector::decode::Readings;
use kilowatch_collector::plan::Plan;
use kilowatch_collector::{Driver, DriverError};
use kilowatch_core::address::Address;
use kilowatch_core::config::Device;
use kilowatch_core::profile::ProfileSet;
use kilowatch_core::secret::Secret;
use rasn_snmp::v2::{ObjectSyntax, Pdu, Pdus, Response, VarBind, VarBindValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

const TIMEOUT: Duration = Duration::from_millis(500);

fn plan(profile: &str, address: &Address) -> Plan {
    let (set, _) = ProfileSet::load(&[]);
    let device = Device::new("hostile", "t", profile, address.clone());
    Plan::compile(&device, set.get(profile).unwrap())
}

/// Serves UDP forever, answering each datagram with `reply(request)` (None = stay silent).
async fn fake_agent(reply: impl Fn(&[u8]) -> Option<Vec<u8>> + Send + 'static) -> Address {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            if let Some(r) = reply(&buf[..n]) {
                let _ = socket.send_to(&r, from).await;
            }
        }
    });
    Address::parse(&format!("snmp://{addr}")).unwrap().0
}

async fn read_snmp(address: &Address, profile: &str) -> (Result<Readings, DriverError>, Duration) {
    let plan = plan(profile, address);
    let mut driver = Driver::snmp_v2c(address, Secret::new("public"), TIMEOUT);
    let t = Instant::now();
    let r = driver.read(&plan.kind).await;
    (r, t.elapsed())
}

/// A well-formed v2c response to `request` carrying `binds`, with the request's id plus `id_shift`.
fn respond(request: &[u8], binds: Vec<VarBind>, id_shift: i32) -> Option<Vec<u8>> {
    let msg: rasn_snmp::v2c::Message<Pdus> = rasn::ber::decode(request).ok()?;
    let id = match &msg.data {
        Pdus::GetRequest(r) => r.0.request_id,
        Pdus::GetNextRequest(r) => r.0.request_id,
        Pdus::GetBulkRequest(r) => r.0.request_id,
        _ => return None,
    };
    let pdu = Pdu {
        request_id: id.wrapping_add(id_shift),
        error_status: 0,
        error_index: 0,
        variable_bindings: binds,
    };
    let reply = rasn_snmp::v2c::Message {
        version: msg.version,
        community: msg.community,
        data: Pdus::Response(Response(pdu)),
    };
    rasn::ber::encode(&reply).ok()
}

fn int_bind(oid: &[u32], v: i32) -> VarBind {
    VarBind {
        name: rasn::types::ObjectIdentifier::new(oid.to_vec()).unwrap(),
        value: VarBindValue::Value(ObjectSyntax::Simple(rasn_smi::v2::SimpleSyntax::Integer(
            v.into(),
        ))),
    }
}

#[tokio::test]
async fn snmp_random_bytes_are_a_protocol_error() {
    let addr = fake_agent(|_| Some((0..200).map(|_| fastrand::u8(..)).collect())).await;
    let (r, took) = read_snmp(&addr, "apc-rpdu2").await;
    assert!(matches!(r, Err(DriverError::Protocol(_))), "{r:?}");
    assert!(took < TIMEOUT * 2);
}

#[tokio::test]
async fn snmp_truncated_response_is_a_protocol_error() {
    let addr = fake_agent(|req| {
        respond(
            req,
            vec![int_bind(
                &[1, 3, 6, 1, 4, 1, 318, 1, 1, 26, 4, 3, 1, 5, 1],
                114,
            )],
            0,
        )
        .map(|mut r| {
            r.truncate(r.len() - 7);
            r
        })
    })
    .await;
    let (r, _) = read_snmp(&addr, "apc-rpdu2").await;
    assert!(matches!(r, Err(DriverError::Protocol(_))), "{r:?}");
}

#[tokio::test]
async fn snmp_wrong_request_id_is_an_error_not_a_wrong_value() {
    let addr = fake_agent(|req| {
        respond(
            req,
            vec![int_bind(
                &[1, 3, 6, 1, 4, 1, 318, 1, 1, 26, 4, 3, 1, 5, 1],
                114,
            )],
            7,
        )
    })
    .await;
    let (r, took) = read_snmp(&addr, "apc-rpdu2").await;
    assert!(r.is_err(), "{r:?}");
    assert!(took < TIMEOUT * 2);
}

#[tokio::test]
async fn snmp_getbulk_returning_the_same_oid_forever_is_stopped() {
    // Every answer is the first row of upsOutputPower: a naive walk would never end.
    let row = [1, 3, 6, 1, 2, 1, 33, 1, 4, 4, 1, 4, 1];
    let addr = fake_agent(move |req| {
        let msg: rasn_snmp::v2c::Message<Pdus> = rasn::ber::decode(req).ok()?;
        match msg.data {
            // Scalars answer normally, so the poll reaches the table walks.
            Pdus::GetRequest(g) => {
                let binds =
                    g.0.variable_bindings
                        .iter()
                        .map(|b| VarBind {
                            name: b.name.clone(),
                            value: int_bind(&row, 1).value,
                        })
                        .collect();
                respond(req, binds, 0)
            }
            _ => respond(req, vec![int_bind(&row, 100)], 0),
        }
    })
    .await;
    let (r, took) = read_snmp(&addr, "rfc1628-ups").await;
    match r {
        Err(DriverError::Protocol(m)) => assert!(m.to_string().contains("non-increasing"), "{m}"),
        other => panic!("expected a protocol error, got {other:?}"),
    }
    assert!(took < TIMEOUT * 4);
}

#[tokio::test]
async fn snmp_silence_is_a_timeout_within_the_timeout() {
    let addr = fake_agent(|_| None).await;
    let (r, took) = read_snmp(&addr, "apc-rpdu2").await;
    assert!(matches!(r, Err(DriverError::Timeout(_))), "{r:?}");
    assert!(took >= TIMEOUT && took < TIMEOUT * 2, "{took:?}");
}

/// A Modbus TCP peer that answers each request with `reply(request bytes)`.
async fn fake_modbus(reply: impl Fn(&[u8]) -> Vec<u8> + Send + Sync + Clone + 'static) -> Address {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 260];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    let out = reply(&buf[..n]);
                    if !out.is_empty() && s.write_all(&out).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Address::parse(&format!("modbus://{addr}/1")).unwrap().0
}

async fn read_modbus(address: &Address) -> (Result<Readings, DriverError>, Duration) {
    let plan = plan("eastron-sdm630", address);
    let mut driver = Driver::new(address, None, TIMEOUT);
    let t = Instant::now();
    let r = driver.read(&plan.kind).await;
    (r, t.elapsed())
}

/// A correct-looking response frame for a read request, with `count` zero registers.
fn modbus_reply(req: &[u8], tid_shift: u16, byte_count_shift: i16) -> Vec<u8> {
    if req.len() < 12 {
        return Vec::new();
    }
    let tid = u16::from_be_bytes([req[0], req[1]]).wrapping_add(tid_shift);
    let count = u16::from_be_bytes([req[10], req[11]]);
    let bytes = (count * 2) as i16 + byte_count_shift;
    let mut f = tid.to_be_bytes().to_vec();
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&(3 + count * 2).to_be_bytes());
    f.extend_from_slice(&[req[6], req[7], bytes as u8]);
    f.extend(std::iter::repeat_n(0u8, usize::from(count) * 2));
    f
}

#[tokio::test]
async fn modbus_wrong_transaction_id_is_an_error() {
    let addr = fake_modbus(|req| modbus_reply(req, 1, 0)).await;
    let (r, took) = read_modbus(&addr).await;
    assert!(r.is_err(), "{r:?}");
    assert!(took < TIMEOUT * 2);
}

#[tokio::test]
async fn modbus_wrong_byte_count_is_an_error() {
    let addr = fake_modbus(|req| modbus_reply(req, 0, -2)).await;
    let (r, took) = read_modbus(&addr).await;
    assert!(r.is_err(), "{r:?}");
    assert!(took <= TIMEOUT * 2);
}

#[tokio::test]
async fn modbus_partial_frame_then_silence_times_out() {
    let addr = fake_modbus(|req| modbus_reply(req, 0, 0).into_iter().take(5).collect()).await;
    let (r, took) = read_modbus(&addr).await;
    assert!(matches!(r, Err(DriverError::Timeout(_))), "{r:?}");
    assert!(took < TIMEOUT * 2, "{took:?}");
}

#[tokio::test]
async fn modbus_random_bytes_are_an_error() {
    let addr = fake_modbus(|_| (0..40).map(|_| fastrand::u8(..)).collect()).await;
    let (r, took) = read_modbus(&addr).await;
    assert!(r.is_err(), "{r:?}");
    assert!(took <= TIMEOUT * 2);
}

/// Answers every GET with each asked OID bound to `value`.
fn answer_all(req: &[u8], value: impl Fn() -> ObjectSyntax) -> Option<Vec<u8>> {
    let msg: rasn_snmp::v2c::Message<Pdus> = rasn::ber::decode(req).ok()?;
    let Pdus::GetRequest(g) = msg.data else {
        return respond(req, vec![], 0);
    };
    let binds =
        g.0.variable_bindings
            .iter()
            .map(|b| VarBind {
                name: b.name.clone(),
                value: VarBindValue::Value(value()),
            })
            .collect();
    respond(req, binds, 0)
}

fn text(len: usize) -> ObjectSyntax {
    ObjectSyntax::Simple(rasn_smi::v2::SimpleSyntax::String(vec![b'x'; len].into()))
}

/// Issue 10: values of the wrong type (text where a number belongs) and oversized answers (a
/// 2 KiB string for each of 20 values, a 40 KiB datagram) are problems named per value, not
/// samples and not a panic; the poll still ends within the timeout.
#[tokio::test]
async fn snmp_wrong_types_and_oversized_values_are_problems_per_value() {
    for len in [3, 2048] {
        let addr = fake_agent(move |req| answer_all(req, || text(len))).await;
        let plan = plan("kilowatch-sim-bench", &addr);
        let mut driver = Driver::snmp_v2c(&addr, Secret::new("public"), TIMEOUT);
        let t = Instant::now();
        let readings = driver.read(&plan.kind).await.unwrap();
        assert!(t.elapsed() < TIMEOUT * 2);
        let mut rows = kilowatch_collector::decode::RowSeries::default();
        let (mut out, mut problems) = (Vec::new(), Vec::new());
        kilowatch_collector::decode::decode(&plan, &readings, &mut rows, &mut out, &mut problems);
        assert!(out.is_empty(), "text is no reading: {out:?}");
        assert_eq!(problems.len(), 20, "{problems:?}");
        assert!(
            problems.iter().all(|p| p.len() < 400),
            "problems stay short: {problems:?}"
        );
    }
}

fn int(v: i32) -> ObjectSyntax {
    ObjectSyntax::Simple(rasn_smi::v2::SimpleSyntax::Integer(v.into()))
}

/// Issue 10: a device that answers for a while, then not, flaps up and down, each down poll a
/// per-device error; a healthy device beside it keeps its period and never goes down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flapping_device_does_not_disturb_its_neighbour() {
    // Answers for 300 ms, then is silent for 300 ms, and so on.
    let born = Instant::now();
    let flapping = fake_agent(move |req| {
        if (born.elapsed().as_millis() / 300).is_multiple_of(2) {
            answer_all(req, || int(42))
        } else {
            None
        }
    })
    .await;
    let healthy = fake_agent(|req| answer_all(req, || int(7))).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("community");
    kilowatch_core::secret::write_private(&secret, "public").unwrap();
    let device = |id: &str, a: &Address| {
        format!(
            "\n[[devices]]\nid = \"{id}\"\nsite = \"t\"\nprofile = \"kilowatch-sim-bench\"\naddress = \"snmp://{}\"\nauth = \"p\"\n",
            a.socket()
        )
    };
    let inventory = format!(
        "[collector]\ninterval = \"100ms\"\ntimeout = \"60ms\"\n\n[auths.p]\nversion = \"v2c\"\ncommunity = \"file:{}\"\n\n[[sites]]\nid = \"t\"\n\n[[devices]]\nid = \"meter\"\nsite = \"t\"\nprofile = \"eastron-sdm630\"\naddress = \"modbus://127.0.0.1:1/1\"\nrole = \"facility\"\n\n[[devices]]\nid = \"ups\"\nsite = \"t\"\nprofile = \"eastron-sdm630\"\naddress = \"modbus://127.0.0.1:1/2\"\nrole = \"it\"\ncategory = 1\n{}{}",
        secret.display(),
        device("flapping", &flapping),
        device("healthy", &healthy),
    );
    let config = kilowatch_core::config::Config::from_str(
        &inventory,
        "flap.toml",
        dir.path(),
        std::iter::empty(),
    )
    .unwrap_or_else(|p| panic!("{p:?}"));
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let cancel = tokio_util::sync::CancellationToken::new();
    // Only the two SNMP devices: the meters exist to make the inventory valid.
    let tasks: Vec<_> = kilowatch_collector::schedule::DeviceTask::all(&config)
        .into_iter()
        .filter(|t| !matches!(t.plan.device.as_ref(), "meter" | "ups"))
        .collect();
    let run = tokio::spawn(kilowatch_collector::schedule::run(
        tasks,
        kilowatch_collector::schedule::Schedule {
            max_concurrent_polls: 8,
            clock: kilowatch_core::clock::Clock::System,
            backfill: None,
        },
        tx,
        cancel.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(3)).await;
    cancel.cancel();
    run.await.unwrap();
    let mut polls: std::collections::HashMap<String, Vec<(i64, bool)>> = Default::default();
    while let Ok(b) = rx.try_recv() {
        polls
            .entry(b.device.to_string())
            .or_default()
            .push((b.at, b.poll.is_up()));
    }
    let h = &polls["healthy"];
    assert!(h.len() >= 25 && h.iter().all(|(_, up)| *up), "{h:?}");
    let worst = h.windows(2).map(|w| w[1].0 - w[0].0).max().unwrap();
    assert!(
        worst <= 150,
        "the healthy device kept its 100 ms period: {worst} ms"
    );
    let f = &polls["flapping"];
    let ups = f.iter().filter(|(_, up)| *up).count();
    assert!(ups > 5 && f.len() - ups > 5, "up and down in turn: {f:?}");
}
