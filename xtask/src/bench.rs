//! `cargo xtask bench [FILTER]`: runs the criterion benches in `benches/`,
//! then prints, for every benchmark, its median next to the median of the
//! baseline measured in the same run.
//!
//! Convention: inside a criterion group, a function whose name starts with
//! `baseline` is the baseline; every other function with the same parameter
//! (or none) is compared with it. Ratios, not absolute figures, are what we
//! compare across runs: these machines are noisy.
//!
//! After that table comes the one of `DESIGN.md` §5: each target with the
//! figure measured in this run (a ratio against its baseline, or a rate
//! where the target is a rate), the target beside it and `✗` where it falls
//! short. Where a bench also measured its pair interleaved (ours and the
//! baseline call by call, under the same load; see `benches::record_paired`),
//! that ratio is shown too and is the one judged. Targets that no criterion
//! bench measures name the task that does.
//!
//! A FILTER (criterion's: a regex searched in `group/function/parameter`)
//! runs only the benches it selects; each bench skips its setup (the 4 GiB
//! of model files, the TLS server, the big audit log) for groups the filter
//! leaves out (`benches::selected`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::util;

#[derive(Debug)]
struct Estimate {
    group: String,
    function: String,
    parameter: String,
    /// Median time per iteration, nanoseconds.
    median_ns: f64,
    /// Bytes per iteration when the group declares throughput.
    bytes: Option<u64>,
    /// Elements (records, operations) per iteration when the group
    /// declares throughput in elements.
    elements: Option<u64>,
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let started = SystemTime::now();
    let mut cmd = util::cargo();
    cmd.args(["bench", "--package", "benches"]);
    if !args.is_empty() {
        cmd.arg("--");
        cmd.args(args);
    }
    util::run(&mut cmd)?;

    let dir = target_dir().join("criterion");
    let mut found = Vec::new();
    collect(&dir, &dir, started, &mut found)?;
    if found.is_empty() {
        return Err(format!(
            "no criterion results newer than this run under {}",
            dir.display()
        ));
    }
    print_table(&found);
    let paired = read_paired(&dir.join(PAIRED_DIR), started);
    print!("{}", targets_table(&found, &paired));
    Ok(())
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::project_root().join("target"))
}

/// Walks criterion's output for `new/estimates.json` files written during
/// this run.
fn collect(
    root: &Path,
    dir: &Path,
    since: SystemTime,
    out: &mut Vec<Estimate>,
) -> Result<(), String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir()
            && path
                .file_name()
                .is_some_and(|n| n != "report" && n != PAIRED_DIR)
        {
            collect(root, &path, since, out)?;
            continue;
        }
        if path.file_name().is_none_or(|n| n != "estimates.json") {
            continue;
        }
        let Some(new_dir) = path.parent().filter(|p| p.ends_with("new")) else {
            continue;
        };
        let fresh = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= since);
        if !fresh {
            continue;
        }
        let Some(id_dir) = new_dir.parent() else {
            continue;
        };
        if let Some(e) = read_estimate(root, id_dir, &path)? {
            out.push(e);
        }
    }
    Ok(())
}

fn read_estimate(root: &Path, id_dir: &Path, estimates: &Path) -> Result<Option<Estimate>, String> {
    // criterion's benchmark.json carries the ids unmangled.
    let bench_json = id_dir.join("new").join("benchmark.json");
    let bench: serde_json::Value = match std::fs::read_to_string(&bench_json) {
        Ok(s) => serde_json::from_str(&s).map_err(|e| format!("{}: {e}", bench_json.display()))?,
        Err(_) => {
            let rel = id_dir.strip_prefix(root).unwrap_or(id_dir);
            return Err(format!("{}: no benchmark.json", rel.display()));
        }
    };
    let text =
        std::fs::read_to_string(estimates).map_err(|e| format!("{}: {e}", estimates.display()))?;
    let est: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", estimates.display()))?;
    let Some(median_ns) = est["median"]["point_estimate"].as_f64() else {
        return Ok(None);
    };
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let bytes = bench["throughput"]["Bytes"]
        .as_u64()
        .or_else(|| bench["throughput"]["BytesDecimal"].as_u64());
    Ok(Some(Estimate {
        group: s(&bench["group_id"]),
        function: s(&bench["function_id"]),
        parameter: s(&bench["value_str"]),
        median_ns,
        bytes,
        elements: bench["throughput"]["Elements"].as_u64(),
    }))
}

