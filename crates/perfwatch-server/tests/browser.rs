//! The dashboard in a real browser: Debian's headless Chromium driven through chromedriver
//! (WebDriver). The test starts chromedriver itself on a free port and kills it at the end.
//!
//! Without `chromium` and `chromium-driver` installed the test is skipped with a message —
//! unless `CI` is set, where it fails. Screenshots go to `target/tmp/dashboard-screenshots/`
//! (or `$PERFWATCH_ARTIFACTS`).

mod common;

use std::time::Duration;

use common::{Driver, artifacts_dir, fill_store, run_id, small_fixture};
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use perfwatch_app::site::{SiteOptions, write_site};
use perfwatch_report::html::case_href;
use perfwatch_server::{ServeOptions, start};
use serde_json::Value;

fn driver_or_skip() -> Option<Driver> {
    match Driver::start() {
        Some(d) => Some(d),
        None if std::env::var_os("CI").is_some() => {
            panic!("chromium and chromedriver are required in CI (apt-get install chromium chromium-driver)")
        }
        None => {
            eprintln!("skipped: chromium / chromedriver not installed");
            None
        }
    }
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap_or_else(|e| panic!("{script}: {e}"))
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    let path = artifacts_dir().join(name);
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

async fn wait_for_chart(c: &Client) {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("body[data-chart-drawn='1']"))
        .await
        .expect("the chart is drawn");
}

