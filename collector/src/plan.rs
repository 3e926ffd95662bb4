//! Compiling a device and its profile into a `Plan`: the requests to send and, for each value
//! they return, the field and series it feeds. Done once before any I/O.

use std::collections::HashMap;
use std::sync::Arc;

use kilowatch_core::config::Device;
use kilowatch_core::model::{Field, Kind, Measurement, Role, Series, Tag, TagSet};
use kilowatch_core::profile::{
    Aggregate, DcmiReading, IpmiProfile, Match, ModbusProfile, Profile, RegisterTable,
    RegisterType, SensorRule, SnmpProfile, WordOrder, parse_oid,
};

use crate::ipmi::sdr::SensorRecord;

/// `"5"` or `"1.3"`: index components (not a full OID, so one part is fine).
fn parse_oid_tail(s: &str) -> Option<Vec<u32>> {
    s.split('.').map(|p| p.parse().ok()).collect()
}

/// Largest register count one Modbus read may ask for (the protocol's limit is 125).
pub const MAX_BLOCK_WORDS: u16 = 125;

#[derive(Debug, Clone)]
pub struct Plan {
    pub device: Arc<str>,
    pub kind: PlanKind,
    /// The device's tags, held once for all its series.
    base_tags: TagSet,
    role: Option<Role>,
    /// The inventory's `temperature_at`: what an unplaced temperature feeds.
    temperature_at: Option<Field>,
}

#[derive(Debug, Clone)]
pub enum PlanKind {
    Snmp(SnmpPlan),
    Modbus(ModbusPlan),
    Redfish(crate::redfish::RedfishPlan),
    Ipmi(IpmiPlan),
}

/// What to ask a BMC: the DCMI power reading when a profile entry uses it, and the sensors the
/// rules select, known only once the SDR is read (so their series are made in decode).
#[derive(Debug, Clone)]
pub struct IpmiPlan {
    pub(crate) dcmi: Vec<DcmiEntry>,
    pub(crate) rules: Arc<[SensorRule]>,
}

#[derive(Debug, Clone)]
pub(crate) struct DcmiEntry {
    pub reading: DcmiReading,
    pub field: Field,
    pub series: Arc<Series>,
}

impl IpmiPlan {
    pub fn wants_dcmi(&self) -> bool {
        !self.dcmi.is_empty()
    }

    pub fn wants_sensors(&self) -> bool {
        !self.rules.is_empty()
    }

    /// The first rule `record` matches: unit, then type, entity and name when the rule gives them.
    pub fn rule_for(&self, record: &SensorRecord) -> Option<usize> {
        let name = record.name.to_lowercase();
        self.rules.iter().position(|r| {
            r.unit == record.unit
                && r.sensor_type.is_none_or(|t| t == record.sensor_type)
                && (r.entity_id.is_empty() || r.entity_id.contains(&record.entity_id))
                && (r.name_contains.is_empty()
                    || r.name_contains
                        .iter()
                        .any(|n| name.contains(&n.to_lowercase())))
        })
    }
}

/// What to ask a device and what each answer feeds. The requests and rules come from the
/// profile alone, so devices of one profile share them ([`Plan::share`]); only the series,
/// which carry the device's tags, are its own.
#[derive(Debug, Clone, Default)]
pub struct SnmpPlan {
    /// Scalar OIDs, each read once however many entries use it.
    pub gets: Arc<[Vec<u32>]>,
    /// Table columns to walk, each once.
    pub walks: Arc<[Vec<u32>]>,
    pub(crate) entries: Arc<[SnmpEntry]>,
    /// Per entry: its series for a scalar or an aggregate (one value per poll).
    pub(crate) series: Box<[Option<Arc<Series>>]>,
}

