//! `cargo xtask journal-bench [--entries N]... [--repeat R]`: the `journal`
//! release binary against jrnl (PyPI, in a cached venv) on encrypted
//! journals holding the same entries, measured in the same run.
//!
//! For each size (10,000 and 50,000 entries unless `--entries` says
//! otherwise) a Python helper, written to a temporary file, makes a jrnl
//! journal encrypted the way jrnl encrypts (Fernet under PBKDF2) and the same
//! entries in jrnl's JSON export shape, which `journal import --format
//! jrnl-json` reads into a fresh journal. Then each command runs `R` times
//! as a whole process (median wall time): jrnl on a pseudo-terminal, its
//! password prompt answered by the helper; `journal` with a passphrase file.
//!
//! | command | journal | jrnl |
//! |---|---|---|
//! | list | `list` | `-n 1000000000 --short` (every entry) |
//! | search | `search needle` | `-contains needle --short` |
//! | add | `add TEXT` | `TEXT` |
//! | show | `show ID` | `-n 1` |
//!
//! The key derivation is reported apart: for `journal` the `unlock_kdf`
//! phase the app prints with `JOURNAL_TIMINGS=1` (PBKDF2, 600,000
//! iterations), for jrnl its PBKDF2 (100,000 iterations) timed alone in
//! Python; each is subtracted in the "excl. KDF" columns. Ratios are
//! jrnl's time over ours (above 1: we are faster).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util;

/// jrnl version on PyPI that the comparison uses.
const JRNL: &str = "jrnl==4.6";
const PASSWORD: &str = "bench passphrase for both journals";
const ADD_TEXT: &str = "Bench entry. A quiet evening walk by the river with a friend @work";

/// The Python side: journal setup, timed jrnl runs on a pty, jrnl's KDF.
const DRIVER: &str = r#"
import json, os, pty, random, select, sys, termios, time

WORDS = ("morning walk river coffee garden letter quiet rain window train city music book "
         "friend evening market bread cloud hill forest lamp paper song street summer winter "
         "autumn spring kitchen table chair road bridge tower harbour island meadow stone "
         "sunlight shadow thought dream plan idea project meeting lunch dinner travel").split()

def env_for(d):
    e = dict(os.environ)
    e.update(XDG_CONFIG_HOME=os.path.join(d, "config"), XDG_DATA_HOME=os.path.join(d, "data"),
             HOME=d, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", NO_COLOR="1",
             TERM="dumb", COLUMNS="200")
    return e

