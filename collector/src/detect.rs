//! Which profiles a device speaks, from what it answers (issue 17): the profile its sysObjectID
//! names (longest prefix), then every profile whose `detect` subtree it answers to one GETNEXT,
//! vendor MIBs before standard ones and longer subtrees first. Read-only: one GET and one
//! GETNEXT per distinct subtree.

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
    detectors.sort_by_key(|(_, o)| {
        (
            !o.starts_with(&[1, 3, 6, 1, 4, 1]),
            std::cmp::Reverse(o.len()),
        )
    });
    let mut asked: BTreeMap<Vec<u32>, bool> = BTreeMap::new();
    for (name, subtree) in detectors {
        if modules.iter().any(|m| m.profile == name) {
            continue;
        }
        let answered = match asked.get(&subtree) {
            Some(a) => *a,
            None => {
                let a = d.answers(&subtree).await.unwrap_or(false);
                asked.insert(subtree.clone(), a);
                a
            }
        };
        if answered {
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
        requests: 1 + asked.len(),
    })
}
