//! Strided matrix views. A transpose is a view with its strides swapped, so
//! one GEMM serves `A·B`, `Aᵀ·B`, `A·Bᵀ` and `Aᵀ·Bᵀ`.

/// A read-only `rows × cols` view: element `(r, c)` is
/// `data[r * row_stride + c * col_stride]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// # Panics
    /// If `data` is too short to hold every element the strides reach.
    pub fn new(data: &'a [f32], rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> Self {
        let needed = span(rows, cols, row_stride, col_stride);
        assert!(
            data.len() >= needed,
            "matrix view {rows}x{cols} (strides {row_stride}, {col_stride}) needs {needed} floats, got {}",
            data.len()
        );
        MatRef { data, rows, cols, row_stride, col_stride }
    }

    /// A dense row-major `rows × cols` matrix.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, cols, 1)
    }

    /// The transpose, without moving any data.
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Columns `start .. start + count` of this view.
    pub fn columns(self, start: usize, count: usize) -> Self {
        assert!(start + count <= self.cols, "column range out of bounds");
        if count == 0 || self.rows == 0 {
            return MatRef { data: &[], cols: count, ..self };
        }
        MatRef { data: &self.data[start * self.col_stride..], cols: count, ..self }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Element `(r, c)`.
    #[inline(always)]
    pub fn at(&self, r: usize, c: usize) -> f32 {
        self.data[r * self.row_stride + c * self.col_stride]
    }

    pub(crate) fn row_stride(&self) -> usize {
        self.row_stride
    }

    pub(crate) fn col_stride(&self) -> usize {
        self.col_stride
    }

    pub(crate) fn data(&self) -> &'a [f32] {
        self.data
    }
}

/// A mutable `rows × cols` view with unit column stride: element `(r, c)` is
/// `data[r * row_stride + c]`.
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
}

impl<'a> MatMut<'a> {
    /// # Panics
    /// If `data` is too short, or `row_stride < cols`.
    pub fn new(data: &'a mut [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        assert!(rows <= 1 || row_stride >= cols, "row stride {row_stride} < cols {cols}");
        let needed = span(rows, cols, row_stride, 1);
        assert!(
            data.len() >= needed,
            "output view {rows}x{cols} (row stride {row_stride}) needs {needed} floats, got {}",
            data.len()
        );
        MatMut { data, rows, cols, row_stride }
    }

    pub fn row_major(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, cols)
    }

    /// Columns `start .. start + count`, borrowing this view.
    pub fn columns(&mut self, start: usize, count: usize) -> MatMut<'_> {
        assert!(start + count <= self.cols, "column range out of bounds");
        let data: &mut [f32] = if count == 0 || self.rows == 0 { &mut [] } else { &mut self.data[start..] };
        MatMut { data, rows: self.rows, cols: count, row_stride: self.row_stride }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub(crate) fn row_stride(&self) -> usize {
        self.row_stride
    }

    pub(crate) fn data_mut(&mut self) -> &mut [f32] {
        self.data
    }
}

/// Floats a strided view reaches: one past its last element.
fn span(rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * row_stride + (cols - 1) * col_stride + 1
    }
}
