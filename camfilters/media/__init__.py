"""Reading, writing, repairing and syncing media files: `formats`, `writer` (`VideoOutput`), `repair`, `avsync`."""
