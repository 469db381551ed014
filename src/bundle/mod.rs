//! A model directory in the Hugging Face layout, opened and checked as a whole:
//! `config.json`, `model.safetensors` or `pytorch_model.bin`, `tokenizer.json`, and our optional
//! `genosift.json`.

pub mod settings;

use std::path::{Path, PathBuf};

use crate::error::ModelError;
use crate::model::config::BertConfig;
use crate::model::weights::WeightFile;
use crate::model::{DeviceKind, Engine};
use crate::tokenize::GenaTokenizer;
use settings::Settings;

pub struct ModelBundle {
    pub dir: PathBuf,
    pub config: BertConfig,
    pub settings: Settings,
    pub tokenizer: GenaTokenizer,
    pub engine: Engine,
}

/// Reads and checks `config.json`.
pub fn read_config(dir: &Path) -> Result<BertConfig, ModelError> {
    let path = dir.join("config.json");
    if !path.is_file() {
        return Err(ModelError::Missing {
            dir: dir.to_path_buf(),
            what: "config.json".into(),
        });
    }
    let text = std::fs::read_to_string(&path).map_err(|e| ModelError::Config {
        path: path.clone(),
        msg: e.to_string(),
    })?;
    let config: BertConfig = serde_json::from_str(&text).map_err(|e| ModelError::Config {
        path: path.clone(),
        msg: format!("invalid model config: {e}"),
    })?;
    config
        .validate()
        .map_err(|msg| ModelError::Config { path, msg })?;
    Ok(config)
}

/// Loads `tokenizer.json` and checks it against the config.
pub fn read_tokenizer(dir: &Path, config: &BertConfig) -> Result<GenaTokenizer, ModelError> {
    let path = dir.join("tokenizer.json");
    if !path.is_file() {
        return Err(ModelError::Missing {
            dir: dir.to_path_buf(),
            what: "tokenizer.json".into(),
        });
    }
    let tok = GenaTokenizer::from_file(&path, config.max_position_embeddings, config.pad_token_id)?;
    if tok.vocab_size() > config.vocab_size {
        return Err(ModelError::Tokenizer {
            path,
            msg: format!(
                "vocabulary has {} tokens but config.json's vocab_size is {}",
                tok.vocab_size(),
                config.vocab_size
            ),
        });
    }
    Ok(tok)
}

impl ModelBundle {
    /// Opens a model directory on `device`.
    pub fn open(dir: &Path, device: DeviceKind) -> Result<Self, ModelError> {
        if !dir.is_dir() {
            return Err(ModelError::Missing {
                dir: dir.to_path_buf(),
                what: "the directory itself".into(),
            });
        }
        let config = read_config(dir)?;
        let settings = Settings::load(dir, config.n_chunks, config.chunk_len)?;
        let tokenizer = read_tokenizer(dir, &config)?;
        let weights = WeightFile::open_dir(dir)?;
        let (engine, unused) = Engine::load(&weights, &config, device)?;
        if !unused.is_empty() {
            tracing::warn!(
                "{}: {} tensor(s) not used by the model, e.g. '{}'",
                weights.path.display(),
                unused.len(),
                unused[0]
            );
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            settings,
            tokenizer,
            engine,
        })
    }

    /// Scores on one strand or both from now on; a calibration made under the other scoring no
    /// longer holds, so it is dropped (with a warning naming its species).
    pub fn set_both_strands(&mut self, both_strands: bool) {
        let settings = &mut self.settings;
        if settings.both_strands == both_strands {
            return;
        }
        let strands = if both_strands {
            "both strands"
        } else {
            "one strand"
        };
        settings.drop_calibration(&format!("scoring changes to {strands}"));
        settings.both_strands = both_strands;
    }

    /// Calibrates at this run's precision ([`crate::model::Precision`]): a calibration made at
    /// another no longer holds, so it is dropped (with a warning naming its species).
    pub fn calibrate_at_run_precision(&mut self) {
        let run = self.engine.precision();
        let settings = &mut self.settings;
        if settings.precision == run {
            return;
        }
        let change = format!(
            "precision changes from {} to {}",
            settings.precision.as_str(),
            run.as_str()
        );
        settings.drop_calibration(&change);
        settings.precision = run;
    }

    /// Warns when this run's precision is not the one the model was calibrated at.
    pub fn warn_precision_mismatch(&self) {
        let (run, calibrated) = (self.engine.precision(), self.settings.precision);
        if run != calibrated && !self.settings.calibration.is_empty() {
            tracing::warn!(
                "{}: calibrated with {} weight products, this run uses {} ({}): the \
                 calibration may not hold; recalibrate at {} or unset {}",
                self.dir.display(),
                calibrated.as_str(),
                run.as_str(),
                crate::model::PRECISION_ENV,
                run.as_str(),
                crate::model::PRECISION_ENV
            );
        }
    }
}
