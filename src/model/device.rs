//! Backend choice. The one file with `#[cfg(feature = "cuda")]`.
//!
//! CPU: burn's `Flex` backend (pure Rust, SIMD gemm, rayon threads; it runs on the rayon pool the
//! caller installs, so `--threads` bounds it); CPU inference runs the encoder in `native.rs` on
//! that same pool, and Flex the head. CUDA: burn-cuda (cubecl-cuda 0.10, libcuda loaded at
//! run time). burn 0.21 panics inside a device thread when libcuda is absent, so we probe for the
//! driver first and return an error instead.

use crate::error::ModelError;

/// The CPU backend type.
pub type Cpu = burn::backend::Flex;
/// The CPU backend with autodiff, for training.
pub type CpuAutodiff = burn::backend::Autodiff<Cpu>;

#[cfg(feature = "cuda")]
pub type Cuda = burn::backend::Cuda;
#[cfg(feature = "cuda")]
pub type CudaAutodiff = burn::backend::Autodiff<Cuda>;

/// Where the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceKind {
    #[default]
    Cpu,
    Cuda,
}

impl std::str::FromStr for DeviceKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda),
            _ => Err(format!("unknown device '{s}' (expected cpu or cuda)")),
        }
    }
}

/// Errors unless this build and machine can run on `kind`.
pub fn check_available(kind: DeviceKind) -> Result<(), ModelError> {
    match kind {
        DeviceKind::Cpu => Ok(()),
        DeviceKind::Cuda => cuda_available(),
    }
}

#[cfg(not(feature = "cuda"))]
fn cuda_available() -> Result<(), ModelError> {
    Err(ModelError::Device(
        "this genosift was built without CUDA; rebuild with `cargo build --release --features cuda`"
            .into(),
    ))
}

#[cfg(feature = "cuda")]
fn cuda_available() -> Result<(), ModelError> {
    // SAFETY: loading the NVIDIA driver library runs its initialisers, as cudarc would.
    match unsafe { libloading::Library::new("libcuda.so.1") } {
        Ok(_) => Ok(()),
        Err(e) => Err(ModelError::Device(format!(
            "--device cuda: the NVIDIA driver (libcuda.so.1) cannot be loaded: {e}"
        ))),
    }
}

/// Work generic over an autodiff backend, run on the backend `run_autodiff` picks at run time.
pub trait AutodiffTask {
    type Output;
    fn run<B: burn::tensor::backend::AutodiffBackend>(self, device: B::Device) -> Self::Output;
}

/// Runs `task` on the CPU or CUDA autodiff backend.
pub fn run_autodiff<T: AutodiffTask>(kind: DeviceKind, task: T) -> Result<T::Output, ModelError> {
    check_available(kind)?;
    match kind {
        DeviceKind::Cpu => Ok(task.run::<CpuAutodiff>(Default::default())),
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda => Ok(task.run::<CudaAutodiff>(Default::default())),
        #[cfg(not(feature = "cuda"))]
        DeviceKind::Cuda => unreachable!("check_available refuses CUDA without the feature"),
    }
}
