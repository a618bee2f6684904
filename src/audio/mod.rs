//! Signal processing around the network: the STFT of the harmonic source and the inverse STFT
//! that turns the generator's magnitude and phase into samples.

pub mod mel;
pub mod stft;
