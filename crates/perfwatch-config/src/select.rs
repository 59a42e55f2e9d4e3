//! `-b PATTERN`: choosing the cases of a plan by bench or case name.

use perfwatch_model::Plan;

use crate::error::SelectError;
use crate::util::near_miss;

/// Keeps the cases of `plan` that any of `patterns` matches; with no patterns, the whole plan.
///
/// A pattern matches a case when it matches its bench name (`sort`) or its full display name
/// (`sort[n=1000]`), exactly or as a glob where `*` matches any run of characters and `?` any
/// one character (`[` and `]` are literal). A pattern that matches no case is an error that
/// lists the available names. The cases keep their order in the plan.
///
/// ```
/// use std::path::Path;
/// let plan = perfwatch_config::parse(
///     "[[bench]]\nname = \"sort\"\nshell = \"sort -n {n}\"\nparams = { n = [10, 20] }\n",
///     Path::new("perfwatch.toml"),
/// ).unwrap();
/// let only = perfwatch_config::select(&plan, &["sort[n=2*]".to_string()]).unwrap();
/// assert_eq!(only.cases.len(), 1);
/// assert!(perfwatch_config::select(&plan, &["nope".to_string()]).is_err());
/// ```
pub fn select(plan: &Plan, patterns: &[String]) -> Result<Plan, SelectError> {
    if patterns.is_empty() {
        return Ok(plan.clone());
    }
    let displays: Vec<String> = plan.cases.iter().map(|c| c.id.to_string()).collect();
    let matches = |pattern: &str, i: usize| {
        let name = &plan.cases[i].id.name;
        glob_match(pattern, name) || glob_match(pattern, &displays[i])
    };
    let unmatched: Vec<String> =
        patterns.iter().filter(|p| !(0..plan.cases.len()).any(|i| matches(p, i))).cloned().collect();
    if !unmatched.is_empty() {
        return Err(SelectError::NoMatch {
            hint: no_match_hint(plan, &displays, &unmatched),
            patterns: unmatched,
        });
    }
    let cases = plan
        .cases
        .iter()
        .enumerate()
        .filter(|&(i, _)| patterns.iter().any(|p| matches(p, i)))
        .map(|(_, c)| c.clone())
        .collect();
    Ok(Plan { cases, ..plan.clone() })
}

fn no_match_hint(plan: &Plan, displays: &[String], unmatched: &[String]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for (case, display) in plan.cases.iter().zip(displays) {
        if !names.contains(&case.id.name.as_str()) {
            names.push(&case.id.name);
        }
        if !case.id.params.is_empty() {
            names.push(display);
        }
    }
    let mut hint = String::new();
    for p in unmatched {
        if let Some(near) = near_miss(p, names.iter().copied()) {
            hint.push_str(&format!("did you mean `{near}` for `{p}`? "));
        }
    }
    const SHOWN: usize = 30;
    if names.is_empty() {
        hint.push_str("the suite has no benchmarks");
        return hint;
    }
    hint.push_str("available: ");
    hint.push_str(&names.iter().take(SHOWN).copied().collect::<Vec<_>>().join(", "));
    if names.len() > SHOWN {
        hint.push_str(&format!(" … and {} more", names.len() - SHOWN));
    }
    hint.push_str("; `*` and `?` are wildcards");
    hint
}

/// Glob matching with `*` (any run of characters, possibly empty) and `?` (one character).
fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Position after the last `*` seen and the text position it was tried at (backtracking).
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi + 1, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn globs() {
        assert!(glob_match("sort", "sort"));
        assert!(!glob_match("sort", "sorted"));
        assert!(glob_match("sort*", "sorted"));
        assert!(glob_match("*", ""));
        assert!(glob_match("s?rt", "sort"));
        assert!(!glob_match("s?rt", "srt"));
        assert!(glob_match("*[n=1*]", "sort[n=1000]"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
        assert!(glob_match("**x", "abx"));
        assert!(glob_match("µ?", "µs"));
    }

    fn plan() -> Plan {
        crate::parse(
            r#"
[[bench]]
name = "sort"
shell = "sort {n} {algo}"
params = { n = [10, 2000], algo = ["quick", "merge"] }

[[bench]]
name = "gzip"
shell = "gzip"
"#,
            Path::new("/tmp/perfwatch.toml"),
        )
        .unwrap()
    }

    fn names(plan: &Plan) -> Vec<String> {
        plan.cases.iter().map(|c| c.id.to_string()).collect()
    }

    #[test]
    fn selects_by_name_display_and_glob() {
        let p = plan();
        assert_eq!(names(&select(&p, &[]).unwrap()).len(), 5);
        assert_eq!(names(&select(&p, &["gzip".into()]).unwrap()), ["gzip"]);
        assert_eq!(names(&select(&p, &["sort".into()]).unwrap()).len(), 4);
        assert_eq!(names(&select(&p, &["sort[algo=merge,n=10]".into()]).unwrap()), ["sort[algo=merge,n=10]"]);
        assert_eq!(
            names(&select(&p, &["*merge*".into(), "g?ip".into()]).unwrap()),
            ["sort[algo=merge,n=10]", "sort[algo=merge,n=2000]", "gzip"]
        );
        // Order follows the plan, not the patterns; overlapping patterns keep a case once.
        assert_eq!(names(&select(&p, &["gzip".into(), "*".into()]).unwrap()).len(), 5);
    }

    #[test]
    fn unmatched_pattern_lists_names() {
        let err = select(&plan(), &["gzip".into(), "sotr".into(), "zzz".into()]).unwrap_err();
        let SelectError::NoMatch { patterns, hint } = &err;
        assert_eq!(patterns, &["sotr", "zzz"]);
        assert!(hint.contains("did you mean `sort` for `sotr`?"), "{hint}");
        assert!(hint.contains("sort[algo=quick,n=10]"), "{hint}");
        assert_eq!(err.to_string(), "no benchmark matches `sotr`, `zzz`");
    }
}
