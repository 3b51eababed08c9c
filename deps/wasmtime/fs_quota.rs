//! A byte quota on what a component may add to its preopened directories.
//!
//! Wasmtime's C API preopens directories (`wasi_config_preopen_dir`) but has no hook on what a
//! guest writes through them. This module re-registers `wasi:filesystem/types` in a component
//! linker (shadowing what `wasmtime_component_linker_add_wasip2` defined) with a wrapper around
//! wasmtime-wasi's own implementation: every call is delegated unchanged, except that the calls
//! that can make the directory tree bigger are charged, BEFORE they act, against the store's
//! budget:
//!
//!   write(fd, buf, offset)         the bytes past the file's current end
//!   set-size(fd, size)             the growth
//!   write-via-stream(fd, offset)   the returned output stream charges each write's bytes past
//!                                  max(file size, what this stream already charged)
//!   append-via-stream(fd)          every byte written to the returned stream
//!   open-at (create) of a path that did not exist, create-directory-at, symlink-at, link-at
//!                                  ENTRY_BYTES for the new directory entry
//!
//! A call the budget cannot pay for fails with `error-code.quota` (a stream write with
//! `last-operation-failed`, whose `filesystem-error-code` is `quota`) and nothing is written.
//! Shrinking or deleting files does not give budget back within a run: the budget is
//! "quota - usage at the start of the run", computed by the embedder, and every byte the run
//! adds is charged, so usage can never pass the quota. Overwriting bytes inside a file's
//! current size is free.
//!
//! Budgets live in a process-wide map keyed by the address of the store's data (stable for
//! the store's life); `aether_wasi_fs_quota_set` registers one, `aether_wasi_fs_quota_clear`
//! (before the store is deleted) removes it. A store without a budget may not grow anything
//! (fail closed).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use wasmtime_c_api::wasmtime;
use wasmtime_c_api::{WasmtimeStoreContextMut, WasmtimeStoreData, wasmtime_component_linker_t, wasmtime_error_t};
use wasmtime::component::{HasData, Linker, Resource};
use wasmtime_wasi::filesystem::{Descriptor, WasiFilesystemCtxView, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::filesystem::types as async_types;
use wasmtime_wasi::p2::bindings::sync::filesystem::types as fst;
use wasmtime_wasi::p2::bindings::sync::io::streams;
use wasmtime_wasi::p2::{DynOutputStream, FsError, FsResult, OutputStream, Pollable, StreamError, StreamResult};

/// What one new directory entry (file, directory, symlink, hard link) costs: one block.
pub const ENTRY_BYTES: u64 = 4096;

/// The error a refused stream write carries (`filesystem-error-code` maps it to `quota`).
#[derive(Debug)]
struct QuotaExceeded {
    wanted: u64,
    left: u64,
}

impl fmt::Display for QuotaExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "file storage quota exceeded: {} more bytes asked, {} left", self.wanted, self.left)
    }
}

impl std::error::Error for QuotaExceeded {}

struct Budget {
    remaining: AtomicU64,
    charged: AtomicU64,
    refused: AtomicU64,
}

impl Budget {
    fn new(bytes: u64) -> Self {
        Budget { remaining: AtomicU64::new(bytes), charged: AtomicU64::new(0), refused: AtomicU64::new(0) }
    }

    fn charge(&self, n: u64) -> Result<(), QuotaExceeded> {
        if n == 0 {
            return Ok(());
        }
        let mut cur = self.remaining.load(Ordering::SeqCst);
        loop {
            if n > cur {
                self.refused.fetch_add(1, Ordering::SeqCst);
                return Err(QuotaExceeded { wanted: n, left: cur });
            }
            match self.remaining.compare_exchange(cur, cur - n, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => {
                    self.charged.fetch_add(n, Ordering::SeqCst);
                    return Ok(());
                }
                Err(now) => cur = now,
            }
        }
    }

    // Gives back a charge whose operation did not happen.
    fn refund(&self, n: u64) {
        if n == 0 {
            return;
        }
        self.remaining.fetch_add(n, Ordering::SeqCst);
        self.charged.fetch_sub(n, Ordering::SeqCst);
    }
}

fn budgets() -> &'static Mutex<HashMap<usize, Arc<Budget>>> {
    static MAP: OnceLock<Mutex<HashMap<usize, Arc<Budget>>>> = OnceLock::new();
    MAP.get_or_init(|| Mutex::new(HashMap::new()))
}

