//! Turns the built-in price table (`src/prices.json5`, AWS's published Bedrock prices with a
//! source and a date on every row) into a Rust table, so no instance parses JSON5 to price an
//! answer: a fresh instance per request would parse it on every request. A row without its
//! source or date, or with a price that is not a non-negative number, fails the build.

use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(serde::Deserialize)]
struct Row {
    input: f64,
    output: f64,
    #[serde(rename = "cacheRead")]
    cache_read: Option<f64>,
    #[serde(rename = "cacheWrite")]
    cache_write: Option<f64>,
    source: String,
    date: String,
}

#[derive(serde::Deserialize)]
struct Table {
    read: String,
    models: BTreeMap<String, Row>,
}

fn main() {
    println!("cargo:rerun-if-changed=src/prices.json5");
    let text = match std::fs::read_to_string("src/prices.json5") {
        Ok(t) => t,
        Err(e) => fail(&format!("cannot read src/prices.json5: {e}")),
    };
    let table: Table = match json5::from_str(&text) {
        Ok(t) => t,
        Err(e) => fail(&format!("src/prices.json5: {e}")),
    };
    let mut out = String::new();
    let _ = writeln!(out, "/// When the table was read.");
    let _ = writeln!(out, "pub const TABLE_READ: &str = {:?};", table.read);
    let _ = writeln!(
        out,
        "/// Prices by catalog id, sorted; cache prices the source lacks are the input price."
    );
    let _ = writeln!(out, "pub static TABLE_PRICES: &[(&str, Cost)] = &[");
    for (id, row) in &table.models {
        if row.source.is_empty() || row.date.is_empty() {
            fail(&format!("src/prices.json5: {id} needs its source and date"));
        }
        let prices = [
            Some(row.input),
            Some(row.output),
            row.cache_read,
            row.cache_write,
        ];
        if prices
            .into_iter()
            .flatten()
            .any(|p| !p.is_finite() || p < 0.0)
        {
            fail(&format!(
                "src/prices.json5: {id} has a price that is not a non-negative number"
            ));
        }
        let _ = writeln!(
            out,
            "    ({id:?}, Cost {{ input: {:?}, output: {:?}, cache_read: {:?}, cache_write: {:?} }}),",
            row.input,
            row.output,
            row.cache_read.unwrap_or(row.input),
            row.cache_write.unwrap_or(row.input),
        );
    }
    let _ = writeln!(out, "];");
    let dir = std::env::var("OUT_DIR").unwrap_or_else(|_| fail("OUT_DIR is not set"));
    if let Err(e) = std::fs::write(std::path::Path::new(&dir).join("prices.rs"), out) {
        fail(&format!("cannot write the price table: {e}"));
    }
}

fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(1)
}
