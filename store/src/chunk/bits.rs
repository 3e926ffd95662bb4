//! The bit streams a chunk is made of: bits most significant first, bucketed integers
//! (`0`, `10`, `110`, `1110` prefixes and a raw 64-bit escape), zigzag and varints.

use super::ChunkError;

pub(super) fn bucket_bits(x: u64, widths: &[u32; 3]) -> u32 {
    match x {
        0 => 1,
        x if x < 1 << widths[0] => 2 + widths[0],
        x if x < 1 << widths[1] => 3 + widths[1],
        x if x < 1 << widths[2] => 4 + widths[2],
        _ => 4 + 64,
    }
}

pub(super) struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    n: u32,
}

impl<'a> BitWriter<'a> {
    pub(super) fn new(out: &'a mut Vec<u8>) -> BitWriter<'a> {
        BitWriter { out, acc: 0, n: 0 }
    }

    /// Writes the low `bits` bits of `v`, most significant first.
    pub(super) fn put(&mut self, v: u64, bits: u32) {
        if bits > 32 {
            self.put(v >> 32, bits - 32);
            self.put(v & 0xFFFF_FFFF, 32);
            return;
        }
        if bits == 0 {
            return;
        }
        self.acc = (self.acc << bits) | (v & ((1u64 << bits) - 1));
        self.n += bits;
        while self.n >= 8 {
            self.n -= 8;
            self.out.push((self.acc >> self.n) as u8);
        }
    }

    /// `0`, `10`, `110`, `1110` prefixes for the three widths and a raw 64-bit value.
    pub(super) fn bucketed(&mut self, x: u64, widths: &[u32; 3]) {
        match x {
            0 => self.put(0, 1),
            x if x < 1 << widths[0] => {
                self.put(0b10, 2);
                self.put(x, widths[0]);
            }
            x if x < 1 << widths[1] => {
                self.put(0b110, 3);
                self.put(x, widths[1]);
            }
            x if x < 1 << widths[2] => {
                self.put(0b1110, 4);
                self.put(x, widths[2]);
            }
            x => {
                self.put(0b1111, 4);
                self.put(x, 64);
            }
        }
    }

    pub(super) fn finish(mut self) {
        if self.n > 0 {
            let pad = 8 - self.n;
            self.put(0, pad);
        }
    }
}

pub(super) struct BitReader<'a> {
    data: &'a [u8],
    /// Upcoming bits, left-aligned.
    buf: u64,
    avail: u32,
}

impl<'a> BitReader<'a> {
    pub(super) fn new(data: &'a [u8]) -> BitReader<'a> {
        BitReader {
            data,
            buf: 0,
            avail: 0,
        }
    }

    #[inline]
    pub(super) fn refill(&mut self) {
        if self.avail <= 56
            && let Some(word) = self.data.first_chunk::<8>()
        {
            // Whole bytes that fit, in one step.
            let take = (64 - self.avail) / 8;
            let word = u64::from_be_bytes(*word);
            self.buf |= (word >> (64 - take * 8)) << (64 - self.avail - take * 8);
            self.avail += take * 8;
            self.data = &self.data[take as usize..];
            return;
        }
        while self.avail <= 56 {
            let Some((&b, rest)) = self.data.split_first() else {
                return;
            };
            self.data = rest;
            self.buf |= u64::from(b) << (56 - self.avail);
            self.avail += 8;
        }
    }

    #[inline]
    pub(super) fn get(&mut self, bits: u32) -> Result<u64, ChunkError> {
        if bits > 32 {
            let hi = self.get(bits - 32)?;
            return Ok((hi << 32) | self.get(32)?);
        }
        if bits == 0 {
            return Ok(0);
        }
        if self.avail < bits {
            self.refill();
            if self.avail < bits {
                return Err(ChunkError::Truncated);
            }
        }
        let v = self.buf >> (64 - bits);
        self.buf <<= bits;
        self.avail -= bits;
        Ok(v)
    }

    /// Zero bits ahead (a run of zero codes), at most what is buffered.
    #[inline(always)]
    pub(super) fn zeros(&mut self) -> u32 {
        if self.avail < 32 {
            self.refill();
        }
        self.buf.leading_zeros().min(self.avail)
    }

    /// Drops `bits` (at most what [`BitReader::zeros`] reported).
    #[inline(always)]
    pub(super) fn skip(&mut self, bits: u32) {
        self.buf = if bits >= 64 { 0 } else { self.buf << bits };
        self.avail -= bits;
    }

    #[inline(always)]
    pub(super) fn bucketed(&mut self, widths: &[u32; 3]) -> Result<u64, ChunkError> {
        if self.avail < 32 {
            self.refill();
        }
        // Bits past `avail` are zero, so the prefix's ones cannot run past the data.
        let (prefix, width) = match self.buf.leading_ones() {
            0 => (1, 0),
            1 => (2, widths[0]),
            2 => (3, widths[1]),
            3 => (4, widths[2]),
            _ => {
                self.get(4)?;
                return self.get(64);
            }
        };
        let total = prefix + width;
        if total > self.avail {
            return Err(ChunkError::Truncated);
        }
        let v = if width == 0 {
            0
        } else {
            (self.buf << prefix) >> (64 - width)
        };
        self.buf <<= total;
        self.avail -= total;
        Ok(v)
    }
}

pub(super) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(super) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn get_varint(r: &mut &[u8]) -> Result<u64, ChunkError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = r.split_first().ok_or(ChunkError::Truncated)?;
        *r = rest;
        v |= u64::from(b & 0x7F) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(ChunkError::Malformed("varint longer than 64 bits"))
}
