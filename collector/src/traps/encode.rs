//! Notifications as bytes (BER, RFC 1157 and RFC 3416): for tests, the storm benchmark and a
//! simulator that sends traps. The decoder never depends on it; the tests check the two against
//! each other and against net-snmp.

/// A varbind value, in the SNMP types a notification carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Int(i64),
    Str(Vec<u8>),
    Oid(String),
    Ticks(u32),
    Gauge(u32),
    Ip([u8; 4]),
}

/// An SNMPv2c SNMPv2-Trap-PDU (or InformRequest-PDU) with sysUpTime.0 and snmpTrapOID.0 first.
pub fn v2c(
    community: &[u8],
    request_id: i32,
    inform: bool,
    uptime: u32,
    trap_oid: &str,
    varbinds: &[(&str, Val)],
) -> Vec<u8> {
    let mut all = vec![
        ("1.3.6.1.2.1.1.3.0", Val::Ticks(uptime)),
        ("1.3.6.1.6.3.1.1.4.1.0", Val::Oid(trap_oid.to_string())),
    ];
    all.extend(varbinds.iter().cloned());
    let pdu = [
        integer(i64::from(request_id)),
        integer(0),
        integer(0),
        varbind_list(&all),
    ]
    .concat();
    let tag = if inform { 0xa6 } else { 0xa7 };
    tlv(
        0x30,
        &[integer(1), tlv(0x04, community), tlv(tag, &pdu)].concat(),
    )
}

/// An SNMPv1 Trap-PDU.
pub fn v1(
    community: &[u8],
    enterprise: &str,
    agent_addr: [u8; 4],
    generic: i64,
    specific: i64,
    uptime: u32,
    varbinds: &[(&str, Val)],
) -> Vec<u8> {
    let pdu = [
        oid(enterprise),
        tlv(0x40, &agent_addr),
        integer(generic),
        integer(specific),
        unsigned(0x43, uptime),
        varbind_list(varbinds),
    ]
    .concat();
    tlv(
        0x30,
        &[integer(0), tlv(0x04, community), tlv(0xa4, &pdu)].concat(),
    )
}

fn varbind_list(varbinds: &[(&str, Val)]) -> Vec<u8> {
    let body: Vec<u8> = varbinds
        .iter()
        .flat_map(|(o, v)| tlv(0x30, &[oid(o), value(v)].concat()))
        .collect();
    tlv(0x30, &body)
}

fn value(v: &Val) -> Vec<u8> {
    match v {
        Val::Int(n) => integer(*n),
        Val::Str(s) => tlv(0x04, s),
        Val::Oid(o) => oid(o),
        Val::Ticks(t) => unsigned(0x43, *t),
        Val::Gauge(g) => unsigned(0x42, *g),
        Val::Ip(a) => tlv(0x40, a),
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn integer(n: i64) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let mut start = 0;
    while start < 7
        && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
            || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    tlv(0x02, &bytes[start..])
}

fn unsigned(tag: u8, n: u32) -> Vec<u8> {
    let mut content: Vec<u8> = n
        .to_be_bytes()
        .into_iter()
        .skip_while(|&b| b == 0)
        .collect();
    if content.first().is_none_or(|b| b & 0x80 != 0) {
        content.insert(0, 0);
    }
    tlv(tag, &content)
}

/// A dotted OID; arcs that do not parse are encoded as 0 (the caller's OIDs are literals).
fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u32> = dotted
        .trim_start_matches('.')
        .split('.')
        .map(|a| a.parse().unwrap_or(0))
        .collect();
    let mut out = Vec::new();
    let (a, b) = (
        arcs.first().copied().unwrap_or(0),
        arcs.get(1).copied().unwrap_or(0),
    );
    base128(&mut out, a * 40 + b);
    for &arc in arcs.iter().skip(2) {
        base128(&mut out, arc);
    }
    tlv(0x06, &out)
}

fn base128(out: &mut Vec<u8>, mut n: u32) {
    let mut tmp = vec![(n & 0x7f) as u8];
    n >>= 7;
    while n > 0 {
        tmp.push(0x80 | (n & 0x7f) as u8);
        n >>= 7;
    }
    tmp.reverse();
    out.extend(tmp);
}
