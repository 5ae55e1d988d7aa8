"""Evaluation against truth: metrics, manifests of cases, and the runner behind ``rau evaluate``."""