/// Non-transparent pixels of the chart's canvas.
async fn drawn_pixels(c: &Client) -> u64 {
    js(
        c,
        "var cv = document.querySelector('#pw-chart canvas');
         var d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data, n = 0;
         for (var i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
         return n;",
    )
    .await
    .as_u64()
    .unwrap()
}

/// Moves the mouse onto point `i` of the chart (viewport coordinates computed in the page).
async fn hover_point(c: &Client, i: usize) -> (f64, f64) {
    let pos = js(
        c,
        &format!(
            "var u = PW.chart, r = u.over.getBoundingClientRect();
             return [r.left + u.valToPos(u.data[0][{i}], 'x'), r.top + u.valToPos(u.data[2][{i}], 'y')];"
        ),
    )
    .await;
    let (x, y) = (pos[0].as_f64().unwrap(), pos[1].as_f64().unwrap());
    let moves = MouseActions::new("mouse".into())
        .then(PointerAction::MoveTo { duration: None, x: x - 3.0, y: y - 3.0 })
        .then(PointerAction::MoveTo { duration: Some(Duration::from_millis(50)), x, y });
    c.perform_actions(moves).await.expect("pointer move");
    (x, y)
}

async fn details(c: &Client) -> String {
    c.find(Locator::Id("pw-details")).await.unwrap().text().await.unwrap()
}

async fn visible_rows(c: &Client) -> u64 {
    js(c, "return document.querySelectorAll('#pw-overview tbody tr:not([hidden])').length;")
        .await
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_headless_chromium() {
    let Some(driver) = driver_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let f = small_fixture();
    let url = fill_store(&dir.path().join("history.db"), &f);
    let server = start(&url, "127.0.0.1:0".parse().unwrap(), ServeOptions::default()).unwrap();
    let base = format!("http://{}", server.addr());

    // ---- live: overview lists every case, the XSS-named one as text.
    let c = driver.session(&dir.path().join("profile-live"), false).await;
    c.goto(&format!("{base}/")).await.unwrap();
    let links = c.find_all(Locator::Css("#pw-overview tbody tr td:first-child a")).await.unwrap();
    let mut names = Vec::new();
    for l in &links {
        names.push(l.text().await.unwrap());
    }
    for case in &f.cases {
        assert!(names.contains(&case.to_string()), "{case} missing from {names:?}");
    }
    assert_eq!(visible_rows(&c).await as usize, f.cases.len() * f.metrics.len());
    assert!(c.get_alert_text().await.is_err(), "no script from a case name ran");
    screenshot(&c, "overview-live.png").await;

    // Search and sort.
    c.find(Locator::Id("pw-search")).await.unwrap().send_keys("sort").await.unwrap();
    assert_eq!(visible_rows(&c).await, 4);
    c.find(Locator::Css("button[data-sort='cptime']")).await.unwrap().click().await.unwrap();
    let sorted = js(&c, "return document.querySelector('#pw-overview th[aria-sort]').textContent;").await;
    assert_eq!(sorted, "Newest change point");

    // ---- case page: chart drawn, hover shows the run, keyboard moves, click opens the run.
    let href = case_href(&f.cases[0]);
    c.find(Locator::Css(&format!("a[href^='{href}']"))).await.unwrap().click().await.unwrap();
    wait_for_chart(&c).await;
    assert_eq!(c.find(Locator::Id("pw-case-name")).await.unwrap().text().await.unwrap(), "sort[n=1000]");
    let pixels = drawn_pixels(&c).await;
    assert!(pixels > 2000, "chart canvas looks blank: {pixels} drawn pixels");
    let cps = c.find(Locator::Id("pw-cps")).await.unwrap().text().await.unwrap();
    assert!(cps.contains("#41") && cps.contains("regression"), "change point listed: {cps}");

    hover_point(&c, 20).await;
    let d = details(&c).await;
    assert!(d.contains(&run_id(20)) && d.contains(&common::commit(20)[..12]) && d.contains("Median"), "{d}");
    screenshot(&c, "case-live-hover.png").await;

    let chart = c.find(Locator::Id("pw-chart")).await.unwrap();
    chart.send_keys(&Key::Left.to_string()).await.unwrap();
    assert!(details(&c).await.contains(&run_id(19)), "arrow key moved to the previous run");

    // Zoom buttons and the time axis.
    let width = "return PW.chart.scales.x.max - PW.chart.scales.x.min;";
    let full = js(&c, width).await.as_f64().unwrap();
    c.find(Locator::Id("pw-zoom-in")).await.unwrap().click().await.unwrap();
    let zoomed = js(&c, width).await.as_f64().unwrap();
    assert!(zoomed < full * 0.6, "zoom in: {full} -> {zoomed}");
    // Runs are counted: the run axis has whole-number ticks, even zoomed in to a few runs.
    for _ in 0..3 {
        c.find(Locator::Id("pw-zoom-in")).await.unwrap().click().await.unwrap();
    }
    let splits = js(&c, "return PW.chart.axes[0]._splits;").await;
    let splits: Vec<f64> =
        splits.as_array().expect("tick positions").iter().filter_map(Value::as_f64).collect();
    assert!(splits.len() >= 2, "ticks drawn: {splits:?}");
    assert!(splits.iter().all(|t| t.fract() == 0.0), "fractional run ticks: {splits:?}");
    c.find(Locator::Id("pw-zoom-reset")).await.unwrap().click().await.unwrap();
    assert_eq!(js(&c, width).await.as_f64().unwrap(), full);
    c.find(Locator::Css("input[name='pw-x'][value='time']")).await.unwrap().click().await.unwrap();
    let x0 = js(&c, "return PW.chart.data[0][0];").await.as_f64().unwrap();
    assert_eq!(x0, 1_735_689_600.0, "x is the run's start time");
    c.find(Locator::Css("input[name='pw-x'][value='run']")).await.unwrap().click().await.unwrap();

    // Metric switcher.
    c.find(Locator::Css("#pw-metric-select option[value='max_rss']")).await.unwrap().click().await.unwrap();
    wait_for_chart(&c).await;
    assert!(details(&c).await.contains("KiB"), "max_rss shown in bytes");
    c.find(Locator::Css("#pw-metric-select option[value='wall']")).await.unwrap().click().await.unwrap();

    let (x, y) = hover_point(&c, 45).await;
    let click = MouseActions::new("mouse".into())
        .then(PointerAction::MoveTo { duration: None, x, y })
        .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
        .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
    c.perform_actions(click).await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("body[data-page='run']"))
        .await
        .expect("click opened the run page");
    let url_now = c.current_url().await.unwrap();
    assert!(url_now.path().ends_with(&format!("run-{}.html", run_id(45))), "{url_now}");
    let h1 = c.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
    assert!(h1.contains(&run_id(45)));
    screenshot(&c, "run-live.png").await;

    // The XSS-named case's own page shows the name as text.
    c.goto(&format!("{base}/{}", case_href(&f.cases[3]))).await.unwrap();
    wait_for_chart(&c).await;
    assert_eq!(
        c.find(Locator::Id("pw-case-name")).await.unwrap().text().await.unwrap(),
        "<script>alert(1)</script>"
    );
    assert!(c.get_alert_text().await.is_err());
    c.goto(&format!("{base}/compare-latest.html")).await.unwrap();
    assert!(c.find_all(Locator::Css("#pw-compare tbody tr")).await.unwrap().len() == 8);
    screenshot(&c, "compare-live.png").await;
    c.close().await.unwrap();

    // ---- static report from disk, with the server stopped and networking disabled.
    let mut store = perfwatch_store::open(&url).unwrap();
    let out = dir.path().join("site");
    write_site(store.as_mut(), &out, &SiteOptions { max_run_pages: 5, ..SiteOptions::default() }).unwrap();
    drop(store);
    server.shutdown();
    let c = driver.session(&dir.path().join("profile-offline"), true).await;
    // Networking really is off: a page on the web cannot load.
    let _ = c.goto("http://example.com/").await;
    let title = js(&c, "return document.body ? document.body.innerText : ''").await;
    assert!(!title.as_str().unwrap_or("").contains("Example Domain"));

    c.goto(&format!("file://{}/index.html", out.display())).await.unwrap();
    assert_eq!(visible_rows(&c).await as usize, f.cases.len() * f.metrics.len());
    screenshot(&c, "overview-static-offline-dark.png").await;
    let dark = js(&c, "return matchMedia('(prefers-color-scheme: dark)').matches;").await;
    if dark == Value::Bool(true) {
        let bg = js(&c, "return getComputedStyle(document.body).backgroundColor;").await;
        assert_eq!(bg, "rgb(19, 19, 22)", "dark theme follows the system");
    }
    c.find(Locator::Css(&format!("a[href^='{href}']"))).await.unwrap().click().await.unwrap();
    wait_for_chart(&c).await;
    assert!(drawn_pixels(&c).await > 2000);
    hover_point(&c, 10).await;
    let d = details(&c).await;
    assert!(d.contains(&run_id(10)) && d.contains("no page in this report"), "{d}");
    hover_point(&c, 57).await;
    assert!(details(&c).await.contains("open run"), "the newest runs have pages");
    let foreign = js(
        &c,
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; })
                .filter(function (n) { return n.indexOf('file:') !== 0; });",
    )
    .await;
    assert_eq!(foreign, Value::Array(vec![]), "the static report loaded something from a network");
    screenshot(&c, "case-static-offline-dark.png").await;
    c.close().await.unwrap();
}