fn human_time(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.3} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.3} us", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

fn human_rate(bytes: Option<u64>, ns: f64) -> String {
    match bytes {
        // Precision loss in u64 -> f64 is irrelevant at display precision.
        #[allow(clippy::cast_precision_loss)]
        Some(b) if ns > 0.0 => format!("{:.1} MB/s", b as f64 / ns * 1e3),
        _ => "-".into(),
    }
}

fn print_table(found: &[Estimate]) {
    // (group, parameter) -> baseline
    let mut baselines: BTreeMap<(&str, &str), &Estimate> = BTreeMap::new();
    for e in found {
        if e.function.starts_with("baseline") {
            baselines.insert((&e.group, &e.parameter), e);
        }
    }
    let mut rows: Vec<&Estimate> = found
        .iter()
        .filter(|e| !e.function.starts_with("baseline"))
        .collect();
    rows.sort_by(|a, b| {
        (&a.group, &a.parameter, &a.function).cmp(&(&b.group, &b.parameter, &b.function))
    });

    let w = rows
        .iter()
        .map(|e| e.group.len() + e.function.len() + 1)
        .max()
        .unwrap_or(9)
        .max(9);
    let pw = rows
        .iter()
        .map(|e| e.parameter.len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!();
    println!(
        "{:<w$} {:<pw$} {:>12} {:>12} {:<22} {:>12} {:>10} {:>10}",
        "benchmark", "param", "median", "rate", "baseline", "median", "time x", "speed x"
    );
    println!("{}", "-".repeat(w + pw + 96));
    for e in rows {
        let name = format!("{}/{}", e.group, e.function);
        let (base_name, base_median, time_ratio, speed_ratio) =
            match baselines.get(&(e.group.as_str(), e.parameter.as_str())) {
                Some(b) => (
                    b.function.clone(),
                    human_time(b.median_ns),
                    format!("{:.3}", e.median_ns / b.median_ns),
                    format!("{:.3}", b.median_ns / e.median_ns),
                ),
                None => ("(none)".into(), "-".into(), "-".into(), "-".into()),
            };
        println!(
            "{:<w$} {:<pw$} {:>12} {:>12} {:<22} {:>12} {:>10} {:>10}",
            name,
            e.parameter,
            human_time(e.median_ns),
            human_rate(e.bytes, e.median_ns),
            base_name,
            base_median,
            time_ratio,
            speed_ratio
        );
    }
    println!();
    println!("time x = our median / baseline median (lower is faster); speed x = its inverse.");
}

/// The directory under `target/criterion` where benches record the ratios
/// they measured interleaved (`benches::record_paired`).
const PAIRED_DIR: &str = "paired";

/// The paired ratios written during this run: name -> ratio.
fn read_paired(dir: &Path, since: SystemTime) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let fresh = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= since);
        let name = path
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ratio = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["ratio"].as_f64());
        if let (true, Some(r)) = (fresh, ratio) {
            out.insert(name, r);
        }
    }
    out
}

/// Which benchmark a target reads: criterion group, our function, and the
/// parameter (`None`: any).
#[derive(Debug, Clone, Copy)]
struct Bench {
    group: &'static str,
    ours: &'static str,
    param: Option<&'static str>,
}

