//! GPU backend: wgpu over WebGPU in the browser, Vulkan/Metal/DX12 natively. One WGSL file per
//! op in `shaders/`; weights stay packed on the device and each kernel decodes the elements it
//! reads ([`weights`]). Pipelines are created on first use, per (kernel, weight format), and
//! cached. Ops are recorded into one command encoder; [`Backend::read`] submits it.

mod elementwise;
mod matmul;
mod pool;
mod reduce;
mod shaders;
mod weights;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wgpu::util::DeviceExt;

use super::{check_len, Backend, Conv1dParams, ConvTransposeParams, LstmWeights, NormKind, Unary, Weight};
use crate::error::{Error, Result};
use crate::quant::GgmlType;
pub use pool::GpuMemory;
use pool::{DeviceBuffer, Pool, Use};
pub use shaders::all_sources;
use shaders::Kernel;
use weights::WeightLayout;

/// Facts about the adapter a [`GpuBackend`] runs on.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdapterSummary {
    /// Adapter name (`llvmpipe (LLVM …)`, the WebGPU description in browsers, …).
    pub name: String,
    /// wgpu backend: `Vulkan`, `Metal`, `Dx12`, `Gl`, `BrowserWebGpu`.
    pub backend: String,
    /// `DiscreteGpu`, `IntegratedGpu`, `Cpu` (software rasterizers), …
    pub device_type: String,
    pub driver: String,
    pub max_storage_buffer_binding_size: u64,
}

pub struct GpuBackend {
    device: wgpu::Device,
    queue: wgpu::Queue,
    summary: AdapterSummary,
    /// Created on first use, per kernel and weight format.
    pipelines: RefCell<HashMap<(Kernel, GgmlType), wgpu::ComputePipeline>>,
    /// Bound where an op's optional input is absent.
    zero_f32: wgpu::Buffer,
    /// Work recorded since the last submit.
    encoder: RefCell<Option<wgpu::CommandEncoder>>,
    /// First uncaptured error or device loss, reported by the next `read`.
    fault: Arc<Mutex<Option<String>>>,
    /// Compute dispatches recorded since creation.
    dispatches: std::cell::Cell<u64>,
    /// Buffers for reuse, and the memory count.
    pool: Arc<Mutex<Pool>>,
}

pub struct GpuTensor {
    buffer: DeviceBuffer,
    shape: Vec<usize>,
}

/// A weight as the GPU stores it ([`weights::transcode`]).
pub struct GpuWeight {
    buffer: DeviceBuffer,
    shape: Vec<usize>,
    /// The format the shaders decode (F32 for single-row weights, decoded at load).
    ty: GgmlType,
    layout: WeightLayout,
}

impl AdapterSummary {
    /// A CPU-emulated adapter (Mesa's lavapipe, SwiftShader), as the driver reports it.
    pub fn is_software(&self) -> bool {
        self.device_type == "Cpu"
    }
}

impl GpuBackend {
    /// Opens the best adapter the platform offers (WebGPU in browsers; natively any of Vulkan,
    /// Metal, DX12, GL, software Vulkan included). Errors when there is none.
    pub async fn new() -> Result<Self> {
        // wgpu panics outside a window or a dedicated worker (Node, service workers).
        #[cfg(target_arch = "wasm32")]
        if !wgpu::util::is_browser_webgpu_supported().await {
            return Err(Error::NoAdapter("this JavaScript environment offers no WebGPU (navigator.gpu)".into()));
        }
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::NoAdapter(e.to_string()))?;
        let info = adapter.get_info();
        // Ask for the adapter's own storage limits: weights of a layer can exceed the defaults.
        let adapter_limits = adapter.limits();
        let required_limits = wgpu::Limits {
            max_storage_buffer_binding_size: adapter_limits.max_storage_buffer_binding_size,
            max_buffer_size: adapter_limits.max_buffer_size,
            // WebGPU's default; the LSTM binds 5.
            max_storage_buffers_per_shader_stage: adapter_limits.max_storage_buffers_per_shader_stage.min(8),
            ..wgpu::Limits::downlevel_defaults()
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("tritone"),
                required_limits,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::NoAdapter(format!("{}: {e}", info.name)))?;

