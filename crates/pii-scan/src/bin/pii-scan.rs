//! `pii-scan`: find or anonymize personal data in text.
//!
//! ```text
//! pii-scan [--json] [--entities A,B] [--min-score S] [--config FILE] [FILE | -]
//! pii-scan --jsonl FILE [--entities A,B] [--min-score S] [--config FILE]
//! pii-scan --anonymize redact|replace|mask|hash [--mask-keep N] [--hash-key-file FILE] [FILE | -]
//! ```
//! Exit codes: 0 done, 1 error (input, config), 2 usage.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool prints"
)]

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Parser, ValueEnum};
use pii_scan::{Anonymizer, EntityType, Finding, HashKey, Operator, Scanner};
use serde::Serialize;

/// The three forms of the command, shown with every usage error.
const USAGE: &str = "\
pii-scan [--json] [--entities A,B] [--min-score S] [--config FILE] [FILE | -]
       pii-scan --jsonl FILE [--entities A,B] [--min-score S] [--config FILE]
       pii-scan --anonymize redact|replace|mask|hash [--mask-keep N] [--hash-key-file FILE] [FILE | -]";

/// Finds personal data (PII) in UTF-8 text, read from FILE or standard input.
#[derive(Parser)]
#[command(
    name = "pii-scan",
    override_usage = USAGE,
    after_help = "Exit codes: 0 done, 1 error, 2 usage."
)]
struct Args {
    /// Print a JSON array of {entity_type, start, end, text, score, recognizer}
    /// (start and end are UTF-8 byte offsets)
    #[arg(long, conflicts_with_all = ["jsonl", "anonymize"])]
    json: bool,
    /// Batch mode: each input line {"id": .., "text": ..} gives an output line
    /// {"id": .., "findings": [...]}; a bad line gives {"id": <id or null>,
    /// "error": ..}, the rest go on, exit 1
    #[arg(long, value_name = "FILE", conflicts_with_all = ["anonymize", "input"])]
    jsonl: Option<String>,
    /// Print the text with each finding redacted (removed), replaced by
    /// <ENTITY_TYPE>, masked, or replaced by a keyed hash token
    #[arg(long, value_name = "OP", value_enum)]
    anonymize: Option<OpName>,
    /// Report only these entity types (comma-separated)
    #[arg(long, value_name = "A,B")]
    entities: Option<String>,
    /// Drop findings scoring below S (0.0-1.0, default 0.5)
    #[arg(long, value_name = "S", value_parser = parse_score)]
    min_score: Option<f64>,
    /// TOML configuration (allow/deny lists, custom recognizers)
    #[arg(long, value_name = "FILE")]
    config: Option<String>,
    /// Characters left visible by mask (default 4)
    #[arg(long, value_name = "N", requires = "anonymize")]
    mask_keep: Option<usize>,
    /// Key for hash (>= 16 bytes): a UTF-8 text file loses one trailing line
    /// ending, any other file is used byte for byte; without it a random key
    /// is used, so tokens are stable within one run only
    #[arg(long, value_name = "FILE", requires = "anonymize")]
    hash_key_file: Option<String>,
    /// Print the entity types and exit
    #[arg(long = "list-entities")]
    list: bool,
    /// The input text (standard input when absent or `-`)
    #[arg(value_name = "FILE | -")]
    input: Option<String>,
}

/// The operators of `--anonymize`.
#[derive(Clone, Copy, ValueEnum)]
enum OpName {
    Redact,
    Replace,
    Mask,
    Hash,
}

fn parse_score(s: &str) -> Result<f64, String> {
    s.trim()
        .parse()
        .ok()
        .filter(|v| (0.0..=1.0).contains(v))
        .ok_or_else(|| format!("`{s}` is not a number between 0.0 and 1.0"))
}

/// A usage error (exit 2) or a runtime error (exit 1).
enum Failure {
    Usage(String),
    Error(String),
}

impl From<pii_scan::Error> for Failure {
    fn from(e: pii_scan::Error) -> Self {
        Failure::Error(e.to_string())
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Error(e.to_string())
    }
}

/// The parsed arguments; `None` when help was asked for (and printed).
fn parse(argv: &[String]) -> Result<Option<Args>, Failure> {
    let argv = std::iter::once("pii-scan").chain(argv.iter().map(String::as_str));
    match Args::try_parse_from(argv) {
        Ok(a) => Ok(Some(a)),
        Err(e) if e.kind() == ErrorKind::DisplayHelp => {
            print!("{e}");
            Ok(None)
        }
        Err(e) => {
            // clap's message (up to its first blank line), without its own
            // usage block: the caller prints this tool's usage.
            let text = e.to_string();
            let message: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let message = message.join(" ");
            Err(Failure::Usage(
                message
                    .strip_prefix("error: ")
                    .unwrap_or(&message)
                    .to_owned(),
            ))
        }
    }
}

