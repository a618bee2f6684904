//! GPU backend: wgpu over WebGPU in the browser, Vulkan/Metal/DX12 natively. One WGSL file per
//! op in `shaders/`; weights stay packed on the device and each kernel decodes the elements it
//! reads ([`weights`]). Pipelines are created on first use, per (kernel, weight format), and
//! cached. Ops are recorded into one command encoder; [`Backend::read`] submits it.

mod elementwise;
mod matmul;
mod pool;
mod profile;
mod reduce;
mod shaders;
mod weights;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wgpu::util::DeviceExt;

use super::{check_len, Backend, OpTimes, Conv1dParams, ConvTransposeParams, LstmWeights, NormKind, Unary, Weight};
use crate::error::{Error, Result};
use crate::quant::GgmlType;
pub use pool::GpuMemory;
use pool::{DeviceBuffer, Pool, Use};
use profile::Profiler;
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
    /// The uniforms of the open encoder.
    uniforms: RefCell<UniformArena>,
    /// Whether the device was given timestamp queries (the adapter has them).
    timestamps: bool,
    /// Times each dispatch while profiling.
    profiler: RefCell<Option<Profiler>>,
}

/// Every dispatch's `Params` in the open encoder, packed at the device's offset alignment into
/// buffers of [`ARENA_BYTES`], each written once, before the submit that reads it.
#[derive(Default)]
struct UniformArena {
    buffers: Vec<DeviceBuffer>,
    /// Contents of the last buffer so far.
    staged: Vec<u8>,
}