fn key(data: &WasmtimeStoreData) -> usize {
    data as *const WasmtimeStoreData as usize
}

fn budget_of(data: &WasmtimeStoreData) -> Arc<Budget> {
    let map = budgets().lock().unwrap_or_else(|e| e.into_inner());
    match map.get(&key(data)) {
        Some(b) => b.clone(),
        None => Arc::new(Budget::new(0)),
    }
}

fn quota_error() -> FsError {
    async_types::ErrorCode::Quota.into()
}

/// wasmtime-wasi's filesystem view plus the store's budget.
pub struct QuotaFs<'a> {
    fs: WasiFilesystemCtxView<'a>,
    budget: Arc<Budget>,
}

struct QuotaFsData;

impl HasData for QuotaFsData {
    type Data<'a> = QuotaFs<'a>;
}

fn quota_fs(data: &mut WasmtimeStoreData) -> QuotaFs<'_> {
    let budget = budget_of(data);
    QuotaFs { fs: data.filesystem(), budget }
}

fn borrow<T: 'static>(r: &Resource<T>) -> Resource<T> {
    Resource::new_borrow(r.rep())
}

impl QuotaFs<'_> {
    // The file behind `fd` if it is one this run may write; None otherwise (the wrapped call
    // then fails on its own, with nothing charged).
    fn writable_file(&self, fd: &Resource<fst::Descriptor>) -> Option<Arc<std::fs::File>> {
        match self.fs.table.get(fd) {
            Ok(Descriptor::File(f)) if !f.perms.write_not_permitted() => Some(f.file.clone()),
            _ => None,
        }
    }

    // Whether `path` names something already, resolved as open-at will (`path_flags`: a
    // dangling symlink that open-at would follow and create through is "not there").
    fn exists(&mut self, fd: &Resource<fst::Descriptor>, path_flags: fst::PathFlags, path: &str) -> bool {
        fst::HostDescriptor::stat_at(&mut self.fs, borrow(fd), path_flags, path.to_string()).is_ok()
    }

    // Charges ENTRY_BYTES, runs `op`, refunds if it failed.
    fn new_entry<R>(&mut self, op: impl FnOnce(&mut Self) -> FsResult<R>) -> FsResult<R> {
        self.budget.charge(ENTRY_BYTES).map_err(|_| quota_error())?;
        let r = op(self);
        if r.is_err() {
            self.budget.refund(ENTRY_BYTES);
        }
        r
    }

    fn wrap_stream(
        &mut self,
        stream: Resource<DynOutputStream>,
        file: Arc<std::fs::File>,
        position: Option<u64>,
    ) -> FsResult<Resource<DynOutputStream>> {
        let inner: DynOutputStream = self.fs.table.delete(stream)?;
        let wrapped: DynOutputStream = Box::new(QuotaStream {
            inner,
            file,
            position,
            high_water: 0,
            budget: self.budget.clone(),
        });
        Ok(self.fs.table.push(wrapped)?)
    }
}

fn file_len(file: &std::fs::File) -> u64 {
    file.metadata().map(|m| m.len()).unwrap_or(0)
}

impl fst::Host for QuotaFs<'_> {
    fn convert_error_code(&mut self, err: FsError) -> wasmtime::Result<fst::ErrorCode> {
        fst::Host::convert_error_code(&mut self.fs, err)
    }

    fn filesystem_error_code(
        &mut self,
        err: Resource<streams::Error>,
    ) -> wasmtime::Result<Option<fst::ErrorCode>> {
        if let Ok(e) = self.fs.table.get(&err) {
            if e.downcast_ref::<QuotaExceeded>().is_some() {
                return Ok(Some(fst::ErrorCode::Quota));
            }
        }
        fst::Host::filesystem_error_code(&mut self.fs, err)
    }
}

