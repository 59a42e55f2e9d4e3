//! API tokens of `perfwatch serve`: making them, hashing them, checking a presented one, and
//! the per-token rate limit.
//!
//! A token is `pw_` followed by 64 hex digits: 32 bytes (256 bits) from the operating
//! system's random source. Only its SHA-256 is stored; the secret is shown once, when it is
//! created. A presented token is hashed and compared with *every* active token's hash in
//! constant time ([`subtle`]), so neither the answer nor its timing says how much of a guess
//! was right.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine;
use perfwatch_store::TokenHash;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What every token starts with, so that a leaked one is easy to recognise (and to scan for).
pub const TOKEN_PREFIX: &str = "pw_";

/// A new random token secret: `pw_` and 64 hex digits (32 bytes from the OS).
pub fn generate_token() -> Result<String, crate::ServerError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| crate::ServerError::Io {
        context: "cannot read the system's random source".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(format!("{TOKEN_PREFIX}{}", hex(&bytes)))
}

/// The lowercase hex SHA-256 of a token secret: what the store keeps.
pub fn hash_token(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// The active token whose hash matches `secret`, comparing with every one of them in constant
/// time (no early exit).
pub(crate) fn find_token<'a>(secret: &str, active: &'a [TokenHash]) -> Option<&'a TokenHash> {
    let presented = hash_token(secret);
    let mut found = None;
    for t in active {
        let eq: bool = presented.as_bytes().ct_eq(t.hash.as_bytes()).into();
        if eq {
            found = Some(t);
        }
    }
    found
}

/// Why a request carries no usable credentials.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Presented {
    /// No `Authorization` header.
    Missing,
    /// A header that is neither `Bearer TOKEN` nor `Basic` with the token as password.
    Malformed,
    /// The secret.
    Token(String),
}

/// The token of a request: `Authorization: Bearer TOKEN`, or HTTP Basic with the token as the
/// password (any user name) so that a browser can open a `--private` dashboard.
pub(crate) fn presented(headers: &HeaderMap) -> Presented {
    let Some(value) = headers.get(AUTHORIZATION) else { return Presented::Missing };
    let Ok(value) = value.to_str() else { return Presented::Malformed };
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        return Presented::Token(rest.to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(rest).ok();
        let text = decoded.and_then(|d| String::from_utf8(d).ok());
        if let Some((_, password)) = text.as_deref().and_then(|t| t.split_once(':'))
            && !password.is_empty()
        {
            return Presented::Token(password.to_string());
        }
    }
    Presented::Malformed
}

/// Requests per second allowed per token, with bursts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Requests that may arrive at once after a quiet spell.
    pub burst: u32,
}

/// One token bucket per token name.
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Limiter {
        Limiter { limit, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request from `name`'s bucket; `Err(wait)` when it is empty.
    pub(crate) fn check(&self, name: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let burst = f64::from(self.limit.burst.max(1));
        let rate = self.limit.per_second.max(1e-9);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let (level, last) = buckets.entry(name.to_string()).or_insert((burst, now));
        *level = (*level + now.duration_since(*last).as_secs_f64() * rate).min(burst);
        *last = now;
        if *level >= 1.0 {
            *level -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *level) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use perfwatch_store::TokenScope;

    #[test]
    fn tokens_are_random_prefixed_and_hashed() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("pw_") && a.len() == 67, "{a}");
        assert!(a[3..].bytes().all(|c| c.is_ascii_hexdigit()));
        // sha256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let active = vec![
            TokenHash { name: "r".into(), scope: TokenScope::Read, hash: hash_token(&a) },
            TokenHash { name: "w".into(), scope: TokenScope::Write, hash: hash_token(&b) },
        ];
        assert_eq!(find_token(&a, &active).map(|t| t.name.as_str()), Some("r"));
        assert_eq!(find_token(&b, &active).map(|t| t.name.as_str()), Some("w"));
        assert_eq!(find_token(&a[..66], &active), None);
        assert_eq!(find_token(&active[0].hash, &active), None, "the hash itself is no token");
    }

    #[test]
    fn bearer_and_basic_credentials() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            presented(&h)
        };
        assert_eq!(presented(&HeaderMap::new()), Presented::Missing);
        assert_eq!(with("Bearer pw_x"), Presented::Token("pw_x".into()));
        assert_eq!(with("bearer   pw_x "), Presented::Token("pw_x".into()));
        // "user:pw_y"
        assert_eq!(with("Basic dXNlcjpwd195"), Presented::Token("pw_y".into()));
        assert_eq!(with("Basic !!!"), Presented::Malformed);
        assert_eq!(with("Bearer"), Presented::Malformed);
        assert_eq!(with("Token pw_x"), Presented::Malformed);
    }

    #[test]
    fn rate_limit_refills_over_time() {
        let l = Limiter::new(RateLimit { per_second: 1000.0, burst: 3 });
        assert!(l.check("a").is_ok() && l.check("a").is_ok() && l.check("a").is_ok());
        let wait = l.check("a").unwrap_err();
        assert!(wait <= Duration::from_millis(1), "{wait:?}");
        assert!(l.check("b").is_ok(), "buckets are per token");
        std::thread::sleep(Duration::from_millis(5));
        assert!(l.check("a").is_ok());
    }
}
