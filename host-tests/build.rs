//! Builds the two WebAssembly components `mantle-host` runs (the provider component and the
//! HTTP face) and hands them to the crate to embed, so a release `mantle-host` — the one
//! `cargo install --path host-tests` makes — needs no source tree, toolchain or network to run.
//!
//! Release builds embed; other builds (tests, `cargo run`, clippy) do not, and `mantle-host`
//! builds the components on demand in the source tree instead (`src/build.rs`), so a debug
//! build pays nothing here. `MANTLE_EMBED=1` embeds in any build, `MANTLE_EMBED=0` in none.
//!
//! Each component is built by a nested `cargo build --target wasm32-wasip2` (`--release`, or
//! `--profile face-p3` for the WASI 0.3 face) into a target directory of its own, never the outer
//! build's, whose lock the outer cargo holds while this script runs: `guest/` and `face/` beside
//! the outer build's profile directories (`target/guest`, `target/face` and `target/face-p3` in the
//! source tree, where the tests and `spin build` build them too, so each is built once), or under
//! `OUT_DIR` when the outer build's layout is not the usual one. The build is incremental there,
//! and runs only when the guests' sources change.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A component to build and embed.
struct Spec {
    package: &'static str,
    /// The cargo profile: `release`, or one that inherits it.
    profile: &'static str,
    /// More cargo options (features).
    options: &'static [&'static str],
    /// Its target directory, beside the outer build's profile directories.
    dir: &'static str,
    /// The file the build leaves.
    file: &'static str,
    /// The name it is embedded as.
    embedded: &'static str,
}

/// The components. The face gets a target directory of its own as `spin.toml` gives it one:
/// building it builds the provider library's cdylib without the component's exports, which
/// must not overwrite the provider component. Its WASI 0.3 build (spin-sdk 7) gets another,
/// and the `face-p3` profile (release, for size).
const COMPONENTS: [Spec; 3] = [
    Spec {
        package: "mantle-component",
        profile: "release",
        options: &[],
        dir: "guest",
        file: "mantle_component.wasm",
        embedded: "mantle_component.wasm",
    },
    Spec {
        package: "mantle-face",
        profile: "release",
        options: &[],
        dir: "face",
        file: "mantle_face.wasm",
        embedded: "mantle_face.wasm",
    },
    Spec {
        package: "mantle-face",
        profile: "face-p3",
        options: &["--no-default-features", "--features", "p3"],
        dir: "face-p3",
        file: "mantle_face.wasm",
        embedded: "mantle_face_p3.wasm",
    },
];

/// What the components are built from, relative to the workspace root: a change to any of
/// them builds them again.
const GUEST_INPUTS: [&str; 9] = [
    "src",
    "component/src",
    "face/src",
    "wit",
    "Cargo.toml",
    "Cargo.lock",
    "component/Cargo.toml",
    "face/Cargo.toml",
    "rust-toolchain.toml",
];

fn main() -> Result<(), String> {
    println!("cargo::rustc-check-cfg=cfg(mantle_embedded)");
    println!("cargo::rerun-if-env-changed=MANTLE_EMBED");
    println!("cargo::rerun-if-changed=build.rs");
    let embed = match std::env::var("MANTLE_EMBED").ok().as_deref() {
        Some("1") => true,
        Some("0") => false,
        _ => std::env::var("PROFILE").as_deref() == Ok("release"),
    };
    if !embed {
        return Ok(());
    }
    let manifest_dir = PathBuf::from(var("CARGO_MANIFEST_DIR")?);
    let root = manifest_dir
        .parent()
        .ok_or("host-tests has no parent directory")?
        .to_owned();
    let out_dir = PathBuf::from(var("OUT_DIR")?);
    let targets = target_root(&out_dir);
    for input in GUEST_INPUTS {
        let path = root.join(input);
        if path.exists() {
            println!("cargo::rerun-if-changed={}", path.display());
        }
    }
    for spec in &COMPONENTS {
        let built = build(&root, &targets.join(spec.dir), spec)?;
        std::fs::copy(&built, out_dir.join(spec.embedded))
            .map_err(|e| format!("copying {}: {e}", built.display()))?;
    }
    println!("cargo::rustc-cfg=mantle_embedded");
    Ok(())
}

/// Where the components' target directories go: the outer build's target directory, read
/// from `OUT_DIR` (`<target>/[<triple>/]<profile>/build/<package>-<hash>/out`), else `OUT_DIR`.
fn target_root(out_dir: &Path) -> PathBuf {
    let mut up = out_dir.ancestors();
    match (up.nth(2), up.nth(1)) {
        (Some(build), Some(target)) if build.file_name() == Some("build".as_ref()) => {
            target.to_owned()
        }
        _ => out_dir.to_owned(),
    }
}

fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|e| format!("{name}: {e}"))
}

/// Builds `spec` for wasm32-wasip2 into `target_dir`; returns the `.wasm` file.
fn build(root: &Path, target_dir: &Path, spec: &Spec) -> Result<PathBuf, String> {
    let Spec {
        package,
        profile,
        options,
        file,
        ..
    } = *spec;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args([
            "build",
            "--profile",
            profile,
            "--locked",
            "--target",
            "wasm32-wasip2",
        ])
        .args(["-p", package])
        .args(options)
        // Set, not removed: a target or build directory from the user's configuration would
        // be the outer build's, and this cargo would wait on its lock forever.
        .env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_BUILD_BUILD_DIR", target_dir)
        // The outer build's flags and wrappers (clippy's, for one) are for the host crates.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTC_WORKSPACE_WRAPPER");
    let output = command
        .output()
        .map_err(|e| format!("running cargo to build {package}: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains("wasm32-wasip2") && stderr.contains("target") {
            "\nhint: run `rustup target add wasm32-wasip2` (scripts/setup does it)"
        } else {
            ""
        };
        return Err(format!("building {package} failed:\n{stderr}{hint}"));
    }
    let path = target_dir.join("wasm32-wasip2").join(profile).join(file);
    if !path.is_file() {
        return Err(format!("the build left no component at {}", path.display()));
    }
    Ok(path)
}
