//! Profiling a case's command for `perfwatch explain` (and the callgrind run of
//! `[bench.instr]`): the command line that runs it under a profiler, and the reading of what
//! the profiler wrote into folded stacks ([`Profile`]).
//!
//! Callgrind does not record stacks, only a call graph: per function its own (self) cost and,
//! per call arc, the inclusive cost of the calls. [`fold_callgrind`] rebuilds call paths from
//! that graph the way `gprof2dot` and KCachegrind's call-tree view do: it walks the graph from
//! the functions nobody calls, giving each call path the share of the callee's cost that its
//! arc carried. The walk never enters a function already on the path (recursion: callgrind's
//! `f'2` levels are merged into `f`, and the arcs that close a cycle are dropped — their cost
//! is inside the arc that entered the cycle), so it ends on any graph, and the self costs it
//! hands out add up to callgrind's totals.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use perfwatch_model::{Profile, Profiler};

/// How often py-spy and perf sample (per second): often enough for a 1-second benchmark to
/// give hundreds of samples, rarely enough to stay a few per cent of overhead.
pub const SAMPLE_RATE_HZ: u32 = 499;

/// A call path whose share of the total is below this is folded into its caller's frame
/// (bounds the number of paths on call graphs where they multiply).
const PRUNE_SHARE: f64 = 1e-7;

/// Call paths end here (the walk recurses once per frame).
const MAX_DEPTH: usize = 1024;

/// The argv that runs `argv` under `profiler`, writing into `out_dir`.
pub fn profiler_argv(profiler: Profiler, out_dir: &Path, argv: &[String]) -> Vec<String> {
    let mut v: Vec<String> = match profiler {
        Profiler::Callgrind => vec![
            "valgrind".into(),
            "--tool=callgrind".into(),
            "--trace-children=yes".into(),
            "--quiet".into(),
            format!("--callgrind-out-file={}/callgrind.out.%p", out_dir.display()),
        ],
        Profiler::PySpy => vec![
            "py-spy".into(),
            "record".into(),
            "--format".into(),
            "raw".into(),
            "--rate".into(),
            SAMPLE_RATE_HZ.to_string(),
            // A `shell =` command runs Python as a child of `sh`.
            "--subprocesses".into(),
            "--output".into(),
            format!("{}/py-spy.folded", out_dir.display()),
        ],
        Profiler::Perf => vec![
            "perf".into(),
            "record".into(),
            "--quiet".into(),
            "-F".into(),
            SAMPLE_RATE_HZ.to_string(),
            "-g".into(),
            "-o".into(),
            format!("{}/perf.data", out_dir.display()),
        ],
    };
    v.push("--".into());
    v.extend(argv.iter().cloned());
    v
}

/// Reads the profile `profiler` wrote into `out_dir` (for perf: the text of `perf script`,
/// which the caller runs, in `perf_script`).
pub fn read_profile(
    profiler: Profiler,
    out_dir: &Path,
    perf_script: Option<&str>,
) -> Result<Profile, String> {
    match profiler {
        Profiler::Callgrind => {
            let mut total = Profile { profiler, stacks: BTreeMap::new() };
            let entries =
                std::fs::read_dir(out_dir).map_err(|e| format!("cannot list {}: {e}", out_dir.display()))?;
            for entry in
                entries.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("callgrind.out"))
            {
                let text = std::fs::read_to_string(entry.path())
                    .map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
                let one = fold_callgrind(&text).map_err(|e| format!("{}: {e}", entry.path().display()))?;
                merge(&mut total, one);
            }
            if total.stacks.is_empty() {
                return Err("callgrind wrote no profile".into());
            }
            Ok(total)
        }
        Profiler::PySpy => {
            let path = out_dir.join("py-spy.folded");
            let text = std::fs::read_to_string(&path).map_err(|e| format!("py-spy wrote no profile: {e}"))?;
            let profile = normalize_py_spy(&text)?;
            if profile.stacks.is_empty() {
                return Err("py-spy recorded no samples (did the command run Python?)".into());
            }
            Ok(profile)
        }
        Profiler::Perf => {
            let script = perf_script.ok_or("no `perf script` output")?;
            let folded = collapse_perf(script)?;
            let profile = Profile::from_folded(Profiler::Perf, &folded)?;
            if profile.stacks.is_empty() {
                return Err("perf recorded no samples".into());
            }
            Ok(profile)
        }
    }
}

