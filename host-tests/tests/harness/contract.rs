//! The component's shape: what any WASI 0.2 host sees before calling anything.

use wasmtime::component::types::ComponentItem;

use crate::common::runtime;

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
    let ty = rt.component().component_type();
    let (_, item) = ty.exports(rt.engine()).next().unwrap();
    let ComponentItem::ComponentInstance(instance) = item.ty else {
        panic!("the provider export is not an instance")
    };
    let names: Vec<String> = instance
        .exports(rt.engine())
        .map(|(n, _)| n.to_owned())
        .collect();
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

/// Size budgets of the release builds (stripped): the provider component 1 MiB, the face
/// 1.5 MiB.
#[test]
fn release_components_stay_within_their_budgets() {
    let size = |path: std::path::PathBuf| std::fs::metadata(path).unwrap().len();
    let provider = size(mantle_host::build::component().unwrap());
    assert!(
        provider <= 1 << 20,
        "the provider component grew to {provider} bytes"
    );
    let face = size(mantle_host::build::face().unwrap());
    assert!(face <= 3 << 19, "the face grew to {face} bytes");
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
