//! Compact, exact binary encodings of sample lists and profiles (stored as BLOB / BYTEA).
//!
//! Samples are the bulk of the store (a case has tens to hundreds), so they are kept as one
//! blob per case (raw samples) and one per summary (its `samples` vector) instead of one row
//! each. Floats are stored as their little-endian IEEE-754 bits, so they read back bit-exact
//! (NaN and infinities included). Profiles are their folded-stack text, gzip-compressed
//! (call paths repeat their outer frames, so they shrink many times over). Every decoder
//! checks lengths and returns [`StoreError::Corrupt`] instead of panicking.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use perfwatch_model::{ExitKind, Profile, Profiler, Sample};

use crate::error::{Result, StoreError};

/// Version byte in front of an encoded raw-sample list.
const RAW_V1: u8 = 1;

/// Version byte in front of a stored profile: one gzip member of its folded-stack text follows.
const PROFILE_V1: u8 = 1;

/// The most folded-stack text a stored profile may inflate to: room for a million call paths
/// of 200 bytes, far above any real profile, and a guard against a blob that inflates
/// without end (a "zip bomb") taking the reader's memory.
const MAX_PROFILE_TEXT: u64 = 256 << 20;

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

/// Encodes a profile (its stacks; the profiler is stored beside it): [`PROFILE_V1`], then
/// the gzip of [`Profile::to_folded`]. [`StoreError::Invalid`] for a call path that folded
/// text cannot hold — one with a line break, or with white space at either end (reading
/// would trim it) — so that whatever is stored reads back equal.
pub(crate) fn encode_profile(profile: &Profile) -> Result<Vec<u8>> {
    if let Some(bad) = profile.stacks.keys().find(|s| s.contains('\n') || s.trim() != s.as_str()) {
        return Err(StoreError::Invalid(format!(
            "the call path {bad:?} cannot be stored as a folded stack (it has a line break or \
             white space at an end)"
        )));
    }
    let text = profile.to_folded();
    let io = |source| StoreError::Io { context: "cannot compress a profile".into(), source };
    let mut gz = flate2::write::GzEncoder::new(vec![PROFILE_V1], flate2::Compression::default());
    gz.write_all(text.as_bytes()).map_err(io)?;
    gz.finish().map_err(io)
}

/// Decodes what [`encode_profile`] wrote, for a profile made by `profiler`.
pub(crate) fn decode_profile(profiler: Profiler, bytes: &[u8]) -> Result<Profile> {
    decode_profile_capped(profiler, bytes, MAX_PROFILE_TEXT)
}

