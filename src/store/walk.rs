//! The one way this store walks rows: [`CommonsStore::scan_rows`] reads the
//! rows under a prefix in bounded chunks, in key order, and everything else
//! (paged lists with opaque cursors, index-backed pages, whole-index walks,
//! due-time sweeps) is built on it.
//!
//! **Invariants:** a walk holds at most one chunk of rows in memory; a paged
//! list examines at most [`MAX_ROWS_PER_PAGE_SCAN`] rows per call, so a
//! filter matching few records cannot turn one request into a scan of a whole
//! namespace; an index row that points to nothing, or a record that does not
//! decode, is an error naming its key, never skipped.

use std::ops::ControlFlow;

use super::{decode_stored, CommonsStore, Entity, Page, StoreError, StoreResult};
use crate::backend::CommonsStoreBackend;

/// Most rows one list call examines. A page may hold fewer than `limit`
/// items while `next_cursor` is set.
pub const MAX_ROWS_PER_PAGE_SCAN: usize = 1_000;

/// Which page of a list to read: the opaque `cursor` a previous page handed
/// out (`None`: from the start) and the most items wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging<'a> {
    /// `next_cursor` of the previous page.
    pub cursor: Option<&'a str>,
    /// Most items in the page; 0 reads nothing (an empty page, no cursor).
    pub limit: usize,
}

impl<'a> Paging<'a> {
    /// The page after `cursor`, of at most `limit` items.
    pub fn new(cursor: Option<&'a str>, limit: usize) -> Self {
        Self { cursor, limit }
    }
}

/// Rows read per chunk by walks that visit a whole index.
pub(super) const WALK_CHUNK: usize = 256;

/// Rows read per chunk by walks that visit a whole namespace or store.
const EACH_ROW_CHUNK: usize = 1024;

/// `Corrupt` naming `key`.
pub(super) fn corrupt(key: &[u8], reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt { key: String::from_utf8_lossy(key).into_owned(), reason: reason.into() }
}

/// An index row's value as text (a record id or a status name).
pub(super) fn row_text<'a>(key: &[u8], value: &'a [u8]) -> StoreResult<&'a str> {
    std::str::from_utf8(value).map_err(|_| corrupt(key, "index value is not UTF-8"))
}

impl<S: CommonsStoreBackend> CommonsStore<S> {
    /// Calls `visit` on every row under `prefix` after the full key
    /// `start_after` (`None`: from the first), in key order, reading
    /// `chunk` rows at a time, until `visit` breaks or the rows run out.
    /// Rows the visitor deletes meanwhile are simply passed (the walk
    /// continues after the last key it saw).
    ///
    /// # Errors
    /// Backend errors; the visitor's errors, as they are.
    pub(super) fn scan_rows<Err: From<StoreError>>(
        &self,
        prefix: &str,
        start_after: Option<Vec<u8>>,
        chunk: usize,
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<ControlFlow<()>, Err>,
    ) -> Result<(), Err> {
        let mut after = start_after;
        loop {
            let rows =
                self.engine()?.scan_from(prefix.as_bytes(), after.as_deref(), chunk).map_err(StoreError::from)?;
            for (k, v) in &rows {
                if visit(k, v)?.is_break() {
                    return Ok(());
                }
            }
            match rows.last() {
                Some((k, _)) if rows.len() == chunk => after = Some(k.clone()),
                _ => return Ok(()),
            }
        }
    }

    /// Calls `visit` on every row under `prefix`, in key order, reading
    /// [`EACH_ROW_CHUNK`] rows at a time (for walks that visit everything:
    /// verify, export).
    ///
    /// # Errors
    /// Backend errors; the visitor's errors.
    pub(super) fn each_row<Err: From<StoreError>>(
        &self,
        prefix: &str,
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<(), Err>,
    ) -> Result<(), Err> {
        self.scan_rows(prefix, None, EACH_ROW_CHUNK, |k, v| visit(k, v).map(|()| ControlFlow::Continue(())))
    }

    /// The record an index row's id names; `Corrupt` naming the row when
    /// there is none.
    pub(super) fn get_indexed<E: Entity>(&self, index_key: &[u8], id: &str) -> StoreResult<E> {
        self.get::<E>(id)?.ok_or_else(|| corrupt(index_key, format!("index row points to missing {} {id}", E::NAME)))
    }

    /// The value of an index row (a record id), if present.
    ///
    /// # Errors
    /// Backend errors; `Corrupt` for a non-UTF-8 value.
    pub(super) fn index_value(&self, index_key: &str) -> StoreResult<Option<String>> {
        match self.engine()?.get(index_key.as_bytes())? {
            None => Ok(None),
            Some(raw) => Ok(Some(row_text(index_key.as_bytes(), &raw)?.to_string())),
        }
    }

    /// The record an index row points to.
    ///
    /// # Errors
    /// `Corrupt` naming the index key when the row points to no record.
    pub(super) fn get_by_index<E: Entity>(&self, index_key: &str) -> StoreResult<Option<E>> {
        let Some(id) = self.index_value(index_key)? else { return Ok(None) };
        self.get_indexed(index_key.as_bytes(), &id).map(Some)
    }

