"""Committed studies: scripts whose results files back a number in the README (each module says
which command made which file)."""
