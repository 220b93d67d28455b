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

#[test]
fn the_release_component_stays_under_300_kb() {
    let size = std::fs::metadata(mantle_host::build::component().unwrap())
        .unwrap()
        .len();
    assert!(size < 300_000, "the component grew to {size} bytes");
}