        let fault = Arc::new(Mutex::new(None));
        let slot = fault.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| record_fault(&slot, e.to_string())));
        let slot = fault.clone();
        device.set_device_lost_callback(move |reason, message| {
            record_fault(&slot, format!("device lost ({reason:?}): {message}"))
        });

        let summary = AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: [info.driver.as_str(), info.driver_info.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" "),
            max_storage_buffer_binding_size: device.limits().max_storage_buffer_binding_size,
        };
        let zero_f32 = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("zero"),
            contents: &[0; 4],
            usage: wgpu::BufferUsages::STORAGE,
        });
        Ok(Self { device, queue, summary, pipelines: Default::default(), zero_f32, encoder: RefCell::new(None), fault, dispatches: Default::default(), pool: Default::default() })
    }

    /// Destroys the device, as a driver reset or a lost GPU would: everything after fails with
    /// [`Error::Gpu`]. A test hook for the fallback to the CPU.
    pub fn lose_device(&self) {
        self.device.destroy();
    }

    pub fn adapter(&self) -> &AdapterSummary {
        &self.summary
    }

    fn check_fault(&self) -> Result<()> {
        match lock(&self.fault).clone() {
            Some(message) => Err(Error::Gpu(message)),
            None => Ok(()),
        }
    }

    fn check_size(&self, bytes: u64) -> Result<()> {
        let limit = self.summary.max_storage_buffer_binding_size;
        if bytes > limit {
            return Err(Error::Gpu(format!("buffer of {bytes} bytes exceeds this device's binding limit of {limit}")));
        }
        Ok(())
    }

    /// A storage buffer holding `contents` (one zero word when empty: bindings need a size).
    fn storage_buffer(&self, label: &str, contents: &[u8]) -> Result<DeviceBuffer> {
        self.check_size(contents.len() as u64)?;
        self.buffer_with(label, if contents.is_empty() { &[0; 4] } else { contents }, TENSOR_USAGE, Use::QueueWritten)
    }

    /// A buffer holding `contents`, written through the queue (a lost device then gives an
    /// error, where a buffer mapped at creation would panic). Weights stay out of the pool.
    fn buffer_with(&self, label: &str, contents: &[u8], usage: wgpu::BufferUsages, first_use: Use) -> Result<DeviceBuffer> {
        self.check_fault()?;
        let buffer = pool::take(&self.device, &self.pool, label, contents.len() as u64, usage | wgpu::BufferUsages::COPY_DST, first_use);
        self.queue.write_buffer(&buffer, 0, contents);
        Ok(buffer)
    }

    /// Device memory now and at its peak.
    pub fn memory(&self) -> GpuMemory {
        pool::memory(&self.pool)
    }

    /// Frees the buffers kept for reuse (an idle engine's memory is then its weights).
    pub fn trim(&self) {
        pool::trim(&self.pool);
    }

    /// A new f32 tensor whose contents the next op writes.
    fn alloc(&self, op: &'static str, shape: &[usize]) -> Result<GpuTensor> {
        self.check_fault()?;
        let len = shape.iter().product::<usize>();
        u32_of(op, "output size", len)?;
        let bytes = (len.max(1) * 4) as u64;
        self.check_size(bytes)?;
        Ok(GpuTensor { buffer: pool::take(&self.device, &self.pool, op, bytes, TENSOR_USAGE, Use::Output), shape: shape.to_vec() })
    }

    /// The f32 buffer of a single-row weight (biases, norm and snake parameters).
    fn vector<'w>(&self, op: &'static str, what: &'static str, w: &'w GpuWeight) -> Result<&'w wgpu::Buffer> {
        if w.ty != GgmlType::F32 {
            return Err(super::format_error(op, what, "a vector (decoded to F32 at load)", w.ty.name()));
        }
        Ok(&*w.buffer)
    }

    /// [`GpuBackend::vector`] of an optional weight, or a zero word where it is absent.
    fn vector_or_zero<'w>(&'w self, op: &'static str, what: &'static str, w: Option<&'w GpuWeight>) -> Result<&'w wgpu::Buffer> {
        w.map_or(Ok(&self.zero_f32), |w| self.vector(op, what, w))
    }

    /// The pipeline of `kernel` decoding `format`, created on first use.
    fn pipeline(&self, kernel: Kernel, format: GgmlType) -> wgpu::ComputePipeline {
        let format = if kernel.reads_weight() { format } else { GgmlType::F32 };
        self.pipelines
            .borrow_mut()
            .entry((kernel, format))
            .or_insert_with(|| {
                let label = format!("{} {}", kernel.name, format.name());
                compute_pipeline(&self.device, &label, &kernel.source(format))
            })
            .clone()
    }

    /// Records `kernel` (weights decoded as `format`) with `params` as its uniform.
    fn launch<P: bytemuck::Pod>(&self, kernel: Kernel, format: GgmlType, params: &P, buffers: &[&wgpu::Buffer], workgroups: [u32; 3]) -> Result<()> {
        let pipeline = self.pipeline(kernel, format);
        self.dispatch(&pipeline, bytemuck::bytes_of(params), buffers, workgroups.map(|n| n as usize))
    }

    /// Workgroups for `n` elements, 256 per workgroup, folded into a second dimension beyond
    /// the per-dimension limit (`shaders/lib/grid.wgsl`).
    fn flat_groups(&self, op: &'static str, n: usize) -> Result<[u32; 3]> {
        self.row_groups(op, n.div_ceil(256))
    }

    /// `count` workgroups over a 2-D grid (row index `wg.y · groups.x + wg.x`).
    fn row_groups(&self, op: &'static str, count: usize) -> Result<[u32; 3]> {
        let max = self.device.limits().max_compute_workgroups_per_dimension as usize;
        let x = count.clamp(1, max);
        let y = count.div_ceil(x);
        if y > max {
            return Err(Error::InvalidArgument { op, reason: format!("{count} workgroups exceed the device's {max} × {max} grid") });
        }
        Ok([x as u32, y as u32, 1])
    }

    /// Records a buffer-to-buffer copy of `bytes` from the start of `from` to `offset` in `to`.
    fn copy(&self, from: &wgpu::Buffer, to: &wgpu::Buffer, offset: u64, bytes: u64) {
        let mut slot = self.encoder.borrow_mut();
        let encoder = slot.get_or_insert_with(|| self.device.create_command_encoder(&Default::default()));
        encoder.copy_buffer_to_buffer(from, 0, to, offset, bytes);
    }

    /// Records one compute dispatch: `params` at binding 0, then `buffers` at bindings 1…
    fn dispatch(
        &self,
        pipeline: &wgpu::ComputePipeline,
        params: &[u8],
        buffers: &[&wgpu::Buffer],
        workgroups: [usize; 3],
    ) -> Result<()> {
        let max = self.device.limits().max_compute_workgroups_per_dimension as usize;
        if workgroups.iter().any(|&n| n > max) {
            return Err(Error::Gpu(format!("dispatch {workgroups:?} exceeds {max} workgroups per dimension")));
        }
        let uniform = self.buffer_with("params", params, wgpu::BufferUsages::UNIFORM, Use::QueueWritten)?;
        let entries: Vec<wgpu::BindGroupEntry> = std::iter::once(&*uniform)
            .chain(buffers.iter().copied())
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() })
            .collect();
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let mut slot = self.encoder.borrow_mut();
        let encoder = slot.get_or_insert_with(|| self.device.create_command_encoder(&Default::default()));
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        let [x, y, z] = workgroups.map(|n| n as u32);
        pass.dispatch_workgroups(x, y, z);
        self.dispatches.set(self.dispatches.get() + 1);
        Ok(())
    }
}

