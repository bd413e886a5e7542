"""vetted-rag: a LangGraph RAG agent that lets no answer out until it has been graded.

    from vetted_rag import Agent, Configuration
    result = Agent(Configuration(chat_model="embedded")).ask("How do I set a cost budget?")
    result.status, result.answer, result.citations
"""

from vetted_rag.api import Agent, AskResult, ask
from vetted_rag.graph.configuration import Configuration, RunPolicy
from vetted_rag.graph.graph import build_graph

__all__ = ["Agent", "AskResult", "Configuration", "RunPolicy", "ask", "build_graph"]
