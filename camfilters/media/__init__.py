"""Reading, writing, repairing and syncing files; `camfilters.media.atomic` puts every written file in place."""
