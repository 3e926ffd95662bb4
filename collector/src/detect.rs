//! Which profiles a device speaks, from what it answers (issue 17): the profile its sysObjectID
//! names (longest prefix), then every profile whose `detect` subtree it answers to one GETNEXT,
//! vendor MIBs before standard ones and longer subtrees first. Read-only: one GET, then GETNEXTs
//! that skip through the device's MIB (see `scan`), so the cost grows with what the device holds,
//! not with how many profiles there are.

use std::collections::BTreeMap;

use kilowatch_core::profile::ProfileSet;

use crate::snmp::SnmpDriver;

/// A profile a device speaks, and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    pub profile: String,
    pub why: String,
}

/// What a device said about itself, and the modules it speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub sys_object_id: Vec<u32>,
    pub sys_descr: String,
    pub modules: Vec<Module>,
    /// Requests detection sent (the identifying GET included).
    pub requests: usize,
}

/// Identifies the device and detects its modules. Fails only when the device does not answer
/// the identifying GET; a GETNEXT that fails counts as "not answered".
pub async fn detect(
    d: &mut SnmpDriver,
    profiles: &ProfileSet,
) -> Result<Detection, crate::DriverError> {
    let (oid, descr) = d.identify().await?;
    let mut modules: Vec<Module> = Vec::new();
    if let Some((name, _)) = profiles.match_sys_object_id(&oid, &descr) {
        modules.push(Module {
            profile: name.to_owned(),
            why: format!("sysObjectID {}", crate::dotted(&oid)),
        });
    }
    let mut detectors = profiles.detectors();
    let answered = scan(d, detectors.iter().map(|(_, o)| o.clone()).collect()).await;
    detectors.sort_by_key(|(_, o)| {
        (
            !o.starts_with(&[1, 3, 6, 1, 4, 1]),
            std::cmp::Reverse(o.len()),
        )
    });
    for (name, subtree) in detectors {
        if modules.iter().any(|m| m.profile == name) {
            continue;
        }
        if answered.present.get(&subtree).copied().unwrap_or(false) {
            modules.push(Module {
                profile: name.to_owned(),
                why: format!("answers {}", crate::dotted(&subtree)),
            });
        }
    }
    Ok(Detection {
        sys_object_id: oid,
        sys_descr: descr,
        modules,
        requests: 1 + answered.requests,
    })
}

/// Which of `subtrees` a device holds anything in, and the GETNEXTs that took.
struct Scan {
    present: BTreeMap<Vec<u32>, bool>,
    requests: usize,
}

/// Skip-scan over the sorted subtrees: GETNEXT on the first unresolved one returns the next OID
/// `r` the device holds, which settles every subtree up to `r` at once (a subtree ordered
/// before `r` and not a prefix of it holds nothing; one that prefixes `r` is answered). So a
/// device costs about one request per subtree it answers plus one per gap, at most one per
/// subtree. A failed GETNEXT or an agent whose answer does not move forward settles only the
/// subtree asked, as "not answered".
async fn scan(d: &mut SnmpDriver, mut subtrees: Vec<Vec<u32>>) -> Scan {
    subtrees.sort();
    subtrees.dedup();
    let mut present = BTreeMap::new();
    let mut requests = 0;
    let mut i = 0;
    while i < subtrees.len() {
        let asked = &subtrees[i];
        requests += 1;
        match d.next_oid(asked).await {
            Ok(Some(next)) if next > *asked => {
                while let Some(t) = subtrees.get(i).filter(|t| **t <= next) {
                    present.insert(t.clone(), next.starts_with(t));
                    i += 1;
                }
            }
            Ok(None) => {
                for t in &subtrees[i..] {
                    present.insert(t.clone(), false);
                }
                i = subtrees.len();
            }
            Ok(Some(_)) | Err(_) => {
                present.insert(asked.clone(), false);
                i += 1;
            }
        }
    }
    Scan { present, requests }
}
