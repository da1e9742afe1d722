//! Paged lists over index rows whose KEY ends in the record id
//! (`<prefix><id>`) and whose VALUE is a small fact about the record rather
//! than its id: the membership rows `member/<jurisdiction>/<holder_id>` ->
//! affiliation status name ([`super::keys::member_prefix`]).
//!
//! **Invariant:** the row value is tested before the record is loaded, so a
//! filtered list (e.g. a jurisdiction's Members only) reads only the records
//! it may return, and only the rows under one prefix (one jurisdiction), never
//! the whole record namespace. A row that points to no record is an error
//! naming its key, never skipped.

use super::{CommonsStore, Entity, Page, StoreError, StoreResult};
use crate::backend::CommonsStoreBackend;

impl<S: CommonsStoreBackend> CommonsStore<S> {
    /// A page of the records named by the key suffixes of the index rows under
    /// `index_prefix`, in key order (so in id order), keeping rows whose value
    /// `keep_row` accepts (tested before the record is read) and then records
    /// `filter` accepts. `cursor` and `next_cursor` are opaque, as for
    /// [`CommonsStore::list`]; at most
    /// [`MAX_ROWS_PER_PAGE_SCAN`](super::MAX_ROWS_PER_PAGE_SCAN) rows are
    /// examined per call, so a page may be short while `next_cursor` is set.
    ///
    /// # Errors
    /// `InvalidCursor`; `Corrupt` naming the index key of a row with a
    /// non-UTF-8 key or value, an empty id, or no record behind it; `Corrupt`
    /// for a record that does not decode; backend errors.
    pub fn list_by_index_suffix<E: Entity>(
        &self,
        index_prefix: &str,
        cursor: Option<&str>,
        limit: usize,
        keep_row: impl Fn(&str) -> bool,
        filter: impl Fn(&E) -> bool,
    ) -> StoreResult<Page<E>> {
        let mut items = Vec::new();
        let next_cursor = self.walk(index_prefix, cursor, limit, |k, v| {
            let corrupt = |reason: String| StoreError::Corrupt { key: String::from_utf8_lossy(k).into_owned(), reason };
            let value = std::str::from_utf8(v).map_err(|_| corrupt("index value is not UTF-8".into()))?;
            if !keep_row(value) {
                return Ok(false);
            }
            let id =
                std::str::from_utf8(&k[index_prefix.len()..]).map_err(|_| corrupt("index key is not UTF-8".into()))?;
            if id.is_empty() || id.contains('/') {
                return Err(corrupt(format!("index key does not end in a {} id", E::NAME)));
            }
            let record =
                self.get::<E>(id)?.ok_or_else(|| corrupt(format!("index row points to missing {} {id}", E::NAME)))?;
            let keep = filter(&record);
            if keep {
                items.push(record);
            }
            Ok(keep)
        })?;
        Ok(Page { items, next_cursor })
    }
}
