//! Device memory: buffers by size class, reused once the tensor holding one is dropped, and the
//! bytes in use, pooled and at peak.
//!
//! A buffer dropped while the command encoder that used it is still open can be reused in the
//! same encoder only as a kernel's output (the GPU orders that write after the earlier reads);
//! contents written through the queue (uploads, uniforms) land before the whole encoder runs,
//! so those take only buffers free since the last submit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Bytes of device memory, as [`super::GpuBackend::memory`] reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuMemory {
    /// Weights resident on the device.
    pub weights: u64,
    /// Activations, uniforms and index arrays held by live tensors and pending work.
    pub in_use: u64,
    /// Free buffers kept for reuse.
    pub pooled: u64,
    /// The most `weights + in_use + pooled` has been.
    pub peak: u64,
}

type FreeLists = HashMap<(u64, u32), Vec<wgpu::Buffer>>;

#[derive(Default)]
pub(super) struct Pool {
    /// Unused since the last submit.
    free: FreeLists,
    /// Dropped since the last submit.
    recycled: FreeLists,
    memory: GpuMemory,
}

/// The size a request of `bytes` is served at: a multiple of a sixteenth of its power of two
/// (at most 12.5 % more), at least 256 bytes.
fn size_class(bytes: u64) -> u64 {
    let bytes = bytes.max(256);
    let step = bytes.next_power_of_two() / 16;
    bytes.next_multiple_of(step)
}

impl Pool {
    fn note_peak(&mut self) {
        let m = &mut self.memory;
        m.peak = m.peak.max(m.weights + m.in_use + m.pooled);
    }
}

/// A device buffer that goes back to its pool when dropped (or, for weights, is counted out).
pub(super) struct DeviceBuffer {
    buffer: Option<wgpu::Buffer>,
    class: u64,
    usage: wgpu::BufferUsages,
    weight: bool,
    pool: Arc<Mutex<Pool>>,
}

impl std::ops::Deref for DeviceBuffer {
    type Target = wgpu::Buffer;
    fn deref(&self) -> &wgpu::Buffer {
        self.buffer.as_ref().expect("present until dropped")
    }
}

impl Drop for DeviceBuffer {
    fn drop(&mut self) {
        let Some(buffer) = self.buffer.take() else { return };
        let mut pool = lock(&self.pool);
        if self.weight {
            pool.memory.weights -= self.class;
            return;
        }
        pool.memory.in_use -= self.class;
        pool.memory.pooled += self.class;
        pool.recycled.entry((self.class, self.usage.bits())).or_default().push(buffer);
    }
}

fn lock(pool: &Mutex<Pool>) -> std::sync::MutexGuard<'_, Pool> {
    pool.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How a buffer is first written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Use {
    /// By a kernel or a copy recorded in the encoder.
    Output,
    /// Through the queue (see the module docs).
    QueueWritten,
    /// A weight: its exact size, outside the pool, written through the queue.
    Weight,
}

/// Hands out a buffer of at least `bytes` with `usage`: a pooled one of the same class that
/// `first_use` allows, or a new one.
pub(super) fn take(device: &wgpu::Device, pool: &Arc<Mutex<Pool>>, label: &str, bytes: u64, usage: wgpu::BufferUsages, first_use: Use) -> DeviceBuffer {
    let weight = first_use == Use::Weight;
    let class = if weight { bytes.next_multiple_of(4).max(4) } else { size_class(bytes) };
    let key = (class, usage.bits());
    let mut guard = lock(pool);
    let reused = match first_use {
        Use::Weight => None,
        Use::QueueWritten => guard.free.get_mut(&key).and_then(Vec::pop),
        Use::Output => match guard.free.get_mut(&key).and_then(Vec::pop) {
            Some(b) => Some(b),
            None => guard.recycled.get_mut(&key).and_then(Vec::pop),
        },
    };
    let buffer = match reused {
        Some(b) => {
            guard.memory.pooled -= class;
            b
        }
        None => device.create_buffer(&wgpu::BufferDescriptor { label: Some(label), size: class, usage, mapped_at_creation: false }),
    };
    if weight {
        guard.memory.weights += class;
    } else {
        guard.memory.in_use += class;
    }
    guard.note_peak();
    DeviceBuffer { buffer: Some(buffer), class, usage, weight, pool: pool.clone() }
}

/// The encoder was submitted: buffers dropped before now may take any use.
pub(super) fn submitted(pool: &Mutex<Pool>) {
    let mut guard = lock(pool);
    let recycled: Vec<_> = guard.recycled.drain().collect();
    for (key, mut buffers) in recycled {
        guard.free.entry(key).or_default().append(&mut buffers);
    }
}

/// The pool's counts.
pub(super) fn memory(pool: &Mutex<Pool>) -> GpuMemory {
    lock(pool).memory
}

/// Destroys the pooled buffers (memory in use stays).
pub(super) fn trim(pool: &Mutex<Pool>) {
    let mut guard = lock(pool);
    let Pool { free, recycled, memory } = &mut *guard;
    for buffer in free.drain().chain(recycled.drain()).flat_map(|(_, v)| v) {
        buffer.destroy();
    }
    memory.pooled = 0;
}

#[cfg(test)]
mod tests {
    use super::size_class;

    #[test]
    fn size_classes_waste_at_most_an_eighth() {
        for bytes in [1u64, 255, 256, 257, 1000, 4096, 4097, 1 << 20, (1 << 20) + 1, 123_456_789] {
            let c = size_class(bytes);
            assert!(c >= bytes && c.is_multiple_of(4), "{bytes} → {c}");
            assert!(bytes < 256 || c <= bytes + bytes / 8 + 1, "{bytes} → {c}");
        }
        assert_eq!(size_class(1000), size_class(1020));
    }
}
