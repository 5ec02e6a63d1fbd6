//! Turns the pointers of one call into slices, after checking each against
//! the allocation table and against the call's other arguments (no output may
//! alias another argument).

use crate::registry;
use gru_core::ops::gru::Shared;
use wasm_bindgen::JsError;

pub struct Args {
    op: &'static str,
    /// (offset, name, written)
    seen: Vec<(u32, &'static str, bool)>,
}

impl Args {
    pub fn new(op: &'static str) -> Self {
        // Unallocated until a first tensor is found live (see `claim`).
        Args { op, seen: Vec::new() }
    }

    pub fn op(&self) -> &'static str {
        self.op
    }

    fn claim(&mut self, name: &'static str, offset: u32, written: bool) -> Result<usize, JsError> {
        let len = registry::length(offset as usize)?.ok_or_else(|| {
            JsError::new(&format!(
                "{}: `{name}` (offset {offset}) is not a live tensor: disposed, or never allocated by this kernel",
                self.op
            ))
        })?;
        if let Some(&(_, other, other_written)) = self.seen.iter().find(|(o, _, _)| *o == offset) {
            if written || other_written {
                return Err(JsError::new(&format!(
                    "{}: `{name}` and `{other}` are the same tensor, but one of them is written",
                    self.op
                )));
            }
        }
        if self.seen.capacity() == 0 {
            // Not before the lookup above: once the memory is unusable, that
            // reports it, where an allocation would trap.
            self.seen.reserve(12);
        }
        self.seen.push((offset, name, written));
        Ok(len as usize)
    }

    /// A tensor read by the call.
    pub fn read(&mut self, name: &'static str, offset: u32) -> Result<&'static [f32], JsError> {
        let len = self.claim(name, offset, false)?;
        // SAFETY: the table says `len` floats at `offset` are allocated, live
        // and 16-byte aligned; nothing this call writes aliases them.
        Ok(unsafe { std::slice::from_raw_parts(offset as usize as *const f32, len) })
    }

    /// A tensor written by the call.
    // The slice comes from the kernel's memory, not from `name`.
    #[allow(clippy::mut_from_ref)]
    pub fn write(&mut self, name: &'static str, offset: u32) -> Result<&'static mut [f32], JsError> {
        let len = self.claim(name, offset, true)?;
        // SAFETY: as in `read`, and no other argument of this call is this
        // tensor, so the mutable borrow is unique.
        Ok(unsafe { std::slice::from_raw_parts_mut(offset as usize as *mut f32, len) })
    }

    /// A tensor that the parts of one split call, running on several threads
    /// at once, each read and write in places of their own.
    pub fn shared(&mut self, name: &'static str, offset: u32) -> Result<Shared, JsError> {
        let len = self.claim(name, offset, true)?;
        // SAFETY: as in `write`; the other threads reach these floats only as
        // parts of the same call, which keep to the places of their own.
        Ok(unsafe { Shared::new(offset as usize as *mut f32, len) })
    }

    pub fn read_opt(&mut self, name: &'static str, offset: Option<u32>) -> Result<Option<&'static [f32]>, JsError> {
        offset.map(|o| self.read(name, o)).transpose()
    }

    pub fn write_opt(
        &mut self,
        name: &'static str,
        offset: Option<u32>,
    ) -> Result<Option<&'static mut [f32]>, JsError> {
        offset.map(|o| self.write(name, o)).transpose()
    }
}
