//! The cohort an experiment runs on: the sample sheet, genomes loaded with their chromosome
//! labels, the sampler (species → sample → chromosome by length → substring, reads, errors), and
//! `simulate`, which writes a synthetic cohort.

pub mod aligned;
pub mod kmer;
pub mod sampler;
pub mod sheet;
pub mod simulate;
