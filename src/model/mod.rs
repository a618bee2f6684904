//! Kokoro-82M, one file per submodule of hexgrad's reference (`kokoro/model.py`,
//! `modules.py`, `istftnet.py`). Weight names are the reference's `state_dict` names without
//! the `module.` prefix, with weight norm folded into `weight`.

pub mod albert;
pub mod checkpoint;
pub mod decoder;
pub mod generator;
pub mod kokoro;
pub mod layers;
pub mod noise;
pub mod predictor;
pub mod text_encoder;
pub mod voices;
pub mod weights;

pub use crate::config::KokoroConfig;
pub use kokoro::{Kokoro, StageTimes, Synthesis};