def setup(d, n, password):
    os.makedirs(os.path.join(d, "config", "jrnl"), exist_ok=True)
    journal = os.path.join(d, "journal.txt")
    with open(os.path.join(d, "config", "jrnl", "jrnl.yaml"), "w") as f:
        f.write(f"""colors:
  body: none
  date: none
  tags: none
  title: none
default_hour: 9
default_minute: 0
editor: ''
encrypt: true
highlight: false
indent_character: '|'
journals:
  default:
    journal: {journal}
linewrap: 79
tagsymbols: '#@'
template: false
timeformat: '%Y-%m-%d %H:%M'
version: v4.6
""")
    rng = random.Random(16)
    lines, records = [], []
    t0 = time.mktime((2015, 1, 1, 9, 0, 0, 0, 0, -1))
    for i in range(n):
        t = time.localtime(t0 + i * 3 * 3600)
        date, hm = time.strftime("%Y-%m-%d", t), time.strftime("%H:%M", t)
        title = " ".join(rng.choice(WORDS) for _ in range(4)).capitalize() + "."
        words = [rng.choice(WORDS) for _ in range(rng.randint(30, 90))]
        if i % 97 == 0:
            words.insert(len(words) // 2, "needle")
        tag = rng.choice(["@work", "@home", "@ideas", "@family"])
        body = " ".join(words) + " " + tag
        lines.append(f"[{date} {hm}] {title} {body}\n\n")
        records.append({"title": title, "body": body, "date": date, "time": hm,
                        "tags": [tag], "starred": False})
    from jrnl.encryption.Jrnlv3Encryption import Jrnlv3Encryption
    enc = Jrnlv3Encryption("default", {})
    enc.password = password
    with open(journal, "wb") as f:
        f.write(enc.encrypt("".join(lines)))
    with open(os.path.join(d, "entries.json"), "w") as f:
        json.dump({"tags": {}, "entries": records}, f)

def run_pty(d, password, args):
    exe = os.path.join(os.path.dirname(sys.executable), "jrnl")
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(exe, [exe] + args, env_for(d))
        finally:
            os._exit(127)
    out, answered = b"", False
    while True:
        try:
            r, _, _ = select.select([fd], [], [], 600)
            if not r:
                raise SystemExit("jrnl timed out: " + out[-500:].decode(errors="replace"))
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        if not answered:
            out += chunk
            if b"assword" in out:
                # getpass turns echo off with TCSAFLUSH, which drops what
                # was typed before: answer once echo is off.
                deadline = time.perf_counter() + 30
                while termios.tcgetattr(fd)[3] & termios.ECHO:
                    if time.perf_counter() > deadline:
                        raise SystemExit("jrnl never turned echo off")
                    time.sleep(0.0005)
                os.write(fd, password.encode() + b"\n")
                answered, out = True, b""
        else:
            out = (out + chunk)[-4096:]
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0 or not answered:
        raise SystemExit(f"jrnl {args} failed (password asked: {answered}): "
                         + out[-800:].decode(errors="replace"))
    return elapsed

cmd = sys.argv[1]
if cmd == "setup":
    setup(sys.argv[2], int(sys.argv[3]), sys.argv[4])
elif cmd == "time":
    d, password, repeat, args = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
    for _ in range(repeat):
        print(f"{run_pty(d, password, args):.6f}", flush=True)
elif cmd == "kdf":
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
    for _ in range(int(sys.argv[2])):
        s = time.perf_counter()
        PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=os.urandom(16),
                   iterations=100_000).derive(b"bench password")
        print(f"{time.perf_counter() - s:.6f}", flush=True)
else:
    raise SystemExit("unknown command " + cmd)
"#;

struct Args {
    sizes: Vec<usize>,
    repeat: usize,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut sizes = Vec::new();
    let mut repeat = 5;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| format!("{name} needs a value"))?
                .parse::<usize>()
                .map_err(|e| format!("{name}: {e}"))
        };
        match a.as_str() {
            "--entries" => sizes.push(value("--entries")?),
            "--repeat" => repeat = value("--repeat")?.max(1),
            other => {
                return Err(format!(
                    "unknown argument `{other}` (usage: journal-bench [--entries N]... [--repeat R])"
                ));
            }
        }
    }
    if sizes.is_empty() {
        sizes = vec![10_000, 50_000];
    }
    Ok(Args { sizes, repeat })
}

/// The cached venv with jrnl, made when missing.
fn jrnl_venv() -> Result<PathBuf, String> {
    let home = std::env::var_os("HOME").ok_or("HOME is not set")?;
    let venv = PathBuf::from(home).join(".cache/journal-xtask/jrnl");
    if !venv.join("bin/jrnl").exists() {
        eprintln!("journal-bench: installing {JRNL} into {}", venv.display());
        util::run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
        util::run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", JRNL]))?;
    }
    Ok(venv)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Seconds printed one per line by the driver.
fn driver_times(python: &Path, driver: &Path, args: &[&str]) -> Result<Duration, String> {
    let mut cmd = Command::new(python);
    cmd.arg(driver).args(args).stderr(Stdio::inherit());
    let shown = util::describe(&cmd);
    let out = cmd
        .output()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if !out.status.success() {
        return Err(format!("`{shown}` failed ({})", out.status));
    }
    let times: Vec<Duration> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse::<f64>().ok())
        .map(Duration::from_secs_f64)
        .collect();
    if times.is_empty() {
        return Err(format!("`{shown}` printed no time"));
    }
    Ok(median(times))
}

