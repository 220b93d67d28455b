//! The components `mantle-host` runs, and where they come from.
//!
//! A release build of `mantle-host` carries both (its build script builds them and they are
//! embedded), so an installed binary needs no source tree, toolchain or network: see
//! [`component_wasm`] and [`face_wasm`]. Other builds (tests, `cargo run`) build them on demand
//! in the source tree ([`component`], [`face`]), so tests and `mantle-host` need no manual
//! step. `MANTLE_COMPONENT` and `MANTLE_FACE` name prebuilt files instead, in every build.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Environment variable naming a prebuilt component to use instead of building one.
pub const COMPONENT_ENV: &str = "MANTLE_COMPONENT";

/// Environment variable naming a prebuilt provider component on WASI 0.3.
pub const COMPONENT_P3_ENV: &str = "MANTLE_COMPONENT_P3";

/// Environment variable naming a prebuilt HTTP face (the Spin app's component).
pub const FACE_ENV: &str = "MANTLE_FACE";

/// Environment variable naming a prebuilt HTTP face on spin-sdk 7 (WASI 0.3), for Spin.
pub const FACE_P3_ENV: &str = "MANTLE_FACE_P3";

/// The provider component built into this binary (release builds), if any.
#[cfg(mantle_embedded)]
const EMBEDDED_COMPONENT: Option<&[u8]> = Some(include_bytes!(concat!(
    env!("OUT_DIR"),
    "/mantle_component.wasm"
)));
#[cfg(not(mantle_embedded))]
const EMBEDDED_COMPONENT: Option<&[u8]> = None;

/// The HTTP face built into this binary (release builds), if any.
#[cfg(mantle_embedded)]
const EMBEDDED_FACE: Option<&[u8]> = Some(include_bytes!(concat!(
    env!("OUT_DIR"),
    "/mantle_face.wasm"
)));
#[cfg(not(mantle_embedded))]
const EMBEDDED_FACE: Option<&[u8]> = None;

/// The HTTP face on spin-sdk 7 (WASI 0.3) built into this binary (release builds), if any.
#[cfg(mantle_embedded)]
const EMBEDDED_FACE_P3: Option<&[u8]> = Some(include_bytes!(concat!(
    env!("OUT_DIR"),
    "/mantle_face_p3.wasm"
)));
#[cfg(not(mantle_embedded))]
const EMBEDDED_FACE_P3: Option<&[u8]> = None;

/// A component's code: a file, or the bytes built into this binary.
#[derive(Debug, Clone)]
pub enum Wasm {
    /// A file on disk.
    File(PathBuf),
    /// Built into the binary (named for messages).
    Embedded(&'static str, &'static [u8]),
}

