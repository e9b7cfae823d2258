"""Tests of the pure safety grading rules (no database)."""
