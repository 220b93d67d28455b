//! Foundation figures: component size, cold compile time, instantiation through
//! `InstancePre`, and minting a token in the guest against aws-sigv4 natively.
//!
//! `cargo bench -p mantle-host --bench foundation` (figures go to BENCHMARKS.md).

#![allow(clippy::unwrap_used, reason = "a benchmark stops at the first failure")]

use std::time::{Duration, Instant};

use mantle_host::build;
use mantle_host::runtime::{GuestOptions, Runtime, types};
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn per_call(total: Duration, n: u32) -> String {
    let ns = total.as_nanos() / u128::from(n);
    if ns >= 10_000 {
        format!("{:.1} µs", ns as f64 / 1000.0)
    } else {
        format!("{ns} ns")
    }
}

fn aws_sigv4_presign(at: u64) -> String {
    mantle_host::token_check::signature(KEY, SECRET, None, "us-west-2", 43_200, at).unwrap()
}

#[tokio::main]
async fn main() {
    let path = build::component().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    println!("component size (release, stripped): {} bytes", bytes.len());

    let mut compiles = Vec::new();
    for _ in 0..5 {
        let engine = Engine::new(&Config::new()).unwrap();
        let t = Instant::now();
        let c = Component::new(&engine, &bytes).unwrap();
        compiles.push(t.elapsed());
        drop(c);
    }
    println!(
        "cold compile (Cranelift, median of 5): {:?}",
        median(compiles)
    );

    let rt = Runtime::load(&path).unwrap();
    let n = 1_000;
    let t = Instant::now();
    for _ in 0..n {
        let g = rt.instantiate(GuestOptions::default()).await.unwrap();
        drop(g);
    }
    println!(
        "instantiate from InstancePre (mean of {n}): {}",
        per_call(t.elapsed(), n)
    );

    let creds = types::Credentials {
        access_key_id: KEY.into(),
        secret_access_key: SECRET.into(),
        session_token: None,
        expiration: None,
    };
    let mut g = rt.instantiate(GuestOptions::default()).await.unwrap();
    let n = 20_000u32;
    let t = Instant::now();
    for i in 0..n {
        let tok = g
            .mint_token(&creds, "us-west-2", 43_200, 1_752_555_600 + u64::from(i))
            .await
            .unwrap()
            .unwrap();
        std::hint::black_box(tok);
    }
    let guest = t.elapsed();

    let pure = mantle_provider::token::Credentials {
        access_key_id: KEY.into(),
        secret_access_key: SECRET.into(),
        session_token: None,
        expiration: None,
    };
    let t = Instant::now();
    for i in 0..n {
        let tok =
            mantle_provider::token::mint(&pure, "us-west-2", 43_200, 1_752_555_600 + u64::from(i))
                .unwrap();
        std::hint::black_box(tok);
    }
    let native = t.elapsed();

    let t = Instant::now();
    for i in 0..n {
        std::hint::black_box(aws_sigv4_presign(1_752_555_600 + u64::from(i)));
    }
    let oracle = t.elapsed();
    println!(
        "mint-token in the guest, per call incl. the component call ({n} calls): {}",
        per_call(guest, n)
    );
    println!("same code natively: {}", per_call(native, n));
    println!(
        "aws-sigv4 presign natively (signature only): {}",
        per_call(oracle, n)
    );
    println!(
        "guest / aws-sigv4: {:.2}x",
        guest.as_secs_f64() / oracle.as_secs_f64()
    );
}
