//! Shape checks of every op, written once: each backend calls these before its kernel, so all
//! of them refuse the same inputs with the same error (an error, never a panic or a wrong size).

use super::{invalid, rank2, ConvTransposeParams};
use crate::error::Result;

/// Sizes of one conv_transpose1d call (`nn.ConvTranspose1d` semantics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTransposeGeometry {
    pub c_in: usize,
    pub c_out: usize,
    pub k: usize,
    pub t_in: usize,
    pub t_out: usize,
    pub stride: usize,
    pub padding: usize,
    pub groups: usize,
}

impl ConvTransposeGeometry {
    pub fn new(x: &[usize], w: &[usize], bias: Option<&[usize]>, p: ConvTransposeParams) -> Result<Self> {
        const OP: &str = "conv_transpose1d";
        let (c_in, t_in) = rank2(OP, "input", x)?;
        let &[w_in, per_group_out, k] = w else {
            return Err(invalid(OP, format!("weight must be [c_in, c_out/groups, k], got {w:?}")));
        };
        if c_in == 0 || t_in == 0 {
            return Err(invalid(OP, format!("empty input {x:?}")));
        }
        if w_in != c_in || per_group_out == 0 || k == 0 {
            return Err(invalid(OP, format!("weight {w:?} does not fit an input of {c_in} channels")));
        }
        if p.groups == 0 || c_in % p.groups != 0 || p.stride == 0 {
            return Err(invalid(OP, format!("{p:?} does not fit {c_in} input channels")));
        }
        if p.output_padding >= p.stride {
            return Err(invalid(OP, format!("output_padding {} must be smaller than stride {}", p.output_padding, p.stride)));
        }
        let c_out = per_group_out.checked_mul(p.groups).ok_or_else(|| invalid(OP, "too many channels".into()))?;
        let full = (t_in - 1).checked_mul(p.stride).and_then(|n| n.checked_add(k + p.output_padding));
        let t_out = full
            .and_then(|n| n.checked_sub(p.padding.checked_mul(2)?))
            .filter(|&n| n > 0)
            .ok_or_else(|| invalid(OP, format!("padding {} leaves no output of {t_in} steps", p.padding)))?;
        if let Some(b) = bias {
            if b != [c_out] {
                return Err(invalid(OP, format!("bias must be [{c_out}], got {b:?}")));
            }
        }
        Ok(Self { c_in, c_out, k, t_in, t_out, stride: p.stride, padding: p.padding, groups: p.groups })
    }

    pub fn per_group_in(&self) -> usize {
        self.c_in / self.groups
    }

    pub fn per_group_out(&self) -> usize {
        self.c_out / self.groups
    }
}

/// `(d, t)`: the output of embedding `ids` from a table of `shape [n, d]`.
pub fn embedding(table: &[usize], ids: &[u32]) -> Result<(usize, usize)> {
    let (n, d) = rank2("embedding", "table", table)?;
    if ids.is_empty() {
        return Err(invalid("embedding", "no ids".into()));
    }
    if let Some(bad) = ids.iter().find(|&&id| id as usize >= n) {
        return Err(invalid("embedding", format!("id {bad} outside the table of {n} rows")));
    }
    Ok((d, ids.len()))
}

/// `(hidden, t)` of one LSTM direction.
pub fn lstm(x: &[usize], w_ih: &[usize], w_hh: &[usize], b_ih: &[usize], b_hh: &[usize]) -> Result<(usize, usize)> {
    let (c, t) = rank2("lstm", "input", x)?;
    let (gates, hidden) = rank2("lstm", "w_hh", w_hh)?;
    if t == 0 || hidden == 0 || gates != 4 * hidden || w_ih != [gates, c] || b_ih != [gates] || b_hh != [gates] {
        return Err(invalid(
            "lstm",
            format!("input {x:?}, w_ih {w_ih:?}, w_hh {w_hh:?}, b_ih {b_ih:?}, b_hh {b_hh:?} are not one LSTM of hidden size {hidden}"),
        ));
    }
    Ok((hidden, t))
}

/// `(channels, t)` of an attention call.
pub fn attention(q: &[usize], k: &[usize], v: &[usize], heads: usize) -> Result<(usize, usize)> {
    let (c, t) = rank2("attention", "q", q)?;
    if k != q || v != q || t == 0 {
        return Err(invalid("attention", format!("q {q:?}, k {k:?}, v {v:?} must match and be non-empty")));
    }
    if heads == 0 || c % heads != 0 {
        return Err(invalid("attention", format!("{c} channels do not split into {heads} heads")));
    }
    Ok((c, t))
}

