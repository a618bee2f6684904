//! The JavaScript API (wasm-bindgen). Every entry point returns a rejected promise or throws a
//! JS `Error` with the library's message; none panics.

use std::rc::Rc;

use js_sys::Promise;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::backend::{Backend, CpuBackend, GpuBackend};
use crate::selftest::{run_self_test, standard_cases};

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// Whether this build's CPU kernels use wasm `simd128`.
#[wasm_bindgen]
pub fn simd128() -> bool {
    cfg!(target_feature = "simd128")
}

/// Which backend runs an op.
#[derive(Clone, Copy)]
enum BackendKind {
    Cpu,
    WebGpu,
}

impl BackendKind {
    fn parse(name: &str) -> Result<Self, JsError> {
        match name {
            "cpu" => Ok(Self::Cpu),
            "webgpu" => Ok(Self::WebGpu),
            other => Err(JsError::new(&format!("unknown backend {other:?}: expected \"cpu\" or \"webgpu\""))),
        }
    }
}

struct Inner {
    cpu: CpuBackend,
    gpu: Result<GpuBackend, String>,
}

impl Inner {
    fn gpu(&self) -> Result<&GpuBackend, JsError> {
        self.gpu.as_ref().map_err(|e| JsError::new(&format!("WebGPU is not available: {e}")))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BackendsInfo<'a> {
    cpu: String,
    simd128: bool,
    gpu: Option<&'a crate::backend::gpu::AdapterSummary>,
    gpu_error: Option<&'a str>,
}

/// The engine's devices: the CPU always, WebGPU when the browser offers an adapter.
#[wasm_bindgen]
pub struct Runtime {
    inner: Rc<Inner>,
}

#[wasm_bindgen]
impl Runtime {
    /// Opens WebGPU if possible. Resolves to a `Runtime` in every case; `backends().gpuError`
    /// says why the GPU is missing, and work falls back to the CPU.
    #[wasm_bindgen(unchecked_return_type = "Promise<Runtime>")]
    pub fn create() -> Promise {
        future_to_promise(async {
            let gpu = GpuBackend::new().await.map_err(|e| e.to_string());
            Ok(Runtime { inner: Rc::new(Inner { cpu: CpuBackend, gpu }) }.into())
        })
    }

    /// `{ cpu, simd128, gpu: { name, backend, deviceType, driver, maxStorageBufferBindingSize } | null, gpuError }`
    pub fn backends(&self) -> Result<JsValue, JsError> {
        let info = BackendsInfo {
            cpu: self.inner.cpu.name(),
            simd128: simd128(),
            gpu: self.inner.gpu.as_ref().ok().map(GpuBackend::adapter),
            gpu_error: self.inner.gpu.as_ref().err().map(String::as_str),
        };
        Ok(serde_wasm_bindgen::to_value(&info)?)
    }

    /// Runs the conv1d self-test on `"cpu"` or `"webgpu"`; resolves to
    /// `{ backend, pass, cases: [{ name, maxRelError, pass, error }] }`.
    #[wasm_bindgen(js_name = selfTest, unchecked_return_type = "Promise<any>")]
    pub fn self_test(&self, backend: &str) -> Result<Promise, JsError> {
        let kind = BackendKind::parse(backend)?;
        let inner = self.inner.clone();
        Ok(future_to_promise(async move {
            let report = match kind {
                BackendKind::Cpu => run_self_test(&inner.cpu).await,
                BackendKind::WebGpu => run_self_test(inner.gpu()?).await,
            };
            Ok(serde_wasm_bindgen::to_value(&report)?)
        }))
    }

    /// Names of the standard conv1d cases.
    #[wasm_bindgen(js_name = caseNames)]
    pub fn case_names(&self) -> Vec<String> {
        standard_cases().into_iter().map(|c| c.name).collect()
    }

    /// Runs the standard conv1d case `name` on `"cpu"` or `"webgpu"` and resolves to its output
    /// (a `Float32Array`), for comparison with values computed natively.
    #[wasm_bindgen(js_name = runCase, unchecked_return_type = "Promise<Float32Array>")]
    pub fn run_case(&self, name: &str, backend: &str) -> Result<Promise, JsError> {
        let kind = BackendKind::parse(backend)?;
        let case = standard_cases()
            .into_iter()
            .find(|c| c.name == name)
            .ok_or_else(|| JsError::new(&format!("unknown case {name:?}")))?;
        let inner = self.inner.clone();
        Ok(future_to_promise(async move {
            let out = match kind {
                BackendKind::Cpu => case.run(&inner.cpu).await,
                BackendKind::WebGpu => case.run(inner.gpu()?).await,
            }
            .map_err(|e| JsError::new(&e.to_string()))?;
            Ok(js_sys::Float32Array::from(out.as_slice()).into())
        }))
    }
}
