//! Batch similarity and top-k on a GPU, with wgpu (cargo feature `gpu`).
//!
//! A `GpuMatrix` holds the rows of an index on the device (as the index
//! stores them: unit length for cosine), in slabs no larger than the
//! adapter's storage-binding limit. `search` scores a batch of queries and
//! returns each query's best k, ties to the smaller row: the shader
//! (`topk.wgsl`) leaves each chunk of 1024 rows' best k, merged here.
//!
//! Python decides when to use it (`oms_accel._vector_gpu`): only on a real
//! GPU, not a CPU renderer such as Mesa's llvmpipe or lavapipe, unless
//! asked to, as the tests do.

use crate::buffer::Input;
use crate::errors;
use pyo3::prelude::*;
use std::sync::mpsc;
use wgpu::util::DeviceExt;

const WORKGROUP: u32 = 256;
const CHUNK: u32 = 1024;
/// The shader keeps a query in workgroup memory.
pub const MAX_DIM: u32 = 2048;
/// Rounds of argmax per chunk: beyond this, the CPU is the better tool.
pub const MAX_K: u32 = 256;
/// Queries per dispatch (the y dimension of the grid).
const QUERY_GROUP: u32 = 1024;
const NONE: u32 = u32::MAX;

#[repr(C)]
#[derive(Clone, Copy)]
struct Params {
    rows: u32,
    dim: u32,
    k: u32,
    l2: u32,
    chunks: u32,
    query_base: u32,
    _pad: [u32; 2],
}

impl Params {
    fn bytes(&self) -> Vec<u8> {
        [
            self.rows,
            self.dim,
            self.k,
            self.l2,
            self.chunks,
            self.query_base,
            0,
            0,
        ]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect()
    }
}

/// (query in its group, (key, row in its slab)).
type Candidate = (usize, (f32, u32));

struct Slab {
    buffer: wgpu::Buffer,
    first_row: u32,
    rows: u32,
}

struct Gpu {
    adapter: wgpu::AdapterInfo,
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipeline: wgpu::ComputePipeline,
    max_binding: u64,
}

fn gpu_error(py: Python<'_>, message: impl Into<String>) -> PyErr {
    errors::raise(py, "BackendUnavailableError", message, "unavailable")
}

/// The adapter wgpu picks (high performance first), without a device.
fn adapter() -> Result<wgpu::Adapter, String> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        ..Default::default()
    }))
    .map_err(|e| format!("no GPU adapter: {e}"))
}

fn open() -> Result<Gpu, String> {
    let adapter = adapter()?;
    let limits = adapter.limits();
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("oms-accel"),
        required_features: wgpu::Features::empty(),
        // The adapter's own limits: its storage-binding size decides the slabs.
        required_limits: limits.clone(),
        experimental_features: wgpu::ExperimentalFeatures::disabled(),
        memory_hints: wgpu::MemoryHints::Performance,
        trace: wgpu::Trace::Off,
    }))
    .map_err(|e| format!("the GPU refused a device: {e}"))?;
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("topk"),
        source: wgpu::ShaderSource::Wgsl(include_str!("topk.wgsl").into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("topk"),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    Ok(Gpu {
        adapter: adapter.get_info(),
        device,
        queue,
        pipeline,
        max_binding: limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size),
    })
}

/// `(name, device type, backend)` of the adapter wgpu would use, or None.
#[pyfunction]
pub fn gpu_adapter(py: Python<'_>) -> Option<(String, String, String)> {
    py.detach(adapter).ok().map(|a| {
        let info = a.get_info();
        (
            info.name,
            format!("{:?}", info.device_type),
            format!("{:?}", info.backend),
        )
    })
}

#[pyclass(frozen)]
pub struct GpuMatrix {
    gpu: Gpu,
    slabs: Vec<Slab>,
    dim: u32,
    l2: bool,
}

