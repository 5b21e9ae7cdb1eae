"""Shared test helpers: loopback servers and fixtures used by more than one test module."""
