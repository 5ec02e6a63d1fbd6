//! Keras' `Embedding`: each integer id in the input selects a row of a table.
//! Ids arrive as floats (the model's input is float32) and must hold
//! integers in `[0, vocabulary)`.

use crate::error::{expect_len, expect_positive, KernelError, KernelResult};

/// Sizes of one embedding call.
#[derive(Clone, Copy, Debug)]
pub struct EmbeddingShape {
    /// Ids looked up (`B·T`).
    pub rows: usize,
    /// Rows of the table: ids run over `0 .. vocabulary`.
    pub vocabulary: usize,
    /// Columns of the table: the width of each embedding.
    pub dim: usize,
}

impl EmbeddingShape {
    fn check(
        &self,
        op: &'static str,
        ids: &[f32],
        table: &[f32],
        rows_of_width: (&'static str, usize),
    ) -> KernelResult<()> {
        expect_positive(op, "vocabulary", self.vocabulary)?;
        expect_positive(op, "dim", self.dim)?;
        expect_len(op, "ids", ids.len(), &[self.rows])?;
        expect_len(op, "table", table.len(), &[self.vocabulary, self.dim])?;
        expect_len(op, rows_of_width.0, rows_of_width.1, &[self.rows, self.dim])
    }

    /// The table row of the id at position `n`, or an error naming it.
    fn row(&self, op: &'static str, ids: &[f32], n: usize) -> KernelResult<usize> {
        let id = ids[n];
        if id >= 0.0 && id < self.vocabulary as f32 && id.fract() == 0.0 {
            Ok(id as usize)
        } else {
            Err(KernelError::new(op, format!("id {id} at position {n} is not an integer in [0, {})", self.vocabulary)))
        }
    }
}

/// Forward: `out[n] = table[ids[n]]`, and with `mask` (Keras' `mask_zero`)
/// `mask[n] = 0` where id 0 marks padding, 1 elsewhere.
///
/// # Parameters
/// - `ids`: `[rows]`
/// - `table`: `[vocabulary, dim]`
/// - `out`: `[rows, dim]`, written
/// - `mask`: `[rows]`, written
pub fn embedding_forward(
    shape: EmbeddingShape,
    ids: &[f32],
    table: &[f32],
    out: &mut [f32],
    mask: Option<&mut [f32]>,
) -> KernelResult<()> {
    const OP: &str = "embedding_forward";
    shape.check(OP, ids, table, ("out", out.len()))?;
    let dim = shape.dim;
    for (n, row) in out.chunks_exact_mut(dim).enumerate() {
        let id = shape.row(OP, ids, n)?;
        row.copy_from_slice(&table[id * dim..(id + 1) * dim]);
    }
    if let Some(mask) = mask {
        expect_len(OP, "mask", mask.len(), &[shape.rows])?;
        mask.iter_mut().zip(ids).for_each(|(m, &id)| *m = if id == 0.0 { 0.0 } else { 1.0 });
    }
    Ok(())
}

/// Backward: `d_table[v] = Σ d_out[n]` over the positions `n` whose id is
/// `v` (zero for ids that do not occur), written. Ids have no gradient.
///
/// # Parameters
/// - `ids`: `[rows]`, the forward's
/// - `d_out`: `[rows, dim]`
/// - `d_table`: `[vocabulary, dim]`, written
pub fn embedding_backward(shape: EmbeddingShape, ids: &[f32], d_out: &[f32], d_table: &mut [f32]) -> KernelResult<()> {
    const OP: &str = "embedding_backward";
    shape.check(OP, ids, d_table, ("dOut", d_out.len()))?;
    let dim = shape.dim;
    // Checked before anything is written, so a bad id leaves the gradient as it was.
    for n in 0..shape.rows {
        shape.row(OP, ids, n)?;
    }
    d_table.fill(0.0);
    for (&id, d) in ids.iter().zip(d_out.chunks_exact(dim)) {
        let row = &mut d_table[id as usize * dim..(id as usize + 1) * dim];
        row.iter_mut().zip(d).for_each(|(r, &g)| *r += g);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: EmbeddingShape = EmbeddingShape { rows: 4, vocabulary: 3, dim: 2 };
    const TABLE: [f32; 6] = [0.5, -1.0, 2.0, 3.0, -4.0, 0.25];

    #[test]
    fn looks_up_rows_and_masks_id_zero() {
        let (mut out, mut mask) = ([9.0; 8], [9.0; 4]);
        embedding_forward(SHAPE, &[2.0, 0.0, 1.0, 2.0], &TABLE, &mut out, Some(&mut mask)).unwrap();
        assert_eq!(out, [-4.0, 0.25, 0.5, -1.0, 2.0, 3.0, -4.0, 0.25]);
        assert_eq!(mask, [1.0, 0.0, 1.0, 1.0]);
    }

    #[test]
    fn backward_sums_the_gradients_of_repeated_ids_and_zeroes_absent_ones() {
        let mut d_table = [9.0; 6];
        let d_out = [1.0, 2.0, 10.0, 20.0, 100.0, 200.0, 1000.0, 2000.0];
        embedding_backward(SHAPE, &[2.0, 0.0, 2.0, 2.0], &d_out, &mut d_table).unwrap();
        assert_eq!(d_table, [10.0, 20.0, 0.0, 0.0, 1101.0, 2202.0]);
    }

    #[test]
    fn names_an_id_outside_the_vocabulary_or_not_an_integer() {
        let mut out = [0.0; 8];
        for (bad, text) in [(3.0, "id 3 at position 1"), (-1.0, "id -1 at position 1"), (0.5, "id 0.5 at position 1")] {
            let err = embedding_forward(SHAPE, &[0.0, bad, 1.0, 2.0], &TABLE, &mut out, None).unwrap_err();
            assert!(err.to_string().contains(&format!("{text} is not an integer in [0, 3)")), "{err}");
        }
        let err = embedding_forward(SHAPE, &[0.0, 1.0, f32::NAN, 2.0], &TABLE, &mut out, None).unwrap_err();
        assert!(err.to_string().contains("id NaN at position 2"), "{err}");
        let mut d_table = [7.0; 6];
        let err = embedding_backward(SHAPE, &[0.0, 1.0, 1.0, 9.0], &[1.0; 8], &mut d_table).unwrap_err();
        assert!(err.to_string().contains("id 9 at position 3"), "{err}");
        assert_eq!(d_table, [7.0; 6]);
    }
}
