//! What a CI service says about the checkout. CI systems check out a detached `HEAD`, so git
//! alone cannot name the branch a run measured; each service puts it in its own variables.
//! Read only when git says detached: a branch git knows always wins.

/// The branch and pull request a CI job is building.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CiRef {
    /// The CI service (`github`, `gitlab`, `buildkite`).
    pub service: &'static str,
    /// The branch being built: a pull request's source branch, else the pushed branch.
    pub branch: Option<String>,
    /// The pull or merge request number, when the job builds one.
    pub pull_request: Option<String>,
}

/// The label a run's pull-request number is stored under.
pub const PULL_REQUEST_LABEL: &str = "pull_request";

/// Reads the CI service's variables through `var` (`std::env::var` in the CLI; a table in
/// tests). `None` outside a known CI service.
///
/// - GitHub Actions: `GITHUB_HEAD_REF` (pull requests), else `GITHUB_REF_NAME` when
///   `GITHUB_REF_TYPE` is `branch`; the number from `GITHUB_REF` = `refs/pull/N/merge`.
/// - GitLab CI: `CI_MERGE_REQUEST_SOURCE_BRANCH_NAME`, else `CI_COMMIT_BRANCH`;
///   `CI_MERGE_REQUEST_IID`.
/// - Buildkite: `BUILDKITE_BRANCH`; `BUILDKITE_PULL_REQUEST` unless it is `false`.
pub fn detect(var: impl Fn(&str) -> Option<String>) -> Option<CiRef> {
    let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    if get("GITHUB_ACTIONS").is_some() {
        let branch = get("GITHUB_HEAD_REF").or_else(|| {
            (get("GITHUB_REF_TYPE").as_deref() == Some("branch")).then(|| get("GITHUB_REF_NAME")).flatten()
        });
        let pull_request = get("GITHUB_REF").and_then(|r| {
            let number = r.strip_prefix("refs/pull/")?.split('/').next()?.to_string();
            number.chars().all(|c| c.is_ascii_digit()).then_some(number)
        });
        return Some(CiRef { service: "github", branch, pull_request });
    }
    if get("GITLAB_CI").is_some() {
        let branch = get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME").or_else(|| get("CI_COMMIT_BRANCH"));
        return Some(CiRef { service: "gitlab", branch, pull_request: get("CI_MERGE_REQUEST_IID") });
    }
    if get("BUILDKITE").is_some() {
        let pull_request = get("BUILDKITE_PULL_REQUEST").filter(|p| p != "false");
        return Some(CiRef { service: "buildkite", branch: get("BUILDKITE_BRANCH"), pull_request });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn a_github_pull_request_names_its_head_branch_and_number() {
        let got = detect(env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_HEAD_REF", "faster-sort"),
            ("GITHUB_REF", "refs/pull/42/merge"),
            ("GITHUB_REF_NAME", "42/merge"),
            ("GITHUB_REF_TYPE", "branch"),
        ]));
        let want =
            CiRef { service: "github", branch: Some("faster-sort".into()), pull_request: Some("42".into()) };
        assert_eq!(got, Some(want));
    }

    #[test]
    fn a_github_push_names_the_branch_but_a_tag_names_none() {
        let push = env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_HEAD_REF", ""),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_REF_NAME", "main"),
            ("GITHUB_REF_TYPE", "branch"),
        ]);
        assert_eq!(
            detect(push),
            Some(CiRef { service: "github", branch: Some("main".into()), pull_request: None })
        );
        let tag = env(&[("GITHUB_ACTIONS", "true"), ("GITHUB_REF_NAME", "v1.2"), ("GITHUB_REF_TYPE", "tag")]);
        assert_eq!(detect(tag).unwrap().branch, None);
    }

    #[test]
    fn gitlab_merge_requests_and_branch_pipelines() {
        let mr = env(&[
            ("GITLAB_CI", "true"),
            ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature"),
            ("CI_MERGE_REQUEST_IID", "7"),
        ]);
        assert_eq!(
            detect(mr),
            Some(CiRef { service: "gitlab", branch: Some("feature".into()), pull_request: Some("7".into()) })
        );
        let push = env(&[("GITLAB_CI", "true"), ("CI_COMMIT_BRANCH", "main")]);
        assert_eq!(detect(push).unwrap().branch.as_deref(), Some("main"));
    }

    #[test]
    fn buildkite_says_false_when_there_is_no_pull_request() {
        let got = detect(env(&[
            ("BUILDKITE", "true"),
            ("BUILDKITE_BRANCH", "main"),
            ("BUILDKITE_PULL_REQUEST", "false"),
        ]));
        assert_eq!(
            got,
            Some(CiRef { service: "buildkite", branch: Some("main".into()), pull_request: None })
        );
    }

    #[test]
    fn outside_ci_nothing_is_read() {
        assert_eq!(detect(env(&[("GITHUB_HEAD_REF", "x"), ("CI_COMMIT_BRANCH", "y")])), None);
    }
}
