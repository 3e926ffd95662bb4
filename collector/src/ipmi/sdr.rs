//! What the BMC's commands answer, decoded: full sensor records (IPMI 2.0 §43.1) with their
//! linearisation, `Get Sensor Reading` (§35.14), `Get SDR Repository Info` (§33.9) and DCMI
//! `Get Power Reading` (DCMI 1.5 §6.6.1). Pure and total on untrusted bytes.

use super::packet::{PacketError, Reader};

/// A full sensor record: what a sensor is and how to convert its raw reading.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorRecord {
    pub record_id: u16,
    /// Sensor owner (slave address) and LUN: we read only the BMC's own (0x20, LUN 0).
    pub owner: u8,
    pub lun: u8,
    pub number: u8,
    pub entity_id: u8,
    /// Entity instance without the device-relative bit.
    pub entity_instance: u8,
    /// Sensor type code (IPMI 2.0 table 42-3).
    pub sensor_type: u8,
    /// Base unit code (table 43-15).
    pub unit: u8,
    pub name: String,
    pub conversion: Conversion,
}

/// y = L[(M x + B 10^Bexp) 10^Rexp] (IPMI 2.0 §36.3), with x read in `format`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conversion {
    pub format: AnalogFormat,
    /// Linearisation code (table 43-1 byte 24): 0 linear, 1 ln, 2 log10, ... 11 cube root.
    pub linearization: u8,
    pub m: i16,
    pub b: i16,
    pub b_exp: i8,
    pub r_exp: i8,
}

/// How the raw reading byte is signed (sensor units 1, bits 7:6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalogFormat {
    Unsigned,
    OnesComplement,
    TwosComplement,
    /// The sensor gives no analog reading.
    None,
}

/// Sign-extends the low `bits` bits of `v`.
fn signed(v: u16, bits: u32) -> i16 {
    let shift = 16 - bits;
    ((v << shift) as i16) >> shift
}

impl Conversion {
    /// The reading in the record's unit; `None` when the sensor has no analog reading, the
    /// linearisation is an OEM one, or the result is not finite (e.g. 1/0).
    pub fn convert(&self, raw: u8) -> Option<f64> {
        let x = match self.format {
            AnalogFormat::Unsigned => f64::from(raw),
            AnalogFormat::OnesComplement if raw & 0x80 != 0 => -f64::from(!raw & 0x7f),
            AnalogFormat::OnesComplement => f64::from(raw),
            AnalogFormat::TwosComplement => f64::from(raw as i8),
            AnalogFormat::None => return None,
        };
        let y = (f64::from(self.m) * x + f64::from(self.b) * 10f64.powi(self.b_exp.into()))
            * 10f64.powi(self.r_exp.into());
        let v = match self.linearization {
            0 => y,
            1 => y.ln(),
            2 => y.log10(),
            3 => y.log2(),
            4 => y.exp(),
            5 => 10f64.powf(y),
            6 => y.exp2(),
            7 => 1.0 / y,
            8 => y * y,
            9 => y * y * y,
            10 => y.sqrt(),
            11 => y.cbrt(),
            _ => return None,
        };
        v.is_finite().then_some(v)
    }
}

/// SDR record type of a full sensor record (IPMI 2.0 §43.1); the others carry no M and B.
pub(crate) const FULL_SENSOR_RECORD: u8 = 0x01;

/// The record's header: (record ID, record type, body length).
pub(crate) fn record_header(bytes: &[u8]) -> Result<(u16, u8, u8), PacketError> {
    let r = Reader::new("SDR record header", bytes);
    Ok((r.u16(0)?, r.u8(3)?, r.u8(4)?))
}

