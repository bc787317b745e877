//! Reversible anonymization: every finding becomes an `<ENTITY_TYPE:enc1:...>`
//! token sealed under a key, and whoever holds the key restores the text.
//!
//! `cargo run -p pii-scan --example encrypt`
#![allow(clippy::print_stdout, reason = "an example prints its results")]

use pii_scan::{Anonymizer, EncryptKey, EntityType, Operator, Scanner};

fn main() -> Result<(), pii_scan::Error> {
    let entry = "Call Ana on +351 912 345 678 or mail ana.silva@example.pt; \
                 card 4111 1111 1111 1111.";
    // In an application the key comes from its key store.
    let key = EncryptKey::generate()?;
    let findings = Scanner::new().scan(entry);
    let sealed = Anonymizer::new(Operator::Encrypt(key.clone()))
        // Dates are reported but left as they are.
        .with(EntityType::DateTime, Operator::Keep)
        .anonymize(entry, &findings)?;
    println!("{sealed}");
    let restored = key.decrypt_text(&sealed)?;
    assert_eq!(restored.as_str(), entry);
    println!("restored: {}", restored.as_str());
    Ok(())
}
