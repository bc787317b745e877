//! The `pinned-get` contract (DESIGN.md §4): exit 0 only when complete,
//! verified and in place; each refusal its own exit code, its reason in
//! the message, nothing at PATH.
#![cfg(feature = "cli")]

use std::io::Write;
use std::process::{Command, Output};
use std::sync::Arc;

use crate::support::*;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pinned-get"));
    c.env_remove("HTTPS_PROXY").env_remove("https_proxy");
    c
}

struct Setup {
    pki: Pki,
    leaf: Leaf,
    dir: tempfile::TempDir,
    ca: std::path::PathBuf,
}

fn setup() -> Setup {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let ca = pki.ca_file(dir.path());
    Setup { pki, leaf, dir, ca }
}

impl Setup {
    fn out(&self) -> std::path::PathBuf {
        self.dir.path().join("out/model.bin")
    }

    fn run(&self, server: &Server, url: &str, extra: &[&str]) -> Output {
        let mut c = bin();
        c.arg(url)
            .arg("--out")
            .arg(self.out())
            .arg("--ca-file")
            .arg(&self.ca)
            .arg("--resolve")
            .arg(format!("good.test:{}:127.0.0.1", server.port))
            .arg("--pin")
            .arg(format!("good.test={};{}", self.leaf.pin, backup_pin()))
            .arg("--quiet")
            .args(extra);
        c.output().unwrap()
    }

    fn refused(&self, out: &Output, code: i32, reason: &str) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{stderr}");
        assert!(stderr.contains(reason), "{stderr} lacks {reason:?}");
        assert!(!self.out().exists());
        assert!(entries(&self.dir.path().join("out")).is_empty());
    }
}

#[test]
fn a_verified_download_exits_zero() {
    let s = setup();
    let body = Arc::new(content(200_000));
    let server = Server::start(&s.leaf, file_handler(body.clone(), "\"v\"", false));
    let hex = sha256_hex(&body);
    let out = s.run(
        &server,
        &server.url("good.test", "/m.bin"),
        &["--sha256", &hex, "--expected-size", "200000"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(s.out()).unwrap(), *body);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with(&hex), "{stdout}");
}

#[test]
fn each_refusal_has_its_exit_code_and_reason() {
    let s = setup();
    let body = Arc::new(content(10_000));
    let good = Server::start(&s.leaf, file_handler(body.clone(), "\"v\"", false));
    let url = good.url("good.test", "/m.bin");

    let out = s.run(&good, &url, &["--allow", "other.test"]);
    // The pin names a host that is not allowed: a configuration error.
    assert_eq!(out.status.code(), Some(2));

    let out = s.run(
        &good,
        &good.url("evil.test", "/m"),
        &["--allow", "good.test"],
    );
    s.refused(&out, 10, "not allowed host");

    let out = s.run(&good, &format!("http://good.test:{}/m", good.port), &[]);
    s.refused(&out, 11, "plain http");

    let other = s.pki.leaf(&["good.test"]);
    let wrong_pin = Server::start(&other, file_handler(body.clone(), "\"v\"", false));
    let out = s.run(&wrong_pin, &wrong_pin.url("good.test", "/m"), &[]);
    s.refused(&out, 12, "pin mismatch");

    let expired = s.pki.expired_leaf(&["good.test"]);
    let expired = Server::start(&expired, file_handler(body, "\"v\"", false));
    let out = s.run(&expired, &expired.url("good.test", "/m"), &[]);
    s.refused(&out, 13, "certificate invalid");

    let out = s.run(&good, &url, &["--max-size", "9999"]);
    s.refused(&out, 14, "too large");

    let out = s.run(&good, &url, &["--expected-size", "10001"]);
    s.refused(&out, 15, "size mismatch");

    let out = s.run(&good, &url, &["--sha256", &sha256_hex(b"other")]);
    s.refused(&out, 16, "checksum mismatch");

    let stall = Server::start(
        &s.leaf,
        Arc::new(|_req: &Seen, tls: &mut Tls| {
            head(tls, "200 OK", &[("Content-Length", "100".into())])?;
            tls.flush()?;
            let mut b = [0u8; 8];
            while matches!(std::io::Read::read(tls, &mut b), Ok(n) if n > 0) {}
            Ok(End::Cut)
        }),
    );
    let out = s.run(&stall, &stall.url("good.test", "/m"), &["--timeout", "0.3"]);
    s.refused(&out, 17, "timeout");

    let loop_server = Server::start(&s.leaf, redirect_handler("302 Found", "/again".into()));
    let out = s.run(&loop_server, &loop_server.url("good.test", "/m"), &[]);
    s.refused(&out, 18, "redirect refused");
}

