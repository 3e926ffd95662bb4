//! Tests that drive `serve` with net-snmp's command-line tools as an independent client (they
//! need package `snmp`, which scripts/test installs).

use std::process::Command;
use std::time::Instant;

use super::*;

struct Agent {
    address: SocketAddr,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Agent {
    async fn start(delay: Duration) -> Agent {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let address = socket.local_addr().unwrap();
        let cancel = CancellationToken::new();
        let task = tokio::spawn(serve(
            socket,
            COMMUNITY.to_vec(),
            served_mib,
            delay,
            cancel.clone(),
        ));
        Agent {
            address,
            cancel,
            task,
        }
    }

    async fn stop(self) {
        self.cancel.cancel();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .unwrap()
            .unwrap();
    }

    /// Runs a net-snmp tool against the agent. Only stdout is compared exactly: net-snmp
    /// may add notes on stderr, such as creating its persistent directory on first use.
    async fn run(&self, tool: &str, options: &[&str], oids: &[&str]) -> Output {
        let path = format!("/usr/bin/{tool}");
        assert!(
            std::path::Path::new(&path).exists(),
            "{path} is missing (package snmp): run scripts/test"
        );
        let mut command = Command::new(path);
        // Numeric OIDs, no MIB files and no user config, so output is the same anywhere.
        command
            .args(["-On", "-m", "", "-t", "1", "-r", "0"])
            .args(options)
            .arg(self.address.to_string())
            .args(oids)
            .env("SNMPCONFPATH", "/nonexistent")
            .env_remove("MIBS");
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .unwrap()
            .unwrap();
        Output {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

#[derive(Debug)]
struct Output {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Rows in the long column, enough that a walk needs several capped GETBULKs.
const LONG_ROWS: u32 = 200;

/// The sample MIB plus a long column under `.15`, between the table and the last scalar.
fn served_mib() -> Mib {
    let mut mib = sample_mib();
    for row in 1..=LONG_ROWS {
        mib.insert(oid(&[15, 1, 2, row]), Value::Gauge32(row * 2));
    }
    mib
}

fn long_column_lines() -> String {
    (1..=LONG_ROWS)
        .map(|row| format!("{} = Gauge32: {}\n", dotted(&[15, 1, 2, row]), row * 2))
        .collect()
}

const V1: &[&str] = &["-v1", "-c", "public"];
const V2C: &[&str] = &["-v2c", "-c", "public"];

fn dotted(tail: &[u32]) -> String {
    oid(tail).iter().map(|a| format!(".{a}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmpget_v2c_prints_values_and_no_such_object() {
    let agent = Agent::start(Duration::ZERO).await;
    let oids = [[1, 0], [2, 0], [3, 0], [9, 0]].map(|t| dotted(&t));
    let oids: Vec<&str> = oids.iter().map(String::as_str).collect();
    let out = agent.run("snmpget", V2C, &oids).await;
    assert!(out.ok, "{out:?}");
    let want = format!(
        "{} = INTEGER: 230\n{} = Counter64: 12345678901234\n{} = STRING: \"PDU-A\"\n\
         {} = No Such Object available on this agent at this OID\n",
        oids[0], oids[1], oids[2], oids[3]
    );
    assert_eq!(out.stdout, want);
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmpget_v1_reads_gauge_and_refuses_counter64() {
    let agent = Agent::start(Duration::ZERO).await;
    let gauge = dotted(&[10, 1, 2, 3]);
    let out = agent.run("snmpget", V1, &[&gauge]).await;
    assert!(out.ok, "{out:?}");
    assert_eq!(out.stdout, format!("{gauge} = Gauge32: 63\n"));
    let counter64 = dotted(&[2, 0]);
    let out = agent.run("snmpget", V1, &[&gauge, &counter64]).await;
    let want = format!(
        "Error in packet\nReason: (noSuchName) There is no such variable name in this MIB.\n\
         Failed object: {counter64}\n"
    );
    assert!(out.stderr.contains(&want), "{out:?}");
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmpgetnext_v1_and_v2c() {
    let agent = Agent::start(Duration::ZERO).await;
    let from = dotted(&[10, 1, 2, 5]);
    for version in [V1, V2C] {
        let out = agent.run("snmpgetnext", version, &[&from]).await;
        assert!(out.ok, "{out:?}");
        let want = format!("{} = Counter32: 1000\n", dotted(&[10, 1, 3, 1]));
        assert_eq!(out.stdout, want);
    }
    let last = dotted(&[20, 0]);
    let out = agent.run("snmpgetnext", V2C, &[&last]).await;
    let want = format!(
        "{last} = No more variables left in this MIB View \
         (It is past the end of the MIB tree)\n"
    );
    assert_eq!(out.stdout, want);
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmpbulkwalk_returns_the_table_column_in_order() {
    let agent = Agent::start(Duration::ZERO).await;
    let column = dotted(&[10, 1, 2]);
    let options = ["-v2c", "-c", "public", "-Cr2"];
    let out = agent.run("snmpbulkwalk", &options, &[&column]).await;
    assert!(out.ok, "{out:?}");
    let want: String = (1..=5)
        .map(|row| format!("{} = Gauge32: {}\n", dotted(&[10, 1, 2, row]), 60 + row))
        .collect();
    assert_eq!(out.stdout, want);
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walks_of_a_long_column_return_every_row_once_in_order() {
    let agent = Agent::start(Duration::ZERO).await;
    let column = dotted(&[15, 1, 2]);
    // -Cr100 asks for more than fits in BULK_BUDGET, so replies are capped.
    let bulk = ["-v2c", "-c", "public", "-Cr100"];
    for (tool, options) in [("snmpbulkwalk", &bulk[..]), ("snmpwalk", V1)] {
        let out = agent.run(tool, options, &[&column]).await;
        assert!(out.ok, "{tool}: {out:?}");
        assert_eq!(out.stdout, long_column_lines(), "{tool}");
    }
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmpset_is_refused() {
    let agent = Agent::start(Duration::ZERO).await;
    let target = dotted(&[1, 0]);
    let set = [target.as_str(), "i", "5"];
    let out = agent.run("snmpset", V2C, &set).await;
    let want = format!("Error in packet.\nReason: noAccess\nFailed object: {target}\n");
    assert!(!out.ok && out.stderr.contains(&want), "{out:?}");
    let out = agent.run("snmpset", V1, &set).await;
    assert!(
        !out.ok && out.stderr.contains("Reason: (readOnly)"),
        "{out:?}"
    );
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_community_times_out() {
    let agent = Agent::start(Duration::ZERO).await;
    let options = ["-v2c", "-c", "private"];
    let out = agent.run("snmpget", &options, &[&dotted(&[1, 0])]).await;
    let want = format!("Timeout: No Response from {}", agent.address);
    assert!(!out.ok && out.stderr.contains(&want), "{out:?}");
    assert_eq!(out.stdout, "");
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_answers_do_not_queue_behind_each_other() {
    let delay = Duration::from_millis(600);
    let agent = Agent::start(delay).await;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let started = Instant::now();
    for _ in 0..3 {
        let request = get_request(1, &[oid(&[1, 0])]);
        client.send_to(&request, agent.address).await.unwrap();
    }
    let mut buffer = [0u8; 1500];
    for _ in 0..3 {
        let (len, _) = tokio::time::timeout(Duration::from_secs(5), client.recv_from(&mut buffer))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reply_pdu(&buffer[..len], 1).request_id, 77);
    }
    let elapsed = started.elapsed();
    // Serial answers would take three delays.
    assert!(elapsed >= delay && elapsed < delay * 2, "{elapsed:?}");
    agent.stop().await;
}