/// Tensors are read and written by kernels, copied into (concat) and out of (reads).
const TENSOR_USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_SRC).union(wgpu::BufferUsages::COPY_DST);

/// `v` as a shader's u32, or an error naming what overflowed.
fn u32_of(op: &'static str, what: &str, v: usize) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::InvalidArgument { op, reason: format!("{what} = {v} does not fit the GPU kernels' 32-bit indices") })
}

fn lock(fault: &Mutex<Option<String>>) -> std::sync::MutexGuard<'_, Option<String>> {
    fault.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn record_fault(fault: &Mutex<Option<String>>, message: String) {
    lock(fault).get_or_insert(message);
}

fn compute_pipeline(device: &wgpu::Device, label: &str, source: &str) -> wgpu::ComputePipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(label),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    })
}

impl Backend for GpuBackend {
    type Tensor = GpuTensor;
    type Weight = GpuWeight;

    fn name(&self) -> String {
        match (self.summary.name.as_str(), self.summary.backend.as_str()) {
            // Browsers hide the adapter's name unless asked for it (GPUAdapterInfo).
            ("", "BrowserWebGpu") => "WebGPU".to_owned(),
            (name, "BrowserWebGpu") => format!("WebGPU ({name})"),
            (name, backend) => format!("{name} ({backend})"),
        }
    }

    fn upload(&self, shape: &[usize], data: &[f32]) -> Result<GpuTensor> {
        check_len("tensor", shape, data.len())?;
        u32_of("upload", "tensor size", data.len())?;
        Ok(GpuTensor { buffer: self.storage_buffer("tensor", bytemuck::cast_slice(data))?, shape: shape.to_vec() })
    }

    fn load_weight(&self, weight: &Weight) -> Result<GpuWeight> {
        let (bytes, layout, ty) = weights::transcode(weight)?;
        self.check_size(bytes.len() as u64)?;
        Ok(GpuWeight { buffer: self.buffer_with("weight", &bytes, TENSOR_USAGE, Use::Weight)?, shape: weight.shape().to_vec(), ty, layout })
    }