#[test]
fn a_pin_set_without_backup_is_a_usage_error() {
    let s = setup();
    let out = bin()
        .args(["https://good.test/m", "--out"])
        .arg(s.out())
        .arg("--pin")
        .arg(format!("good.test={}", s.leaf.pin))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("backup pin"), "{stderr}");
    assert!(!s.out().exists());
}

#[test]
fn https_proxy_is_used_with_pins_end_to_end() {
    let s = setup();
    let body = Arc::new(content(20_000));
    let server = Server::start(&s.leaf, file_handler(body.clone(), "\"v\"", false));
    let proxy = Proxy::start(ProxyMode::Tunnel);
    let out = bin()
        .arg(server.url("good.test", "/m"))
        .arg("--out")
        .arg(s.out())
        .arg("--ca-file")
        .arg(&s.ca)
        .arg("--pin")
        .arg(format!("good.test={};{}", s.leaf.pin, backup_pin()))
        .arg("--quiet")
        .env("HTTPS_PROXY", proxy.url())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(s.out()).unwrap(), *body);
    assert_eq!(proxy.connects.lock().unwrap().len(), 1);
}

#[test]
fn resume_continues_after_a_cut_and_exits_zero() {
    let s = setup();
    let body = Arc::new(content(300_000));
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (b2, honest) = (body.clone(), file_handler(body.clone(), "\"v1\"", true));
    // First answer: cut after 200,000 bytes; later ones honest, with Range.
    let server = Server::start(
        &s.leaf,
        Arc::new(move |req: &Seen, tls: &mut Tls| {
            if n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                head(
                    tls,
                    "200 OK",
                    &[
                        ("Content-Length", b2.len().to_string()),
                        ("ETag", "\"v1\"".into()),
                    ],
                )?;
                tls.write_all(&b2[..200_000])?;
                return Ok(End::Cut);
            }
            honest(req, tls)
        }),
    );
    let url = server.url("good.test", "/m.bin");
    let hex = sha256_hex(&body);
    let out = s.run(&server, &url, &["--sha256", &hex, "--resume"]);
    assert_eq!(
        out.status.code(),
        Some(15),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!s.out().exists());
    let out = s.run(&server, &url, &["--sha256", &hex, "--resume"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(s.out()).unwrap(), *body);
    assert_eq!(entries(&s.dir.path().join("out")), ["model.bin"]);
    // The default 64 MiB chunk holds the whole file: nothing was recorded,
    // so the second run started over (a Range request needs a recorded chunk).
    assert!(server.seen().iter().all(|r| r.header("range").is_none()));
}

#[test]
fn out_in_a_0755_directory_leaves_it_0755_and_a_world_writable_one_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let s = setup();
    let outdir = s.dir.path().join("out");
    let body = Arc::new(content(100_000));
    let server = Server::start(&s.leaf, file_handler(body.clone(), "\"v\"", false));
    let hex = sha256_hex(&body);
    let url = server.url("good.test", "/m.bin");

    std::fs::set_permissions(&outdir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = s.run(&server, &url, &["--sha256", &hex]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("group or others"), "{stderr}");
    assert_eq!(mode(&outdir), 0o777);
    assert!(entries(&outdir).is_empty());

    std::fs::set_permissions(&outdir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = s.run(&server, &url, &["--sha256", &hex]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        mode(&outdir),
        0o755,
        "pinned-get changed the directory's mode"
    );
    assert_eq!(mode(&s.out()), 0o600);
    assert_eq!(std::fs::read(s.out()).unwrap(), *body);
    assert_eq!(entries(&outdir), ["model.bin"]);
}
