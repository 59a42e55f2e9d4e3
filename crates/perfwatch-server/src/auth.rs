//! Credentials of a request (`Bearer` or HTTP Basic with the token as password) and the
//! per-token rate limit. Tokens themselves — making, hashing, checking in constant time — are
//! `perfwatch_app::team`'s.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine;

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

/// Most keys a [`Limiter`] tracks. Keys are token names (few) or client addresses (as many as
/// an attacker has); at the cap, buckets that have refilled are forgotten, and a new key
/// beyond them is not limited rather than growing the map without bound.
const MAX_BUCKETS: usize = 100_000;

/// A token bucket per key (a token name, or a client address for failed authentications).
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Limiter {
        Limiter { limit, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request from `key`'s bucket; `Err(wait)` when it is empty.
    pub(crate) fn check(&self, key: &str) -> Result<(), Duration> {
        self.update(key, true)
    }

    /// Whether `key`'s bucket is empty (`Err(wait)`), without taking from it.
    pub(crate) fn peek(&self, key: &str) -> Result<(), Duration> {
        self.update(key, false)
    }

    fn update(&self, key: &str, take: bool) -> Result<(), Duration> {
        let now = Instant::now();
        let burst = f64::from(self.limit.burst.max(1));
        let rate = self.limit.per_second.max(1e-9);
        let refilled =
            |(level, last): &(f64, Instant)| level + now.duration_since(*last).as_secs_f64() * rate;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if !buckets.contains_key(key) {
            if !take {
                return Ok(());
            }
            if buckets.len() >= MAX_BUCKETS {
                buckets.retain(|_, b| refilled(b) < burst);
                if buckets.len() >= MAX_BUCKETS {
                    return Ok(());
                }
            }
        }
        let bucket = buckets.entry(key.to_string()).or_insert((burst, now));
        let level = refilled(bucket).min(burst);
        *bucket = (level, now);
        if level < 1.0 {
            return Err(Duration::from_secs_f64((1.0 - level) / rate));
        }
        if take {
            bucket.0 -= 1.0;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

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
        // One token a second: the fourth check is refused however slow the machine is
        // (at 1000/s, a loaded CI machine refilled a token between two checks).
        let l = Limiter::new(RateLimit { per_second: 1.0, burst: 3 });
        assert!(l.check("a").is_ok() && l.check("a").is_ok() && l.check("a").is_ok());
        let wait = l.check("a").unwrap_err();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert!(l.check("b").is_ok(), "buckets are per token");
        // Refill: at 1000 per second, an emptied bucket holds a token again after 5 ms.
        let fast = Limiter::new(RateLimit { per_second: 1000.0, burst: 1 });
        assert!(fast.check("a").is_ok());
        std::thread::sleep(Duration::from_millis(5));
        assert!(fast.check("a").is_ok());
    }

    #[test]
    fn peeking_takes_nothing() {
        let l = Limiter::new(RateLimit { per_second: 0.001, burst: 2 });
        assert!(l.peek("ip").is_ok(), "an unknown key is not limited");
        assert!(l.check("ip").is_ok() && l.peek("ip").is_ok() && l.peek("ip").is_ok());
        assert!(l.check("ip").is_ok());
        assert!(l.peek("ip").is_err() && l.check("ip").is_err(), "two failures empty a bucket of two");
        assert!(l.peek("other").is_ok());
    }
}
