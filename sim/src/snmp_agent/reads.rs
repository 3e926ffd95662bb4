//! The three reads against the MIB: GET, GETNEXT and GETBULK, each turned into a reply PDU.
//! GETNEXT is strictly greater than the name asked; a v1 reply carries no v2-only value; a
//! GETBULK reply stops before it would outgrow the datagram budget.

use std::ops::Bound;

use rasn::types::{Integer, ObjectIdentifier, OctetString};
// v2's Counter32, Unsigned32 and TimeTicks are aliases of these v1 types, which can be built.
use rasn_smi::v1::{Counter, Gauge, TimeTicks};
use rasn_smi::v2::{ApplicationSyntax, Counter64, SimpleSyntax};
use rasn_snmp::v2::{BulkPdu, ObjectSyntax, Pdu, VarBind, VarBindValue};

use super::{BULK_BUDGET, LENGTH_SLACK, Mib, NO_SUCH_NAME, Value, Version, error_reply, ok_reply};

pub(super) fn get(version: Version, pdu: &Pdu, mib: &Mib) -> Pdu {
    let found = pdu.variable_bindings.iter().map(|vb| {
        let value = mib.get(&vb.name[..]).and_then(|v| syntax(v, version));
        (vb.name.clone(), value)
    });
    match version {
        Version::V2c => {
            let bindings = found
                .map(|(name, value)| {
                    let value = value.map_or_else(|| missing(&name, mib), VarBindValue::Value);
                    VarBind { name, value }
                })
                .collect();
            ok_reply(pdu.request_id, bindings)
        }
        Version::V1 => v1_reply(pdu.request_id, found, &pdu.variable_bindings),
    }
}

pub(super) fn get_next(version: Version, pdu: &Pdu, mib: &Mib) -> Pdu {
    match version {
        Version::V2c => {
            let bindings = pdu
                .variable_bindings
                .iter()
                .map(|vb| next_v2(&vb.name, mib))
                .collect();
            ok_reply(pdu.request_id, bindings)
        }
        Version::V1 => {
            let found = pdu.variable_bindings.iter().map(|vb| {
                next_entry(&vb.name, mib, version)
                    .map_or((vb.name.clone(), None), |(name, value)| (name, Some(value)))
            });
            v1_reply(pdu.request_id, found, &pdu.variable_bindings)
        }
    }
}

/// v1 has no per-varbind exceptions: the first miss fails the whole request with
/// `noSuchName` and its 1-based index.
fn v1_reply(
    request_id: i32,
    found: impl Iterator<Item = (ObjectIdentifier, Option<ObjectSyntax>)>,
    asked: &[VarBind],
) -> Pdu {
    let mut bindings = Vec::with_capacity(asked.len());
    for (index, (name, value)) in found.enumerate() {
        let Some(value) = value else {
            return error_reply(request_id, NO_SUCH_NAME, index + 1, asked.to_vec());
        };
        bindings.push(VarBind {
            name,
            value: VarBindValue::Value(value),
        });
    }
    ok_reply(request_id, bindings)
}

/// RFC 3416 §4.2.3: the first `non_repeaters` varbinds get one GETNEXT each, the rest
/// `max_repetitions` rows of GETNEXTs, each row continuing from the one before. Whole rows are
/// added while the reply stays within [`BULK_BUDGET`], and the walk stops after a row that is
/// endOfMibView throughout, since every later row would repeat it.
pub(super) fn get_bulk(bulk: &BulkPdu, mib: &Mib, overhead: usize) -> Pdu {
    let asked = &bulk.variable_bindings;
    let split = usize::try_from(bulk.non_repeaters).map_or(asked.len(), |n| n.min(asked.len()));
    let (single, repeated) = asked.split_at(split);
    let mut bindings: Vec<VarBind> = single.iter().map(|vb| next_v2(&vb.name, mib)).collect();
    let mut size = bindings
        .iter()
        .map(encoded_len)
        .fold(overhead + LENGTH_SLACK, usize::saturating_add);
    let mut cursor: Vec<ObjectIdentifier> = repeated.iter().map(|vb| vb.name.clone()).collect();
    let mut rows = 0;
    while rows < bulk.max_repetitions && !cursor.is_empty() {
        let row: Vec<VarBind> = cursor.iter().map(|name| next_v2(name, mib)).collect();
        let row_size = row.iter().map(encoded_len).fold(0, usize::saturating_add);
        // The first row goes in even past the budget, so a walk always progresses; a reply
        // too big for a datagram becomes tooBig later.
        if rows > 0 && size.saturating_add(row_size) > BULK_BUDGET {
            break;
        }
        let ended = row.iter().all(|vb| vb.value == VarBindValue::EndOfMibView);
        cursor = row.iter().map(|vb| vb.name.clone()).collect();
        bindings.extend(row);
        size = size.saturating_add(row_size);
        rows += 1;
        if ended {
            break;
        }
    }
    ok_reply(bulk.request_id, bindings)
}

