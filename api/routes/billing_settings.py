"""billing_settings routes (being written)"""

from fastapi import APIRouter

router = APIRouter()
