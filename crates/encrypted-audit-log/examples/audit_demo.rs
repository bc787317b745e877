//! A tour: create a log, write a few events, anchor it, verify with the
//! public key alone, read back with the read key, then show how a flipped
//! byte is reported.
//!
//! `cargo run -p encrypted-audit-log --example audit_demo -- /tmp/audit-demo`
#![allow(clippy::print_stdout, clippy::print_stderr)] // reason: an example prints

use std::process::ExitCode;

use encrypted_audit_log::{
    AuditLog, Event, Filter, Fingerprinter, LogReader, Options, Sanitizer, SigningKey, StateKey,
};

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: audit_demo DIR   (DIR is created; use an empty or new one)");
        return ExitCode::from(2);
    };
    match run(std::path::Path::new(&dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("audit_demo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn random32() -> Result<[u8; 32], encrypted_audit_log::Error> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| encrypted_audit_log::Error::Random(e.to_string()))?;
    Ok(b)
}

fn run(dir: &std::path::Path) -> Result<(), encrypted_audit_log::Error> {
    // In a real program the state key comes from a keystore; never
    // hard-code keys.
    let state_key = StateKey::generate()?;
    let fingerprints = Fingerprinter::new(&random32()?);
    let options = Options::default().sanitizer(Sanitizer::new().max_len(200));

    let (log, created) = AuditLog::create(dir, &state_key, options)?;
    println!(
        "verification key (public): {}",
        data_encoding::HEXLOWER.encode(created.verifying_key.as_bytes())
    );
    let _ = log.append(&Event::new("journal.unlock").with("method", "passphrase"))?;
    let _ = log.append(
        &Event::new("entry.add")
            .with("entry", "5d0c9e1a")
            .with("file", "/home/alice/notes.md"),
    )?;
    let _ = log.append(&Event::new("model.prompt").with_fingerprint(
        "prompt",
        &fingerprints,
        "summarise my week",
    ))?;
    let signer = SigningKey::from_bytes(&random32()?);
    let checkpoint = log.anchor(&signer, "demo")?;
    log.close()?;
    println!("checkpoint to keep elsewhere:\n{checkpoint}");

    let reader = LogReader::open(dir, &created.verifying_key)?;
    let report = reader.verify_with_anchor(checkpoint.text(), &signer.verifying_key())?;
    let sealed = report.sealed.map_or(0, |s| s.seq + 1);
    println!(
        "verified with the public key alone: {} records, sealed through record {}",
        report.next_seq,
        sealed.saturating_sub(1)
    );

    for record in reader.records(&created.read_key, Filter::all().event_type("entry.add"))? {
        println!("{}", record?.to_json());
    }
    println!(
        "prompt logged at {:?}",
        reader.find_fingerprint(&created.read_key, &fingerprints, "summarise my week")?
    );

    // Flip one byte of the first record and verify again.
    let seg = dir.join("segment-00000001.eal");
    let io = |e| encrypted_audit_log::Error::Io {
        path: seg.clone(),
        source: e,
    };
    let mut bytes = std::fs::read(&seg).map_err(io)?;
    bytes[150] ^= 1;
    std::fs::write(&seg, &bytes).map_err(io)?;
    match LogReader::open(dir, &created.verifying_key)?.verify() {
        Err(e) => println!("after flipping byte 150: {e}"),
        Ok(_) => println!("after flipping byte 150: not detected (this must not happen)"),
    }
    Ok(())
}
