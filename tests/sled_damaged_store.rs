//! Regression: sled 0.34.7 panicked (index out of bounds in segment recovery)
//! when its `db` file was cut short; opening such a store must be an error or
//! a recovered prefix, never a crash. (sled's own recovery rewrites files
//! while it tries: the store checks a copy first, see `backend::integrity`.)

#![cfg(feature = "sled-store")]

mod common;

use anyhow::Result;
use common::files::copy_dir;
use commons_gateway::backend::{BackendError, SledCommonsStore, WriteBatch};
use commons_gateway::{CommonsStoreBackend, OpenBackend, StoreConfig};

#[test]
fn truncated_sled_file_is_refused_or_recovered_never_a_panic() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let original = dir.path().join("original");
    {
        let store = SledCommonsStore::open(&original, &StoreConfig::default())?;
        for chunk in 0..40 {
            let mut batch = WriteBatch::new();
            for i in 0..100 {
                batch.put(format!("anchor/{chunk:02}{i:03}"), vec![b'x'; 300]);
            }
            store.apply(batch)?;
        }
        store.flush()?;
    }
    let len = std::fs::metadata(original.join("db"))?.len();
    let (mut refused, mut recovered) = (0, 0);
    for percent in [5u64, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95] {
        let copy = dir.path().join(format!("cut{percent}"));
        copy_dir(&original, &copy)?;
        std::fs::OpenOptions::new().write(true).open(copy.join("db"))?.set_len(len * percent / 100)?;
        // Without the seal of the clean close, the store is checked as after
        // a crash: sled recovers a copy of it, which is what is tested here.
        std::fs::remove_file(copy.join(commons_gateway::backend::SEAL_FILE))?;
        match SledCommonsStore::open(&copy, &StoreConfig::default()) {
            Err(BackendError::Corrupt { reason, .. }) => {
                assert!(reason.contains(&copy.display().to_string()), "{reason}");
                refused += 1;
            }
            Err(BackendError::Engine { .. } | BackendError::Io { .. } | BackendError::Damaged { .. }) => refused += 1,
            Err(other) => panic!("{percent}%: unexpected error kind {other:?}"),
            Ok(store) => {
                for (k, v) in store.scan(b"anchor/")? {
                    assert_eq!(v.len(), 300, "{percent}%: {}", String::from_utf8_lossy(&k));
                }
                recovered += 1;
            }
        }
    }
    eprintln!("{refused} refused, {recovered} recovered");
    assert_eq!(refused + recovered, 11);
    Ok(())
}