/// Folds every callgrind output file in `dir` (one per process the command started) into
/// one profile.
pub fn read_callgrind_dir(dir: &Path) -> Result<Profile, String> {
    let mut total = Profile { profiler: Profiler::Callgrind, stacks: BTreeMap::new() };
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let text = std::fs::read_to_string(entry.path())
            .map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
        let one = fold_callgrind(&text).map_err(|e| format!("{}: {e}", entry.path().display()))?;
        merge(&mut total, one);
    }
    if total.stacks.is_empty() {
        return Err("callgrind wrote no profile".into());
    }
    Ok(total)
}

/// `profile` with its costs rescaled to add up to `total`, each stack keeping its share
/// (largest-remainder rounding, so the sum is exactly `total`).
///
/// Why: a sampler that is itself short of CPU (py-spy on a loaded machine) takes fewer
/// samples than its rate promises, so sample counts understate a slower run; the shares
/// between stacks stay right. Scaling each run's shares to its CPU time measured by the
/// kernel (`wait4`) gives costs that compare between runs.
pub fn scale_to(profile: &Profile, total: u64) -> Profile {
    let samples = profile.total();
    if samples == 0 {
        return profile.clone();
    }
    let exact: Vec<(&String, f64)> =
        profile.stacks.iter().map(|(s, c)| (s, *c as f64 * total as f64 / samples as f64)).collect();
    let mut stacks: BTreeMap<String, u64> =
        exact.iter().map(|(s, x)| ((*s).clone(), x.floor() as u64)).collect();
    let given: u64 = stacks.values().sum();
    let mut by_remainder: Vec<&(&String, f64)> = exact.iter().collect();
    by_remainder.sort_by(|a, b| (b.1 - b.1.floor()).total_cmp(&(a.1 - a.1.floor())).then(a.0.cmp(b.0)));
    for (stack, _) in by_remainder.into_iter().take(total.saturating_sub(given) as usize) {
        *stacks.get_mut(*stack).expect("every stack is in the map") += 1;
    }
    Profile { profiler: profile.profiler, stacks }
}

/// Adds `more`'s stacks into `into`.
pub fn merge(into: &mut Profile, more: Profile) {
    for (stack, cost) in more.stacks {
        let sum = into.stacks.entry(stack).or_insert(0);
        *sum = sum.saturating_add(cost);
    }
}

/// Folds `perf script` text into folded stacks (inferno's collapser, the port of
/// FlameGraph's `stackcollapse-perf.pl`).
fn collapse_perf(script: &str) -> Result<String, String> {
    use inferno::collapse::Collapse;
    let mut out = Vec::new();
    inferno::collapse::perf::Folder::default()
        .collapse(script.as_bytes(), &mut out)
        .map_err(|e| format!("cannot fold perf's stacks: {e}"))?;
    String::from_utf8(out).map_err(|_| "perf's stacks are not UTF-8".to_string())
}

/// py-spy's raw output with line numbers dropped from the frames (`work (app.py:12)` →
/// `work (app.py)`), so that a function is one frame however its lines moved between
/// versions, and without the `process …` frame `--subprocesses` puts on top (its pid differs
/// between runs).
pub fn normalize_py_spy(text: &str) -> Result<Profile, String> {
    let raw = Profile::from_folded(Profiler::PySpy, text)?;
    let mut out = Profile { profiler: Profiler::PySpy, stacks: BTreeMap::new() };
    for (stack, cost) in raw.stacks {
        let frames: Vec<String> =
            stack.split(';').filter(|f| !f.starts_with("process ")).map(drop_line_number).collect();
        if frames.is_empty() {
            continue;
        }
        let sum = out.stacks.entry(frames.join(";")).or_insert(0);
        *sum = sum.saturating_add(cost);
    }
    Ok(out)
}

/// `name (file.py:12)` → `name (file.py)`; other frames unchanged.
fn drop_line_number(frame: &str) -> String {
    if let Some(body) = frame.strip_suffix(')')
        && let Some((head, line)) = body.rsplit_once(':')
        && !line.is_empty()
        && line.bytes().all(|b| b.is_ascii_digit())
        && head.contains(" (")
    {
        return format!("{head})");
    }
    frame.to_string()
}