/// [`decode_profile`], refusing text longer than `cap` bytes.
fn decode_profile_capped(profiler: Profiler, bytes: &[u8], cap: u64) -> Result<Profile> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("a stored profile {what}"));
    let Some((&version, gz)) = bytes.split_first() else { return Err(corrupt("is empty")) };
    if version != PROFILE_V1 {
        return Err(corrupt(&format!("has an unknown encoding {version}")));
    }
    // `bufread` leaves what follows the gzip member in `gz`, to be checked below.
    let mut decoder = flate2::bufread::GzDecoder::new(gz);
    let mut text = Vec::new();
    (&mut decoder)
        .take(cap.saturating_add(1))
        .read_to_end(&mut text)
        .map_err(|e| corrupt(&format!("does not inflate: {e}")))?;
    if text.len() as u64 > cap {
        return Err(corrupt(&format!("inflates to more than {cap} bytes")));
    }
    if !decoder.into_inner().is_empty() {
        return Err(corrupt("has trailing bytes after its gzip data"));
    }
    let text = String::from_utf8(text).map_err(|_| corrupt("is not UTF-8"))?;
    Profile::from_folded(profiler, &text).map_err(|e| corrupt(&format!("is not folded stacks: {e}")))
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

    fn profile(stacks: &[(&str, u64)]) -> Profile {
        Profile {
            profiler: Profiler::Callgrind,
            stacks: stacks.iter().map(|(s, c)| (s.to_string(), *c)).collect(),
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(vec![PROFILE_V1], flate2::Compression::fast());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    fn is_corrupt(r: Result<Profile>) -> bool {
        matches!(r, Err(StoreError::Corrupt(_)))
    }

    #[test]
    fn profiles_round_trip_compressed() {
        let mut stacks: Vec<(String, u64)> = (0..2000)
            .map(|i| (format!("main;run_bench;std::vec::Vec<T> as Drop>::drop;f{i}"), u64::MAX / 4 - i))
            .collect();
        stacks.push(("main;ünï😀code frame (anon)".into(), 1));
        stacks.push((String::new(), 0));
        let p = Profile { profiler: Profiler::PySpy, stacks: stacks.into_iter().collect() };
        let bytes = encode_profile(&p).unwrap();
        assert_eq!(bytes[0], PROFILE_V1);
        assert!(bytes.len() * 10 < p.to_folded().len(), "{} bytes", bytes.len());
        assert_eq!(decode_profile(Profiler::PySpy, &bytes).unwrap(), p);
        let empty = profile(&[]);
        assert_eq!(decode_profile(Profiler::Callgrind, &encode_profile(&empty).unwrap()).unwrap(), empty);
    }

    #[test]
    fn call_paths_folded_text_cannot_hold_are_refused() {
        for bad in ["a;b\nc", " main;f", "main;f ", "main;f\t", "a\r\nb"] {
            let err = encode_profile(&profile(&[("ok", 1), (bad, 2)])).unwrap_err();
            assert!(matches!(err, StoreError::Invalid(_)), "{bad:?}: {err}");
        }
        encode_profile(&profile(&[("main;a b;c\td", 1)])).unwrap();
    }

    #[test]
    fn garbage_profiles_are_corrupt_not_a_panic() {
        let good = encode_profile(&profile(&[("main;f", 3), ("main;g", 4)])).unwrap();
        for cut in 0..good.len() {
            assert!(is_corrupt(decode_profile(Profiler::Perf, &good[..cut])), "cut at {cut}");
        }
        let mut flipped = good.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0xff;
        assert!(is_corrupt(decode_profile(Profiler::Perf, &flipped)));
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(is_corrupt(decode_profile(Profiler::Perf, &trailing)));
        let mut v2 = good;
        v2[0] = 2;
        assert!(is_corrupt(decode_profile(Profiler::Perf, &v2)));
        let mut noise = vec![PROFILE_V1];
        noise.extend((0u32..4096).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        assert!(is_corrupt(decode_profile(Profiler::Perf, &noise)));
        // Well-formed gzip of text that is not folded stacks, or not UTF-8.
        assert!(is_corrupt(decode_profile(Profiler::Perf, &gzip(b"main;f\n"))));
        assert!(is_corrupt(decode_profile(Profiler::Perf, &gzip(b"main;f -1\n"))));
        assert!(is_corrupt(decode_profile(Profiler::Perf, &gzip(b"main;\xff 1\n"))));
    }

    #[test]
    fn profiles_inflating_past_the_cap_are_corrupt() {
        assert_eq!(MAX_PROFILE_TEXT, 256 * 1024 * 1024);
        // 1 MiB of one line inflates past a 64 KiB cap; at the cap exactly it is fine.
        let mut line = "a".repeat((1 << 20) - 3);
        line.push_str(" 1\n");
        let bomb = gzip(line.as_bytes());
        assert!(bomb.len() < 16 << 10, "{} bytes", bomb.len());
        let r = decode_profile_capped(Profiler::Perf, &bomb, 64 << 10);
        assert!(matches!(&r, Err(StoreError::Corrupt(m)) if m.contains("more than")), "{r:?}");
        let p = decode_profile_capped(Profiler::Perf, &bomb, 1 << 20).unwrap();
        assert_eq!(p.total(), 1);
    }
}