/// `perfwatch detect` stores its answer and the dashboard shows that answer, not one of its
/// own: with a 50 % minimum magnitude, detect finds no change point in `sort[n=1000]` (whose
/// step is 30 %), and the case page says so although default settings would mark run #41;
/// after a detect with default settings, the page marks #41.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_page_shows_the_change_points_detect_stored() {
    use perfwatch_app::history::{DetectRequest, detect_stored};
    use perfwatch_detect::changepoint::Options;

    let Some(driver) = driver_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let f = small_fixture();
    let url = fill_store(&dir.path().join("history.db"), &f);
    let detect = |options: Options| {
        let req = DetectRequest {
            cases: vec![f.cases[0].to_string()],
            metrics: vec!["wall".into()],
            since: None,
            recent: 5,
            alert: false,
            options,
        };
        let mut store = perfwatch_store::open(&url).unwrap();
        detect_stored(store.as_mut(), &req).unwrap().0.series.remove(0).change_points
    };
    assert!(detect(Options { min_magnitude: 0.5, ..Options::default() }).is_empty());

    let server = start(&url, "127.0.0.1:0".parse().unwrap(), ServeOptions::default()).unwrap();
    let page = format!("http://{}/{}", server.addr(), case_href(&f.cases[0]));
    let c = driver.session(&dir.path().join("profile-stored"), false).await;
    c.goto(&page).await.unwrap();
    wait_for_chart(&c).await;
    let cps = c.find(Locator::Id("pw-cps")).await.unwrap().text().await.unwrap();
    assert!(cps.contains("No change points"), "the stored answer (none) is shown: {cps}");
    screenshot(&c, "case-detect-none.png").await;

    let found = detect(Options::default());
    assert_eq!(found.iter().map(|c| c.index).collect::<Vec<_>>(), [40], "{found:?}");
    c.goto(&page).await.unwrap();
    wait_for_chart(&c).await;
    let cps = c.find(Locator::Id("pw-cps")).await.unwrap().text().await.unwrap();
    assert!(cps.contains("#41") && cps.contains("regression"), "the new stored point is shown: {cps}");
    let marked = js(
        &c,
        "return PW._case.metrics.filter(function (m) { return m.name === 'wall'; })[0].cps
                .map(function (c) { return c.i; });",
    )
    .await;
    assert_eq!(marked, serde_json::json!([40]), "the chart marks exactly the stored point");
    screenshot(&c, "case-detect-stored.png").await;
    c.close().await.unwrap();
    server.shutdown();
}

