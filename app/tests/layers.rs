//! The layers, enforced: reads every `.rs` file under `app/src` and
//! `server/src`, finds what each module imports (every `use` path with its
//! brace groups expanded, and every path written inline from `crate::`,
//! `$crate::`, `super::` or, in the `server` crate, `app::`), resolves it to
//! an absolute module path, and fails listing every import against the order
//! in `LAYERS` and every pair in `FORBIDDEN`, as `file:line: X imports Y`.
//!
//! Paths are named by crate: `app::…` (written `crate::…` inside the app
//! crate) and `server::…`. Comments, strings and character literals are
//! blanked before anything is read, so a path in a doc comment is no import.
//! Paths through a name imported earlier (`use crate::backend::db;` and then
//! `db::users::find`) are covered by that earlier import.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layers of the `app` crate, lowest first. A module may import its own
/// layer or lower ones. The longest matching prefix decides; whatever else
/// is at the crate root (`lib.rs`, `app.rs`: the shell and the route table,
/// and any new top-level module until it is listed here) is rank 5.
const LAYERS: &[(&str, u8)] = &[
    ("app::domain", 0),
    ("app::views", 0),
    ("app::error", 0),
    ("app::text_column", 0), // the macro `domain::column` exports at the crate root
    ("app::backend::db", 1),
    ("app::on_db", 1), // the macros `backend::db` exports at the crate root
    ("app::on_tx", 1),
    ("app::backend::services", 2),
    ("app::backend::web", 2),
    ("app::server_fns", 3),
    ("app::ui", 4),
    ("app", 5),
];

/// Imports refused whatever the ranks say: (importer, imported, why).
const FORBIDDEN: &[(&str, &str, &str)] = &[
    ("app::ui::components", "app::ui::pages", "components never import pages"),
    ("app::ui::auth_context", "app::ui::pages", "the auth context never imports pages"),
    ("server::routes", "app::backend::db", "routes call services, never the database"),
];

/// The crates read: (name, source folder in the workspace).
const CRATES: &[(&str, &str)] = &[("app", "app/src"), ("server", "server/src")];

#[test]
fn every_import_follows_the_layers() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new(); // (path shown, crate, scan)
    for (krate, dir) in CRATES {
        for file in rs_files(&workspace.join(dir)) {
            let rel = file.strip_prefix(workspace.join(dir)).unwrap();
            let module = file_module(krate, rel);
            let src = std::fs::read_to_string(&file).unwrap();
            let shown = format!("{dir}/{}", rel.display());
            let scan = scan(&src, &module, krate);
            assert!(scan.balanced, "{shown}: the scanner lost track of its braces");
            files.push((shown, *krate, scan));
        }
    }
    // Every module a relative path may start from: files and inline `mod x { … }`.
    let modules: BTreeSet<String> = files.iter().flat_map(|(_, _, s)| s.modules.iter().map(|m| m.join("::"))).collect();

    let mut imports = 0;
    let mut violations = BTreeSet::new();
    for (file, krate, scan) in &files {
        for import in &scan.imports {
            let Some(path) = resolve(&import.path, &import.module, krate, &modules) else { continue };
            imports += 1;
            if let Some(why) = violation(&import.module, &path) {
                let what = format!("{} imports {} ({why})", import.module.join("::"), path.join("::"));
                violations.insert((file.clone(), import.line, what));
            }
        }
    }
    assert!(imports > 500, "only {imports} imports found: is the scanner reading the right folders?");
    let list: Vec<String> = violations.iter().map(|(file, line, what)| format!("{file}:{line}: {what}")).collect();
    assert!(list.is_empty(), "{} imports against the layers:\n{}", list.len(), list.join("\n"));
}

/// Why importing `path` from `module` breaks a rule, if it does.
fn violation(module: &[String], path: &[String]) -> Option<String> {
    if let (Some(from), Some(to)) = (rank(module), rank(path)) {
        if to > from {
            return Some(format!("rank {from} imports rank {to}"));
        }
    }
    FORBIDDEN.iter().find(|(a, b, _)| under(module, a) && under(path, b)).map(|(_, _, why)| why.to_string())
}

