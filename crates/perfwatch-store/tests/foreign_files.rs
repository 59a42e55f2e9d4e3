//! Issue 19: opening another application's SQLite file switched it to WAL mode before
//! perfwatch refused it. Now such a file is refused untouched: same bytes, same journal mode,
//! no perfwatch tables.

#[test]
fn another_applications_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 'ada');",
        )
        .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    for url in [format!("sqlite://{}", path.display()), path.display().to_string()] {
        let err = perfwatch_store::open(&url).err().expect("a foreign database is refused");
        let text = err.to_string();
        assert!(text.contains("another application") && text.contains("untouched"), "{text}");
        let err = perfwatch_store::open_existing(&url).err().expect("also for read-only commands");
        assert!(err.to_string().contains("another application"), "{err}");
    }
    assert_eq!(std::fs::read(&path).unwrap(), before, "the file changed");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "delete");
    assert!(!dir.path().join("app.db-wal").exists());

    // An empty file is a new store, not a foreign one.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    perfwatch_store::open(&format!("sqlite://{}", empty.display())).unwrap();
}
