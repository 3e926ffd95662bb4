//! What a careless or hostile client sends: SETs, requests for another community, garbage and
//! oversized replies. Each is refused or dropped, and nothing panics.

use super::*;

#[test]
fn set_is_refused_per_version() {
    let mut set = request_pdu(5, &[oid(&[1, 0])]);
    set.variable_bindings[0].value = value(Integer::from(1));
    let v2c = encode_request(1, COMMUNITY, Pdus::SetRequest(SetRequest(set.clone())));
    let pdu = ask(&v2c, 1);
    assert_eq!((pdu.error_status, pdu.error_index), (6, 1));
    assert_eq!(pdu.variable_bindings, set.variable_bindings);
    let v1 = encode_request(0, COMMUNITY, Pdus::SetRequest(SetRequest(set)));
    let pdu = ask(&v1, 0);
    assert_eq!((pdu.error_status, pdu.error_index), (4, 1));
}

#[test]
fn drops_what_is_not_a_request_for_us() {
    let mib = sample_mib();
    let get = request_pdu(1, &[oid(&[1, 0])]);
    let v1_bulk = BulkPdu {
        request_id: 1,
        non_repeaters: 0,
        max_repetitions: 5,
        variable_bindings: get.variable_bindings.clone(),
    };
    let dropped = [
        encode_request(1, b"private", Pdus::GetRequest(GetRequest(get.clone()))),
        encode_request(3, COMMUNITY, Pdus::GetRequest(GetRequest(get.clone()))),
        encode_request(2, COMMUNITY, Pdus::GetRequest(GetRequest(get.clone()))),
        encode_request(1, COMMUNITY, Pdus::Response(Response(get.clone()))),
        encode_request(0, COMMUNITY, Pdus::GetBulkRequest(GetBulkRequest(v1_bulk))),
        Vec::new(),
        b"hello world".to_vec(),
    ];
    for datagram in dropped {
        assert_eq!(answer(&datagram, COMMUNITY, &mib), None, "{datagram:02x?}");
    }
}

#[test]
fn request_id_is_echoed_even_negative() {
    let request = encode_request(
        1,
        COMMUNITY,
        Pdus::GetRequest(GetRequest(request_pdu(i32::MIN, &[oid(&[1, 0])]))),
    );
    assert_eq!(ask(&request, 1).request_id, i32::MIN);
}

#[test]
fn oversized_reply_becomes_too_big() {
    let mut mib = Mib::new();
    mib.insert(oid(&[1, 0]), Value::OctetString(vec![b'x'; 40_000]));
    let oids = [oid(&[1, 0]), oid(&[1, 0])];
    let pdu = reply_pdu(&answer(&get_request(1, &oids), COMMUNITY, &mib).unwrap(), 1);
    assert_eq!(
        (pdu.error_status, pdu.variable_bindings.len()),
        (TOO_BIG, 0)
    );
    let pdu = reply_pdu(&answer(&get_request(0, &oids), COMMUNITY, &mib).unwrap(), 0);
    assert_eq!(
        (pdu.error_status, pdu.variable_bindings.len()),
        (TOO_BIG, 2)
    );
}

#[test]
fn unencodable_mib_entries_are_absent() {
    let mut mib = Mib::new();
    mib.insert(vec![1], Value::Integer(1));
    mib.insert(vec![1, 3, 6, 1], Value::ObjectId(vec![7, 1]));
    mib.insert(vec![2, u32::MAX], Value::Integer(2));
    mib.insert(vec![9, 9], Value::Integer(3));
    let request = next_request(1, &[vec![0, 0]]);
    let pdu = reply_pdu(&answer(&request, COMMUNITY, &mib).unwrap(), 1);
    assert_eq!(pdu.variable_bindings[0].value, VarBindValue::EndOfMibView);
    let pdu = reply_pdu(
        &answer(&get_request(1, &[vec![1, 3, 6, 1]]), COMMUNITY, &mib).unwrap(),
        1,
    );
    // 1.3.6.1 exists, with a value no version can carry, so it is an absent instance.
    assert_eq!(pdu.variable_bindings[0].value, VarBindValue::NoSuchInstance);
}

/// xorshift64*: deterministic, so a failing input can be reproduced from its iteration.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap()
    }

    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }
}

fn valid_requests() -> Vec<Vec<u8>> {
    let table = [oid(&[1, 0]), oid(&[10, 1, 2]), oid(&[2, 0])];
    let mut set = request_pdu(3, &[oid(&[3, 0])]);
    set.variable_bindings[0].value = value(OctetString::from_static(b"x"));
    vec![
        get_request(1, &table),
        get_request(0, &table),
        next_request(1, &table),
        next_request(0, &table),
        bulk_request(1, 20, &table),
        encode_request(1, COMMUNITY, Pdus::SetRequest(SetRequest(set))),
    ]
}

#[test]
fn garbage_never_panics() {
    let mib = sample_mib();
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    for _ in 0..300 {
        let len = noise.below(200);
        let buffer: Vec<u8> = (0..len).map(|_| noise.byte()).collect();
        let _ = answer(&buffer, COMMUNITY, &mib);
    }
    for request in valid_requests() {
        for cut in 0..request.len() {
            let _ = answer(&request[..cut], COMMUNITY, &mib);
        }
        // Flipped bytes reach deeper than random buffers: the outer framing still parses.
        for _ in 0..300 {
            let mut mutated = request.clone();
            for _ in 0..=noise.below(3) {
                let at = noise.below(mutated.len());
                mutated[at] = noise.byte();
            }
            if let Some(reply) = answer(&mutated, COMMUNITY, &mib) {
                let _: Message<Pdus> = rasn::ber::decode(&reply).unwrap();
            }
        }
    }
}

#[test]
fn hostile_shapes_never_panic() {
    let mib = sample_mib();
    // Indefinite lengths nested deeper than any stack would survive if parsed recursively.
    let mut deep = [0x30, 0x80].repeat(50_000);
    deep.extend([0x00; 4]);
    let mut deep_in_message = get_request(1, &[oid(&[1, 0])]);
    deep_in_message.truncate(2);
    deep_in_message[1] = 0x80;
    deep_in_message.extend(&deep);
    let hostile = [
        deep,
        deep_in_message,
        vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01],
        vec![
            0x30, 0x89, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ],
        vec![
            0x30, 0x0b, 0x02, 0x09, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ],
    ];
    for datagram in hostile {
        assert_eq!(answer(&datagram, COMMUNITY, &mib), None);
    }
    // A full-size datagram of varbinds is answered (all missing) without trouble.
    let many: Vec<_> = (0..3000).map(|i| oid(&[1, 0, i])).collect();
    let request = get_request(1, &many);
    assert!(request.len() > 50_000 && request.len() <= MAX_DATAGRAM);
    let pdu = ask(&request, 1);
    assert_eq!(pdu.variable_bindings.len(), 3000);
}
