//! `genosift.json`: our settings beside a Hugging Face model directory — chunks per group N, chunk
//! length L, and per-species calibration thresholds. Absent file: N and L from `config.json` if its
//! trainer recorded them (`n_chunks`, `chunk_len`), else the paper's N = 16, L = 3072.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::call::calibration::Calibration;
use crate::error::ModelError;
use crate::model::Precision;

pub const FILE_NAME: &str = "genosift.json";
pub const DEFAULT_CHUNKS: usize = 16;
pub const DEFAULT_CHUNK_LEN: usize = 3072;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Chunks per group (N).
    pub chunks: usize,
    /// Chunk length in bp (L).
    pub chunk_len: usize,
    /// Read length of the read-like training mode, when the model was trained so (informative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_len: Option<usize>,
    /// Score every chunk on both strands (the chunk and its reverse complement) and average the
    /// two; set by `calibrate --both-strands`, since the calibration rests on that scoring.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub both_strands: bool,
    /// The arithmetic of the encoder's products the calibration was made with (absent: f32);
    /// set by `calibrate`, checked by `predict` and `evaluate`.
    #[serde(default, skip_serializing_if = "is_f32")]
    pub precision: Precision,
    /// Per-species calibration, by species name.
    #[serde(default)]
    pub calibration: BTreeMap<String, Calibration>,
}

fn is_f32(p: &Precision) -> bool {
    *p == Precision::F32
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            chunks: DEFAULT_CHUNKS,
            chunk_len: DEFAULT_CHUNK_LEN,
            read_len: None,
            both_strands: false,
            precision: Precision::F32,
            calibration: BTreeMap::new(),
        }
    }
}

impl Settings {
    /// Forgets every species' calibration, saying why (`change`) and whose, when there is one.
    pub fn drop_calibration(&mut self, change: &str) {
        if !self.calibration.is_empty() {
            let species: Vec<&str> = self.calibration.keys().map(String::as_str).collect();
            tracing::warn!(
                "{change}: the earlier calibration ({}) is dropped",
                species.join(", ")
            );
        }
        self.calibration.clear();
    }

    /// Reads `genosift.json` from `dir`, or builds defaults from the config's trainer fields.
    pub fn load(
        dir: &Path,
        n_chunks: Option<usize>,
        chunk_len: Option<usize>,
    ) -> Result<Self, ModelError> {
        let path = dir.join(FILE_NAME);
        let settings = if path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|e| ModelError::Config {
                path: path.clone(),
                msg: e.to_string(),
            })?;
            serde_json::from_str::<Settings>(&text).map_err(|e| ModelError::Config {
                path: path.clone(),
                msg: format!("invalid JSON: {e}"),
            })?
        } else {
            Settings {
                chunks: n_chunks.unwrap_or(DEFAULT_CHUNKS),
                chunk_len: chunk_len.unwrap_or(DEFAULT_CHUNK_LEN),
                read_len: None,
                ..Settings::default()
            }
        };
        let bad_spread = settings.calibration.iter().find(|(_, c)| {
            c.evidence
                .as_ref()
                .and_then(|e| e.overdispersion.as_ref())
                .is_some_and(|o| !o.is_valid())
        });
        if let Some((species, _)) = bad_spread {
            return Err(ModelError::Config {
                path,
                msg: format!(
                    "calibration of {species}: overdispersion rho_male and rho_female must be in (0, 1)"
                ),
            });
        }
        if settings.chunks == 0 || settings.chunk_len <= crate::chunk::SEPARATOR_LEN {
            return Err(ModelError::Config {
                path,
                msg: format!(
                    "chunks must be > 0 and chunk_len > {} (found {} and {})",
                    crate::chunk::SEPARATOR_LEN,
                    settings.chunks,
                    settings.chunk_len
                ),
            });
        }
        Ok(settings)
    }

    pub fn save(&self, dir: &Path) -> Result<(), ModelError> {
        let path = dir.join(FILE_NAME);
        let text = serde_json::to_string_pretty(self).expect("settings serialize");
        crate::atomic::write_atomic(&path, format!("{text}\n").as_bytes()).map_err(|e| {
            ModelError::Config {
                path,
                msg: e.to_string(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_with_integer_keys() {
        let mut s = Settings::default();
        s.calibration.insert(
            "human".into(),
            Calibration {
                rule: "median".into(),
                thresholds: [(25, 0.72)].into_iter().collect(),
                validation_accuracy: [(25, 0.985)].into_iter().collect(),
                evidence: None,
                x_evidence: None,
            },
        );
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains("\"25\":0.72"), "{text}");
        assert_eq!(serde_json::from_str::<Settings>(&text).unwrap(), s);
    }
}
