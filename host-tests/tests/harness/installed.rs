//! The installed clients some tests drive: the official openai and anthropic Python SDKs
//! (`scripts/setup-clients` puts them in `target/pyenv`; `MANTLE_PYTHON` names another
//! Python that has them), Claude Code (`scripts/setup-agents`, into `target/agents`; it runs
//! on `node`) and Spin (`scripts/setup-spin` finds it; `MANTLE_SPIN` names another).
//!
//! One rule for all of them. Under a bare `cargo test` a test whose client is missing says
//! on stderr what is missing and how to install it, and returns without running. With
//! `MANTLE_REQUIRE_CLIENTS=1` (`scripts/test` sets it) or `CI=true` it fails, saying the same:
//! a full run never passes by skipping.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use mantle_host::build;

/// Set to `1` to make a missing client fail the tests that need it.
pub const REQUIRE_ENV: &str = "MANTLE_REQUIRE_CLIENTS";

/// A client a test needs that is not there.
#[derive(Clone, Debug)]
pub struct Missing {
    /// What is missing, and where it was looked for.
    what: String,
    /// How to install it.
    install: String,
}

impl Missing {
    fn new(what: impl Into<String>, install: impl Into<String>) -> Missing {
        Missing {
            what: what.into(),
            install: install.into(),
        }
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.what, self.install)
    }
}

/// Whether a missing client fails its tests: `MANTLE_REQUIRE_CLIENTS=1` or `CI=true`.
pub fn required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The rule: what a test needs when it is there; when it is missing, `None` after a line on
/// stderr that says what and how to install it (the test then returns without running), or,
/// when clients are required, a failure that says the same.
pub fn available<T>(found: Result<T, Missing>) -> Option<T> {
    let missing = match found {
        Ok(found) => return Some(found),
        Err(missing) => missing,
    };
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    assert!(
        !required(),
        "{test} needs {missing} ({REQUIRE_ENV}=1 or CI=true: a missing client fails the test)"
    );
    // Straight to the process's stderr, past the test harness's capture, so that a passing
    // `cargo test` still shows what did not run.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: needs {missing} (with {REQUIRE_ENV}=1 or CI=true this fails)"
    );
    None
}

/// A Python with the pinned openai and anthropic clients: `MANTLE_PYTHON`, else
/// `target/pyenv`. Each is asked once whether it imports both.
pub fn python() -> Result<PathBuf, Missing> {
    static FOUND: OnceLock<Result<PathBuf, Missing>> = OnceLock::new();
    FOUND.get_or_init(find_python).clone()
}

fn find_python() -> Result<PathBuf, Missing> {
    const INSTALL: &str = "install them with `bash scripts/setup-clients` (into target/pyenv), \
                           or set MANTLE_PYTHON to a Python that has them";
    let python = match std::env::var_os("MANTLE_PYTHON") {
        Some(named) => PathBuf::from(named),
        None => {
            let root = build::workspace_root();
            let venv = root.join("target/pyenv");
            let python = venv.join("bin/python");
            if !python.is_file() {
                return Err(Missing::new(
                    format!(
                        "the openai and anthropic Python clients (no {})",
                        python.display()
                    ),
                    INSTALL,
                ));
            }
            let pins = root.join("host-tests/clients/requirements.txt");
            if std::fs::read(&pins).ok() != std::fs::read(venv.join("installed.txt")).ok() {
                return Err(Missing::new(
                    format!(
                        "the openai and anthropic Python clients as {} pins them ({} holds others)",
                        pins.display(),
                        venv.display()
                    ),
                    INSTALL,
                ));
            }
            python
        }
    };
    let asked = Command::new(&python)
        .args(["-c", "import openai, anthropic"])
        .output();
    match asked {
        Ok(out) if out.status.success() => Ok(python),
        Ok(out) => Err(Missing::new(
            format!(
                "the openai and anthropic Python clients ({} cannot import them: {})",
                python.display(),
                String::from_utf8_lossy(&out.stderr)
                    .trim()
                    .lines()
                    .last()
                    .unwrap_or("")
            ),
            INSTALL,
        )),
        Err(e) => Err(Missing::new(
            format!(
                "the openai and anthropic Python clients ({} does not run: {e})",
                python.display()
            ),
            INSTALL,
        )),
    }
}

/// Claude Code, pinned in `host-tests/agents/package.json`, and the `node` it runs on.
pub fn claude_code() -> Result<PathBuf, Missing> {
    let claude = build::workspace_root().join("target/agents/node_modules/.bin/claude");
    if !claude.is_file() {
        return Err(Missing::new(
            format!("Claude Code (no {})", claude.display()),
            "install it with `bash scripts/setup-agents` (it needs npm)",
        ));
    }
    if on_path("node").is_none() {
        return Err(Missing::new(
            "node on PATH (Claude Code runs on it)",
            "install Node.js 18 or later (Debian: `apt-get install nodejs`)",
        ));
    }
    Ok(claude)
}

/// The Spin the Spin suites run the face on: `MANTLE_SPIN`, else what `scripts/setup-spin`
/// finds. Asked once.
pub fn spin() -> Result<PathBuf, Missing> {
    static FOUND: OnceLock<Result<PathBuf, Missing>> = OnceLock::new();
    FOUND.get_or_init(find_spin).clone()
}

fn find_spin() -> Result<PathBuf, Missing> {
    const INSTALL: &str = "run `bash scripts/setup-spin` to see where it looks, put Spin 4.1 \
                           on PATH, or set MANTLE_SPIN to a Spin binary";
    if let Some(named) = std::env::var_os("MANTLE_SPIN") {
        let spin = PathBuf::from(named);
        return if spin.is_file() {
            Ok(spin)
        } else {
            Err(Missing::new(
                format!("Spin (MANTLE_SPIN names {}, no file)", spin.display()),
                INSTALL,
            ))
        };
    }
    let output = Command::new("bash")
        .arg(build::workspace_root().join("scripts/setup-spin"))
        .arg("--path")
        .output()
        .map_err(|e| Missing::new(format!("Spin (bash does not run: {e})"), INSTALL))?;
    let said = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    let path = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if output.status.success() && !path.is_empty() {
        return Ok(PathBuf::from(path));
    }
    Err(Missing::new(format!("Spin ({said})"), INSTALL))
}

/// Where `program` is on `PATH`, if it is.
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
