//! Reads PyTorch checkpoints (`torch.save`'s zip format) so `tritone convert` can take hexgrad's
//! `kokoro-v1_0.pth` as published, with no Python on the user's machine.
//!
//! A checkpoint is a zip archive whose records sit under one folder: `data.pkl`, a pickle of the
//! saved object, and `data/<key>`, the raw little-endian bytes of each storage the pickle refers
//! to. The pickle is untrusted input, so it runs on a small VM that knows only the opcodes
//! `torch.save` emits and an allow-list of globals (tensor rebuilding, `OrderedDict`, storage
//! types and dtypes). It never executes anything, and sizes are checked against the archive
//! before anything is allocated for them.

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read};
use std::rc::Rc;

use half::{bf16, f16};
use zip::ZipArchive;

use crate::error::{Error, Result};

/// Element type a tensor is stored with; values are handed out as f32 whatever it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PthDtype {
    F32,
    F16,
    BF16,
    F64,
    /// Integer buffers such as ALBERT's `position_ids`, which Kokoro's checkpoint carries. Values
    /// round to the nearest f32, exact up to 2^24.
    I64,
}

impl PthDtype {
    /// `torch.<name>` as a storage class (`FloatStorage`, what torch.save writes) or as a dtype
    /// (`float32`).
    fn from_torch_name(name: &str) -> Option<Self> {
        Some(match name {
            "FloatStorage" | "float32" => Self::F32,
            "HalfStorage" | "float16" => Self::F16,
            "BFloat16Storage" | "bfloat16" => Self::BF16,
            "DoubleStorage" | "float64" => Self::F64,
            "LongStorage" | "int64" => Self::I64,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::F32 => "float32",
            Self::F16 => "float16",
            Self::BF16 => "bfloat16",
            Self::F64 => "float64",
            Self::I64 => "int64",
        }
    }

    fn size(self) -> usize {
        match self {
            Self::F16 | Self::BF16 => 2,
            Self::F32 => 4,
            Self::F64 | Self::I64 => 8,
        }
    }

    /// `bytes` is one element, exactly `size()` long (callers slice with `chunks_exact`).
    fn decode(self, bytes: &[u8]) -> f32 {
        fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
            bytes.try_into().unwrap_or([0; N])
        }
        match self {
            Self::F32 => f32::from_le_bytes(array(bytes)),
            Self::F16 => f16::from_le_bytes(array(bytes)).to_f32(),
            Self::BF16 => bf16::from_le_bytes(array(bytes)).to_f32(),
            Self::F64 => f64::from_le_bytes(array(bytes)) as f32,
            Self::I64 => i64::from_le_bytes(array(bytes)) as f32,
        }
    }
}

/// Other element types torch stores, named as unsupported rather than as disallowed globals.
const OTHER_TORCH_DTYPES: &[&str] =
    &["int32", "int16", "int8", "uint8", "bool", "complex64", "complex128", "float8_e4m3fn", "float8_e5m2"];

/// One tensor of a checkpoint: its values in C order, converted to f32.
#[derive(Clone, Debug, PartialEq)]
pub struct PthTensor {
    pub shape: Vec<usize>,
    /// How the checkpoint stored it, so a converter knows whether f16 output loses anything.
    pub dtype: PthDtype,
    data: Vec<f32>,
}

impl PthTensor {
    /// Fails unless `shape` holds exactly `data.len()` values.
    pub fn new(shape: Vec<usize>, dtype: PthDtype, data: Vec<f32>) -> Result<Self> {
        let expected = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        if expected != Some(data.len()) {
            return Err(Error::ShapeMismatch {
                what: "pth tensor",
                shape,
                expected: expected.unwrap_or(usize::MAX),
                got: data.len(),
            });
        }
        Ok(Self { shape, dtype, data })
    }

    pub fn values(&self) -> &[f32] {
        &self.data
    }

    pub fn into_values(self) -> Vec<f32> {
        self.data
    }
}

fn fail(reason: impl Into<String>) -> Error {
    Error::InvalidArgument { op: "pth", reason: reason.into() }
}

/// Every tensor of a checkpoint (or the one tensor of a bare `torch.save(tensor)`, named ""),
/// flattened: nested dict keys joined with '.', e.g.
/// `{'bert': {'module.x.weight': T}}` → `"bert.module.x.weight"`. List and tuple items are named by
/// their index; values that hold no tensor (counters, config strings) are skipped.
pub fn read_pth(bytes: &[u8]) -> Result<Vec<(String, PthTensor)>> {
    let mut archive = Archive::open(bytes)?;
    let pickle = archive.read(archive.data_pkl, "data.pkl", None)?;
    let (root, objs) = Unpickler::new(&pickle, &archive.storages).run()?;
    // Shared tensors and dicts are legitimate, but a few pickle bytes can repeat one tensor or
    // dict endlessly: visit each object a few times at most, and cap the output at four bytes per
    // byte of checkpoint (plus room for names).
    let mut walk = Walk {
        objs: &objs,
        path: String::new(),
        visits_left: objs.iter().map(Obj::len).sum::<usize>().saturating_add(1).saturating_mul(4),
        budget: bytes.len().saturating_mul(4).saturating_add(1 << 20),
        leaves: Vec::new(),
    };
    match &root {
        // A state dict, or a single tensor (voice packs are saved bare, named "").
        Value::Obj(i) if matches!(objs.get(*i), Some(Obj::Dict(_))) => walk.value(&root, 0)?,
        Value::Tensor(_) => walk.value(&root, 0)?,
        other => {
            return Err(fail(format!("the checkpoint holds a {}, not a dict of tensors", type_name(other, &objs))))
        }
    }
    let mut names = HashSet::new();
    let mut cached: Option<(String, Vec<u8>)> = None;
    let mut out = Vec::with_capacity(walk.leaves.len());
    for (name, tensor) in walk.leaves {
        if !names.insert(name.clone()) {
            return Err(fail(format!("two tensors are both named {name:?}")));
        }
        // One storage in memory at a time: tensors sharing one (views, tied weights) are usually
        // pickled one after another, and otherwise it is simply read again.
        let raw = match &cached {
            Some((key, raw)) if *key == tensor.storage.key => raw,
            _ => {
                let key = &tensor.storage.key;
                let &(index, size) =
                    archive.storages.get(key).ok_or_else(|| fail(format!("storage {key:?} vanished")))?;
                let raw = archive.read(index, &format!("data/{key}"), Some(size))?;
                &cached.insert((key.clone(), raw)).1
            }
        };
        let data = tensor.values(raw).map_err(|reason| fail(format!("tensor {name:?}: {reason}")))?;
        out.push((name, PthTensor { shape: tensor.shape.clone(), dtype: tensor.storage.dtype, data }));
    }
    Ok(out)
}

