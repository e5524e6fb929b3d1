"""Tests of the freshness simulator: the virtual engine and its live replay."""
