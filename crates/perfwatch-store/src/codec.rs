//! Compact, exact binary encodings of sample lists (stored as BLOB / BYTEA).
//!
//! Samples are the bulk of the store (a case has tens to hundreds), so they are kept as one
//! blob per case (raw samples) and one per summary (its `samples` vector) instead of one row
//! each. Floats are stored as their little-endian IEEE-754 bits, so they read back bit-exact
//! (NaN and infinities included). Every decoder checks lengths and returns
//! [`StoreError::Corrupt`] instead of panicking.

use std::collections::BTreeMap;

use perfwatch_model::{ExitKind, Sample};

use crate::error::{Result, StoreError};

/// Version byte in front of an encoded raw-sample list.
const RAW_V1: u8 = 1;

/// Encodes a list of `f64` as `8 × n` little-endian bytes.
pub(crate) fn encode_f64s(values: &[f64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 8);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Decodes what [`encode_f64s`] wrote.
pub(crate) fn decode_f64s(bytes: &[u8]) -> Result<Vec<f64>> {
    if bytes.len() % 8 != 0 {
        return Err(StoreError::Corrupt(format!(
            "a sample vector of {} bytes is not a multiple of 8",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            f64::from_le_bytes(b)
        })
        .collect())
}

/// Encodes raw samples: a version byte, a count, then per sample `wall user sys` (f64),
/// `max_rss` (u64), the exit kind (tag + payload) and the custom metrics (count, then
/// length-prefixed UTF-8 name and f64 value each).
pub(crate) fn encode_samples(samples: &[Sample]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + samples.len() * 40);
    out.push(RAW_V1);
    put_len(&mut out, samples.len());
    for s in samples {
        out.extend_from_slice(&s.wall.to_le_bytes());
        out.extend_from_slice(&s.user.to_le_bytes());
        out.extend_from_slice(&s.sys.to_le_bytes());
        out.extend_from_slice(&s.max_rss.to_le_bytes());
        match &s.exit {
            ExitKind::Exited { code } => {
                out.push(0);
                out.extend_from_slice(&code.to_le_bytes());
            }
            ExitKind::Signaled { signal } => {
                out.push(1);
                out.extend_from_slice(&signal.to_le_bytes());
            }
            ExitKind::TimedOut => out.push(2),
            ExitKind::SpawnFailed { message } => {
                out.push(3);
                put_str(&mut out, message);
            }
        }
        put_len(&mut out, s.metrics.len());
        for (name, value) in &s.metrics {
            put_str(&mut out, name);
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    out
}

/// Decodes what [`encode_samples`] wrote.
pub(crate) fn decode_samples(bytes: &[u8]) -> Result<Vec<Sample>> {
    let mut r = Reader { bytes, pos: 0 };
    let version = r.u8()?;
    if version != RAW_V1 {
        return Err(StoreError::Corrupt(format!("unknown raw-sample encoding {version}")));
    }
    let n = r.len()?;
    // Each sample takes at least 37 bytes: never trust a count the bytes cannot hold.
    let mut out = Vec::with_capacity(n.min(bytes.len() / 37));
    for _ in 0..n {
        let wall = r.f64()?;
        let user = r.f64()?;
        let sys = r.f64()?;
        let max_rss = u64::from_le_bytes(r.array()?);
        let exit = match r.u8()? {
            0 => ExitKind::Exited { code: i32::from_le_bytes(r.array()?) },
            1 => ExitKind::Signaled { signal: i32::from_le_bytes(r.array()?) },
            2 => ExitKind::TimedOut,
            3 => ExitKind::SpawnFailed { message: r.string()? },
            tag => return Err(StoreError::Corrupt(format!("unknown exit tag {tag}"))),
        };
        let m = r.len()?;
        let mut metrics = BTreeMap::new();
        for _ in 0..m {
            let name = r.string()?;
            let value = r.f64()?;
            metrics.insert(name, value);
        }
        out.push(Sample { wall, user, sys, max_rss, exit, metrics });
    }
    if r.pos != bytes.len() {
        return Err(StoreError::Corrupt("trailing bytes after the raw samples".into()));
    }
    Ok(out)
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    // Lengths above u32::MAX cannot occur for in-memory reports we can also serialize;
    // saturate rather than panic (the decoder would then report corruption).
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| StoreError::Corrupt("raw samples end early".into()))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    fn len(&mut self) -> Result<usize> {
        Ok(u32::from_le_bytes(self.array()?) as usize)
    }

    fn string(&mut self) -> Result<String> {
        let n = self.len()?;
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| StoreError::Corrupt("a name in the raw samples is not UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_round_trip_bit_exact() {
        let samples = vec![
            Sample {
                wall: 0.1 + 0.2,
                user: f64::MIN_POSITIVE,
                sys: -0.0,
                max_rss: u64::MAX,
                exit: ExitKind::Exited { code: -3 },
                metrics: [("hit rate \"x\"".to_string(), f64::INFINITY)].into(),
            },
            Sample {
                wall: 1e300,
                user: 0.0,
                sys: 0.0,
                max_rss: 0,
                exit: ExitKind::SpawnFailed { message: "nö such file".into() },
                metrics: BTreeMap::new(),
            },
            Sample {
                wall: 1.0,
                user: 0.0,
                sys: 0.0,
                max_rss: 1,
                exit: ExitKind::TimedOut,
                metrics: BTreeMap::new(),
            },
        ];
        let bytes = encode_samples(&samples);
        assert_eq!(decode_samples(&bytes).unwrap(), samples);
        assert_eq!(decode_samples(&encode_samples(&[])).unwrap(), Vec::<Sample>::new());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let bytes = encode_samples(&[Sample {
            wall: 1.0,
            user: 0.0,
            sys: 0.0,
            max_rss: 1,
            exit: ExitKind::Signaled { signal: 9 },
            metrics: [("m".to_string(), 1.0)].into(),
        }]);
        for cut in 0..bytes.len() {
            assert!(decode_samples(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode_samples(&[1, 255, 255, 255, 255]).is_err());
        assert!(decode_samples(&[9]).is_err());
        assert!(decode_f64s(&[0; 7]).is_err());
        let f = [1.5, f64::NEG_INFINITY, -0.0];
        assert_eq!(decode_f64s(&encode_f64s(&f)).unwrap(), f);
    }
}
