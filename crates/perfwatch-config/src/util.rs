//! Small helpers: near-miss suggestions, line/column computation, spans inside strings, hashing.

use std::ops::Range;

/// The candidate closest to `word` if it is close enough to be a plausible typo.
pub(crate) fn near_miss<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|&(d, c)| d <= limit && d < c.chars().count().max(word.chars().count()))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// 1-based line and column (in characters) of byte `offset` in `source`.
pub(crate) fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The byte range in the file of `inner` (a range inside the decoded string `value`) when the
/// string literal at `span` spells `value` verbatim (no escapes, no trimmed newline); otherwise
/// the whole literal's span.
pub(crate) fn span_in_string(
    source: &str,
    span: &Range<usize>,
    value: &str,
    inner: Range<usize>,
) -> Range<usize> {
    let Some(raw) = source.get(span.clone()) else {
        return span.clone();
    };
    for quote in ["\"\"\"", "'''", "\"", "'"] {
        if raw.len() >= 2 * quote.len()
            && raw.starts_with(quote)
            && raw.ends_with(quote)
            && &raw[quote.len()..raw.len() - quote.len()] == value
        {
            let start = span.start + quote.len();
            return start + inner.start..start + inner.end;
        }
    }
    span.clone()
}

/// FNV-1a, 64 bits, as 16 lowercase hex digits: a stable hash of the suite file.
pub(crate) fn fnv1a64_hex(bytes: &[u8]) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = bytes.iter().fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    format!("{hash:016x}")
}

/// `a`, `a and b`, `a, b and c` with backticks.
pub(crate) fn list_names<S: AsRef<str>>(names: &[S]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{}`", n.as_ref())).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses() {
        let keys = ["command", "shell", "name", "cwd"];
        assert_eq!(near_miss("comand", keys), Some("command"));
        assert_eq!(near_miss("commadn", keys), Some("command"));
        assert_eq!(near_miss("nmae", keys), Some("name"));
        assert_eq!(near_miss("xyzzy", keys), None);
        assert_eq!(near_miss("cw", keys), Some("cwd"));
        assert_eq!(near_miss("a", ["b"]), None);
    }

    #[test]
    fn line_columns() {
        let src = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 4), (1, 5));
        assert_eq!(line_col(src, 6), (2, 1));
        assert_eq!(line_col(src, 11), (2, 5));
        assert_eq!(line_col(src, 1000), (3, 1));
    }

    #[test]
    fn spans_inside_strings() {
        let src = r#"x = "ab{n}" y = "a\tb{n}""#;
        assert_eq!(span_in_string(src, &(4..11), "ab{n}", 2..5), 7..10);
        assert_eq!(span_in_string(src, &(16..25), "a\tb{n}", 3..6), 16..25);
    }

    #[test]
    fn fnv_is_stable() {
        assert_eq!(fnv1a64_hex(b""), "cbf29ce484222325");
        assert_eq!(fnv1a64_hex(b"a"), "af63dc4c8601ec8c");
    }

    #[test]
    fn lists() {
        assert_eq!(list_names(&["a"]), "`a`");
        assert_eq!(list_names(&["a", "b", "c"]), "`a`, `b` and `c`");
        assert_eq!(list_names::<&str>(&[]), "");
    }
}