/// The call graph of one callgrind output file: self cost per function and inclusive cost
/// per call arc, in the first event (`Ir`, instructions).
#[derive(Debug, Default)]
struct CallGraph {
    self_cost: HashMap<String, u64>,
    /// caller → callee → inclusive cost of the calls.
    calls: HashMap<String, BTreeMap<String, u64>>,
    /// Inclusive cost of all calls into a function from other functions.
    incoming: HashMap<String, u64>,
}

/// A function name as a frame: callgrind's recursion levels (`f'2`) merged into `f`, and `;`
/// (the frame separator) replaced.
fn frame_name(name: &str) -> String {
    let base = match name.rsplit_once('\'') {
        Some((f, level)) if !level.is_empty() && level.bytes().all(|b| b.is_ascii_digit()) => f,
        _ => name,
    };
    base.replace(';', ":")
}

/// Parses callgrind's output format (<https://valgrind.org/docs/manual/cl-format.html>):
/// `fn=` names the function the following cost lines belong to, `cfn=` + `calls=` announce
/// a call whose inclusive cost is on the next cost line; names may be compressed to `(id)`.
fn parse_call_graph(text: &str) -> Result<CallGraph, String> {
    let mut graph = CallGraph::default();
    let mut names: HashMap<String, String> = HashMap::new();
    let mut positions = 1usize;
    let mut current: Option<String> = None;
    let mut callee: Option<String> = None;
    let mut call_pending = false;
    for (i, line) in text.lines().enumerate() {
        let located = |m: String| format!("line {}: {m}", i + 1);
        if let Some(p) = line.strip_prefix("positions:") {
            positions = p.split_whitespace().count().max(1);
        } else if let Some(n) = line.strip_prefix("fn=") {
            current = Some(resolve_name(&mut names, n).map_err(located)?);
        } else if let Some(n) = line.strip_prefix("cfn=").or_else(|| line.strip_prefix("cfni=")) {
            callee = Some(resolve_name(&mut names, n).map_err(located)?);
        } else if line.starts_with("calls=") {
            call_pending = true;
        } else if line.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '*')) {
            let cost = first_event(line, positions).map_err(located)?;
            let Some(f) = current.clone() else { return Err(located("a cost line before any `fn=`".into())) };
            if std::mem::take(&mut call_pending) {
                let Some(g) = callee.take() else { return Err(located("`calls=` without `cfn=`".into())) };
                graph.add_call(f, g, cost);
            } else {
                let s = graph.self_cost.entry(f).or_insert(0);
                *s = s.saturating_add(cost);
            }
        }
    }
    Ok(graph)
}

