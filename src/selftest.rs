//! Op self-test: fixed conv1d cases run on a backend and compared with the scalar definition.
//! The demo page, the CLI and the test tiers all run the same cases.

use half::f16;
use serde::{Deserialize, Serialize};

use crate::backend::cpu::conv1d_scalar;
use crate::backend::{Backend, Conv1dGeometry, Conv1dParams, Weight};
use crate::error::Result;

/// One conv1d problem with its inputs. `weight` holds F16 bit patterns.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Conv1dCase {
    pub name: String,
    pub c_in: usize,
    pub c_out: usize,
    pub t_in: usize,
    pub k: usize,
    pub params: Conv1dParams,
    pub x: Vec<f32>,
    pub weight: Vec<u16>,
    pub bias: Option<Vec<f32>>,
}

/// Shapes Kokoro uses (kernel 1 projections, k = 3/7 with dilation 1/3/5 in the residual blocks,
/// stride 2 in the F0/N down-projection) plus the edges: padding wider than the input and
/// channel/time counts that leave SIMD remainders.
pub fn standard_cases() -> Vec<Conv1dCase> {
    let p = |stride, padding, dilation| Conv1dParams { stride, padding, dilation };
    vec![
        Conv1dCase::generate("pointwise_k1", 32, 24, 61, 1, p(1, 0, 1), true, 1),
        Conv1dCase::generate("k7_same", 16, 16, 100, 7, p(1, 3, 1), true, 2),
        Conv1dCase::generate("k3_dilation3", 12, 20, 77, 3, p(1, 3, 3), true, 3),
        Conv1dCase::generate("k3_dilation5_nobias", 9, 7, 50, 3, p(1, 5, 5), false, 4),
        Conv1dCase::generate("k3_stride2", 8, 8, 33, 3, p(2, 1, 1), true, 5),
        Conv1dCase::generate("padding_wider_than_input", 3, 5, 2, 3, p(1, 4, 1), true, 6),
        Conv1dCase::generate("k11_stride3_dilation2", 5, 6, 40, 11, p(3, 7, 2), true, 7),
        Conv1dCase::generate("single_sample", 1, 1, 1, 1, p(1, 0, 1), true, 8),
        Conv1dCase::generate("wide_512x512_k3", 512, 512, 64, 3, p(1, 1, 1), true, 9),
    ]
}

impl Conv1dCase {
    /// Deterministic inputs from `seed`: activations in [-1, 1), weights scaled like PyTorch's
    /// default init (±1/√(c_in·k)) and rounded to F16.
    #[allow(clippy::too_many_arguments)]
    pub fn generate(
        name: &str,
        c_in: usize,
        c_out: usize,
        t_in: usize,
        k: usize,
        params: Conv1dParams,
        with_bias: bool,
        seed: u64,
    ) -> Self {
        let mut rng = SplitMix64(seed);
        let scale = 1.0 / ((c_in * k) as f32).sqrt();
        let x = (0..c_in * t_in).map(|_| rng.uniform()).collect();
        let weight = (0..c_out * c_in * k).map(|_| f16::from_f32(rng.uniform() * scale).to_bits()).collect();
        let bias = with_bias.then(|| (0..c_out).map(|_| rng.uniform() * scale).collect());
        Self { name: name.into(), c_in, c_out, t_in, k, params, x, weight, bias }
    }

    pub fn weight(&self) -> Result<Weight> {
        Weight::f16(&[self.c_out, self.c_in, self.k], self.weight.iter().map(|&b| f16::from_bits(b)).collect())
    }

    pub fn bias(&self) -> Result<Option<Weight>> {
        self.bias.as_ref().map(|b| Weight::f32(&[self.c_out], b.clone())).transpose()
    }

    pub fn geometry(&self) -> Result<Conv1dGeometry> {
        let bias_shape = self.bias.as_ref().map(|b| [b.len()]);
        Conv1dGeometry::new(
            &[self.c_in, self.t_in],
            &[self.c_out, self.c_in, self.k],
            bias_shape.as_ref().map(|s| s.as_slice()),
            self.params,
        )
    }

    /// The definition, computed one output at a time on the host.
    pub fn reference(&self) -> Result<Vec<f32>> {
        let g = self.geometry()?;
        let w = self.weight()?;
        Ok(conv1d_scalar(&g, &self.x, w.data(), self.bias.as_deref()))
    }

    /// Runs the case on `backend`.
    pub async fn run<B: Backend>(&self, backend: &B) -> Result<Vec<f32>> {
        let x = backend.upload(&[self.c_in, self.t_in], &self.x)?;
        let w = backend.load_weight(&self.weight()?)?;
        let b = self.bias()?.map(|b| backend.load_weight(&b)).transpose()?;
        let y = backend.conv1d(&x, &w, b.as_ref(), self.params)?;
        backend.read(&y).await
    }
}

/// Largest |a − b| divided by max(1, max |b|); infinite when lengths differ or `a` is not
/// finite. Scaled by the output's magnitude, not elementwise, because conv outputs cancel to
/// near zero where elementwise relative error means nothing.
pub fn max_rel_error(got: &[f32], expected: &[f32]) -> f32 {
    if got.len() != expected.len() {
        return f32::INFINITY;
    }
    let scale = expected.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1.0);
    got.iter().zip(expected).fold(0.0f32, |m, (a, b)| if a.is_finite() { m.max((a - b).abs() / scale) } else { f32::INFINITY })
}

/// Tolerance for a backend's conv1d against the scalar definition: f32 rounding of up to a few
/// thousand products in a different order (GPU fused multiply-add), far below any indexing bug.
pub const CONV1D_TOLERANCE: f32 = 1e-5;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseReport {
    pub name: String,
    pub max_rel_error: f32,
    pub pass: bool,
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SelfTestReport {
    pub backend: String,
    pub cases: Vec<CaseReport>,
    pub pass: bool,
}

/// Runs every standard case on `backend` against the scalar definition.
pub async fn run_self_test<B: Backend>(backend: &B) -> SelfTestReport {
    let mut cases = Vec::new();
    for case in standard_cases() {
        let outcome = match case.reference() {
            Ok(expected) => case.run(backend).await.map(|got| max_rel_error(&got, &expected)),
            Err(e) => Err(e),
        };
        cases.push(match outcome {
            Ok(err) => CaseReport { name: case.name, max_rel_error: err, pass: err <= CONV1D_TOLERANCE, error: None },
            Err(e) => CaseReport { name: case.name, max_rel_error: f32::INFINITY, pass: false, error: Some(e.to_string()) },
        });
    }
    let pass = cases.iter().all(|c| c.pass);
    SelfTestReport { backend: backend.name(), cases, pass }
}

/// SplitMix64: tiny, portable, and identical on every target.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1) with 24 random bits.
    fn uniform(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}
