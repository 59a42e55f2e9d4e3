//! Flame graphs of profiles (inferno, the Rust port of Brendan Gregg's FlameGraph): one per
//! profile and a differential one per explanation, and the page `explain --html` writes.
//!
//! The differential graph has the head's shape (frame widths are head costs) and colours each
//! frame by how its own cost changed from the base: red where it grew, blue where it shrank,
//! the deeper the hue the larger the change (Gregg, "Differential Flame Graphs", 2014). Every
//! file is self-contained SVG or HTML with no outside reference, so it opens offline.

use std::fmt::Write as _;

use perfwatch_model::{ExplainReport, Profile};

use crate::html::escape_html;

/// Options common to both kinds of graph.
fn options<'a>(title: &str, unit: &str) -> inferno::flamegraph::Options<'a> {
    let mut opt = inferno::flamegraph::Options::default();
    opt.title = title.to_string();
    opt.count_name = unit.to_string();
    // The same frame gets the same colour in the base's and the head's graph.
    opt.hash = true;
    opt.deterministic = true;
    opt
}

/// A flame graph of `profile` as SVG.
pub fn flame_graph(profile: &Profile, title: &str, unit: &str) -> Result<String, String> {
    let folded = profile.to_folded();
    render(&mut options(title, unit), folded.lines())
}

/// The differential flame graph from `base` to `head` as SVG (see the module documentation).
/// Costs are compared as they are, not normalised: a profile of a slower version is wider.
pub fn diff_flame_graph(base: &Profile, head: &Profile, title: &str, unit: &str) -> Result<String, String> {
    let (b, h) = (base.to_folded(), head.to_folded());
    let mut lines = Vec::new();
    let diff_opts = inferno::differential::Options { normalize: false, strip_hex: false };
    inferno::differential::from_readers(diff_opts, b.as_bytes(), h.as_bytes(), &mut lines)
        .map_err(|e| format!("cannot diff the profiles: {e}"))?;
    let lines = String::from_utf8(lines).map_err(|_| "the diffed stacks are not UTF-8".to_string())?;
    render(&mut options(title, unit), lines.lines())
}

fn render<'a>(
    opt: &mut inferno::flamegraph::Options<'_>,
    lines: impl Iterator<Item = &'a str>,
) -> Result<String, String> {
    let mut svg = Vec::new();
    let lines: Vec<&str> = lines.collect();
    if lines.is_empty() {
        return Err("the profile is empty".into());
    }
    inferno::flamegraph::from_lines(opt, lines, &mut svg)
        .map_err(|e| format!("cannot draw the flame graph: {e}"))?;
    String::from_utf8(svg).map_err(|_| "the flame graph is not UTF-8".to_string())
}

/// The code a flame graph runs, for a Content-Security-Policy that allows exactly that code by
/// its hash (and nothing a frame name might smuggle in): the text of its `<script>` element and
/// the event-handler attributes of its root element (inferno's `onload="init(evt)"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphCode {
    /// The script element's text (its CDATA sections joined), as the browser hashes it.
    pub script: String,
    /// The values of the root element's `on…` attributes.
    pub handlers: Vec<String>,
}

/// The start tag of the root `<svg>` element of `svg`.
fn root_tag(svg: &str) -> Option<&str> {
    let start = svg.find("<svg ")?;
    let end = start + svg[start..].find('>')?;
    Some(&svg[start..end])
}

/// The code of a graph drawn by [`flame_graph`] or [`diff_flame_graph`] (see [`GraphCode`]);
/// `None` when it has no script. Only the prelude inferno writes before the first frame is
/// read: frame names are escaped text, so they cannot add a script or a handler there.
pub fn graph_code(svg: &str) -> Option<GraphCode> {
    let open = "<script type=\"text/ecmascript\">";
    let start = svg.find(open)? + open.len();
    let body = &svg[start..start + svg[start..].find("</script>")?];
    let mut script = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find("<![CDATA[") {
        script.push_str(&rest[..at]);
        let inner = &rest[at + 9..];
        let end = inner.find("]]>")?;
        script.push_str(&inner[..end]);
        rest = &inner[end + 3..];
    }
    script.push_str(rest);
    let mut handlers = Vec::new();
    let mut tag = root_tag(svg)?;
    while let Some(at) = tag.find(" on") {
        let attr = &tag[at + 1..];
        let (name, value) = attr.split_once("=\"")?;
        let value = &value[..value.find('"')?];
        if name.bytes().all(|b| b.is_ascii_lowercase()) {
            handlers.push(value.to_string());
        }
        tag = &attr[name.len()..];
    }
    Some(GraphCode { script, handlers })
}

/// The height in pixels of a graph drawn by [`flame_graph`] or [`diff_flame_graph`] (its
/// width follows the page it is shown in).
pub fn graph_height(svg: &str) -> Option<u32> {
    let tag = root_tag(svg)?;
    let value = &tag[tag.find(" height=\"")? + 9..];
    value[..value.find('"')?].parse().ok()
}