/// How a target's figure is measured and judged.
#[derive(Debug, Clone, Copy)]
enum Measure {
    /// Throughput ratio (baseline time / our time), at least `min`.
    Speed {
        bench: Bench,
        baseline: &'static str,
        min: f64,
    },
    /// Time ratio (our time / baseline time), at most `max`.
    Time {
        bench: Bench,
        baseline: &'static str,
        max: f64,
    },
    /// Elements per second, at least `min`.
    ElementsPerSec { bench: Bench, min: f64 },
    /// Megabytes (10^6 bytes) per second, at least `min`.
    MegabytesPerSec { bench: Bench, min: f64 },
    /// Measured by another task, named here.
    Elsewhere(&'static str),
}

/// One row of DESIGN §5.
#[derive(Debug, Clone, Copy)]
struct Target {
    part: &'static str,
    figure: &'static str,
    target: &'static str,
    measure: Measure,
    /// The name under which the bench records its interleaved ratio.
    paired: Option<&'static str>,
}

const fn bench(group: &'static str, ours: &'static str, param: Option<&'static str>) -> Bench {
    Bench { group, ours, param }
}

/// DESIGN.md §5, row by row (two rows where one line of §5 has two
/// targets).
const TARGETS: &[Target] = &[
    Target {
        part: "envelope encrypt, 64 KiB",
        figure: "throughput vs raw AES-256-GCM",
        target: ">= 0.95",
        measure: Measure::Speed {
            bench: bench("keystore_encrypt_aes256gcm", "keystore", Some("65536")),
            baseline: "baseline-aes-gcm",
            min: 0.95,
        },
        paired: Some("keystore-encrypt-64k"),
    },
    Target {
        part: "envelope decrypt, 64 KiB",
        figure: "throughput vs raw AES-256-GCM",
        target: ">= 0.95",
        measure: Measure::Speed {
            bench: bench("keystore_decrypt_aes256gcm", "keystore", Some("65536")),
            baseline: "baseline-aes-gcm",
            min: 0.95,
        },
        paired: Some("keystore-decrypt-64k"),
    },
    Target {
        part: "audit log, durable appends",
        figure: "appends/s vs bare write+fdatasync",
        target: ">= 0.9",
        measure: Measure::Speed {
            bench: bench(
                "audit-log/durable-append",
                "append-per-record",
                Some("200B"),
            ),
            baseline: "baseline-write-fdatasync",
            min: 0.9,
        },
        paired: Some("audit-log-durable-append"),
    },
    Target {
        part: "audit log, group commit",
        figure: "appends/s vs bare write+fdatasync",
        target: ">= 20x",
        measure: Measure::Speed {
            bench: bench("audit-log/group-commit", "append-group-64", Some("200B")),
            baseline: "baseline-write-fdatasync",
            min: 20.0,
        },
        paired: None,
    },
    Target {
        part: "audit log verify",
        figure: "records/s (public key only)",
        target: ">= 500k/s",
        measure: Measure::ElementsPerSec {
            bench: bench("audit-log/verify", "verify-public-key", None),
            min: 500_000.0,
        },
        paired: None,
    },
    Target {
        part: "secure delete, 256 MiB, 3 passes",
        figure: "time vs shred -n 3 -u",
        target: "<= 1.0",
        measure: Measure::Time {
            bench: bench(
                "secure-fs/secure-delete",
                "secure_delete",
                Some("256MiB-3-passes"),
            ),
            baseline: "baseline-shred",
            max: 1.0,
        },
        paired: Some("secure-delete"),
    },
    Target {
        part: "model verify, multi-file model",
        figure: "throughput vs openssl dgst -sha256",
        target: ">= 2.0",
        measure: Measure::Speed {
            bench: bench("model_verify_multi_file", "model-verify", None),
            baseline: "baseline-openssl-dgst-sha256",
            min: 2.0,
        },
        paired: Some("model-verify-multi-file"),
    },
    Target {
        part: "pii-scan, text without PII",
        figure: "MB/s on one core",
        target: ">= 300 MB/s",
        measure: Measure::MegabytesPerSec {
            bench: bench("pii-scan/dense", "scan", Some("no-pii")),
            min: 300.0,
        },
        paired: None,
    },
    Target {
        part: "pii-scan, PII-dense text",
        figure: "MB/s on one core (1 finding/170 B)",
        target: ">= 100 MB/s",
        measure: Measure::MegabytesPerSec {
            bench: bench("pii-scan/dense", "scan", Some("dense-1-in-170B")),
            min: 100.0,
        },
        paired: None,
    },
    Target {
        part: "pii-scan accuracy",
        figure: "micro-F1, exact spans, held out",
        target: ">= 0.95",
        measure: Measure::Elsewhere("cargo xtask pii-eval"),
        paired: None,
    },
    Target {
        part: "pinned download over loopback",
        figure: "throughput vs curl",
        target: ">= 0.9",
        measure: Measure::Speed {
            bench: bench("pinned_download", "ours", None),
            baseline: "baseline_curl",
            min: 0.9,
        },
        paired: Some("pinned-download"),
    },
    Target {
        part: "journal with 10,000 entries",
        figure: "list / search / add, no KDF",
        target: "< 150/300/20 ms",
        measure: Measure::Elsewhere("cargo xtask journal-bench"),
        paired: None,
    },
    Target {
        part: "inference",
        figure: "tokens/s vs PyTorch eager, CPU",
        target: ">= 1.0",
        measure: Measure::Elsewhere("cargo xtask smollm2"),
        paired: None,
    },
    Target {
        part: "durability",
        figure: "acknowledged writes lost",
        target: "0, >= 200 cuts",
        measure: Measure::Elsewhere("power-loss tests in cargo xtask ci"),
        paired: None,
    },
    Target {
        part: "release-check",
        figure: "wall time, fresh 2-core machine",
        target: "< 45 min",
        measure: Measure::Elsewhere("cargo xtask release-check"),
        paired: None,
    },
    Target {
        part: "unlock (PBKDF2, 600,000 it.)",
        figure: "time vs bare pbkdf2 call",
        target: "<= 1.1",
        measure: Measure::Time {
            bench: bench("keystore_unlock", "keystore", Some("600000")),
            baseline: "baseline-pbkdf2",
            max: 1.1,
        },
        paired: Some("keystore-unlock"),
    },
];

fn find<'a>(
    found: &'a [Estimate],
    group: &str,
    function: &str,
    param: Option<&str>,
) -> Option<&'a Estimate> {
    found.iter().find(|e| {
        e.group == group && e.function == function && param.is_none_or(|p| e.parameter == p)
    })
}