/// JS helpers over a flame graph document `d`: `frame(name)` is the `<g>` of the frame whose
/// tooltip starts with `name (`, `rgb(g)` its fill as three numbers.
const FLAME_JS: &str = "
    function frame(d, name) {
      var ts = d.querySelectorAll('#frames > g > title');
      for (var i = 0; i < ts.length; i++) if (ts[i].textContent.indexOf(name + ' (') === 0) return ts[i].parentNode;
      return null;
    }
    function rgb(g) { return g.querySelector('rect').getAttribute('fill').match(/\\d+/g).map(Number); }
";

/// Waits until inferno's `init` has run in the flame graph document that `doc` (a JS
/// expression) evaluates to: its global `details` is set then.
async fn wait_for_flame_graph(c: &Client, doc: &str) {
    let script = format!("var d = {doc}; return !!(d && d.defaultView && d.defaultView.details);");
    for _ in 0..200 {
        if js(c, &script).await == Value::Bool(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the flame graph's script did not run (blocked by a Content-Security-Policy?)");
}

/// Checks the colours of the graph in `doc` (beta grew: red; gamma shrank: blue), clicks the
/// `parse` frame (a real click at its position; `origin` is the JS expression of the element
/// that holds the document, or `null` when it is the page) and checks that inferno zoomed into
/// it: `parse` spans the whole width, `gamma`, off its path, is hidden.
async fn check_colours_and_zoom(c: &Client, doc: &str, origin: &str) {
    let colours =
        js(c, &format!("{FLAME_JS} var d = {doc}; return [rgb(frame(d, 'beta')), rgb(frame(d, 'gamma'))];"))
            .await;
    let channel = |f: usize, i: usize| colours[f][i].as_u64().unwrap();
    assert!(channel(0, 0) > channel(0, 1) && channel(0, 0) > channel(0, 2), "beta is red: {colours}");
    assert!(channel(1, 2) > channel(1, 0) && channel(1, 2) > channel(1, 1), "gamma is blue: {colours}");
    let pos = js(
        c,
        &format!(
            "{FLAME_JS} var d = {doc}, o = {origin}, dx = 0, dy = 0;
             if (o) {{ o.scrollIntoView(); var r = o.getBoundingClientRect(); dx = r.left + o.clientLeft; dy = r.top + o.clientTop; }}
             var b = frame(d, 'parse').querySelector('rect').getBoundingClientRect();
             return [dx + b.left + b.width / 2, dy + b.top + b.height / 2];"
        ),
    )
    .await;
    let (x, y) = (pos[0].as_f64().unwrap(), pos[1].as_f64().unwrap());
    let click = MouseActions::new("mouse".into())
        .then(PointerAction::MoveTo { duration: None, x, y })
        .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
        .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
    c.perform_actions(click).await.expect("click on the parse frame");
    let zoomed = js(
        c,
        &format!(
            "{FLAME_JS} var d = {doc};
             return [parseFloat(frame(d, 'parse').querySelector('rect').getAttribute('width')),
                     frame(d, 'gamma').classList.contains('hide')];"
        ),
    )
    .await;
    assert!(zoomed[0].as_f64().unwrap() > 99.0, "parse fills the width after the click: {zoomed}");
    assert_eq!(zoomed[1], Value::Bool(true), "gamma is off the zoomed path: {zoomed}");
}

/// Writes what `perfwatch explain --html DIR` writes (the three graphs and the page), for the
/// profiles of `common`, into `dir`.
fn write_explain_dir(dir: &std::path::Path) {
    use perfwatch_model::{ExplainReport, ExplainSide, Profile, Profiler};
    use perfwatch_report::flame::{diff_flame_graph, explain_page, flame_graph};
    let base = Profile::from_folded(Profiler::Callgrind, common::BASE_PROFILE).unwrap();
    let head = Profile::from_folded(Profiler::Callgrind, common::HEAD_PROFILE).unwrap();
    let side = |label: &str, p: &Profile| ExplainSide {
        label: label.into(),
        commit: None,
        run_id: None,
        total: p.total(),
    };
    let report = ExplainReport {
        schema_version: perfwatch_model::SCHEMA_VERSION,
        case: perfwatch_model::CaseId::new("sort", [("n", "1000")]),
        profiler: Profiler::Callgrind,
        unit: "instructions".into(),
        rounds: 1,
        base: side("HEAD~1", &base),
        head: side("HEAD", &head),
        total_delta: perfwatch_detect::profile::signed_delta(base.total(), head.total()),
        functions: perfwatch_detect::profile::rank_changes(&base, &head, 10),
        files: None,
    };
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in [
        ("diff.svg", diff_flame_graph(&base, &head, "sort[n=1000] — HEAD~1 → HEAD", "instructions").unwrap()),
        ("base.svg", flame_graph(&base, "base", "instructions").unwrap()),
        ("head.svg", flame_graph(&head, "head", "instructions").unwrap()),
        ("index.html", explain_page(&report)),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// Resources a page loaded from anywhere but disk.
async fn foreign_resources(c: &Client) -> Value {
    js(
        c,
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; })
                .filter(function (n) { return n.indexOf('file:') !== 0; });",
    )
    .await
}

/// Issue 17: the differential flame graph in a browser. Served live, linked from the
/// comparison and the change-point views, it colours the slower function red and the faster
/// blue, zooms on a click (its own script runs under the policy that allows it by hash), and a
/// frame named `<script>alert(1)</script>` runs nothing. Written to disk (`explain --html` and
/// the static report), it does the same from `file://` with networking off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_differential_flame_graph_in_headless_chromium() {
    let Some(driver) = driver_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (f, url) = common::profiled_store(&dir.path().join("history.db"));
    let server = start(&url, "127.0.0.1:0".parse().unwrap(), ServeOptions::default()).unwrap();
    let base = format!("http://{}", server.addr());
    let object = "document.getElementById('pw-flame')";
    let in_object = "document.getElementById('pw-flame').contentDocument";

    // ---- live: the comparison links the explanation; the page embeds the graph.
    let c = driver.session(&dir.path().join("profile-explain"), false).await;
    c.goto(&format!("{base}/compare-latest.html")).await.unwrap();
    let links = c.find_all(Locator::Css("#pw-compare a.explain")).await.unwrap();
    assert_eq!(links.len(), 4, "two profiled cases, two metrics each");
    let first = links[0].attr("href").await.unwrap().unwrap();
    assert!(first.starts_with("explain?case="), "{first}");
    screenshot(&c, "explain-compare-link.png").await;
    let sort_link = "#pw-compare a.explain[href^='explain?case=sort%5Bn%3D1000%5D']";
    c.find(Locator::Css(sort_link)).await.unwrap().click().await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("body[data-page='explain']"))
        .await
        .expect("the link opens the explanation");
    let table = c.find(Locator::Id("pw-explain")).await.unwrap().text().await.unwrap();
    assert!(table.contains("beta") && table.contains("<script>alert(1)</script>"), "{table}");
    wait_for_flame_graph(&c, in_object).await;
    js(&c, &format!("{object}.scrollIntoView();")).await;
    screenshot(&c, "explain-diff.png").await;
    check_colours_and_zoom(&c, in_object, object).await;
    screenshot(&c, "explain-diff-zoomed.png").await;
    assert!(c.get_alert_text().await.is_err(), "no script from a frame name ran");

    // The change point of sort[n=1000] links its explanation (runs 39 → 40).
    c.goto(&format!("{base}/{}", case_href(&f.cases[0]))).await.unwrap();
    wait_for_chart(&c).await;
    let cp = c.find(Locator::Css("#pw-cps a.explain")).await.expect("change point linked");
    let href = cp.attr("href").await.unwrap().unwrap();
    assert!(href.contains(&run_id(39)) && href.contains(&run_id(40)), "{href}");
    screenshot(&c, "explain-change-point-link.png").await;
    cp.click().await.unwrap();
    wait_for_flame_graph(&c, in_object).await;
    c.close().await.unwrap();

    // ---- on disk, networking off: `explain --html`'s directory and the static report.
    let explain_dir = dir.path().join("explain");
    write_explain_dir(&explain_dir);
    let mut store = perfwatch_store::open(&url).unwrap();
    let site = dir.path().join("site");
    write_site(store.as_mut(), &site, &SiteOptions { max_run_pages: 5, ..SiteOptions::default() }).unwrap();
    drop(store);
    server.shutdown();
    let c = driver.session(&dir.path().join("profile-explain-offline"), true).await;
    c.goto(&format!("file://{}/index.html", explain_dir.display())).await.unwrap();
    let shown =
        js(&c, "var o = document.getElementById('diff'); return o.getBoundingClientRect().height;").await;
    assert!(shown.as_f64().unwrap() > 100.0, "the graph is shown: {shown}");
    screenshot(&c, "explain-html-offline.png").await;
    assert_eq!(foreign_resources(&c).await, Value::Array(vec![]));
    // A file:// page cannot reach into its object's document: the graph is checked opened
    // on its own.
    c.goto(&format!("file://{}/diff.svg", explain_dir.display())).await.unwrap();
    wait_for_flame_graph(&c, "document").await;
    check_colours_and_zoom(&c, "document", "null").await;
    assert_eq!(foreign_resources(&c).await, Value::Array(vec![]), "the graph loads nothing");
    screenshot(&c, "explain-diff-offline.png").await;
    assert!(c.get_alert_text().await.is_err());

    c.goto(&format!("file://{}/compare-latest.html", site.display())).await.unwrap();
    assert!(c.find(Locator::Css(sort_link)).await.is_err(), "static links are files, not queries");
    let link = c.find(Locator::Css("#pw-compare a.explain[href^='explain-sort_n=1000_']")).await.unwrap();
    link.click().await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("body[data-page='explain']"))
        .await
        .expect("the static link opens the explanation page");
    let shown =
        js(&c, &format!("{object}.scrollIntoView(); return {object}.getBoundingClientRect().height;")).await;
    assert!(shown.as_f64().unwrap() > 100.0, "the graph is shown: {shown}");
    screenshot(&c, "explain-static-offline-dark.png").await;
    assert_eq!(foreign_resources(&c).await, Value::Array(vec![]));
    let svg = js(&c, &format!("return {object}.getAttribute('data');")).await;
    c.goto(&format!("file://{}/{}", site.display(), svg.as_str().unwrap())).await.unwrap();
    wait_for_flame_graph(&c, "document").await;
    check_colours_and_zoom(&c, "document", "null").await;
    assert!(c.get_alert_text().await.is_err());
    c.close().await.unwrap();
}