impl Wasm {
    /// Whether it exports `wasi:http/handler@0.3` (an HTTP component for WASI 0.3), as its
    /// export names say; it is not compiled for this.
    pub fn exports_wasi_http_0_3(&self) -> Result<bool> {
        let bytes = match self {
            Wasm::File(path) => std::borrow::Cow::Owned(
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
            ),
            Wasm::Embedded(_, bytes) => std::borrow::Cow::Borrowed(*bytes),
        };
        for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
            if let wasmparser::Payload::ComponentExportSection(exports) = payload? {
                for export in exports {
                    if export?.name.name.starts_with("wasi:http/handler@0.3") {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    }

    /// Compiles it for `engine`.
    pub fn compile(&self, engine: &Engine) -> Result<Component> {
        match self {
            Wasm::File(path) => Component::from_file(engine, path)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("loading component {}", path.display())),
            Wasm::Embedded(name, bytes) => Component::from_binary(engine, bytes)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("loading the built-in {name}")),
        }
    }
}

/// Whether this binary carries its components (a release build).
pub fn embedded() -> bool {
    EMBEDDED_COMPONENT.is_some() && EMBEDDED_FACE.is_some() && EMBEDDED_FACE_P3.is_some()
}

/// The provider component `mantle-host` runs: the file in `MANTLE_COMPONENT`, else the one
/// built into this binary, else one built now ([`component`]).
pub fn component_wasm() -> Result<Wasm> {
    wasm(
        COMPONENT_ENV,
        "provider component",
        EMBEDDED_COMPONENT,
        component,
    )
}

/// The HTTP face `mantle-host serve --wasi 0.2` runs: the file in `MANTLE_FACE`, else the one
/// built into this binary, else one built now ([`face`]).
pub fn face_wasm() -> Result<Wasm> {
    wasm(FACE_ENV, "HTTP face", EMBEDDED_FACE, face)
}

/// The HTTP face `mantle-host serve --wasi 0.3` runs: the file in `MANTLE_FACE`, else the
/// WASI 0.3 one built into this binary, else one built now ([`face_p3`]).
pub fn face_p3_wasm() -> Result<Wasm> {
    wasm(FACE_ENV, "HTTP face (WASI 0.3)", EMBEDDED_FACE_P3, face_p3)
}

fn wasm(
    env: &str,
    name: &'static str,
    embedded: Option<&'static [u8]>,
    build: fn() -> Result<PathBuf>,
) -> Result<Wasm> {
    match (std::env::var_os(env), embedded) {
        (Some(path), _) => prebuilt(env, path.into()).map(Wasm::File),
        (None, Some(bytes)) => Ok(Wasm::Embedded(name, bytes)),
        (None, None) => build().map(Wasm::File),
    }
}

/// A prebuilt file named by `env`, which must exist.
fn prebuilt(env: &str, path: PathBuf) -> Result<PathBuf> {
    if !path.is_file() {
        bail!("{env}={} is not a file", path.display());
    }
    Ok(path)
}

/// The workspace root (the component crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Path of the release component, building it first (once per process). A path in
/// `MANTLE_COMPONENT` is used as is. The guest gets its own target directory so this never
/// waits on the lock of the cargo that runs the caller.
pub fn component() -> Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            build(
                COMPONENT_ENV,
                "mantle-component",
                RELEASE,
                &[],
                "target/guest",
                "mantle_component.wasm",
            )
            .map_err(|e| format!("{e:#}"))
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

/// Target directory of the provider component on WASI 0.3.
pub const COMPONENT_P3_TARGET_DIR: &str = "target/guest-p3";

/// Path of the release provider component on WASI 0.3 (`wit/p3/world.wit`), building it
/// first (once per process): `cargo build --release --target wasm32-unknown-unknown -p
/// mantle-component-p3` into [`COMPONENT_P3_TARGET_DIR`], whose core module is then made a
/// component (`mantle_component_p3.wasm` beside it). A path in `MANTLE_COMPONENT_P3` is used
/// as is.
pub fn component_p3() -> Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| build_component_p3().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn build_component_p3() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os(COMPONENT_P3_ENV) {
        return prebuilt(COMPONENT_P3_ENV, path.into());
    }
    let file = "mantle_component_p3.wasm";
    let core = cargo_build(
        "mantle-component-p3",
        RELEASE,
        &[],
        BARE_WASM,
        COMPONENT_P3_TARGET_DIR,
        file,
    )?;
    let module = std::fs::read(&core).with_context(|| format!("reading {}", core.display()))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| encoder.validate(true).encode())
        .context("making the WASI 0.3 provider component of its core module")?;
    let path = workspace_root().join(COMPONENT_P3_TARGET_DIR).join(file);
    std::fs::write(&path, component).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Target directory of the HTTP face, as `spin.toml`'s build command names it.
pub const FACE_TARGET_DIR: &str = "target/face";

/// The cargo profile of the provider components and the WASI 0.2 face.
const RELEASE: &str = "release";

/// Path of the release HTTP face, built with `spin.toml`'s build command.
pub fn face() -> Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            build(
                FACE_ENV,
                "mantle-face",
                RELEASE,
                &[],
                FACE_TARGET_DIR,
                "mantle_face.wasm",
            )
            .map_err(|e| format!("{e:#}"))
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

/// Target directory of the HTTP face on spin-sdk 7 (WASI 0.3).
pub const FACE_P3_TARGET_DIR: &str = "target/face-p3";

/// The cargo options that build the HTTP face on spin-sdk 7 (WASI 0.3) instead of 5.2.
pub const FACE_P3_FEATURES: [&str; 3] = ["--no-default-features", "--features", "p3"];

