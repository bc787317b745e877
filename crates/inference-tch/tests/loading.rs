//! Loading goes through model-verify only, and every defect of the files
//! is a typed error naming the tensor or file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};

use inference_tch::{Error, LanguageModel, LoadOptions};
use model_verify::{Manifest, ManifestBuilder, Verifier};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-qwen2")
}

/// (name, dtype, shape, bytes) of every tensor of the fixture.
type Tensors = Vec<(String, String, Vec<u64>, Vec<u8>)>;

fn fixture_tensors() -> Tensors {
    let dir = fixture();
    let manifest =
        Manifest::parse(&std::fs::read(dir.join(model_verify::MANIFEST_FILE_NAME)).unwrap())
            .unwrap();
    let model = Verifier::new(&manifest).load(&dir).unwrap();
    let st = model
        .file("model.safetensors")
        .unwrap()
        .safetensors()
        .unwrap();
    st.tensors()
        .map(|v| {
            (
                v.name().to_owned(),
                format!("{:?}", v.dtype()).to_uppercase(),
                v.shape().to_vec(),
                v.data().to_vec(),
            )
        })
        .collect()
}

fn write_safetensors(path: &Path, tensors: &Tensors) {
    let mut header = serde_json::Map::new();
    let mut offset = 0usize;
    for (name, dtype, shape, data) in tensors {
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + data.len()]}),
        );
        offset += data.len();
    }
    let mut h = serde_json::to_vec(&header).unwrap();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend(h);
    for t in tensors {
        out.extend(&t.3);
    }
    std::fs::write(path, out).unwrap();
}

/// A copy of the fixture with `tensors` as its weights, manifest rebuilt.
fn variant(tensors: &Tensors, edit: impl FnOnce(&Path)) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for f in [
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ] {
        std::fs::copy(fixture().join(f), tmp.path().join(f)).unwrap();
    }
    write_safetensors(&tmp.path().join("model.safetensors"), tensors);
    edit(tmp.path());
    let manifest = ManifestBuilder::new("variant").build(tmp.path()).unwrap();
    std::fs::write(
        tmp.path().join(model_verify::MANIFEST_FILE_NAME),
        manifest.to_json(),
    )
    .unwrap();
    tmp
}

fn load(dir: &Path) -> Result<LanguageModel, Error> {
    let manifest =
        Manifest::parse(&std::fs::read(dir.join(model_verify::MANIFEST_FILE_NAME)).unwrap())
            .unwrap();
    let files = Verifier::new(&manifest).load_each(dir)?;
    LanguageModel::load(files, &LoadOptions::new())
}

#[test]
fn the_unchanged_copy_loads() {
    let dir = variant(&fixture_tensors(), |_| {});
    let m = load(dir.path()).unwrap();
    assert_eq!(m.config().num_hidden_layers, 3);
}

#[test]
fn a_missing_tensor_is_named() {
    let mut t = fixture_tensors();
    t.retain(|x| x.0 != "model.layers.1.mlp.up_proj.weight");
    let dir = variant(&t, |_| {});
    match load(dir.path()) {
        Err(Error::MissingTensor(n)) => assert_eq!(n, "model.layers.1.mlp.up_proj.weight"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_misshaped_tensor_is_named_with_both_shapes() {
    let mut t = fixture_tensors();
    let k = t
        .iter_mut()
        .find(|x| x.0 == "model.layers.0.self_attn.k_proj.bias")
        .unwrap();
    let n = k.2[0];
    k.2 = vec![n - 1];
    k.3.truncate(k.3.len() - 4);
    let dir = variant(&t, |_| {});
    match load(dir.path()) {
        Err(Error::TensorShape {
            name,
            expected,
            found,
        }) => {
            assert_eq!(name, "model.layers.0.self_attn.k_proj.bias");
            assert_eq!(expected, vec![i64::try_from(n).unwrap()]);
            assert_eq!(found, vec![i64::try_from(n).unwrap() - 1]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unexpected_or_integer_tensor_is_refused_by_name() {
    let mut t = fixture_tensors();
    t.push((
        "model.layers.0.self_attn.extra.weight".into(),
        "F32".into(),
        vec![2],
        vec![0; 8],
    ));
    let dir = variant(&t, |_| {});
    assert!(matches!(load(dir.path()),
        Err(Error::UnexpectedTensor(n)) if n == "model.layers.0.self_attn.extra.weight"));

    // A hostile name is shown escaped.
    let mut t = fixture_tensors();
    t.push((
        "evil\u{1b}[2Jname".into(),
        "F32".into(),
        vec![1],
        vec![0; 4],
    ));
    let dir = variant(&t, |_| {});
    assert!(matches!(load(dir.path()),
        Err(Error::UnexpectedTensor(n)) if n == "evil\\u{1b}[2Jname"));

    let mut t = fixture_tensors();
    let norm = t.iter_mut().find(|x| x.0 == "model.norm.weight").unwrap();
    norm.1 = "I32".into();
    let dir = variant(&t, |_| {});
    assert!(matches!(load(dir.path()),
        Err(Error::TensorDtype { name, .. }) if name == "model.norm.weight"));
}

#[test]
fn missing_files_and_bad_configs_are_named() {
    let dir = variant(&fixture_tensors(), |d| {
        std::fs::remove_file(d.join("tokenizer.json")).unwrap();
    });
    assert!(matches!(load(dir.path()), Err(Error::MissingFile(f)) if f == "tokenizer.json"));

    let dir = variant(&fixture_tensors(), |d| {
        let c = std::fs::read_to_string(d.join("config.json")).unwrap();
        std::fs::write(d.join("config.json"), c.replace("\"qwen2\"", "\"mixtral\"")).unwrap();
    });
    assert!(matches!(load(dir.path()), Err(Error::UnsupportedArchitecture(a)) if a == "mixtral"));
}

#[test]
fn a_model_changed_after_its_manifest_cannot_be_constructed() {
    let dir = variant(&fixture_tensors(), |_| {});
    let p = dir.path().join("model.safetensors");
    let mut bytes = std::fs::read(&p).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&p, bytes).unwrap();
    // Verification refuses: no VerifiedFiles, hence no LanguageModel.
    let manifest =
        Manifest::parse(&std::fs::read(dir.path().join(model_verify::MANIFEST_FILE_NAME)).unwrap())
            .unwrap();
    let r = Verifier::new(&manifest).load_each(dir.path());
    assert!(r.is_err(), "tampered weights verified");
    assert!(matches!(load(dir.path()), Err(Error::Verify(_))));
}
