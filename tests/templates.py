"""Prompt templates shared by tests."""

from interp.prompts import DEFAULT_FEW_SHOT_EXAMPLES, PromptStyle, PromptTemplate

TWO_SHOT = PromptTemplate(PromptStyle.FEW_SHOT, DEFAULT_FEW_SHOT_EXAMPLES[:2])
"""A few-shot template whose shared prefix fits inside tiny-mm's sliding window."""
