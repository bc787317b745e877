//! How long building the PII scanners takes (the journal builds one per
//! command that scans): `cargo run --release -p journal --example scanner_cost`.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::Instant;

fn main() {
    let mut s = journal::settings::Settings::default();
    if std::env::args().any(|a| a == "--no-phone") {
        s.pii_warn.retain(|e| e != "PHONE_NUMBER");
    }
    if std::env::args().any(|a| a == "--full-first") {
        let t = Instant::now();
        let full = pii_scan::Scanner::new();
        println!("full scanner first: build {:?}", t.elapsed());
        drop(full);
        let t = Instant::now();
        let b = pii_scan::Scanner::builder()
            .entities([pii_scan::EntityType::EmailAddress])
            .build()
            .unwrap();
        println!("email-only scanner: build {:?}", t.elapsed());
        drop(b);
    }
    for _ in 0..3 {
        let t = Instant::now();
        let sc = journal::pii::warning_scanner(&s).unwrap();
        let build = t.elapsed();
        let t = Instant::now();
        let f = sc.scan("Lunch at 12:30 with bob@example.org, card 4111 1111 1111 1111");
        println!(
            "warning scanner: build {:?}, first scan {:?} ({} findings)",
            build,
            t.elapsed(),
            f.len()
        );
    }
    let t = Instant::now();
    let full = pii_scan::Scanner::new();
    println!("full scanner: build {:?}", t.elapsed());
    drop(full);
}
