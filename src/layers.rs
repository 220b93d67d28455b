//! The crate's import rule, checked: every module sits on a layer of [`LAYERS`] and names
//! only modules on lower layers. So the dependency graph has no cycle, no route imports from
//! another route, and the I/O glue stays on top. Test code may reach anything.

use std::path::Path;

/// Each module and its layer; a module may import from a module of a lower layer only.
/// A new module gets a line here, or this test fails.
const LAYERS: &[(&str, u8)] = &[
    ("error", 0),
    ("text", 0),
    ("model", 1),
    ("secrets", 1),
    ("sse", 1),
    ("chat", 2),
    ("catalog::base_url", 3),
    ("catalog::region", 3),
    ("catalog::ids", 4),
    ("cost", 5),
    ("catalog::defaults", 6),
    ("catalog::config", 7),
    ("catalog::discovery", 8),
    ("catalog::routing", 9),
    ("auth::sigv4", 10),
    ("auth::token", 11),
    ("routes::policy", 12),
    ("routes::route", 13),
    ("routes::openai::wire", 14),
    ("routes::responses::wire", 14),
    ("routes::anthropic::wire", 14),
    ("routes::openai", 15),
    ("routes::responses", 15),
    ("routes::anthropic", 15),
    ("routes", 16),
    ("http", 17),
    ("client", 18),
    ("wasi_host", 19),
    ("wasi3_host", 19),
];

/// Modules that only gather submodules and re-export them for other crates: code in this
/// crate names the module that defines a thing, not these.
const FACADES: &[&str] = &["catalog", "auth"];

/// What the crate root re-exports from `error`.
const ROOT_ITEMS: &[&str] = &["Error", "Result"];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|&(_, l)| l)
}

/// The module a source file defines (`routes/openai/wire.rs` → `routes::openai::wire`).
fn module_of(relative: &Path) -> String {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// The text of a file without its `#[cfg(test)]` modules, comments and string literals.
fn production_code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            // Skip the item that follows, brace-balanced.
            let mut depth = 0i32;
            let mut opened = false;
            for line in lines.by_ref() {
                for c in strip(line).chars() {
                    match c {
                        '{' => {
                            depth += 1;
                            opened = true;
                        }
                        '}' => depth -= 1,
                        _ => {}
                    }
                }
                if opened && depth <= 0 || !opened && strip(line).trim_end().ends_with(';') {
                    break;
                }
            }
            continue;
        }
        out.push_str(&strip(line));
        out.push('\n');
    }
    out
}

/// A line without its comment, string and char literals (crudely: enough for imports).
fn strip(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '/' if chars.peek() == Some(&'/') => break,
            '\'' => {
                // A char literal such as '{' or '\n'; a lifetime is left alone.
                let rest: String = chars.clone().take(3).collect();
                if rest.starts_with('\\') {
                    chars.next();
                    chars.next();
                    chars.next();
                } else if rest.chars().nth(1) == Some('\'') {
                    chars.next();
                    chars.next();
                } else {
                    out.push(c);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Every `crate::a::b::c` path in the code, as its segments.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let path: Vec<String> = rest[..end]
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        // `use crate::a::{b, c}`: the module is `a`, then each braced name may be deeper.
        if rest[end..].starts_with('{') {
            let close = rest[end..].find('}').map_or(rest.len(), |i| end + i);
            for name in rest[end + 1..close].split(',') {
                let name = name.split_whitespace().next().unwrap_or("");
                let mut deeper = path.clone();
                if !name.is_empty() && name != "self" {
                    deeper.extend(name.split("::").map(str::to_owned));
                }
                found.push(deeper);
            }
        } else {
            found.push(path);
        }
    }
    found
}

/// The module of the table a path names: its longest prefix that is one.
fn target(path: &[String]) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| layer(m).is_some() || FACADES.contains(&m.as_str()))
}

#[test]
fn every_module_imports_only_from_lower_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut wrong = Vec::new();
    for file in &files {
        let module = module_of(file.strip_prefix(&root).unwrap());
        if module == "lib" || module == "layers" || FACADES.contains(&module.as_str()) {
            continue;
        }
        let Some(own) = layer(&module) else {
            wrong.push(format!("{module} has no line in LAYERS"));
            continue;
        };
        let code = production_code(&std::fs::read_to_string(file).unwrap());
        for path in crate_paths(&code) {
            if path.len() == 1 && ROOT_ITEMS.contains(&path[0].as_str()) {
                continue;
            }
            let named = path.join("::");
            match target(&path) {
                None => wrong.push(format!("{module} names crate::{named}, not in LAYERS")),
                Some(t) if FACADES.contains(&t.as_str()) => wrong.push(format!(
                    "{module} names crate::{named} through the facade {t}: name its module"
                )),
                Some(t) if t == module => {}
                Some(t) => {
                    let theirs = layer(&t).unwrap_or(u8::MAX);
                    if theirs >= own {
                        wrong.push(format!(
                            "{module} (layer {own}) imports crate::{named} ({t}, layer {theirs})"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_check_sees_a_sideways_import_and_a_braced_one() {
    let code = production_code(
        "use crate::routes::openai::Mapper;\nuse crate::{http, chat::ChatEvent};\n\
         // crate::client in a comment\nlet s = \"crate::client\";\n\
         #[cfg(test)]\nmod tests {\n    use crate::client;\n}\n",
    );
    let targets: Vec<Option<String>> = crate_paths(&code).iter().map(|p| target(p)).collect();
    assert_eq!(
        targets,
        [
            Some("routes::openai".to_owned()),
            Some("http".to_owned()),
            Some("chat".to_owned()),
        ]
    );
}
