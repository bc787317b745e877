//! A tour: write a few events, anchor the head, verify with the MAC key
//! alone, read back with filters, then show how a flipped byte is reported.
//!
//! `cargo run -p encrypted-audit-log --example audit_demo -- /tmp/audit-demo`
#![allow(clippy::print_stdout, clippy::print_stderr)] // reason: an example prints

use std::process::ExitCode;

use encrypted_audit_log::{
    AuditLog, EncKey, Event, Filter, Fingerprinter, KeyRing, LogReader, MacKey, Options, Sanitizer,
    SigningKey,
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

fn run(dir: &std::path::Path) -> Result<(), encrypted_audit_log::Error> {
    // In a real program these come from a keystore, each derived with its
    // own label; never hard-code keys.
    let mac: [u8; 32] = rand::random();
    let enc: [u8; 32] = rand::random();
    let fp_key: [u8; 32] = rand::random();
    let keys = KeyRing::new().with(1, MacKey::from_bytes(mac), EncKey::from_bytes(enc));
    let fingerprints = Fingerprinter::new(&fp_key);
    let options = Options::default().sanitizer(Sanitizer::new().max_len(200));

    let log = AuditLog::open(dir, &keys, options)?;
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
    let signer = SigningKey::from_bytes(&rand::random());
    let checkpoint = log.anchor(&signer, "demo")?;
    log.close()?;
    println!("checkpoint to keep elsewhere:\n{checkpoint}");

    let verifier = KeyRing::new().with_verify_only(1, MacKey::from_bytes(mac));
    let report = LogReader::open(dir, &verifier)?
        .verify_with_anchor(checkpoint.text(), &signer.verifying_key())?;
    println!("verified {} records with the MAC key alone", report.records);

    let reader = LogReader::open(dir, &keys)?;
    for record in reader.records(Filter::all().event_type("entry.add"))? {
        println!("{}", record?.to_json());
    }
    println!(
        "prompt logged at {:?}",
        reader.find_fingerprint(&fingerprints, "summarise my week")?
    );

    // Flip one byte of the first record and verify again.
    let seg = dir.join("segment-00000001.eal");
    let mut bytes = std::fs::read(&seg).map_err(|e| encrypted_audit_log::Error::Io {
        path: seg.clone(),
        source: e,
    })?;
    bytes[150] ^= 1;
    std::fs::write(&seg, &bytes).map_err(|e| encrypted_audit_log::Error::Io {
        path: seg.clone(),
        source: e,
    })?;
    match LogReader::open(dir, &verifier)?.verify() {
        Err(e) => println!("after flipping byte 150: {e}"),
        Ok(_) => println!("after flipping byte 150: not detected (this must not happen)"),
    }
    Ok(())
}