/// Our estimate and the baseline's with the same parameter.
fn pair<'a>(
    found: &'a [Estimate],
    b: Bench,
    baseline: &str,
) -> Option<(&'a Estimate, &'a Estimate)> {
    let ours = find(found, b.group, b.ours, b.param)?;
    let base = find(found, b.group, baseline, Some(&ours.parameter))?;
    Some((ours, base))
}

/// What one row shows: the criterion figure, the paired one, and whether
/// the judged figure meets the target (`None`: not measured here).
#[derive(Debug, PartialEq)]
struct Judged {
    criterion: String,
    paired: String,
    meets: Option<bool>,
}

#[allow(clippy::cast_precision_loss)] // display precision only
fn judge(t: &Target, found: &[Estimate], paired: &BTreeMap<String, f64>) -> Judged {
    let paired_ratio = t.paired.and_then(|name| paired.get(name).copied());
    let not_run = || Judged {
        criterion: "not run".into(),
        paired: "-".into(),
        meets: None,
    };
    let ratio_row = |criterion: Option<f64>, ok: &dyn Fn(f64) -> bool| {
        let judged = paired_ratio.or(criterion);
        Judged {
            criterion: criterion.map_or_else(|| "not run".into(), |r| format!("{r:.3}x")),
            paired: paired_ratio.map_or_else(|| "-".into(), |r| format!("{r:.3}x")),
            meets: judged.map(ok),
        }
    };
    match t.measure {
        Measure::Speed {
            bench,
            baseline,
            min,
        } => {
            let r = pair(found, bench, baseline).map(|(o, b)| b.median_ns / o.median_ns);
            if r.is_none() && paired_ratio.is_none() {
                return not_run();
            }
            ratio_row(r, &|r| r >= min)
        }
        Measure::Time {
            bench,
            baseline,
            max,
        } => {
            let r = pair(found, bench, baseline).map(|(o, b)| o.median_ns / b.median_ns);
            if r.is_none() && paired_ratio.is_none() {
                return not_run();
            }
            ratio_row(r, &|r| r <= max)
        }
        Measure::ElementsPerSec { bench, min } => {
            match find(found, bench.group, bench.ours, bench.param) {
                Some(e) if e.elements.is_some() && e.median_ns > 0.0 => {
                    let rate = e.elements.unwrap_or_default() as f64 / e.median_ns * 1e9;
                    Judged {
                        criterion: format!("{:.0}k/s", rate / 1e3),
                        paired: "-".into(),
                        meets: Some(rate >= min),
                    }
                }
                _ => not_run(),
            }
        }
        Measure::MegabytesPerSec { bench, min } => {
            match find(found, bench.group, bench.ours, bench.param) {
                Some(e) if e.bytes.is_some() && e.median_ns > 0.0 => {
                    let rate = e.bytes.unwrap_or_default() as f64 / e.median_ns * 1e3;
                    Judged {
                        criterion: format!("{rate:.0} MB/s"),
                        paired: "-".into(),
                        meets: Some(rate >= min),
                    }
                }
                _ => not_run(),
            }
        }
        Measure::Elsewhere(task) => Judged {
            criterion: format!("see `{task}`"),
            paired: "-".into(),
            meets: None,
        },
    }
}

