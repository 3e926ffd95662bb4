//! Tests of the agent through its encoded replies: helpers to build requests and read replies,
//! then the reads ([`reads`]), what a hostile or careless client sends ([`hostile`]), and
//! net-snmp's own tools as the client ([`net_snmp`]).

// Tests may unwrap: a failure there is a test failure, not a crash on network data.
#![allow(clippy::unwrap_used)]

mod hostile;
mod net_snmp;
mod reads;

use super::*;

use rasn::types::ObjectIdentifier;
// v2's Counter32, Unsigned32 and TimeTicks are aliases of these v1 types, which can be built.
use rasn_smi::v1::{Counter, Gauge, TimeTicks};
use rasn_smi::v2::Counter64;
use rasn_snmp::v2::{BulkPdu, ObjectSyntax, VarBindValue};

const COMMUNITY: &[u8] = b"public";
const ENT: [u32; 7] = [1, 3, 6, 1, 4, 1, 99999];

fn oid(tail: &[u32]) -> Vec<u32> {
    ENT.iter().chain(tail).copied().collect()
}

fn rasn_oid(arcs: &[u32]) -> ObjectIdentifier {
    ObjectIdentifier::new(arcs.to_vec()).unwrap()
}

/// Three scalars, a 5-row table with two columns, then one trailing scalar.
fn sample_mib() -> Mib {
    let mut mib = Mib::new();
    mib.insert(oid(&[1, 0]), Value::Integer(230));
    mib.insert(oid(&[2, 0]), Value::Counter64(12_345_678_901_234));
    mib.insert(oid(&[3, 0]), Value::OctetString(b"PDU-A".to_vec()));
    for row in 1..=5 {
        mib.insert(oid(&[10, 1, 2, row]), Value::Gauge32(60 + row));
        mib.insert(oid(&[10, 1, 3, row]), Value::Counter32(1000 * row));
    }
    mib.insert(oid(&[20, 0]), Value::TimeTicks(4242));
    mib
}

fn null_binds(oids: &[Vec<u32>]) -> Vec<VarBind> {
    oids.iter()
        .map(|o| VarBind {
            name: rasn_oid(o),
            value: VarBindValue::Unspecified,
        })
        .collect()
}

fn request_pdu(request_id: i32, oids: &[Vec<u32>]) -> Pdu {
    Pdu {
        request_id,
        error_status: 0,
        error_index: 0,
        variable_bindings: null_binds(oids),
    }
}

fn encode_request(version: i32, community: &[u8], pdus: Pdus) -> Vec<u8> {
    let message = Message {
        version: Integer::from(version),
        community: OctetString::from(community.to_vec()),
        data: pdus,
    };
    rasn::ber::encode(&message).unwrap()
}

fn get_request(version: i32, oids: &[Vec<u32>]) -> Vec<u8> {
    encode_request(
        version,
        COMMUNITY,
        Pdus::GetRequest(GetRequest(request_pdu(77, oids))),
    )
}

fn next_request(version: i32, oids: &[Vec<u32>]) -> Vec<u8> {
    encode_request(
        version,
        COMMUNITY,
        Pdus::GetNextRequest(GetNextRequest(request_pdu(78, oids))),
    )
}

fn bulk_request(non_repeaters: u32, max_repetitions: u32, oids: &[Vec<u32>]) -> Vec<u8> {
    let bulk = BulkPdu {
        request_id: 79,
        non_repeaters,
        max_repetitions,
        variable_bindings: null_binds(oids),
    };
    encode_request(1, COMMUNITY, Pdus::GetBulkRequest(GetBulkRequest(bulk)))
}

/// Decodes a reply, checking it is a Response for our community, and returns its PDU.
fn reply_pdu(reply: &[u8], version: i32) -> Pdu {
    let message: Message<Pdus> = rasn::ber::decode(reply).unwrap();
    assert_eq!(message.version, Integer::from(version));
    assert_eq!(message.community.as_ref(), COMMUNITY);
    match message.data {
        Pdus::Response(Response(pdu)) => pdu,
        other => panic!("not a response: {other:?}"),
    }
}

fn ask(request: &[u8], version: i32) -> Pdu {
    reply_pdu(&answer(request, COMMUNITY, &sample_mib()).unwrap(), version)
}

fn names(pdu: &Pdu) -> Vec<Vec<u32>> {
    pdu.variable_bindings
        .iter()
        .map(|vb| vb.name.to_vec())
        .collect()
}

fn values(pdu: Pdu) -> Vec<VarBindValue> {
    pdu.variable_bindings
        .into_iter()
        .map(|vb| vb.value)
        .collect()
}

fn value(v: impl Into<ObjectSyntax>) -> VarBindValue {
    VarBindValue::Value(v.into())
}
