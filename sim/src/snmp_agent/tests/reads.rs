//! GET, GETNEXT and GETBULK against a sample MIB, for v1 and v2c.

use super::*;

#[test]
fn v2c_get_returns_every_value_type() {
    let mut mib = Mib::new();
    let all = [
        Value::Integer(-5),
        Value::Gauge32(u32::MAX),
        Value::Counter32(7),
        Value::Counter64(u64::MAX),
        Value::TimeTicks(100),
        Value::OctetString(b"PDU-A".to_vec()),
        Value::ObjectId(vec![1, 3, 6, 1, 4, 1, 318]),
    ];
    for (i, v) in (1..).zip(all) {
        mib.insert(oid(&[i, 0]), v);
    }
    let oids: Vec<_> = (1..=7).map(|i| oid(&[i, 0])).collect();
    let pdu = reply_pdu(&answer(&get_request(1, &oids), COMMUNITY, &mib).unwrap(), 1);
    assert_eq!(pdu.request_id, 77);
    assert_eq!(pdu.error_status, 0);
    assert_eq!(names(&pdu), oids);
    assert_eq!(
        values(pdu),
        vec![
            value(Integer::from(-5)),
            value(Gauge(u32::MAX)),
            value(Counter(7)),
            value(Counter64(u64::MAX)),
            value(TimeTicks(100)),
            value(OctetString::from_static(b"PDU-A")),
            value(rasn_oid(&[1, 3, 6, 1, 4, 1, 318])),
        ]
    );
}

#[test]
fn v2c_get_missing_picks_no_such_object_or_instance() {
    // Unknown object, unknown instance of a known object, a subtree, a known instance.
    let oids = [oid(&[9, 0]), oid(&[1, 7]), oid(&[10, 1]), oid(&[1, 0])];
    assert_eq!(
        values(ask(&get_request(1, &oids), 1)),
        vec![
            VarBindValue::NoSuchObject,
            VarBindValue::NoSuchInstance,
            VarBindValue::NoSuchObject,
            value(Integer::from(230)),
        ]
    );
}

#[test]
fn v1_get_missing_is_no_such_name_with_index() {
    let oids = [oid(&[1, 0]), oid(&[9, 0]), oid(&[3, 0])];
    let pdu = ask(&get_request(0, &oids), 0);
    assert_eq!(pdu.error_status, NO_SUCH_NAME);
    assert_eq!(pdu.error_index, 2);
    // RFC 1157: the error reply echoes the request's varbinds.
    assert_eq!(pdu.variable_bindings, null_binds(&oids));
}

#[test]
fn v1_never_carries_counter64() {
    let pdu = ask(&get_request(0, &[oid(&[2, 0])]), 0);
    assert_eq!((pdu.error_status, pdu.error_index), (NO_SUCH_NAME, 1));
    let pdu = ask(&next_request(0, &[oid(&[1, 0])]), 0);
    assert_eq!(pdu.error_status, 0);
    assert_eq!(names(&pdu), vec![oid(&[3, 0])]);
}

#[test]
fn v1_get_found_has_no_error() {
    let pdu = ask(&get_request(0, &[oid(&[1, 0]), oid(&[3, 0])]), 0);
    assert_eq!((pdu.error_status, pdu.error_index), (0, 0));
    assert_eq!(
        pdu.variable_bindings[1].value,
        value(OctetString::from_static(b"PDU-A"))
    );
}

#[test]
fn get_next_is_strictly_greater_and_ends_with_end_of_mib_view() {
    let from = [
        ENT.to_vec(),
        oid(&[1, 0]),
        oid(&[10, 1, 2, 5]),
        oid(&[20, 0]),
    ];
    let pdu = ask(&next_request(1, &from), 1);
    let want = [
        oid(&[1, 0]),
        oid(&[2, 0]),
        oid(&[10, 1, 3, 1]),
        oid(&[20, 0]),
    ];
    assert_eq!(names(&pdu), want);
    assert_eq!(pdu.variable_bindings[3].value, VarBindValue::EndOfMibView);
}

#[test]
fn v1_get_next_past_the_end_is_no_such_name() {
    let pdu = ask(&next_request(0, &[oid(&[1, 0]), oid(&[20, 0])]), 0);
    assert_eq!((pdu.error_status, pdu.error_index), (NO_SUCH_NAME, 2));
}

#[test]
fn bulk_honours_non_repeaters_and_max_repetitions() {
    let pdu = ask(
        &bulk_request(1, 3, &[oid(&[1, 0]), oid(&[10, 1, 2]), oid(&[10, 1, 3])]),
        1,
    );
    assert_eq!(pdu.request_id, 79);
    assert_eq!(
        names(&pdu),
        vec![
            oid(&[2, 0]),
            oid(&[10, 1, 2, 1]),
            oid(&[10, 1, 3, 1]),
            oid(&[10, 1, 2, 2]),
            oid(&[10, 1, 3, 2]),
            oid(&[10, 1, 2, 3]),
            oid(&[10, 1, 3, 3]),
        ]
    );
}

#[test]
fn bulk_stops_after_a_row_at_end_of_mib_view() {
    let pdu = ask(&bulk_request(0, 50, &[oid(&[10, 1, 3, 4])]), 1);
    assert_eq!(
        names(&pdu),
        vec![oid(&[10, 1, 3, 5]), oid(&[20, 0]), oid(&[20, 0])]
    );
    assert_eq!(pdu.variable_bindings[2].value, VarBindValue::EndOfMibView);
}

#[test]
fn bulk_reply_stays_within_budget_and_in_order() {
    let mib: Mib = (0..5000)
        .map(|i| (oid(&[30, 1, i]), Value::Counter32(i)))
        .collect();
    let request = bulk_request(0, u32::MAX, &[oid(&[30])]);
    let reply = answer(&request, COMMUNITY, &mib).unwrap();
    assert!(reply.len() <= BULK_BUDGET, "reply is {} bytes", reply.len());
    let got = names(&reply_pdu(&reply, 1));
    assert!(got.len() > 50, "only {} rows", got.len());
    let want: Vec<_> = (0..).map(|i| oid(&[30, 1, i])).take(got.len()).collect();
    assert_eq!(got, want);
}

#[test]
fn bulk_with_more_non_repeaters_than_varbinds_is_all_get_next() {
    let pdu = ask(&bulk_request(u32::MAX, 10, &[oid(&[1, 0])]), 1);
    assert_eq!(names(&pdu), vec![oid(&[2, 0])]);
}
