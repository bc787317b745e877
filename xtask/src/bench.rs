//! `cargo xtask bench [FILTER]`: runs the criterion benches in `benches/`,
//! then prints, for every benchmark, its median next to the median of the
//! baseline measured in the same run.
//!
//! Convention: inside a criterion group, a function whose name starts with
//! `baseline` is the baseline; every other function with the same parameter
//! (or none) is compared with it. Ratios, not absolute figures, are what we
//! compare across runs: these machines are noisy.

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
        if path.is_dir() && path.file_name().is_some_and(|n| n != "report") {
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