#[derive(Debug, Clone)]
pub(crate) struct SnmpEntry {
    pub source: SnmpSource,
    pub field: Field,
    pub scale: f64,
    /// For a walk without aggregate: the point prefix for each row.
    pub point_prefix: Option<String>,
    /// Rows kept: index ends with these components (removed from the point).
    pub index_suffix: Vec<u32>,
    /// Index into `walks` of the column naming each row.
    pub names: Option<usize>,
    /// Rows kept only if their name contains one of these (lowercase).
    pub name_contains: Vec<String>,
    /// For a scalar: index into `gets` of the scalar holding its name, for `name_contains`.
    pub name_get: Option<usize>,
    /// Rows kept only if this column holds one of the values or an OID under one of the prefixes.
    pub where_column: Option<RowSelector>,
    pub invalid: Unavailable,
    /// The divisor: a GET (for a scalar) or a column (for a walk, same row).
    pub divisor: Option<SnmpSource>,
    /// Columns (index into `walks`) stating each row's decimal places and SI prefix.
    pub precision: Option<usize>,
    pub si_prefix: Option<usize>,
    pub offset: f64,
    pub aggregate: Option<Aggregate>,
    /// The device's unit setting (a GET, or a column matched by row or row prefix) and the
    /// values meaning °F.
    pub fahrenheit: Option<UnitSetting>,
    /// For a 0/1 field: the raw codes that read 1 (others read 0).
    pub true_when: Vec<f64>,
    /// The value is text carrying a number: its first decimal number is the raw value.
    pub text_number: bool,
    /// Read only when no other entry of its module read this field in the same poll.
    pub fallback: bool,
    /// Which module of a merged profile the entry comes from.
    pub origin: usize,
}

/// Where a device states a reading's unit, and what says °F there.
#[derive(Debug, Clone)]
pub(crate) struct UnitSetting {
    /// A GET, or a column matched by row or row prefix.
    pub source: SnmpSource,
    pub equals: Vec<Match>,
    /// Text endings, lowercase and trimmed ("f" for "77 F").
    pub ends_with: Vec<String>,
}

/// Which rows of a walk to keep, by the cell of another column in the same row.
#[derive(Debug, Clone)]
pub(crate) struct RowSelector {
    /// Index into `walks`.
    pub column: usize,
    pub equals: Vec<Match>,
    /// OID prefixes, component by component.
    pub prefixes: Vec<Vec<u32>>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum SnmpSource {
    Get(usize),
    Walk(usize),
}

#[derive(Debug, Clone)]
pub struct ModbusPlan {
    pub unit: u8,
    pub blocks: Vec<Block>,
    pub(crate) entries: Vec<ModbusEntry>,
}

/// One read request: function 3 (holding) or 4 (input), `count` words from `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub table: RegisterTable,
    pub start: u16,
    pub count: u16,
}

#[derive(Debug, Clone)]
pub(crate) struct ModbusEntry {
    pub block: usize,
    pub offset: u16,
    pub ty: RegisterType,
    pub order: WordOrder,
    pub scale: f64,
    /// Added after scaling (the profile's `offset`).
    pub add: f64,
    /// (block, offset) of the scale-factor register.
    pub scale_factor: Option<(usize, u16)>,
    pub invalid: Unavailable,
    pub field: Field,
    pub series: Arc<Series>,
}

/// What a profile says "not available" looks like: listed raw values, or anything outside the
/// raw range a real reading lies in.
#[derive(Debug, Clone, Default)]
pub(crate) struct Unavailable {
    values: Vec<f64>,
    valid: Option<[f64; 2]>,
}

impl Unavailable {
    fn new(values: &[f64], valid: Option<[f64; 2]>) -> Unavailable {
        Unavailable {
            values: values.to_vec(),
            valid,
        }
    }

    pub(crate) fn contains(&self, raw: &f64) -> bool {
        self.values.contains(raw) || self.valid.is_some_and(|[lo, hi]| *raw < lo || *raw > hi)
    }
}

impl Plan {
    /// Compiles `profile` for `device`. The profile has already been checked when loaded.
    pub fn compile(device: &Device, profile: &Profile) -> Plan {
        let id: Arc<str> = Arc::from(device.id.as_str());
        let mut base_tags: Vec<Tag> = vec![
            ("site", device.site.as_str().into()),
            ("device", id.clone()),
        ];
        if let Some(room) = &device.room {
            base_tags.push(("room", room.as_str().into()));
        }
        if let Some(rack) = &device.rack {
            base_tags.push(("rack", rack.as_str().into()));
        }
        let base_tags = Series::shared_tags(base_tags);
        let mut plan = Plan {
            device: id,
            kind: PlanKind::Snmp(SnmpPlan::default()),
            base_tags,
            role: device.role,
            temperature_at: device.temperature_at,
        };
        plan.kind = match (profile, &device.address) {
            (Profile::Snmp(p), _) => PlanKind::Snmp(plan.compile_snmp(p)),
            (Profile::Modbus(p), kilowatch_core::address::Address::Modbus { unit, .. }) => {
                PlanKind::Modbus(plan.compile_modbus(p, *unit))
            }
            (Profile::Modbus(p), _) => PlanKind::Modbus(plan.compile_modbus(p, 1)),
            (Profile::Redfish(p), _) => PlanKind::Redfish(crate::redfish::RedfishPlan::compile(p)),
            (Profile::Ipmi(p), _) => PlanKind::Ipmi(plan.compile_ipmi(p)),
        };
        plan
    }

