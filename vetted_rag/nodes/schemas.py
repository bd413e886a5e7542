"""Structured outputs the graders and the rewriter ask models for."""

from typing import Literal

from pydantic import BaseModel, Field

# A bound on free text that a schema-constrained server (llama.cpp's JSON-schema grammar) enforces while
# generating: without it the 1.5B model's reasons ran past the token cap and the reply was unparsable.
REASON_CHARS = 300


class GradeHallucination(BaseModel):
    """Whether every claim of the answer is supported by the passages."""

    binary_score: Literal["yes", "no"] = Field(description="'yes' if the answer is grounded in the passages")
    reason: str = Field(max_length=REASON_CHARS, description="One short sentence explaining the verdict")


class GradeAnswer(BaseModel):
    """Whether the answer addresses the question."""

    binary_score: Literal["yes", "no"] = Field(description="'yes' if the answer addresses the question")
    reason: str = Field(max_length=REASON_CHARS, description="One short sentence explaining the verdict")


class SameQuestion(BaseModel):
    """Whether two questions ask for exactly the same information (a semantic cache hit)."""

    binary_score: Literal["yes", "no"] = Field(description="'yes' if one answer serves both questions")
    reason: str = Field(max_length=REASON_CHARS, description="One short sentence explaining the verdict")


class RereadChoice(BaseModel):
    """The option that answers the question, read again from the passages."""

    option: Literal["A", "B", "C", "D"] = Field(description="The letter of the option that answers the question")


class RewrittenQuestion(BaseModel):
    """A question rewritten for better retrieval."""

    question: str = Field(max_length=REASON_CHARS, description="The rewritten question")
