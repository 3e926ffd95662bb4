//! Trap decoding: any datagram must decode to a notification or a named error, never a panic,
//! and a decoded one must map (to a meaning or Unknown) without panicking either. The
//! credentials hold a community and two v3 users, so v3 inputs naming `kw` get their keys
//! localised with whatever engine id the input carries (within the rate limit).
#![no_main]

use std::sync::OnceLock;

use kilowatch_collector::traps::{Credentials, TrapMap, V3User, decode};
use kilowatch_core::config::{V3Auth, V3Priv, V3Security};
use kilowatch_core::secret::Secret;
use libfuzzer_sys::fuzz_target;

fn map() -> &'static TrapMap {
    static MAP: OnceLock<TrapMap> = OnceLock::new();
    MAP.get_or_init(TrapMap::builtin)
}

fn credentials() -> Credentials {
    Credentials::new(
        vec![Secret::new("public")],
        vec![
            V3User {
                user: "noauth".into(),
                security: V3Security::NoAuthNoPriv,
            },
            V3User {
                user: "kw".into(),
                security: V3Security::AuthPriv {
                    protocol: V3Auth::Sha1,
                    key: Secret::new("kwauthpass1"),
                    cipher: V3Priv::Aes128,
                    priv_key: Secret::new("kwprivpass1"),
                },
            },
        ],
    )
}

fuzz_target!(|data: &[u8]| {
    thread_local! {
        static CREDS: std::cell::RefCell<Credentials> = std::cell::RefCell::new(credentials());
    }
    CREDS.with(|c| {
        if let Ok(d) = decode(data, &mut c.borrow_mut()) {
            let m = map().meaning(&d);
            assert!(!m.summary.is_empty() || m.name.is_some());
        }
    });
});