    /// A profile's unplaced `temperature_c` becomes the place the inventory gives the device
    /// (`temperature_at = "inlet"`); every other field is what the profile says.
    fn placed(&self, field: Field) -> Field {
        field.placed(self.temperature_at)
    }

    /// The series for `field` at `point`; the device's role tags only its un-pointed power.
    pub(crate) fn series(&self, field: Field, point: Option<Arc<str>>) -> Arc<Series> {
        self.series_wrapping(field, point, None)
    }

    /// As [`Plan::series`], for a counter that wraps at `wrap` (in the field's unit): the
    /// analyzer reads the `wrap_at` tag to bridge wraps.
    fn series_wrapping(
        &self,
        field: Field,
        point: Option<Arc<str>>,
        wrap: Option<f64>,
    ) -> Arc<Series> {
        let mut own: Vec<Tag> = Vec::new();
        match point {
            Some(p) => own.push(("point", p)),
            None => {
                if let Some(role) = self.role.filter(|_| field.takes_role()) {
                    own.push(("role", role.tag().into()));
                }
            }
        }
        if let (Some(w), Kind::Counter) = (wrap, field.kind()) {
            own.push(("wrap_at", format!("{w}").into()));
        }
        Arc::new(Series::with_shared(
            field.measurement(),
            &self.base_tags,
            own,
        ))
    }

    /// How many of a poll's samples have series fixed by the plan: scalars, aggregates and
    /// registers (a walk's rows come on top).
    pub fn fixed_samples(&self) -> usize {
        match &self.kind {
            PlanKind::Snmp(p) => p.series.iter().flatten().count(),
            PlanKind::Modbus(p) => p.entries.len(),
            PlanKind::Redfish(p) => p.entries.len(),
            PlanKind::Ipmi(p) => p.dcmi.len(),
        }
    }

    /// The series carrying this device's poll health.
    pub fn health_series(&self, protocol: &str) -> Arc<Series> {
        let own = vec![("protocol", protocol.into())];
        Arc::new(Series::with_shared(
            Measurement::Collector,
            &self.base_tags,
            own,
        ))
    }