/// Kokoro's checkpoint convention: strips the `module.` prefix after the top-level key
/// ("bert.module.x" → "bert.x"; hexgrad saved each part wrapped in DataParallel) and folds weight
/// norm: `X.weight_g` + `X.weight_v` and `X.parametrizations.weight.original0` (g) + `.original1`
/// (v) become `X.weight` = g·v/‖v‖, the norm over all dims but 0, computed in f64 then rounded to
/// f32 (folded weights report `PthDtype::F32`). A g without its v (or vice versa) or mismatched
/// shapes is an error naming them. Order is kept; a folded weight takes its first half's place.
pub fn fold_kokoro_checkpoint(tensors: Vec<(String, PthTensor)>) -> Result<Vec<(String, PthTensor)>> {
    enum Slot {
        Plain(String, PthTensor),
        Folded(String),
    }
    type Half = Option<(String, PthTensor)>;
    let mut slots = Vec::with_capacity(tensors.len());
    let mut halves: HashMap<String, (Half, Half)> = HashMap::new();
    for (name, tensor) in tensors {
        let name = match name.split_once('.') {
            Some((top, rest)) => match rest.strip_prefix("module.") {
                Some(rest) => format!("{top}.{rest}"),
                None => name,
            },
            None => name,
        };
        let Some((base, is_g, _)) = weight_norm_half(&name) else {
            slots.push(Slot::Plain(name, tensor));
            continue;
        };
        let target = format!("{base}.weight");
        let pair = halves.entry(target.clone()).or_insert_with(|| {
            slots.push(Slot::Folded(target.clone()));
            (None, None)
        });
        let half = if is_g { &mut pair.0 } else { &mut pair.1 };
        if let Some((other, _)) = half {
            return Err(fail(format!("{other} and {name} both give {target}")));
        }
        *half = Some((name, tensor));
    }
    let mut names = HashSet::new();
    let mut out = Vec::with_capacity(slots.len());
    for slot in slots {
        let (name, tensor) = match slot {
            Slot::Plain(name, tensor) => (name, tensor),
            Slot::Folded(target) => {
                let tensor = match halves.remove(&target) {
                    Some((Some((g_name, g)), Some((v_name, v)))) => fold_weight_norm(&g_name, &g, &v_name, &v)?,
                    Some((Some((present, _)), None) | (None, Some((present, _)))) => {
                        let missing = weight_norm_half(&present).map(|(_, _, partner)| partner).unwrap_or_default();
                        return Err(Error::MissingTensor { name: missing });
                    }
                    _ => return Err(Error::MissingTensor { name: target }),
                };
                (target, tensor)
            }
        };
        if !names.insert(name.clone()) {
            return Err(fail(format!("two tensors are both named {name:?} after folding weight norm")));
        }
        out.push((name, tensor));
    }
    Ok(out)
}

/// `(X, is_g, partner name)` for a half of a weight-normed `X.weight`: `torch.nn.utils.weight_norm`'s
/// `weight_g`/`weight_v` or its `parametrizations` successor's `original0`/`original1`.
fn weight_norm_half(name: &str) -> Option<(&str, bool, String)> {
    const HALVES: [(&str, &str); 2] =
        [(".weight_g", ".weight_v"), (".parametrizations.weight.original0", ".parametrizations.weight.original1")];
    HALVES.iter().find_map(|&(g, v)| {
        if let Some(base) = name.strip_suffix(g) {
            Some((base, true, format!("{base}{v}")))
        } else {
            name.strip_suffix(v).map(|base| (base, false, format!("{base}{g}")))
        }
    })
}

/// `g·v/‖v‖` row by row (weight norm with `dim=0`, so g is `[rows, 1, …]`), in f64.
fn fold_weight_norm(g_name: &str, g: &PthTensor, v_name: &str, v: &PthTensor) -> Result<PthTensor> {
    let rows = v.shape.first().copied().unwrap_or(0);
    let mut g_shape = vec![1; v.shape.len()];
    if let Some(first) = g_shape.first_mut() {
        *first = rows;
    }
    if v.shape.is_empty() || g.shape != g_shape {
        return Err(fail(format!(
            "weight norm: {g_name} has shape {:?} but {v_name} has {:?}, so g should be {g_shape:?}",
            g.shape, v.shape
        )));
    }
    let mut data = Vec::with_capacity(v.data.len());
    if !v.data.is_empty() {
        let inner = v.data.len() / rows;
        for (row, &g) in v.data.chunks_exact(inner).zip(&g.data) {
            let norm = row.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
            data.extend(row.iter().map(|&x| (f64::from(g) * f64::from(x) / norm) as f32));
        }
    }
    PthTensor::new(v.shape.clone(), PthDtype::F32, data)
}

/// The zip container: where `data.pkl` and each storage record are.
struct Archive<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    /// `<folder>/`, the one folder torch.save puts every record under.
    prefix: String,
    data_pkl: usize,
    /// Storage key → (zip index, bytes) of `<folder>/data/<key>`.
    storages: HashMap<String, (usize, u64)>,
    len: u64,
}

impl<'a> Archive<'a> {
    fn open(bytes: &'a [u8]) -> Result<Self> {
        let zip = ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
            if bytes.starts_with(&[0x80]) {
                fail("a legacy (before torch 1.6) checkpoint, which is not supported: re-save it with a current torch")
            } else {
                fail(format!("not a torch.save zip archive: {e}"))
            }
        })?;
        let pkls: Vec<&str> =
            zip.file_names().filter(|n| n.ends_with("/data.pkl") && n.matches('/').count() == 1).collect();
        let [pkl] = pkls[..] else {
            return Err(fail(format!("expected one <folder>/data.pkl in the archive, found {}", pkls.len())));
        };
        let prefix = pkl.strip_suffix("data.pkl").unwrap_or(pkl).to_string();
        let data_pkl = zip.index_for_name(pkl).ok_or_else(|| fail("data.pkl vanished"))?;
        let mut archive = Self { zip, prefix, data_pkl, storages: HashMap::new(), len: bytes.len() as u64 };
        for index in 0..archive.zip.len() {
            let file = archive.zip.by_index_raw(index).map_err(|e| fail(format!("zip entry {index}: {e}")))?;
            if let Some(key) = file.name().strip_prefix(&archive.prefix).and_then(|n| n.strip_prefix("data/")) {
                archive.storages.insert(key.to_string(), (index, file.size()));
            }
        }
        let byteorder = archive.zip.index_for_name(&format!("{}byteorder", archive.prefix));
        if let Some(index) = byteorder {
            match &archive.read(index, "byteorder", None)?[..] {
                b"little" => {}
                b"big" => return Err(fail("a big-endian checkpoint: only little-endian storages are supported")),
                other => return Err(fail(format!("byteorder is {:?}", String::from_utf8_lossy(other)))),
            }
        }
        Ok(archive)
    }

    /// Record `index` (named `name` under the folder, for errors), checked against its CRC and,
    /// when given, its expected length.
    fn read(&mut self, index: usize, name: &str, expected: Option<u64>) -> Result<Vec<u8>> {
        let what = format!("{}{name}", self.prefix);
        let mut file = self.zip.by_index(index).map_err(|e| fail(format!("{what}: {e}")))?;
        let size = file.size();
        if let Some(expected) = expected.filter(|&n| n != size) {
            return Err(fail(format!("{what}: record of {size} bytes, expected {expected}")));
        }
        if size > self.len {
            return Err(fail(format!("{what}: record of {size} bytes, more than the whole file")));
        }
        let mut buf = Vec::with_capacity(size as usize);
        // One byte past the size so the reader reaches its end, where zip checks the CRC.
        (&mut file).take(size + 1).read_to_end(&mut buf).map_err(|e| fail(format!("{what}: {e}")))?;
        if buf.len() as u64 != size {
            return Err(fail(format!("{what}: record holds {} bytes, its header says {size}", buf.len())));
        }
        Ok(buf)
    }
}

/// What a pickle's globals may resolve to; anything else is refused, never imported.
#[derive(Clone, Copy, Debug)]
enum Global {
    OrderedDict,
    RebuildTensorV2,
    RebuildParameter,
    /// A storage class or dtype, naming a storage's element type.
    Type(PthDtype),
}

#[derive(Debug)]
struct Storage {
    key: String,
    dtype: PthDtype,
    numel: usize,
}

/// A tensor as the pickle describes it: a strided view of a storage, checked to stay inside it.
#[derive(Debug)]
struct TensorRef {
    storage: Rc<Storage>,
    offset: usize,
    shape: Vec<usize>,
    /// In elements; 0 for dims of size 1, whose stride never matters (and may be anything).
    stride: Vec<usize>,
}

