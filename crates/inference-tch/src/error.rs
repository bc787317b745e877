//! Errors: every refusal names what was wrong (the file, the tensor, the
//! config key), never a weight value or prompt text.

/// Everything that can go wrong loading or running a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Verification (or re-reading a verified file) failed in model-verify;
    /// nothing loaded so far is kept.
    #[error("model verification: {0}")]
    Verify(#[from] model_verify::Error),
    /// A file the model needs is not among the verified files.
    #[error("`{0}` is not among the verified files (is it listed in the manifest?)")]
    MissingFile(String),
    /// `config.json` (or `generation_config.json`) is not valid for this crate.
    #[error("{file}: {message}")]
    Config {
        /// The file.
        file: String,
        /// What is wrong, naming the key.
        message: String,
    },
    /// `model_type` is not one this crate implements.
    #[error("config.json: model_type `{0}` is not supported (qwen2 and llama are)")]
    UnsupportedArchitecture(String),
    /// A tensor the architecture needs is in no shard.
    #[error("tensor `{0}` is missing from the safetensors files")]
    MissingTensor(String),
    /// A tensor has the wrong shape for the configuration.
    #[error("tensor `{name}` has shape {found:?}, the config needs {expected:?}")]
    TensorShape {
        /// The tensor.
        name: String,
        /// Shape implied by config.json.
        expected: Vec<i64>,
        /// Shape in the file.
        found: Vec<i64>,
    },
    /// A tensor's element type is not a float type this crate loads.
    #[error("tensor `{name}` has element type {dtype}; F32, BF16 and F16 are loaded")]
    TensorDtype {
        /// The tensor.
        name: String,
        /// Its safetensors dtype.
        dtype: String,
    },
    /// A tensor the architecture does not use (strict loading: nothing in
    /// the files goes unexplained).
    #[error("tensor `{0}` is not part of the configured architecture")]
    UnexpectedTensor(String),
    /// The same tensor name appears in two shards.
    #[error("tensor `{0}` appears in more than one safetensors file")]
    DuplicateTensor(String),
    /// `tokenizer.json` could not be read.
    #[error("tokenizer.json: {0}")]
    Tokenizer(String),
    /// A token id is outside the model's vocabulary.
    #[error("token id {id} is outside the vocabulary (size {vocab})")]
    TokenOutOfRange {
        /// The id.
        id: u32,
        /// `vocab_size` from config.json.
        vocab: usize,
    },
    /// The sequence would exceed `max_position_embeddings`.
    #[error("sequence of {len} tokens exceeds the model's context of {max}")]
    ContextFull {
        /// Tokens the cache would hold.
        len: usize,
        /// `max_position_embeddings`.
        max: usize,
    },
    /// An empty prompt (generation needs at least one token).
    #[error("the prompt has no tokens")]
    EmptyPrompt,
    /// A generation option is out of range.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// A KV cache from a different model (layer count) was passed.
    #[error("the KV cache was made for a model with {cache} layers, this one has {model}")]
    CacheMismatch {
        /// Layers in the cache.
        cache: usize,
        /// Layers in the model.
        model: usize,
    },
    /// `--device cuda` (or [`crate::Device::Cuda`]) but libtorch sees no GPU.
    #[error(
        "CUDA was requested but libtorch sees no CUDA device (CPU-only libtorch, no GPU, or no driver)"
    )]
    CudaUnavailable,
    /// libtorch reported an error.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}