    fn compile_snmp(&self, p: &SnmpProfile) -> SnmpPlan {
        struct Building {
            gets: Vec<Vec<u32>>,
            walks: Vec<Vec<u32>>,
            entries: Vec<SnmpEntry>,
            series: Vec<Option<Arc<Series>>>,
        }
        let mut plan = Building {
            gets: Vec::new(),
            walks: Vec::new(),
            entries: Vec::new(),
            series: Vec::new(),
        };
        let mut index: HashMap<Vec<u32>, usize> = HashMap::new();
        for m in &p.metrics {
            // Checked at profile load: exactly one of oid/walk, and numeric.
            let (oid_text, is_walk) = match (&m.oid, &m.walk) {
                (Some(o), _) => (o, false),
                (None, Some(w)) => (w, true),
                (None, None) => continue,
            };
            // Every OID a metric names is requested once per poll, however many metrics use it:
            // a scalar in `gets`, a column in `walks`.
            let mut slot_of = |text: &str, walk: bool| {
                parse_oid(text).map(|oid| {
                    let mut key = oid.clone();
                    key.push(u32::from(walk));
                    let list = if walk {
                        &mut plan.walks
                    } else {
                        &mut plan.gets
                    };
                    *index.entry(key).or_insert_with(|| {
                        list.push(oid);
                        list.len() - 1
                    })
                })
            };
            let source = |walk: bool, slot: usize| {
                if walk {
                    SnmpSource::Walk(slot)
                } else {
                    SnmpSource::Get(slot)
                }
            };
            let Some(slot) = slot_of(oid_text, is_walk) else {
                continue;
            };
            let per_row = is_walk && m.aggregate.is_none();
            let name_get = m.name_oid.as_deref().and_then(|o| slot_of(o, false));
            let mut column = |oid: &str| slot_of(oid, true);
            let names = m.point_name.as_deref().and_then(&mut column);
            let precision = m.precision_column.as_deref().and_then(&mut column);
            let si_prefix = m.si_prefix_column.as_deref().and_then(&mut column);
            let where_column =
                m.where_column
                    .as_deref()
                    .and_then(&mut column)
                    .map(|c| RowSelector {
                        column: c,
                        equals: m.where_equals.clone(),
                        prefixes: m.where_prefix.iter().filter_map(|o| parse_oid(o)).collect(),
                    });
            // A divisor is a scalar for a scalar, the same row of a column for a walk.
            let divisor = m
                .divide_by
                .as_deref()
                .and_then(|d| slot_of(d, is_walk))
                .map(|d| source(is_walk, d));
            let fahrenheit = m.fahrenheit_when.as_ref().and_then(|u| {
                let (text, walk) = match (&u.oid, &u.column) {
                    (Some(o), _) => (o, false),
                    (None, Some(c)) => (c, true),
                    (None, None) => return None,
                };
                slot_of(text, walk).map(|s| UnitSetting {
                    source: source(walk, s),
                    equals: u.equals.clone(),
                    ends_with: u
                        .ends_with
                        .iter()
                        .map(|e| e.trim().to_lowercase())
                        .filter(|e| !e.is_empty())
                        .collect(),
                })
            });
            plan.entries.push(SnmpEntry {
                fahrenheit,
                true_when: m.true_when.clone(),
                text_number: m.text_number,
                fallback: m.fallback,
                origin: m.origin,
                divisor,
                precision,
                si_prefix,
                offset: m.offset,
                name_contains: m.name_contains.iter().map(|n| n.to_lowercase()).collect(),
                name_get,
                where_column,
                invalid: Unavailable::new(&m.invalid, m.valid_range),
                index_suffix: m
                    .index_suffix
                    .as_deref()
                    .and_then(parse_oid_tail)
                    .unwrap_or_default(),
                names,
                source: source(is_walk, slot),
                field: self.placed(m.field),
                scale: m.scale,
                point_prefix: if per_row {
                    Some(m.point.as_deref().unwrap_or_default().to_owned())
                } else {
                    None
                },
                aggregate: m.aggregate,
            });
            plan.series.push((!per_row).then(|| {
                self.series_wrapping(
                    self.placed(m.field),
                    m.point.clone(),
                    m.wraps_at.map(|w| w * m.scale),
                )
            }));
        }
        SnmpPlan {
            gets: plan.gets.into(),
            walks: plan.walks.into(),
            entries: plan.entries.into(),
            series: plan.series.into(),
        }
    }

    /// Takes the requests and rules of `other` (compiled from the same profile) instead of its
    /// own copy, and its series' own tags (points), so a thousand devices of one profile hold
    /// them once.
    pub fn share(&mut self, other: &Plan) {
        if let (PlanKind::Snmp(mine), PlanKind::Snmp(theirs)) = (&mut self.kind, &other.kind)
            && mine.entries.len() == theirs.entries.len()
        {
            mine.gets = theirs.gets.clone();
            mine.walks = theirs.walks.clone();
            mine.entries = theirs.entries.clone();
            for (m, t) in mine.series.iter_mut().zip(theirs.series.iter()) {
                if let (Some(m), Some(t)) = (m, t)
                    && let Some(m) = Arc::get_mut(m)
                {
                    m.share_own(t);
                }
            }
        }
    }

    fn compile_ipmi(&self, p: &IpmiProfile) -> IpmiPlan {
        IpmiPlan {
            dcmi: p
                .dcmi
                .iter()
                .map(|d| DcmiEntry {
                    reading: d.reading,
                    field: d.field,
                    series: self.series(d.field, d.point.clone()),
                })
                .collect(),
            rules: p.sensors.clone().into(),
        }
    }

