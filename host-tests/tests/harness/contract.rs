//! The component's shape: what any WASI 0.2 host sees before calling anything, and what a
//! WASI 0.3 host sees of the WASI 0.3 build.

use mantle_host::runtime::{Runtime, Wasi};
use wasmtime::component::types::ComponentItem;

use crate::common::runtime_of;

fn runtime() -> &'static Runtime {
    runtime_of(Wasi::P2)
}

/// The items of the provider export of `rt`'s component, with whether each is an `async`
/// function.
fn provider_items(rt: &Runtime) -> Vec<(String, bool)> {
    let ty = rt.component().component_type();
    let (_, item) = ty.exports(rt.engine()).next().unwrap();
    let ComponentItem::ComponentInstance(instance) = item.ty else {
        panic!("the provider export is not an instance")
    };
    instance
        .exports(rt.engine())
        .map(|(n, item)| {
            let is_async = matches!(item.ty, ComponentItem::ComponentFunc(f) if f.async_());
            (n.to_owned(), is_async)
        })
        .collect()
}

/// The names of the provider export's items.
fn provider_functions(rt: &Runtime) -> Vec<String> {
    provider_items(rt).into_iter().map(|(n, _)| n).collect()
}

#[test]
fn imports_only_standard_wasi_interfaces() {
    let imports = runtime().import_names();
    assert!(!imports.is_empty());
    for name in &imports {
        assert!(
            name.starts_with("wasi:"),
            "non-WASI import {name} in {imports:?}"
        );
    }
    for needed in [
        "wasi:http/outgoing-handler@0.2.12",
        "wasi:cli/environment@0.2.12",
        "wasi:clocks/wall-clock@0.2.12",
    ] {
        assert!(
            imports.iter().any(|i| i == needed),
            "{needed} missing from {imports:?}"
        );
    }
}

#[test]
fn exports_the_provider_with_all_four_capabilities() {
    let rt = runtime();
    assert_eq!(rt.export_names(), ["genesis:mantle/provider@0.1.0"]);
    let names = provider_functions(rt);
    for f in [
        "[constructor]client",
        "[method]client.discover",
        "[method]client.list",
        "[method]client.chat-stream",
        "[method]chat-stream.next",
        "mint-token",
    ] {
        assert!(names.iter().any(|n| n == f), "{f} missing from {names:?}");
    }
}

/// Size budgets of the release builds (stripped), on WASI 0.2 and on WASI 0.3: the provider
/// component 1 MiB, the face 1.5 MiB.
#[test]
fn release_components_stay_within_their_budgets() {
    use mantle_host::build;
    const PROVIDER: u64 = 1 << 20;
    const FACE: u64 = 3 << 19;
    for (what, path, budget) in [
        ("the provider component", build::component(), PROVIDER),
        (
            "the WASI 0.3 provider component",
            build::component_p3(),
            PROVIDER,
        ),
        ("the face", build::face(), FACE),
        ("the WASI 0.3 face", build::face_p3(), FACE),
    ] {
        let size = std::fs::metadata(path.unwrap()).unwrap().len();
        assert!(size <= budget, "{what} grew to {size} bytes");
    }
}

/// Built in one cargo invocation, each component exports only its own world: the face
/// never carries the provider's exports, nor the provider the face's.
#[test]
fn components_built_together_export_only_their_own_worlds() {
    let (provider, face) = mantle_host::build::built_together().unwrap();
    let engine = wasmtime::Engine::default();
    let exports = |path: &std::path::Path| -> Vec<String> {
        let component = wasmtime::component::Component::from_file(&engine, path).unwrap();
        component
            .component_type()
            .exports(&engine)
            .map(|(name, _)| name.to_owned())
            .collect()
    };
    assert_eq!(exports(&provider), ["genesis:mantle/provider@0.1.0"]);
    let face_exports = exports(&face);
    assert_eq!(face_exports.len(), 1, "{face_exports:?}");
    assert!(
        face_exports[0].starts_with("wasi:http/incoming-handler@0.2"),
        "{face_exports:?}"
    );
}

/// The WASI 0.3 build imports WASI 0.3 alone: nothing of WASI 0.2 comes in with the standard
/// library.
#[test]
fn the_wasi_0_3_build_imports_only_wasi_0_3_interfaces() {
    let imports = runtime_of(Wasi::P3).import_names();
    for name in &imports {
        assert!(
            name.starts_with("wasi:") && name.ends_with("@0.3.0"),
            "import {name} in {imports:?}"
        );
    }
    for needed in [
        "wasi:http/client@0.3.0",
        "wasi:cli/environment@0.3.0",
        "wasi:clocks/system-clock@0.3.0",
        "wasi:clocks/monotonic-clock@0.3.0",
    ] {
        assert!(
            imports.iter().any(|i| i == needed),
            "{needed} missing from {imports:?}"
        );
    }
}

#[test]
fn the_wasi_0_3_build_exports_the_provider_with_its_async_functions() {
    let rt = runtime_of(Wasi::P3);
    assert_eq!(rt.export_names(), ["genesis:mantle/provider@0.2.0"]);
    let items = provider_items(rt);
    for (f, is_async) in [
        ("[constructor]client", false),
        ("[method]client.discover", true),
        ("[method]client.list", true),
        ("[method]client.chat-stream", true),
        ("mint-token", false),
    ] {
        assert!(
            items.contains(&(f.to_owned(), is_async)),
            "{f} (async: {is_async}) missing from {items:?}"
        );
    }
}
