//! The reversible `encrypt` operator and `decrypt` (issue 12 item 8).

use pii_scan::{Anonymizer, EncryptKey, EntityType, Error, Operator};

use crate::SCANNER;

const TEXT: &str = "Card 4111 1111 1111 1111, mail jane.doe@example.com, SSN 536-90-4399.";

fn key(b: u8) -> EncryptKey {
    EncryptKey::new(&[b; 32]).unwrap()
}

fn encrypt(key: &EncryptKey, text: &str) -> String {
    Anonymizer::new(Operator::Encrypt(key.clone()))
        .anonymize(text, &SCANNER.scan(text))
        .unwrap()
}

/// The tokens `<ENTITY:enc1:...>` of an anonymized text.
fn tokens(out: &str) -> Vec<&str> {
    out.match_indices('<')
        .filter_map(|(s, _)| out[s..].find('>').map(|e| &out[s..=s + e]))
        .collect()
}

#[test]
fn round_trip_through_anonymize_and_decrypt() {
    let k = key(7);
    let out = encrypt(&k, TEXT);
    for value in ["4111", "jane.doe", "536-90"] {
        assert!(!out.contains(value), "{out}");
    }
    let toks = tokens(&out);
    assert_eq!(toks.len(), 3, "{out}");
    assert!(toks[0].starts_with("<CREDIT_CARD:enc1:"), "{out}");
    assert!(toks[1].starts_with("<EMAIL_ADDRESS:enc1:"), "{out}");
    assert!(toks[2].starts_with("<US_SSN:enc1:"), "{out}");
    let (entity, value) = k.decrypt(toks[0]).unwrap();
    assert_eq!(entity, EntityType::CreditCard);
    assert_eq!(value.as_str(), "4111 1111 1111 1111");
    assert_eq!(k.decrypt_text(&out).unwrap().as_str(), TEXT);
    // Random nonces: the same text gives other tokens each time.
    assert_ne!(encrypt(&k, TEXT), out);
    // Text without tokens, or with look-alikes, is copied as it is.
    for plain in [
        "no tokens <here>",
        "a <b:enc1: c",
        "<lower:enc1:AAAA> x",
        "",
    ] {
        assert_eq!(k.decrypt_text(plain).unwrap().as_str(), plain);
    }
}

#[test]
fn known_answer_token_decrypts() {
    // Made once with key [7; 32]: pins the token format (enc1).
    let token = KNOWN_TOKEN;
    let (entity, value) = key(7).decrypt(token).unwrap();
    assert_eq!(entity, EntityType::UsSsn);
    assert_eq!(value.as_str(), "536-90-4399");
}

const KNOWN_TOKEN: &str =
    "<US_SSN:enc1:SFybKN5pBgdkWZexgSnqNZoCc2pp0Qs0rqDrb-InMxVF0T1JIt8l4ZSvY4e-hBE3pGf3>";

#[test]
fn tampering_wrong_key_and_moved_entity_fail() {
    let k = key(7);
    let out = encrypt(&k, "SSN 536-90-4399 here");
    let tok = tokens(&out)[0].to_owned();
    let body_at = tok.find(":enc1:").unwrap() + 6;
    let mut reasons = Vec::new();
    // Every single-character change of the body is refused.
    for i in body_at..tok.len() - 1 {
        let mut b = tok.clone().into_bytes();
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        let t = String::from_utf8(b).unwrap();
        let err = k.decrypt(&t).unwrap_err();
        assert!(matches!(err, Error::Decrypt { .. }), "{err:?}");
        reasons.push(err.to_string());
    }
    // The entity type is bound: the same body under another name fails.
    let moved = tok.replacen("US_SSN", "UK_NHS", 1);
    assert!(matches!(k.decrypt(&moved), Err(Error::Decrypt { .. })));
    let moved = tok.replacen("US_SSN", "MY_ID", 1);
    assert!(matches!(k.decrypt(&moved), Err(Error::Decrypt { .. })));
    // Another key fails.
    assert!(matches!(key(8).decrypt(&tok), Err(Error::Decrypt { .. })));
    // Truncated, wrong version, not a token at all.
    for bad in [
        &tok[..tok.len() - 5],
        &tok.replacen("enc1", "enc2", 1),
        "<US_SSN:enc1:>",
        "<US_SSN:enc1:AAAA>",
        "<US_SSN:enc1:!!!!>",
        "536-90-4399",
        "",
    ] {
        let err = k.decrypt(bad).unwrap_err();
        assert!(matches!(err, Error::Decrypt { .. }), "{bad}: {err:?}");
        reasons.push(err.to_string());
    }
    // decrypt_text refuses a text holding a tampered token.
    let mut b = out.clone().into_bytes();
    let i = out.find(":enc1:").unwrap() + 10;
    b[i] = if b[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(b).unwrap();
    assert!(matches!(
        k.decrypt_text(&tampered),
        Err(Error::Decrypt { .. })
    ));
    // No message quotes the token or the value.
    for r in reasons {
        assert!(
            !r.contains("536") && !r.contains(&tok[body_at..body_at + 8]),
            "{r}"
        );
    }
}

#[test]
fn key_is_checked_and_never_shown() {
    for len in [0, 16, 31, 33, 64] {
        assert!(matches!(
            EncryptKey::new(&vec![1; len]),
            Err(Error::InvalidOption { .. })
        ));
    }
    let k = EncryptKey::new(&[0xAB; 32]).unwrap();
    for shown in [
        format!("{k:?}"),
        format!("{:?}", Operator::Encrypt(k.clone())),
        format!("{:?}", Anonymizer::new(Operator::Encrypt(k))),
    ] {
        assert!(
            !shown.contains("171") && !shown.to_lowercase().contains("ab, "),
            "{shown}"
        );
        assert!(shown.contains("EncryptKey"), "{shown}");
    }
    // Generated keys differ.
    let a = EncryptKey::generate().unwrap();
    let b = EncryptKey::generate().unwrap();
    let out = encrypt(&a, TEXT);
    assert!(b.decrypt_text(&out).is_err());
    assert_eq!(a.decrypt_text(&out).unwrap().as_str(), TEXT);
}