    fn compile_modbus(&self, p: &ModbusProfile, unit: u8) -> ModbusPlan {
        // Every register span to read: each metric, and each scale-factor register once.
        let mut spans: Vec<(RegisterTable, u16, u16)> = Vec::new();
        for m in &p.metrics {
            spans.push((m.table, m.address, m.ty.words()));
            if let Some(sf) = m.scale_factor {
                spans.push((m.table, sf, 1));
            }
        }
        spans.sort();
        spans.dedup();
        let max = p.max_registers_per_read.clamp(1, MAX_BLOCK_WORDS);
        let mut blocks: Vec<Block> = Vec::new();
        for (table, address, words) in spans {
            let end = address + words;
            // Merge only contiguous or overlapping registers: many devices answer a read that
            // spans a gap with exception 02, so gaps are never bridged.
            match blocks.last_mut().filter(|b| {
                b.table == table
                    && address <= b.start + b.count
                    && end.max(b.start + b.count) - b.start <= max
            }) {
                Some(b) => b.count = end.max(b.start + b.count) - b.start,
                None => blocks.push(Block {
                    table,
                    start: address,
                    count: words,
                }),
            }
        }
        let locate = |table: RegisterTable, address: u16, words: u16| {
            blocks
                .iter()
                .position(|b| {
                    b.table == table && b.start <= address && address + words <= b.start + b.count
                })
                .map(|i| (i, address - blocks[i].start))
        };
        let mut entries = Vec::with_capacity(p.metrics.len());
        for m in &p.metrics {
            // Every span was placed in a block above.
            let Some((block, offset)) = locate(m.table, m.address, m.ty.words()) else {
                continue;
            };
            entries.push(ModbusEntry {
                block,
                offset,
                ty: m.ty,
                order: m.word_order,
                scale: m.scale,
                add: m.offset,
                scale_factor: m.scale_factor.and_then(|sf| locate(m.table, sf, 1)),
                invalid: Unavailable::new(&m.invalid, m.valid_range),
                field: self.placed(m.field),
                series: self.series_wrapping(
                    self.placed(m.field),
                    m.point.clone(),
                    m.wraps_at.map(|w| w * m.scale),
                ),
            });
        }
        ModbusPlan {
            unit,
            blocks,
            entries,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kilowatch_core::profile::ProfileSet;

    fn device(profile: &str, address: &str) -> Device {
        Device {
            role: Some(Role::Facility),
            ..Device::new(
                "d1",
                "s",
                profile,
                kilowatch_core::address::Address::parse(address).unwrap().0,
            )
        }
    }

    #[test]
    fn modbus_blocks_merge_contiguous_and_never_bridge_gaps() {
        let (set, _) = ProfileSet::load(&[]);
        let plan = Plan::compile(
            &device("eastron-sdm630", "modbus://h:1/3"),
            set.get("eastron-sdm630").unwrap(),
        );
        let PlanKind::Modbus(m) = plan.kind else {
            panic!("modbus plan")
        };
        assert_eq!(m.unit, 3);
        let spans: Vec<(u16, u16)> = m.blocks.iter().map(|b| (b.start, b.count)).collect();
        // 0..18 contiguous (V, A, W per phase); PF L1 at 30; 52, 56, 62 alone; frequency and the
        // import/export energies 70..76 merge; total energy 342 and L1 energy 346 stay apart.
        assert_eq!(
            spans,
            vec![
                (0, 18),
                (30, 2),
                (52, 2),
                (56, 2),
                (62, 2),
                (70, 6),
                (342, 2),
                (346, 2)
            ]
        );
    }

    #[test]
    fn snmp_plan_reads_each_column_once_and_tags_role_on_unpointed_power() {
        let (set, _) = ProfileSet::load(&[]);
        let plan = Plan::compile(
            &device("rfc1628-ups", "snmp://h"),
            set.get("rfc1628-ups").unwrap(),
        );
        let PlanKind::Snmp(s) = &plan.kind else {
            panic!("snmp plan")
        };
        // upsOutputPower is used twice (sum and per line) but walked once.
        let out_power = parse_oid("1.3.6.1.2.1.33.1.4.4.1.4").unwrap();
        assert_eq!(s.walks.iter().filter(|w| **w == out_power).count(), 1);
        let total = s.series[0].as_ref().unwrap();
        assert_eq!(total.tag("role"), Some("facility"));
        let input = s.series[2].as_ref().unwrap();
        assert_eq!(input.tag("role"), None);
        assert_eq!(input.tag("point"), Some("input"));
    }
}
