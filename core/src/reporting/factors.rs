//! Grid emission factors as a dated table per utility (kpis.md §2, hong-kong.md §2): never one
//! number in code. The built-in rows come from `config/emission-factors.toml`; an inventory adds
//! or overrides rows with `[[emission_factors]]`.

use serde::{Deserialize, Serialize};

const BUILTIN: &str = include_str!("../../../config/emission-factors.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmissionFactor {
    pub utility: String,
    pub year: i32,
    pub kg_per_kwh: f64,
    #[serde(default)]
    pub basis: String,
    #[serde(default)]
    pub source: String,
}

/// A factor chosen for a year: the year's own, or the latest earlier one (then `provisional`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChosenFactor {
    pub utility: String,
    pub kg_per_kwh: f64,
    /// The year whose factor this is.
    pub year: i32,
    pub provisional: bool,
    pub source: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FactorTable {
    rows: Vec<EmissionFactor>,
}

#[derive(Deserialize)]
struct File {
    factors: Vec<EmissionFactor>,
}

impl FactorTable {
    /// The built-in table (a build with a malformed file fails its tests, not at run time).
    pub fn builtin() -> FactorTable {
        let rows = toml::from_str::<File>(BUILTIN)
            .map(|f| f.factors)
            .unwrap_or_default();
        FactorTable { rows }
    }

    /// Adds a row, replacing one for the same utility and year.
    pub fn insert(&mut self, row: EmissionFactor) {
        self.rows
            .retain(|r| !(r.utility.eq_ignore_ascii_case(&row.utility) && r.year == row.year));
        self.rows.push(row);
    }

    pub fn utilities(&self) -> Vec<&str> {
        let mut u: Vec<&str> = self.rows.iter().map(|r| r.utility.as_str()).collect();
        u.sort_unstable();
        u.dedup();
        u
    }

    /// The factor for `utility` in `year`: that year's, else the latest earlier one marked
    /// provisional, else the earliest later one (also provisional); `None` for an unknown utility.
    pub fn for_year(&self, utility: &str, year: i32) -> Option<ChosenFactor> {
        let of: Vec<&EmissionFactor> = self
            .rows
            .iter()
            .filter(|r| r.utility.eq_ignore_ascii_case(utility))
            .collect();
        let best = of
            .iter()
            .filter(|r| r.year <= year)
            .max_by_key(|r| r.year)
            .or_else(|| of.iter().min_by_key(|r| r.year))?;
        Some(ChosenFactor {
            utility: best.utility.clone(),
            kg_per_kwh: best.kg_per_kwh,
            year: best.year,
            provisional: best.year != year,
            source: best.source.clone(),
        })
    }

    /// The newest factor for `utility` (forward-looking figures: consolidation savings).
    pub fn latest(&self, utility: &str) -> Option<ChosenFactor> {
        self.for_year(utility, i32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_table_parses_and_keeps_the_utilities_apart() {
        let t = FactorTable::builtin();
        assert_eq!(t.utilities(), ["CLP", "HK-GOV", "HKE"]);
        let clp = t.for_year("CLP", 2020).unwrap();
        assert_eq!((clp.kg_per_kwh, clp.provisional), (0.37, false));
        // 2025 is not published in the table: the latest earlier year, marked provisional.
        let hke = t.for_year("hke", 2025).unwrap();
        assert_eq!(
            (hke.kg_per_kwh, hke.year, hke.provisional),
            (0.81, 2019, true)
        );
        assert!(t.for_year("Nowhere", 2025).is_none());
    }

    #[test]
    fn an_inventory_row_replaces_the_builtin_one() {
        let mut t = FactorTable::builtin();
        t.insert(EmissionFactor {
            utility: "CLP".into(),
            year: 2020,
            kg_per_kwh: 0.38,
            basis: String::new(),
            source: "bill".into(),
        });
        assert_eq!(t.for_year("CLP", 2020).unwrap().kg_per_kwh, 0.38);
        assert_eq!(t.latest("CLP").unwrap().year, 2020);
    }
}
