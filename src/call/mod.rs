//! Calling a sample: the [`Call`] both rules give, the paper's rule ([`paper`]), the likelihood
//! ratio over per-chunk Y evidence ([`lr`]), the Y dosage and its flag ([`dosage`]), the
//! karyotype from the X and Y dosages ([`karyotype`]), and what a calibration stores
//! ([`calibration`]).

pub mod calibration;
pub mod dosage;
pub mod karyotype;
pub mod lr;
pub mod paper;

/// The decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Female,
    Male,
    NoCall,
}

impl Call {
    pub fn as_str(self) -> &'static str {
        match self {
            Call::Female => "female",
            Call::Male => "male",
            Call::NoCall => "no-call",
        }
    }
}
