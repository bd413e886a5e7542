"""Provider factory: real provider classes construct offline; failures become clear statuses."""

from __future__ import annotations

from langchain_cohere import ChatCohere
from pydantic import BaseModel

from vetted_rag import Agent, Configuration
from vetted_rag.providers import load_chat_model
from vetted_rag.providers.local_gguf import LocalGGUFChatModel


class Verdict(BaseModel):
    binary_score: str
    reason: str


def test_cohere_constructs_offline_with_function_calling(monkeypatch):
    monkeypatch.setenv("COHERE_API_KEY", "dummy-key-for-construction")
    model = load_chat_model("cohere:command-r-08-2024", Configuration())
    assert isinstance(model, ChatCohere) and model.model == "command-r-08-2024"
    model.with_structured_output(Verdict, include_raw=True)  # builds offline


def test_embedded_model_by_name():
    model = load_chat_model("embedded", Configuration(max_answer_tokens=33))
    assert isinstance(model, LocalGGUFChatModel) and model.max_tokens == 33
    assert model.model_path.endswith(".gguf")


def test_uninstalled_provider_is_a_clear_error_status(tmp_path):
    agent = Agent(Configuration(chat_model="no_such_provider:model-x", data_dir=str(tmp_path), cache_enabled=False))
    result = agent.ask("How do I set a cost budget?")
    assert result.status == "error" and "no_such_provider:model-x" in result.stop_reason
    assert "is not available" in result.stop_reason


def test_missing_gguf_file_is_a_clear_error_status(tmp_path):
    agent = Agent(Configuration(chat_model="embedded", gguf_path=str(tmp_path / "nope.gguf"), data_dir=str(tmp_path),
                                cache_enabled=False))
    result = agent.ask("How do I set a cost budget?")
    assert result.status == "error" and "GGUF file not found" in result.stop_reason


def test_cohere_without_a_key_is_an_error_status_naming_the_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("COHERE_API_KEY", raising=False)
    monkeypatch.delenv("CO_API_KEY", raising=False)
    result = Agent(Configuration(chat_model="cohere:command-a-03-2025", data_dir=str(tmp_path),
                                 cache_enabled=False)).ask("How do I set a cost budget?")
    assert result.status == "error" and "set COHERE_API_KEY" in result.stop_reason