/// The layer of an `app` path (`None` for other crates).
fn rank(path: &[String]) -> Option<u8> {
    LAYERS.iter().filter(|(prefix, _)| under(path, prefix)).max_by_key(|(prefix, _)| prefix.len()).map(|(_, r)| *r)
}

/// Whether `path` is `prefix` or inside it (whole segments).
fn under(path: &[String], prefix: &str) -> bool {
    let prefix: Vec<&str> = prefix.split("::").collect();
    path.len() >= prefix.len() && path.iter().zip(&prefix).all(|(a, b)| a == b)
}

fn rs_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rs_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// `ui/pages/admin/mod.rs` in `app` → `app::ui::pages::admin`; `lib.rs` and
/// `main.rs` are the crate root.
fn file_module(krate: &str, rel: &Path) -> Vec<String> {
    let mut module = vec![krate.to_owned()];
    module.extend(rel.with_extension("").iter().map(|c| c.to_string_lossy().into_owned()));
    if module.last().is_some_and(|last| last == "mod") || (module.len() == 2 && matches!(module[1].as_str(), "lib" | "main")) {
        module.pop();
    }
    module
}

/// An absolute path for `path` as written in `module`; `None` when it names
/// another crate (`std::…`, `leptos::…`) or a name imported earlier.
fn resolve(path: &[String], module: &[String], krate: &str, modules: &BTreeSet<String>) -> Option<Vec<String>> {
    let (base, rest): (Vec<String>, &[String]) = match path.first()?.as_str() {
        "crate" | "$crate" => (vec![krate.to_owned()], &path[1..]),
        "self" => (module.to_vec(), &path[1..]),
        "super" => {
            let ups = path.iter().take_while(|s| *s == "super").count();
            assert!(ups < module.len(), "{} goes above the crate root of {}", path.join("::"), module.join("::"));
            (module[..module.len() - ups].to_vec(), &path[ups..])
        }
        "app" if krate != "app" => (Vec::new(), path),
        first if modules.contains(&format!("{}::{first}", module.join("::"))) => (module.to_vec(), path),
        _ => return None,
    };
    Some(base.into_iter().chain(rest.iter().cloned()).collect())
}

/// One path a module imports, as written (segments), and where.
#[derive(Debug, PartialEq)]
struct Import {
    line: usize,
    /// The importing module, inline modules included (`app::domain::role::tests`).
    module: Vec<String>,
    path: Vec<String>,
}

struct Scan {
    imports: Vec<Import>,
    /// The file's module and its inline modules.
    modules: Vec<Vec<String>>,
    /// Every `{` closed and every inline module left: the file was understood.
    balanced: bool,
}