    fn shape<'t>(&self, tensor: &'t GpuTensor) -> &'t [usize] {
        &tensor.shape
    }

    fn conv1d(&self, x: &GpuTensor, weight: &GpuWeight, bias: Option<&GpuWeight>, params: Conv1dParams) -> Result<GpuTensor> {
        matmul::conv1d(self, x, weight, bias, params)
    }
    fn conv_transpose1d(&self, x: &GpuTensor, weight: &GpuWeight, bias: Option<&GpuWeight>, params: ConvTransposeParams) -> Result<GpuTensor> {
        matmul::conv_transpose1d(self, x, weight, bias, params)
    }
    fn linear(&self, x: &GpuTensor, weight: &GpuWeight, bias: Option<&GpuWeight>) -> Result<GpuTensor> {
        matmul::linear(self, x, weight, bias)
    }
    fn embedding(&self, table: &GpuWeight, ids: &[u32]) -> Result<GpuTensor> {
        matmul::embedding(self, table, ids)
    }
    fn lstm(&self, x: &GpuTensor, weights: &LstmWeights<'_, GpuWeight>, reverse: bool) -> Result<GpuTensor> {
        matmul::lstm(self, x, weights, reverse)
    }
    fn attention(&self, q: &GpuTensor, k: &GpuTensor, v: &GpuTensor, heads: usize) -> Result<GpuTensor> {
        reduce::attention(self, q, k, v, heads)
    }
    fn layer_norm(&self, x: &GpuTensor, gamma: &GpuWeight, beta: &GpuWeight, eps: f32) -> Result<GpuTensor> {
        reduce::layer_norm(self, x, gamma, beta, eps)
    }
    fn ada_norm(&self, x: &GpuTensor, style_params: &GpuTensor, kind: NormKind, eps: f32) -> Result<GpuTensor> {
        reduce::ada_norm(self, x, style_params, kind, eps)
    }
    fn snake(&self, x: &GpuTensor, alpha: &GpuWeight) -> Result<GpuTensor> {
        elementwise::snake(self, x, alpha)
    }
    fn unary(&self, x: &GpuTensor, op: Unary) -> Result<GpuTensor> {
        elementwise::unary(self, x, op)
    }
    fn add(&self, a: &GpuTensor, b: &GpuTensor) -> Result<GpuTensor> {
        elementwise::add(self, a, b)
    }
    fn scale(&self, x: &GpuTensor, s: f32) -> Result<GpuTensor> {
        elementwise::scale(self, x, s)
    }
    fn concat(&self, parts: &[&GpuTensor]) -> Result<GpuTensor> {
        elementwise::concat(self, parts)
    }
    fn broadcast(&self, column: &GpuTensor, t: usize) -> Result<GpuTensor> {
        elementwise::broadcast(self, column, t)
    }
    fn repeat_interleave(&self, x: &GpuTensor, counts: &[usize]) -> Result<GpuTensor> {
        elementwise::repeat_interleave(self, x, counts)
    }
    fn reflect_pad(&self, x: &GpuTensor, left: usize, right: usize) -> Result<GpuTensor> {
        elementwise::reflect_pad(self, x, left, right)
    }
    fn upsample_nearest(&self, x: &GpuTensor, factor: usize) -> Result<GpuTensor> {
        elementwise::upsample_nearest(self, x, factor)
    }

    fn flush(&self) -> Result<()> {
        if let Some(encoder) = self.encoder.borrow_mut().take() {
            self.queue.submit([encoder.finish()]);
            pool::submitted(&self.pool);
        }
        self.check_fault()
    }

    fn ops_recorded(&self) -> u64 {
        self.dispatches.get()
    }

    async fn read(&self, tensor: &GpuTensor) -> Result<Vec<f32>> {
        self.check_fault()?;
        let len = tensor.shape.iter().product::<usize>();
        if len == 0 {
            return Ok(Vec::new());
        }
        let bytes = (len * 4) as u64;
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self
            .encoder
            .borrow_mut()
            .take()
            .unwrap_or_else(|| self.device.create_command_encoder(&Default::default()));
        encoder.copy_buffer_to_buffer(&tensor.buffer, 0, &staging, 0, bytes);
        self.queue.submit([encoder.finish()]);
        pool::submitted(&self.pool);

        let (tx, rx) = futures_channel::oneshot::channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            // The receiver only disappears if `read` was dropped; nothing to report then.
            let _ = tx.send(r);
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
        let mapped = rx.await.map_err(|_| Error::Gpu("readback was cancelled".into()))?;
        self.check_fault()?;
        mapped.map_err(|e| Error::Gpu(format!("reading back results: {e}")))?;
        let data = {
            let view = staging
                .slice(..)
                .get_mapped_range()
                .map_err(|e| Error::Gpu(format!("reading back results: {e}")))?;
            bytemuck::pod_collect_to_vec::<u8, f32>(&view)
        };
        staging.unmap();
        Ok(data)
    }
}
