//! `cargo xtask pii-eval [--split test|dev|legacy | --corpus FILE]
//! [--min-micro-f1 F] [--min-f1 F] [--errors N]`: runs the pii-scan scanner
//! (default settings) over a labelled corpus and prints per-entity
//! precision, recall and F1, and the micro average.
//!
//! Corpora (under `crates/pii-scan/eval/`): `independent/test.jsonl` (the
//! default: templates and values never looked at while tuning),
//! `independent/dev.jsonl` (the part tuned on), `corpus.jsonl` (the first
//! corpus, generated from the recognizers' own rules: it measures nothing
//! but regressions). `--min-micro-f1` fails the run below a floor (CI).
//!
//! A prediction counts as a true positive only when entity type, start and
//! end all equal a labelled span (UTF-8 byte offsets). Records with no spans
//! are hard negatives: anything found there is a false positive.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use pii_scan::Scanner;

#[derive(Default)]
struct Counts {
    tp: u64,
    fp: u64,
    fn_: u64,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let eval_dir = crate::util::project_root().join("crates/pii-scan/eval");
    let mut corpus: PathBuf = eval_dir.join("independent/test.jsonl");
    let mut min_f1: Option<f64> = None;
    let mut min_micro: Option<f64> = None;
    let mut show_errors = 0usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--corpus" => corpus = PathBuf::from(value("--corpus")?),
            "--split" => {
                corpus = match value("--split")?.as_str() {
                    "test" => eval_dir.join("independent/test.jsonl"),
                    "dev" => eval_dir.join("independent/dev.jsonl"),
                    "legacy" => eval_dir.join("corpus.jsonl"),
                    other => {
                        return Err(format!("--split `{other}`: use test, dev or legacy"));
                    }
                }
            }
            "--min-micro-f1" => {
                let v = value("--min-micro-f1")?;
                min_micro = Some(
                    v.parse()
                        .map_err(|_| format!("--min-micro-f1 `{v}` is not a number"))?,
                );
            }
            "--min-f1" => {
                let v = value("--min-f1")?;
                min_f1 = Some(
                    v.parse()
                        .map_err(|_| format!("--min-f1 `{v}` is not a number"))?,
                );
            }
            "--errors" => {
                let v = value("--errors")?;
                show_errors = v
                    .parse()
                    .map_err(|_| format!("--errors `{v}` is not a count"))?;
            }
            other => {
                return Err(format!(
                    "unknown argument `{other}` (use --split test|dev|legacy, --corpus FILE, --min-micro-f1 F, --min-f1 F, --errors N)"
                ));
            }
        }
    }
    let text = std::fs::read_to_string(&corpus)
        .map_err(|e| format!("cannot read {}: {e}", corpus.display()))?;
    let scanner = Scanner::new();
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    let mut errors: Vec<String> = Vec::new();
    let (mut records, mut bytes) = (0u64, 0usize);
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| format!("{} line {}: {e}", corpus.display(), n + 1))?;
        let t = v["text"]
            .as_str()
            .ok_or_else(|| format!("line {}: no `text`", n + 1))?;
        let mut gold: BTreeSet<(String, usize, usize)> = BTreeSet::new();
        for s in v["spans"].as_array().into_iter().flatten() {
            let entity = s["entity_type"]
                .as_str()
                .ok_or_else(|| format!("line {}: span without entity_type", n + 1))?;
            let start = s["start"]
                .as_u64()
                .ok_or_else(|| format!("line {}: span without start", n + 1))?;
            let end = s["end"]
                .as_u64()
                .ok_or_else(|| format!("line {}: span without end", n + 1))?;
            let (start, end) = (
                usize::try_from(start).unwrap_or(usize::MAX),
                usize::try_from(end).unwrap_or(usize::MAX),
            );
            gold.insert((entity.to_owned(), start, end));
            counts.entry(entity.to_owned()).or_default();
        }
        let found = scanner.scan(t);
        records += 1;
        bytes += t.len();
        let predicted: BTreeSet<(String, usize, usize)> = found
            .iter()
            .map(|f| (f.entity_type.as_str().to_owned(), f.start, f.end))
            .collect();
        for p in &predicted {
            let c = counts.entry(p.0.clone()).or_default();
            if gold.contains(p) {
                c.tp += 1;
            } else {
                c.fp += 1;
                if errors.len() < show_errors {
                    errors.push(format!(
                        "FP {} {:?} in: {t}",
                        p.0,
                        t.get(p.1..p.2).unwrap_or("")
                    ));
                }
            }
        }
        for g in gold.difference(&predicted) {
            counts.entry(g.0.clone()).or_default().fn_ += 1;
            if errors.len() < show_errors {
                errors.push(format!(
                    "FN {} {:?} in: {t}",
                    g.0,
                    t.get(g.1..g.2).unwrap_or("")
                ));
            }
        }
    }
    println!(
        "pii-eval: {} records, {} bytes, {}",
        records,
        bytes,
        corpus.display()
    );
    println!(
        "{:<27} {:>6} {:>5} {:>5} {:>9} {:>7} {:>7}",
        "entity", "TP", "FP", "FN", "precision", "recall", "F1"
    );
    let mut worst: Option<(String, f64)> = None;
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for (entity, c) in &counts {
        let p = ratio(c.tp, c.tp + c.fp);
        let r = ratio(c.tp, c.tp + c.fn_);
        let f1 = if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        };
        println!(
            "{entity:<27} {:>6} {:>5} {:>5} {p:>9.3} {r:>7.3} {f1:>7.3}",
            c.tp, c.fp, c.fn_
        );
        if worst.as_ref().is_none_or(|(_, w)| f1 < *w) {
            worst = Some((entity.clone(), f1));
        }
        (tp, fp, fn_) = (tp + c.tp, fp + c.fp, fn_ + c.fn_);
    }
    let (p, r) = (ratio(tp, tp + fp), ratio(tp, tp + fn_));
    let micro = if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    };
    println!(
        "{:<27} {tp:>6} {fp:>5} {fn_:>5} {p:>9.3} {r:>7.3} {micro:>7.3}",
        "(all, micro)"
    );
    for e in &errors {
        println!("{e}");
    }
    if let Some(min) = min_micro
        && micro < min
    {
        return Err(format!("micro-F1 {micro:.3} < {min}"));
    }
    if let (Some(min), Some((entity, f1))) = (min_f1, worst)
        && f1 < min
    {
        return Err(format!("{entity} has F1 {f1:.3} < {min}"));
    }
    Ok(())
}
