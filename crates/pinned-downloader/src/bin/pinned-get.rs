//! `pinned-get`: download one file over HTTPS under a host allow-list and
//! pins, verify its size and SHA-256, and install it atomically.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a binary prints

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use pinned_downloader::{Downloader, Error, ErrorKind, HostPattern, PinSet, Request, Sha256Digest};

const EXIT_CODES: &str = "\
Exit codes:
   0  the file is complete, verified and atomically in place
   1  other failure (network, file system, server error status)
   2  usage or configuration error (bad flag, bad pin, pin set without a backup pin)
  10  not allowed host (first URL or a redirect target)
  11  plain http (first URL or a redirect target)
  12  pin mismatch (no key of the verified chain is pinned)
  13  certificate invalid (WebPKI: issuer, expiry, host name)
  14  too large (over --max-size)
  15  size mismatch (--expected-size, Content-Length, or a truncated body)
  16  checksum mismatch (--sha256)
  17  timeout (connect, idle, slow transfer, --max-time)
  18  redirect refused (too many hops, bad Location)
  19  resume refused (the server's Range answer does not continue the part)
On any refusal nothing exists at PATH.

--timeout SECS bounds connecting, each wait for data, and the speed: a transfer
that gets less than 1 KiB/s over any SECS-long window is a timeout (a slow drip).
HTTPS_PROXY (http://host:port) is used through CONNECT; pins still apply end to end.";

/// Download one file over HTTPS with host allow-list, SPKI pins, size and
/// SHA-256 checks, and atomic installation.
#[derive(Debug, Parser)]
#[command(name = "pinned-get", version, after_help = EXIT_CODES)]
struct Cli {
    /// The https URL to download.
    url: String,
    /// Where to install the file (0600). Its directory must be yours, not
    /// writable by group or others, with no symlink on the way; its mode is
    /// left as it is. A missing directory is created 0700.
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    /// A host that may be contacted (exact, or explicit `*.example.com`);
    /// repeat for redirect targets. Default: the URL's host only.
    #[arg(long = "allow", value_name = "HOST")]
    allow: Vec<String>,
    /// Pins for a host, curl syntax; `;` separates pins; at least two
    /// (a backup); may end with `;expires=YYYY-MM-DD`. Repeatable.
    #[arg(long = "pin", value_name = "HOST=sha256//BASE64")]
    pin: Vec<String>,
    /// Extra trusted CA certificates (PEM), in addition to Mozilla's roots.
    #[arg(long = "ca-file", value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// The SHA-256 the file must have (64 hex digits).
    #[arg(long, value_name = "HEX")]
    sha256: Option<String>,
    /// The size the file must have, in bytes.
    #[arg(long = "expected-size", value_name = "N")]
    expected_size: Option<u64>,
    /// Hard maximum size in bytes (default 50 GiB).
    #[arg(long = "max-size", value_name = "N")]
    max_size: Option<u64>,
    /// Connect to ADDR for HOST:PORT (like curl); repeatable.
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDR")]
    resolve: Vec<String>,
    /// Keep PATH.part and PATH.part.resume on interruption and continue
    /// from the verified chunks next time.
    #[arg(long)]
    resume: bool,
    /// Connect, idle and low-speed timeout in seconds (default 30).
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// Limit on the whole download in seconds (default none).
    #[arg(long = "max-time", value_name = "SECS")]
    max_time: Option<f64>,
    /// At most this many redirects (default 5).
    #[arg(long = "max-redirects", value_name = "N")]
    max_redirects: Option<u32>,
    /// Take the expected SHA-256 from the server's X-Linked-Etag when
    /// --sha256 is not given (Hugging Face).
    #[arg(long = "trust-linked-etag")]
    trust_linked_etag: bool,
    /// No progress bar, no redirect chain, no warnings.
    #[arg(long)]
    quiet: bool,
}

/// The exit code of an error (see `EXIT_CODES`).
fn exit_code(kind: &ErrorKind) -> u8 {
    match kind {
        ErrorKind::NotAllowedHost { .. } => 10,
        ErrorKind::PlainHttp { .. } => 11,
        ErrorKind::PinMismatch { .. } => 12,
        ErrorKind::CertificateInvalid { .. } => 13,
        ErrorKind::TooLarge { .. } => 14,
        ErrorKind::SizeMismatch { .. } => 15,
        ErrorKind::ChecksumMismatch { .. } => 16,
        ErrorKind::Timeout { .. } => 17,
        ErrorKind::RedirectRefused { .. } => 18,
        ErrorKind::ResumeRefused { .. } => 19,
        ErrorKind::Config { .. } => 2,
        _ => 1,
    }
}

fn seconds(flag: &str, secs: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{flag} {secs} is not a positive number of seconds"))
}

/// Builds the downloader and request from the flags (configuration
/// errors are exit code 2).
fn configure(cli: &Cli) -> Result<(Downloader, Request), String> {
    let url = url::Url::parse(&cli.url).map_err(|e| format!("URL {:?}: {e}", cli.url))?;
    let mut allow: Vec<HostPattern> = Vec::new();
    if cli.allow.is_empty() {
        if let Some(host) = url.host_str() {
            allow.push(HostPattern::parse(host).map_err(|e| e.to_string())?);
        }
    } else {
        for a in &cli.allow {
            let p = HostPattern::parse(a).map_err(|e| e.to_string())?;
            if !allow.contains(&p) {
                allow.push(p);
            }
        }
    }
    let mut pins: BTreeMap<HostPattern, Vec<String>> = BTreeMap::new();
    for p in &cli.pin {
        let (host, value) = p
            .split_once('=')
            .ok_or_else(|| format!("--pin {p:?} is not HOST=sha256//BASE64"))?;
        let host = HostPattern::parse(host).map_err(|e| e.to_string())?;
        if !allow.contains(&host) {
            return Err(format!(
                "--pin for {host}, which is not allowed (add --allow {host})"
            ));
        }
        pins.entry(host).or_default().push(value.to_owned());
    }
    let mut b = Downloader::builder();
    for host in &allow {
        b = match pins.get(host) {
            Some(values) => {
                let set = PinSet::parse(&values.join(";"))
                    .map_err(|e| format!("pins for {host}: {e}"))?;
                b.allow_pinned(&host.to_string(), set)
            }
            None => b.allow_unpinned(&host.to_string()),
        };
    }
    if let Some(ca) = &cli.ca_file {
        b = b.ca_file(ca);
    }
    for r in &cli.resolve {
        b = b.resolve_spec(r);
    }
    if let Some(max) = cli.max_size {
        b = b.max_size(max);
    }
    if let Some(n) = cli.max_redirects {
        b = b.max_redirects(n);
    }
    if let Some(t) = cli.timeout {
        let t = seconds("--timeout", t)?;
        b = b
            .connect_timeout(t)
            .read_timeout(t)
            .low_speed_limit(Some((1024, t)));
    }
    if let Some(t) = cli.max_time {
        b = b.total_timeout(seconds("--max-time", t)?);
    }
    let dl = b.proxy_from_env().build().map_err(|e| e.to_string())?;
    let mut req = Request::new(cli.url.clone())
        .resume(cli.resume)
        .trust_linked_etag(cli.trust_linked_etag);
    if let Some(hex) = &cli.sha256 {
        req = req.sha256(Sha256Digest::from_hex(hex).map_err(|e| e.to_string())?);
    }
    if let Some(n) = cli.expected_size {
        req = req.expected_size(n);
    }
    Ok((dl, req))
}

fn progress_bar(req: Request) -> (Request, indicatif::ProgressBar) {
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    let b2 = bar.clone();
    let req = req.on_progress(move |p| {
        if let Some(total) = p.total {
            b2.set_length(total);
        }
        b2.set_position(p.bytes);
    });
    (req, bar)
}

fn print_chain(err: &Error) {
    for hop in err.redirect_chain() {
        eprintln!("  {} {}", hop.status, hop.url_without_query());
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (dl, mut req) = match configure(&cli) {
        Ok(x) => x,
        Err(msg) => {
            eprintln!("pinned-get: {msg}");
            return ExitCode::from(2);
        }
    };
    if !cli.quiet && cli.sha256.is_none() && !cli.trust_linked_etag {
        eprintln!(
            "pinned-get: warning: no --sha256 given; the file's integrity rests on TLS alone"
        );
    }
    let bar = if cli.quiet {
        None
    } else {
        let (r, bar) = progress_bar(req);
        req = r;
        Some(bar)
    };
    let result = dl.download(req, &cli.out);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    match result {
        Ok(done) => {
            if !cli.quiet {
                for hop in &done.redirect_chain {
                    eprintln!("  {} {}", hop.status, hop.url_without_query());
                }
                if !done.sha256_verified {
                    eprintln!("pinned-get: sha256 not checked against an expected value");
                }
            }
            println!("{}  {}", done.sha256, done.path.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            let label = if err.is_refusal() { "refused" } else { "error" };
            eprintln!("pinned-get: {label}: {err}");
            if !cli.quiet {
                print_chain(&err);
            }
            ExitCode::from(exit_code(err.kind()))
        }
    }
}
