//! Files every page needs, compiled into the binary: served by `perfwatch serve` and written
//! next to the pages by `perfwatch report --html`. Nothing is loaded from a network.

/// uPlot's minified browser build (npm package `uplot`, see `assets/README.md` for the version).
pub const UPLOT_JS: &str = include_str!("../../assets/uPlot.iife.min.js");
/// uPlot's stylesheet.
pub const UPLOT_CSS: &str = include_str!("../../assets/uPlot.min.css");
/// uPlot's MIT license, shipped with the copy.
pub const UPLOT_LICENSE: &str = include_str!("../../assets/LICENSE-uPlot");
/// The dashboard's own script (overview filters, case charts).
pub const APP_JS: &str = include_str!("../../assets/app.js");
/// The dashboard's stylesheet (light and dark, following the system).
pub const APP_CSS: &str = include_str!("../../assets/app.css");

/// Every asset as `(path relative to the site root, content type, content)`.
pub const ALL: [(&str, &str, &str); 5] = [
    ("assets/uPlot.iife.min.js", "text/javascript; charset=utf-8", UPLOT_JS),
    ("assets/uPlot.min.css", "text/css; charset=utf-8", UPLOT_CSS),
    ("assets/LICENSE-uPlot.txt", "text/plain; charset=utf-8", UPLOT_LICENSE),
    ("assets/app.js", "text/javascript; charset=utf-8", APP_JS),
    ("assets/app.css", "text/css; charset=utf-8", APP_CSS),
];

/// The asset at `path` (relative to the site root): content type and content.
pub fn get(path: &str) -> Option<(&'static str, &'static str)> {
    ALL.iter().find(|(p, _, _)| *p == path).map(|&(_, ct, body)| (ct, body))
}