impl TensorRef {
    /// The values in C order from the storage's bytes.
    fn values(&self, raw: &[u8]) -> Result<Vec<f32>, String> {
        let dtype = self.storage.dtype;
        let size = dtype.size();
        let n: usize = self.shape.iter().product();
        let past = || format!("runs past its storage {:?}", self.storage.key);
        let mut contiguous = true;
        let mut expected = 1;
        for (&d, &s) in self.shape.iter().zip(&self.stride).rev().filter(|&(&d, _)| d != 1) {
            contiguous &= s == expected;
            expected *= d;
        }
        if n == 0 {
            return Ok(Vec::new());
        }
        if contiguous {
            let bytes = raw.get(self.offset * size..(self.offset + n) * size).ok_or_else(past)?;
            return Ok(bytes.chunks_exact(size).map(|b| dtype.decode(b)).collect());
        }
        let mut out = Vec::with_capacity(n);
        let mut index = vec![0; self.shape.len()];
        let mut at = self.offset;
        for _ in 0..n {
            out.push(dtype.decode(raw.get(at * size..(at + 1) * size).ok_or_else(past)?));
            for (d, i) in index.iter_mut().enumerate().rev() {
                *i += 1;
                at += self.stride[d];
                if *i < self.shape[d] {
                    break;
                }
                at -= self.stride[d] * self.shape[d];
                *i = 0;
            }
        }
        Ok(out)
    }
}

/// A pickle value. Tuples, lists and dicts live in the VM's arena and are referred to by index, so
/// shared references alias as in Python, cycles are harmless, and nothing nests in Rust memory.
#[derive(Clone, Debug)]
enum Value {
    None,
    Bool,
    Int(i64),
    Float,
    Str(Rc<str>),
    Obj(usize),
    Global(Global),
    Storage(Rc<Storage>),
    Tensor(Rc<TensorRef>),
}

#[derive(Debug)]
enum Obj {
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
}

impl Obj {
    fn len(&self) -> usize {
        match self {
            Self::Tuple(items) | Self::List(items) => items.len(),
            Self::Dict(items) => items.len(),
        }
    }
}

fn type_name(value: &Value, objs: &[Obj]) -> &'static str {
    match value {
        Value::None => "None",
        Value::Bool => "bool",
        Value::Int(_) => "int",
        Value::Float => "float",
        Value::Str(_) => "str",
        Value::Obj(i) => match objs.get(*i) {
            Some(Obj::Tuple(_)) => "tuple",
            Some(Obj::List(_)) => "list",
            _ => "dict",
        },
        Value::Global(_) => "global",
        Value::Storage(_) => "storage",
        Value::Tensor(_) => "tensor",
    }
}

/// The pickle VM: Python's unpickler reduced to the opcodes torch.save writes (protocols 2 to 5).
struct Unpickler<'a> {
    data: &'a [u8],
    pos: usize,
    /// Where the opcode being run starts, for errors.
    at: usize,
    stack: Vec<Value>,
    /// Stack heights at each open MARK; nothing below the innermost one may be popped.
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    objs: Vec<Obj>,
    storages: &'a HashMap<String, (usize, u64)>,
}

impl<'a> Unpickler<'a> {
    fn new(data: &'a [u8], storages: &'a HashMap<String, (usize, u64)>) -> Self {
        Self {
            data,
            pos: 0,
            at: 0,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
            objs: Vec::new(),
            storages,
        }
    }

    fn error(&self, reason: impl std::fmt::Display) -> Error {
        let op = self.data.get(self.at).copied().unwrap_or(0);
        fail(format!("data.pkl byte {} (opcode 0x{op:02x}): {reason}", self.at))
    }

    /// The tuple, list or dict on top of the stack, which SETITEM(S) and APPEND(S) fill.
    fn container(&mut self) -> Result<&mut Obj> {
        let index = match self.top()? {
            Value::Obj(i) => *i,
            other => return Err(self.error(format!("adding items to a {}", type_name(other, &self.objs)))),
        };
        // In range: every Obj value indexes the arena it was pushed to.
        let error = || fail(format!("data.pkl byte {}: no object {index}", self.at));
        self.objs.get_mut(index).ok_or_else(error)
    }

