//! `{placeholder}` templates: `{n}` is replaced by the case's value of parameter `n`; `{{` and
//! `}}` stand for literal braces.

use std::collections::BTreeMap;
use std::ops::Range;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    /// Text copied as is (braces already unescaped).
    Lit(String),
    /// A parameter reference; `range` is the byte range of `{name}` in the template text.
    Param { name: String, range: Range<usize> },
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    segs: Vec<Seg>,
}

/// A malformed template: a message, the byte range in the template text, and a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TemplateError {
    pub message: String,
    pub range: Range<usize>,
    pub help: String,
}

impl Template {
    /// Parses `text`; an unmatched brace or an empty `{}` is an error.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut segs = Vec::new();
        let mut lit = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if matches!(chars.peek(), Some((_, '{'))) => {
                    chars.next();
                    lit.push('{');
                }
                '}' if matches!(chars.peek(), Some((_, '}'))) => {
                    chars.next();
                    lit.push('}');
                }
                '}' => {
                    return Err(TemplateError {
                        message: "unmatched `}` in a template".into(),
                        range: i..i + 1,
                        help: "write `}}` for a literal `}`".into(),
                    });
                }
                '{' => {
                    let rest = &text[i + 1..];
                    let close = rest.find(['}', '{']);
                    match close {
                        Some(j) if rest.as_bytes()[j] == b'}' => {
                            let name = &rest[..j];
                            let range = i..i + j + 2;
                            if name.trim().is_empty() {
                                return Err(TemplateError {
                                    message: "empty placeholder `{}`".into(),
                                    range,
                                    help: "name a parameter, e.g. `{n}`, or write `{{}}` for literal braces"
                                        .into(),
                                });
                            }
                            if !lit.is_empty() {
                                segs.push(Seg::Lit(std::mem::take(&mut lit)));
                            }
                            segs.push(Seg::Param { name: name.to_string(), range });
                            // Skip the name and the closing brace.
                            while let Some(&(k, _)) = chars.peek() {
                                if k > i + j + 1 {
                                    break;
                                }
                                chars.next();
                            }
                        }
                        _ => {
                            return Err(TemplateError {
                                message: "unclosed `{` in a template".into(),
                                range: i..i + 1,
                                help: "close the placeholder as in `{n}`, or write `{{` for a literal `{`"
                                    .into(),
                            });
                        }
                    }
                }
                _ => lit.push(c),
            }
        }
        if !lit.is_empty() {
            segs.push(Seg::Lit(lit));
        }
        Ok(Template { segs })
    }

    /// The placeholders, in order, with their byte ranges in the template text.
    pub fn placeholders(&self) -> impl Iterator<Item = (&str, Range<usize>)> {
        self.segs.iter().filter_map(|s| match s {
            Seg::Param { name, range } => Some((name.as_str(), range.clone())),
            Seg::Lit(_) => None,
        })
    }

    /// Substitutes the placeholders. A name missing from `values` is kept as `{name}` (callers
    /// check the names first).
    pub fn render(&self, values: &BTreeMap<String, String>) -> String {
        self.render_with(values, |v, out| out.push_str(v))
    }

    /// Substitutes the placeholders into a string that `sh -c` runs, each value as one shell
    /// word ([`shell_word`]): a value like `a b; rm -rf x` stays one argument.
    pub fn render_shell(&self, values: &BTreeMap<String, String>) -> String {
        self.render_with(values, |v, out| out.push_str(&shell_word(v)))
    }

    fn render_with(&self, values: &BTreeMap<String, String>, put: impl Fn(&str, &mut String)) -> String {
        let mut out = String::new();
        for seg in &self.segs {
            match seg {
                Seg::Lit(text) => out.push_str(text),
                Seg::Param { name, .. } => match values.get(name) {
                    Some(v) => put(v, &mut out),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                },
            }
        }
        out
    }
}

/// `value` as one POSIX shell word: unchanged when made only of characters no shell treats
/// specially (letters, digits, `_ . / : = , + - @ %`), else in single quotes with each `'`
/// written as `'\''` (POSIX.1-2017, Shell Command Language §2.2.3: nothing inside single
/// quotes is special).
pub fn shell_word(value: &str) -> String {
    let plain =
        !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || "_./:=,+-@%".contains(c));
    if plain { value.to_string() } else { format!("'{}'", value.replace('\'', "'\\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_survive_sh() {
        for value in ["1000", "a b", "it's", "$(touch x); `y` *", "", "tab\there", "\\n"] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf '%s|' {}", shell_word(value)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{value}|"), "{value:?}");
        }
        assert_eq!(shell_word("n=10,m-2"), "n=10,m-2");
    }

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn substitutes_placeholders() {
        let t = Template::parse("sort --n {n} -k{key}").unwrap();
        assert_eq!(t.render(&values(&[("n", "1000"), ("key", "2")])), "sort --n 1000 -k2");
        let names: Vec<_> = t.placeholders().collect();
        assert_eq!(names, vec![("n", 9..12), ("key", 15..20)]);
    }

    #[test]
    fn escapes_are_literal_braces() {
        let t = Template::parse("awk '{{ print {n} }}' x{{y}}").unwrap();
        assert_eq!(t.render(&values(&[("n", "$1")])), "awk '{ print $1 }' x{y}");
        assert_eq!(t.placeholders().count(), 1);
        let t = Template::parse("{{n}}").unwrap();
        assert_eq!(t.render(&values(&[("n", "1")])), "{n}");
        let t = Template::parse("{{{n}}}").unwrap();
        assert_eq!(t.render(&values(&[("n", "1")])), "{1}");
    }

    #[test]
    fn plain_text_and_unicode() {
        let t = Template::parse("µs é {n}").unwrap();
        assert_eq!(t.render(&values(&[("n", "ü")])), "µs é ü");
        assert_eq!(Template::parse("").unwrap().render(&BTreeMap::new()), "");
    }

    #[test]
    fn malformed_templates() {
        let e = Template::parse("a } b").unwrap_err();
        assert_eq!(e.range, 2..3);
        assert!(e.message.contains("unmatched"));
        let e = Template::parse("x {n").unwrap_err();
        assert_eq!(e.range, 2..3);
        assert!(e.message.contains("unclosed"));
        let e = Template::parse("x {a{b}").unwrap_err();
        assert!(e.message.contains("unclosed"));
        let e = Template::parse("x {}").unwrap_err();
        assert_eq!(e.range, 2..4);
    }

    #[test]
    fn unknown_names_are_kept_when_rendering() {
        let t = Template::parse("{m}").unwrap();
        assert_eq!(t.render(&BTreeMap::new()), "{m}");
    }
}
