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
}
