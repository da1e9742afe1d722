//! Export and import of a whole store as JSON Lines, to move data between
//! engines (export from a sled build, import into a fjall build) or to keep a
//! backup.
//!
//! Format: the first line is a header
//! `{"format":"commons-gateway-export","schema_version":1,"engine":"sled"}`;
//! then one line per row, `{"key":"<key>","value":"<value text>"}`, in key
//! order; the last line is a trailer `{"end":true,"rows":N}` counting the rows,
//! so a truncated file is detected. Keys and values of this store are UTF-8
//! text (JSON records, ids, decimal numbers).
//!
//! **Invariant:** import writes only into an empty store (nothing but the
//! schema row), checks every key against the known namespaces and the
//! trailer's row count, and refuses a newer schema; a refused import has
//! written nothing.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use super::keys::{ALL_NAMESPACES, SCHEMA_VERSION, SCHEMA_VERSION_KEY};
use super::{CommonsStore, StoreError};
use crate::backend::{CommonsStoreBackend, InMemoryCommonsStore, StoreConfig, WriteBatch};

const FORMAT: &str = "commons-gateway-export";

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    schema_version: u32,
    engine: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Row {
    key: String,
    value: String,
}

#[derive(Serialize, Deserialize)]
struct Trailer {
    end: bool,
    rows: u64,
}

/// Why an export or import failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading or writing the file failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not a valid export; `line` is 1-based. Nothing was imported.
    #[error("line {line} of the export: {reason}")]
    Format {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The file's records are inconsistent (as `verify` reports them).
    /// Nothing was imported; fix or re-create the export.
    #[error("the export is inconsistent: {}", problems.join("; "))]
    Invalid {
        /// The problems, by key.
        problems: Vec<String>,
    },
    /// The target store already holds records. Import into a fresh data
    /// directory, or a database without the store's table (after an
    /// interrupted import: `DROP TABLE commons_rows`).
    #[error(
        "the target store is not empty (found key {first_key:?}); import only into a fresh data directory or a \
         database that holds no commons (after an interrupted import into PostgreSQL: DROP TABLE commons_rows)"
    )]
    NotEmpty {
        /// A key found.
        first_key: String,
    },
}

/// Rows per batch of an import.
const IMPORT_BATCH_ROWS: usize = 512;

impl<S: CommonsStoreBackend> CommonsStore<S> {
    /// Writes every row (schema row included) to `out`; returns the number of
    /// rows written. Reads the store in pages, so memory stays bounded.
    ///
    /// # Errors
    /// Store errors; `Io`; `Store(Corrupt)` for a non-UTF-8 value (naming its key).
    pub fn export_to(&self, engine: &str, mut out: impl Write) -> Result<u64, TransferError> {
        serde_json::to_writer(
            &mut out,
            &Header { format: FORMAT.into(), schema_version: SCHEMA_VERSION, engine: engine.into() },
        )
        .map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
        let mut rows = 0u64;
        self.each_row("", |k, v| -> Result<(), TransferError> {
            let text = |b: &[u8]| String::from_utf8(b.to_vec());
            let key = text(k).map_err(|_| StoreError::Corrupt {
                key: String::from_utf8_lossy(k).into_owned(),
                reason: "key is not UTF-8".into(),
            })?;
            let value =
                text(v).map_err(|_| StoreError::Corrupt { key: key.clone(), reason: "value is not UTF-8".into() })?;
            serde_json::to_writer(&mut out, &Row { key, value }).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
            rows += 1;
            Ok(())
        })?;
        serde_json::to_writer(&mut out, &Trailer { end: true, rows }).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
        out.flush()?;
        Ok(rows)
    }

    /// Reads an export from `input` into this (empty) store; returns the
    /// number of rows imported (the schema row not counted: the store has its
    /// own). The whole file is read and checked first ([`ExportFile::read`]).
    /// Rows are written in batches of 512; if the store fails midway, delete
    /// the target store folder and import again.
    ///
    /// # Errors
    /// As [`ExportFile::read`]; `NotEmpty`; store errors.
    pub fn import_from(&self, input: impl BufRead) -> Result<u64, TransferError> {
        self.import(ExportFile::read(input)?)
    }

