//! `profile = "auto"` in the inventory: when collection starts (or the inventory is reloaded),
//! each such device is asked what it speaks, as `probe` does, and polled with one profile merging
//! every module it answers. What was detected is kept in `detected.toml` beside the store, by
//! device and address, so a restart does not ask again; delete the file (or change the
//! address) to detect afresh.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use kilowatch_collector::Driver;
use kilowatch_collector::detect::detect;
use kilowatch_core::config::Config;
use serde::{Deserialize, Serialize};

const CACHE: &str = "detected.toml";
/// Devices asked at once.
const AT_ONCE: usize = 16;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Cached {
    address: String,
    modules: Vec<String>,
}

/// Resolves every `profile = "auto"` device of `config` to a merged profile named
/// `auto:<device>`. A device that does not answer, or speaks nothing a profile reads, keeps
/// `auto` and is not polled: logged at ERROR, asked again at the next start or reload.
pub async fn resolve(config: &mut Config, data_dir: &Path) {
    let autos: Vec<usize> = (0..config.devices.len())
        .filter(|&i| config.devices[i].profile == "auto")
        .collect();
    if autos.is_empty() {
        return;
    }
    let path = data_dir.join(CACHE);
    let mut cache: BTreeMap<String, Cached> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| toml::from_str(&t).ok())
        .unwrap_or_default();
    let profiles = Arc::new(config.profiles.clone());
    let gate = Arc::new(tokio::sync::Semaphore::new(AT_ONCE));
    let mut asks = tokio::task::JoinSet::new();
    let mut fresh = 0;
    for &i in &autos {
        let d = &config.devices[i];
        let address = d.address.to_string();
        if cache.get(&d.id).is_some_and(|c| c.address == address) {
            continue;
        }
        fresh += 1;
        let (id, auth, timeout) = (d.id.clone(), d.auth.clone(), config.device_timeout(d));
        let (device_address, profiles, gate) = (d.address.clone(), profiles.clone(), gate.clone());
        asks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let mut driver = Driver::new(&device_address, auth.as_ref(), timeout);
            let found = match &mut driver {
                Driver::Snmp(s) => detect(s, &profiles).await.map_err(|e| e.to_string()),
                _ => Err("not an SNMP device".to_owned()),
            };
            (id, address, found)
        });
    }
    while let Some(Ok((id, address, found))) = asks.join_next().await {
        match found {
            Ok(d) if !d.modules.is_empty() => {
                let modules: Vec<String> = d.modules.iter().map(|m| m.profile.clone()).collect();
                let why: Vec<String> = d
                    .modules
                    .iter()
                    .map(|m| format!("{} ({})", m.profile, m.why))
                    .collect();
                tracing::info!(device = id.as_str(), modules = %why.join(", "), requests = d.requests, "detected");
                cache.insert(id, Cached { address, modules });
            }
            Ok(d) => tracing::error!(
                device = id.as_str(),
                sys_object_id = %d.sys_object_id.iter().map(u32::to_string).collect::<Vec<_>>().join("."),
                "profile = \"auto\": no profile reads this device; it is not polled (name a profile)"
            ),
            Err(e) => tracing::error!(
                device = id.as_str(),
                error = %e,
                "profile = \"auto\": the device did not answer detection; not polled until the next start or reload"
            ),
        }
    }
    if fresh > 0
        && let Ok(text) = toml::to_string(&cache)
        && let Err(e) = std::fs::write(&path, text)
    {
        tracing::warn!(file = %path.display(), error = %e, "could not keep what was detected");
    }
    for i in autos {
        let d = &mut config.devices[i];
        let Some(c) = cache
            .get(&d.id)
            .filter(|c| c.address == d.address.to_string())
        else {
            continue;
        };
        let names: Vec<&str> = c.modules.iter().map(String::as_str).collect();
        let Some(merged) = config.profiles.merged(&names) else {
            tracing::error!(device = d.id.as_str(), modules = ?names, "detected profiles are no longer known: delete detected.toml");
            continue;
        };
        let name = format!("auto:{}", d.id);
        config.profiles.insert(name.clone(), merged);
        d.profile = name;
    }
}