/// The name behind `(id) name`, `(id)` or a plain `name`, remembering compressed ids.
fn resolve_name(names: &mut HashMap<String, String>, spec: &str) -> Result<String, String> {
    let spec = spec.trim();
    // `(12) name` / `(12)` is a compressed name; `(below main)` is a plain one.
    let compressed = spec
        .strip_prefix('(')
        .and_then(|r| r.split_once(')'))
        .filter(|(id, _)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
    let Some((id, name)) = compressed else { return Ok(frame_name(spec)) };
    let name = name.trim();
    if name.is_empty() {
        names.get(id).cloned().ok_or_else(|| format!("name id ({id}) used before it was defined"))
    } else {
        let frame = frame_name(name);
        names.insert(id.to_string(), frame.clone());
        Ok(frame)
    }
}

/// The first event's value on a cost line (`positions` position columns first; a missing
/// value is 0).
fn first_event(line: &str, positions: usize) -> Result<u64, String> {
    match line.split_whitespace().nth(positions) {
        None => Ok(0),
        Some(v) => v.parse().map_err(|_| format!("cost {v:?} is not a whole number")),
    }
}

impl CallGraph {
    fn add_call(&mut self, caller: String, callee: String, cost: u64) {
        if caller == callee {
            // A recursive call: its cost is already inside the outer call's inclusive cost.
            return;
        }
        let c = self.calls.entry(caller).or_default().entry(callee.clone()).or_insert(0);
        *c = c.saturating_add(cost);
        let inc = self.incoming.entry(callee).or_insert(0);
        *inc = inc.saturating_add(cost);
    }

    fn functions(&self) -> impl Iterator<Item = &String> {
        self.self_cost.keys().chain(self.calls.keys())
    }
}

/// Folds one callgrind output file into call paths (see the module documentation).
pub fn fold_callgrind(text: &str) -> Result<Profile, String> {
    let mut graph = parse_call_graph(text)?;
    graph.break_cycles();
    let mut roots: Vec<&String> = graph.functions().filter(|f| graph.entered(f) == 0).collect();
    roots.sort();
    roots.dedup();
    let total: u64 = graph.self_cost.values().sum();
    let floor = total as f64 * PRUNE_SHARE;
    let mut fold = Folder { graph: &graph, stacks: BTreeMap::new(), path: vec![], floor };
    for root in roots {
        fold.walk(root, 1.0);
    }
    Ok(Profile { profiler: Profiler::Callgrind, stacks: fold.stacks })
}

impl CallGraph {
    /// Inclusive cost of the calls into `f` that are left.
    fn entered(&self, f: &str) -> u64 {
        self.incoming.get(f).copied().unwrap_or(0)
    }

    /// The callees of `f`, in name order.
    fn callees(&self, f: &str) -> Vec<String> {
        self.calls.get(f).map(|c| c.keys().cloned().collect()).unwrap_or_default()
    }

    /// Removes the arcs that close a cycle (the back edges of a depth-first search from the
    /// functions nobody calls, then from the rest, in name order), so the graph is acyclic.
    /// A back arc's cost is inside the inclusive cost of the arc that entered the cycle, so
    /// dropping it loses nothing; it makes the walk end and keeps each function's self cost
    /// handed out exactly once (the arcs left into a function add up to what it is given).
    fn break_cycles(&mut self) {
        let mut order: Vec<String> = self.functions().cloned().collect();
        order.sort_by(|a, b| (self.entered(a) > 0, a).cmp(&(self.entered(b) > 0, b)));
        order.dedup();
        // 1: on the current path; 2: done.
        let mut state: HashMap<String, u8> = HashMap::new();
        let mut back = Vec::new();
        for start in order {
            if state.contains_key(&start) {
                continue;
            }
            state.insert(start.clone(), 1);
            let mut stack = vec![(start.clone(), self.callees(&start), 0usize)];
            while let Some((node, kids, next)) = stack.last_mut() {
                let Some(g) = kids.get(*next).cloned() else {
                    state.insert(node.clone(), 2);
                    stack.pop();
                    continue;
                };
                *next += 1;
                match state.get(&g) {
                    Some(1) => back.push((node.clone(), g)),
                    Some(_) => {}
                    None => {
                        state.insert(g.clone(), 1);
                        let kids = self.callees(&g);
                        stack.push((g, kids, 0));
                    }
                }
            }
        }
        for (f, g) in back {
            let cost = self.calls.get_mut(&f).and_then(|c| c.remove(&g)).unwrap_or(0);
            if let Some(inc) = self.incoming.get_mut(&g) {
                *inc = inc.saturating_sub(cost);
            }
        }
    }
}

struct Folder<'g> {
    graph: &'g CallGraph,
    stacks: BTreeMap<String, u64>,
    path: Vec<&'g str>,
    floor: f64,
}

impl<'g> Folder<'g> {
    /// Visits `f` on the current path, carrying `share` of its total cost.
    fn walk(&mut self, f: &'g str, share: f64) {
        self.path.push(f);
        let own = self.graph.self_cost.get(f).copied().unwrap_or(0) as f64 * share;
        if let Some(callees) = self.graph.calls.get(f) {
            for (g, &cost) in callees {
                let carried = cost as f64 * share;
                let entered = self.graph.entered(g);
                if carried < self.floor || entered == 0 || self.path.len() >= MAX_DEPTH {
                    // A negligible path (or one deeper than any real stack): it ends in a leaf.
                    self.add(Some(g), carried);
                } else {
                    self.walk(g, carried / entered as f64);
                }
            }
        }
        self.add(None, own);
        self.path.pop();
    }

