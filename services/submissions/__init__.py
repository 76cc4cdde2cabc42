"""Stage reports, research papers and pre-departure research: assignments, drafts, versions."""
