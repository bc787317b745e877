//! Records a small workload on the power-loss file system twice, once with
//! and once without `fsync`, and shows what the crash states reveal.
//!
//! Needs `/dev/fuse` (and root, or `fusermount3` from Debian's `fuse3`):
//! `cargo run -p powerloss --example catch_missing_fsync`.

// An example: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::process::ExitCode;

use powerloss::{Explore, Recorder, explore};

fn run(sync: bool) -> Result<String, Box<dyn std::error::Error>> {
    let rec = Recorder::start()?;
    for i in 0..60u32 {
        let tmp = rec.path().join("counter.tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(format!("{i}\n").repeat(100).as_bytes())?;
        if sync {
            f.sync_all()?;
        }
        drop(f);
        std::fs::rename(&tmp, rec.path().join("counter"))?;
        std::fs::File::open(rec.path())?.sync_all()?;
        rec.mark(i.to_string());
    }
    let trace = rec.finish()?;
    let report = explore(&trace, &Explore::new(), |case| {
        let acked = case.marks.len();
        let expect = |i: usize| format!("{i}\n").repeat(100).into_bytes();
        match std::fs::read(case.root.join("counter")) {
            Err(_) if acked == 0 => Ok(()),
            Ok(v) if acked > 0 && v == expect(acked - 1) => Ok(()),
            Ok(v) if v == expect(acked) => Ok(()),
            Ok(v) => Err(format!("{acked} acknowledged, file has {} bytes", v.len())),
            Err(e) => Err(format!("{acked} acknowledged, file unreadable: {e}")),
        }
    })?;
    Ok(format!("{report}"))
}

fn main() -> ExitCode {
    for sync in [true, false] {
        match run(sync) {
            Ok(report) => println!("with fsync: {sync}\n  {report}\n"),
            Err(e) => {
                eprintln!("catch_missing_fsync: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