impl fst::HostDescriptor for QuotaFs<'_> {
    fn advise(
        &mut self,
        fd: Resource<fst::Descriptor>,
        offset: fst::Filesize,
        len: fst::Filesize,
        advice: fst::Advice,
    ) -> FsResult<()> {
        fst::HostDescriptor::advise(&mut self.fs, fd, offset, len, advice)
    }

    fn sync_data(&mut self, fd: Resource<fst::Descriptor>) -> FsResult<()> {
        fst::HostDescriptor::sync_data(&mut self.fs, fd)
    }

    fn get_flags(&mut self, fd: Resource<fst::Descriptor>) -> FsResult<fst::DescriptorFlags> {
        fst::HostDescriptor::get_flags(&mut self.fs, fd)
    }

    fn get_type(&mut self, fd: Resource<fst::Descriptor>) -> FsResult<fst::DescriptorType> {
        fst::HostDescriptor::get_type(&mut self.fs, fd)
    }

    fn set_size(&mut self, fd: Resource<fst::Descriptor>, size: fst::Filesize) -> FsResult<()> {
        let mut growth = 0;
        if let Some(file) = self.writable_file(&fd) {
            growth = size.saturating_sub(file_len(&file));
            self.budget.charge(growth).map_err(|_| quota_error())?;
        }
        let r = fst::HostDescriptor::set_size(&mut self.fs, fd, size);
        if r.is_err() {
            self.budget.refund(growth);
        }
        r
    }

    fn set_times(
        &mut self,
        fd: Resource<fst::Descriptor>,
        atim: fst::NewTimestamp,
        mtim: fst::NewTimestamp,
    ) -> FsResult<()> {
        fst::HostDescriptor::set_times(&mut self.fs, fd, atim, mtim)
    }

    fn read(
        &mut self,
        fd: Resource<fst::Descriptor>,
        len: fst::Filesize,
        offset: fst::Filesize,
    ) -> FsResult<(Vec<u8>, bool)> {
        fst::HostDescriptor::read(&mut self.fs, fd, len, offset)
    }

    fn write(&mut self, fd: Resource<fst::Descriptor>, buf: Vec<u8>, offset: fst::Filesize) -> FsResult<fst::Filesize> {
        let mut growth = 0;
        if let Some(file) = self.writable_file(&fd) {
            let end = offset.saturating_add(buf.len() as u64);
            growth = end.saturating_sub(file_len(&file));
            self.budget.charge(growth).map_err(|_| quota_error())?;
        }
        let r = fst::HostDescriptor::write(&mut self.fs, fd, buf, offset);
        if r.is_err() {
            self.budget.refund(growth);
        }
        r
    }

    fn read_directory(&mut self, fd: Resource<fst::Descriptor>) -> FsResult<Resource<fst::DirectoryEntryStream>> {
        fst::HostDescriptor::read_directory(&mut self.fs, fd)
    }

    fn sync(&mut self, fd: Resource<fst::Descriptor>) -> FsResult<()> {
        fst::HostDescriptor::sync(&mut self.fs, fd)
    }

    fn create_directory_at(&mut self, fd: Resource<fst::Descriptor>, path: String) -> FsResult<()> {
        self.new_entry(|s| fst::HostDescriptor::create_directory_at(&mut s.fs, fd, path))
    }

    fn stat(&mut self, fd: Resource<fst::Descriptor>) -> FsResult<fst::DescriptorStat> {
        fst::HostDescriptor::stat(&mut self.fs, fd)
    }

    fn stat_at(
        &mut self,
        fd: Resource<fst::Descriptor>,
        path_flags: fst::PathFlags,
        path: String,
    ) -> FsResult<fst::DescriptorStat> {
        fst::HostDescriptor::stat_at(&mut self.fs, fd, path_flags, path)
    }

    fn set_times_at(
        &mut self,
        fd: Resource<fst::Descriptor>,
        path_flags: fst::PathFlags,
        path: String,
        atim: fst::NewTimestamp,
        mtim: fst::NewTimestamp,
    ) -> FsResult<()> {
        fst::HostDescriptor::set_times_at(&mut self.fs, fd, path_flags, path, atim, mtim)
    }

    fn link_at(
        &mut self,
        fd: Resource<fst::Descriptor>,
        old_path_flags: fst::PathFlags,
        old_path: String,
        new_descriptor: Resource<fst::Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        self.new_entry(|s| {
            fst::HostDescriptor::link_at(&mut s.fs, fd, old_path_flags, old_path, new_descriptor, new_path)
        })
    }

    fn open_at(
        &mut self,
        fd: Resource<fst::Descriptor>,
        path_flags: fst::PathFlags,
        path: String,
        oflags: fst::OpenFlags,
        flags: fst::DescriptorFlags,
    ) -> FsResult<Resource<fst::Descriptor>> {
        if oflags.contains(fst::OpenFlags::CREATE) && !self.exists(&fd, path_flags, &path) {
            return self.new_entry(|s| fst::HostDescriptor::open_at(&mut s.fs, fd, path_flags, path, oflags, flags));
        }
        fst::HostDescriptor::open_at(&mut self.fs, fd, path_flags, path, oflags, flags)
    }

    fn drop(&mut self, fd: Resource<fst::Descriptor>) -> wasmtime::Result<()> {
        fst::HostDescriptor::drop(&mut self.fs, fd)
    }

    fn readlink_at(&mut self, fd: Resource<fst::Descriptor>, path: String) -> FsResult<String> {
        fst::HostDescriptor::readlink_at(&mut self.fs, fd, path)
    }

    fn remove_directory_at(&mut self, fd: Resource<fst::Descriptor>, path: String) -> FsResult<()> {
        fst::HostDescriptor::remove_directory_at(&mut self.fs, fd, path)
    }

    fn rename_at(
        &mut self,
        fd: Resource<fst::Descriptor>,
        old_path: String,
        new_fd: Resource<fst::Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        fst::HostDescriptor::rename_at(&mut self.fs, fd, old_path, new_fd, new_path)
    }

    fn symlink_at(&mut self, fd: Resource<fst::Descriptor>, src_path: String, dest_path: String) -> FsResult<()> {
        self.new_entry(|s| fst::HostDescriptor::symlink_at(&mut s.fs, fd, src_path, dest_path))
    }

    fn unlink_file_at(&mut self, fd: Resource<fst::Descriptor>, path: String) -> FsResult<()> {
        fst::HostDescriptor::unlink_file_at(&mut self.fs, fd, path)
    }

    fn read_via_stream(
        &mut self,
        fd: Resource<fst::Descriptor>,
        offset: fst::Filesize,
    ) -> FsResult<Resource<streams::InputStream>> {
        fst::HostDescriptor::read_via_stream(&mut self.fs, fd, offset)
    }

    fn write_via_stream(
        &mut self,
        fd: Resource<fst::Descriptor>,
        offset: fst::Filesize,
    ) -> FsResult<Resource<streams::OutputStream>> {
        let file = self.writable_file(&fd);
        let stream = fst::HostDescriptor::write_via_stream(&mut self.fs, fd, offset)?;
        match file {
            Some(file) => self.wrap_stream(stream, file, Some(offset)),
            // The wrapped call refuses descriptors it may not write; keep the invariant anyway.
            None => {
                let _ = self.fs.table.delete(stream);
                Err(async_types::ErrorCode::NotPermitted.into())
            }
        }
    }

    fn append_via_stream(&mut self, fd: Resource<fst::Descriptor>) -> FsResult<Resource<streams::OutputStream>> {
        let file = self.writable_file(&fd);
        let stream = fst::HostDescriptor::append_via_stream(&mut self.fs, fd)?;
        match file {
            Some(file) => self.wrap_stream(stream, file, None),
            None => {
                let _ = self.fs.table.delete(stream);
                Err(async_types::ErrorCode::NotPermitted.into())
            }
        }
    }

    fn is_same_object(&mut self, a: Resource<fst::Descriptor>, b: Resource<fst::Descriptor>) -> wasmtime::Result<bool> {
        fst::HostDescriptor::is_same_object(&mut self.fs, a, b)
    }

    fn metadata_hash(&mut self, fd: Resource<fst::Descriptor>) -> FsResult<fst::MetadataHashValue> {
        fst::HostDescriptor::metadata_hash(&mut self.fs, fd)
    }

    fn metadata_hash_at(
        &mut self,
        fd: Resource<fst::Descriptor>,
        path_flags: fst::PathFlags,
        path: String,
    ) -> FsResult<fst::MetadataHashValue> {
        fst::HostDescriptor::metadata_hash_at(&mut self.fs, fd, path_flags, path)
    }
}

