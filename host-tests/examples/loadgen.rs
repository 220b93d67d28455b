//! A small closed-loop load generator: N clients, each with one kept-alive HTTP/1.1
//! connection, send the same request back to back for a fixed time and read each answer to
//! its end. It prints one JSON line: requests, failures, requests per second, p50 and p99
//! latency, and (for streams) the p50 time to the first body bytes. With `--cpu NAME=PID`
//! (Linux, repeatable) it also reads the CPU time, user and kernel, that process spent during
//! the counted seconds, and prints it per counted request in microseconds. `scripts/bench-peers`
//! and `scripts/bench-gateway` drive it, so every gateway is measured by the same client.
//!
//! ```sh
//! cargo run --release -p mantle-host --example loadgen -- \
//!     --url http://127.0.0.1:8080/v1/chat/completions --header 'authorization: Bearer KEY' \
//!     --body '{"model":"deepseek.v3.2","messages":[{"role":"user","content":"Hi"}]}' \
//!     --clients 16 --secs 5
//! ```

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

/// Longest a run may be asked to last, seconds.
const MAX_SECS: f64 = 600.0;
/// Most clients a run may have.
const MAX_CLIENTS: usize = 1024;

struct Options {
    url: hyper::Uri,
    headers: Vec<(String, String)>,
    body: Bytes,
    clients: usize,
    secs: f64,
    warmup: f64,
    /// Processes whose CPU time is read at the start and the end of the counted seconds.
    cpu: Vec<(String, u32)>,
}

fn parse() -> Result<Options> {
    let mut args = std::env::args().skip(1);
    let (mut url, mut headers, mut body) = (None, Vec::new(), String::new());
    let (mut clients, mut secs, mut warmup) = (1, 5.0, 1.0);
    let mut cpu = Vec::new();
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => url = Some(value()?.parse::<hyper::Uri>()?),
            "--header" => {
                let h = value()?;
                let (k, v) = h.split_once(':').context("a header is 'name: value'")?;
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
            "--body" => body = value()?,
            "--clients" => clients = value()?.parse()?,
            "--secs" => secs = value()?.parse()?,
            "--warmup" => warmup = value()?.parse()?,
            "--cpu" => {
                let v = value()?;
                let (name, pid) = v.split_once('=').context("--cpu is NAME=PID")?;
                let pid: u32 = pid.parse().context("--cpu is NAME=PID")?;
                cpu_seconds(pid)?;
                cpu.push((name.to_owned(), pid));
            }
            other => bail!("unknown option {other}"),
        }
    }
    let url = url.context("--url is required")?;
    if !(1..=MAX_CLIENTS).contains(&clients)
        || !(0.0..=MAX_SECS).contains(&secs)
        || !(0.0..=MAX_SECS).contains(&warmup)
    {
        bail!("--clients is 1..={MAX_CLIENTS}, --secs and --warmup 0..={MAX_SECS}");
    }
    Ok(Options {
        url,
        headers,
        body: Bytes::from(body),
        clients,
        secs,
        warmup,
        cpu,
    })
}

/// Clock ticks per second of `/proc/PID/stat`'s times: 100 on every Linux that Rust's
/// standard library supports (`USER_HZ`), and `getconf CLK_TCK` says so.
const USER_HZ: f64 = 100.0;

/// CPU time, user and kernel, that process `pid` has spent so far, in seconds.
fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces and parentheses; the fields after it start
    // past its last ')'. utime and stime are fields 14 and 15, the 12th and 13th after it.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("an unexpected /proc/PID/stat")?;
    let mut fields = rest.split_whitespace().skip(11);
    let mut tick = || -> Result<f64> {
        Ok(fields
            .next()
            .context("an unexpected /proc/PID/stat")?
            .parse::<f64>()?)
    };
    Ok((tick()? + tick()?) / USER_HZ)
}

#[derive(Default)]
struct Tally {
    ok: Vec<Duration>,
    first_bytes: Vec<Duration>,
    failed: usize,
    first_failure: Option<String>,
}

async fn client(o: &Options, start_counting: Instant, until: Instant) -> Result<Tally> {
    let authority = o.url.authority().context("the URL has no host")?.clone();
    let tcp = tokio::net::TcpStream::connect(authority.as_str()).await?;
    tcp.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(conn);
    let mut tally = Tally::default();
    while Instant::now() < until {
        let mut request = Request::post(o.url.path_and_query().map_or("/", |p| p.as_str()))
            .header("host", authority.as_str())
            .header("content-type", "application/json");
        for (k, v) in &o.headers {
            request = request.header(k, v);
        }
        let request = request.body(Full::new(o.body.clone()))?;
        let started = Instant::now();
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let mut body = response.into_body();
        let mut first = None;
        let mut data = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(chunk) = frame?.into_data() {
                first.get_or_insert_with(|| started.elapsed());
                if data.len() < 4096 {
                    data.extend_from_slice(&chunk);
                }
            }
        }
        let latency = started.elapsed();
        if started < start_counting {
            continue;
        }
        if status.is_success() {
            tally.ok.push(latency);
            tally.first_bytes.extend(first);
        } else {
            tally.failed += 1;
            tally.first_failure.get_or_insert_with(|| {
                format!(
                    "{status}: {}",
                    String::from_utf8_lossy(&data[..data.len().min(300)])
                )
            });
        }
    }
    Ok(tally)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() -> Result<()> {
    let o = std::sync::Arc::new(parse()?);
    let start_counting = Instant::now() + Duration::from_secs_f64(o.warmup);
    let until = start_counting + Duration::from_secs_f64(o.secs);
    let watched = o.cpu.clone();
    let cpu_task = tokio::spawn(async move {
        tokio::time::sleep_until(start_counting.into()).await;
        let before: Vec<f64> = watched
            .iter()
            .map(|(_, pid)| cpu_seconds(*pid))
            .collect::<Result<_>>()?;
        tokio::time::sleep_until(until.into()).await;
        let mut spent = Vec::new();
        for ((name, pid), b) in watched.iter().zip(before) {
            spent.push((name.clone(), cpu_seconds(*pid)? - b));
        }
        anyhow::Ok(spent)
    });
    let tasks: Vec<_> = (0..o.clients)
        .map(|_| {
            let o = o.clone();
            tokio::spawn(async move { client(&o, start_counting, until).await })
        })
        .collect();
    let mut all = Tally::default();
    for t in tasks {
        let t = t.await??;
        all.ok.extend(t.ok);
        all.first_bytes.extend(t.first_bytes);
        all.failed += t.failed;
        if all.first_failure.is_none() {
            all.first_failure = t.first_failure;
        }
    }
    all.ok.sort();
    all.first_bytes.sort();
    let counted = all.ok.len() + all.failed;
    let cpu_us: serde_json::Map<String, serde_json::Value> = cpu_task
        .await??
        .into_iter()
        .map(|(name, secs)| {
            let per = if counted == 0 {
                f64::NAN
            } else {
                secs * 1e6 / counted as f64
            };
            (name, serde_json::json!(per))
        })
        .collect();
    let line = serde_json::json!({
        "requests": all.ok.len(),
        "failed": all.failed,
        "rps": all.ok.len() as f64 / o.secs,
        "p50_ms": percentile(&all.ok, 0.5),
        "p99_ms": percentile(&all.ok, 0.99),
        "first_bytes_p50_ms": percentile(&all.first_bytes, 0.5),
        "first_failure": all.first_failure,
        "cpu_us_per_request": cpu_us,
    });
    println!("{line}");
    Ok(())
}
