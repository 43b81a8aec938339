//! Moving bytes across the native "ABI boundary".
//!
//! In a real VM the host copies into guest memory it allocated with `proxy_on_memory_allocate`.
//! Natively host and guest share the Rust global allocator, and the SDK takes ownership of every
//! returned buffer with `Vec::from_raw_parts(p, n, n)`, so buffers must be allocated by the
//! global allocator with capacity exactly `n`: a `Box<[u8]>` is exactly that.

use std::ptr::null_mut;

/// Borrows the guest's `(ptr, len)` argument; null or zero length is the empty slice (the SDK
/// passes `null()` for an absent body).
///
/// # Safety
/// `ptr` must be null or valid for reads of `len` bytes for `'a`.
pub(crate) unsafe fn slice<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: non-null, and the caller guarantees `len` readable bytes.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// Like [`slice`], decoded as UTF-8 with U+FFFD for invalid bytes.
///
/// # Safety
/// Same as [`slice`].
pub(crate) unsafe fn text(ptr: *const u8, len: usize) -> String {
    // SAFETY: forwarded to the caller.
    String::from_utf8_lossy(unsafe { slice(ptr, len) }).into_owned()
}

/// Stores `value` through an out-pointer, ignoring null.
///
/// # Safety
/// `out` must be null or valid for a write of `T`.
pub(crate) unsafe fn write<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-null, and the caller guarantees it is writable.
        unsafe { out.write(value) }
    }
}

/// Hands `bytes` to the guest through `(out_ptr, out_len)`.
///
/// Empty data is returned as null/0, as proxy-wasm-cpp-host's `copyToPointerSize` does; the SDK
/// reads that as `None` for buffers, properties and shared data, and as `Some("")` for a header
/// value.
///
/// # Safety
/// Both pointers must be null or valid for writes.
pub(crate) unsafe fn hand_over(bytes: &[u8], out_ptr: *mut *mut u8, out_len: *mut usize) {
    if bytes.is_empty() || out_ptr.is_null() {
        // SAFETY: forwarded to the caller.
        unsafe {
            write(out_ptr, null_mut());
            write(out_len, 0);
        }
        return;
    }
    let boxed: Box<[u8]> = bytes.into();
    let len = boxed.len();
    // SAFETY: forwarded to the caller; ownership of the allocation passes to the guest.
    unsafe {
        write(out_ptr, Box::into_raw(boxed).cast::<u8>());
        write(out_len, len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::null;

    #[test]
    fn null_arguments_are_empty() {
        // SAFETY: null is allowed.
        unsafe {
            assert_eq!(slice(null(), 5), b"");
            assert_eq!(text(null(), 0), "");
            write(null_mut::<u32>(), 1);
        }
    }

    #[test]
    fn hand_over_allocates_exactly_and_transfers_ownership() {
        let (mut ptr, mut len) = (null_mut(), 99usize);
        // SAFETY: both out-pointers are valid locals.
        unsafe { hand_over(b"abc", &mut ptr, &mut len) };
        assert!(!ptr.is_null());
        // SAFETY: this is exactly what the SDK does with the buffer.
        let back = unsafe { Vec::from_raw_parts(ptr, len, len) };
        assert_eq!(back, b"abc");

        let (mut ptr, mut len) = (8 as *mut u8, 99usize);
        // SAFETY: both out-pointers are valid locals.
        unsafe { hand_over(b"", &mut ptr, &mut len) };
        assert!(ptr.is_null());
        assert_eq!(len, 0);
    }
}
