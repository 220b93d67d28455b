//! Tests wait on signals (a port that answers, a log line, a counter, a file), never on a
//! fixed pause: no `sleep(` in the tests and the client scripts they run but the ones listed
//! in [`ALLOWED`], each with why it is no wait for something to have happened. A pause that
//! *is* the behaviour under test (a client that stalls on purpose, a slow upstream) belongs
//! there; waiting "long enough" for the gateway to have done something does not.

use std::path::{Path, PathBuf};

use mantle_host::build;

/// This file, which names the word to look for.
const THIS: &str = "tests/harness/sleeps.rs";

/// The pauses allowed: the file (under `host-tests`), the line (trimmed), and why.
const ALLOWED: &[(&str, &str, &str)] = &[(
    "tests/harness/common.rs",
    "tokio::time::sleep(LOOK_AGAIN).await;",
    "the one polling helper: the pause between two looks at a signal, under a deadline",
)];

/// The Rust and Python files under `dir`, at any depth.
fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs" || e == "py") {
            found.push(path);
        }
    }
}

#[test]
fn tests_wait_on_signals_not_sleeps() {
    let root = build::workspace_root().join("host-tests");
    let mut files = Vec::new();
    sources(&root.join("tests"), &mut files);
    sources(&root.join("clients"), &mut files);
    assert!(
        files.iter().any(|f| f.ends_with("common.rs")),
        "no test sources under {}",
        root.display()
    );
    // Spelled in two pieces so that this file does not name it whole.
    let words = [["sleep", "("].concat(), ["sleep", "_until("].concat()];
    let mut used = vec![false; ALLOWED.len()];
    let mut pauses = Vec::new();
    for file in files {
        let name = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if name == THIS {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if !words.iter().any(|w| line.contains(w.as_str())) {
                continue;
            }
            let line = line.trim();
            match ALLOWED
                .iter()
                .position(|(f, l, _)| *f == name && *l == line)
            {
                Some(i) => used[i] = true,
                None => pauses.push(format!("{name}:{}: {line}", n + 1)),
            }
        }
    }
    assert!(
        pauses.is_empty(),
        "fixed pauses in the tests: wait on a signal instead (crate::common's wait_until, \
         wait_for, poll_until, poll_for), or, for a pause that is itself the behaviour under \
         test, list it in ALLOWED ({THIS}) with why:\n{}",
        pauses.join("\n")
    );
    let gone: Vec<String> = ALLOWED
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|((file, line, _), _)| format!("{file}: {line}"))
        .collect();
    assert!(
        gone.is_empty(),
        "ALLOWED lists pauses that are no longer there: {gone:?}"
    );
}