/// Finds the imports of one file whose module is `module` in crate `krate`.
fn scan(src: &str, module: &[String], krate: &str) -> Scan {
    let code = blank(src);
    let line = |at: usize| 1 + code[..at].iter().filter(|b| **b == b'\n').count();
    let mut roots = vec!["crate", "$crate", "super"];
    if krate != "app" {
        roots.push("app");
    }
    let mut out = Scan { imports: Vec::new(), modules: vec![module.to_vec()], balanced: true };
    let mut current = module.to_vec();
    let mut open_mods: Vec<usize> = Vec::new(); // the brace depth each inline module opened at
    let mut pending_mod: Option<String> = None;
    let (mut depth, mut i) = (0usize, 0usize);
    while i < code.len() {
        let b = code[i];
        if is_ident_start(b) && (i == 0 || !is_ident(code[i - 1])) {
            let word = word_at(&code, i);
            let after = i + word.len();
            let next = code[after..].iter().position(|c| !c.is_ascii_whitespace()).map_or(code.len(), |p| after + p);
            match word.as_str() {
                "mod" => {
                    let name = word_at(&code, next);
                    let brace = code[next + name.len()..].iter().find(|c| !c.is_ascii_whitespace());
                    if brace == Some(&b'{') {
                        pending_mod = Some(name.clone());
                    }
                    i = next + name.len();
                    continue;
                }
                "use" if code.get(next) != Some(&b'<') => {
                    let (leaves, end) = use_tree(&code, after);
                    for (path, at) in leaves {
                        out.imports.push(Import { line: line(at), module: current.clone(), path });
                    }
                    i = end;
                    continue;
                }
                w if roots.contains(&w) && code[after..].starts_with(b"::") && !code[..i].trim_ascii_end().ends_with(b"::") => {
                    let (path, end) = inline_path(&code, i);
                    out.imports.push(Import { line: line(i), module: current.clone(), path });
                    i = end;
                    continue;
                }
                _ => {
                    i = after;
                    continue;
                }
            }
        }
        match b {
            b'{' => {
                depth += 1;
                if let Some(name) = pending_mod.take() {
                    open_mods.push(depth);
                    current.push(name);
                    out.modules.push(current.clone());
                }
            }
            b'}' => {
                if open_mods.last() == Some(&depth) {
                    open_mods.pop();
                    current.pop();
                }
                out.balanced &= depth > 0;
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        i += 1;
    }
    out.balanced &= depth == 0 && open_mods.is_empty();
    out
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$'
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

fn word_at(code: &[u8], at: usize) -> String {
    let end = code[at..].iter().position(|b| !is_ident(*b)).map_or(code.len(), |p| at + p);
    String::from_utf8_lossy(&code[at..end]).into_owned()
}

/// `crate::a::b::C` from `at` (stops before `::<`, `(`, `!`, …): its
/// segments and the end.
fn inline_path(code: &[u8], mut at: usize) -> (Vec<String>, usize) {
    let mut path = vec![word_at(code, at)];
    at += path[0].len();
    while code[at..].starts_with(b"::") && code.get(at + 2).is_some_and(|b| is_ident_start(*b)) {
        let seg = word_at(code, at + 2);
        at += 2 + seg.len();
        path.push(seg);
    }
    (path, at)
}

/// The tree of a `use` whose text starts at `at` (after the keyword),
/// expanded into one path per leaf with the leaf's position; and the
/// position after its `;`. `{self}` is the group's prefix, `*` its prefix,
/// `as x` is dropped.
fn use_tree(code: &[u8], at: usize) -> (Vec<(Vec<String>, usize)>, usize) {
    let mut tokens = Vec::new(); // (token text, position)
    let mut i = at;
    while i < code.len() && code[i] != b';' {
        match code[i] {
            b if b.is_ascii_whitespace() => i += 1,
            b if is_ident_start(b) => {
                let w = word_at(code, i);
                tokens.push((w.clone(), i));
                i += w.len();
            }
            b':' if code.get(i + 1) == Some(&b':') => i += 2, // segments are consecutive words
            b => {
                tokens.push(((b as char).to_string(), i));
                i += 1;
            }
        }
    }
    let mut leaves = Vec::new();
    let mut k = 0;
    expand(&tokens, &mut k, &[], &mut leaves);
    (leaves, (i + 1).min(code.len()))
}

fn expand(tokens: &[(String, usize)], k: &mut usize, prefix: &[String], out: &mut Vec<(Vec<String>, usize)>) {
    let mut path = prefix.to_vec();
    let mut leaf_at = None;
    while let Some((tok, at)) = tokens.get(*k) {
        match tok.as_str() {
            "," | "}" => break,
            "as" => *k += 2,
            "self" if !prefix.is_empty() && path.len() == prefix.len() => {
                leaf_at = Some(*at);
                *k += 1;
            }
            "*" => {
                leaf_at = Some(*at);
                *k += 1;
            }
            "{" => {
                *k += 1;
                loop {
                    expand(tokens, k, &path, out);
                    match tokens.get(*k).map(|(t, _)| t.as_str()) {
                        Some(",") => *k += 1,
                        Some("}") => {
                            *k += 1;
                            return;
                        }
                        _ => return,
                    }
                }
            }
            word => {
                path.push(word.to_owned());
                leaf_at = Some(*at);
                *k += 1;
            }
        }
    }
    if let Some(at) = leaf_at {
        out.push((path, at));
    }
}

/// `src` with comments, string and character literals turned into spaces
/// (newlines kept, so positions and line numbers stay), so that the braces,
/// `use`s and paths left are code.
fn blank(src: &str) -> Vec<u8> {
    let mut code = src.as_bytes().to_vec();
    let mut i = 0;
    while i < code.len() {
        match literal_end(src, i) {
            Some(end) => {
                let end = end.min(code.len());
                for b in &mut code[i..end] {
                    if *b != b'\n' {
                        *b = b' ';
                    }
                }
                i = end;
            }
            None => i += 1,
        }
    }
    code
}

/// Where the comment, string or character literal starting at `i` ends, if
/// one starts there.
fn literal_end(src: &str, i: usize) -> Option<usize> {
    let s = src.as_bytes();
    let n = s.len();
    let rest = &s[i..];
    if rest.starts_with(b"//") {
        return Some(rest.iter().position(|b| *b == b'\n').map_or(n, |p| i + p));
    }
    if rest.starts_with(b"/*") {
        let (mut j, mut nest) = (i + 2, 1);
        while j < n && nest > 0 {
            if s[j..].starts_with(b"/*") {
                (nest, j) = (nest + 1, j + 2);
            } else if s[j..].starts_with(b"*/") {
                (nest, j) = (nest - 1, j + 2);
            } else {
                j += 1;
            }
        }
        return Some(j);
    }
    if let Some(hashes) = raw_string_start(s, i) {
        // r"…", r#"…"#, br#"…"#: ends at the quote followed by as many #.
        let open = i + rest.iter().position(|b| *b == b'"').unwrap() + 1;
        let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
        return Some(s[open..].windows(close.len()).position(|w| w == close).map_or(n, |p| open + p + close.len()));
    }
    match s[i] {
        b'"' => {
            let mut j = i + 1;
            while j < n && s[j] != b'"' {
                j += if s[j] == b'\\' { 2 } else { 1 };
            }
            Some(j + 1)
        }
        // A char literal ('x', b'x', '\n', '\'', '\u{2192}', '{'); a lifetime
        // or a label ('a, 'static) is code.
        b'\'' => {
            let c = &src[i + 1..];
            let first = c.chars().next().map_or(0, char::len_utf8);
            if c.starts_with('\\') {
                c.get(2..).and_then(|after| after.find('\'')).map(|p| i + 1 + 2 + p + 1)
            } else {
                c[first..].starts_with('\'').then_some(i + 1 + first + 1)
            }
        }
        _ => None,
    }
}

/// The number of `#` of a raw string starting at `i` (`r"`, `r#"`, `br##"`).
fn raw_string_start(s: &[u8], i: usize) -> Option<usize> {
    let ident_before = i > 0 && is_ident(s[i - 1]);
    let r = match (s[i], s.get(i + 1)) {
        (b'r', _) if !ident_before => i + 1,
        (b'b', Some(b'r')) if !ident_before => i + 2,
        _ => return None,
    };
    let hashes = s[r..].iter().take_while(|b| **b == b'#').count();
    (s.get(r + hashes) == Some(&b'"')).then_some(hashes)
}

// The scanner's own tests.

fn paths(src: &str, module: &str, krate: &str) -> Vec<(usize, String, String)> {
    let module: Vec<String> = module.split("::").map(String::from).collect();
    scan(src, &module, krate).imports.into_iter().map(|i| (i.line, i.module.join("::"), i.path.join("::"))).collect()
}

fn segs(s: &str) -> Vec<String> {
    s.split("::").map(String::from).collect()
}

#[test]
fn brace_groups_expand_into_one_path_per_leaf() {
    let src = "use crate::{domain::{Role, access::*}, views::View as V, backend::{self, db},};\nuse std::fmt;\n";
    let got: Vec<String> = paths(src, "app::ui", "app").into_iter().map(|p| p.2).collect();
    assert_eq!(got, ["crate::domain::Role", "crate::domain::access", "crate::views::View", "crate::backend", "crate::backend::db", "std::fmt"]);
}

#[test]
fn comments_strings_and_chars_hide_their_contents() {
    let src = r##"
//! Uses `crate::ui::pages` in a comment.
/* nested /* crate::ui */ still a comment */
const A: &str = "use crate::ui::pages; {";
const B: &str = r#"crate::ui::pages "quoted" }"#;
const C: char = '{';
fn f<'a>(s: &'a str) -> &'a str { let _ = crate::views::urlencode("}"); s }
"##;
    assert_eq!(paths(src, "app::domain::x", "app"), [(7, "app::domain::x".into(), "crate::views::urlencode".into())]);
    assert!(scan(src, &segs("app::domain::x"), "app").balanced);
}

#[test]
fn inline_modules_and_super_resolve_to_absolute_paths() {
    let src = "fn f() {}\nmod tests {\n    use super::*;\n    fn g() { super::super::pages::x(); }\n}\nuse super::layout::Nav;\n";
    let module = segs("app::ui::components::form");
    let s = scan(src, &module, "app");
    let modules: BTreeSet<String> = s.modules.iter().map(|m| m.join("::")).collect();
    let got: Vec<(usize, Option<String>)> = s
        .imports
        .iter()
        .map(|i| (i.line, resolve(&i.path, &i.module, "app", &modules).map(|p| p.join("::"))))
        .collect();
    assert_eq!(
        got,
        [
            (3, Some("app::ui::components::form".into())),
            (4, Some("app::ui::components::pages::x".into())),
            (6, Some("app::ui::components::layout::Nav".into())),
        ]
    );
    // A child module is a relative start; a crate or an imported name is not.
    let modules: BTreeSet<String> = ["app::views::audit".to_owned()].into();
    assert_eq!(resolve(&segs("audit::AuditFilter"), &segs("app::views"), "app", &modules), Some(segs("app::views::audit::AuditFilter")));
    assert_eq!(resolve(&segs("leptos::prelude"), &segs("app::views"), "app", &modules), None);
    // From the server crate, `app::` is the app crate and `crate::` the server.
    assert_eq!(resolve(&segs("app::backend::db::Db"), &segs("server::routes::health"), "server", &modules), Some(segs("app::backend::db::Db")));
    assert_eq!(resolve(&segs("crate::config::Config"), &segs("server::startup"), "server", &modules), Some(segs("server::config::Config")));
}

#[test]
fn the_rules_rank_by_the_longest_prefix() {
    assert_eq!(rank(&segs("app::backend::db::users::find")), Some(1));
    assert_eq!(rank(&segs("app::backend::services::audit")), Some(2));
    assert_eq!(rank(&segs("app::App")), Some(5));
    assert_eq!(rank(&segs("server::routes::rest")), None);
    assert_eq!(violation(&segs("app::server_fns::auth"), &segs("app::backend::db::users")), None);
    assert_eq!(violation(&segs("app::domain::role"), &segs("app::ui::auth_context")).as_deref(), Some("rank 0 imports rank 4"));
    assert!(violation(&segs("app::ui::components::layout"), &segs("app::ui::pages::public")).is_some());
    assert!(violation(&segs("app::ui::pages::public"), &segs("app::ui::components::layout")).is_none());
    assert!(violation(&segs("server::routes::rest::products"), &segs("app::backend::db::Db")).is_some());
    assert!(violation(&segs("server::startup"), &segs("app::backend::db::Db")).is_none());
}
