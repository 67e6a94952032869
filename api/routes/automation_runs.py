"""Automation runs: start one by hand, list, inspect, cancel, retry and resume."""

from fastapi import APIRouter

router = APIRouter()
