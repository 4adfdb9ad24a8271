"""Database plumbing, one job a module: `utc` (the time type), `writelock` (SQLite's one writer at a time),
`engine` (each engine's setup and SQLite's WAL checkpointer), `unitofwork` (a command's transaction)."""