#[pymethods]
impl GpuMatrix {
    /// `rows`: little-endian f32, `dim` per row, as the index stores them.
    #[new]
    fn new(py: Python<'_>, rows: Input<'_>, dim: u32, l2: bool) -> PyResult<Self> {
        let data = rows.as_slice();
        if dim == 0 || dim > MAX_DIM {
            return Err(errors::argument_error(
                py,
                format!("the GPU path takes dimensions from 1 to {MAX_DIM}, not {dim}"),
            ));
        }
        let row_bytes = dim as usize * 4;
        if !data.len().is_multiple_of(row_bytes) {
            return Err(errors::argument_error(py, "the rows are not whole vectors"));
        }
        let n = data.len() / row_bytes;
        if n > u32::MAX as usize / 2 {
            return Err(errors::limit_error(py, "too many rows for the GPU path"));
        }
        py.detach(|| -> Result<GpuMatrix, String> {
            let gpu = open()?;
            let per_slab = ((gpu.max_binding as usize / row_bytes) / CHUNK as usize
                * CHUNK as usize)
                .max(CHUNK as usize);
            let mut slabs = Vec::new();
            for (i, part) in data.chunks(per_slab * row_bytes).enumerate() {
                let buffer = gpu
                    .device
                    .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: Some("rows"),
                        contents: part,
                        usage: wgpu::BufferUsages::STORAGE,
                    });
                slabs.push(Slab {
                    buffer,
                    first_row: (i * per_slab) as u32,
                    rows: (part.len() / row_bytes) as u32,
                });
            }
            Ok(GpuMatrix {
                gpu,
                slabs,
                dim,
                l2,
            })
        })
        .map_err(|e| gpu_error(py, e))
    }

    /// The adapter's name and device type (`Cpu` for a software renderer).
    #[getter]
    fn adapter(&self) -> (String, String) {
        (
            self.gpu.adapter.name.clone(),
            format!("{:?}", self.gpu.adapter.device_type),
        )
    }

    /// Each query's best `k` rows: `(rows, keys)` as little-endian u32 and
    /// f32, `min(k, n)` per query, best first. Keys are the dot product, or
    /// minus the L2 distance.
    fn search(&self, py: Python<'_>, queries: Input<'_>, k: u32) -> PyResult<(Vec<u8>, Vec<u8>)> {
        let q = queries.as_slice();
        let row_bytes = self.dim as usize * 4;
        if !q.len().is_multiple_of(row_bytes) {
            return Err(errors::argument_error(
                py,
                "the queries are not whole vectors",
            ));
        }
        if k == 0 || k > MAX_K {
            return Err(errors::argument_error(
                py,
                format!("the GPU path takes k from 1 to {MAX_K}, not {k}"),
            ));
        }
        let nq = (q.len() / row_bytes) as u32;
        py.detach(|| self.run(q, nq, k))
            .map_err(|e| gpu_error(py, e))
    }
}

impl GpuMatrix {
    fn run(&self, queries: &[u8], nq: u32, k: u32) -> Result<(Vec<u8>, Vec<u8>), String> {
        let n: u32 = self.slabs.iter().map(|s| s.rows).sum();
        let take = k.min(n) as usize;
        let mut ids = Vec::with_capacity(nq as usize * take * 4);
        let mut keys = Vec::with_capacity(nq as usize * take * 4);
        if nq == 0 || n == 0 {
            return Ok((ids, keys));
        }
        let device = &self.gpu.device;
        let query_buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("queries"),
            contents: queries,
            usage: wgpu::BufferUsages::STORAGE,
        });
        let mut base = 0;
        while base < nq {
            let group = (nq - base).min(QUERY_GROUP);
            // Every slab's candidates for this group of queries.
            let mut candidates: Vec<Vec<(f32, u32)>> = vec![Vec::new(); group as usize];
            for slab in &self.slabs {
                let chunks = slab.rows.div_ceil(CHUNK);
                for (qi, (key, row)) in
                    self.dispatch(slab, &query_buffer, base, group, chunks, k)?
                {
                    candidates[qi].push((key, slab.first_row + row));
                }
            }
            for mut c in candidates {
                c.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                for &(key, row) in c.iter().take(take) {
                    ids.extend_from_slice(&row.to_le_bytes());
                    keys.extend_from_slice(&key.to_le_bytes());
                }
            }
            base += group;
        }
        Ok((ids, keys))
    }

    /// One dispatch over a slab: `(query in group, (key, row in slab))` per candidate.
    fn dispatch(
        &self,
        slab: &Slab,
        queries: &wgpu::Buffer,
        base: u32,
        group: u32,
        chunks: u32,
        k: u32,
    ) -> Result<Vec<Candidate>, String> {
        let device = &self.gpu.device;
        let params = Params {
            rows: slab.rows,
            dim: self.dim,
            k,
            l2: u32::from(self.l2),
            chunks,
            query_base: base,
            _pad: [0; 2],
        };
        let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: &params.bytes(),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let out_size = u64::from(group) * u64::from(chunks) * u64::from(k) * 8;
        let out = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("candidates"),
            size: out_size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: out_size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let layout = self.gpu.pipeline.get_bind_group_layout(0);
        let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: slab.buffer.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: queries.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: out.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: uniform.as_entire_binding(),
                },
            ],
        });
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.gpu.pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(chunks, group, 1);
        }
        encoder.copy_buffer_to_buffer(&out, 0, &readback, 0, out_size);
        self.gpu.queue.submit([encoder.finish()]);
        let (tx, rx) = mpsc::channel();
        readback.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| format!("the GPU failed: {e}"))?;
        rx.recv()
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("reading the GPU's results failed: {e}"))?;
        let view = readback
            .get_mapped_range(..)
            .map_err(|e| format!("reading the GPU's results failed: {e:?}"))?;
        let per_query = (chunks * k) as usize;
        let found = view
            .chunks_exact(8)
            .enumerate()
            .filter_map(|(i, c)| {
                let key = f32::from_le_bytes(c[..4].try_into().unwrap());
                let row = u32::from_le_bytes(c[4..].try_into().unwrap());
                (row != NONE).then_some((i / per_query, (key, row)))
            })
            .collect();
        drop(view);
        readback.unmap();
        Ok(found)
    }
}

/// Checks the shader's constants against the host's.
const _: () = assert!(WORKGROUP == 256 && CHUNK.is_multiple_of(WORKGROUP));