/// `journal ARGS` timed `repeat` times (exit 0 required, output drained):
/// the medians of the whole process and of its key derivation, which the
/// app reports on stderr with `JOURNAL_TIMINGS=1` (phase `unlock_kdf`).
fn ours(
    bin: &Path,
    data: &Path,
    pass: &Path,
    args: &[&str],
    repeat: usize,
) -> Result<(Duration, Duration), String> {
    let mut times = Vec::new();
    let mut kdfs = Vec::new();
    for _ in 0..repeat {
        let mut cmd = Command::new(bin);
        cmd.arg("--data-dir")
            .arg(data)
            .arg("--passphrase-file")
            .arg(pass)
            .args(args)
            .env("JOURNAL_TIMINGS", "1")
            .stdin(Stdio::null());
        let start = Instant::now();
        let out = cmd
            .output()
            .map_err(|e| format!("could not start journal: {e}"))?;
        times.push(start.elapsed());
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            return Err(format!(
                "journal {args:?} failed ({}): {stderr}",
                out.status
            ));
        }
        kdfs.push(kdf_of(&stderr).unwrap_or_default());
    }
    Ok((median(times), median(kdfs)))
}

/// The `unlock_kdf` phase of a `timings_ms {...}` line.
fn kdf_of(stderr: &str) -> Option<Duration> {
    let line = stderr.lines().find_map(|l| l.strip_prefix("timings_ms "))?;
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let ms = v.get("unlock_kdf")?.as_f64()?;
    Some(Duration::from_secs_f64(ms / 1000.0))
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

struct Row {
    size: usize,
    command: &'static str,
    ours: Duration,
    unlock: Duration,
    jrnl: Duration,
    jrnl_kdf: Duration,
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let args = parse(args)?;
    let venv = jrnl_venv()?;
    let python = venv.join("bin/python");
    util::run(util::cargo().args([
        "build",
        "--release",
        "--package",
        "journal",
        "--bin",
        "journal",
    ]))?;
    let bin = util::project_root().join("target/release/journal");
    let work = std::env::temp_dir().join(format!("journal-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let result = bench(&args, &python, &bin, &work);
    let _ = std::fs::remove_dir_all(&work);
    let rows = result?;

    println!();
    println!(
        "journal vs jrnl {JRNL} (median of {} whole-process runs, ms; ratio = jrnl / journal)",
        args.repeat
    );
    println!(
        "| entries | command | journal | journal KDF | journal excl. KDF | jrnl | jrnl KDF | jrnl excl. KDF | ratio | ratio excl. KDF |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let ours_ex = r.ours.saturating_sub(r.unlock);
        let jrnl_ex = r.jrnl.saturating_sub(r.jrnl_kdf);
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.2} |",
            r.size,
            r.command,
            ms(r.ours),
            ms(r.unlock),
            ms(ours_ex),
            ms(r.jrnl),
            ms(r.jrnl_kdf),
            ms(jrnl_ex),
            r.jrnl.as_secs_f64() / r.ours.as_secs_f64(),
            jrnl_ex.as_secs_f64() / ours_ex.as_secs_f64().max(1e-4),
        );
    }
    // The targets of issue 16: faster than jrnl everywhere (KDF included);
    // at 10,000 entries without the unlock: list < 150 ms, search < 300 ms,
    // add < 20 ms; add independent of the size.
    println!();
    let mut misses = Vec::new();
    for r in &rows {
        if r.ours >= r.jrnl {
            misses.push(format!("{} at {}: not faster than jrnl", r.command, r.size));
        }
        let ex = r.ours.saturating_sub(r.unlock);
        let limit = match r.command {
            "list" => Some(150),
            "search" => Some(300),
            "add" => Some(20),
            _ => None,
        };
        if let Some(limit) = limit
            && r.size == 10_000
            && ex >= Duration::from_millis(limit)
        {
            misses.push(format!(
                "{} at 10000 excl. KDF: {} ms >= {limit} ms",
                r.command,
                ms(ex)
            ));
        }
    }
    let adds: Vec<&Row> = rows.iter().filter(|r| r.command == "add").collect();
    if let (Some(small), Some(big)) = (adds.first(), adds.last())
        && small.size != big.size
    {
        let s = small.ours.saturating_sub(small.unlock).as_secs_f64();
        let b = big.ours.saturating_sub(big.unlock).as_secs_f64();
        println!(
            "add excl. KDF: {} ms at {} entries, {} ms at {} ({:.2}x)",
            ms(Duration::from_secs_f64(s)),
            small.size,
            ms(Duration::from_secs_f64(b)),
            big.size,
            b / s.max(1e-4)
        );
    }
    if misses.is_empty() {
        println!("targets: all met");
    } else {
        println!("targets missed:");
        for m in &misses {
            println!("  - {m}");
        }
    }
    Ok(())
}

fn bench(args: &Args, python: &Path, bin: &Path, work: &Path) -> Result<Vec<Row>, String> {
    let driver = work.join("jrnl_driver.py");
    std::fs::write(&driver, DRIVER).map_err(|e| format!("{}: {e}", driver.display()))?;
    let pass = work.join("passphrase");
    std::fs::write(&pass, format!("{PASSWORD}\n")).map_err(|e| e.to_string())?;
    let jrnl_kdf = driver_times(python, &driver, &["kdf", &args.repeat.max(5).to_string()])?;
    let repeat = args.repeat.to_string();
    let mut rows = Vec::new();
    for &n in &args.sizes {
        let dir = work.join(format!("n{n}"));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let d = dir.to_str().ok_or("non-UTF-8 temp dir")?;
        eprintln!("journal-bench: {n} entries: making both journals");
        let status = Command::new(python)
            .arg(&driver)
            .args(["setup", d, &n.to_string(), PASSWORD])
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("jrnl setup of {n} entries failed ({status})"));
        }
        let data = dir.join("journal-data");
        ours(bin, &data, &pass, &["init"], 1)?;
        let entries = dir.join("entries.json");
        let entries = entries.to_str().ok_or("non-UTF-8 temp dir")?;
        let import_start = Instant::now();
        ours(
            bin,
            &data,
            &pass,
            &["import", "--format", "jrnl-json", entries],
            1,
        )?;
        eprintln!(
            "journal-bench: imported {n} entries into journal in {}",
            util::secs(import_start.elapsed())
        );
        // An id for `show`: the first one `list --json` gives.
        let out = Command::new(bin)
            .arg("--data-dir")
            .arg(&data)
            .arg("--passphrase-file")
            .arg(&pass)
            .args(["list", "--json"])
            .output()
            .map_err(|e| e.to_string())?;
        let listed: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| format!("journal list --json: {e}"))?;
        let id = first_id(&listed).ok_or("journal list --json shows no id")?;

        eprintln!("journal-bench: {n} entries: timing");
        let cases: [(&str, Vec<&str>, Vec<&str>); 4] = [
            ("list", vec!["list"], vec!["-n", "1000000000", "--short"]),
            (
                "search",
                vec!["search", "needle"],
                vec!["-contains", "needle", "--short"],
            ),
            ("show", vec!["show", &id], vec!["-n", "1"]),
            ("add", vec!["add", ADD_TEXT], vec![ADD_TEXT]),
        ];
        for (name, our_args, jrnl_args) in cases {
            let (o, unlock) = ours(bin, &data, &pass, &our_args, args.repeat)?;
            let mut jargs = vec!["time", d, PASSWORD, &repeat];
            jargs.extend(jrnl_args);
            let jt = driver_times(python, &driver, &jargs)?;
            rows.push(Row {
                size: n,
                command: name,
                ours: o,
                unlock,
                jrnl: jt,
                jrnl_kdf,
            });
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(rows)
}

fn first_id(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::String(s)) = m.get("id") {
                return Some(s.clone());
            }
            m.values().find_map(first_id)
        }
        serde_json::Value::Array(a) => a.iter().find_map(first_id),
        _ => None,
    }
}
