//! WGSL sources: one file per op in `shaders/`, composed at pipeline creation with the helpers
//! in `shaders/lib/` and, for ops that read a packed weight, that weight's decode function
//! (`shaders/lib/weights/<format>.wgsl`, its `WEIGHT` placeholder renamed to the op's binding).

use crate::quant::GgmlType;

/// A compute kernel: its op file and the binding of the packed weight it decodes, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Kernel {
    pub name: &'static str,
    source: &'static str,
    weight: Option<&'static str>,
}

macro_rules! kernel {
    ($name:literal, $weight:expr) => {
        Kernel { name: $name, source: include_str!(concat!("../../../shaders/", $name, ".wgsl")), weight: $weight }
    };
}

pub(super) const CONV1D: Kernel = kernel!("conv1d", Some("w"));
pub(super) const CONV_TRANSPOSE1D: Kernel = kernel!("conv_transpose1d", Some("w"));
pub(super) const LSTM: Kernel = kernel!("lstm", None);
pub(super) const LSTM_WEIGHTS: Kernel = kernel!("lstm_weights", Some("w"));
pub(super) const EMBEDDING: Kernel = kernel!("embedding", Some("table"));
pub(super) const ATTENTION: Kernel = kernel!("attention", None);
pub(super) const ADA_NORM: Kernel = kernel!("ada_norm", None);
pub(super) const UNARY: Kernel = kernel!("unary", None);
pub(super) const SNAKE: Kernel = kernel!("snake", None);
pub(super) const ADD: Kernel = kernel!("add", None);
pub(super) const SCALE: Kernel = kernel!("scale", None);
pub(super) const BROADCAST: Kernel = kernel!("broadcast", None);
pub(super) const REFLECT_PAD: Kernel = kernel!("reflect_pad", None);
pub(super) const UPSAMPLE_NEAREST: Kernel = kernel!("upsample_nearest", None);
pub(super) const REPEAT_INTERLEAVE: Kernel = kernel!("repeat_interleave", None);

const KERNELS: [Kernel; 15] = [
    CONV1D,
    CONV_TRANSPOSE1D,
    LSTM,
    LSTM_WEIGHTS,
    EMBEDDING,
    ATTENTION,
    ADA_NORM,
    UNARY,
    SNAKE,
    ADD,
    SCALE,
    BROADCAST,
    REFLECT_PAD,
    UPSAMPLE_NEAREST,
    REPEAT_INTERLEAVE,
];

const GRID: &str = include_str!("../../../shaders/lib/grid.wgsl");
const MATH: &str = include_str!("../../../shaders/lib/math.wgsl");
const LAYOUT: &str = include_str!("../../../shaders/lib/weights/layout.wgsl");
const WEIGHT_COMMON: &str = include_str!("../../../shaders/lib/weights/common.wgsl");

fn decoder(ty: GgmlType) -> &'static str {
    match ty {
        GgmlType::F32 => include_str!("../../../shaders/lib/weights/f32.wgsl"),
        GgmlType::F16 => include_str!("../../../shaders/lib/weights/f16.wgsl"),
        GgmlType::BF16 => include_str!("../../../shaders/lib/weights/bf16.wgsl"),
        GgmlType::Q8_0 => include_str!("../../../shaders/lib/weights/q8_0.wgsl"),
        GgmlType::Q4_0 => include_str!("../../../shaders/lib/weights/q4_0.wgsl"),
        GgmlType::Q5_0 => include_str!("../../../shaders/lib/weights/q5_0.wgsl"),
        GgmlType::Q4_K => include_str!("../../../shaders/lib/weights/q4_k.wgsl"),
        GgmlType::Q2_K => include_str!("../../../shaders/lib/weights/q2_k.wgsl"),
        GgmlType::TQ1_0 => include_str!("../../../shaders/lib/weights/tq1_0.wgsl"),
        GgmlType::TQ2_0 => include_str!("../../../shaders/lib/weights/tq2_0.wgsl"),
    }
}

impl Kernel {
    /// Whether the kernel reads a packed weight (and so has one pipeline per format).
    pub fn reads_weight(self) -> bool {
        self.weight.is_some()
    }

    /// The full WGSL of the kernel, decoding its weight as `format` (ignored without one).
    pub fn source(self, format: GgmlType) -> String {
        let mut out = [GRID, MATH].concat();
        if let Some(binding) = self.weight {
            out.push_str(LAYOUT);
            out.push_str(&WEIGHT_COMMON.replace("WEIGHT", binding));
            out.push_str(&decoder(format).replace("WEIGHT", binding));
        }
        out.push_str(self.source);
        out
    }
}

/// Every pipeline the GPU backend can create, as `(label, WGSL)`: each kernel, once per weight
/// format for those that read one. Tests validate them all with naga.
pub fn all_sources() -> Vec<(String, String)> {
    KERNELS
        .iter()
        .flat_map(|k| {
            let formats: &[GgmlType] = if k.reads_weight() { &GgmlType::ALL } else { &[GgmlType::F32] };
            formats.iter().map(move |&ty| (if k.reads_weight() { format!("{} ({})", k.name, ty.name()) } else { k.name.to_owned() }, k.source(ty)))
        })
        .collect()
}