/// The page that shows an explanation: the ranked functions and the three graphs (files
/// `diff.svg`, `base.svg` and `head.svg` beside it).
pub fn explain_page(report: &ExplainReport) -> String {
    let mut rows = String::new();
    for f in &report.functions {
        let _ = writeln!(
            rows,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"{}\">{:+}</td><td>{:.1} %</td>\
             <td>{}</td><td>{}</td><td>{:+}</td></tr>",
            escape_html(&f.function),
            f.self_base,
            f.self_head,
            if f.self_delta > 0 { "up" } else { "down" },
            f.self_delta,
            f.self_share * 100.0,
            f.inclusive_base,
            f.inclusive_head,
            f.inclusive_delta
        );
    }
    let side = |s: &perfwatch_model::ExplainSide| {
        let what =
            s.commit.as_deref().or(s.run_id.as_deref()).map(|c| format!(" ({})", c.get(..12).unwrap_or(c)));
        escape_html(&format!("{}{}", s.label, what.unwrap_or_default()))
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>perfwatch explain {case}</title>\n\
         <style>body{{font-family:sans-serif;margin:1.5em}}table{{border-collapse:collapse}}\
         td,th{{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:right}}td:first-child,th:first-child\
         {{text-align:left}}.up{{color:#b00}}.down{{color:#03b}}object{{width:100%;border:1px solid #ccc}}</style>\n\
         </head><body>\n<h1>{case}: where the {unit} went</h1>\n\
         <p>{profiler} profile, base <b>{base}</b> {btotal} → head <b>{head}</b> {htotal} {unit} ({delta:+}).</p>\n\
         <table><thead><tr><th>function</th><th>self base</th><th>self head</th><th>Δ self</th>\
         <th>share of Δ</th><th>incl. base</th><th>incl. head</th><th>Δ incl.</th></tr></thead>\n<tbody>\n{rows}\
         </tbody></table>\n\
         <h2>Differential flame graph (head's shape; red = more {unit}, blue = fewer)</h2>\n\
         <object id=\"diff\" type=\"image/svg+xml\" data=\"diff.svg\"></object>\n\
         <h2>Base</h2>\n<object id=\"base\" type=\"image/svg+xml\" data=\"base.svg\"></object>\n\
         <h2>Head</h2>\n<object id=\"head\" type=\"image/svg+xml\" data=\"head.svg\"></object>\n\
         </body></html>\n",
        case = escape_html(&report.case.to_string()),
        unit = escape_html(&report.unit),
        profiler = report.profiler.as_str(),
        base = side(&report.base),
        head = side(&report.head),
        btotal = report.base.total,
        htotal = report.head.total,
        delta = report.total_delta,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfwatch_model::Profiler;

    fn profile(text: &str) -> Profile {
        Profile::from_folded(Profiler::Callgrind, text).unwrap()
    }

    /// The fill of the frame whose tooltip starts with `name (`.
    fn fill_of(svg: &str, name: &str) -> (u8, u8, u8) {
        let at = svg.find(&format!("<title>{name} (")).unwrap_or_else(|| panic!("no frame {name}"));
        let rest = &svg[at..];
        let fill = &rest[rest.find("fill=\"rgb(").unwrap() + 10..];
        let parts: Vec<u8> =
            fill[..fill.find(')').unwrap()].split(',').map(|p| p.trim().parse().unwrap()).collect();
        (parts[0], parts[1], parts[2])
    }

    #[test]
    fn the_differential_graph_colours_slower_frames_red_and_faster_blue() {
        let base = profile("main;alpha 100\nmain;beta 100\nmain;gamma 100\n");
        let head = profile("main;alpha 100\nmain;beta 300\nmain;gamma 50\n");
        let svg = diff_flame_graph(&base, &head, "t", "instructions").unwrap();
        let (r, g, b) = fill_of(&svg, "beta");
        assert!(r > g && r > b, "beta grew: rgb({r},{g},{b})");
        let (r, g, b) = fill_of(&svg, "gamma");
        assert!(b > r && b > g, "gamma shrank: rgb({r},{g},{b})");
        // Self-contained: no outside reference but the SVG namespaces.
        for bad in ["src=\"http", "href=\"http", "@import", "url(http"] {
            assert!(!svg.contains(bad), "{bad}");
        }
    }

    /// The code of a graph is inferno's script and its `onload` handler, whatever the frames
    /// are called; frame names are escaped text.
    #[test]
    fn the_code_of_a_graph_is_inferno_s_own() {
        let xss = "<script>alert(1)</script>";
        let p = profile(&format!("main;{xss} 5\nmain;a\" onclick=\"alert(2) 3\nmain;]]><![CDATA[x 1\n"));
        let svg = diff_flame_graph(&p, &p, "t", "samples").unwrap();
        let code = graph_code(&svg).unwrap();
        assert_eq!(code.handlers, ["init(evt)"]);
        assert!(code.script.contains("function init(evt)") && code.script.contains("var nametype"));
        assert!(!code.script.contains("CDATA") && !code.script.contains("alert"), "{}", code.script);
        assert_eq!(svg.matches("<script").count(), 1, "only inferno's own script element");
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!svg.contains("onclick=\"alert"));
        let height = graph_height(&svg).unwrap();
        assert!((50..2000).contains(&height), "{height}");
        assert_eq!(graph_code("<svg width=\"1\"></svg>"), None);
    }

    #[test]
    fn plain_graphs_and_empty_profiles() {
        let svg = flame_graph(&profile("main;alpha 7\n"), "base", "samples").unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("alpha (7 samples"));
        let empty = Profile { profiler: Profiler::Perf, stacks: Default::default() };
        assert!(flame_graph(&empty, "x", "samples").unwrap_err().contains("empty"));
    }
}
