"""Webhook triggers: each automation's secret inbound URL and its management."""

from fastapi import APIRouter

router = APIRouter()
