"""Benchmarks (`just bench`): speed and accuracy figures for the README, never asserted."""
