"""Tests of the safety package."""
