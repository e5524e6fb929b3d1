"""This repository's runs of the provider contract suite (see run_all.py)."""
