//! Reading and writing weight files as plain `name → (shape, f32 values)` maps.
//!
//! `model.safetensors` is read with the `safetensors` crate, `pytorch_model.bin` (torch's zip
//! pickle) with burn-store's `PytorchReader`, which needs no Python. Half-precision tensors are
//! widened to f32. Keys are kept exactly as stored (torch `Linear.weight` is `[out, in]`); the
//! mapping onto burn modules lives in `load.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::ModelError;

/// One tensor as stored: row-major f32 values and the stored shape.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl RawTensor {
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Self { shape, data }
    }

    /// Transposes a 2-D tensor (torch `[out, in]` ↔ burn `[in, out]`).
    pub fn transposed(&self) -> Self {
        assert_eq!(self.shape.len(), 2, "transpose of a non-matrix");
        let (r, c) = (self.shape[0], self.shape[1]);
        let mut out = vec![0f32; r * c];
        // In 16 × 16 blocks (a cache line of each output row), so that the lines a block reads
        // stay in the cache while it is written: a whole column at a time, every access to the
        // strided side missed, and the base model's transposes took 40% of its load
        // (BENCHMARKS.md). Not larger: rows of 768 or 3,072 floats put a block's lines, 3 or 12
        // KB apart, in a few sets of the L1 cache, and more lines than its ways evict each other.
        const BLOCK: usize = 16;
        for j0 in (0..c).step_by(BLOCK) {
            for i0 in (0..r).step_by(BLOCK) {
                for j in j0..(j0 + BLOCK).min(c) {
                    for i in i0..(i0 + BLOCK).min(r) {
                        out[j * r + i] = self.data[i * c + j];
                    }
                }
            }
        }
        Self::new(vec![c, r], out)
    }
}

#[cfg(test)]
mod tests {
    use super::RawTensor;

    #[test]
    fn transposes_ragged_matrices() {
        for (r, c) in [(1, 1), (1, 70), (33, 1), (31, 33), (64, 96), (100, 65)] {
            let t = RawTensor::new(vec![r, c], (0..r * c).map(|v| v as f32).collect());
            let tt = t.transposed();
            assert_eq!(tt.shape, [c, r]);
            for i in 0..r {
                for j in 0..c {
                    assert_eq!(
                        tt.data[j * r + i],
                        t.data[i * c + j],
                        "{r} × {c}: ({i}, {j})"
                    );
                }
            }
            assert_eq!(tt.transposed().data, t.data, "{r} × {c}: twice");
        }
    }
}

/// All tensors of one weight file, with the file's path for error messages.
#[derive(Debug)]
pub struct WeightFile {
    pub path: PathBuf,
    pub tensors: BTreeMap<String, RawTensor>,
}

/// The weight file names a model directory may hold, in order of preference.
pub const WEIGHT_FILES: [&str; 2] = ["model.safetensors", "pytorch_model.bin"];

impl WeightFile {
    /// Opens the preferred weight file of a model directory.
    pub fn open_dir(dir: &Path) -> Result<Self, ModelError> {
        for name in WEIGHT_FILES {
            let path = dir.join(name);
            if path.is_file() {
                return Self::open(&path);
            }
        }
        Err(ModelError::Missing {
            dir: dir.to_path_buf(),
            what: format!("weights ({} or {})", WEIGHT_FILES[0], WEIGHT_FILES[1]),
        })
    }

    /// Opens one weight file, choosing the reader by extension.
    pub fn open(path: &Path) -> Result<Self, ModelError> {
        let is_safetensors = path.extension().is_some_and(|e| e == "safetensors");
        let tensors = if is_safetensors {
            read_safetensors(path)?
        } else {
            read_pytorch(path)?
        };
        Ok(Self {
            path: path.to_path_buf(),
            tensors,
        })
    }
}

fn weights_err(path: &Path, msg: impl Into<String>) -> ModelError {
    ModelError::Weights {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

fn read_safetensors(path: &Path) -> Result<BTreeMap<String, RawTensor>, ModelError> {
    use safetensors::{Dtype, SafeTensors};
    let bytes = std::fs::read(path).map_err(|e| weights_err(path, e.to_string()))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| weights_err(path, format!("not a valid safetensors file: {e}")))?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        let raw = view.data();
        let data: Vec<f32> = match view.dtype() {
            Dtype::F32 => raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => raw
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => raw
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::F64 => raw
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
                .collect(),
            // Integer tensors (position_ids buffers, token ids in reference files) as f32: exact
            // below 2^24, which every id and position is.
            Dtype::I64 => raw
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
                .collect(),
            Dtype::I32 => raw
                .chunks_exact(4)
                .map(|b| i32::from_le_bytes(b.try_into().expect("4 bytes")) as f32)
                .collect(),
            Dtype::U8 | Dtype::BOOL => raw.iter().map(|&b| b as f32).collect(),
            other => {
                return Err(weights_err(
                    path,
                    format!("tensor '{name}' has unsupported dtype {other:?}"),
                ))
            }
        };
        out.insert(name, RawTensor::new(view.shape().to_vec(), data));
    }
    Ok(out)
}

fn read_pytorch(path: &Path) -> Result<BTreeMap<String, RawTensor>, ModelError> {
    use burn::tensor::DType;
    use burn_store::pytorch::PytorchReader;
    let reader = PytorchReader::new(path)
        .map_err(|e| weights_err(path, format!("not a readable torch checkpoint: {e}")))?;
    let mut out = BTreeMap::new();
    for (name, snap) in reader.into_tensors() {
        if matches!(snap.dtype, DType::Bool(_)) {
            continue;
        }
        let shape = snap.shape.as_slice().to_vec();
        let data = snap
            .to_data()
            .map_err(|e| weights_err(path, format!("tensor '{name}': {e:?}")))?
            .convert::<f32>()
            .into_vec::<f32>()
            .map_err(|e| weights_err(path, format!("tensor '{name}': {e:?}")))?;
        if data.len() != shape.iter().product::<usize>() {
            return Err(weights_err(
                path,
                format!(
                    "tensor '{name}' holds {} values for shape {shape:?}",
                    data.len()
                ),
            ));
        }
        out.insert(name, RawTensor::new(shape, data));
    }
    Ok(out)
}

/// Writes tensors as a safetensors file (f32), atomically: a temporary file beside `path` is
/// renamed over it only once complete.
pub fn write_safetensors(
    path: &Path,
    tensors: &BTreeMap<String, RawTensor>,
) -> Result<(), ModelError> {
    use safetensors::tensor::{Dtype, TensorView};
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(k, t)| {
            let b: Vec<u8> = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
            (k.clone(), b, t.shape.clone())
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> = bytes
        .iter()
        .map(|(k, b, s)| {
            let v = TensorView::new(Dtype::F32, s.clone(), b).expect("consistent tensor view");
            (k.clone(), v)
        })
        .collect();
    let mut meta = std::collections::HashMap::new();
    meta.insert("format".to_string(), "pt".to_string());
    let buf =
        safetensors::serialize(views, Some(meta)).map_err(|e| weights_err(path, e.to_string()))?;
    crate::atomic::write_atomic(path, &buf).map_err(|e| weights_err(path, e.to_string()))
}