    fn add(&mut self, leaf: Option<&str>, cost: f64) {
        let cost = cost.round() as u64;
        if cost == 0 {
            return;
        }
        let mut stack = self.path.join(";");
        if let Some(l) = leaf {
            stack.push(';');
            stack.push_str(l);
        }
        let sum = self.stacks.entry(stack).or_insert(0);
        *sum = sum.saturating_add(cost);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A hand-written callgrind file: main calls a (twice, 40 in all) and b (50); b recurses
    /// into itself (`b'2`, 20 of its 50) and calls a (5); self costs main 10, a 45, b 45.
    const SMALL: &str = "version: 1\ncreator: test\npositions: line\nevents: Ir Dr\n\
        fl=(1) x.c\nfn=(1) main\n3 10 1\ncfn=(2) a\ncalls=2 7\n4 40\ncfn=(3) b\ncalls=1 9\n+1 50 2\n\
        fn=(2)\n7 45\n\
        fn=(3)\n9 25\ncfn=(4) b'2\ncalls=1 9\n* 20\ncfn=(2)\ncalls=1 7\n* 5\n\
        fn=(4)\n9 20\n\
        totals: 100\n";

    #[test]
    fn a_call_graph_folds_into_paths_whose_self_costs_match_callgrind() {
        let p = fold_callgrind(SMALL).unwrap();
        assert_eq!(p.total(), 100);
        // a's 45 self split by its callers' arcs: 40 from main, 5 from b.
        assert_eq!(p.stacks["main"], 10);
        assert_eq!(p.stacks["main;a"], 40);
        assert_eq!(p.stacks["main;b;a"], 5);
        // b's levels are one frame: self 25 + 20.
        assert_eq!(p.stacks["main;b"], 45);
    }

    #[test]
    fn cycles_are_broken_without_counting_anything_twice() {
        let text = "events: Ir\nfn=main\n1 1\ncfn=f\ncalls=1 1\n1 10\nfn=f\n1 4\ncfn=g\ncalls=1 1\n1 6\n\
                    fn=g\n1 3\ncfn=f\ncalls=1 1\n1 3\n";
        let p = fold_callgrind(text).unwrap();
        // g → f closes the cycle and is dropped; every self cost is handed out once.
        let want: BTreeMap<String, u64> =
            [("main", 1), ("main;f", 4), ("main;f;g", 3)].map(|(s, c)| (s.to_string(), c)).into();
        assert_eq!(p.stacks, want);
        // Two functions valgrind names alike (`(below main)`) make a cycle through a third:
        // the total stays the program's, not twice it.
        let text = "events: Ir\nfn=start\n1 1\ncfn=(below main)\ncalls=1 1\n1 110\n\
                    fn=(below main)\n1 5\ncfn=libc\ncalls=1 1\n1 105\ncfn=main\ncalls=1 1\n1 100\n\
                    fn=libc\n1 5\ncfn=(below main)\ncalls=1 1\n1 100\nfn=main\n1 100\n";
        let p = fold_callgrind(text).unwrap();
        assert_eq!(p.total(), 111, "{:?}", p.stacks);
        assert_eq!(p.stacks["start;(below main);main"], 100);
    }

    /// A random call tree: (function, self cost, children); names repeat, so the graph
    /// callgrind would record has recursion and cycles.
    #[derive(Debug, Clone)]
    struct Node(u8, u64, Vec<Node>);

    fn arb_tree() -> impl Strategy<Value = Node> {
        let leaf = (0u8..5, 0u64..1000).prop_map(|(f, c)| Node(f, c, vec![]));
        leaf.prop_recursive(5, 40, 4, |inner| {
            (0u8..5, 0u64..1000, prop::collection::vec(inner, 0..4)).prop_map(|(f, c, k)| Node(f, c, k))
        })
    }

    /// Inclusive cost of `n`; adds its self cost and its call arcs to the graph's sums.
    fn record(n: &Node, selfs: &mut BTreeMap<u8, u64>, arcs: &mut BTreeMap<(u8, u8), u64>) -> u64 {
        *selfs.entry(n.0).or_insert(0) += n.1;
        let mut inclusive = n.1;
        for child in &n.2 {
            let c = record(child, selfs, arcs);
            *arcs.entry((n.0, child.0)).or_insert(0) += c;
            inclusive += c;
        }
        inclusive
    }

    /// The tree as callgrind's format: self costs per function, call arcs with inclusive costs.
    fn callgrind_text(root: &Node) -> (String, BTreeMap<u8, u64>) {
        let (mut selfs, mut arcs) = (BTreeMap::new(), BTreeMap::new());
        record(root, &mut selfs, &mut arcs);
        let mut text = String::from("events: Ir\n");
        for (f, c) in &selfs {
            text.push_str(&format!("fn=f{f}\n1 {c}\n"));
            for ((_, g), cost) in arcs.range((*f, 0)..=(*f, u8::MAX)) {
                text.push_str(&format!("cfn=f{g}\ncalls=1 1\n1 {cost}\n"));
            }
        }
        (text, selfs)
    }

    proptest! {
        /// Whatever the recursion and cycles, the folded paths hand out each function's self
        /// cost once (up to rounding each path to a whole count).
        #[test]
        fn folding_keeps_every_self_cost(root in arb_tree()) {
            let (text, selfs) = callgrind_text(&root);
            let p = fold_callgrind(&text).unwrap();
            let slack = p.stacks.len() as f64;
            let mut folded: BTreeMap<String, u64> = BTreeMap::new();
            for (stack, cost) in &p.stacks {
                *folded.entry(stack.rsplit(';').next().unwrap().to_string()).or_insert(0) += cost;
            }
            for (f, want) in &selfs {
                let got = folded.get(&format!("f{f}")).copied().unwrap_or(0);
                prop_assert!((got as f64 - *want as f64).abs() <= slack, "f{}: {} folded, {} recorded\n{}", f, got, want, text);
            }
            let total: u64 = selfs.values().sum();
            prop_assert!((p.total() as f64 - total as f64).abs() <= slack);
        }
    }

    #[test]
    fn scaling_keeps_shares_and_hits_the_total_exactly() {
        let p = Profile::from_folded(Profiler::PySpy, "a 1\nb 1\nc 1\n").unwrap();
        let s = scale_to(&p, 1000);
        assert_eq!(s.total(), 1000);
        assert_eq!((s.stacks["a"], s.stacks["b"], s.stacks["c"]), (334, 333, 333));
        let p = Profile::from_folded(Profiler::PySpy, "a 30\nb 10\n").unwrap();
        let s = scale_to(&p, 2_000_000);
        assert_eq!((s.stacks["a"], s.stacks["b"]), (1_500_000, 500_000));
        let empty = Profile { profiler: Profiler::PySpy, stacks: BTreeMap::new() };
        assert_eq!(scale_to(&empty, 5), empty);
    }

    #[test]
    fn broken_files_are_located_errors() {
        assert!(fold_callgrind("events: Ir\n1 2\n").unwrap_err().contains("line 2"));
        assert!(fold_callgrind("events: Ir\nfn=(1)\n").unwrap_err().contains("before it was defined"));
        assert!(fold_callgrind("events: Ir\nfn=a\ncalls=1 2\n1 x\n").unwrap_err().contains("line 4"));
        assert!(fold_callgrind("fn=a\ncalls=1 2\n1 3\n").unwrap_err().contains("cfn"));
    }

    #[test]
    fn py_spy_frames_lose_line_numbers_and_the_process_frame() {
        let text = "process 41:\"python3 app.py\";<module> (app.py:30);work (app.py:12) 7\n\
                    process 42:\"python3 app.py\";<module> (app.py:30);work (app.py:14) 3\n\
                    <module> (app.py:31);idle (lib (x).py:2) 1\n";
        let p = normalize_py_spy(text).unwrap();
        assert_eq!(p.stacks["<module> (app.py);work (app.py)"], 10);
        assert_eq!(p.stacks["<module> (app.py);idle (lib (x).py)"], 1);
        assert_eq!(drop_line_number("main"), "main");
        assert_eq!(drop_line_number("f (a.py:)"), "f (a.py:)");
    }

    #[test]
    fn the_command_runs_under_each_profiler() {
        let argv = vec!["./app".to_string(), "--n".to_string()];
        let dir = Path::new("/out");
        let cg = profiler_argv(Profiler::Callgrind, dir, &argv);
        assert_eq!(cg[0], "valgrind");
        assert!(cg.contains(&"--callgrind-out-file=/out/callgrind.out.%p".to_string()));
        assert!(profiler_argv(Profiler::PySpy, dir, &argv).contains(&"--subprocesses".to_string()));
        let perf = profiler_argv(Profiler::Perf, dir, &argv);
        assert_eq!(&perf[perf.len() - 3..], ["--", "./app", "--n"]);
    }
}