    fn run(mut self) -> Result<(Value, Vec<Obj>)> {
        loop {
            self.at = self.pos;
            let op = self.bytes(1)?[0];
            match op {
                0x80 => {
                    let version = self.bytes(1)?[0];
                    if !(2..=5).contains(&version) {
                        return Err(self.error(format!("pickle protocol {version}")));
                    }
                }
                0x95 => {
                    // FRAME: only a hint for buffered readers; the bytes follow inline.
                    let len = self.u64()?;
                    if len > (self.data.len() - self.pos) as u64 {
                        return Err(self.error("frame runs past the end"));
                    }
                }
                b'.' => {
                    let root = self.pop()?;
                    return Ok((root, self.objs));
                }
                b'(' => self.marks.push(self.stack.len()),
                b'}' => self.push_obj(Obj::Dict(Vec::new())),
                b']' => self.push_obj(Obj::List(Vec::new())),
                b')' => self.push_obj(Obj::Tuple(Vec::new())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.push_obj(Obj::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if self.stack.len() < self.floor() + n {
                        return Err(self.error("stack underflow"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.push_obj(Obj::Tuple(items));
                }
                b'X' => {
                    let len = u64::from(self.u32()?);
                    self.push_str(len)?;
                }
                0x8c => {
                    let len = u64::from(self.bytes(1)?[0]);
                    self.push_str(len)?;
                }
                0x8d => {
                    let len = self.u64()?;
                    self.push_str(len)?;
                }
                b'J' => {
                    let n = self.u32()? as i32;
                    self.stack.push(Value::Int(n.into()));
                }
                b'K' => {
                    let n = self.bytes(1)?[0];
                    self.stack.push(Value::Int(n.into()));
                }
                b'M' => {
                    let b = self.bytes(2)?;
                    self.stack.push(Value::Int(u16::from_le_bytes([b[0], b[1]]).into()));
                }
                0x8a => {
                    let len = usize::from(self.bytes(1)?[0]);
                    let b = self.bytes(len)?;
                    if len > 8 {
                        return Err(self.error(format!("a {len}-byte integer, wider than 64 bits")));
                    }
                    // Little-endian two's complement: sign-extend from the top byte.
                    let fill = if b.last().is_some_and(|&x| x >= 0x80) { 0xff } else { 0 };
                    let mut le = [fill; 8];
                    le[..len].copy_from_slice(b);
                    self.stack.push(Value::Int(i64::from_le_bytes(le)));
                }
                b'G' => {
                    self.bytes(8)?;
                    self.stack.push(Value::Float);
                }
                0x88 | 0x89 => self.stack.push(Value::Bool),
                b'N' => self.stack.push(Value::None),
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let global = self.global(module, name)?;
                    self.stack.push(global);
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Value::Str(module), Value::Str(name)) = (module, name) else {
                        return Err(self.error("STACK_GLOBAL needs two strings"));
                    };
                    let global = self.global(&module, &name)?;
                    self.stack.push(global);
                }
                b'R' | 0x81 => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let args = match args {
                        Value::Obj(i) => match self.objs.get(i) {
                            Some(Obj::Tuple(items)) => items.clone(),
                            _ => return Err(self.error("arguments must be a tuple")),
                        },
                        _ => return Err(self.error("arguments must be a tuple")),
                    };
                    let value = self.call(callable, &args, op == 0x81)?;
                    self.stack.push(value);
                }
                b'b' => {
                    // BUILD: only OrderedDicts get state (a state_dict's `_metadata` versions),
                    // which says nothing about tensor values, so it is dropped.
                    self.pop()?;
                    if !matches!(self.top()?, Value::Obj(i) if matches!(self.objs.get(*i), Some(Obj::Dict(_)))) {
                        return Err(self.error("BUILD on something other than a dict"));
                    }
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let storage = self.persistent_load(&pid)?;
                    self.stack.push(storage);
                }
                b'q' => {
                    let index = self.bytes(1)?[0].into();
                    self.memoize(index)?;
                }
                b'r' => {
                    let index = self.u32()?;
                    self.memoize(index)?;
                }
                0x94 => {
                    let index = u32::try_from(self.memo.len()).map_err(|_| self.error("memo full"))?;
                    self.memoize(index)?;
                }
                b'h' | b'j' => {
                    let index = if op == b'h' { self.bytes(1)?[0].into() } else { self.u32()? };
                    let value =
                        self.memo.get(&index).cloned().ok_or_else(|| self.error(format!("memo {index} is unset")))?;
                    self.stack.push(value);
                }
                b's' | b'u' => {
                    let items = if op == b's' {
                        let value = self.pop()?;
                        vec![self.pop()?, value]
                    } else {
                        self.pop_mark()?
                    };
                    if items.len() % 2 != 0 {
                        return Err(self.error("SETITEMS with an odd number of items"));
                    }
                    let Obj::Dict(dict) = self.container()? else {
                        return Err(self.error("setting items of something other than a dict"));
                    };
                    let mut items = items.into_iter();
                    while let (Some(key), Some(value)) = (items.next(), items.next()) {
                        dict.push((key, value));
                    }
                }
                b'a' | b'e' => {
                    let items = if op == b'a' { vec![self.pop()?] } else { self.pop_mark()? };
                    let Obj::List(list) = self.container()? else {
                        return Err(self.error("appending to something other than a list"));
                    };
                    list.extend(items);
                }
                _ => return Err(self.error("opcode not used by torch.save")),
            }
        }
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let data: &'a [u8] = self.data;
        let bytes = data.get(self.pos..).and_then(|rest| rest.get(..n)).ok_or_else(|| {
            self.error(format!("truncated: needs {n} more bytes at byte {}, {} left", self.pos, data.len() - self.pos))
        })?;
        self.pos += n;
        Ok(bytes)
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64> {
        let b = self.bytes(8)?;
        Ok(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }

    /// A GLOBAL operand: text up to a newline.
    fn line(&mut self) -> Result<&'a str> {
        let data: &'a [u8] = self.data;
        let rest = &data[self.pos..];
        let len = rest.iter().position(|&b| b == b'\n').ok_or_else(|| self.error("truncated: unterminated GLOBAL"))?;
        let text = std::str::from_utf8(&rest[..len]).map_err(|_| self.error("GLOBAL name is not UTF-8"))?;
        self.pos += len + 1;
        Ok(text)
    }

    fn push_str(&mut self, len: u64) -> Result<()> {
        let len = usize::try_from(len).map_err(|_| self.error("string longer than the pickle"))?;
        let bytes = self.bytes(len)?;
        let text = std::str::from_utf8(bytes).map_err(|_| self.error("string is not UTF-8"))?;
        self.stack.push(Value::Str(text.into()));
        Ok(())
    }

    fn push_obj(&mut self, obj: Obj) {
        self.objs.push(obj);
        self.stack.push(Value::Obj(self.objs.len() - 1));
    }

    fn floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self) -> Result<Value> {
        if self.stack.len() <= self.floor() {
            return Err(self.error("stack underflow"));
        }
        self.stack.pop().ok_or_else(|| self.error("stack underflow"))
    }

    fn top(&self) -> Result<&Value> {
        match self.stack.last() {
            Some(value) if self.stack.len() > self.floor() => Ok(value),
            _ => Err(self.error("stack underflow")),
        }
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>> {
        let mark = self.marks.pop().ok_or_else(|| self.error("no MARK to pop to"))?;
        Ok(self.stack.split_off(mark))
    }

    fn memoize(&mut self, index: u32) -> Result<()> {
        let value = self.top()?.clone();
        self.memo.insert(index, value);
        Ok(())
    }

    /// The allow-list. Everything else is refused by name: the input is untrusted.
    fn global(&self, module: &str, name: &str) -> Result<Value> {
        let global = match (module, name) {
            ("collections", "OrderedDict") => Global::OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2") => Global::RebuildTensorV2,
            ("torch._utils", "_rebuild_parameter") => Global::RebuildParameter,
            ("torch", name) => match PthDtype::from_torch_name(name) {
                Some(dtype) => Global::Type(dtype),
                None if name.ends_with("Storage") || OTHER_TORCH_DTYPES.contains(&name) => {
                    return Err(self.error(format!(
                        "torch.{name}: unsupported tensor element type (float32, float16, bfloat16, float64 and int64 are)"
                    )))
                }
                None => return Err(self.error(format!("global torch.{name} is not allowed in a checkpoint"))),
            },
            _ => return Err(self.error(format!("global {module}.{name} is not allowed in a checkpoint"))),
        };
        Ok(Value::Global(global))
    }

    /// REDUCE (and NEWOBJ, for `OrderedDict` only) on an allowed global.
    fn call(&mut self, callable: Value, args: &[Value], newobj: bool) -> Result<Value> {
        match (callable, args) {
            (Value::Global(Global::OrderedDict), []) => {
                self.objs.push(Obj::Dict(Vec::new()));
                Ok(Value::Obj(self.objs.len() - 1))
            }
            (Value::Global(Global::RebuildTensorV2), _) if !newobj => self.rebuild_tensor(args),
            (Value::Global(Global::RebuildParameter), [tensor @ Value::Tensor(_), _, _]) if !newobj => {
                Ok(tensor.clone())
            }
            (callable, _) => Err(self.error(format!(
                "cannot call a {} with {} arguments",
                type_name(&callable, &self.objs),
                args.len()
            ))),
        }
    }

    /// `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
    /// backward_hooks[, metadata])`, checked to stay inside the storage.
    fn rebuild_tensor(&self, args: &[Value]) -> Result<Value> {
        let (Value::Storage(storage), Value::Int(offset), size, stride) = (
            args.first().unwrap_or(&Value::None),
            args.get(1).unwrap_or(&Value::None),
            args.get(2).unwrap_or(&Value::None),
            args.get(3).unwrap_or(&Value::None),
        ) else {
            return Err(self.error("_rebuild_tensor_v2 needs (storage, offset, size, stride, …)"));
        };
        if !(6..=7).contains(&args.len()) {
            return Err(self.error(format!("_rebuild_tensor_v2 with {} arguments", args.len())));
        }
        let offset = usize::try_from(*offset).map_err(|_| self.error("negative storage offset"))?;
        let shape = self.sizes(size, "size")?;
        let stride = self.sizes(stride, "stride")?;
        if shape.len() != stride.len() {
            return Err(self.error(format!("size {shape:?} and stride {stride:?} differ in rank")));
        }
        let numel = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        let last = shape
            .iter()
            .zip(&stride)
            .try_fold(offset, |at, (&d, &s)| at.checked_add(d.saturating_sub(1).checked_mul(s)?));
        match (numel, last) {
            (Some(0), _) => {}
            (Some(_), Some(last)) if last < storage.numel => {}
            _ => {
                return Err(self.error(format!(
                    "tensor of size {shape:?}, stride {stride:?}, offset {offset} runs past its storage {:?} of {} elements",
                    storage.key, storage.numel
                )))
            }
        }
        let stride = shape.iter().zip(stride).map(|(&d, s)| if d == 1 { 0 } else { s }).collect();
        Ok(Value::Tensor(Rc::new(TensorRef { storage: storage.clone(), offset, shape, stride })))
    }

    fn sizes(&self, value: &Value, what: &str) -> Result<Vec<usize>> {
        let items = match value {
            Value::Obj(i) => match self.objs.get(*i) {
                Some(Obj::Tuple(items)) => items,
                _ => return Err(self.error(format!("tensor {what} is not a tuple"))),
            },
            _ => return Err(self.error(format!("tensor {what} is not a tuple"))),
        };
        items
            .iter()
            .map(|item| match item {
                Value::Int(n) => usize::try_from(*n).map_err(|_| self.error(format!("negative tensor {what} {n}"))),
                _ => Err(self.error(format!("tensor {what} holds a non-integer"))),
            })
            .collect()
    }

    /// BINPERSID: `('storage', storage_type, key, location, numel)` → the `data/<key>` record,
    /// checked to hold exactly `numel` elements.
    fn persistent_load(&self, pid: &Value) -> Result<Value> {
        let items = match pid {
            Value::Obj(i) => match self.objs.get(*i) {
                Some(Obj::Tuple(items)) => &items[..],
                _ => &[],
            },
            _ => &[],
        };
        let [Value::Str(tag), Value::Global(Global::Type(dtype)), Value::Str(key), _, Value::Int(numel)] = items else {
            return Err(self.error("persistent id is not ('storage', type, key, location, numel)"));
        };
        if &**tag != "storage" {
            return Err(self.error(format!("persistent id of kind {tag:?}")));
        }
        let numel = usize::try_from(*numel).map_err(|_| self.error(format!("storage {key:?} of negative size")))?;
        let &(_, bytes) = self
            .storages
            .get(&**key)
            .ok_or_else(|| self.error(format!("storage {key:?} has no data/{key} record in the archive")))?;
        let needed = (numel as u64).checked_mul(dtype.size() as u64);
        if needed != Some(bytes) {
            return Err(self.error(format!(
                "storage {key:?} of {numel} {} elements, but its record holds {bytes} bytes",
                dtype.name()
            )));
        }
        Ok(Value::Storage(Rc::new(Storage { key: key.to_string(), dtype: *dtype, numel })))
    }
}

/// Flattening the unpickled object into named tensors, bounded in depth, work and output size.
struct Walk<'a> {
    objs: &'a [Obj],
    path: String,
    visits_left: usize,
    /// Bytes of f32 values and names the output may still take.
    budget: usize,
    leaves: Vec<(String, Rc<TensorRef>)>,
}

impl Walk<'_> {
    const MAX_DEPTH: usize = 64;
    const MAX_NAME: usize = 4096;

