//! The devnet's error type.

use crate::car::CarError;
use crate::chain::HeaderDecodeError;

use super::state::StateError;
use super::store::EncodeError;

/// Everything that can fail inside the simulator.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// A state transition failed.
    #[error(transparent)]
    State(Box<StateError>),
    /// A message or receipt AMT failed.
    #[error("AMT: {0}")]
    Amt(#[from] fvm_ipld_amt::Error),
    /// Encoding an object failed.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// Reading a CAR (genesis, replay) failed.
    #[error(transparent)]
    Car(Box<CarError>),
    /// File or socket I/O failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A header could not be decoded.
    #[error(transparent)]
    Header(#[from] HeaderDecodeError),
    /// The input or request makes no sense (bad CAR roots, reorg too deep, …).
    #[error("{0}")]
    Invalid(String),
}

impl From<StateError> for DevnetError {
    fn from(e: StateError) -> Self {
        DevnetError::State(Box::new(e))
    }
}

impl From<CarError> for DevnetError {
    fn from(e: CarError) -> Self {
        DevnetError::Car(Box::new(e))
    }
}
