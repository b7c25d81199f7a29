"""Reading, writing, repairing and syncing media files: `formats`, `writer` (`VideoOutput`), `repair`, `avsync`,
and `atomic`, which puts every written file in place."""