    /// Writes a checked export into this (empty) store. See
    /// [`CommonsStore::import_from`].
    ///
    /// # Errors
    /// `NotEmpty`; store errors.
    pub fn import(&self, file: ExportFile) -> Result<u64, TransferError> {
        if let Some((k, _)) = self
            .backend()
            .scan_from(b"", None, 2)
            .map_err(StoreError::from)?
            .into_iter()
            .find(|(k, _)| k.as_slice() != SCHEMA_VERSION_KEY.as_bytes())
        {
            return Err(TransferError::NotEmpty { first_key: String::from_utf8_lossy(&k).into_owned() });
        }
        let rows = file.rows;
        let total = rows.len() as u64;
        for chunk in rows.chunks(IMPORT_BATCH_ROWS) {
            let mut batch = WriteBatch::new();
            for r in chunk {
                batch.put(r.key.as_bytes(), r.value.as_bytes());
            }
            self.backend().apply(batch).map_err(StoreError::from)?;
        }
        self.clear_caches();
        self.flush()?;
        Ok(total)
    }
}

/// A whole export file, read and checked: format, schema version, row keys,
/// trailer count, and every record decoding with its index rows in place
/// (the rows are loaded into a scratch in-memory store and `verify`d).
#[derive(Debug)]
pub struct ExportFile {
    rows: Vec<Row>,
}

impl ExportFile {
    /// Number of rows (the schema row not counted).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the export holds no record.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Reads and checks an export (see the type's docs). Holds the whole file
    /// in memory.
    ///
    /// # Errors
    /// `Format` naming the line for a bad header, row, key outside the known
    /// namespaces, newer schema, or a missing or wrong trailer; `Invalid` with
    /// the `verify` problems when a record does not decode or an index row
    /// does not match; `Io`.
    pub fn read(input: impl BufRead) -> Result<Self, TransferError> {
        let mut rows = Vec::new();
        let mut trailer = None;
        let mut line_count = 0;
        for (i, line) in input.lines().enumerate() {
            let line_no = i as u64 + 1;
            line_count = line_no;
            let line = line?;
            let bad = |reason: String| TransferError::Format { line: line_no, reason };
            if trailer.is_some() {
                return Err(bad("data after the trailer".into()));
            }
            if line_no == 1 {
                let h: Header = serde_json::from_str(&line).map_err(|e| bad(format!("not an export header: {e}")))?;
                if h.format != FORMAT {
                    return Err(bad(format!("format {:?} is not {FORMAT}", h.format)));
                }
                if h.schema_version > SCHEMA_VERSION {
                    return Err(bad(format!(
                        "schema version {} is newer than this binary's {SCHEMA_VERSION}",
                        h.schema_version
                    )));
                }
                continue;
            }
            if let Ok(t) = serde_json::from_str::<Trailer>(&line) {
                trailer = Some((line_no, t));
                continue;
            }
            let row: Row = serde_json::from_str(&line).map_err(|e| bad(format!("not a row: {e}")))?;
            if row.key != SCHEMA_VERSION_KEY
                && !ALL_NAMESPACES.iter().any(|ns| row.key.starts_with(ns) && row.key.len() > ns.len())
            {
                return Err(bad(format!("key {:?} is in no known namespace", row.key)));
            }
            if row.key == SCHEMA_VERSION_KEY {
                continue; // this store already has its own schema row
            }
            rows.push(row);
        }
        let Some((line_no, t)) = trailer else {
            return Err(TransferError::Format {
                line: line_count,
                reason: "the file ends without its trailer line: the export is truncated".into(),
            });
        };
        if !t.end || t.rows != rows.len() as u64 + 1 {
            return Err(TransferError::Format {
                line: line_no,
                reason: format!(
                    "trailer counts {} rows but the file holds {} (schema row included)",
                    t.rows,
                    rows.len() + 1
                ),
            });
        }
        let scratch = CommonsStore::new(
            InMemoryCommonsStore::new(),
            &StoreConfig { cache_records: 0, ..StoreConfig::default() },
        )?;
        for chunk in rows.chunks(IMPORT_BATCH_ROWS) {
            let mut batch = WriteBatch::new();
            for r in chunk {
                batch.put(r.key.as_bytes(), r.value.as_bytes());
            }
            scratch.backend().apply(batch).map_err(StoreError::from)?;
        }
        let report = scratch.verify()?;
        if !report.is_clean() {
            return Err(TransferError::Invalid { problems: report.problems.iter().map(ToString::to_string).collect() });
        }
        Ok(Self { rows })
    }
}