    /// One page of the rows under `prefix` from the opaque `cursor`: `take`
    /// is called on each row and says whether it became an item; the walk
    /// stops once `limit` items were taken or [`MAX_ROWS_PER_PAGE_SCAN`] rows
    /// examined. The cursor handed out is the hex of the last examined key's
    /// suffix, and is `None` when no row follows it.
    ///
    /// # Errors
    /// `InvalidCursor`; backend errors; `take`'s errors.
    fn page_rows(
        &self,
        prefix: &str,
        page: Paging<'_>,
        mut take: impl FnMut(&[u8], &[u8]) -> StoreResult<bool>,
    ) -> StoreResult<Option<String>> {
        let Paging { cursor, limit } = page;
        let start_after = match cursor {
            None => None,
            Some(c) => {
                let bad = || StoreError::InvalidCursor { cursor: c.chars().take(120).collect() };
                let suffix = hex::decode(c).map_err(|_| bad())?;
                if suffix.is_empty() {
                    return Err(bad());
                }
                Some([prefix.as_bytes(), &suffix].concat())
            }
        };
        if limit == 0 {
            return Ok(None);
        }
        let (mut taken, mut examined) = (0usize, 0usize);
        let mut stopped_at: Option<Vec<u8>> = None;
        let mut next_cursor = None;
        // Reads one row past a full page, so that a page ending at the last
        // row hands out no cursor.
        self.scan_rows::<StoreError>(prefix, start_after, (limit + 1).clamp(16, 256), |k, v| {
            if let Some(last) = stopped_at.take() {
                next_cursor = Some(hex::encode(&last[prefix.len()..]));
                return Ok(ControlFlow::Break(()));
            }
            examined += 1;
            if take(k, v)? {
                taken += 1;
            }
            if taken >= limit || examined >= MAX_ROWS_PER_PAGE_SCAN {
                stopped_at = Some(k.to_vec());
            }
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(next_cursor)
    }

    /// A page of the records `load` makes of the rows under `prefix`,
    /// keeping those `filter` accepts.
    fn collect<E>(
        &self,
        prefix: &str,
        page: Paging<'_>,
        load: impl Fn(&[u8], &[u8]) -> StoreResult<Option<E>>,
        filter: impl Fn(&E) -> bool,
    ) -> StoreResult<Page<E>> {
        let mut items = Vec::new();
        let next_cursor = self.page_rows(prefix, page, |k, v| {
            let Some(record) = load(k, v)? else { return Ok(false) };
            let keep = filter(&record);
            if keep {
                items.push(record);
            }
            Ok(keep)
        })?;
        Ok(Page { items, next_cursor })
    }

    /// A page of records of `E` in id order, keeping those `filter` accepts.
    ///
    /// # Errors
    /// `InvalidCursor`; `Corrupt` naming the key of a record that does not
    /// decode (never skipped); backend errors.
    pub fn list<E: Entity>(&self, page: Paging<'_>, filter: impl Fn(&E) -> bool) -> StoreResult<Page<E>> {
        self.collect(E::PREFIX, page, |k, v| decode_stored(k, v).map(Some), filter)
    }

    /// A page of the records that the index rows under `index_prefix` point
    /// to (the row's value is the id), in index order, keeping those
    /// `filter` accepts.
    ///
    /// # Errors
    /// `InvalidCursor`; `Corrupt` naming an index row that points to nothing or
    /// a record that does not decode; backend errors.
    pub(super) fn list_by_index<E: Entity>(
        &self,
        index_prefix: &str,
        page: Paging<'_>,
        filter: impl Fn(&E) -> bool,
    ) -> StoreResult<Page<E>> {
        self.collect(index_prefix, page, |k, v| self.get_indexed(k, row_text(k, v)?).map(Some), filter)
    }

    /// A page of the records named by the KEY suffixes of the index rows
    /// under `index_prefix` (`<prefix><id>`, whose value is a small fact
    /// about the record rather than its id), keeping rows whose value
    /// `keep_row` accepts (tested before the record is read, so only records
    /// that may be returned are read) and then records `filter` accepts.
    ///
    /// # Errors
    /// `InvalidCursor`; `Corrupt` naming the index key of a row with a
    /// non-UTF-8 key or value, an empty id, or no record behind it; `Corrupt`
    /// for a record that does not decode; backend errors.
    pub(super) fn list_by_index_suffix<E: Entity>(
        &self,
        index_prefix: &str,
        page: Paging<'_>,
        keep_row: impl Fn(&str) -> bool,
        filter: impl Fn(&E) -> bool,
    ) -> StoreResult<Page<E>> {
        let load = |k: &[u8], v: &[u8]| {
            if !keep_row(row_text(k, v)?) {
                return Ok(None);
            }
            self.get_indexed(k, id_suffix::<E>(k, index_prefix)?).map(Some)
        };
        self.collect(index_prefix, page, load, filter)
    }
}

/// The record id at the end of an index key `<prefix><id>`.
pub(super) fn id_suffix<'a, E: Entity>(key: &'a [u8], prefix: &str) -> StoreResult<&'a str> {
    let id = std::str::from_utf8(&key[prefix.len()..]).map_err(|_| corrupt(key, "index key is not UTF-8"))?;
    if id.is_empty() || id.contains('/') {
        return Err(corrupt(key, format!("index key does not end in a {} id", E::NAME)));
    }
    Ok(id)
}