fn open(path: Option<&str>) -> Result<Box<dyn Read>, Failure> {
    match path {
        None | Some("-") => Ok(Box::new(io::stdin().lock())),
        Some(p) => File::open(p)
            .map(|f| Box::new(f) as Box<dyn Read>)
            .map_err(|e| Failure::Error(format!("cannot open {p}: {e}"))),
    }
}

fn build_scanner(a: &Args) -> Result<Scanner, Failure> {
    let mut b = Scanner::builder();
    if let Some(path) = &a.config {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::Error(format!("cannot read {path}: {e}")))?;
        b = b
            .config_toml(&text)
            .map_err(|e| Failure::Error(format!("{path}: {e}")))?;
    }
    if let Some(v) = a.min_score {
        b = b.min_score(v);
    }
    if let Some(list) = &a.entities {
        let mut set = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            set.push(
                name.parse::<EntityType>()
                    .map_err(|e| Failure::Usage(e.to_string()))?,
            );
        }
        if set.is_empty() {
            return Err(Failure::Usage("--entities needs at least one name".into()));
        }
        b = b.entities(set);
    }
    b.build().map_err(|e| match e {
        pii_scan::Error::UnknownEntity { .. } => Failure::Usage(e.to_string()),
        other => Failure::Error(other.to_string()),
    })
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    entity_type: &'a str,
    start: usize,
    end: usize,
    text: &'a str,
    score: f64,
    recognizer: &'a str,
}

fn json_finding<'a>(f: &'a Finding, text: &'a str) -> JsonFinding<'a> {
    JsonFinding {
        entity_type: f.entity_type.as_str(),
        start: f.start,
        end: f.end,
        text,
        score: f.score,
        recognizer: &f.recognizer,
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<String, Failure> {
    serde_json::to_string(v).map_err(|e| Failure::Error(format!("JSON output: {e}")))
}

fn scan_text(a: &Args, scanner: &Scanner) -> Result<(), Failure> {
    let input = open(a.input.as_deref())?;
    if a.json {
        // One JSON document, written only once the whole input has been
        // read: an error half-way leaves stdout empty, not a broken array.
        let mut items: Vec<String> = Vec::new();
        let mut ser_err: Option<serde_json::Error> = None;
        scanner.scan_reader(input, 1 << 20, |f, text| {
            match serde_json::to_string(&json_finding(&f, text)) {
                Ok(s) => items.push(s),
                Err(e) => ser_err = Some(e),
            }
        })?;
        if let Some(e) = ser_err {
            return Err(Failure::Error(format!("JSON output: {e}")));
        }
        let mut out = BufWriter::new(io::stdout().lock());
        writeln!(out, "[{}]", items.join(","))?;
        out.flush()?;
        return Ok(());
    }
    // Tab-separated lines, written as findings arrive (like grep).
    let mut out = BufWriter::new(io::stdout().lock());
    let mut write_err: Option<io::Error> = None;
    scanner.scan_reader(input, 1 << 20, |f, text| {
        if write_err.is_none() {
            let line = writeln!(
                out,
                "{}\t{}\t{}\t{:.2}\t{}",
                f.entity_type,
                f.start,
                f.end,
                f.score,
                text.escape_debug()
            );
            write_err = line.err();
        }
    })?;
    if let Some(e) = write_err {
        return Err(e.into());
    }
    out.flush()?;
    Ok(())
}

/// Scans a JSON-lines file. A line that cannot be scanned (not UTF-8, not
/// JSON, no string `text`) gets `{"id": <id or null>, "error": "..."}` in its
/// place and the batch goes on; the exit status is 1 when any line failed.
/// Only a read error stops the batch.
fn batch(path: &str, scanner: &Scanner) -> Result<(), Failure> {
    #[derive(Serialize)]
    struct Line<'a> {
        id: serde_json::Value,
        findings: Vec<JsonFinding<'a>>,
    }
    #[derive(Serialize)]
    struct Failed {
        id: serde_json::Value,
        error: String,
    }
    let input = BufReader::new(open(Some(path))?);
    let mut out = BufWriter::new(io::stdout().lock());
    let mut failed = 0usize;
    for (n, line) in input.split(b'\n').enumerate() {
        let line = line.map_err(|e| Failure::Error(format!("{path} line {}: {e}", n + 1)))?;
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        if line.trim_ascii().is_empty() {
            continue;
        }
        match batch_record(line) {
            Ok((id, text)) => {
                let findings = scanner.scan(&text);
                let list: Vec<JsonFinding<'_>> = findings
                    .iter()
                    .map(|f| json_finding(f, f.text(&text).unwrap_or_default()))
                    .collect();
                writeln!(out, "{}", to_json(&Line { id, findings: list })?)?;
            }
            Err((id, error)) => {
                failed += 1;
                let error = format!("line {}: {error}", n + 1);
                writeln!(out, "{}", to_json(&Failed { id, error })?)?;
            }
        }
    }
    out.flush()?;
    if failed > 0 {
        return Err(Failure::Error(format!(
            "{path}: {failed} line(s) could not be scanned (see their \"error\" fields)"
        )));
    }
    Ok(())
}

/// The `id` and `text` of one batch line, or its `id` (null when unknown)
/// and what is wrong with it. Messages never quote the line.
fn batch_record(line: &[u8]) -> Result<(serde_json::Value, String), (serde_json::Value, String)> {
    let null = serde_json::Value::Null;
    let line = std::str::from_utf8(line).map_err(|e| {
        (
            null.clone(),
            format!("not UTF-8 (at byte {})", e.valid_up_to()),
        )
    })?;
    // serde_json's syntax messages name a position, never the input.
    let v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| (null.clone(), format!("not JSON ({e})")))?;
    let id = v.get("id").cloned().unwrap_or(serde_json::Value::Null);
    match v.get("text").and_then(serde_json::Value::as_str) {
        Some(text) => Ok((id, text.to_owned())),
        None => Err((id, "no string field `text`".to_owned())),
    }
}

