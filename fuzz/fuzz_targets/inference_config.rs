//! inference-tch: `config.json`, then `generation_config.json`, through the
//! public parsers (no libtorch: tch is built with `doc-only`, and nothing
//! here calls it). Input: config bytes, optionally `0xFF` and the
//! generation config (JSON never holds a raw 0xFF byte).
//!
//! Properties: no panic; a config that parses has the invariants the model
//! code divides by (`num_key_value_heads` > 0 dividing
//! `num_attention_heads`, `head_dim` even and > 0); parsing is a function
//! of the JSON value (re-serialized JSON parses to the same config);
//! merging a generation config only adds stop tokens, without duplicates.
#![no_main]

use inference_tch::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (config, generation) = match data.iter().rposition(|&b| b == 0xFF) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let Ok(c) = Config::from_json(config) else {
        return;
    };
    assert!(c.num_key_value_heads > 0);
    assert!(c.num_attention_heads.is_multiple_of(c.num_key_value_heads));
    assert!(c.head_dim > 0 && c.head_dim.is_multiple_of(2));
    let value: serde_json::Value = serde_json::from_slice(config).expect("it parsed once");
    let again = serde_json::to_vec(&value).expect("a Value serializes");
    let mut c2 = Config::from_json(&again).expect("re-serialized config.json parses");
    // serde_json's default float parser may be one ULP off, so a float
    // printed and read back can differ in its last bit: not our finding.
    for (a, b) in [
        (c.rope_theta, &mut c2.rope_theta),
        (c.rms_norm_eps, &mut c2.rms_norm_eps),
    ] {
        assert!((a - *b).abs() <= a.abs() * 1e-15, "{a} became {b}");
        *b = a;
    }
    assert_eq!(c, c2);
    if let Some(g) = generation {
        let mut merged = c.clone();
        if merged.merge_generation_config(g).is_ok() {
            assert_eq!(
                merged.eos_token_ids[..c.eos_token_ids.len()],
                c.eos_token_ids[..]
            );
            let added = &merged.eos_token_ids[c.eos_token_ids.len()..];
            for (i, id) in added.iter().enumerate() {
                assert!(!c.eos_token_ids.contains(id) && !added[..i].contains(id));
            }
        } else {
            assert_eq!(merged, c, "a refused generation config changed the config");
        }
    }
});
