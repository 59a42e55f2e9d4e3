/* perfwatch dashboard script. Loaded first on every page; data scripts then call PW.runs() and
 * PW.caseData(), and the page is set up on DOMContentLoaded according to <body data-page>.
 * All text from the data goes through textContent, never innerHTML. */
(function () {
  "use strict";
  var PW = (window.PW = window.PW || {});
  PW.runs = function (r) { PW._runs = r; };
  PW.caseData = function (d) { PW._case = d; };

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  // Same rules as perfwatch_report::units::human.
  function trim(v) {
    var s = Math.abs(v) >= 1000 || v === Math.trunc(v) ? v.toFixed(0) : v.toFixed(4);
    if (s.indexOf(".") >= 0) s = s.replace(/0+$/, "").replace(/\.$/, "");
    return s;
  }
  function human(v, unit) {
    if (v == null || !isFinite(v)) return "—";
    var a = Math.abs(v);
    if (unit === "s") {
      if (a === 0) return "0 s";
      if (a < 1e-6) return (v * 1e9).toFixed(1) + " ns";
      if (a < 1e-3) return (v * 1e6).toFixed(1) + " µs";
      if (a < 1) return (v * 1e3).toFixed(2) + " ms";
      if (a < 120) return v.toFixed(3) + " s";
      return (v / 60).toFixed(1) + " min";
    }
    if (unit === "bytes") {
      var K = 1024;
      if (a < K) return v.toFixed(0) + " B";
      if (a < K * K) return (v / K).toFixed(1) + " KiB";
      if (a < K * K * K) return (v / K / K).toFixed(1) + " MiB";
      return (v / K / K / K).toFixed(2) + " GiB";
    }
    if (unit === "1/s") {
      if (a >= 1e9) return (v / 1e9).toFixed(2) + " G/s";
      if (a >= 1e6) return (v / 1e6).toFixed(2) + " M/s";
      if (a >= 1e3) return (v / 1e3).toFixed(2) + " k/s";
      return trim(v) + "/s";
    }
    return unit ? trim(v) + " " + unit : trim(v);
  }
  function pct(change) { return (change >= 0 ? "+" : "") + (change * 100).toFixed(1) + "%"; }
  function fmtTime(t) {
    return new Date(t * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC";
  }
  function cssVar(name) {
    return getComputedStyle(document.body).getPropertyValue(name).trim();
  }

  // ---------------------------------------------------------------- tables: search, filter, sort
  function setupTable(table, filters) {
    var tbody = table.tBodies[0];
    var rows = Array.prototype.slice.call(tbody.rows);
    var shown = $("pw-shown");
    function apply() {
      var n = 0;
      for (var i = 0; i < rows.length; i++) {
        var ok = filters.every(function (f) { return f(rows[i]); });
        rows[i].hidden = !ok;
        if (ok) n++;
      }
      if (shown) shown.textContent = n + " of " + rows.length + " shown";
    }
    var buttons = table.querySelectorAll("th button[data-sort]");
    Array.prototype.forEach.call(buttons, function (btn) {
      btn.addEventListener("click", function () {
        var key = btn.getAttribute("data-sort");
        var th = btn.parentNode;
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(table.querySelectorAll("th"), function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var numeric = key !== "name" && key !== "metric";
        var attr = key === "verdict" ? "data-vrank" : "data-" + key;
        rows.sort(function (a, b) {
          var x = a.getAttribute(attr), y = b.getAttribute(attr), c;
          if (numeric) {
            var fx = x === "" ? Infinity : +x, fy = y === "" ? Infinity : +y;
            c = fx < fy ? -1 : fx > fy ? 1 : 0;
          } else {
            c = x < y ? -1 : x > y ? 1 : 0;
          }
          if (c === 0) c = a.getAttribute("data-name") < b.getAttribute("data-name") ? -1 : 1;
          return asc ? c : -c;
        });
        var frag = document.createDocumentFragment();
        rows.forEach(function (r) { frag.appendChild(r); });
        tbody.appendChild(frag);
      });
    });
    return apply;
  }

  function setupOverview() {
    var table = $("pw-overview");
    if (!table) return;
    var search = $("pw-search"), metric = $("pw-metric"), show = $("pw-show");
    var apply = setupTable(table, [
      function (r) { var q = search.value.trim().toLowerCase(); return !q || r.getAttribute("data-name").indexOf(q) >= 0; },
      function (r) { return !metric.value || r.getAttribute("data-metric") === metric.value; },
      function (r) {
        var v = show.value;
        if (!v) return true;
        if (v === "change") return r.getAttribute("data-kind") !== "";
        if (v === "regression") return r.getAttribute("data-kind") === "regression";
        return r.getAttribute("data-verdict") === v;
      },
    ]);
    [search, metric, show].forEach(function (c) { c.addEventListener("input", apply); c.addEventListener("change", apply); });
    apply();
  }

  function setupCompare() {
    var table = $("pw-compare"), search = $("pw-search");
    if (!table) return;
    var apply = setupTable(table, [
      function (r) { var q = search.value.trim().toLowerCase(); return !q || r.getAttribute("data-name").indexOf(q) >= 0; },
    ]);
    search.addEventListener("input", apply);
    apply();
  }

  // ---------------------------------------------------------------- case page: the chart
  function setupCase() {
    var data = PW._case, runs = PW._runs || { id: [], t: [], c: [], b: [], p: [] };
    var chartBox = $("pw-chart"), details = $("pw-details"), cpsBox = $("pw-cps");
    var select = $("pw-metric-select");
    if (!data || !chartBox || typeof uPlot === "undefined") {
      if (details) details.textContent = "The chart data could not be loaded.";
      return;
    }
    var state = { metric: null, x: "run", idx: null, plot: null };
    var RUN_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000, 100000, 1000000];
    var hash = /metric=([^&]*)/.exec(location.hash);
    var wanted = hash ? decodeURIComponent(hash[1]) : null;
    var names = data.metrics.map(function (m) { return m.name; });
    state.metric = names.indexOf(wanted) >= 0 ? wanted : names[0];
    if (select) select.value = state.metric;

    function series() {
      for (var i = 0; i < data.metrics.length; i++) if (data.metrics[i].name === state.metric) return data.metrics[i];
      return null;
    }
    function xs(s) {
      if (state.x === "time") return s.t;
      var out = new Array(s.m.length);
      for (var i = 0; i < out.length; i++) out[i] = i + 1;
      return out;
    }
    function runOf(s, i) {
      var r = s.r[i];
      return r >= 0 && r < runs.id.length ? r : -1;
    }
    function showPoint(s, i) {
      state.idx = i;
      if (i == null || i < 0 || i >= s.m.length) return;
      var r = runOf(s, i);
      details.textContent = "";
      var id = r >= 0 ? runs.id[r] : "?";
      var parts = [
        ["Run", "#" + (i + 1) + " " + id],
        ["Commit", r >= 0 && runs.c[r] ? runs.c[r].slice(0, 12) + (runs.b[r] ? " (" + runs.b[r] + ")" : "") : "—"],
        ["Date", fmtTime(s.t[i])],
        ["Median", human(s.m[i], s.unit)],
        ["95% CI", human(s.lo[i], s.unit) + " – " + human(s.hi[i], s.unit)],
      ];
      parts.forEach(function (p) {
        var span = el("span", "kv");
        span.appendChild(el("b", null, p[0] + ": "));
        span.appendChild(document.createTextNode(p[1]));
        details.appendChild(span);
      });
      if (r >= 0 && runs.p[r]) {
        var a = el("a", null, "open run");
        a.href = "run-" + encodeURIComponent(id) + ".html";
        a.id = "pw-open-run";
        details.appendChild(a);
      } else {
        details.appendChild(el("span", "muted", "(this run has no page in this report)"));
      }
      details.setAttribute("data-run", id);
    }
    function openRun(s, i) {
      var r = runOf(s, i);
      if (r >= 0 && runs.p[r]) location.href = "run-" + encodeURIComponent(runs.id[r]) + ".html";
    }

    function cpTable(s) {
      cpsBox.textContent = "";
      if (!s.cps.length) { cpsBox.appendChild(el("p", "muted", "No change points in this history.")); return; }
      var t = el("table", "grid"), head = t.createTHead().insertRow();
      // `x`: the explanation (flame graph) of a change whose two runs both stored a profile.
      var explained = s.cps.some(function (cp) { return cp.x; });
      var heads = ["Point", "Change", "p-value", "Run", "Commit", "Date"];
      if (explained) heads.push("Where?");
      heads.forEach(function (h) { head.appendChild(el("th", null, h)); });
      var body = t.createTBody();
      s.cps.slice().reverse().forEach(function (cp) {
        var row = body.insertRow(), r = runOf(s, cp.i);
        row.insertCell().textContent = "#" + (cp.i + 1);
        var c = row.insertCell();
        c.appendChild(el("span", "badge k-" + cp.kind, pct(cp.change) + " " + cp.kind));
        row.insertCell().textContent = cp.p.toPrecision(2);
        var rc = row.insertCell();
        if (r >= 0 && runs.p[r]) {
          var a = el("a", null, runs.id[r]);
          a.href = "run-" + encodeURIComponent(runs.id[r]) + ".html";
          rc.appendChild(a);
        } else rc.textContent = r >= 0 ? runs.id[r] : "?";
        row.insertCell().textContent = r >= 0 && runs.c[r] ? runs.c[r].slice(0, 12) : "—";
        row.insertCell().textContent = fmtTime(s.t[cp.i]);
        if (explained) {
          var xc = row.insertCell();
          if (cp.x) {
            var xa = el("a", "explain", "where? (flame graph)");
            xa.href = cp.x;
            xc.appendChild(xa);
          } else xc.textContent = "—";
        }
      });
      cpsBox.appendChild(t);
    }

    function build() {
      var s = series();
      if (!s) return;
      if (state.plot) { state.plot.destroy(); state.plot = null; }
      var x = xs(s);
      var line = cssVar("--chart-line") || "#1f5fbf", band = cssVar("--chart-band") || "rgba(31,95,191,.18)";
      var axis = cssVar("--fg") || "#222", grid = cssVar("--grid") || "rgba(0,0,0,.1)";
      var reg = cssVar("--bad") || "#b00020", imp = cssVar("--good") || "#1b7a2f";
      var many = s.m.length > 400;
      var opts = {
        width: Math.max(300, chartBox.clientWidth),
        height: 360,
        scales: { x: { time: state.x === "time" } },
        legend: { show: false },
        cursor: { drag: { x: true, y: false }, focus: { prox: 30 } },
        series: [
          {},
          { label: "CI low", stroke: "transparent", points: { show: false } },
          { label: "median", stroke: line, width: 1.5, points: { show: !many, size: 5, fill: line } },
          { label: "CI high", stroke: "transparent", points: { show: false } },
        ],
        bands: [{ series: [3, 1], fill: band }],
        axes: [
          { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid }, label: state.x === "time" ? "" : "run",
            // Runs are counted: whole-number ticks only (uPlot's default increments include 0.5).
            incrs: state.x === "time" ? undefined : RUN_INCRS },
          { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid }, size: 80,
            values: function (u, vals) { return vals.map(function (v) { return human(v, s.unit); }); } },
        ],
        hooks: {
          setCursor: [function (u) { if (u.cursor.idx != null) showPoint(s, u.cursor.idx); }],
          draw: [function (u) {
            var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
            ctx.save();
            ctx.lineWidth = 2 * (window.devicePixelRatio || 1);
            ctx.setLineDash([6, 4]);
            s.cps.forEach(function (cp) {
              var px = u.valToPos(x[cp.i], "x", true);
              if (px < u.bbox.left || px > u.bbox.left + u.bbox.width) return;
              ctx.strokeStyle = cp.kind === "regression" ? reg : imp;
              ctx.beginPath(); ctx.moveTo(px, top); ctx.lineTo(px, top + h); ctx.stroke();
            });
            ctx.restore();
            if (!PW.drawnAt) {
              PW.drawnAt = performance.now();
              document.body.setAttribute("data-chart-drawn", "1");
            }
          }],
        },
      };
      state.plot = new uPlot(opts, [x, s.lo, s.m, s.hi], chartBox);
      PW.chart = state.plot; // for tests and the console
      state.plot.over.addEventListener("click", function () {
        var i = state.plot.cursor.idx;
        if (i != null) openRun(s, i);
      });
      cpTable(s);
      showPoint(s, s.m.length - 1);
    }

    function moveTo(i) {
      var s = series(), u = state.plot;
      if (!s || !u || !s.m.length) return;
      i = Math.max(0, Math.min(s.m.length - 1, i));
      var x = u.data[0];
      var minX = u.scales.x.min, maxX = u.scales.x.max;
      if (x[i] < minX || x[i] > maxX) {
        var w = maxX - minX;
        u.setScale("x", { min: x[i] - w / 2, max: x[i] + w / 2 });
      }
      u.setCursor({ left: u.valToPos(x[i], "x"), top: u.valToPos(s.m[i], "y") });
      showPoint(s, i);
    }
    function zoom(factor) {
      var u = state.plot, s = series();
      if (!u) return;
      var x = u.data[0], minX = u.scales.x.min, maxX = u.scales.x.max;
      var mid = state.idx != null ? x[state.idx] : (minX + maxX) / 2;
      var w = (maxX - minX) * factor;
      var lo = Math.max(x[0], mid - w / 2), hi = Math.min(x[x.length - 1], mid + w / 2);
      if (hi - lo < 1e-9 || (s && s.m.length < 2)) return;
      u.setScale("x", { min: lo, max: hi });
    }
    function resetZoom() {
      var u = state.plot;
      if (u) u.setScale("x", { min: u.data[0][0], max: u.data[0][u.data[0].length - 1] });
    }

    chartBox.addEventListener("keydown", function (e) {
      var s = series();
      if (!s) return;
      var i = state.idx == null ? s.m.length - 1 : state.idx, handled = true;
      switch (e.key) {
        case "ArrowLeft": moveTo(i - 1); break;
        case "ArrowRight": moveTo(i + 1); break;
        case "PageUp": moveTo(i - 10); break;
        case "PageDown": moveTo(i + 10); break;
        case "Home": moveTo(0); break;
        case "End": moveTo(s.m.length - 1); break;
        case "Enter": openRun(s, i); break;
        case "+": case "=": zoom(0.5); break;
        case "-": zoom(2); break;
        case "0": case "Escape": resetZoom(); break;
        default: handled = false;
      }
      if (handled) e.preventDefault();
    });
    if (select) select.addEventListener("change", function () {
      state.metric = select.value;
      history.replaceState(null, "", "#metric=" + encodeURIComponent(state.metric));
      build();
    });
    Array.prototype.forEach.call(document.querySelectorAll("input[name=pw-x]"), function (r) {
      r.addEventListener("change", function () { if (r.checked) { state.x = r.value; build(); } });
    });
    $("pw-zoom-in").addEventListener("click", function () { zoom(0.5); });
    $("pw-zoom-out").addEventListener("click", function () { zoom(2); });
    $("pw-zoom-reset").addEventListener("click", resetZoom);
    var lastW = chartBox.clientWidth;
    window.addEventListener("resize", function () {
      if (state.plot && chartBox.clientWidth !== lastW) {
        lastW = chartBox.clientWidth;
        state.plot.setSize({ width: Math.max(300, lastW), height: 360 });
      }
    });
    if (window.matchMedia) {
      var mq = window.matchMedia("(prefers-color-scheme: dark)");
      if (mq.addEventListener) mq.addEventListener("change", build);
    }
    build();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var page = document.body.getAttribute("data-page");
    if (page === "overview") setupOverview();
    else if (page === "case") setupCase();
    else if (page === "compare") setupCompare();
  });
})();