/// `(c, t)` of a layer norm with `[c]` gain and bias.
pub fn layer_norm(x: &[usize], gamma: &[usize], beta: &[usize]) -> Result<(usize, usize)> {
    let (c, t) = nonempty("layer_norm", x)?;
    if gamma != [c] || beta != [c] {
        return Err(invalid("layer_norm", format!("gamma and beta must be [{c}], got {gamma:?} and {beta:?}")));
    }
    Ok((c, t))
}

/// `(c, t)` of an ada_norm whose style parameters are `[2c, 1]`.
pub fn ada_norm(x: &[usize], params: &[usize]) -> Result<(usize, usize)> {
    let (c, t) = nonempty("ada_norm", x)?;
    if params != [2 * c, 1] {
        return Err(invalid("ada_norm", format!("style parameters must be [{}, 1] (γ then β), got {params:?}", 2 * c)));
    }
    Ok((c, t))
}

/// `(c, t)` of a snake activation with `c` alphas.
pub fn snake(x: &[usize], alpha_len: usize) -> Result<(usize, usize)> {
    let (c, t) = rank2("snake", "input", x)?;
    if alpha_len != c {
        return Err(invalid("snake", format!("alpha has {alpha_len} values for {c} channels")));
    }
    Ok((c, t))
}

pub fn same(op: &'static str, a: &[usize], b: &[usize]) -> Result<()> {
    if a != b {
        return Err(invalid(op, format!("shapes {a:?} and {b:?} differ")));
    }
    Ok(())
}

/// `(Σc, t)` of a channel concatenation.
pub fn concat(parts: &[&[usize]]) -> Result<(usize, usize)> {
    let Some(first) = parts.first() else {
        return Err(invalid("concat", "nothing to concatenate".into()));
    };
    let (_, t) = rank2("concat", "input", first)?;
    let mut channels = 0usize;
    for (i, shape) in parts.iter().enumerate() {
        let (c, ti) = rank2("concat", "input", shape)?;
        if ti != t {
            return Err(invalid("concat", format!("input {i} has {ti} time steps, input 0 has {t}")));
        }
        channels += c;
    }
    Ok((channels, t))
}

/// `c` of a `[c, 1]` column.
pub fn broadcast(column: &[usize]) -> Result<usize> {
    match *column {
        [c, 1] => Ok(c),
        _ => Err(invalid("broadcast", format!("column must be [C, 1], got {column:?}"))),
    }
}

/// `(c, t, total)`: output length of repeating each of `t` steps by its count.
pub fn repeat_interleave(x: &[usize], counts: &[usize]) -> Result<(usize, usize, usize)> {
    let (c, t) = rank2("repeat_interleave", "input", x)?;
    if counts.len() != t {
        return Err(invalid("repeat_interleave", format!("{} counts for {t} time steps", counts.len())));
    }
    let total = counts.iter().try_fold(0usize, |a, &n| a.checked_add(n));
    let total = total.filter(|&n| n.checked_mul(c).is_some()).ok_or_else(|| invalid("repeat_interleave", "output too large".into()))?;
    Ok((c, t, total))
}

/// `(c, t)` of a reflection padding, which needs more steps than either side pads.
pub fn reflect_pad(x: &[usize], left: usize, right: usize) -> Result<(usize, usize)> {
    let (c, t) = rank2("reflect_pad", "input", x)?;
    if left >= t || right >= t {
        return Err(invalid("reflect_pad", format!("padding ({left}, {right}) needs more than {t} steps")));
    }
    Ok((c, t))
}

/// `(c, t)` of a nearest upsampling by `factor ≥ 1`.
pub fn upsample(x: &[usize], factor: usize) -> Result<(usize, usize)> {
    let (c, t) = rank2("upsample_nearest", "input", x)?;
    if factor == 0 || t.checked_mul(factor).and_then(|n| n.checked_mul(c)).is_none() {
        return Err(invalid("upsample_nearest", format!("factor {factor} for {t} steps")));
    }
    Ok((c, t))
}

fn nonempty(op: &'static str, x: &[usize]) -> Result<(usize, usize)> {
    let (c, t) = rank2(op, "input", x)?;
    if c == 0 || t == 0 {
        return Err(invalid(op, format!("empty input {x:?}")));
    }
    Ok((c, t))
}
