//! Building a model from verified files, one file at a time: each shard's
//! tensors are copied into libtorch tensors (in the model's dtype, on its
//! device) and the shard's bytes dropped before the next is read.

use std::collections::HashMap;

use model_verify::{Dtype, VerifiedFile};
use tch::{Kind, Tensor};

use crate::config::Config;
use crate::model::{Model, expected_tensors, ignorable};
use crate::{Error, Tokenizer};

/// What the non-weight files provided.
pub(crate) struct Loaded {
    pub(crate) model: Model,
    pub(crate) tokenizer: Tokenizer,
}

/// A tensor name from a file, as shown in an error: control characters
/// escaped and at most 200 characters, so that a hostile name cannot forge
/// terminal output or flood a log.
fn shown(name: &str) -> String {
    let mut s: String = name.escape_debug().take(200).collect();
    if name.escape_debug().nth(200).is_some() {
        s.push('…');
    }
    s
}

fn source_kind(name: &str, d: Dtype) -> Result<Kind, Error> {
    match d {
        Dtype::F32 => Ok(Kind::Float),
        Dtype::BF16 => Ok(Kind::BFloat16),
        Dtype::F16 => Ok(Kind::Half),
        other => Err(Error::TensorDtype {
            name: shown(name),
            dtype: format!("{other:?}"),
        }),
    }
}

/// Reads `files` (every file of a fully verified model, in any order).
pub(crate) fn load<I>(files: I, device: tch::Device, kind: Kind) -> Result<Loaded, Error>
where
    I: IntoIterator<Item = Result<VerifiedFile, model_verify::Error>>,
{
    let mut config_json: Option<Vec<u8>> = None;
    let mut generation_json: Option<Vec<u8>> = None;
    let mut tokenizer_json: Option<Vec<u8>> = None;
    // Tensors read before config.json was seen cannot be shape-checked yet;
    // they are checked once it has been (all names and shapes, below).
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    let _guard = tch::no_grad_guard();
    for file in files {
        let file = file?;
        match file.path() {
            "config.json" => config_json = Some(file.into_bytes()),
            "generation_config.json" => generation_json = Some(file.into_bytes()),
            "tokenizer.json" => tokenizer_json = Some(file.into_bytes()),
            p if std::path::Path::new(p)
                .extension()
                .is_some_and(|e| e == "safetensors") =>
            {
                let Some(st) = file.safetensors() else {
                    continue;
                };
                for view in st.tensors() {
                    let name = view.name();
                    let src = source_kind(name, view.dtype())?;
                    let shape: Vec<i64> = view
                        .shape()
                        .iter()
                        .map(|&s| i64::try_from(s).unwrap_or(i64::MAX))
                        .collect();
                    let t = Tensor::f_from_data_size(view.data(), &shape, src)?
                        .f_to_kind(kind)?
                        .f_to_device(device)?;
                    if tensors.insert(name.to_owned(), t).is_some() {
                        return Err(Error::DuplicateTensor(shown(name)));
                    }
                }
                // `file` (the shard's bytes) is dropped here.
            }
            _ => {}
        }
    }
    let config_json = config_json.ok_or_else(|| Error::MissingFile("config.json".into()))?;
    let mut config = Config::from_json(&config_json)?;
    if let Some(g) = generation_json {
        config.merge_generation_config(&g)?;
    }
    let tokenizer_json =
        tokenizer_json.ok_or_else(|| Error::MissingFile("tokenizer.json".into()))?;
    let tokenizer = Tokenizer::from_json(&tokenizer_json)?;

    let expected = expected_tensors(&config);
    for (name, shape) in &expected {
        let t = tensors
            .get(name)
            .ok_or_else(|| Error::MissingTensor(name.clone()))?;
        if &t.size() != shape {
            return Err(Error::TensorShape {
                name: name.clone(),
                expected: shape.clone(),
                found: t.size(),
            });
        }
    }
    let wanted: std::collections::HashSet<&str> =
        expected.iter().map(|(n, _)| n.as_str()).collect();
    let mut extra: Vec<&String> = tensors
        .keys()
        .filter(|n| !wanted.contains(n.as_str()) && !ignorable(&config, n))
        .collect();
    extra.sort();
    if let Some(n) = extra.first() {
        return Err(Error::UnexpectedTensor(shown(n)));
    }
    tensors.retain(|n, _| wanted.contains(n.as_str()));
    let model = Model::assemble(config, tensors, device, kind)?;
    Ok(Loaded { model, tokenizer })
}