impl fst::HostDirectoryEntryStream for QuotaFs<'_> {
    fn read_directory_entry(
        &mut self,
        stream: Resource<fst::DirectoryEntryStream>,
    ) -> FsResult<Option<fst::DirectoryEntry>> {
        fst::HostDirectoryEntryStream::read_directory_entry(&mut self.fs, stream)
    }

    fn drop(&mut self, stream: Resource<fst::DirectoryEntryStream>) -> wasmtime::Result<()> {
        fst::HostDirectoryEntryStream::drop(&mut self.fs, stream)
    }
}

/// A file output stream that pays for its growth before each write.
struct QuotaStream {
    inner: DynOutputStream,
    file: Arc<std::fs::File>,
    position: Option<u64>, // None: append mode (every byte is growth)
    high_water: u64,       // the end of what this stream has charged for
    budget: Arc<Budget>,
}

impl QuotaStream {
    fn charge(&mut self, n: usize) -> StreamResult<u64> {
        let n = n as u64;
        let growth = match self.position {
            None => n,
            Some(p) => p.saturating_add(n).saturating_sub(file_len(&self.file).max(self.high_water)),
        };
        self.budget
            .charge(growth)
            .map_err(|e| StreamError::LastOperationFailed(wasmtime::Error::new(e)))?;
        Ok(growth)
    }

