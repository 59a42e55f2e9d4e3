//! Identity of a benchmark case: a bench name plus its parameter values.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A bench name and the parameter values that make one case of its matrix.
///
/// Displayed as `sort[n=1000,algo=quick]` (parameters sorted by key), or just `sort`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub struct CaseId {
    /// The `name` of the `[[bench]]` entry.
    pub name: String,
    /// Parameter values of this case, as strings.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

impl CaseId {
    /// Builds a case id from a name and `(key, value)` pairs.
    pub fn new<K: Into<String>, V: Into<String>>(
        name: impl Into<String>,
        params: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        CaseId { name: name.into(), params: params.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// Parses the display form back (`sort[n=1000]`); `None` if it is malformed.
    pub fn parse(display: &str) -> Option<CaseId> {
        let Some(open) = display.find('[') else {
            return Some(CaseId::new(display, Vec::<(String, String)>::new()));
        };
        let inner = display[open + 1..].strip_suffix(']')?;
        let mut params = BTreeMap::new();
        for pair in inner.split(',').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=')?;
            params.insert(k.to_string(), v.to_string());
        }
        Some(CaseId { name: display[..open].to_string(), params })
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.params.is_empty() {
            f.write_str("[")?;
            for (i, (k, v)) in self.params.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{k}={v}")?;
            }
            f.write_str("]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        let id = CaseId::new("sort", [("n", "1000"), ("algo", "quick")]);
        assert_eq!(id.to_string(), "sort[algo=quick,n=1000]");
        assert_eq!(CaseId::parse(&id.to_string()), Some(id));
        assert_eq!(CaseId::parse("plain").unwrap().to_string(), "plain");
        assert_eq!(CaseId::parse("bad[n]"), None);
    }
}
