//! Whatever a BMC answers (any status, any bytes, any JSON at any path), discovery and a poll
//! give values or per-device errors, never a panic, and every value is a finite number.

#![no_main]

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use kilowatch_collector::DriverError;
use kilowatch_collector::redfish::{Fetch, RedfishPlan, decode_answer, discover, take_values};
use kilowatch_core::profile::{Profile, ProfileSet};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The input cut at NUL bytes into answers; a path gets the answer its hash picks, with a
/// status from the answer's first byte.
struct Answers<'a>(Vec<&'a [u8]>);

impl Answers<'_> {
    fn answer(&self, path: &str) -> Result<Arc<Value>, DriverError> {
        let h = path.bytes().fold(7usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
        let body = self.0[h % self.0.len()];
        let status = match body.first() {
            Some(b'4') => 404,
            Some(b'5') => 500,
            Some(b'1') => 401,
            _ => 200,
        };
        decode_answer(path, status, body).map_err(DriverError::from)
    }
}

impl Fetch for Answers<'_> {
    fn fetch(&mut self, path: &str) -> impl Future<Output = Result<Arc<Value>, DriverError>> {
        std::future::ready(self.answer(path))
    }
}

/// Every future here is ready at once: one poll runs it to the end.
fn now<T>(f: impl Future<Output = T>) -> T {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("no future here waits"),
    }
}

fuzz_target!(|data: &[u8]| {
    let (set, _) = ProfileSet::load(&[]);
    let Some(Profile::Redfish(p)) = set.get("redfish-dmtf") else {
        return;
    };
    let plan = RedfishPlan::compile(p);
    let mut answers = Answers(data.split(|b| *b == 0).collect());
    let Ok(root) = answers.answer("/redfish/v1") else {
        return;
    };
    let Ok(found) = now(discover(&plan, root, &mut answers)) else {
        return;
    };
    let (mut values, mut problems) = (Vec::new(), Vec::new());
    for r in &found.resources {
        if let Ok(doc) = answers.answer(&r.path) {
            take_values(&plan, r, &doc, &mut values, &mut problems);
        }
    }
    assert!(values.iter().all(|v| v.value.is_finite()));
});
