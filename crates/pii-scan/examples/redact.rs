//! Redacts a journal entry before it is stored: emails and phones become
//! `<ENTITY_TYPE>`, cards keep their last four digits, everything else is
//! replaced by a keyed hash so equal values stay linkable.
//!
//! `cargo run -p pii-scan --example redact`
#![allow(clippy::print_stdout, reason = "an example prints its results")]

use pii_scan::{Anonymizer, EntityType, HashKey, Operator, Scanner};

fn main() -> Result<(), pii_scan::Error> {
    let entry = "Lunch with Ana (ana.silva@example.pt, +351 912 345 678) — she paid with \
                 4111 1111 1111 1111. Her IBAN is PT50 0002 0123 1234 5678 9015 4; \
                 met again on 12/03/2024 at the café.";
    let scanner = Scanner::builder().min_score(0.5).build()?;
    let findings = scanner.scan(entry);
    for f in &findings {
        println!(
            "found {:<16} {:>4}..{:<4} score {:.2}",
            f.entity_type, f.start, f.end, f.score
        );
    }
    // In an application the key comes from its key store.
    let key = HashKey::new(b"example key: never hard-code a real one")?;
    let redacted = Anonymizer::new(Operator::Hash(key))
        .with(EntityType::EmailAddress, Operator::Replace)
        .with(EntityType::PhoneNumber, Operator::Replace)
        .with(
            EntityType::CreditCard,
            Operator::Mask {
                keep_last: 4,
                mask_char: '*',
            },
        )
        .anonymize(entry, &findings)?;
    println!("\n{redacted}");
    Ok(())
}