/// Room for 256 dispatches at the usual 256-byte alignment.
const ARENA_BYTES: u64 = 64 << 10;

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
        // Kernel times for `bench`, where the adapter offers them; nothing else needs a feature.
        let required_features = adapter.features() & wgpu::Features::TIMESTAMP_QUERY;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("tritone"),
                required_features,
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
        Ok(Self {
            timestamps: required_features.contains(wgpu::Features::TIMESTAMP_QUERY),
            device,
            queue,
            summary,
            pipelines: Default::default(),
            zero_f32,
            encoder: RefCell::new(None),
            fault,
            dispatches: Default::default(),
            pool: Default::default(),
            uniforms: Default::default(),
            profiler: RefCell::new(None),
        })
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

    /// Records `kernel` (weights decoded as `format`) for `op` with `params` as its uniform.
    #[allow(clippy::too_many_arguments)]
    fn launch<P: bytemuck::Pod>(&self, op: &'static str, kernel: Kernel, format: GgmlType, params: &P, buffers: &[&wgpu::Buffer], workgroups: [u32; 3]) -> Result<()> {
        let pipeline = self.pipeline(kernel, format);
        self.dispatch(op, &pipeline, bytemuck::bytes_of(params), buffers, workgroups.map(|n| n as usize))
    }

    /// A place for `params` in the uniform arena: the buffer and the offset.
    fn uniform(&self, params: &[u8]) -> Result<(wgpu::Buffer, u64)> {
        let align = self.device.limits().min_uniform_buffer_offset_alignment as usize;
        let mut arena = self.uniforms.borrow_mut();
        let mut offset = arena.staged.len().next_multiple_of(align);
        if arena.buffers.is_empty() || (offset + params.len()) as u64 > ARENA_BYTES {
            self.check_fault()?;
            self.write_uniforms(&mut arena);
            let usage = wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST;
            arena.buffers.push(pool::take(&self.device, &self.pool, "params", ARENA_BYTES, usage, Use::QueueWritten));
            offset = 0;
        }
        arena.staged.resize(offset, 0);
        arena.staged.extend_from_slice(params);
        let buffer: &wgpu::Buffer = arena.buffers.last().expect("pushed above");
        Ok((buffer.clone(), offset as u64))
    }

    /// Writes the arena's last buffer (earlier ones were written when they filled).
    fn write_uniforms(&self, arena: &mut UniformArena) {
        if let Some(buffer) = arena.buffers.last() {
            self.queue.write_buffer(buffer, 0, &arena.staged);
        }
        arena.staged.clear();
    }

    /// Submits the open encoder, with `last` recorded at its end (nothing recorded and nothing
    /// to record: no submit). Uniforms are written and timestamps resolved first.
    fn submit(&self, last: Option<&dyn Fn(&mut wgpu::CommandEncoder)>) {
        let open = self.encoder.borrow_mut().take();
        let Some(mut encoder) = open.or_else(|| last.map(|_| self.device.create_command_encoder(&Default::default()))) else {
            return;
        };
        if let Some(last) = last {
            last(&mut encoder);
        }
        if let Some(profiler) = self.profiler.borrow_mut().as_mut() {
            profiler.resolve(&self.device, &mut encoder);
        }
        let mut arena = self.uniforms.borrow_mut();
        self.write_uniforms(&mut arena);
        self.queue.submit([encoder.finish()]);
        // back to the pool, free for any use from now on
        arena.buffers.clear();
        pool::submitted(&self.pool);
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

    /// Records one compute dispatch of `op`: `params` at binding 0, then `buffers` at bindings 1…
    fn dispatch(
        &self,
        op: &'static str,
        pipeline: &wgpu::ComputePipeline,
        params: &[u8],
        buffers: &[&wgpu::Buffer],
        workgroups: [usize; 3],
    ) -> Result<()> {
        let max = self.device.limits().max_compute_workgroups_per_dimension as usize;
        if workgroups.iter().any(|&n| n > max) {
            return Err(Error::Gpu(format!("dispatch {workgroups:?} exceeds {max} workgroups per dimension")));
        }
        let (uniform, offset) = self.uniform(params)?;
        let params = wgpu::BufferBinding { buffer: &uniform, offset, size: std::num::NonZeroU64::new(params.len() as u64) };
        let entries: Vec<wgpu::BindGroupEntry> = std::iter::once(wgpu::BindingResource::Buffer(params))
            .chain(buffers.iter().map(|b| b.as_entire_binding()))
            .enumerate()
            .map(|(i, resource)| wgpu::BindGroupEntry { binding: i as u32, resource })
            .collect();
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let mut slot = self.encoder.borrow_mut();
        let encoder = slot.get_or_insert_with(|| self.device.create_command_encoder(&Default::default()));
        let mut profiler = self.profiler.borrow_mut();
        let timestamp_writes = profiler.as_mut().map(|p| p.next_pass(&self.device, op));
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes });
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
        self.submit(None);
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
        self.submit(Some(&|encoder: &mut wgpu::CommandEncoder| encoder.copy_buffer_to_buffer(&tensor.buffer, 0, &staging, 0, bytes)));
        let data = map_read(&self.device, &staging).await;
        // a lost device says so, where the failed mapping would not
        self.check_fault()?;
        let data = data?;
        Ok(bytemuck::pod_collect_to_vec::<u8, f32>(&data))
    }

    fn profile(&self, on: bool) -> Result<()> {
        if on && !self.timestamps {
            return Err(Error::Gpu(format!("{} offers no timestamp queries", self.summary.name)));
        }
        *self.profiler.borrow_mut() = on.then(Profiler::default);
        Ok(())
    }

    async fn take_profile(&self) -> Result<OpTimes> {
        self.flush()?;
        let pending = self.profiler.borrow_mut().as_mut().map(Profiler::take_pending).unwrap_or_default();
        Profiler::collect(&self.device, &self.queue, pending).await
    }
}

/// The contents of a `MAP_READ` buffer once the work writing it has finished.
async fn map_read(device: &wgpu::Device, staging: &wgpu::Buffer) -> Result<Vec<u8>> {
    let (tx, rx) = futures_channel::oneshot::channel();
    staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
        // The receiver only disappears if the caller was dropped; nothing to report then.
        let _ = tx.send(r);
    });
    #[cfg(not(target_arch = "wasm32"))]
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
    #[cfg(target_arch = "wasm32")]
    let _ = device;
    let mapped = rx.await.map_err(|_| Error::Gpu("readback was cancelled".into()))?;
    mapped.map_err(|e| Error::Gpu(format!("reading back results: {e}")))?;
    let data = staging
        .slice(..)
        .get_mapped_range()
        .map_err(|e| Error::Gpu(format!("reading back results: {e}")))?
        .to_vec();
    staging.unmap();
    Ok(data)
}
