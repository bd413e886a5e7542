"""Structured outputs the graders and the rewriter ask models for."""

from typing import Literal

from pydantic import BaseModel, Field


class GradeHallucination(BaseModel):
    """Whether every claim of the answer is supported by the passages."""

    binary_score: Literal["yes", "no"] = Field(description="'yes' if the answer is grounded in the passages")
    reason: str = Field(description="One short sentence explaining the verdict")


class GradeAnswer(BaseModel):
    """Whether the answer addresses the question."""

    binary_score: Literal["yes", "no"] = Field(description="'yes' if the answer addresses the question")
    reason: str = Field(description="One short sentence explaining the verdict")


class RewrittenQuestion(BaseModel):
    """A question rewritten for better retrieval."""

    question: str = Field(description="The rewritten question")
