//! The EU data-centre reporting data set (Delegated Regulation (EU) 2024/1364, Annexes I–III)
//! as data: `config/regulation/eu-2024-1364.toml` lists every field in the regulation's order.
//! The inventory may enter any field (`[[sites.years]]`), the analyzer measures the ones a
//! field's `measure` names, and `report annual` lists every field with where it came from.

use serde::Deserialize;

const EU_2024_1364: &str = include_str!("../../../config/regulation/eu-2024-1364.toml");

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DataSet {
    #[serde(default)]
    pub regulation: Regulation,
    pub fields: Vec<DataField>,
    #[serde(default)]
    pub classes: Vec<ClassBound>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Regulation {
    /// How a report cites it.
    pub citation: String,
    pub eli: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DataField {
    pub id: String,
    pub annex: String,
    /// The point as printed, e.g. `1(a)`.
    #[serde(default, rename = "ref")]
    pub reference: Option<String>,
    pub label: String,
    /// The regulation's symbol (E_DC, W_IN, ...), where it gives one.
    #[serde(default)]
    pub symbol: Option<String>,
    #[serde(default)]
    pub unit: String,
    pub kind: FieldKind,
    /// The quantity kilowatch measures for it, when it can (see [`Measure`]).
    #[serde(default)]
    pub measure: Option<Measure>,
    /// For an indicator: how it is computed from other fields.
    #[serde(default)]
    pub formula: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    Text,
    Number,
    Energy,
    Water,
    Indicator,
}

/// What kilowatch can measure for a field, from the meters' roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// E_DC: role "facility".
    TotalEnergy,
    /// E_IT: role "it", the highest measured category.
    ItEnergy,
    /// On-site renewable generation: role "renewable".
    OnsiteRenewable,
    /// All renewable energy: on-site measured plus certificates and PPAs entered.
    RenewableEnergy,
    /// Heat exported and reused: role "heat_reuse".
    WasteHeatReused,
    /// The reuse loop's mean supply temperature.
    WasteHeatTemperature,
    /// All water in: roles "water" (any).
    WaterInput,
    /// Potable water in: role "water" with `potable = true`.
    PotableWater,
    /// Mean of the cooling units' supply-air set points.
    IntakeSetpoint,
    Pue,
    Wue,
    Erf,
    Ref,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ClassBound {
    pub indicator: String,
    pub class: String,
    pub upper: f64,
    pub source: String,
}

impl DataSet {
    /// The EU data set built into kilowatch.
    pub fn eu() -> DataSet {
        // The file is part of the build and its parse is tested; a damaged copy is a bug.
        toml::from_str(EU_2024_1364).unwrap_or_else(|e| DataSet {
            regulation: Regulation {
                citation: format!("config/regulation/eu-2024-1364.toml does not parse: {e}"),
                eli: String::new(),
            },
            fields: Vec::new(),
            classes: Vec::new(),
        })
    }

    pub fn field(&self, id: &str) -> Option<&DataField> {
        self.fields.iter().find(|f| f.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_data_set_parses_with_unique_ids() {
        let d: DataSet = toml::from_str(EU_2024_1364).expect("eu-2024-1364.toml parses");
        assert!(d.fields.len() > 20, "{}", d.fields.len());
        let mut ids: Vec<&str> = d.fields.iter().map(|f| f.id.as_str()).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate field ids");
    }
}