/// Decodes a full sensor record (header included).
pub fn parse_full_record(bytes: &[u8]) -> Result<SensorRecord, PacketError> {
    let r = Reader::new("full sensor record", bytes);
    let units1 = r.u8(20)?;
    let m_ms = r.u8(25)?;
    let b_ms = r.u8(27)?;
    let exps = r.u8(29)?;
    let id = r.u8(47)?;
    let len = usize::from(id & 0x1f);
    // ID string: 8-bit ASCII+Latin-1 (11b) or Unicode (00b) is shown as is; the packed
    // 6-bit and BCD forms are rare enough to show as their bytes.
    let raw_name = r.bytes(48, len)?;
    let name: String = raw_name
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect::<String>()
        .trim()
        .to_owned();
    Ok(SensorRecord {
        record_id: r.u16(0)?,
        owner: r.u8(5)?,
        lun: r.u8(6)? & 0x03,
        number: r.u8(7)?,
        entity_id: r.u8(8)?,
        entity_instance: r.u8(9)? & 0x7f,
        sensor_type: r.u8(12)?,
        unit: r.u8(21)?,
        name,
        conversion: Conversion {
            format: match units1 >> 6 {
                0 => AnalogFormat::Unsigned,
                1 => AnalogFormat::OnesComplement,
                2 => AnalogFormat::TwosComplement,
                _ => AnalogFormat::None,
            },
            linearization: r.u8(23)? & 0x7f,
            m: signed(u16::from(r.u8(24)?) | (u16::from(m_ms >> 6) << 8), 10),
            b: signed(u16::from(r.u8(26)?) | (u16::from(b_ms >> 6) << 8), 10),
            b_exp: signed(u16::from(exps & 0x0f), 4) as i8,
            r_exp: signed(u16::from(exps >> 4), 4) as i8,
        },
    })
}

/// Why a sensor gave no number this poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SensorFault {
    #[error("reading unavailable")]
    Unavailable,
    #[error("sensor scanning disabled")]
    ScanningDisabled,
    #[error("completion code {0:#04x} ({name})", name = crate::error::completion_name(*.0))]
    Completion(u8),
    #[error("reply too short")]
    Short,
    /// The sensor belongs to another controller: reading it needs bridging, which we do not send.
    #[error("owned by controller {0:#04x} (bridged reads are not supported)")]
    OtherOwner(u8),
}

/// The raw reading byte of a `Get Sensor Reading` reply (data after the completion code).
pub(crate) fn sensor_reading(data: &[u8]) -> Result<u8, SensorFault> {
    match data {
        [_, flags, ..] if flags & 0x20 != 0 => Err(SensorFault::Unavailable),
        [_, flags, ..] if flags & 0x40 == 0 => Err(SensorFault::ScanningDisabled),
        [raw, _, ..] => Ok(*raw),
        _ => Err(SensorFault::Short),
    }
}

/// When the repository last changed: (most recent addition, most recent erase) timestamps of
/// `Get SDR Repository Info`. A change means the records must be read again.
pub(crate) fn repository_stamp(data: &[u8]) -> Result<(u32, u32), PacketError> {
    let r = Reader::new("SDR repository info", data);
    Ok((r.u32(5)?, r.u32(9)?))
}

/// A DCMI power reading (DCMI 1.5 table 6-16), in watts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DcmiPower {
    pub current_w: u16,
    pub minimum_w: u16,
    pub maximum_w: u16,
    pub average_w: u16,
    /// IPMI timestamp of the reading (seconds since 1970).
    pub timestamp: u32,
    /// The statistics reporting period, in milliseconds.
    pub period_ms: u32,
    /// Power reading state bit 6: whether the BMC measures power at all.
    pub active: bool,
}

/// The DCMI group extension identification, first byte of every DCMI reply.
pub(crate) const DCMI_GROUP: u8 = 0xdc;