    fn done(&mut self, n: usize, growth: u64, ok: bool) {
        if !ok {
            self.budget.refund(growth);
            return;
        }
        if let Some(p) = self.position.as_mut() {
            *p = p.saturating_add(n as u64);
            self.high_water = self.high_water.max(*p);
        }
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for QuotaStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        let n = bytes.len();
        let growth = self.charge(n)?;
        let r = self.inner.write(bytes);
        self.done(n, growth, r.is_ok());
        r
    }

    async fn blocking_write_and_flush(&mut self, bytes: Bytes) -> StreamResult<()> {
        let n = bytes.len();
        let growth = self.charge(n)?;
        let r = self.inner.blocking_write_and_flush(bytes).await;
        self.done(n, growth, r.is_ok());
        r
    }

    fn write_zeroes(&mut self, nelem: usize) -> StreamResult<()> {
        let growth = self.charge(nelem)?;
        let r = self.inner.write_zeroes(nelem);
        self.done(nelem, growth, r.is_ok());
        r
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.inner.flush()
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        self.inner.check_write()
    }

    async fn cancel(&mut self) {
        self.inner.cancel().await
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for QuotaStream {
    async fn ready(&mut self) {
        self.inner.ready().await
    }
}

/// Re-registers wasi:filesystem/types in `linker` with the quota wrapper. Call after
/// `wasmtime_component_linker_add_wasip2`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aether_wasi_fs_quota_link(
    linker: &mut wasmtime_component_linker_t,
) -> Option<Box<wasmtime_error_t>> {
    // wasmtime_component_linker_t is #[repr(transparent)] over Linker<WasmtimeStoreData>.
    let linker = unsafe { &mut *(linker as *mut wasmtime_component_linker_t as *mut Linker<WasmtimeStoreData>) };
    linker.allow_shadowing(true);
    let r = fst::add_to_linker::<WasmtimeStoreData, QuotaFsData>(linker, quota_fs);
    linker.allow_shadowing(false);
    match r {
        Ok(()) => None,
        Err(e) => Some(Box::new(wasmtime_error_t::from(e))),
    }
}

/// Gives the store `bytes` of growth (u64::MAX: no quota). Replaces an earlier budget.
#[unsafe(no_mangle)]
pub extern "C" fn aether_wasi_fs_quota_set(cx: WasmtimeStoreContextMut<'_>, bytes: u64) {
    let k = key(cx.data());
    budgets().lock().unwrap_or_else(|e| e.into_inner()).insert(k, Arc::new(Budget::new(bytes)));
}

/// What the store's budget has paid for and how many calls it refused. False if it has none.
#[unsafe(no_mangle)]
pub extern "C" fn aether_wasi_fs_quota_stats(cx: WasmtimeStoreContextMut<'_>, charged: &mut u64, refused: &mut u64) -> bool {
    let k = key(cx.data());
    let map = budgets().lock().unwrap_or_else(|e| e.into_inner());
    match map.get(&k) {
        Some(b) => {
            *charged = b.charged.load(Ordering::SeqCst);
            *refused = b.refused.load(Ordering::SeqCst);
            true
        }
        None => false,
    }
}

/// Forgets the store's budget; call before deleting the store.
#[unsafe(no_mangle)]
pub extern "C" fn aether_wasi_fs_quota_clear(cx: WasmtimeStoreContextMut<'_>) {
    let k = key(cx.data());
    budgets().lock().unwrap_or_else(|e| e.into_inner()).remove(&k);
}
