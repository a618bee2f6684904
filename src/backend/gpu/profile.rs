//! Kernel times from timestamp queries: each compute pass writes a timestamp as it begins and
//! ends, the encoder resolves them before it is submitted, and [`Profiler::collect`] reads them
//! back and sums them by op.

use crate::backend::OpTimes;
use crate::error::{Error, Result};

/// Queries per set: wgpu's limit (4096), two per dispatch.
const QUERIES_PER_SET: u32 = 4096;
const DISPATCHES_PER_SET: usize = QUERIES_PER_SET as usize / 2;

#[derive(Default)]
pub(super) struct Profiler {
    /// Reused by every encoder (queue order keeps one encoder's queries from the next's).
    sets: Vec<wgpu::QuerySet>,
    /// The op of each timed dispatch in the open encoder.
    open: Vec<&'static str>,
    /// Resolved timestamps of submitted encoders, waiting to be read.
    pending: Vec<(wgpu::Buffer, Vec<&'static str>)>,
}

impl Profiler {
    /// Where the next dispatch, of `op`, writes its two timestamps.
    pub(super) fn next_pass<'s>(&'s mut self, device: &wgpu::Device, op: &'static str) -> wgpu::ComputePassTimestampWrites<'s> {
        let index = self.open.len();
        self.open.push(op);
        let set = index / DISPATCHES_PER_SET;
        while self.sets.len() <= set {
            self.sets.push(device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("kernel timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: QUERIES_PER_SET,
            }));
        }
        let first = (2 * (index % DISPATCHES_PER_SET)) as u32;
        wgpu::ComputePassTimestampWrites {
            query_set: &self.sets[set],
            beginning_of_pass_write_index: Some(first),
            end_of_pass_write_index: Some(first + 1),
        }
    }

    /// Records, at the end of `encoder`, the copy of its timestamps to a buffer read later.
    pub(super) fn resolve(&mut self, device: &wgpu::Device, encoder: &mut wgpu::CommandEncoder) {
        if self.open.is_empty() {
            return;
        }
        let bytes = (self.open.len() * 2 * 8) as u64;
        let usage = wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC;
        let resolved = device.create_buffer(&wgpu::BufferDescriptor { label: Some("timestamps"), size: bytes, usage, mapped_at_creation: false });
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        for (set, chunk) in self.open.chunks(DISPATCHES_PER_SET).enumerate() {
            let offset = (set * DISPATCHES_PER_SET * 2 * 8) as u64;
            encoder.resolve_query_set(&self.sets[set], 0..(2 * chunk.len()) as u32, &resolved, offset);
        }
        encoder.copy_buffer_to_buffer(&resolved, 0, &staging, 0, bytes);
        self.pending.push((staging, std::mem::take(&mut self.open)));
    }

    /// The resolved buffers to read, leaving none pending.
    pub(super) fn take_pending(&mut self) -> Vec<(wgpu::Buffer, Vec<&'static str>)> {
        std::mem::take(&mut self.pending)
    }

    /// The kernel times in `pending` (resolved by submitted encoders), summed by op.
    pub(super) async fn collect(device: &wgpu::Device, queue: &wgpu::Queue, pending: Vec<(wgpu::Buffer, Vec<&'static str>)>) -> Result<OpTimes> {
        let period_ns = queue.get_timestamp_period() as f64;
        let mut times = OpTimes::new();
        for (staging, ops) in pending {
            let ticks = super::map_read(device, &staging).await?;
            let ticks: Vec<u64> = bytemuck::pod_collect_to_vec(&ticks);
            for (op, pair) in ops.iter().zip(ticks.chunks_exact(2)) {
                // An end before its beginning is a driver's counter wrapping or resetting.
                let ns = pair[1].checked_sub(pair[0]).ok_or_else(|| Error::Gpu("timestamps out of order".into()))? as f64 * period_ns;
                times.entry(op).or_default().add(ns / 1e6);
            }
        }
        Ok(times)
    }
}
