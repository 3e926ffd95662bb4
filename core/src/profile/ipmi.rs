//! IPMI profiles (`protocol = "ipmi"`): DCMI power values and SDR sensor rules, checked when
//! loaded like the SNMP and Modbus ones.

use serde::Deserialize;

use crate::model::Field;

/// A BMC read over IPMI: DCMI `Get Power Reading` values and SDR sensors chosen by what their
/// full sensor records say (type, unit, entity, name), so one profile fits many vendors.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpmiProfile {
    /// `"ipmi"`; already read to choose this struct.
    #[serde(rename = "protocol")]
    pub(super) _protocol: String,
    pub description: String,
    /// Values of DCMI `Get Power Reading` (DCMI 1.5 §6.6.1), in mode 1 (system power).
    #[serde(default)]
    pub dcmi: Vec<DcmiMetric>,
    /// SDR sensors: each sensor feeds the first rule it matches.
    #[serde(default)]
    pub sensors: Vec<SensorRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DcmiMetric {
    #[serde(deserialize_with = "super::de_field")]
    pub field: Field,
    /// Which of the reading's values (all in W).
    pub reading: DcmiReading,
    pub point: Option<std::sync::Arc<str>>,
}

/// The values of a DCMI power reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DcmiReading {
    Current,
    Minimum,
    Maximum,
    Average,
}

/// Which SDR sensors feed a field. Every criterion given must hold; a sensor's value is the
/// reading converted with its record's linearisation (M, B, exponents), times `scale`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorRule {
    #[serde(deserialize_with = "super::de_field")]
    pub field: Field,
    /// Base unit code of the record (IPMI 2.0 table 43-15): 1 degrees C, 4 volts, 5 amps,
    /// 6 watts.
    pub unit: u8,
    /// Sensor type code (IPMI 2.0 table 42-3): 0x01 temperature, 0x08 power supply, ...
    pub sensor_type: Option<u8>,
    /// Entity ID codes (IPMI 2.0 table 43-13), any of: 0x37 air inlet, 0x0a power supply, ...
    #[serde(default)]
    pub entity_id: Vec<u8>,
    /// The sensor's ID string contains one of these, ignoring case.
    #[serde(default)]
    pub name_contains: Vec<String>,
    /// The `point` tag; `{instance}` is replaced by the record's entity instance (`psu{instance}`
    /// gives `psu1`, `psu2`).
    pub point: Option<String>,
    #[serde(default = "super::one")]
    pub scale: f64,
}

impl SensorRule {
    /// The field's unit as an IPMI base unit code, for the fields a sensor can feed directly.
    fn unit_fits(&self) -> bool {
        let want = match self.field.unit() {
            "°C" => 1,
            "V" => 4,
            "A" => 5,
            "W" => 6,
            _ => return true,
        };
        self.unit == want || self.scale != 1.0
    }
}

impl IpmiProfile {
    /// What serde cannot check: a rule's unit against its field's, and the point template.
    pub(super) fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.dcmi.is_empty() && self.sensors.is_empty() {
            problems.push("give at least one [[dcmi]] or [[sensors]] entry".into());
        }
        for (i, r) in self.sensors.iter().enumerate() {
            if !r.unit_fits() {
                problems.push(format!(
                    "sensors[{i}]: unit code {} does not give {} ({}); set 'scale' to convert",
                    r.unit,
                    r.field.name(),
                    r.field.unit()
                ));
            }
            if let Some(point) = &r.point
                && point.replace("{instance}", "").contains(['{', '}'])
            {
                problems.push(format!(
                    "sensors[{i}]: point '{point}': the only placeholder is {{instance}}"
                ));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use crate::profile::ProfileSet;

    /// Issue 19: an IPMI rule whose unit cannot give its field, or whose point has an unknown
    /// placeholder, is refused when the profile loads, naming the rule.
    #[test]
    fn issue_19_a_rule_with_the_wrong_unit_or_placeholder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("bad-bmc.toml"),
            "protocol = \"ipmi\"\ndescription = \"x\"\n[[sensors]]\nfield = \"temperature_c\"\nunit = 6\n[[sensors]]\nfield = \"power_w\"\nunit = 6\npoint = \"psu{number}\"\n",
        )
        .unwrap();
        let (set, problems) = ProfileSet::load(&[dir.path().to_owned()]);
        let text: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            text,
            vec![
                "sensors[0]: unit code 6 does not give temperature_c (°C); set 'scale' to convert",
                "sensors[1]: point 'psu{number}': the only placeholder is {instance}",
            ]
        );
        assert!(set.get("bad-bmc").is_none());
        assert!(set.get("ipmi-dcmi").is_some());
    }
}
