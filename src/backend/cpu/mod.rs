//! CPU backend: plain Rust, with wasm `simd128` kernels in the browser build.

mod conv1d;
pub mod simd;

pub use conv1d::{conv1d, conv1d_scalar};

use super::{check_len, Backend, Conv1dGeometry, Conv1dParams, Weight};
use crate::error::Result;

#[derive(Clone, Copy, Debug, Default)]
pub struct CpuBackend;

/// An f32 tensor in host memory, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct CpuTensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

impl CpuTensor {
    pub fn new(shape: &[usize], data: Vec<f32>) -> Result<Self> {
        check_len("tensor", shape, data.len())?;
        Ok(Self { shape: shape.to_vec(), data })
    }

    pub fn data(&self) -> &[f32] {
        &self.data
    }
}

impl Backend for CpuBackend {
    type Tensor = CpuTensor;
    type Weight = Weight;

    fn name(&self) -> String {
        format!("CPU ({})", simd::KIND)
    }

    fn upload(&self, shape: &[usize], data: &[f32]) -> Result<CpuTensor> {
        CpuTensor::new(shape, data.to_vec())
    }

    fn load_weight(&self, weight: &Weight) -> Result<Weight> {
        Ok(weight.clone())
    }

    fn shape<'t>(&self, tensor: &'t CpuTensor) -> &'t [usize] {
        &tensor.shape
    }

    fn conv1d(
        &self,
        x: &CpuTensor,
        weight: &Weight,
        bias: Option<&Weight>,
        params: Conv1dParams,
    ) -> Result<CpuTensor> {
        let g = Conv1dGeometry::new(&x.shape, weight.shape(), bias.map(Weight::shape), params)?;
        let b = bias.map(|b| b.as_f32("conv1d", "bias")).transpose()?;
        CpuTensor::new(&[g.c_out, g.t_out], conv1d(&g, &x.data, weight.data(), b))
    }

    async fn read(&self, tensor: &CpuTensor) -> Result<Vec<f32>> {
        Ok(tensor.data.clone())
    }
}
