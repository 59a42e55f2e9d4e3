//! API tokens of the team server (`perfwatch token`, and the server's check of a presented
//! one).
//!
//! A token is `pw_` followed by 64 hex digits: 32 bytes (256 bits) from the operating
//! system's random source. Only its SHA-256 is stored; the secret is shown once, when it is
//! created. A presented token is hashed and compared with *every* active token's hash in
//! constant time (`subtle`), so neither the answer nor its timing says how much of a guess
//! was right.

use perfwatch_store::{Store, TokenHash, TokenInfo, TokenScope};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{AppError, Result, StoreContext};

/// What every token starts with, so that a leaked one is easy to recognise (and to scan for).
pub const TOKEN_PREFIX: &str = "pw_";

/// A new random token secret: `pw_` and 64 hex digits (32 bytes from the OS).
pub fn generate_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        AppError::io("cannot read the system's random source", std::io::Error::other(e.to_string()))
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
pub fn find_token<'a>(secret: &str, active: &'a [TokenHash]) -> Option<&'a TokenHash> {
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

/// Creates a token named `name`; returns its secret (the store keeps only the hash).
pub fn create(store: &mut dyn Store, name: &str, scope: TokenScope) -> Result<String> {
    let secret = generate_token()?;
    store
        .create_token(name, scope, &hash_token(&secret))
        .store_context(|| format!("creating token {name}"))?;
    Ok(secret)
}

/// Every token, active or revoked (never a secret).
pub fn list(store: &mut dyn Store) -> Result<Vec<TokenInfo>> {
    store.list_tokens().store_context(|| "listing tokens".into())
}

/// Revokes the active token `name`.
pub fn revoke(store: &mut dyn Store, name: &str) -> Result<()> {
    if store.revoke_token(name).store_context(|| format!("revoking token {name}"))? {
        Ok(())
    } else {
        Err(AppError::usage(format!("no active token named {name}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_hashed_with_sha256() {
        let (a, b) = (generate_token().unwrap(), generate_token().unwrap());
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == 3 + 64, "{a}");
        assert!(a[3..].bytes().all(|c| c.is_ascii_hexdigit()));
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
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
}