fn operator(a: &Args, name: OpName) -> Result<Operator, Failure> {
    Ok(match name {
        OpName::Redact => Operator::Redact,
        OpName::Replace => Operator::Replace,
        OpName::Mask => Operator::Mask {
            keep_last: a.mask_keep.unwrap_or(4),
            mask_char: '*',
        },
        OpName::Hash => {
            let key = match &a.hash_key_file {
                Some(p) => {
                    let mut bytes = zeroize::Zeroizing::new(
                        std::fs::read(p)
                            .map_err(|e| Failure::Error(format!("cannot read {p}: {e}")))?,
                    );
                    // A text key file (`echo key > file`) loses one line ending;
                    // a binary key (not UTF-8) is taken byte for byte.
                    if std::str::from_utf8(&bytes).is_ok() {
                        for end in [&b"\r\n"[..], b"\n"] {
                            if bytes.ends_with(end) {
                                let keep = bytes.len() - end.len();
                                bytes.truncate(keep);
                                break;
                            }
                        }
                    }
                    HashKey::new(&bytes).map_err(|e| Failure::Error(format!("{p}: {e}")))?
                }
                None => {
                    let mut k = zeroize::Zeroizing::new([0u8; 32]);
                    getrandom::fill(&mut k[..])
                        .map_err(|e| Failure::Error(format!("no randomness: {e}")))?;
                    eprintln!(
                        "pii-scan: no --hash-key-file: using a random key (tokens are stable within this run only)"
                    );
                    HashKey::new(&k[..])?
                }
            };
            Operator::Hash(key)
        }
    })
}

fn anonymize(a: &Args, op_name: OpName, scanner: &Scanner) -> Result<(), Failure> {
    let op = operator(a, op_name)?;
    let mut bytes = Vec::new();
    open(a.input.as_deref())?.read_to_end(&mut bytes)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Failure::Error(format!(
            "input is not valid UTF-8 (at byte {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let findings = scanner.scan(&text);
    let out = Anonymizer::new(op).anonymize(&text, &findings)?;
    let mut stdout = io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

fn run(argv: &[String]) -> Result<(), Failure> {
    let Some(a) = parse(argv)? else {
        return Ok(());
    };
    let scanner = build_scanner(&a)?;
    if a.list {
        for e in scanner.entities() {
            println!("{e}");
        }
        return Ok(());
    }
    match (&a.jsonl, &a.anonymize) {
        (Some(path), _) => batch(path, &scanner),
        (_, Some(op)) => anonymize(&a, *op, &scanner),
        _ => scan_text(&a, &scanner),
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match run(&argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(m)) => {
            eprintln!("pii-scan: {m}\n\nusage: {USAGE}\n\nFor the options, try `pii-scan --help`.");
            ExitCode::from(2)
        }
        Err(Failure::Error(m)) => {
            // A closed pipe (`pii-scan big.txt | head`) is not an error worth a message.
            if !m.contains("Broken pipe") {
                eprintln!("pii-scan: {m}");
            }
            ExitCode::from(1)
        }
    }
}