/// The cargo profile the WASI 0.3 face is built with: release, optimised for size
/// (`Cargo.toml`).
pub const FACE_P3_PROFILE: &str = "face-p3";

/// Path of the HTTP face on spin-sdk 7 (WASI 0.3): `cargo build --profile face-p3 --target
/// wasm32-wasip2 -p mantle-face --no-default-features --features p3` into
/// [`FACE_P3_TARGET_DIR`]. A path in `MANTLE_FACE_P3` is used as is.
pub fn face_p3() -> Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            build(
                FACE_P3_ENV,
                "mantle-face",
                FACE_P3_PROFILE,
                &FACE_P3_FEATURES,
                FACE_P3_TARGET_DIR,
                "mantle_face.wasm",
            )
            .map_err(|e| format!("{e:#}"))
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

/// Which face build the tests of `mantle-host serve` run: `0.3` in this variable runs the
/// WASI 0.3 face ([`face_p3`]), anything else or nothing the WASI 0.2 one ([`face`]).
pub const SERVE_WASI_ENV: &str = "MANTLE_SERVE_WASI";

/// The WASI of the face the tests of `mantle-host serve` run: `"0.3"` or `"0.2"`, as
/// [`SERVE_WASI_ENV`] says.
pub fn served_wasi() -> &'static str {
    match std::env::var(SERVE_WASI_ENV).as_deref() {
        Ok("0.3") => "0.3",
        _ => "0.2",
    }
}

/// The face the tests of `mantle-host serve` run, as [`SERVE_WASI_ENV`] says.
pub fn served_face() -> Result<PathBuf> {
    match served_wasi() {
        "0.3" => face_p3(),
        _ => face(),
    }
}

/// The provider component and the face built by one `cargo build` (debug) into their own
/// target directory, as a user building the whole workspace would; returns both paths. Cargo
/// unifies the features of packages built together, so this is where a leak of one
/// component's exports into the other would show.
pub fn built_together() -> Result<(PathBuf, PathBuf)> {
    let root = workspace_root();
    let target_dir = root.join("target/together");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(&root)
        .args(["build", "--quiet", "--target", "wasm32-wasip2"])
        .args(["-p", "mantle-component", "-p", "mantle-face"])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .output()
        .context("running cargo to build both components")?;
    if !output.status.success() {
        bail!(
            "building both components failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let dir = target_dir.join("wasm32-wasip2/debug");
    Ok((
        dir.join("mantle_component.wasm"),
        dir.join("mantle_face.wasm"),
    ))
}

fn build(
    env: &str,
    package: &str,
    profile: &str,
    features: &[&str],
    target_dir: &str,
    file: &str,
) -> Result<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return prebuilt(env, path.into());
    }
    cargo_build(package, profile, features, WASIP2, target_dir, file)
}

/// The target of the WASI 0.2 components.
const WASIP2: &str = "wasm32-wasip2";

/// The target of the WASI 0.3 provider's core module: no standard library import comes in
/// with it, so the component imports only what its world does.
const BARE_WASM: &str = "wasm32-unknown-unknown";

/// `cargo build --profile PROFILE --target TARGET -p PACKAGE` into `target_dir`; the path of
/// `file`.
fn cargo_build(
    package: &str,
    profile: &str,
    features: &[&str],
    target: &str,
    target_dir: &str,
    file: &str,
) -> Result<PathBuf> {
    let root = workspace_root();
    let target_dir = root.join(target_dir);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "--quiet",
            "--profile",
            profile,
            "--target",
            target,
            "-p",
            package,
        ])
        .args(features)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .output()
        .with_context(|| format!("running cargo to build {package}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains(target) && stderr.contains("target") {
            format!("\nhint: run `rustup target add {target}` (scripts/setup does it)")
        } else {
            String::new()
        };
        bail!("building {package} failed:\n{stderr}{hint}");
    }
    let path = target_dir.join(target).join(profile).join(file);
    if !path.is_file() {
        bail!("the build left no component at {}", path.display());
    }
    Ok(path)
}
