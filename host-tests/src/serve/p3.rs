//! What `serve` gives the WASI 0.3 face (spin-sdk 7) beyond WASI: `spin:variables@3.0.0` and
//! `spin:key-value@3.0.0`, whose functions are `async`, over the same variables, secrets and
//! store as the WASI 0.2 face's `fermyon:spin@2.0.0`.

#[allow(missing_docs)]
mod bindings {
    wasmtime::component::bindgen!({
        inline: r#"
            package mantle:spin3-host;

            package spin:variables@3.0.0 {
                interface variables {
                    get: async func(name: string) -> result<string, error>;
                    variant error { invalid-name(string), undefined(string), provider(string), other(string) }
                }
            }

            package spin:key-value@3.0.0 {
                interface key-value {
                    resource store {
                        open: static async func(label: string) -> result<store, error>;
                        get: async func(key: string) -> result<option<list<u8>>, error>;
                        set: async func(key: string, value: list<u8>) -> result<_, error>;
                        delete: async func(key: string) -> result<_, error>;
                        exists: async func(key: string) -> result<bool, error>;
                        get-keys: async func() -> tuple<stream<string>, future<result<_, error>>>;
                    }
                    variant error { store-table-full, no-such-store, access-denied, other(string) }
                }
            }

            world spin-imports {
                import spin:variables/variables@3.0.0;
                import spin:key-value/key-value@3.0.0;
            }
        "#,
        imports: {
            // Its stream is made in the store, which may fail: a trap, not a guest error.
            "spin:key-value/key-value.[method]store.get-keys": async | store | trappable,
        },
        with: { "spin:key-value/key-value.store": crate::serve::KvHandle },
    });
}

use wasmtime::component::{Accessor, FutureReader, HasData, Resource, StreamReader};
use wasmtime::{AsContextMut, Store};
use wasmtime_wasi_http::handler::{Prepared, Proxy};
use wasmtime_wasi_http::{WasiBody, WasiHttpView};

use self::bindings::spin::key_value::key_value as kv3;
use self::bindings::spin::variables::variables as vars3;
use super::spin::fermyon::spin::{key_value as kv2, variables as vars2};
use super::{FaceState, KvHandle};

/// The WASI 0.3 imports of `spin:variables@3.0.0` and `spin:key-value@3.0.0`.
pub(super) fn add_to_linker(
    linker: &mut wasmtime::component::Linker<FaceState>,
) -> wasmtime::Result<()> {
    vars3::add_to_linker::<FaceState, Spin3>(linker, |s| s)?;
    kv3::add_to_linker::<FaceState, Spin3>(linker, |s| s)?;
    Ok(())
}

/// The store data's view for the `spin:*@3.0.0` imports: the face's state itself.
struct Spin3;

impl HasData for Spin3 {
    type Data<'a> = &'a mut FaceState;
}

impl vars3::Host for FaceState {}
impl kv3::Host for FaceState {}

impl kv3::HostStore for FaceState {
    fn drop(&mut self, store: Resource<KvHandle>) -> wasmtime::Result<()> {
        kv2::HostStore::drop(self, store)
    }
}

fn variable_error(e: vars2::Error) -> vars3::Error {
    match e {
        vars2::Error::InvalidName(s) => vars3::Error::InvalidName(s),
        vars2::Error::Undefined(s) => vars3::Error::Undefined(s),
        vars2::Error::Provider(s) => vars3::Error::Provider(s),
        vars2::Error::Other(s) => vars3::Error::Other(s),
    }
}

fn store_error(e: kv2::Error) -> kv3::Error {
    match e {
        kv2::Error::StoreTableFull => kv3::Error::StoreTableFull,
        kv2::Error::NoSuchStore => kv3::Error::NoSuchStore,
        kv2::Error::AccessDenied => kv3::Error::AccessDenied,
        kv2::Error::Other(s) => kv3::Error::Other(s),
    }
}

impl vars3::HostWithStore<FaceState> for Spin3 {
    async fn get(
        accessor: &Accessor<FaceState, Self>,
        name: String,
    ) -> Result<String, vars3::Error> {
        accessor.with(|mut access| vars2::Host::get(access.get(), name).map_err(variable_error))
    }
}

impl kv3::HostStoreWithStore<FaceState> for Spin3 {
    async fn open(
        accessor: &Accessor<FaceState, Self>,
        label: String,
    ) -> Result<Resource<KvHandle>, kv3::Error> {
        accessor.with(|mut access| kv2::HostStore::open(access.get(), label).map_err(store_error))
    }

    async fn get(
        accessor: &Accessor<FaceState, Self>,
        store: Resource<KvHandle>,
        key: String,
    ) -> Result<Option<Vec<u8>>, kv3::Error> {
        accessor
            .with(|mut access| kv2::HostStore::get(access.get(), store, key).map_err(store_error))
    }

    async fn set(
        accessor: &Accessor<FaceState, Self>,
        store: Resource<KvHandle>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), kv3::Error> {
        accessor.with(|mut access| {
            kv2::HostStore::set(access.get(), store, key, value).map_err(store_error)
        })
    }

    async fn delete(
        accessor: &Accessor<FaceState, Self>,
        store: Resource<KvHandle>,
        key: String,
    ) -> Result<(), kv3::Error> {
        accessor.with(|mut access| {
            kv2::HostStore::delete(access.get(), store, key).map_err(store_error)
        })
    }

    async fn exists(
        accessor: &Accessor<FaceState, Self>,
        store: Resource<KvHandle>,
        key: String,
    ) -> Result<bool, kv3::Error> {
        accessor.with(|mut access| {
            kv2::HostStore::exists(access.get(), store, key).map_err(store_error)
        })
    }

    async fn get_keys(
        accessor: &Accessor<FaceState, Self>,
        store: Resource<KvHandle>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), kv3::Error>>)> {
        accessor.with(|mut access| {
            let (keys, end) = match kv2::HostStore::get_keys(access.get(), store) {
                Ok(keys) => (keys, Ok(())),
                Err(e) => (Vec::new(), Err(store_error(e))),
            };
            Ok((
                StreamReader::new(&mut access, keys)?,
                FutureReader::new(&mut access, async move { Ok::<_, wasmtime::Error>(end) })?,
            ))
        })
    }
}

/// Where the WASI 0.3 face's answer goes once its `handle` returns it.
pub(super) type Answered =
    futures::channel::oneshot::Sender<wasmtime::Result<hyper::Response<WasiBody>>>;

/// Hands `request` to the WASI 0.3 face's `wasi:http/handler.handle` and runs the instance
/// until it is done with it: the answer goes to `answered` as soon as `handle` returns it,
/// and the instance's tasks then run on until they have written its body whole (and ended).
pub(super) async fn serve(
    store: &mut Store<FaceState>,
    proxy: &Proxy,
    request: hyper::Request<WasiBody>,
    answered: Answered,
) -> wasmtime::Result<()> {
    store
        .run_concurrent(async |accessor| {
            let prepared = accessor.with(|mut access| {
                Prepared::new(
                    access.as_context_mut(),
                    proxy,
                    request,
                    <FaceState as WasiHttpView>::http,
                    answered,
                )
            })?;
            prepared.run(accessor, std::future::pending()).await?;
            std::future::poll_fn(|cx| accessor.poll_no_interesting_tasks(cx)).await;
            Ok(())
        })
        .await?
}