pub(super) fn encoded_len<T: rasn::Encode>(value: &T) -> usize {
    // An unencodable part makes the whole reply unencodable; counting it as the whole budget
    // just stops the walk early, and `encode` then drops the reply.
    rasn::ber::encode(value).map_or(BULK_BUDGET, |bytes| bytes.len())
}

/// One v2c GETNEXT step: the next entry, or endOfMibView named after the asked OID.
fn next_v2(name: &ObjectIdentifier, mib: &Mib) -> VarBind {
    match next_entry(name, mib, Version::V2c) {
        Some((name, value)) => VarBind {
            name,
            value: VarBindValue::Value(value),
        },
        None => VarBind {
            name: name.clone(),
            value: VarBindValue::EndOfMibView,
        },
    }
}

/// The first entry strictly after `name` that this version can carry.
fn next_entry(
    name: &[u32],
    mib: &Mib,
    version: Version,
) -> Option<(ObjectIdentifier, ObjectSyntax)> {
    mib.range::<[u32], _>((Bound::Excluded(name), Bound::Unbounded))
        .find_map(|(oid, value)| Some((object_id(oid)?, syntax(value, version)?)))
}

/// v2c's exception for a missing OID, as net-snmp picks it: noSuchInstance when the object
/// (the OID's parent) exists but not this instance, noSuchObject otherwise, including when
/// the OID names a subtree rather than an instance.
fn missing(name: &[u32], mib: &Mib) -> VarBindValue {
    let is_subtree = has_entry_under(name, mib);
    let parent = name.split_last().map_or(name, |(_, parent)| parent);
    if !is_subtree && !parent.is_empty() && has_entry_under(parent, mib) {
        VarBindValue::NoSuchInstance
    } else {
        VarBindValue::NoSuchObject
    }
}

fn has_entry_under(prefix: &[u32], mib: &Mib) -> bool {
    mib.range::<[u32], _>((Bound::Excluded(prefix), Bound::Unbounded))
        .next()
        .is_some_and(|(oid, _)| oid.starts_with(prefix))
}

/// Converts a value for the wire, or `None` if this version cannot carry it.
fn syntax(value: &Value, version: Version) -> Option<ObjectSyntax> {
    let syntax = match value {
        Value::Integer(v) => SimpleSyntax::Integer(Integer::from(*v)).into(),
        Value::OctetString(v) => SimpleSyntax::String(OctetString::from(v.clone())).into(),
        Value::ObjectId(v) => SimpleSyntax::ObjectId(object_id(v)?).into(),
        Value::Gauge32(v) => ApplicationSyntax::Unsigned(Gauge(*v)).into(),
        Value::Counter32(v) => ApplicationSyntax::Counter(Counter(*v)).into(),
        Value::TimeTicks(v) => ApplicationSyntax::Ticks(TimeTicks(*v)).into(),
        Value::Counter64(_) if version == Version::V1 => return None,
        Value::Counter64(v) => ApplicationSyntax::BigCounter(Counter64(*v)).into(),
    };
    Some(syntax)
}

/// An OID that BER can encode. rasn accepts a single arc, which its encoder then rejects, and
/// it computes `40 * first + second` in `u32` without a check, which overflows for `2.x` with
/// x near `u32::MAX`, so both are refused here.
fn object_id(arcs: &[u32]) -> Option<ObjectIdentifier> {
    match arcs {
        [2, second, ..] if *second > u32::MAX - 80 => None,
        [_, _, ..] => ObjectIdentifier::new(arcs.to_vec()),
        _ => None,
    }
}