    fn value(&mut self, value: &Value, depth: usize) -> Result<()> {
        let objs = self.objs;
        self.visits_left = self
            .visits_left
            .checked_sub(1)
            .ok_or_else(|| fail(format!("objects shared too often (near {:?}) to be a checkpoint", self.path)))?;
        match value {
            Value::Tensor(tensor) => {
                let cost =
                    tensor.shape.iter().product::<usize>().saturating_mul(4).saturating_add(self.path.len() + 64);
                self.budget = self.budget.checked_sub(cost).ok_or_else(|| {
                    fail(format!("tensor {:?} takes the output past four times the checkpoint's size", self.path))
                })?;
                self.leaves.push((self.path.clone(), tensor.clone()));
            }
            Value::Obj(i) if depth >= Self::MAX_DEPTH => {
                return Err(fail(format!(
                    "a {} nested deeper than {} levels (or in a cycle) at {:?}",
                    type_name(&Value::Obj(*i), objs),
                    Self::MAX_DEPTH,
                    self.path
                )));
            }
            Value::Obj(i) => match objs.get(*i) {
                Some(Obj::Dict(items)) => {
                    for (key, value) in items {
                        let key = match key {
                            Value::Str(s) => s.to_string(),
                            Value::Int(n) => n.to_string(),
                            other => {
                                let kind = type_name(other, objs);
                                return Err(fail(format!("a dict key of type {kind} under {:?}", self.path)));
                            }
                        };
                        self.child(&key, value, depth)?;
                    }
                }
                Some(Obj::List(items) | Obj::Tuple(items)) => {
                    for (index, value) in items.iter().enumerate() {
                        self.child(&index.to_string(), value, depth)?;
                    }
                }
                None => {}
            },
            _ => {}
        }
        Ok(())
    }

