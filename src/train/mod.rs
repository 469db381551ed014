//! The paper's experiment: simulate a cohort, train, calibrate thresholds, evaluate accuracy vs K.

pub mod evaluate;
pub mod metrics;
pub mod plot;
pub mod reads_eval;
pub mod sampler;
pub mod sheet;
pub mod simulate;
pub mod trainer;
