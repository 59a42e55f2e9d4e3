//! Typed JSON reading with located errors: serde_json's line and column plus the path of the
//! offending value.

use serde::de::DeserializeOwned;

use crate::ImportError;

/// Parses `text` as `T`; a syntax error or a value of the wrong shape says where.
pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, ImportError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        located(&inner, Some(path))
    })?;
    de.end().map_err(|e| located(&e, None))?;
    Ok(value)
}

fn located(e: &serde_json::Error, path: Option<String>) -> ImportError {
    let message = match e.classify() {
        serde_json::error::Category::Eof => "the file ends too early (truncated?)".to_string(),
        _ => strip_position(&e.to_string()),
    };
    ImportError {
        line: (e.line() > 0).then_some(e.line()),
        column: (e.column() > 0).then_some(e.column()),
        path,
        message,
    }
}

/// serde_json appends " at line L column C" to its messages; the error says that already.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Doc {
        results: Vec<Item>,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Item {
        mean: f64,
    }

    #[test]
    fn wrong_types_name_their_path_line_and_column() {
        let e = from_str::<Doc>("{\"results\": [{\"mean\": 1.0},\n {\"mean\": \"x\"}]}").unwrap_err();
        assert_eq!(e.path.as_deref(), Some("results[1].mean"));
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("invalid type: string"), "{e}");
    }

    #[test]
    fn truncation_says_so() {
        let e = from_str::<Doc>("{\"results\": [{\"mean\": 1").unwrap_err();
        assert!(e.message.contains("truncated"), "{e}");
        assert!(e.line.is_some());
        assert!(from_str::<Doc>("{\"results\": []} x").is_err());
    }
}