/// Decodes a `Get Power Reading` reply (data after the completion code).
pub fn dcmi_power(data: &[u8]) -> Result<DcmiPower, PacketError> {
    let r = Reader::new("DCMI power reading", data);
    let group = r.u8(0)?;
    if group != DCMI_GROUP {
        return Err(PacketError::PayloadType {
            got: group,
            want: DCMI_GROUP,
        });
    }
    Ok(DcmiPower {
        current_w: r.u16(1)?,
        minimum_w: r.u16(3)?,
        maximum_w: r.u16(5)?,
        average_w: r.u16(7)?,
        timestamp: r.u32(9)?,
        period_ms: r.u32(13)?,
        active: r.u8(17)? & 0x40 != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(m: i16, b: i16, b_exp: i8, r_exp: i8, format: AnalogFormat) -> Conversion {
        Conversion {
            format,
            linearization: 0,
            m,
            b,
            b_exp,
            r_exp,
        }
    }

    /// Worked by hand from IPMI 2.0 §36.3: y = (M x + B 10^K1) 10^K2.
    #[test]
    fn linearisation_follows_the_spec_formula() {
        // M = 5, B = -40, K1 = 1, K2 = -1: (5 * 131 - 400) / 10 = 25.5.
        assert_eq!(
            conv(5, -40, 1, -1, AnalogFormat::Unsigned).convert(131),
            Some(25.5)
        );
        // M = 2, B = 10, K1 = 1: 2 * 240 + 100 = 580.
        assert_eq!(
            conv(2, 10, 1, 0, AnalogFormat::Unsigned).convert(240),
            Some(580.0)
        );
        // Signed readings: 0xf6 is -10 in two's complement, 0xfe is -1 in ones' complement.
        assert_eq!(
            conv(1, 0, 0, 0, AnalogFormat::TwosComplement).convert(0xf6),
            Some(-10.0)
        );
        assert_eq!(
            conv(1, 0, 0, 0, AnalogFormat::OnesComplement).convert(0xfe),
            Some(-1.0)
        );
        // A typical voltage: M = 59, K2 = -3 (59 mV per count), 0xc8 = 200 -> 11.8 V.
        let v = conv(59, 0, 0, -3, AnalogFormat::Unsigned)
            .convert(200)
            .unwrap();
        assert!((v - 11.8).abs() < 1e-9, "{v}");
        // 1/x of 0 is not a number: no value rather than infinity.
        let inv = Conversion {
            linearization: 7,
            ..conv(1, 0, 0, 0, AnalogFormat::Unsigned)
        };
        assert_eq!(inv.convert(0), None);
        assert_eq!(inv.convert(4), Some(0.25));
        assert_eq!(conv(1, 0, 0, 0, AnalogFormat::None).convert(4), None);
    }

    /// The record of tests/data/ipmi/bmc.emu's 'Inlet Temp', byte for byte.
    const INLET: [u8; 58] = [
        0x00, 0x00, 0x51, 0x01, 0x35, 0x20, 0x00, 0x01, 0x37, 0x01, 0x7f, 0x68, 0x01, 0x01, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0xd8, 0xc0, 0x00, 0xf1,
        0x00, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0xca, 0x49, 0x6e, 0x6c, 0x65, 0x74, 0x20, 0x54, 0x65, 0x6d, 0x70,
    ];

    #[test]
    fn a_full_sensor_record_decodes_its_ten_bit_coefficients_and_exponents() {
        let r = parse_full_record(&INLET).unwrap();
        assert_eq!(r.name, "Inlet Temp");
        assert_eq!((r.owner, r.lun, r.number), (0x20, 0, 1));
        assert_eq!((r.entity_id, r.entity_instance), (0x37, 1));
        assert_eq!((r.sensor_type, r.unit), (0x01, 1));
        assert_eq!(r.conversion, conv(5, -40, 1, -1, AnalogFormat::Unsigned));
        assert_eq!(r.conversion.convert(0x83), Some(25.5));
    }

    #[test]
    fn every_truncated_record_is_an_error() {
        for n in 0..INLET.len() {
            assert!(parse_full_record(&INLET[..n]).is_err(), "length {n}");
        }
    }

    /// A reply laid out as DCMI 1.5 table 6-16: group dch, current 300 W, min 10 W, max 400 W,
    /// average 250 W, timestamp, period 1000 ms, state 40h (measurement active). `ipmitool dcmi
    /// power reading` shows it as "Instantaneous power reading: 300 Watts", ... "Power reading
    /// state is: activated".
    #[test]
    fn dcmi_power_reading_layout() {
        let data = [
            0xdc, 0x2c, 0x01, 0x0a, 0x00, 0x90, 0x01, 0xfa, 0x00, 0x78, 0x56, 0x34, 0x12, 0xe8,
            0x03, 0x00, 0x00, 0x40,
        ];
        assert_eq!(
            dcmi_power(&data).unwrap(),
            DcmiPower {
                current_w: 300,
                minimum_w: 10,
                maximum_w: 400,
                average_w: 250,
                timestamp: 0x1234_5678,
                period_ms: 1000,
                active: true,
            }
        );
        let mut inactive = data;
        inactive[17] = 0x00;
        assert!(!dcmi_power(&inactive).unwrap().active);
        for n in 0..data.len() {
            assert!(dcmi_power(&data[..n]).is_err(), "length {n}");
        }
        let mut other_group = data;
        other_group[0] = 0xdd;
        assert!(dcmi_power(&other_group).is_err());
    }

    #[test]
    fn sensor_reading_flags() {
        assert_eq!(sensor_reading(&[0x83, 0xc0, 0x00]), Ok(0x83));
        assert_eq!(sensor_reading(&[0x83, 0xe0]), Err(SensorFault::Unavailable));
        assert_eq!(
            sensor_reading(&[0x83, 0x80]),
            Err(SensorFault::ScanningDisabled)
        );
        assert_eq!(sensor_reading(&[0x83]), Err(SensorFault::Short));
    }
}