/// The DESIGN §5 table: figure measured in this run, target, mark.
fn targets_table(found: &[Estimate], paired: &BTreeMap<String, f64>) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nDESIGN.md §5 targets, each against its baseline measured in this run \
         (paired = ours and the baseline alternated call by call; judged when present)"
    );
    let _ = writeln!(
        s,
        "{:<33} {:<35} {:>12} {:>9} {:>16}  mark",
        "part", "figure", "criterion", "paired", "target"
    );
    let _ = writeln!(s, "{}", "-".repeat(115));
    let mut short = 0;
    for t in TARGETS {
        let j = judge(t, found, paired);
        let mark = match j.meets {
            Some(true) => "✓",
            Some(false) => {
                short += 1;
                "✗"
            }
            None => "",
        };
        if let Measure::Elsewhere(_) = t.measure {
            // Measured by another task: named after the target, not in the
            // figure columns.
            let _ = writeln!(
                s,
                "{:<33} {:<35} {:>12} {:>9} {:>16}  {}",
                t.part, t.figure, "-", "-", t.target, j.criterion
            );
            continue;
        }
        let _ = writeln!(
            s,
            "{:<33} {:<35} {:>12} {:>9} {:>16}  {mark}",
            t.part, t.figure, j.criterion, j.paired, t.target
        );
    }
    let _ = writeln!(
        s,
        "{short} target(s) short (✗); `not run`: left out by the filter or skipped by its bench."
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(group: &str, function: &str, parameter: &str, median_ns: f64) -> Estimate {
        Estimate {
            group: group.into(),
            function: function.into(),
            parameter: parameter.into(),
            median_ns,
            bytes: None,
            elements: None,
        }
    }

    fn row(part: &str) -> &'static Target {
        TARGETS
            .iter()
            .find(|t| t.part == part)
            .unwrap_or_else(|| unreachable!("no row {part}"))
    }

    #[test]
    fn every_design_row_is_in_the_table() {
        let table = targets_table(&[], &BTreeMap::new());
        for part in [
            "envelope encrypt, 64 KiB",
            "audit log, durable appends",
            "audit log, group commit",
            "audit log verify",
            "secure delete, 256 MiB, 3 passes",
            "model verify, multi-file model",
            "pii-scan, text without PII",
            "pii-scan, PII-dense text",
            "pii-scan accuracy",
            "pinned download over loopback",
            "journal with 10,000 entries",
            "inference",
            "durability",
            "release-check",
            "unlock (PBKDF2, 600,000 it.)",
        ] {
            assert!(table.contains(part), "{part} missing:\n{table}");
        }
        assert!(table.contains("0 target(s) short"), "{table}");
    }

    #[test]
    fn a_ratio_short_of_its_target_is_marked() {
        // Ours takes 1.25x the baseline's time: speed ratio 0.8 < 0.95.
        let found = [
            est("keystore_encrypt_aes256gcm", "keystore", "65536", 125.0),
            est(
                "keystore_encrypt_aes256gcm",
                "baseline-aes-gcm",
                "65536",
                100.0,
            ),
            // Another size does not count.
            est("keystore_encrypt_aes256gcm", "keystore", "64", 1.0),
        ];
        let j = judge(row("envelope encrypt, 64 KiB"), &found, &BTreeMap::new());
        assert_eq!(j.criterion, "0.800x");
        assert_eq!(j.meets, Some(false));
        let table = targets_table(&found, &BTreeMap::new());
        let line = table
            .lines()
            .find(|l| l.starts_with("envelope encrypt"))
            .unwrap_or_default();
        assert!(line.ends_with('✗'), "{line}");
        assert!(table.contains("1 target(s) short"), "{table}");
    }

    #[test]
    fn time_ratios_are_judged_as_at_most_and_paired_ratios_win() {
        let found = [
            est("keystore_unlock", "keystore", "600000", 105.0),
            est("keystore_unlock", "baseline-pbkdf2", "600000", 100.0),
        ];
        let t = row("unlock (PBKDF2, 600,000 it.)");
        let j = judge(t, &found, &BTreeMap::new());
        assert_eq!((j.criterion.as_str(), j.meets), ("1.050x", Some(true)));
        // The interleaved measurement says 1.2: that one is judged.
        let paired = BTreeMap::from([("keystore-unlock".to_owned(), 1.2)]);
        let j = judge(t, &found, &paired);
        assert_eq!((j.paired.as_str(), j.meets), ("1.200x", Some(false)));
    }

    #[test]
    fn rates_and_rows_measured_elsewhere() {
        let mut e = est(
            "audit-log/verify",
            "verify-public-key",
            "10010-records",
            10_010_000.0,
        );
        e.elements = Some(10_010);
        let j = judge(row("audit log verify"), &[e], &BTreeMap::new());
        // 10,010 records in 10.01 ms: 1,000k records/s.
        assert_eq!((j.criterion.as_str(), j.meets), ("1000k/s", Some(true)));
        let mut e = est("pii-scan/dense", "scan", "no-pii", 8e6);
        e.bytes = Some(2_000_000);
        let j = judge(row("pii-scan, text without PII"), &[e], &BTreeMap::new());
        assert_eq!((j.criterion.as_str(), j.meets), ("250 MB/s", Some(false)));
        let j = judge(row("pii-scan accuracy"), &[], &BTreeMap::new());
        assert_eq!(
            (j.criterion.as_str(), j.meets),
            ("see `cargo xtask pii-eval`", None)
        );
        let table = targets_table(&[], &BTreeMap::new());
        let line = table
            .lines()
            .find(|l| l.starts_with("pii-scan accuracy"))
            .unwrap_or_default();
        assert!(
            line.ends_with(">= 0.95  see `cargo xtask pii-eval`"),
            "{line}"
        );
        let j = judge(row("model verify, multi-file model"), &[], &BTreeMap::new());
        assert_eq!((j.criterion.as_str(), j.meets), ("not run", None));
    }
}