    fn child(&mut self, key: &str, value: &Value, depth: usize) -> Result<()> {
        let len = self.path.len();
        if len > 0 {
            self.path.push('.');
        }
        self.path.push_str(key);
        if self.path.len() > Self::MAX_NAME {
            return Err(fail(format!("a tensor name longer than {} bytes", Self::MAX_NAME)));
        }
        self.value(value, depth + 1)?;
        self.path.truncate(len);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// Writes the opcodes torch.save uses, so tests can build checkpoints byte by byte.
    struct Pickle(Vec<u8>);

    impl Pickle {
        /// Protocol 2, as torch.save writes by default.
        fn new() -> Self {
            Self(vec![0x80, 2])
        }

        fn op(&mut self, bytes: &[u8]) -> &mut Self {
            self.0.extend_from_slice(bytes);
            self
        }

        fn str(&mut self, s: &str) -> &mut Self {
            self.op(b"X").op(&(s.len() as u32).to_le_bytes()).op(s.as_bytes())
        }

        fn int(&mut self, n: i64) -> &mut Self {
            match n {
                0..=0xff => self.op(&[b'K', n as u8]),
                0x100..=0xffff => self.op(b"M").op(&(n as u16).to_le_bytes()),
                _ if i32::try_from(n).is_ok() => self.op(b"J").op(&(n as i32).to_le_bytes()),
                _ => self.op(&[0x8a, 8]).op(&n.to_le_bytes()),
            }
        }

        fn global(&mut self, module: &str, name: &str) -> &mut Self {
            self.op(b"c").op(module.as_bytes()).op(b"\n").op(name.as_bytes()).op(b"\n")
        }

        fn ints(&mut self, ns: &[usize]) -> &mut Self {
            self.op(b"(");
            for &n in ns {
                self.int(n as i64);
            }
            self.op(b"t")
        }

        /// `_rebuild_tensor_v2(('storage', torch.<ty>, key, 'cpu', numel), offset, size, stride,
        /// False, OrderedDict())`, as torch.save writes a tensor.
        fn tensor(
            &mut self,
            ty: &str,
            key: &str,
            numel: usize,
            offset: usize,
            size: &[usize],
            stride: &[usize],
        ) -> &mut Self {
            self.global("torch._utils", "_rebuild_tensor_v2").op(b"((").str("storage").global("torch", ty);
            self.str(key).str("cpu").int(numel as i64).op(b"tQ").int(offset as i64).ints(size).ints(stride);
            self.op(b"\x89").global("collections", "OrderedDict").op(b")R").op(b"tR")
        }

        /// A contiguous tensor over all of storage `key`.
        fn dense(&mut self, ty: &str, key: &str, size: &[usize]) -> &mut Self {
            let mut stride = vec![1; size.len()];
            for d in (0..size.len().saturating_sub(1)).rev() {
                stride[d] = stride[d + 1] * size[d + 1];
            }
            self.tensor(ty, key, size.iter().product(), 0, size, &stride)
        }

        fn ordered_dict(&mut self) -> &mut Self {
            self.global("collections", "OrderedDict").op(b")R")
        }
    }

    /// A torch.save-shaped zip: `archive/data.pkl` and the given records under `archive/`.
    fn zip_of(pickle: &[u8], records: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        zip.start_file("archive/data.pkl", options).unwrap();
        zip.write_all(pickle).unwrap();
        for (name, bytes) in records {
            zip.start_file(format!("archive/{name}"), options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn f32_bytes(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn pth_error(result: Result<Vec<(String, PthTensor)>>) -> String {
        match result {
            Err(Error::InvalidArgument { op: "pth", reason }) => reason,
            other => panic!("expected a pth error, got {other:?}"),
        }
    }

    /// `{'bert': OrderedDict(module.w: [2, 3], module.b: [2] at offset 4 of storage 1),
    /// 'epoch': 7, 'decoder': {'x': [3] float32}}`.
    fn nested() -> Vec<u8> {
        let mut p = Pickle::new();
        p.op(b"}q\x00(").str("bert").ordered_dict().op(b"(");
        p.str("module.w").dense("FloatStorage", "0", &[2, 3]);
        p.str("module.b").tensor("FloatStorage", "1", 6, 4, &[2], &[1]).op(b"u");
        p.str("epoch").int(7);
        p.str("decoder").op(b"}").str("x").dense("FloatStorage", "2", &[3]).op(b"s");
        p.op(b"u.");
        let w = f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let b = f32_bytes(&[0.0, 0.0, 0.0, 0.0, -1.5, 2.5]);
        let x = f32_bytes(&[f32::MIN_POSITIVE, f32::MAX, -0.0]);
        zip_of(&p.0, &[("data/0", &w), ("data/1", &b), ("data/2", &x), ("byteorder", b"little"), ("version", b"3\n")])
    }

    #[test]
    fn reads_nested_dicts_with_joined_names() {
        let tensors = read_pth(&nested()).unwrap();
        let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["bert.module.w", "bert.module.b", "decoder.x"]);
        assert_eq!(tensors[0].1.shape, [2, 3]);
        assert_eq!(tensors[0].1.dtype, PthDtype::F32);
        assert_eq!(tensors[0].1.values(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(tensors[1].1.values(), [-1.5, 2.5]);
        let x = tensors[2].1.clone().into_values();
        assert_eq!(
            x.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            [f32::MIN_POSITIVE, f32::MAX, -0.0].map(f32::to_bits)
        );
    }

    #[test]
    fn honours_stride_and_storage_offset() {
        // A transposed [3, 2] view (stride [1, 3]) of a 2×3 block at offset 1, a view whose
        // size-1 dim carries a meaningless stride, and an empty tensor.
        let mut p = Pickle::new();
        p.op(b"}(").str("t").tensor("FloatStorage", "0", 7, 1, &[3, 2], &[1, 3]);
        p.str("one").tensor("FloatStorage", "0", 7, 2, &[1, 2], &[99, 2]);
        p.str("empty").tensor("FloatStorage", "0", 7, 7, &[0, 5], &[5, 1]).op(b"u.");
        let storage = f32_bytes(&[9.0, 0.0, 1.0, 2.0, 10.0, 11.0, 12.0]);
        let tensors = read_pth(&zip_of(&p.0, &[("data/0", &storage)])).unwrap();
        assert_eq!(tensors[0].1.shape, [3, 2]);
        assert_eq!(tensors[0].1.values(), [0.0, 10.0, 1.0, 11.0, 2.0, 12.0]);
        assert_eq!(tensors[1].1.values(), [1.0, 10.0]);
        assert_eq!(tensors[2].1.shape, [0, 5]);
        assert!(tensors[2].1.values().is_empty());
    }

    #[test]
    fn converts_half_bfloat_double_and_long() {
        let mut p = Pickle::new();
        p.op(b"}(").str("h").dense("HalfStorage", "0", &[2]).str("b").dense("BFloat16Storage", "1", &[2]);
        p.str("d").dense("DoubleStorage", "2", &[2]).str("l").dense("LongStorage", "3", &[3]).op(b"u.");
        let h: Vec<u8> = [1.5f32, -65504.0].iter().flat_map(|&v| f16::from_f32(v).to_le_bytes()).collect();
        let b: Vec<u8> = [0.15625f32, -3.0e38].iter().flat_map(|&v| bf16::from_f32(v).to_le_bytes()).collect();
        let d: Vec<u8> = [0.1f64, 1e300].iter().flat_map(|v| v.to_le_bytes()).collect();
        let l: Vec<u8> = [0i64, -511, (1 << 24) + 1].iter().flat_map(|v| v.to_le_bytes()).collect();
        let tensors =
            read_pth(&zip_of(&p.0, &[("data/0", &h), ("data/1", &b), ("data/2", &d), ("data/3", &l)])).unwrap();
        let dtypes: Vec<PthDtype> = tensors.iter().map(|(_, t)| t.dtype).collect();
        assert_eq!(dtypes, [PthDtype::F16, PthDtype::BF16, PthDtype::F64, PthDtype::I64]);
        assert_eq!(tensors[0].1.values(), [1.5, -65504.0]);
        assert_eq!(tensors[1].1.values(), [0.15625, bf16::from_f32(-3.0e38).to_f32()]);
        assert_eq!(tensors[2].1.values(), [0.1f64 as f32, f32::INFINITY]);
        assert_eq!(tensors[3].1.values(), [0.0, -511.0, 16_777_216.0]);
    }

    #[test]
    fn reads_protocol_4_opcodes_and_dtype_storage_types() {
        // As torch.save(..., pickle_protocol=4) writes (FRAME, SHORT_BINUNICODE, MEMOIZE,
        // STACK_GLOBAL), plus BINUNICODE8, LONG_BINPUT/LONG_BINGET, a dtype as storage type,
        // NEWOBJ OrderedDict with BUILD state, _rebuild_parameter, 7-argument
        // _rebuild_tensor_v2, a list filled by APPEND/APPENDS, and values holding no tensor.
        let mut p = Pickle(vec![0x80, 4]);
        let body_start = p.0.len();
        let mut first = true;
        let mut tensor = |p: &mut Pickle, key: &str, offset: u8, len: u8| {
            if first {
                p.op(b"\x8c\x0ctorch._utils\x8c\x12_rebuild_tensor_v2\x93r\x64\x00\x00\x00(");
                p.op(b"(\x8d\x07\x00\x00\x00\x00\x00\x00\x00storage\x8c\x05torch\x8c\x07float32\x93r\x65\x00\x00\x00");
            } else {
                p.op(b"j\x64\x00\x00\x00((\x8c\x07storagej\x65\x00\x00\x00");
            }
            p.str(key).op(b"\x8c\x03cpuK\x02tQ").op(&[b'K', offset, b'K', len, 0x85, b'K', 1, 0x85, 0x89]);
            if first {
                p.op(b"\x8c\x0bcollections\x8c\x0bOrderedDict\x93r\x66\x00\x00\x00)\x81Nt");
            } else {
                p.op(b"j\x66\x00\x00\x00)\x81t");
            }
            p.op(b"R\x94");
            first = false;
        };
        p.op(b"}\x94(\x8c\x01l]\x94");
        tensor(&mut p, "0", 0, 2);
        p.op(b"a(");
        tensor(&mut p, "1", 0, 2);
        p.global("torch._utils", "_rebuild_parameter");
        tensor(&mut p, "0", 0, 2);
        p.op(b"\x88j\x66\x00\x00\x00)\x81\x87Re");
        p.op(b"\x8c\x01sj\x66\x00\x00\x00)\x81}\x8c\x09_metadata}sb(\x8c\x01x");
        tensor(&mut p, "1", 1, 1);
        p.op(b"\x8c\x01nN\x8c\x01fG\x3f\xf0\x00\x00\x00\x00\x00\x00\x8c\x01iJ\x00\x00\x01\x00");
        p.op(b"\x8c\x01g\x8a\x02\xff\x7f\x8c\x01t\x88\x89)\x87u").op(b"u.");
        let frame_len = (p.0.len() - body_start) as u64;
        let mut framed = p.0[..body_start].to_vec();
        framed.push(0x95);
        framed.extend_from_slice(&frame_len.to_le_bytes());
        framed.extend_from_slice(&p.0[body_start..]);
        let bytes = zip_of(&framed, &[("data/0", &f32_bytes(&[1.0, 2.0])), ("data/1", &f32_bytes(&[3.0, 4.0]))]);
        let tensors = read_pth(&bytes).unwrap();
        let got: Vec<(&str, &[f32])> = tensors.iter().map(|(n, t)| (n.as_str(), t.values())).collect();
        assert_eq!(got, [("l.0", &[1.0, 2.0][..]), ("l.1", &[3.0, 4.0]), ("l.2", &[1.0, 2.0]), ("s.x", &[4.0])]);
    }

    #[test]
    fn rejects_what_is_not_a_torch_zip() {
        assert!(pth_error(read_pth(b"hello, world")).contains("not a torch.save zip archive"));
        assert!(pth_error(read_pth(b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.")).contains("legacy"));
        let mut no_pkl = zip_of(b"", &[]);
        while let Some(at) = no_pkl.windows(8).position(|w| w == b"data.pkl") {
            no_pkl[at + 5..at + 8].copy_from_slice(b"txt");
        }
        assert!(pth_error(read_pth(&no_pkl)).contains("expected one <folder>/data.pkl"));
    }

    #[test]
    fn every_truncation_of_the_pickle_is_an_error() {
        let mut p = Pickle::new();
        p.op(b"}(").str("w").dense("FloatStorage", "0", &[2]).op(b"u.");
        for len in 0..p.0.len() {
            let bytes = zip_of(&p.0[..len], &[("data/0", &f32_bytes(&[1.0, 2.0]))]);
            let reason = pth_error(read_pth(&bytes));
            assert!(reason.starts_with("data.pkl byte "), "{len}: {reason}");
        }
        let reason = pth_error(read_pth(&zip_of(&p.0[..7], &[])));
        assert!(reason.contains("truncated"), "{reason}");
    }

    #[test]
    fn refuses_globals_off_the_allow_list() {
        let mut p = Pickle::new();
        p.global("os", "system").str("echo pwned").op(b"\x85R.");
        let reason = pth_error(read_pth(&zip_of(&p.0, &[])));
        assert_eq!(reason, "data.pkl byte 2 (opcode 0x63): global os.system is not allowed in a checkpoint");
        let mut p = Pickle::new();
        p.op(b"}(").str("w").dense("IntStorage", "0", &[1]).op(b"u.");
        let reason = pth_error(read_pth(&zip_of(&p.0, &[("data/0", &[0; 4])])));
        assert!(reason.contains("torch.IntStorage: unsupported tensor element type"), "{reason}");
    }

    #[test]
    fn rejects_missing_and_mis_sized_storages() {
        let mut p = Pickle::new();
        p.op(b"}(").str("w").dense("FloatStorage", "7", &[2]).op(b"u.");
        let reason1 = pth_error(read_pth(&zip_of(&p.0, &[("data/0", &f32_bytes(&[1.0, 2.0]))])));
        assert!(reason1.contains("storage \"7\" has no data/7 record"), "{reason1}");
        let reason2 = pth_error(read_pth(&zip_of(&p.0, &[("data/7", &f32_bytes(&[1.0]))])));
        assert!(reason2.contains("storage \"7\" of 2 float32 elements, but its record holds 4 bytes"), "{reason2}");
    }

    #[test]
    fn rejects_views_past_their_storage() {
        for (offset, size, stride) in
            [(0, [2, 3], [3, 1]), (2, [2, 2], [2, 1]), (1, [3, 1], [2, 1]), (i64::MAX as usize, [1, 1], [1, 1])]
        {
            let mut p = Pickle::new();
            p.op(b"}(").str("w").tensor("FloatStorage", "0", 5, offset, &size, &stride).op(b"u.");
            let reason = pth_error(read_pth(&zip_of(&p.0, &[("data/0", &[0; 20])])));
            assert!(reason.contains("runs past its storage \"0\" of 5 elements"), "{reason}");
        }
    }

    #[test]
    fn rejects_big_endian_checkpoints() {
        let mut p = Pickle::new();
        p.op(b"}.");
        let reason = pth_error(read_pth(&zip_of(&p.0, &[("byteorder", b"big")])));
        assert_eq!(reason, "a big-endian checkpoint: only little-endian storages are supported");
        assert!(read_pth(&zip_of(&p.0, &[("byteorder", b"little")])).unwrap().is_empty());
    }

    #[test]
    fn detects_corrupted_storage_bytes() {
        let mut bytes = nested();
        let at = bytes.windows(4).position(|w| w == 5.0f32.to_le_bytes()).unwrap();
        bytes[at] ^= 1;
        let reason = pth_error(read_pth(&bytes));
        assert!(reason.starts_with("archive/data/0: "), "{reason}");
    }

    #[test]
    fn bounds_cycles_sharing_and_repetition() {
        // A list containing itself, and lists nested 70 deep.
        let mut p = Pickle::new();
        p.op(b"}(").str("l").op(b"]q\x01h\x01a").op(b"u.");
        assert!(pth_error(read_pth(&zip_of(&p.0, &[]))).contains("shared too often"));
        let mut p = Pickle::new();
        p.op(b"}(").str("l").op(&[b']'; 70]).op(&[b'a'; 69]).op(b"u.");
        assert!(pth_error(read_pth(&zip_of(&p.0, &[]))).contains("a list nested deeper than 64 levels"));
        // Tuples of two references to the tuple before, 40 deep: 2^40 paths to walk.
        let mut p = Pickle::new();
        p.op(b"}(").str("l").op(b"]q\x00");
        for _ in 0..40 {
            p.op(b"h\x00\x86q\x00");
        }
        p.op(b"u.");
        let reason = pth_error(read_pth(&zip_of(&p.0, &[])));
        assert!(reason.contains("shared too often"), "{reason}");
        // One 1 MiB tensor named a thousand times.
        let mut p = Pickle::new();
        p.op(b"}(").str("t").dense("FloatStorage", "0", &[1 << 18]).op(b"q\x01");
        for i in 0..1000 {
            p.str(&i.to_string()).op(b"h\x01");
        }
        p.op(b"u.");
        let reason = pth_error(read_pth(&zip_of(&p.0, &[("data/0", &vec![0; 1 << 20])])));
        assert!(reason.contains("past four times the checkpoint's size"), "{reason}");
    }

    #[test]
    fn rejects_duplicate_and_odd_keys() {
        let mut p = Pickle::new();
        p.op(b"}(").str("a.b").dense("FloatStorage", "0", &[1]).str("a").op(b"}").str("b");
        p.dense("FloatStorage", "0", &[1]).op(b"su.");
        assert_eq!(pth_error(read_pth(&zip_of(&p.0, &[("data/0", &[0; 4])]))), "two tensors are both named \"a.b\"");
        let mut p = Pickle::new();
        p.op(b"}(N").dense("FloatStorage", "0", &[1]).op(b"u.");
        assert!(pth_error(read_pth(&zip_of(&p.0, &[("data/0", &[0; 4])]))).contains("dict key of type None"));
    }

    #[test]
    fn mutated_pickles_never_panic() {
        let mut p = Pickle::new();
        p.op(b"}q\x00(").str("bert").ordered_dict().op(b"(").str("module.w").dense("FloatStorage", "0", &[2, 3]);
        p.str("module.b").tensor("FloatStorage", "1", 6, 4, &[2], &[1]).op(b"uu.");
        let records: [(&str, &[u8]); 2] = [("data/0", &[0; 24]), ("data/1", &[0; 24])];
        assert!(read_pth(&zip_of(&p.0, &records)).is_ok());
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let mut pickle = p.0.clone();
            for _ in 0..1 + next() % 3 {
                let at = next() as usize % pickle.len();
                pickle[at] = next() as u8;
            }
            let _ = read_pth(&zip_of(&pickle, &records));
        }
    }

    fn tensor(shape: &[usize], data: &[f32]) -> PthTensor {
        PthTensor::new(shape.to_vec(), PthDtype::F32, data.to_vec()).unwrap()
    }

    #[test]
    fn new_checks_the_shape() {
        assert_eq!(
            PthTensor::new(vec![2, 2], PthDtype::F32, vec![0.0; 3]),
            Err(Error::ShapeMismatch { what: "pth tensor", shape: vec![2, 2], expected: 4, got: 3 })
        );
    }

    #[test]
    fn folds_weight_norm_and_strips_module() {
        let g = tensor(&[2, 1, 1], &[2.0, -0.5]);
        let v = tensor(&[2, 1, 2], &[3.0, 4.0, 1.0, 1.0e-3]);
        let g1 = tensor(&[2, 1], &[1.0, 3.0]);
        let v1 = tensor(&[2, 2], &[0.0, -2.0, 0.3, 0.4]);
        let folded = fold_kokoro_checkpoint(vec![
            ("decoder.module.a.weight_v".into(), v),
            ("bert.module.x.bias".into(), tensor(&[1], &[7.0])),
            ("decoder.module.a.weight_g".into(), g),
            ("predictor.lin.parametrizations.weight.original0".into(), g1),
            ("predictor.lin.parametrizations.weight.original1".into(), v1),
            ("top".into(), tensor(&[], &[1.0])),
        ])
        .unwrap();
        let names: Vec<&str> = folded.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["decoder.a.weight", "bert.x.bias", "predictor.lin.weight", "top"]);
        let expect = |g: f64, v: &[f64]| -> Vec<f32> {
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.iter().map(|x| (g * x / norm) as f32).collect()
        };
        let mut a = expect(2.0, &[3.0, 4.0]);
        a.extend(expect(-0.5, &[1.0, f64::from(1.0e-3f32)]));
        assert_eq!(folded[0].1.shape, [2, 1, 2]);
        assert_eq!(folded[0].1.values(), a);
        assert_eq!(folded[0].1.values()[..2], [1.2, 1.6]);
        let mut lin = expect(1.0, &[0.0, -2.0]);
        lin.extend(expect(3.0, &[f64::from(0.3f32), f64::from(0.4f32)]));
        assert_eq!(folded[2].1.values(), lin);
        assert_eq!(folded[2].1.dtype, PthDtype::F32);
    }

    #[test]
    fn fold_errors_name_the_tensors() {
        let missing = fold_kokoro_checkpoint(vec![("d.module.c.weight_g".into(), tensor(&[1, 1], &[1.0]))]);
        assert_eq!(missing, Err(Error::MissingTensor { name: "d.c.weight_v".into() }));
        let missing =
            fold_kokoro_checkpoint(vec![("d.c.parametrizations.weight.original1".into(), tensor(&[1, 1], &[1.0]))]);
        assert_eq!(missing, Err(Error::MissingTensor { name: "d.c.parametrizations.weight.original0".into() }));
        let shapes = fold_kokoro_checkpoint(vec![
            ("d.c.weight_g".into(), tensor(&[1, 2, 1], &[1.0, 1.0])),
            ("d.c.weight_v".into(), tensor(&[2, 1, 1], &[1.0, 1.0])),
        ]);
        let Err(Error::InvalidArgument { reason, .. }) = shapes else { panic!("{shapes:?}") };
        assert_eq!(
            reason,
            "weight norm: d.c.weight_g has shape [1, 2, 1] but d.c.weight_v has [2, 1, 1], so g should be [2, 1, 1]"
        );
        let twice = fold_kokoro_checkpoint(vec![
            ("d.c.weight".into(), tensor(&[1], &[1.0])),
            ("d.c.weight_g".into(), tensor(&[1], &[1.0])),
            ("d.c.weight_v".into(), tensor(&[1], &[1.0])),
        ]);
        assert!(
            matches!(twice, Err(Error::InvalidArgument { reason, .. }) if reason.contains("\"d.c.weight\" after folding"))
        );
        let both = fold_kokoro_checkpoint(vec![
            ("d.module.c.weight_g".into(), tensor(&[1], &[1.0])),
            ("d.c.weight_g".into(), tensor(&[1], &[1.0])),
        ]);
        assert!(
            matches!(both, Err(Error::InvalidArgument { reason, .. }) if reason == "d.c.weight_g and d.c.weight_g both give d.c.weight")
        );
    }

    const LAYOUT: &[u8] = include_bytes!("../../tests/fixtures/reference/pth/tiny_kokoro_layout.pth");
    const PARAMETRIZATIONS: &[u8] = include_bytes!("../../tests/fixtures/reference/pth/tiny_parametrizations.pth");

    /// `expected.json`'s record of one fixture, written by tools/reference/make_pth_fixtures.py.
    fn expected(file: &str) -> serde_json::Value {
        let json: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/reference/pth/expected.json")).unwrap();
        json["files"][file].clone()
    }

    fn f32s(values: &serde_json::Value) -> Vec<f32> {
        values.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect()
    }

    fn usizes(values: &serde_json::Value) -> Vec<usize> {
        values.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect()
    }

    /// Distance in representable f32s (both finite).
    fn ulps(a: f32, b: f32) -> u32 {
        let key = |x: f32| if x.is_sign_negative() { -(x.abs().to_bits() as i64) } else { x.to_bits() as i64 };
        (key(a) - key(b)).unsigned_abs() as u32
    }

    fn check_torch_fixture(bytes: &[u8], file: &str) {
        let expected = expected(file);
        assert_eq!(expected["bytes"].as_u64(), Some(bytes.len() as u64));
        let tensors = read_pth(bytes).unwrap();
        let want = expected["tensors"].as_array().unwrap();
        assert_eq!(tensors.len(), want.len());
        for ((name, tensor), want) in tensors.iter().zip(want) {
            let want_name = format!("{}.{}", want["group"].as_str().unwrap(), want["name"].as_str().unwrap());
            assert_eq!(*name, want_name);
            let dtype = match want["dtype"].as_str().unwrap() {
                "float32" => PthDtype::F32,
                "float16" => PthDtype::F16,
                "int64" => PthDtype::I64,
                other => panic!("{other}"),
            };
            assert_eq!(tensor.dtype, dtype, "{name}");
            assert_eq!(tensor.shape, usizes(&want["shape"]), "{name}");
            let values = f32s(&want["values"]);
            assert_eq!(
                tensor.values().iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{name}"
            );
        }

        // Folding: every weight-norm pair becomes `<group>.<name without module.>`, within 1 ulp of
        // the f64 fold rounded to f32 (bit-equal on these fixtures) and of torch._weight_norm's
        // f32 result (1 ulp apart on a few values).
        let folded = fold_kokoro_checkpoint(tensors.clone()).unwrap();
        let strip = |group: &str, name: &str| format!("{group}.{}", name.strip_prefix("module.").unwrap_or(name));
        let pairs = expected["weight_norm"].as_array().unwrap();
        for pair in pairs {
            let group = pair["group"].as_str().unwrap();
            let name = strip(group, pair["name"].as_str().unwrap());
            let (_, w) = folded.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("{name} not folded"));
            assert_eq!(w.shape, usizes(&pair["shape"]));
            assert_eq!(w.dtype, PthDtype::F32);
            let f64_fold = f32s(&pair["values_f64"]);
            let torch_fold = f32s(&pair["values_f32"]);
            assert_eq!(w.values().len(), f64_fold.len());
            for ((&got, &exact), &torch) in w.values().iter().zip(&f64_fold).zip(&torch_fold) {
                assert!(ulps(got, exact) <= 1, "{name}: {got} vs f64 fold {exact}");
                assert!(ulps(got, torch) <= 1, "{name}: {got} vs torch {torch}");
            }
        }
        // The rest passes through renamed, in order, with the folded weight where its g was.
        let halves: HashSet<String> = pairs
            .iter()
            .flat_map(|p| ["g", "v"].map(|h| strip(p["group"].as_str().unwrap(), p[h].as_str().unwrap())))
            .collect();
        let mut want = Vec::new();
        for (name, tensor) in &tensors {
            let (group, rest) = name.split_once('.').unwrap();
            let renamed = strip(group, rest);
            if !halves.contains(&renamed) {
                want.push((renamed, Some(tensor)));
            } else if let Some((base, true, _)) = weight_norm_half(&renamed) {
                want.push((format!("{base}.weight"), None));
            }
        }
        assert_eq!(folded.len(), want.len());
        for ((name, tensor), (want_name, want_tensor)) in folded.iter().zip(&want) {
            assert_eq!(name, want_name);
            if let Some(want_tensor) = want_tensor {
                assert_eq!(tensor, *want_tensor, "{name}");
            }
        }
    }

    #[test]
    fn reads_torch_saved_kokoro_layout() {
        check_torch_fixture(LAYOUT, "tiny_kokoro_layout.pth");
    }

    #[test]
    fn reads_torch_saved_parametrizations() {
        check_torch_fixture(PARAMETRIZATIONS, "tiny_parametrizations.pth");
    }
}
