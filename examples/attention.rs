//! Times attention on the CPU backend two ways — matmul + additive mask + softmax + matmul, and
//! burn's fused `attention` with a bool padding mask — at gena-tiny and GENA-LM-base head shapes,
//! batch 16 × 512 tokens, and prints the largest difference between them (BENCHMARKS.md).
//!
//! `cargo run --release --example attention`

use std::time::Instant;

use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Distribution, Tensor, TensorData};
use genosift::model::device::Cpu;

fn main() {
    let dev = Default::default();
    for (heads, dim) in [(4usize, 8usize), (12, 64)] {
        let q = Tensor::<Cpu, 4>::random([16, heads, 512, dim], Distribution::Default, &dev);
        // Row i pads its last 112 − i keys, as sequences of 400–415 tokens would.
        let pad: Vec<bool> = (0..16 * 512).map(|x| x % 512 >= 400 + x / 512).collect();
        let bias: Vec<f32> = pad
            .iter()
            .map(|&p| if p { f32::MIN } else { 0.0 })
            .collect();
        let mask = Tensor::<Cpu, 4, Bool>::from_data(TensorData::new(pad, [16, 1, 1, 512]), &dev);
        let bias = Tensor::<Cpu, 4>::from_data(TensorData::new(bias, [16, 1, 1, 512]), &dev);
        let scale = 1.0 / (dim as f64).sqrt();
        for _ in 0..2 {
            let t = Instant::now();
            let s = q.clone().matmul(q.clone().transpose()) * scale + bias.clone();
            let manual = burn::tensor::activation::softmax(s, 3).matmul(q.clone());
            let manual = manual.into_data().to_vec::<f32>().unwrap();
            let t_manual = t.elapsed();
            let t = Instant::now();
            let options = AttentionModuleOptions {
                scale: Some(scale),
                softcap: None,
                is_causal: false,
            };
            let fused = attention(
                q.clone(),
                q.clone(),
                q.clone(),
                Some(mask.clone()),
                None,
                options,
            );
            let fused = fused.into_data().to_vec::<f32>().unwrap();
            let t_fused = t.elapsed();
            let diff = manual
                .iter()
                .zip(&fused)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            println!(
                "{heads} heads x {dim}: manual {t_manual:.1?}, fused {t_fused:.1?}, max difference {diff:e}"
            );
        }
    }
}
