//! The ConfigSync half of the decision core: the objects and claims ([`state`]) and the pure pass over
//! one ConfigSync's targets ([`plan`]).
pub mod plan;
pub mod state;

pub use state::{ConfigSyncs, CsKey};
