"""Placeholder; replaced below."""
from .mirror import Mirror
