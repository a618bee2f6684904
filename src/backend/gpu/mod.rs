//! GPU backend: wgpu over WebGPU in the browser, Vulkan/Metal/DX12 natively. One WGSL file per
//! op in `shaders/`. Ops are recorded into one command encoder; [`Backend::read`] submits it.

mod conv1d;

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use wgpu::util::DeviceExt;

use super::{check_len, Backend, Conv1dParams, ConvTransposeParams, LstmWeights, NormKind, Unary, Weight};
use crate::error::{Error, Result};

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

pub(crate) struct Pipelines {
    conv1d: wgpu::ComputePipeline,
}

pub struct GpuBackend {
    device: wgpu::Device,
    queue: wgpu::Queue,
    summary: AdapterSummary,
    pipelines: Pipelines,
    /// Bound where an op's optional input is absent.
    zero_f32: wgpu::Buffer,
    /// Work recorded since the last submit.
    encoder: RefCell<Option<wgpu::CommandEncoder>>,
    /// First uncaptured error or device loss, reported by the next `read`.
    fault: Arc<Mutex<Option<String>>>,
    /// Compute dispatches recorded since creation.
    dispatches: std::cell::Cell<u64>,
}

pub struct GpuTensor {
    buffer: wgpu::Buffer,
    shape: Vec<usize>,
}

pub struct GpuWeight {
    buffer: wgpu::Buffer,
    shape: Vec<usize>,
    format: &'static str,
}

impl GpuBackend {
    /// Opens the best adapter the platform offers (WebGPU in browsers; natively any of Vulkan,
    /// Metal, DX12, GL, software Vulkan included). Errors when there is none.
    pub async fn new() -> Result<Self> {
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
        let pipelines = Pipelines { conv1d: compute_pipeline(&device, "conv1d", conv1d::SOURCE) };
        let zero_f32 = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("zero"),
            contents: &[0; 4],
            usage: wgpu::BufferUsages::STORAGE,
        });
        Ok(Self { device, queue, summary, pipelines, zero_f32, encoder: RefCell::new(None), fault, dispatches: Default::default() })
    }

    pub fn adapter(&self) -> &AdapterSummary {
        &self.summary
    }

    /// Ops of [`super::OPS`] this backend has no kernel for yet.
    pub fn missing_ops() -> Vec<&'static str> {
        super::OPS.iter().copied().filter(|op| !SUPPORTED_OPS.contains(op)).collect()
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

    fn storage_buffer(&self, label: &str, contents: &[u8]) -> Result<wgpu::Buffer> {
        self.check_size(contents.len() as u64)?;
        Ok(self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        }))
    }

    /// A new f32 tensor whose contents the next op writes.
    fn alloc(&self, shape: &[usize]) -> Result<GpuTensor> {
        let len = shape.iter().product::<usize>();
        let bytes = (len.max(1) * 4) as u64;
        self.check_size(bytes)?;
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("tensor"),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        Ok(GpuTensor { buffer, shape: shape.to_vec() })
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
        let uniform = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: params,
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let entries: Vec<wgpu::BindGroupEntry> = std::iter::once(&uniform)
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

/// Ops with a WGSL kernel.
const SUPPORTED_OPS: [&str; 1] = ["conv1d"];

/// The model's ops beyond conv1d have CPU kernels only so far; the GPU says so instead of
/// computing something wrong.
fn unsupported(op: &'static str) -> Error {
    Error::Unsupported { op, backend: "GPU" }
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
        let contents: &[u8] = if data.is_empty() { &[0; 4] } else { bytemuck::cast_slice(data) };
        Ok(GpuTensor { buffer: self.storage_buffer("tensor", contents)?, shape: shape.to_vec() })
    }

    fn load_weight(&self, weight: &Weight) -> Result<GpuWeight> {
        let mut bytes = weight.bytes().to_vec();
        // Storage buffers hold whole u32 words; an odd F16 count gets a zero half.
        bytes.resize(bytes.len().next_multiple_of(4).max(4), 0);
        Ok(GpuWeight {
            buffer: self.storage_buffer("weight", &bytes)?,
            shape: weight.shape().to_vec(),
            format: weight.format_name(),
        })
    }

    fn shape<'t>(&self, tensor: &'t GpuTensor) -> &'t [usize] {
        &tensor.shape
    }

    fn conv1d(
        &self,
        x: &GpuTensor,
        weight: &GpuWeight,
        bias: Option<&GpuWeight>,
        params: Conv1dParams,
    ) -> Result<GpuTensor> {
        conv1d::conv1d(self, x, weight, bias, params)
    }

    fn conv_transpose1d(&self, _: &GpuTensor, _: &GpuWeight, _: Option<&GpuWeight>, _: ConvTransposeParams) -> Result<GpuTensor> {
        Err(unsupported("conv_transpose1d"))
    }
    fn upsample_nearest(&self, _: &GpuTensor, _: usize) -> Result<GpuTensor> {
        Err(unsupported("upsample_nearest"))
    }
    fn reflect_pad(&self, _: &GpuTensor, _: usize, _: usize) -> Result<GpuTensor> {
        Err(unsupported("reflect_pad"))
    }
    fn snake(&self, _: &GpuTensor, _: &GpuWeight) -> Result<GpuTensor> {
        Err(unsupported("snake"))
    }
    fn linear(&self, _: &GpuTensor, _: &GpuWeight, _: Option<&GpuWeight>) -> Result<GpuTensor> {
        Err(unsupported("linear"))
    }
    fn embedding(&self, _: &GpuWeight, _: &[u32]) -> Result<GpuTensor> {
        Err(unsupported("embedding"))
    }
    fn layer_norm(&self, _: &GpuTensor, _: &GpuWeight, _: &GpuWeight, _: f32) -> Result<GpuTensor> {
        Err(unsupported("layer_norm"))
    }
    fn ada_norm(&self, _: &GpuTensor, _: &GpuTensor, _: NormKind, _: f32) -> Result<GpuTensor> {
        Err(unsupported("ada_norm"))
    }
    fn unary(&self, _: &GpuTensor, _: Unary) -> Result<GpuTensor> {
        Err(unsupported("unary"))
    }
    fn add(&self, _: &GpuTensor, _: &GpuTensor) -> Result<GpuTensor> {
        Err(unsupported("add"))
    }
    fn scale(&self, _: &GpuTensor, _: f32) -> Result<GpuTensor> {
        Err(unsupported("scale"))
    }
    fn concat(&self, _: &[&GpuTensor]) -> Result<GpuTensor> {
        Err(unsupported("concat"))
    }
    fn broadcast(&self, _: &GpuTensor, _: usize) -> Result<GpuTensor> {
        Err(unsupported("broadcast"))
    }
    fn repeat_interleave(&self, _: &GpuTensor, _: &[usize]) -> Result<GpuTensor> {
        Err(unsupported("repeat_interleave"))
    }
    fn attention(&self, _: &GpuTensor, _: &GpuTensor, _: &GpuTensor, _: usize) -> Result<GpuTensor> {
        Err(unsupported("attention"))
    }
    fn lstm(&self, _: &GpuTensor, _: &LstmWeights<'_, GpuWeight>, _: bool) -> Result<GpuTensor> {
        Err(unsupported("lstm"))
    }

    fn flush(&self) -> Result<()> {
        if let Some(encoder) = self.encoder.borrow_mut().take() {
            self.queue.submit([encoder.finish()]);
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
