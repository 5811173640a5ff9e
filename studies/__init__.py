"""Committed studies: scripts whose results files back a number in docs/ (each module says
which command made which file)."""
