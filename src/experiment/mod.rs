//! The paper's experiment and ours on a cohort: training, calibration (thresholds and the Y
//! detector's fit), evaluation by groups and by reads, metrics and plots.

pub mod evaluate;
pub mod fit;
pub mod ideal;
pub mod karyotypes;
pub mod metrics;
pub mod plot;
pub mod reads_eval;
pub mod recipe;
pub mod train;
